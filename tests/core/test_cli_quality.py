"""`rvmatte run` quality flags: parsing and one-line errors."""
import pytest

from rvmatte.cli import build_parser, main
from shots import make_png_shot


@pytest.fixture
def shot(tmp_path):
    return make_png_shot(tmp_path / "in", count=2)


def test_quality_flags_reach_the_run_options(shot, tmp_path):
    from rvmatte.cli import _options_from

    args = build_parser().parse_args(["run", shot, "--alpha", str(tmp_path / "a.####.exr"), "--warmup", "8",
                                      "--reset-at", "2,1", "--detect-cuts", "--holdout", "h.####.exr",
                                      "--garbage", "g.####.exr", "--segmentation", str(tmp_path / "s.####.exr")])
    options = _options_from(args)
    assert (options.warmup, options.reset_at, options.detect_cuts) == (8, [1, 2], True)
    assert (options.holdout, options.garbage) == ("h.####.exr", "g.####.exr")
    assert options.segmentation.endswith("s.####.exr")


def test_warmup_defaults_to_off(shot):
    assert build_parser().parse_args(["run", shot]).warmup == 0


def test_a_bad_reset_list_is_one_line(shot, tmp_path, capsys):
    assert main(["run", shot, "--alpha", str(tmp_path / "a.####.exr"), "--reset-at", "ten"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rvmatte: error: --reset-at 'ten': expected frame numbers separated by commas, e.g. 1015,1040"]


def test_a_missing_holdout_is_one_line(shot, tmp_path, capsys):
    assert main(["run", shot, "--alpha", str(tmp_path / "a.####.exr"), "--holdout", str(tmp_path / "no.####.exr")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rvmatte: error: --holdout: ") and "no.####.exr" in err[0]
