"""Every mistake is one clear line: usage errors, bad settings caught before the model loads,
a closed stdout, `rvmatte info` on bad weights, and the summary line without a terminal."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rvmatte.cli import main
from shots import make_exr_shot

FAST = ["--downsample-ratio", "0.5", "--device", "cpu"]
CORE = str(Path(__file__).resolve().parents[2] / "core")


@pytest.fixture
def shot(tmp_path):
    return make_exr_shot(tmp_path / "in", frames=range(1001, 1004))


def _main(args):
    return main([str(a) for a in args])


def _cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=CORE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "rvmatte", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300, **kw)


@pytest.mark.parametrize("bad", [["--downsample-ratio", "7"], ["--no-such-option"], ["--precision", "double"]])
def test_a_usage_error_is_one_line(shot, capsys, bad):
    assert main(["run", shot, *bad]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("rvmatte: error: ") and captured.out == ""


def test_a_usage_error_is_also_a_json_error_event_under_progress_json(shot, capsys):
    assert main(["run", shot, "--progress", "json", "--downsample-ratio", "7"]) == 2
    (event,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert event["event"] == "error" and "downsample ratio must be in (0, 1]" in event["message"]


def test_an_unknown_compression_is_refused_before_the_model_loads(shot, tmp_path, capsys):
    bad_weights = tmp_path / "bad.pth"
    bad_weights.write_bytes(b"no")
    assert _main(["run", shot, "-o", tmp_path / "out", "--compression", "bogus", "--weights", bad_weights,
                 *FAST]) != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rvmatte: error: --compression bogus") and "bad.pth" not in line
    assert not (tmp_path / "out").exists()


def test_an_ocio_config_that_is_not_text_is_refused_before_the_model_loads(shot, tmp_path, capsys):
    config = tmp_path / "config.ocio"
    config.write_bytes(bytes(range(256)) * 4)
    bad_weights = tmp_path / "bad.pth"
    bad_weights.write_bytes(b"no")
    assert _main(["run", shot, "-o", tmp_path / "out", "--ocio-config", config, "--weights", bad_weights,
                 *FAST]) != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"rvmatte: error: --ocio-config {config}") and "bad.pth" not in line


def test_info_on_bad_weights_exits_non_zero_and_prints_no_python_dict(shot, tmp_path):
    bad_weights = tmp_path / "bad.pth"
    result = _cli(["info", shot, "--weights", bad_weights])
    assert result.returncode != 0
    assert "{" not in result.stdout and "{" not in result.stderr
    assert f"rvmatte: error: weights file not found: {bad_weights}" in result.stderr


def test_a_closed_stdout_ends_the_run_quietly(shot, tmp_path):
    env = dict(os.environ, PYTHONPATH=CORE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.Popen([sys.executable, "-m", "rvmatte", "run", shot, "-o", tmp_path / "out", *FAST,
                            "--progress", "json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = run.stdout.readline()  # what `| head -1` reads before it exits
    run.stdout.close()
    err = run.stderr.read().decode()
    assert run.wait(timeout=300) != 0
    assert json.loads(first)["event"] == "start"
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_without_a_terminal_or_progress_option_the_summary_still_reaches_stderr(shot, tmp_path):
    result = _cli(["run", shot, "-o", tmp_path / "out", *FAST])
    assert result.returncode == 0 and result.stdout == ""
    assert "rvmatte: 3 frames written, 0 kept" in result.stderr
