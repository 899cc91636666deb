"""Warm-up, shot cuts, holdout/garbage mattes and the segmentation pass, through the real pipeline."""
import io
import json

import numpy as np
import OpenImageIO as oiio
import pytest

from paths import DATA
from rvmatte.engine import Job, RunOptions
from rvmatte.errors import InputError
from rvmatte.progress import JsonReporter
from rvmatte.session import Session
from shots import composite_frame, read, spec_of

DEV01 = DATA / "synthetic" / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720"
SIZE = (128, 72)          # small: every test here runs the real network on the shared CPU


def make_png_shot(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_png(folder / f"plate.{1 + i:04d}.png", composite_frame(i, SIZE))
    return str(folder / "plate.####.png")


def dev01_frame(index: int) -> np.ndarray:
    buf = oiio.ImageBuf(str(DEV01 / "com" / f"{index:04d}.png"))
    small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, SIZE[0], 0, SIZE[1], 0, 1, 0, 3))
    return np.ascontiguousarray(small.get_pixels(oiio.FLOAT)[:, :, :3])


def write_png(path, rgb):
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
    assert buf.write(str(path), "uint8"), buf.geterror()


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """Frames 1-4 from one composite, 5-7 from another: a hard cut at 5."""
    folder = tmp_path_factory.mktemp("joined")
    for i in range(4):
        write_png(folder / f"join.{1 + i:04d}.png", composite_frame(i, SIZE))
    for i in range(3):
        write_png(folder / f"join.{5 + i:04d}.png", dev01_frame(i))
    return str(folder / "join.####.png")


def matte(model, tmp_path, shot, name, reporter=None, **options):
    """Run the pipeline (float EXR alpha) and return {frame: alpha}."""
    pattern = tmp_path / name / "a.####.exr"
    summary = Job(RunOptions(input=shot, alpha=str(pattern), model=model, downsample_ratio=1.0, bit_depth="float",
                             **options), reporter).run()
    frames = range(summary["frames"])
    out = {}
    for path in sorted((tmp_path / name).glob("a.*.exr")):
        out[int(path.name.split(".")[1])] = read(path)[:, :, 0]
    assert len(out) == len(frames)
    return out


