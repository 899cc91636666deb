"""The confidence pass and the per-frame QC score: lower where streams disagree or the matte
changes on a still plate, written as a raw one-channel EXR, ranked in <name>.qc.json, seen by --resume."""
import io
import json
import os

import numpy as np
import pytest

from rvmatte.cli import main
from rvmatte.confidence import DISAGREEMENT_SCALE, STILL_PLATE, edge, qc_score, ranked, uncertainty
from rvmatte.engine import Job, RunOptions
from rvmatte.io import open_input
from rvmatte.progress import JsonReporter
from rvmatte.session import Session
from shots import make_png_shot, read, spec_of


@pytest.fixture(autouse=True)
def _experimental(monkeypatch):
    """--confidence is experimental (its frame ranking did not beat the soft share): these tests opt in."""
    monkeypatch.setenv("RVMATTE_EXPERIMENTAL", "1")


def test_a_region_where_the_streams_disagree_is_uncertain_and_the_rest_is_not():
    a = np.zeros((72, 72), np.float32)
    b = a.copy()
    b[:36] = DISAGREEMENT_SCALE              # planted: one stream sees something in the top half
    u = uncertainty([a, b], (a + b) / 2)
    assert (u[:36] == 1).all() and (u[48:] == 0).all()     # 12 rows below it: beyond the edge blur (2 px)


def test_an_alpha_change_on_a_still_plate_is_uncertain_but_a_moving_plate_explains_it():
    plate = np.full((4, 8, 3), 0.5, np.float32)
    moved = plate.copy()
    moved[:, 4:] += 2 * STILL_PLATE          # the right half of the plate changed
    before, after = np.zeros((4, 8), np.float32), np.ones((4, 8), np.float32)
    u = uncertainty([after], after, (before, plate), moved)
    assert (u[:, :4] == 1).all() and (u[:, 4:] == 0).all()


def test_the_first_frame_of_a_hard_single_stream_matte_is_trusted_and_scores_zero():
    pha = np.zeros((36, 36), np.float32)
    pha[:, 18:] = 1.0
    assert qc_score(uncertainty([pha], pha)) == 0.0


def test_a_soft_matte_is_uncertain_even_with_one_stream_on_its_first_frame():
    pha = np.full((36, 36), 0.5, np.float32)
    assert (uncertainty([pha], pha) == 1).all()


def test_a_hard_matte_that_misses_a_soft_edge_is_less_trusted_beside_the_band_than_far_from_it():
    """The truth fades from 1 to 0 over 40 px; the matte is soft over the middle 8 only and hard
    elsewhere. Its wrong pixels (|error| > 0.1) are hard (the prior 4α(1−α) = 0 there, as on the
    far background) but next to the band: they must be less trusted than the far pixels."""
    x = np.arange(288, dtype=np.float32)
    truth = np.broadcast_to(np.clip((164 - x) / 40, 0, 1), (288, 288))
    pha = np.broadcast_to(np.clip((148 - x) / 8, 0, 1), (288, 288)).astype(np.float32)
    wrong = np.abs(pha - truth) > 0.1
    hard_wrong = wrong & ((pha == 0) | (pha == 1))
    far = np.abs(x - 144) > 100
    assert hard_wrong.any() and (4 * pha * (1 - pha))[hard_wrong].max() == 0
    u = uncertainty([pha], pha)
    assert u[hard_wrong].min() > 0.01
    assert u[:, far].max() < u[hard_wrong].min()
    assert np.array_equal(u, edge(pha))                       # one stream, first frame: the edge term only


def test_frames_are_ranked_worst_first():
    assert [r["frame"] for r in ranked({1: 0.1, 2: 0.3, 3: 0.2})] == [2, 3, 1]
    assert [r["rank"] for r in ranked({1: 0.1, 2: 0.3, 3: 0.2})] == [1, 2, 3]


