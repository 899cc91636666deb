"""The engine installer (rvmatte_hostkit.engine): its plan, the atomic switch, and a failed install
that leaves the engine in use working. A full install (torch included) is tools/release_smoke.py's,
in CI: too slow for the suite."""
import json
import os
import subprocess
import sys

import pytest

from rvmatte_hostkit import __version__, engine, progress
from rvmatte_hostkit.torch_build import TorchBuild

CORE = os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))
CPU = TorchBuild("cpu", "torch==2.13.0", "https://download.pytorch.org/whl/cpu", "")


def plan(tmp_path, **options):
    options.setdefault("environ", {})
    return engine.plan_install(str(tmp_path / "engine"), "/usr/bin/python3.11", CPU, stamp="s1", windows=False,
                               **options)


def test_the_new_environment_goes_beside_the_engine_in_use(tmp_path):
    p = plan(tmp_path)
    assert p.folder == str(tmp_path / "engine" / "envs" / "s1")
    assert p.python == str(tmp_path / "engine" / "envs" / "s1" / "bin" / "python")
    assert p.commands()[0] == ("environment", ["/usr/bin/python3.11", "-m", "venv", p.folder])


def test_torch_comes_from_the_builds_index_and_rvmatte_from_pips_own(tmp_path):
    steps = dict(plan(tmp_path).commands())
    torch, rvmatte = steps["torch-install"], steps["rvmatte"]
    assert torch[-3:] == ["--index-url", "https://download.pytorch.org/whl/cpu", "torch==2.13.0"]
    assert "--index-url" not in rvmatte and rvmatte[-1] == "rvmatte==" + __version__


def test_a_wheel_folder_replaces_the_torch_index(tmp_path):
    steps = dict(plan(tmp_path, find_links=[str(tmp_path / "wheels")]).commands())
    for step in ("torch-install", "rvmatte"):
        assert "--index-url" not in steps[step]
        assert steps[step][steps[step].index("--find-links") + 1] == str(tmp_path / "wheels")


def test_windows_environments_have_their_python_in_scripts():
    assert engine.env_python(r"C:\e", windows=True).endswith(os.path.join("Scripts", "python.exe"))


@pytest.mark.parametrize("options, source", [
    (dict(weights="/models/rvm.pth"), "copy"),
    (dict(environ={"RVMATTE_WEIGHTS": "/studio/rvm.pth"}), "environment"),
    (dict(offline=True), "none"),
    (dict(), "download"),
])
def test_weights_are_copied_taken_from_the_environment_skipped_offline_or_downloaded(tmp_path, options, source):
    assert plan(tmp_path, **options).weights_source == source


def test_nuke_engines_live_under_dot_nuke():
    assert engine.default_target("nuke", "Linux", {"HOME": "/home/a"}) == "/home/a/.nuke/rvmatte/engine"


@pytest.mark.parametrize("system, environ, expected", [
    ("Linux", {"HOME": "/home/a"}, "/home/a/.local/share/rvmatte/engine"),
    ("Darwin", {"HOME": "/Users/a"}, "/Users/a/Library/Application Support/rvmatte/engine"),
    ("Windows", {"USERPROFILE": "C:/Users/a", "LOCALAPPDATA": "C:/Users/a/AppData/Local"},
     "C:/Users/a/AppData/Local/rvmatte/engine"),
])
def test_other_engines_live_in_the_users_data_folder(system, environ, expected):
    assert engine.default_target("", system, environ).replace(os.sep, "/") == expected


def test_a_python_older_than_3_10_looks_for_a_newer_one_on_path():
    found = engine.find_base_python("/nuke/python3.7", (3, 7, 7), which={"python3.11": "/usr/bin/python3.11"}.get)
    assert found == "/usr/bin/python3.11"
    assert "Python 3.7.7" in engine.base_python_problem((3, 7, 7)).replace("is 3", "Python 3")


def test_activate_replaces_the_record_whole(tmp_path):
    engine.activate(str(tmp_path), {"python": "/a/bin/python", "folder": "/a"})
    engine.activate(str(tmp_path), {"python": "/b/bin/python", "folder": "/b"})
    assert engine.current_engine(str(tmp_path))["python"] == "/b/bin/python"
    assert os.listdir(str(tmp_path)) == ["engine.json"]


def test_a_damaged_record_means_no_engine(tmp_path):
    (tmp_path / "engine.json").write_text("{not json")
    assert engine.current_engine(str(tmp_path)) is None


def test_prune_keeps_the_new_and_the_previous_engine_only(tmp_path):
    for name in ("old", "previous", "new", "crashed-half"):
        (tmp_path / "envs" / name).mkdir(parents=True)
    removed = engine.prune(str(tmp_path), [str(tmp_path / "envs" / "new"), str(tmp_path / "envs" / "previous")])
    assert sorted(os.listdir(str(tmp_path / "envs"))) == ["new", "previous"]
    assert len(removed) == 2


def test_a_second_install_into_the_same_folder_is_refused_while_one_runs(tmp_path):
    (tmp_path / engine.LOCK).write_text(str(os.getpid()))
    with pytest.raises(engine.InstallError, match="another engine install is running"):
        with engine.Lock(str(tmp_path)):
            pass


