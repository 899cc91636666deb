"""RVMatte > Install engine and Check engine, and the studio's settings, against the fake Nuke.

Check runs the real `rvmatte doctor` of this checkout's core interpreter. The install test is
real and slow (about two minutes here): the rvmatte wheel built from this checkout and the torch
wheel pip's configuration finds (local indexes here and in CI: no network)."""
import os
import runpy
import shutil
import subprocess
import sys

import nuke
import pytest

from staged_plugin import PLUGIN
from rvmatte_nuke import engine, jobs, settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = os.path.join(os.environ.get("RVMATTE_SHARED", os.path.join(os.path.dirname(ROOT), "shared")),
                       "models", "rvm_mobilenetv3_from_tfjs.pth")


@pytest.fixture(autouse=True)
def no_studio_settings(monkeypatch):
    for name in ("RVMATTE_CONFIG", "RVMATTE_ALLOW_INSTALL", "RVMATTE_WEIGHTS", "RVMATTE_DEVICE", "RVMATTE_CACHE"):
        monkeypatch.delenv(name, raising=False)


def test_menu_offers_install_and_check_engine():
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    for name in ("RVMatte/Install engine...", "RVMatte/Check engine"):
        assert nuke.menu("Nuke").findItem(name) is not None, name


def test_menu_hides_install_engine_when_installs_are_off(monkeypatch):
    monkeypatch.setenv("RVMATTE_ALLOW_INSTALL", "0")
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    assert nuke.menu("Nuke").findItem("RVMatte/Install engine...") is None
    assert nuke.menu("Nuke").findItem("RVMatte/Check engine") is not None


def test_install_is_refused_with_a_message_when_installs_are_off(monkeypatch):
    monkeypatch.setenv("RVMATTE_ALLOW_INSTALL", "no")
    assert engine.install() is None
    assert "turned off" in nuke._fake.messages[-1]


def test_the_installer_runs_with_nukes_own_python_when_it_is_new_enough(tmp_path):
    for name in ("Nuke15.1", "python3"):
        (tmp_path / name).write_text("")
    found = engine.installer_python(str(tmp_path / "Nuke15.1"), (3, 10, 14), which=lambda name: None)
    assert found == str(tmp_path / "python3")


def test_nuke_13s_python_is_too_old_so_a_newer_one_from_path_installs(tmp_path):
    (tmp_path / "python3").write_text("")
    found = engine.installer_python(str(tmp_path / "Nuke13.2"), (3, 7, 7),
                                    which={"python3.11": "/usr/bin/python3.11"}.get)
    assert found == "/usr/bin/python3.11"


def test_the_engine_goes_under_dot_nuke(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    argv = engine.install_argv("/usr/bin/python3.11", offline=True)
    assert argv[argv.index("--target") + 1] == os.path.join(str(tmp_path), ".nuke", "rvmatte", "engine")
    assert "--offline" in argv and argv[1:4] == ["-m", "rvmatte_hostkit.engine", "install"]


def test_the_site_config_wins_over_the_preferences_for_generate(tmp_path, monkeypatch):
    studio = tmp_path / "studio"
    (studio / "bin").mkdir(parents=True)
    (studio / "bin" / "python").write_text("")
    (studio / "rvmatte.ini").write_text("[rvmatte]\npython = bin/python\ndevice = cpu\n")
    monkeypatch.setenv("RVMATTE_CONFIG", str(studio / "rvmatte.ini"))
    prefs = settings.in_effect(settings.Preferences(python="/mine/python", device="cuda"))
    assert (prefs.python, prefs.device) == (str(studio / "bin" / "python"), "cpu")
    assert settings.worker_python(prefs) == str(studio / "bin" / "python")


def test_a_broken_site_config_stops_generate_with_its_line(tmp_path, monkeypatch):
    (tmp_path / "rvmatte.ini").write_text("no section\n")
    monkeypatch.setenv("RVMATTE_CONFIG", str(tmp_path / "rvmatte.ini"))
    group = nuke.nodes.Grade()
    from nuke_helpers import make_rvmatte
    node = make_rvmatte(group)
    with pytest.raises(jobs.JobError, match="rvmatte.ini is not an INI file"):
        jobs.collect(node)


def test_check_engine_on_a_venv_folder_says_choose_the_python_inside(tmp_path):
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").write_text("")
    settings.save(settings.Preferences(python=str(tmp_path / "venv")))
    (check,) = engine.check(wait=True)
    assert not check.ok and "choose the Python inside the environment, not the folder" in check.detail
    assert "fix: " in nuke._fake.messages[-1]


def test_check_engine_shows_each_failed_doctor_check_with_its_fix(tmp_path):
    settings.save(settings.Preferences(python=sys.executable, weights=str(tmp_path / "gone.pth"), device="cpu"))
    checks = engine.check(wait=True)
    assert [c.name for c in checks] == ["python", "torch", "device", "colour", "weights"]
    assert [c.ok for c in checks] == [True, True, True, True, False]
    text = nuke._fake.messages[-1]
    assert "FAILED weights: weights file not found: %s" % (tmp_path / "gone.pth") in text
    assert "    fix: choose the weights file" in text


def test_check_engine_in_the_gui_runs_in_a_thread_and_reports_on_the_main_thread(tmp_path):
    settings.save(settings.Preferences(python=str(tmp_path / "nope" / "python")))
    thread = engine.check()
    assert nuke._fake.process_events(until=lambda: not thread.is_alive() and nuke._fake.messages, timeout=60)
    assert nuke._fake.messages[-1].startswith("RVMatte check: some checks failed\nFAILED python: cannot run")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    env = dict((k, v) for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME"))
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build_release.py"), "--only", "core",
                           "--output-dir", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env)
    assert done.returncode == 0, done.stderr
    return str(out)


@pytest.mark.skipif(not os.path.isfile(WEIGHTS), reason="test weights missing: %s" % WEIGHTS)
def test_install_engine_fills_in_the_preferences_and_the_engine_passes_check(tmp_path, wheels):
    target = str(tmp_path / "engine")
    try:
        _install_and_check(target, wheels)
    finally:
        shutil.rmtree(target, ignore_errors=True)      # 1.3 GB: not kept among pytest's last temp folders


def _install_and_check(target, wheels):
    thread = engine.install(torch="cpu", find_links=wheels, weights=WEIGHTS, target=target)
    assert nuke._fake.process_events(until=lambda: not thread.is_alive(), timeout=1200)
    nuke._fake.process_events()
    assert nuke._fake.messages[-1].startswith("RVMatte engine installed: " + os.path.join(target, "envs"))
    task = nuke._fake.progress_tasks[-1]
    assert task.messages[0].startswith("choosing the PyTorch build: torch==") and len(task.messages) == 7
    prefs = settings.load()
    assert prefs.python.startswith(os.path.join(target, "envs"))
    assert prefs.weights == os.path.join(target, "weights", os.path.basename(WEIGHTS))
    assert all(c.ok for c in engine.check(wait=True)), nuke._fake.messages[-1]
