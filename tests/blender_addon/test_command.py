"""The worker command line and environment (blender_addon/command.py)."""

import os
import stat

import pytest


@pytest.fixture
def command(installed):
    return installed.command


def _executable(path):
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_python_interpreter_runs_the_module(command, tmp_path):
    python = _executable(tmp_path / "python3.11")
    assert command.worker_prefix(python) == [python, "-m", "rvmatte"]


def test_rvmatte_executable_runs_directly(command, tmp_path):
    exe = _executable(tmp_path / "rvmatte")
    assert command.worker_prefix(exe) == [exe]


def test_missing_worker_names_the_path(command, tmp_path):
    with pytest.raises(command.WorkerSetupError, match="worker not found: .*nope/python"):
        command.worker_prefix(str(tmp_path / "nope" / "python"))


def test_worker_that_is_not_executable_is_refused(command, tmp_path):
    plain = tmp_path / "python"
    plain.write_text("")
    plain.chmod(0o644)
    with pytest.raises(command.WorkerSetupError, match="not executable"):
        command.worker_prefix(str(plain))


def test_empty_preference_without_rvmatte_on_path_asks_for_preferences(command, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(command.WorkerSetupError, match="add-on preferences"):
        command.worker_prefix("")


def test_run_arguments_carry_every_choice(command):
    request = command.MatteRequest(
        input_path="/in/clip.mp4", alpha_pattern="/out/c.alpha.####.exr", foreground_pattern="/out/c.fgr.####.exr",
        first=3, last=9, start_frame=1, weights="/w.pth", variant="resnet50", device="cuda", precision="float16",
        downsample_ratio=0.375, preroll=4, foreground_source="plate", input_colorspace="sRGB",
        output_colorspace="Linear Rec.709", ocio_config="/blender/config.ocio")
    args = command.run_arguments(request)
    assert args[:2] == ["run", "/in/clip.mp4"]
    pairs = dict(zip(args[2::2], args[3::2]))
    assert pairs == {
        "--alpha": "/out/c.alpha.####.exr", "--foreground": "/out/c.fgr.####.exr", "--foreground-source": "plate",
        "--frames": "3-9", "--variant": "resnet50", "--device": "cuda", "--precision": "float16",
        "--downsample-ratio": "0.375", "--start-frame": "1", "--preroll": "4", "--weights": "/w.pth",
        "--ocio-config": "/blender/config.ocio", "--input-colorspace": "sRGB",
        "--output-colorspace": "Linear Rec.709", "--progress": "json"}


def test_defaults_leave_optional_flags_out(command):
    args = command.run_arguments(command.MatteRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1001, 1010))
    assert "--downsample-ratio" in args and args[args.index("--downsample-ratio") + 1] == "auto"
    for flag in ("--start-frame", "--preroll", "--weights", "--ocio-config", "--input-colorspace",
                 "--holdout", "--garbage"):
        assert flag not in args


def test_holdout_and_garbage_mattes_are_passed_when_set(command):
    request = command.MatteRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1001, 1010,
                                   holdout="/m/person.####.png", garbage="/m/box.png")
    args = command.run_arguments(request)
    assert args[args.index("--holdout") + 1] == "/m/person.####.png"
    assert args[args.index("--garbage") + 1] == "/m/box.png"
    assert args[-2:] == ["--progress", "json"]


def test_garbage_matte_alone_leaves_holdout_out(command):
    args = command.run_arguments(command.MatteRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1, 2,
                                                      garbage="/m/box.png"))
    assert "--holdout" not in args and args[args.index("--garbage") + 1] == "/m/box.png"


def test_environment_drops_blenders_python_settings(command):
    env = command.worker_environment({"PYTHONHOME": "/blender/python", "PYTHONPATH": "/x", "HOME": "/h"})
    assert "PYTHONHOME" not in env and "PYTHONPATH" not in env
    assert env["HOME"] == "/h" and env["PYTHONUNBUFFERED"] == "1"


def test_offline_blender_tells_the_worker_not_to_download(command):
    assert command.worker_environment({}, online=False)["RVMATTE_OFFLINE"] == "1"
    assert "RVMATTE_OFFLINE" not in command.worker_environment({}, online=True)
