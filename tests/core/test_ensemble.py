"""Stream ensembles (``--ensemble``): each stream equals a separate run of that stream, each has
its own state, the run writes their per-pixel mean, and a farm chunk gets the whole shot's
reverse results."""
import numpy as np
import pytest

from rvmatte.cli import main
from rvmatte.engine import Job, RunOptions
from rvmatte.ensemble import (REVERSE_BLOCK, REVERSE_POSTROLL, ForwardStreams, ReverseWindow, block_end,
                              parse_ensemble, postroll_frames)
from rvmatte.io import open_input
from rvmatte.schedule import Step
from rvmatte.session import Session
from shots import composite_frame, make_png_shot, read

RATIO = 0.5
TINY = (64, 36)


def _frames(count, size=(128, 72)):
    return [composite_frame(i, size) for i in range(count)]


def _torch(frames):
    import torch

    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)


def _alone(model, frames, ratio=RATIO):
    session = Session(model, downsample_ratio=ratio)
    return [session.step(rgb)[0] for rgb in frames]


def _stream_alphas(model, frames, ensemble):
    streams = ForwardStreams(model, parse_ensemble(ensemble), downsample_ratio=RATIO)
    per_stream = [[] for _ in range(1 + len(streams.extras))]
    for rgb in frames:
        alphas, _, _ = streams.infer(_torch([rgb]))
        for i, pha in enumerate(alphas):
            per_stream[i].append(pha[0])
    return per_stream


def test_the_mirror_stream_equals_a_run_on_the_mirrored_plate_flipped_back(model):
    frames = _frames(4)
    _, mirror = _stream_alphas(model, frames, "mirror")
    expected = _alone(model, [np.ascontiguousarray(f[:, ::-1]) for f in frames])
    for got, want in zip(mirror, expected):
        np.testing.assert_allclose(got, want[:, ::-1], atol=1e-5)