def events(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# -- warm-up ---------------------------------------------------------------------------------

def test_warmup_builds_the_state_from_the_next_frames_run_backwards(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=5)
    got = matte(model, tmp_path, shot, "w3", warmup=3)
    job = Job(RunOptions(input=shot, alpha=str(tmp_path / "unused.####.exr"), model=model))
    frames = {p.frame: job.colour.to_model(p.rgb) for p in job.source.read(range(1, 6))}
    session = Session(model, downsample_ratio=1.0)
    for frame in (4, 3, 2):
        session.step(frames[frame])
    for frame in range(1, 6):
        np.testing.assert_allclose(got[frame], session.step(frames[frame])[0], atol=1e-4)


def test_warmup_changes_the_first_frames(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=4)
    cold = matte(model, tmp_path, shot, "w0", warmup=0, frames=(1, 1))
    warm = matte(model, tmp_path, shot, "w3", warmup=3, frames=(1, 1))
    assert np.abs(cold[1] - warm[1]).max() > 1e-3


def test_warmup_frames_are_neither_written_nor_reported(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=3)
    stream = io.StringIO()
    matte(model, tmp_path, shot, "w2", reporter=JsonReporter(stream), warmup=2, frames=(1, 2))
    lines = events(stream)
    assert lines[0]["event"] == "start" and lines[0]["warmup"] == 2
    assert [e["frame"] for e in lines if e["event"] == "frame"] == [1, 2]
    assert sorted(p.name for p in (tmp_path / "w2").iterdir()) == ["a.0001.exr", "a.0002.exr"]


# -- cuts ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def second_shot_alone(model, joined, tmp_path_factory):
    """The frames after the cut, matted from an empty state (a fresh run of the second clip)."""
    return matte(model, tmp_path_factory.mktemp("alone"), joined, "b", frames=(5, 7))


def test_detected_cut_makes_the_second_shot_match_a_fresh_run(model, joined, second_shot_alone, tmp_path):
    stream = io.StringIO()
    got = matte(model, tmp_path, joined, "cut", reporter=JsonReporter(stream), detect_cuts=True)
    cuts = [e for e in events(stream) if e["event"] == "cut"]
    assert [(c["frame"], c["source"]) for c in cuts] == [(5, "detected")]
    for frame in (5, 6, 7):
        np.testing.assert_allclose(got[frame], second_shot_alone[frame], atol=1e-4)
    assert spec_of(tmp_path / "cut" / "a.0006.exr").get_string_attribute("rvmatte/cuts") == "5"


def test_without_a_reset_the_previous_shot_leaks_into_the_next(model, joined, second_shot_alone, tmp_path):
    got = matte(model, tmp_path, joined, "plain")
    # measured: the first frame after the cut differs by ~0.9 somewhere, and frames later still differ
    assert np.abs(got[5] - second_shot_alone[5]).max() > 0.05
    assert np.abs(got[7] - second_shot_alone[7]).max() > 1e-3


def test_reset_at_clears_the_state_at_the_given_frame(model, joined, second_shot_alone, tmp_path):
    stream = io.StringIO()
    got = matte(model, tmp_path, joined, "given", reporter=JsonReporter(stream), reset_at=[5], frames=(4, 6))
    assert [(e["frame"], e["source"]) for e in events(stream) if e["event"] == "cut"] == [(5, "given")]
    np.testing.assert_allclose(got[5], second_shot_alone[5], atol=1e-4)


def test_preroll_never_reaches_back_across_a_cut(model, joined, second_shot_alone, tmp_path):
    got = matte(model, tmp_path, joined, "pre", reset_at=[5], frames=(6, 7), preroll=3)
    np.testing.assert_allclose(got[6], second_shot_alone[6], atol=1e-4)


# -- holdout and garbage mattes ---------------------------------------------------------------

def write_mattes(folder, name, frames, values):
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        spec = oiio.ImageSpec(values.shape[1], values.shape[0], 1, oiio.HALF)
        spec.channelnames = ("A",)
        out = oiio.ImageOutput.create(str(folder / f"{name}.{frame:04d}.exr"))
        out.open(str(folder / f"{name}.{frame:04d}.exr"), spec)
        out.write_image(np.ascontiguousarray(values[:, :, None], dtype=np.float32))
        out.close()
    return str(folder / f"{name}.####.exr")


@pytest.fixture(scope="module")
def plain_run(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("masks")
    shot = make_png_shot(folder / "in", count=2)
    Job(RunOptions(input=shot, alpha=str(folder / "plain" / "a.####.exr"), foreground=str(folder / "plain" / "f.####.exr"),
                   model=model, downsample_ratio=1.0, bit_depth="float")).run()
    return folder, shot, read(folder / "plain" / "a.0002.exr")[:, :, 0], read(folder / "plain" / "f.0002.exr")


def masked_run(model, plain_run, name, **masks):
    folder, shot, _, _ = plain_run
    Job(RunOptions(input=shot, alpha=str(folder / name / "a.####.exr"), foreground=str(folder / name / "f.####.exr"),
                   model=model, downsample_ratio=1.0, bit_depth="float", **masks)).run()
    return read(folder / name / "a.0002.exr")[:, :, 0], read(folder / name / "f.0002.exr")


def test_a_feathered_holdout_and_garbage_scale_alpha_and_foreground_alike(model, plain_run):
    folder = plain_run[0]
    width, height = SIZE
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))     # feathered edge
    ramp = ramp.astype(np.float16).astype(np.float32)                               # as stored (half)
    garbage = write_mattes(folder / "m", "garbage", [1, 2], ramp)
    holdout = write_mattes(folder / "m", "holdout", [1, 2], np.full((height, width), 0.25, np.float32))
    alpha, fgr = masked_run(model, plain_run, "both", holdout=holdout, garbage=garbage)
    plain_alpha, plain_fgr = plain_run[2], plain_run[3]
    keep = ramp * 0.75
    np.testing.assert_allclose(alpha, plain_alpha * keep, atol=1e-5)
    np.testing.assert_allclose(fgr[:, :, 3], alpha, atol=1e-6)
    np.testing.assert_allclose(fgr[:, :, :3], plain_fgr[:, :, :3] * keep[:, :, None], atol=1e-4)
    assert plain_alpha.max() > 0.5                      # there was a matte to hold out


def test_a_full_holdout_leaves_nothing(model, plain_run):
    width, height = SIZE
    holdout = write_mattes(plain_run[0] / "full", "h", [1, 2], np.ones((height, width), np.float32))
    alpha, fgr = masked_run(model, plain_run, "none", holdout=holdout)
    assert alpha.max() == 0.0 and np.abs(fgr).max() == 0.0


def test_a_matte_of_another_size_is_a_clear_error(model, plain_run):
    holdout = write_mattes(plain_run[0] / "small", "h", [1, 2], np.ones((10, 12), np.float32))
    with pytest.raises(InputError, match=r"--holdout: .*h.####.exr is 12x10, the plate is 128x72"):
        masked_run(model, plain_run, "bad", holdout=holdout)


def test_a_matte_missing_a_frame_names_it(model, plain_run):
    width, height = SIZE
    garbage = write_mattes(plain_run[0] / "short", "g", [1], np.ones((height, width), np.float32))
    with pytest.raises(InputError, match=r"--garbage: frame 2 is missing: .*g.0002.exr"):
        masked_run(model, plain_run, "short", garbage=garbage)


# -- segmentation pass ---------------------------------------------------------------------------

def test_segmentation_pass_is_a_single_channel_exr_beside_an_unchanged_alpha(model, plain_run):
    folder, shot, plain_alpha, _ = plain_run
    Job(RunOptions(input=shot, alpha=str(folder / "seg" / "a.####.exr"), segmentation=str(folder / "seg" / "s.####.exr"),
                   model=model, downsample_ratio=1.0, bit_depth="float")).run()
    spec = spec_of(folder / "seg" / "s.0002.exr")
    assert list(spec.channelnames) == ["segmentation"]
    assert (spec.width, spec.height) == SIZE
    # the test weights' segmentation head is zeros: sigmoid(0) everywhere
    np.testing.assert_allclose(read(folder / "seg" / "s.0002.exr"), 0.5)
    np.testing.assert_allclose(read(folder / "seg" / "a.0002.exr")[:, :, 0], plain_alpha, atol=1e-6)
