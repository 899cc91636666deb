"""The rvmatte run command line and the worker interpreter (rvmatte_hostkit.command)."""
import os
import stat

import pytest

from rvmatte_hostkit import command
from rvmatte_hostkit.command import RunRequest


def executable(path, text="#!/bin/sh\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_an_interpreter_runs_the_module(tmp_path):
    python = executable(tmp_path / "env" / "bin" / "python3")
    assert command.worker_prefix(python) == [python, "-m", "rvmatte"]


def test_an_rvmatte_executable_runs_as_it_is(tmp_path):
    exe = executable(tmp_path / "env" / "bin" / "rvmatte")
    assert command.worker_prefix(exe) == [exe]


def test_a_missing_worker_names_the_path_and_the_setting(tmp_path):
    with pytest.raises(command.WorkerSetupError, match="worker not found: .*nope/python .*check the add-on"):
        command.worker_prefix(str(tmp_path / "nope" / "python"), where="the add-on")


@pytest.mark.skipif(os.name != "posix", reason="execute bits are POSIX")
def test_a_file_without_execute_bit_is_refused(tmp_path):
    plain = tmp_path / "python"
    plain.write_text("")
    with pytest.raises(command.WorkerSetupError, match="not executable"):
        command.worker_prefix(str(plain))


def test_a_venv_folder_says_choose_the_python_inside(tmp_path):
    python = executable(tmp_path / "rvmatte-env" / "bin" / "python")
    with pytest.raises(command.WorkerSetupError, match="not the folder: " + python):
        command.worker_prefix(str(tmp_path / "rvmatte-env"))


def test_nothing_configured_and_nothing_on_path_says_where_to_set_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(command.WorkerSetupError, match="installed in RVMatte > Preferences"):
        command.worker_prefix("  ", where="RVMatte > Preferences")


def test_interpreter_problem_without_an_interpreter_says_what_to_choose():
    assert "choose the Python" in command.interpreter_problem("")
    assert command.interpreter_problem("/usr/bin/python3") is None


def test_run_arguments_carry_every_choice():
    request = RunRequest(
        input_path="/in/clip.mp4", alpha_pattern="/out/c.alpha.####.exr", foreground_pattern="/out/c.fgr.####.exr",
        first=3, last=9, start_frame=1, weights="/w.pth", variant="resnet50", device="cuda", precision="float16",
        downsample_ratio=0.375, preroll=4, foreground_source="plate", input_colorspace="sRGB",
        output_colorspace="Linear Rec.709", ocio_config="/blender/config.ocio", holdout="/m/h.####.png",
        garbage="/m/g.png")
    args = command.run_arguments(request)
    assert args[:2] == ["run", "/in/clip.mp4"]
    assert dict(zip(args[2::2], args[3::2])) == {
        "--alpha": "/out/c.alpha.####.exr", "--foreground": "/out/c.fgr.####.exr", "--foreground-source": "plate",
        "--frames": "3-9", "--variant": "resnet50", "--device": "cuda", "--precision": "float16",
        "--downsample-ratio": "0.375", "--start-frame": "1", "--preroll": "4", "--weights": "/w.pth",
        "--holdout": "/m/h.####.png", "--garbage": "/m/g.png", "--ocio-config": "/blender/config.ocio",
        "--input-colorspace": "sRGB", "--output-colorspace": "Linear Rec.709", "--progress": "json"}


def test_defaults_leave_optional_flags_out_and_end_with_json_progress():
    args = command.run_arguments(RunRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1001, 1010))
    assert args[args.index("--downsample-ratio") + 1] == "auto"
    for flag in ("--start-frame", "--preroll", "--weights", "--ocio-config", "--input-colorspace",
                 "--output-colorspace", "--holdout", "--garbage"):
        assert flag not in args
    assert args[-2:] == ["--progress", "json"]


@pytest.mark.parametrize("value, text", [(None, "auto"), ("auto", "auto"), (0.25, "0.25"), ("0.5", "0.5"), (1, "1"), (0.1234567891, "0.1234567891")])
def test_ratio_argument(value, text):
    assert command.ratio_argument(value) == text


def test_every_run_option_the_hosts_send_is_one_the_cli_knows():
    cli = pytest.importorskip("rvmatte.cli")
    parser = cli.build_parser()
    request = RunRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1, 2, start_frame=1, weights="/w.pth",
                         downsample_ratio=0.5, preroll=2, input_colorspace="sRGB", output_colorspace="ACEScg",
                         ocio_config="/c.ocio", holdout="/h.png", garbage="/g.png")
    parsed = parser.parse_args(command.run_arguments(request))
    assert parsed.preroll == 2 and parsed.progress == "json"


def test_targets_points_and_people_become_their_options_in_order():
    request = RunRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1, 2, holdout="/h.png", garbage="/g.png",
                         targets=("hero=/m/t.####.exr", "/m/u.####.exr"), target_points=("extra=5,6@2",), people=0)
    args = command.run_arguments(request)
    pairs = [(a, b) for a, b in zip(args, args[1:]) if a in ("--target", "--target-point", "--people")]
    assert pairs == [("--target", "hero=/m/t.####.exr"), ("--target", "/m/u.####.exr"),
                     ("--target-point", "extra=5,6@2")]


def test_the_cli_reads_the_people_options_the_hosts_send():
    cli = pytest.importorskip("rvmatte.cli")
    request = RunRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1, 2, holdout="/h.png", garbage="/g.png",
                         targets=("hero=/m/t.####.exr",), target_points=("hero=5,6@2", "7,8@1"))
    parsed = cli.build_parser().parse_args(command.run_arguments(request))
    assert (parsed.target, parsed.target_point) == (["hero=/m/t.####.exr"], ["hero=5,6@2", "7,8@1"])
    assert (parsed.holdout, parsed.garbage) == ("/h.png", "/g.png")
    counted = cli.build_parser().parse_args(command.run_arguments(
        RunRequest("/in/p.####.exr", "a.####.exr", "f.####.exr", 1, 2, people=3)))
    assert counted.people == 3 and counted.target == []