def test_the_ratio_stream_equals_a_run_at_its_ratio(model):
    frames = _frames(3)
    _, other = _stream_alphas(model, frames, "ratio:0.25")
    for got, want in zip(other, _alone(model, frames, ratio=0.25)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_each_stream_keeps_its_own_recurrent_state(model):
    frames = _frames(4)
    primary, mirror, other = _stream_alphas(model, frames, "mirror,ratio:0.25")
    for got, want in zip(primary, _alone(model, frames)):     # the extra streams leave the primary state alone
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(mirror[-1] - primary[-1]).mean() > 1e-4       # and they are other runs, not copies


def _reverse_results(model, frames_by_number, steps, reach):
    window = ReverseWindow(model, downsample_ratio=RATIO, pixel_aspect=1.0, reach=lambda f: reach, chunk=1)
    items = ((s, None, frames_by_number[s.frame]) for s in steps)
    return {step.frame: rev[0] for step, _, _, rev in window(items) if rev is not None}


def test_the_reverse_stream_equals_running_the_reversed_shot(model):
    frames = _frames(6)
    numbered = dict(zip(range(1, 7), frames))
    got = _reverse_results(model, numbered, [Step(f, write=True) for f in range(1, 7)], reach=6)
    reversed_run = _alone(model, frames[::-1])[::-1]
    assert sorted(got) == list(range(1, 7))
    for frame, want in zip(range(1, 7), reversed_run):
        np.testing.assert_allclose(got[frame], want, atol=1e-5)


def test_a_chunk_reading_its_postroll_gets_the_reverse_results_of_the_whole_shot(model):
    count = 2 * REVERSE_BLOCK + REVERSE_POSTROLL
    numbered = dict(zip(range(1, count + 1), _frames(count, TINY) if count <= 30 else
                        [composite_frame(i % 30, TINY) for i in range(count)]))
    whole = _reverse_results(model, numbered, [Step(f, write=True) for f in numbered], reach=count)
    first, last = REVERSE_BLOCK - 4, REVERSE_BLOCK + 3            # a chunk across a block boundary
    steps = [Step(f, write=True) for f in range(first, last + 1)]
    steps += [Step(f, postroll=True) for f in postroll_frames(last, count)]
    chunk = _reverse_results(model, numbered, steps, reach=count)
    assert sorted(chunk) == list(range(first, last + 1))
    for frame in chunk:
        np.testing.assert_allclose(chunk[frame], whole[frame], atol=1e-5)


def test_the_postroll_reaches_the_end_of_the_block_plus_the_postroll_and_stops_at_the_shot_end():
    assert block_end(1, reach=10_000) == REVERSE_BLOCK - 1 + REVERSE_POSTROLL
    assert postroll_frames(REVERSE_BLOCK - 1, reach=10_000)[-1] == REVERSE_BLOCK - 1 + REVERSE_POSTROLL
    assert postroll_frames(20, reach=22) == [21, 22]


def _job_alpha(model, shot, out, **options):
    Job(RunOptions(input=shot, alpha=str(out / "a.####.exr"), model=model, downsample_ratio=RATIO,
                   bit_depth="float", **options)).run()
    return {int(p.name.split(".")[1]): read(p)[:, :, 0] for p in sorted(out.glob("a.*.exr"))}


def test_a_run_with_an_ensemble_writes_the_mean_of_its_streams(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=5)
    frames = [p.rgb for p in open_input(shot).read(range(1, 6))]
    forward = _alone(model, frames)
    mirror = [a[:, ::-1] for a in _alone(model, [np.ascontiguousarray(f[:, ::-1]) for f in frames])]
    backward = _alone(model, frames[::-1])[::-1]
    got = _job_alpha(model, shot, tmp_path / "out", ensemble="mirror,reverse")
    assert sorted(got) == [1, 2, 3, 4, 5]
    for i, frame in enumerate(range(1, 6)):
        np.testing.assert_allclose(got[frame], (forward[i] + mirror[i] + backward[i]) / 3, atol=1e-5)


def test_a_chunked_reverse_ensemble_stays_closer_to_the_whole_run_than_a_chunked_single_stream(model, tmp_path):
    count = REVERSE_BLOCK + REVERSE_POSTROLL + 4
    shot = make_png_shot(tmp_path / "in", count=min(count, 30))
    first, last, preroll = 9, 20, 4
    error = {}
    for ensemble in (None, "reverse"):
        name = ensemble or "single"
        whole = _job_alpha(model, shot, tmp_path / f"{name}-whole", ensemble=ensemble)
        chunk = _job_alpha(model, shot, tmp_path / f"{name}-chunk", ensemble=ensemble, frames=(first, last),
                           preroll=preroll)
        assert sorted(chunk) == list(range(first, last + 1))
        error[name] = max(float(np.abs(chunk[f] - whole[f]).mean()) for f in chunk)
    assert error["single"] > 1e-4                     # the chunk boundary is visible at all
    # Only the forward half differs: the reverse stream of the chunk is the whole shot's.
    assert error["reverse"] == pytest.approx(error["single"] / 2, rel=0.2)


@pytest.mark.parametrize("bad, named", [("mirrror", "'mirrror'"), ("ratio:0", "'ratio:0'"),
                                        ("ratio:x", "'ratio:x'"), ("mirror,mirror", "mirror"), (",", "mirror")])
def test_a_bad_ensemble_is_one_usage_line_naming_it(tmp_path, capsys, bad, named):
    shot = make_png_shot(tmp_path / "in", count=1)
    assert main(["run", shot, "--ensemble", bad]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rvmatte: error: argument --ensemble: ") and named in line


def test_streams_are_given_in_any_order_and_case_as_one_ensemble():
    assert parse_ensemble("Reverse, mirror") == parse_ensemble("mirror,reverse")


def test_the_reverse_stream_never_crosses_a_cut(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=6)
    frames = [p.rgb for p in open_input(shot).read(range(1, 7))]
    got = _job_alpha(model, shot, tmp_path / "out", ensemble="reverse", reset_at=[4])
    forward = _alone(model, frames[:3]) + _alone(model, frames[3:])
    backward = _alone(model, frames[:3][::-1])[::-1] + _alone(model, frames[3:][::-1])[::-1]
    for i, frame in enumerate(range(1, 7)):
        np.testing.assert_allclose(got[frame], (forward[i] + backward[i]) / 2, atol=1e-5)


def test_several_frames_per_forward_give_the_same_ensemble(model, tmp_path):
    shot = make_png_shot(tmp_path / "in", count=5)
    one = _job_alpha(model, shot, tmp_path / "one", ensemble="mirror,reverse", seq_chunk=1)
    three = _job_alpha(model, shot, tmp_path / "three", ensemble="mirror,reverse", seq_chunk=3)
    for frame in one:
        np.testing.assert_allclose(three[frame], one[frame], atol=1e-4)
