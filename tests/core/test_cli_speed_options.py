"""The speed options of ``rvmatte run`` reach the pipeline; unset ones leave the device defaults."""
import json

import numpy as np

from rvmatte.cli import _options_from, build_parser, main
from shots import make_exr_shot, make_png_shot, read


def _options(tmp_path, *extra):
    shot = make_png_shot(tmp_path / "in", count=1)
    return _options_from(build_parser().parse_args(["run", shot, "-o", str(tmp_path / "out"), *extra]))


def test_speed_options_default_to_the_device_tuning(tmp_path):
    options = _options(tmp_path)
    assert (options.threads, options.writers, options.seq_chunk, options.fold_batchnorm) == (None, None, None, None)


def test_threads_writers_and_folding_can_be_set(tmp_path):
    options = _options(tmp_path, "--threads", "2", "--writers", "3", "--seq-chunk", "2", "--no-fold-batchnorm")
    assert (options.threads, options.writers, options.seq_chunk, options.fold_batchnorm) == (2, 3, 2, False)


def test_compile_is_off_unless_asked(tmp_path):
    assert _options(tmp_path).compile is False
    assert _options(tmp_path, "--compile").compile is True


def _json_events(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_compiled_run_writes_the_alpha_of_an_uncompiled_run(tmp_path, capsys):
    shot = make_png_shot(tmp_path / "in", count=4)
    common = ["--no-foreground", "--downsample-ratio", "0.5", "--device", "cpu", "--float"]
    assert main(["run", shot, "-o", str(tmp_path / "eager"), *common, "--progress", "none"]) == 0
    assert main(["run", shot, "-o", str(tmp_path / "compiled"), *common, "--compile", "--progress", "json"]) == 0
    events = _json_events(capsys)
    assert events[0]["event"] == "start" and events[0]["compiled"] is True
    assert not [e for e in events if e["event"] == "warning"]          # compiled, no fallback
    for frame in range(1, 5):
        np.testing.assert_allclose(read(tmp_path / "compiled" / f"plate.alpha.{frame:04d}.exr"),
                                   read(tmp_path / "eager" / f"plate.alpha.{frame:04d}.exr"), rtol=0, atol=1e-4)


def test_compile_on_an_anamorphic_plate_says_the_network_runs_uncompiled(tmp_path, capsys):
    shot = make_exr_shot(tmp_path / "in", frames=range(1, 3), pixel_aspect=2.0)
    assert main(["run", shot, "-o", str(tmp_path / "out"), "--no-foreground", "--downsample-ratio", "0.5",
                 "--device", "cpu", "--compile", "--progress", "json"]) == 0
    events = _json_events(capsys)
    start = next(e for e in events if e["event"] == "start")
    assert start["compiled"] is False
    assert any(e["event"] == "warning" and "--compile" in e["message"] for e in events)
