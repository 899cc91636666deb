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
def _install(built_zip):
    result = bpy.ops.extensions.package_install_files(
        filepath=str(built_zip), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}


@pytest.fixture
def installed(_install):
    """The add-on package, installed from the built zip and enabled (re-read: a re-enable reimports it)."""
    assert PACKAGE in bpy.context.preferences.addons
    return sys.modules[PACKAGE]


@pytest.fixture
def addon(installed):
    """The enabled add-on in an empty new file, preferences reset, no worker left behind."""
    bpy.ops.wm.read_homefile(use_empty=True)
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.worker = prefs.weights = prefs.check_result = ""
    prefs.device = "auto"
    prefs.debug = False
    prefs.keep_versions = 0
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
    tmp_path.mkdir(parents=True, exist_ok=True)
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


def write_image(path, pixels):
    """Write an RGBA float array (H, W, 4; row 0 at the bottom) as a 32-bit EXR, values as given.

    Our own test media, written by bpy itself: `save_render` with a 32-bit EXR
    keeps the values (Image.save() display-encodes generated images, and half
    EXRs get premultiplied).
    """
    import numpy as np

    height, width = pixels.shape[:2]
    image = bpy.data.images.new(Path(path).name, width, height, alpha=True, float_buffer=True)
    image.pixels.foreach_set(np.ascontiguousarray(pixels, dtype=np.float32).ravel())
    settings = bpy.context.scene.render.image_settings
    settings.file_format = "OPEN_EXR"
    settings.color_mode = "RGBA"
    settings.color_depth = "32"
    image.save_render(str(path), scene=bpy.context.scene)
    bpy.data.images.remove(image)
    return Path(path)


def write_sequence(folder, stem, frames, *, width=32, height=18):
    """`stem.####.ext` files whose red channel holds the frame number / 10000 (to tell frames apart)."""
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        pixels = np.zeros((height, width, 4), np.float32)
        pixels[..., 0] = frame / 10000
        pixels[..., 3] = 1
        write_image(folder / f"{stem}.{frame:04d}.exr", pixels)
    return folder / f"{stem}.{frames[0]:04d}.exr"


_exit_status = [0]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    _exit_status[0] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave without running C++ static destructors once pytest is done (reports written).

    bpy 4.5 as a module deadlocks at process exit once its delayed file-close
    thread has started (a movie clip freed by a file load): the destructor of
    its global state waits on a condition that thread is blocked on. Blender
    itself shuts that thread down in WM_exit; a Python module never gets there.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status[0])