def test_a_lock_left_by_a_dead_install_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / engine.LOCK).write_text(str(dead.pid))
    with engine.Lock(str(tmp_path)):
        assert (tmp_path / engine.LOCK).read_text() == str(os.getpid())
    assert not (tmp_path / engine.LOCK).exists()


@pytest.fixture(scope="module")
def failed_install(tmp_path_factory):
    """A real install that fails at PyTorch (a requirement no index has), over an engine in use."""
    target = tmp_path_factory.mktemp("engine")
    previous = target / "envs" / "previous"
    (previous / "bin").mkdir(parents=True)
    engine.activate(str(target), {"python": str(previous / "bin" / "python"), "folder": str(previous)})
    before = (target / "engine.json").read_bytes()
    wheels = tmp_path_factory.mktemp("wheels")
    env = dict(os.environ, PYTHONPATH=CORE)
    done = subprocess.run([sys.executable, "-m", "rvmatte_hostkit.engine", "install", "--target", str(target),
                           "--find-links", str(wheels), "--torch", "cpu", "--torch-requirement",
                           "rvmatte-no-such-torch==9", "--offline", "--progress", "json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
                          timeout=300)
    messages = [m for m in map(progress.parse_line, done.stdout.splitlines()) if m is not None]
    return dict(target=target, before=before, previous=previous, done=done, messages=messages)


def test_a_failed_install_exits_1_with_one_error_naming_the_step(failed_install):
    assert failed_install["done"].returncode == 1
    errors = [m for m in failed_install["messages"] if isinstance(m, progress.Failed)]
    assert len(errors) == 1
    assert errors[0].message.startswith("installing PyTorch failed")
    assert "rvmatte-no-such-torch" in errors[0].message


def test_a_failed_install_reports_its_steps_as_progress(failed_install):
    steps = [m.name for m in failed_install["messages"] if isinstance(m, progress.Step)]
    assert steps == ["torch", "environment", "torch-install"]
    assert all(m.total == len(engine.STEPS) for m in failed_install["messages"] if isinstance(m, progress.Step))


def test_a_failed_install_leaves_the_engine_in_use_and_removes_its_own_folder(failed_install):
    target = failed_install["target"]
    assert (target / "engine.json").read_bytes() == failed_install["before"]
    assert os.listdir(str(target / "envs")) == ["previous"]
    assert not (target / engine.LOCK).exists()


def test_the_kit_runs_as_a_module_with_the_hosts_python():
    done = subprocess.run([sys.executable, "-m", "rvmatte_hostkit.engine", "install", "--help"],
                          stdout=subprocess.PIPE, universal_newlines=True, cwd=CORE,
                          env=dict(os.environ, PYTHONPATH=""))
    assert done.returncode == 0 and "--find-links" in done.stdout


def test_a_cancelled_install_removes_its_folder_and_keeps_the_engine_in_use(tmp_path):
    from rvmatte_hostkit.process import JobState, WorkerProcess

    target = tmp_path / "engine"
    previous = target / "envs" / "previous"
    previous.mkdir(parents=True)
    engine.activate(str(target), {"python": str(previous / "bin" / "python"), "folder": str(previous)})
    before = (target / "engine.json").read_bytes()
    worker = WorkerProcess([sys.executable, "-m", "rvmatte_hostkit.engine", "install", "--target", str(target),
                            "--torch", "cpu", "--find-links", str(tmp_path), "--offline", "--progress", "json"],
                           env=dict(os.environ, PYTHONPATH=CORE))
    while worker.running and not any(isinstance(m, progress.Step) and m.name == "torch-install"
                                     for m in worker.messages):
        worker.poll(wait=0.1)
    worker.cancel()
    assert worker.wait(60) is JobState.CANCELLED
    assert "cancelled" in [m for m in worker.messages if isinstance(m, progress.Failed)][0].message
    assert (target / "engine.json").read_bytes() == before
    assert os.listdir(str(target / "envs")) == ["previous"]


def test_the_installed_rvmatte_version_is_read_from_the_environments_dist_info(tmp_path):
    from rvmatte_hostkit.engine import installed_version

    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    (site / "rvmatte_hostkit-9.9.dist-info").mkdir(parents=True)
    (site / "rvmatte-0.4.1.dist-info").mkdir()
    assert installed_version(str(tmp_path / "env" / "bin" / "python")) == "0.4.1"


def test_a_windows_environment_keeps_its_packages_in_lib(tmp_path):
    from rvmatte_hostkit.engine import installed_version

    (tmp_path / "env" / "Lib" / "site-packages" / "rvmatte-1.2.0.dist-info").mkdir(parents=True)
    assert installed_version(str(tmp_path / "env" / "Scripts" / "python.exe")) == "1.2.0"


def test_an_interpreter_outside_an_environment_with_rvmatte_has_no_version(tmp_path):
    from rvmatte_hostkit.engine import installed_version

    assert installed_version(str(tmp_path / "bin" / "python")) is None
    assert installed_version("") is None
