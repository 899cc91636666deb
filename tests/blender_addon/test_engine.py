"""Install Engine and the studio's settings in the real add-on.

The install test is real and slow (about two minutes here): a fresh environment built from the
rvmatte wheel this checkout builds and the torch wheel pip's configuration finds (no network
where, as here and in CI, pip's indexes are local), then a matte made with it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bpy
import pytest

from conftest import CORE_PYTHON, PACKAGE, ROOT, WEIGHTS, finish, needs_core

from test_end_to_end import mechanic_clip


def test_rvmatte_python_overrides_the_worker_preference(addon, prefs, tmp_path, monkeypatch):
    studio = tmp_path / "studio" / "bin" / "python"
    studio.parent.mkdir(parents=True)
    studio.write_text("#!/bin/sh\n")
    studio.chmod(0o755)
    prefs.worker = "/nowhere/bin/python"
    monkeypatch.setenv("RVMATTE_PYTHON", str(studio))
    values = addon.engine.effective()
    assert values["python"] == str(studio) and values.values["python"].source == "env"
    assert addon.engine.doctor_argv(values)[:2] == [str(studio), "-m"]


def test_the_site_config_sets_weights_and_device_over_the_preferences(addon, prefs, tmp_path, monkeypatch):
    config = tmp_path / "rvmatte.ini"
    config.write_text("[rvmatte]\nweights = models/rvm.pth\ndevice = cuda\n")
    prefs.weights, prefs.device = "/mine.pth", "cpu"
    monkeypatch.setenv("RVMATTE_CONFIG", str(config))
    values = addon.engine.effective()
    assert (values["weights"], values["device"]) == (str(tmp_path / "models" / "rvm.pth"), "cuda")
    assert addon.engine.settings_source(values.values["device"]) == f"from the site config {config}"


def test_a_broken_site_config_is_refused_by_generate_in_one_line(addon, prefs, tmp_path, monkeypatch):
    config = tmp_path / "rvmatte.ini"
    config.write_text("[rvmatte]\ndevise = cuda\n")
    monkeypatch.setenv("RVMATTE_CONFIG", str(config))
    with pytest.raises(addon.command.WorkerSetupError, match="unknown setting 'devise'"):
        addon.engine.effective()


def test_rvmatte_allow_install_0_refuses_install(addon, prefs, monkeypatch):
    monkeypatch.setenv("RVMATTE_ALLOW_INSTALL", "0")
    with pytest.raises(RuntimeError, match="installing the engine is turned off here"):
        bpy.ops.rvmatte.install_engine()
    assert "turned off" in prefs.install_status
    assert addon.engine.install_job is None or not addon.engine.install_job.running


def test_install_runs_the_kit_with_blenders_python_into_the_extension_folder(addon, prefs):
    prefs.engine_torch, prefs.weights = "cpu", ""
    argv = addon.engine.install_argv(prefs)
    assert argv[:4] == [sys.executable, "-m", "rvmatte_hostkit.engine", "install"]
    target = argv[argv.index("--target") + 1]
    assert target == bpy.utils.extension_path_user(PACKAGE, path="engine")
    assert argv[argv.index("--torch") + 1] == "cpu"


def test_without_online_access_the_install_downloads_no_weights(addon, prefs, monkeypatch):
    prefs.weights = ""
    online = bpy.app.online_access
    assert ("--offline" in addon.engine.install_argv(prefs)) == (not online)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """The rvmatte wheel of this checkout, built as the release build does."""
    out = tmp_path_factory.mktemp("wheels")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([str(CORE_PYTHON), str(ROOT / "tools" / "build_release.py"), "--only", "core",
                           "--output-dir", str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return out


@needs_core
@pytest.mark.skipif(bpy.app.version < (5, 0, 0), reason="one real install per suite run: the bpy 5 suite's "
                    "(the installer and the operator are the same in 4.5)")
def test_install_engine_fills_in_the_worker_and_the_engine_mattes(addon, prefs, wheels, tmp_path):
    folder = Path(bpy.utils.extension_path_user(PACKAGE, path="engine"))
    try:
        _install_and_matte(addon, prefs, wheels, tmp_path, folder)
    finally:
        shutil.rmtree(folder / "envs", ignore_errors=True)    # 1.3 GB: not left in the temporary user folder


def _install_and_matte(addon, prefs, wheels, tmp_path, folder):
    prefs.engine_torch, prefs.engine_wheels, prefs.weights, prefs.worker = "cpu", str(wheels), str(WEIGHTS), ""
    assert bpy.ops.rvmatte.install_engine() == {"FINISHED"}
    job = finish(addon.engine.install_job, timeout=1200)
    assert job.state is addon.jobs.JobState.DONE, job.error
    assert Path(prefs.worker).is_relative_to(folder / "envs")
    assert prefs.install_status.startswith("engine installed")
    prefs.device = "cpu"
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 2))
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    matte = finish(addon.operators.job_of(bpy.context.scene))
    assert matte.state is addon.jobs.JobState.DONE, matte.error
    assert matte.argv[0] == prefs.worker
    name = bpy.path.clean_name(clip.name)
    assert sorted(p.name for p in (tmp_path / "rvmatte" / name / "v001").glob("*.alpha.*.exr")) == [
        "nuke_person_short.alpha.0001.exr", "nuke_person_short.alpha.0002.exr"]


def test_loading_a_file_does_not_stop_an_engine_install(addon, prefs, tmp_path):
    prefs.engine_torch, prefs.engine_wheels, prefs.weights = "cpu", str(tmp_path), ""
    assert bpy.ops.rvmatte.install_engine() == {"FINISHED"}
    job = addon.engine.install_job
    try:
        bpy.ops.wm.read_homefile(use_empty=True)
        assert job.running and job in addon.jobs.active_jobs()
    finally:
        job.stop()
    assert job.state is addon.jobs.JobState.CANCELLED
