"""Real bpy (the PyPI module) in background mode, with the add-on installed from its built zip.

The whole suite runs in one bpy process whose user folders live in a temporary
directory, so the install is as clean as a fresh Blender. Timers and modal
operators do not tick when bpy is a Python module: tests call the polling
function (`jobs.poll_jobs` / `WorkerJob.poll`) directly.

Real-worker tests need the core's interpreter (RVMATTE_TEST_PYTHON, default
`.venv/bin/python`), the shared test weights and footage; they are skipped,
saying why, when those are missing.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_USER = tempfile.mkdtemp(prefix="rvmatte_blender_user_")
os.environ["BLENDER_USER_RESOURCES"] = _USER  # before bpy is imported: a pristine Blender user

import bpy  # noqa: E402
import pytest  # noqa: E402

SHARED = Path(os.environ.get("RVMATTE_SHARED", ROOT.parent / "shared"))
WEIGHTS = SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"
JUGGLE = SHARED / "data" / "real_video" / "sam2_juggle_1280x720" / "sam2_05_default_juggle.mp4"
MECHANIC = SHARED / "data" / "real_video" / "rvmnuke_person_short_360x640" / "nuke_person_short.mp4"
CORE_PYTHON = Path(os.environ.get("RVMATTE_TEST_PYTHON", ROOT / ".venv" / "bin" / "python"))
PACKAGE = "bl_ext.user_default.rvmatte"


def _core_missing():
    if not CORE_PYTHON.is_file():
        return f"core interpreter not found: {CORE_PYTHON} (set RVMATTE_TEST_PYTHON)"
    probe = subprocess.run([str(CORE_PYTHON), "-c", "import rvmatte.cli"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"rvmatte is not importable by {CORE_PYTHON}: {probe.stderr.strip().splitlines()[-1:]}"
    for path in (WEIGHTS, JUGGLE, MECHANIC):
        if not path.is_file():
            return f"test data missing: {path}"
    return None


_CORE_MISSING = _core_missing()
needs_core = pytest.mark.skipif(_CORE_MISSING is not None, reason=str(_CORE_MISSING))


@pytest.fixture(scope="session")
def built_zip(tmp_path_factory):
    """The extension zip, built by blender_addon/build.py with Blender's own builder."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(ROOT / "blender_addon" / "build.py"), "--output-dir", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


@pytest.fixture(scope="session")
def installed(built_zip):
    """Install the built zip as a user extension and enable it; yields the add-on package."""
    result = bpy.ops.extensions.package_install_files(
        filepath=str(built_zip), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}
    assert PACKAGE in bpy.context.preferences.addons
    yield sys.modules[PACKAGE]


@pytest.fixture
def addon(installed):
    """The enabled add-on in an empty new file, preferences reset, no worker left behind."""
    bpy.ops.wm.read_homefile(use_empty=True)
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.worker = prefs.weights = prefs.check_result = ""
    prefs.device = "auto"
    installed.operators.scene_jobs.clear()
    yield installed
    installed.jobs.stop_all()


@pytest.fixture
def prefs(addon):
    return bpy.context.preferences.addons[PACKAGE].preferences


@pytest.fixture
def core_worker(prefs):
    """Preferences pointing at the real core and the test weights, CPU."""
    prefs.worker = str(CORE_PYTHON)
    prefs.weights = str(WEIGHTS)
    prefs.device = "cpu"
    return prefs


def save_blend(tmp_path, name="shot.blend"):
    path = tmp_path / name
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def finish(job, timeout=240):
    """Drive the add-on's timer callback until `job` ends, as Blender's timer would."""
    import time

    addon = sys.modules[PACKAGE]
    deadline = time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        addon.operators.tick()
        time.sleep(0.05)
    assert not job.running, f"worker still running after {timeout}s: {job.message}"
    return job