@pytest.fixture(scope="module")
def confident_run(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("confidence")
    shot = make_png_shot(folder / "in", count=4)
    stream = io.StringIO()
    Job(RunOptions(input=shot, alpha=str(folder / "out" / "a.####.exr"), model=model, downsample_ratio=0.5,
                   ensemble="mirror", confidence=str(folder / "out" / "plate.confidence.####.exr")),
        JsonReporter(stream)).run()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    return shot, folder / "out", events


def test_the_confidence_pass_is_the_streams_disagreement_of_a_real_run(model, confident_run):
    shot, out, _ = confident_run
    frames = [p.rgb for p in open_input(shot).read(range(1, 5))]
    primary = [Session(model, downsample_ratio=0.5)]
    forward = [primary[0].step(f)[0] for f in frames]
    mirror_session = Session(model, downsample_ratio=0.5)
    mirror = [mirror_session.step(np.ascontiguousarray(f[:, ::-1]))[0][:, ::-1] for f in frames]
    confidence = read(out / "plate.confidence.0001.exr")[:, :, 0]     # the first frame: no instability yet
    spread = np.abs(forward[0] - mirror[0])
    expected = 1 - np.maximum(edge((forward[0] + mirror[0]) / 2), np.minimum(spread / DISAGREEMENT_SCALE, 1))
    np.testing.assert_allclose(confidence, expected, atol=2e-3)
    assert confidence[spread > DISAGREEMENT_SCALE].max(initial=0) < 1e-3 and (spread > DISAGREEMENT_SCALE).any()


def test_the_confidence_pass_is_one_raw_half_channel_carrying_the_qc_score(confident_run):
    _, out, events = confident_run
    spec = spec_of(out / "plate.confidence.0002.exr")
    assert list(spec.channelnames) == ["Y"] and str(spec.format) == "half"
    assert spec.get_string_attribute("oiio:ColorSpace").lower() in ("raw", "data")     # OpenImageIO says "data"
    scores = {e["frame"]: e["qc_score"] for e in events if e["event"] == "frame"}
    assert spec.get_float_attribute("rvmatte/qc_score") == pytest.approx(scores[2])
    assert spec_of(out / "a.0002.exr").get_float_attribute("rvmatte/qc_score") == pytest.approx(scores[2])


def test_the_qc_report_lists_every_frame_worst_first_and_the_run_ends_with_them(confident_run):
    _, out, events = confident_run
    report = json.loads((out / "plate.qc.json").read_text())
    scores = {e["frame"]: e["qc_score"] for e in events if e["event"] == "frame"}
    assert [r["frame"] for r in report["frames"]] == sorted(scores, key=lambda f: -scores[f])
    assert [r["rank"] for r in report["frames"]] == [1, 2, 3, 4]
    done = events[-1]
    assert done["event"] == "done" and [c["frame"] for c in done["check"]] == [r["frame"] for r in report["frames"]]


def test_resume_redoes_a_missing_confidence_frame_only(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=3)
    options = dict(input=shot, alpha=str(tmp_path / "out" / "a.####.exr"), model=model, downsample_ratio=0.5,
                   confidence=str(tmp_path / "out" / "c.####.exr"))
    Job(RunOptions(**options)).run()
    os.remove(tmp_path / "out" / "c.0002.exr")
    summary = Job(RunOptions(**options, resume=True)).run()
    assert (summary["written"], summary["skipped"]) == (1, 2)
    assert (tmp_path / "out" / "c.0002.exr").is_file()


def test_a_confidence_pattern_that_is_not_exr_is_one_line(tmp_path, capsys):
    shot = make_png_shot(tmp_path / "in", count=1)
    assert main(["run", shot, "-o", str(tmp_path / "out"), "--confidence", str(tmp_path / "c.####.png")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--confidence" in line and ".exr" in line


def test_confidence_without_a_pattern_writes_beside_the_passes_of_dash_o(tmp_path):
    shot = make_png_shot(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert main(["run", shot, "-o", str(out), "--no-foreground", "--ensemble", "mirror", "--confidence",
                 "--downsample-ratio", "0.5", "--device", "cpu", "--progress", "none"]) == 0
    assert (out / "plate.confidence.0001.exr").is_file() and (out / "plate.confidence.0002.exr").is_file()
    assert [r["frame"] for r in json.loads((out / "plate.qc.json").read_text())["frames"]] in ([1, 2], [2, 1])


def test_confidence_is_refused_unless_experiments_are_allowed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RVMATTE_EXPERIMENTAL")
    shot = make_png_shot(tmp_path / "shot", count=1)
    assert main(["run", shot, "-o", str(tmp_path / "out"), "--confidence", "--progress", "none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--confidence is experimental" in err[0] and "RVMATTE_EXPERIMENTAL=1" in err[0]
    assert not (tmp_path / "out").exists()


def test_a_run_without_confidence_computes_no_qc_score(tmp_path):
    shot = make_png_shot(tmp_path / "shot", count=2)
    assert main(["run", shot, "-o", str(tmp_path / "out"), "--device", "cpu", "--progress", "none"]) == 0
    alpha = sorted((tmp_path / "out").glob("*alpha*.exr"))
    assert alpha and all(spec_of(a).getattribute("rvmatte/qc_score") is None for a in alpha)
    assert not list((tmp_path / "out").glob("*.qc*.json"))


def test_the_edge_blur_of_a_large_frame_is_the_full_size_gaussian_of_a_36th_of_its_short_side():
    """At 1080 lines σ = 30 px: computed at a third of the size, it must stay the full-size blur."""
    import cv2

    y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
    pha = cv2.GaussianBlur((np.hypot(x - 960, y - 540) < 300).astype(np.float32), (0, 0), 3)
    prior = 4 * pha * (1 - pha)
    exact = (prior + cv2.GaussianBlur(prior, (0, 0), 1080 / 36, borderType=cv2.BORDER_REFLECT)) / 2
    np.testing.assert_allclose(edge(pha), exact, atol=1e-3)
    assert edge(pha)[540, 960 + 300 + 30] > 0.01       # one σ outside the disc's soft rim: still above 0