def test_quoted_command_can_be_pasted_into_a_shell():
    assert command.quoted(["python", "-m", "rvmatte", "/a b/c.####.exr", "it's"]) == \
        "python -m rvmatte '/a b/c.####.exr' 'it'\"'\"'s'"


def test_debug_adds_the_flag_before_the_progress_option():
    from rvmatte_hostkit.command import RunRequest, run_arguments

    args = run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr", 1, 2, debug=True))
    assert args[-3:] == ["--debug", "--progress", "json"]
    assert "--debug" not in run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr", 1, 2))


def test_resume_asks_the_worker_to_keep_the_frames_made_with_the_same_settings():
    args = command.run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr", 1, 2, resume=True))
    assert "--resume" in args and args[-2:] == ["--progress", "json"]
    assert "--resume" not in command.run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr", 1, 2))
    cli = pytest.importorskip("rvmatte.cli")
    assert cli.build_parser().parse_args(args).resume


@pytest.mark.parametrize("preference, environ, wanted", [
    (False, {}, False), (True, {}, True), (False, {"RVMATTE_DEBUG": "1"}, True), (False, {"RVMATTE_DEBUG": "0"}, False),
])
def test_debug_comes_from_the_preference_or_the_environment(preference, environ, wanted):
    from rvmatte_hostkit.command import debug_requested

    assert debug_requested(preference, environ) is wanted


def test_finetune_arguments_carry_every_choice():
    from rvmatte_hostkit.command import FinetuneRequest, finetune_arguments

    request = FinetuneRequest("/s/plate.####.exr", "/k/fix.####.exr", "/o/tuned/shot.pth", weights="/w/base.pth",
                              device="cuda:1", precision="float16", downsample_ratio=0.375, start_frame=1001,
                              input_colorspace="ACEScg", ocio_config="/c/config.ocio", steps=30, force=True,
                              debug=True)
    args = finetune_arguments(request)
    assert args[:6] == ["finetune", "/s/plate.####.exr", "--keyframes", "/k/fix.####.exr", "-o", "/o/tuned/shot.pth"]
    pairs = dict(zip(args[6::], args[7::]))
    for flag, value in (("--weights", "/w/base.pth"), ("--device", "cuda:1"), ("--precision", "float16"),
                        ("--downsample-ratio", "0.375"), ("--start-frame", "1001"), ("--steps", "30"),
                        ("--input-colorspace", "ACEScg"), ("--ocio-config", "/c/config.ocio")):
        assert pairs[flag] == value
    assert "--force" in args and "--debug" in args and args[-2:] == ["--progress", "json"]


def test_the_cli_reads_the_finetune_options_the_hosts_send():
    cli = pytest.importorskip("rvmatte.cli")
    from rvmatte_hostkit.command import FinetuneRequest, finetune_arguments

    request = FinetuneRequest("/s/plate.####.exr", "/k/fix.####.exr", "/o/t.pth", weights="/w/b.pth",
                              downsample_ratio=None, steps=0, start_frame=5)
    parsed = cli.build_parser().parse_args(finetune_arguments(request))
    assert parsed.command == "finetune" and parsed.keyframes == "/k/fix.####.exr" and parsed.output == "/o/t.pth"
    assert parsed.steps == 0 and parsed.start_frame == 5 and parsed.downsample_ratio == "auto"
    assert parsed.force is False and parsed.progress == "json"


def test_the_tuned_checkpoint_lives_beside_the_passes():
    from rvmatte_hostkit.command import tuned_weights_path

    assert tuned_weights_path(os.path.join("o", "shot"), "RVMatte1") == os.path.join("o", "shot", "tuned",
                                                                                    "RVMatte1.pth")


def test_versions_write_into_version_folders_of_the_output_folder_and_keep_n_prunes():
    args = command.run_arguments(RunRequest("/s/p.####.exr", "/o/p.alpha.####.exr", "/o/p.fgr.####.exr", 1, 2,
                                            output_dir="/o", versions=True, keep_versions=3))
    assert args[-2:] == ["--progress", "json"]
    cli = pytest.importorskip("rvmatte.cli")
    parsed = cli.build_parser().parse_args(args)
    assert (parsed.output_dir, parsed.versions, parsed.keep_versions) == ("/o", True, 3)
    plain = command.run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr", 1, 2,
                                             output_dir="/o", versions=True))
    assert "--keep-versions" not in plain and "--versions" in plain
    unversioned = command.run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr", 1, 2))
    assert not {"-o", "--versions", "--keep-versions"} & set(unversioned)


def test_the_input_id_is_sent_when_given_and_the_cli_puts_it_in_the_key():
    request = RunRequest("/s/p.####.exr", "/o/p.alpha.####.exr", "/o/p.fgr.####.exr", 1, 2,
                         output_dir="/o", versions=True, input_id="0123abcd4567ef89")
    args = command.run_arguments(request)
    assert args[args.index("--input-id") + 1] == "0123abcd4567ef89" and args[-2:] == ["--progress", "json"]
    assert "--input-id" not in command.run_arguments(RunRequest("/s/p.####.exr", "/o/a.####.exr", "/o/f.####.exr",
                                                                1, 2, output_dir="/o", versions=True))
    cli = pytest.importorskip("rvmatte.cli")
    assert cli.build_parser().parse_args(args).input_id == "0123abcd4567ef89"
