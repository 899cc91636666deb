"""The worker command line and environment in Blender's words (blender_addon/command.py);
the command itself is tested once, in tests/hostkit."""

import pytest


@pytest.fixture
def command(installed):
    return installed.command


def test_missing_worker_names_the_path(command, tmp_path):
    with pytest.raises(command.WorkerSetupError, match="worker not found: .*nope/python .*RVMatte add-on preferences"):
        command.worker_prefix(str(tmp_path / "nope" / "python"))


def test_empty_preference_without_rvmatte_on_path_asks_for_preferences(command, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(command.WorkerSetupError, match="add-on preferences"):
        command.worker_prefix("")


def test_environment_drops_blenders_python_settings(command):
    env = command.worker_environment({"PYTHONHOME": "/blender/python", "PYTHONPATH": "/x", "HOME": "/h"})
    assert "PYTHONHOME" not in env and "PYTHONPATH" not in env
    assert env["HOME"] == "/h" and env["PYTHONUNBUFFERED"] == "1"


def test_offline_blender_tells_the_worker_not_to_download(command):
    assert command.worker_environment({}, online=False)["RVMATTE_OFFLINE"] == "1"
    assert "RVMATTE_OFFLINE" not in command.worker_environment({}, online=True)
