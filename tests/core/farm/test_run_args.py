"""Extra `rvmatte run` options of a farm shot are read by the real run parser:
nothing the job fixes itself can be set again, however it is spelled."""

import pytest

from rvmatte.cli import build_parser
from rvmatte.errors import InputError
from rvmatte.farm.run_args import check_run_args
from rvmatte.farm.shots import load_shots


@pytest.mark.parametrize(
    "run_args",
    [
        ["-o/tmp/elsewhere"],
        ["-o", "/tmp/elsewhere"],
        ["--output-dir=/tmp/elsewhere"],
        ["--device=cpu"],
        ["--start-frame", "5"],
    ],
)
def test_run_args_may_not_set_an_option_the_job_sets_in_any_spelling(plate, tmp_path, run_args):
    with pytest.raises(InputError, match="the farm job sets it"):
        load_shots([plate], output_root=str(tmp_path), run_args=run_args)


@pytest.mark.parametrize(
    "run_args",
    [["--devi", "cpu"], ["--weig", "/tmp/other.pth"], ["--fra", "1-2"], ["--prer", "0"], ["--output-d", "/tmp/x"]],
)
def test_abbreviated_run_args_are_not_taken_for_the_options_the_job_sets(plate, tmp_path, run_args):
    with pytest.raises(InputError, match=f"unrecognized arguments: {run_args[0]}"):
        load_shots([plate], output_root=str(tmp_path), run_args=run_args)


def test_run_args_the_run_parser_does_not_know_are_refused(plate, tmp_path):
    with pytest.raises(InputError, match="--downsample-ration"):
        load_shots([plate], output_root=str(tmp_path), run_args=["--downsample-ration", "0.25"])


def test_run_args_with_a_bad_value_are_refused_naming_the_option(plate, tmp_path):
    with pytest.raises(InputError, match="--downsample-ratio"):
        load_shots([plate], output_root=str(tmp_path), run_args=["--downsample-ratio", "7"])


def test_run_args_may_not_read_an_arguments_file(plate, tmp_path):
    with pytest.raises(InputError, match="@"):
        load_shots([plate], output_root=str(tmp_path), run_args=["@/tmp/more.args"])


def test_ordinary_run_args_are_kept(plate, tmp_path):
    (shot,) = load_shots([plate], output_root=str(tmp_path), run_args=["--downsample-ratio", "0.25", "--float"])
    assert shot.run_args == ["--downsample-ratio", "0.25", "--float"]


@pytest.mark.parametrize("argv", [["run", "in.####.exr", "--devi", "cpu"], ["info", "in.####.exr", "--weig", "w"],
                                  ["farm", "plan", "in.####.exr", "--chunk", "5"]])
def test_no_command_accepts_an_abbreviated_option(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_repeatable_run_options_are_accepted():
    parsed = check_run_args(["--target", "a=a.####.png", "--target", "b=b.####.png"], "sh010")
    assert parsed.target == ["a=a.####.png", "b=b.####.png"]
