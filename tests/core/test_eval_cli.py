"""`rvmatte eval`: reports, files, flicker and --run."""
import csv
import json

import numpy as np
import OpenImageIO as oiio
import pytest

from paths import DATA, TEST_WEIGHTS
from rvmatte.cli import main
from test_evaluate import write_matte

DEV02 = DATA / "synthetic" / "dev02_p3m-514ca06a_on_bgm1-bg0002_512x288"


@pytest.fixture
def pair(tmp_path):
    """Truth 0..2 and a prediction off by 0.5 on one pixel of four in frame 0 (MAD 125)."""
    for frame in range(3):
        write_matte(tmp_path / f"gt.{frame:04d}.png", np.zeros((2, 2)))
        pred = np.array([[0.5, 0], [0, 0]]) if frame == 0 else np.zeros((2, 2))
        write_matte(tmp_path / f"pred.{frame:04d}.exr", pred, channel="A", fmt=oiio.HALF)
    return str(tmp_path / "pred.####.exr"), str(tmp_path / "gt.####.png")


def test_eval_prints_overall_first_frames_and_the_rest(pair, capsys):
    assert main(["eval", *pair, "--first-frames", "1"]) == 0
    out = capsys.readouterr().out
    assert "metrics: 3 frames 0-2" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert float(lines["all"][2]) == pytest.approx(125 / 3, rel=1e-3)      # "all frames" MAD
    assert float(lines["first"][2]) == pytest.approx(125)
    assert float(lines["rest"][1]) == 0.0


def test_eval_writes_per_frame_csv_json_and_a_plot(pair, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", *pair, "--csv", str(out / "m.csv"), "--json", str(out / "m.json"),
                 "--plot", str(out / "m.png")]) == 0
    rows = list(csv.DictReader(open(out / "m.csv")))
    assert [r["frame"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["frame", "mad", "mse", "grad", "conn", "dtssd"]
    assert float(rows[0]["mad"]) == pytest.approx(125)
    document = json.load(open(out / "m.json"))
    assert document["metrics"]["overall"]["mad"] == pytest.approx(125 / 3)
    assert len(document["metrics"]["per_frame"]) == 3
    plot = oiio.ImageInput.open(str(out / "m.png"))
    assert plot is not None and plot.spec().width > 300
    plot.close()


def test_eval_json_to_stdout_is_only_json(pair, capsys):
    assert main(["eval", *pair, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["frames"] == 3


def test_eval_needs_truth_or_flicker(pair, capsys):
    assert main(["eval", pair[0]]) != 0
    assert "give TRUTH" in capsys.readouterr().err


def test_run_options_without_run_are_refused(pair, capsys):
    assert main(["eval", *pair, "--warmup", "4"]) != 0
    assert "need --run" in capsys.readouterr().err


def test_flicker_of_a_steady_matte_on_a_still_plate_is_zero(tmp_path, capsys):
    for frame in range(3):
        write_matte(tmp_path / f"a.{frame:04d}.png", np.full((4, 4), 0.5))
        write_matte(tmp_path / f"p.{frame:04d}.png", np.full((4, 4), 0.2))
    assert main(["eval", "--flicker", str(tmp_path / "a.####.png"), "--plate", str(tmp_path / "p.####.png"),
                 "--json", "-"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["flicker"]["overall"]["flicker"] == 0.0
    assert document["flicker"]["per_frame"][1]["still"] == 1.0


def test_eval_run_mattes_the_shot_first_and_scores_it(tmp_path, capsys):
    keep = tmp_path / "kept"
    assert main(["eval", "--run", str(DEV02 / "com"), str(DEV02 / "pha"), "--frames", "0-1", "--json", "-",
                 "--weights", str(TEST_WEIGHTS), "--downsample-ratio", "0.5", "--keep", str(keep)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [row["frame"] for row in document["metrics"]["per_frame"]] == [0, 1]
    assert 0 < document["metrics"]["overall"]["mad"] < 100          # a person matte, not noise
    assert sorted(p.name for p in keep.iterdir()) == ["com.alpha.0000.exr", "com.alpha.0001.exr"]
