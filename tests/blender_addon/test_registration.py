"""Installing, enabling and disabling the extension (blender_addon/__init__.py, preferences.py)."""

import sys
import zipfile

import addon_utils
import bpy

from conftest import PACKAGE


def _registered():
    return {
        "operators": all(hasattr(bpy.types, name) for name in
                         ("RVMATTE_OT_generate", "RVMATTE_OT_cancel", "RVMATTE_OT_check_worker")),
        "panels": hasattr(bpy.types, "RVMATTE_PT_compositor") and hasattr(bpy.types, "RVMATTE_PT_clip"),
        "scene settings": hasattr(bpy.types.Scene, "rvmatte"),
        "load handler": any(h.__module__.startswith(PACKAGE) for h in bpy.app.handlers.load_pre),
    }


def test_enabled_extension_registers_operators_panels_settings_and_load_handler(addon):
    assert all(_registered().values()), _registered()
    assert bpy.context.scene.rvmatte.source_type == "CLIP"


def test_preferences_hold_worker_weights_and_device(prefs):
    assert {"worker", "weights", "device"} <= set(prefs.bl_rna.properties.keys())
    assert prefs.device == "auto"


def test_disable_unregisters_everything_and_enable_restores_it(addon):
    addon_utils.disable(PACKAGE, default_set=True)
    try:
        assert not any(_registered().values()), _registered()
        assert PACKAGE not in bpy.context.preferences.addons
    finally:
        addon_utils.enable(PACKAGE, default_set=True)
    assert all(_registered().values())


def test_disable_stops_running_workers(addon, tmp_path):
    job = addon.jobs.start([sys.executable, "-c", "import time; time.sleep(60)"])
    addon_utils.disable(PACKAGE, default_set=True)
    try:
        assert job.process.poll() is not None
    finally:
        addon_utils.enable(PACKAGE, default_set=True)


def test_the_addon_never_imports_torch(addon):
    assert "torch" not in sys.modules


def test_built_zip_holds_the_manifest_and_modules_only(built_zip):
    names = set(zipfile.ZipFile(built_zip).namelist())
    assert {"blender_manifest.toml", "__init__.py", "jobs.py", "compositor.py", "operators.py"} <= names
    assert "build.py" not in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    for name in names:
        if name.endswith(".py"):
            text = zipfile.ZipFile(built_zip).read(name).decode()
            assert "import torch" not in text and "from torch" not in text, name


def test_quitting_blender_stops_the_worker(built_zip, tmp_path):
    """A separate bpy process installs the zip, starts a worker and exits without cleaning up."""
    import os
    import subprocess
    import time

    script = tmp_path / "quit_with_a_job.py"
    script.write_text(
        "import sys, bpy\n"
        f"bpy.ops.extensions.package_install_files(filepath={str(built_zip)!r}, repo='user_default',"
        " enable_on_install=True)\n"
        f"addon = sys.modules[{PACKAGE!r}]\n"
        "job = addon.jobs.start([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print('WORKER', job.process.pid, flush=True)\n")
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    pid = int(next(line for line in done.stdout.splitlines() if line.startswith("WORKER")).split()[1])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}") and \
            open(f"/proc/{pid}/stat").read().split(") ")[1][0] != "Z":
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
