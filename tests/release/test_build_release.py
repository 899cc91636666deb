"""tools/build_release.py: one command builds every artifact, each with the host kit inside."""
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "build_release.py")
FAKE_NUKE = os.path.join(REPO, "tests", "nuke_plugin", "fake_nuke")
KIT = os.path.join(REPO, "core", "rvmatte_hostkit")
KIT_FILES = sorted(n for n in os.listdir(KIT) if n.endswith(".py"))
VERSION = "0.1.0"


def _blender_python():
    for venv in (".venv-blender5", ".venv-blender45"):
        python = os.path.join(REPO, venv, "bin", "python")
        if os.path.isfile(python):
            return python
    return None


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    parts = "core,nuke,blender" if _blender_python() else "core,nuke"
    done = subprocess.run([sys.executable, TOOL, "--output-dir", str(out), "--only", parts],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.split()
    assert all(os.path.isfile(p) for p in printed) and len(printed) == len(parts.split(",")) + 1
    return out


def _same_as_kit(read):
    """Each host-kit file in an artifact, read by `read(name)`, equals the repository's."""
    for name in KIT_FILES:
        with open(os.path.join(KIT, name), "rb") as handle:
            assert read(name) == handle.read(), name


def test_the_wheel_holds_the_core_and_the_host_kit(dist):
    with zipfile.ZipFile(str(dist / ("rvmatte-%s-py3-none-any.whl" % VERSION))) as wheel:
        names = set(wheel.namelist())
        assert "rvmatte/cli.py" in names and "rvmatte/io/sequence.py" in names
        _same_as_kit(lambda n: wheel.read("rvmatte_hostkit/" + n))
        entry_points = wheel.read("rvmatte-%s.dist-info/entry_points.txt" % VERSION).decode()
    assert "rvmatte = rvmatte.cli:entry" in entry_points
    assert "rvmatte-engine = rvmatte_hostkit.engine:main" in entry_points
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]


def test_the_sdist_builds_the_same_packages(dist):
    with tarfile.open(str(dist / ("rvmatte-%s.tar.gz" % VERSION))) as sdist:
        names = set(sdist.getnames())
        top = "rvmatte-%s/" % VERSION
        for needed in ("pyproject.toml", "README.md", "LICENSE", "core/rvmatte/cli.py"):
            assert top + needed in names
        _same_as_kit(lambda n: sdist.extractfile(top + "core/rvmatte_hostkit/" + n).read())


def test_the_nuke_zip_is_one_folder_for_nuke_path_with_the_kit_inside(dist):
    with zipfile.ZipFile(str(dist / ("rvmatte-nuke-%s.zip" % VERSION))) as archive:
        names = archive.namelist()
        assert {n.split("/")[0] for n in names} == {"rvmatte_nuke_plugin"}
        for needed in ("init.py", "menu.py", "icons/RVMatte.png", "rvmatte_nuke/node.py"):
            assert "rvmatte_nuke_plugin/" + needed in names
        _same_as_kit(lambda n: archive.read("rvmatte_nuke_plugin/rvmatte_nuke/rvmatte_hostkit/" + n))
        assert not [n for n in names if n.endswith(".pyc")]


_NUKE_SESSION = """
import os, runpy, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import nuke
os.chdir(sys.argv[2])
runpy.run_path(os.path.join(sys.argv[2], "init.py"))
runpy.run_path(os.path.join(sys.argv[2], "menu.py"))
import rvmatte_nuke.node, rvmatte_nuke.runner, rvmatte_nuke.sequences
node = rvmatte_nuke.node.create_node()
print(node.Class(), rvmatte_nuke.sequences.frame_file("/s/p.%04d.exr", 7), rvmatte_nuke.runner.__file__)
"""


def test_the_unpacked_nuke_zip_loads_with_the_fake_nuke(dist, tmp_path):
    with zipfile.ZipFile(str(dist / ("rvmatte-nuke-%s.zip" % VERSION))) as archive:
        archive.extractall(str(tmp_path))
    plugin = str(tmp_path / "rvmatte_nuke_plugin")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _NUKE_SESSION, FAKE_NUKE, plugin], env=env, cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 0, done.stderr
    kind, path, runner = done.stdout.split()
    assert kind == "Group" and path == "/s/p.0007.exr" and runner.startswith(plugin)


def test_the_blender_zip_holds_the_add_on_and_the_kit(dist):
    if _blender_python() is None:
        pytest.skip("no .venv-blender5/.venv-blender45 with bpy yet (tests/run makes them after the core suite); "
                    "tests/blender_addon installs the zip itself")
    with zipfile.ZipFile(str(dist / ("rvmatte-%s.zip" % VERSION))) as archive:
        names = set(archive.namelist())
        manifest = archive.read("blender_manifest.toml").decode()
        assert {"__init__.py", "jobs.py", "operators.py"} <= names
        assert "build.py" not in names and not [n for n in names if n.startswith("tools/")]
        _same_as_kit(lambda n: archive.read("rvmatte_hostkit/" + n))
    assert '"Video Tools"' not in manifest


def test_an_unknown_part_is_refused_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, TOOL, "--output-dir", str(tmp_path), "--only", "maya"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 2 and "unknown part maya" in done.stderr
