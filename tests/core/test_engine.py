"""The pipeline's pieces: frame planning, HDR-safe foreground, movies in."""
import numpy as np
import pytest

from rvmatte.engine import Job, RunOptions, parse_frame_range, plan_frames, run
from rvmatte.errors import InputError
from shots import JUGGLE, make_exr_shot, read


def path_of(frame):
    return f"plate.{frame:04d}.exr"


def test_frame_range_parsing():
    assert parse_frame_range("1001-1100") == (1001, 1100)
    assert parse_frame_range("7") == (7, 7)
    with pytest.raises(InputError, match="FIRST-LAST"):
        parse_frame_range("a-b")


def test_preroll_takes_the_frames_just_before_the_range():
    plan = plan_frames(list(range(1001, 1101)), (1050, 1060), 8, path_of)
    assert plan.compute == list(range(1042, 1061)) and plan.requested == list(range(1050, 1061))


def test_preroll_is_clamped_at_the_shot_start():
    plan = plan_frames(list(range(1001, 1101)), (1003, 1010), 16, path_of)
    assert plan.compute[0] == 1001


def test_preroll_stops_at_a_hole_like_a_shot_start():
    available = [1, 2, 3, 6, 7, 8, 9, 10]
    assert plan_frames(available, (9, 10), 5, path_of).compute == [6, 7, 8, 9, 10]


def test_missing_frame_inside_the_range_is_named():
    with pytest.raises(InputError, match="frame 4 is missing: plate.0004.exr"):
        plan_frames([1, 2, 3, 5], None, 0, path_of)


def test_range_outside_the_shot_is_an_error():
    with pytest.raises(InputError, match="1-3"):
        plan_frames([1, 2, 3], (2, 9), 0, path_of)


@pytest.fixture
def job(tmp_path):
    shot = make_exr_shot(tmp_path / "in", frames=range(1, 3))
    return Job(RunOptions(input=shot, alpha=str(tmp_path / "a.####.exr"), foreground=str(tmp_path / "f.####.exr"),
                          foreground_source="model"))


def test_model_foreground_keeps_hdr_where_the_network_changes_nothing(job):
    plate = np.array([[[5.0, 0.5, 12.0], [0.2, 0.2, 0.2]]], np.float32)      # scene-linear, HDR
    model_in = job.colour.to_model(plate)
    linear = job.foreground_linear(plate, model_in, model_in.copy())
    np.testing.assert_allclose(linear, plate, rtol=1e-6)


def test_model_foreground_applies_the_networks_change_in_linear_light(job):
    plate = np.array([[[5.0, 0.5, 0.02]]], np.float32)
    model_in = job.colour.to_model(plate)
    changed = model_in.copy()
    changed[..., 2] = 0.5                       # the network decontaminates the blue channel
    linear = job.foreground_linear(plate, model_in, changed)
    expected_blue = 0.02 + job.colour.model_to_output(changed)[..., 2] - job.colour.model_to_output(model_in)[..., 2]
    np.testing.assert_allclose(linear[..., 2], expected_blue, rtol=1e-5)
    np.testing.assert_allclose(linear[..., :2], plate[..., :2], rtol=1e-6)


def test_premultiplied_foreground_is_the_linear_foreground_times_alpha_and_zero_where_alpha_is(job):
    rng = np.random.default_rng(1)
    plate = (rng.random((40, 60, 3)) * 6.0).astype(np.float32)            # HDR plate
    model_in = job.colour.to_model(plate)
    fgr = np.clip(model_in * 0.9 + 0.05, 0, 1).astype(np.float32)
    pha = np.zeros((40, 60), np.float32)
    pha[10:20, 25:31] = rng.random((10, 6))
    pha[33, 7] = 0.5                                                     # a stray pixel far from the rest
    rgba = job.premultiplied_foreground(plate, model_in, fgr, pha)
    expected = job.foreground_linear(plate, model_in, fgr) * pha[:, :, None]
    np.testing.assert_allclose(rgba[:, :, :3], expected, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(rgba[:, :, 3], pha)
    assert not rgba[pha == 0].any()


def test_premultiplied_foreground_of_an_empty_matte_is_zero(job):
    plate = np.full((8, 8, 3), 3.0, np.float32)
    rgba = job.premultiplied_foreground(plate, job.colour.to_model(plate), np.ones_like(plate), np.zeros((8, 8), np.float32))
    assert not rgba.any()


def test_plate_foreground_is_the_plate(job):
    job.options.foreground_source = "plate"
    plate = np.array([[[5.0, 0.5, 12.0]]], np.float32)
    np.testing.assert_allclose(job.foreground_linear(plate, job.colour.to_model(plate), np.zeros_like(plate)), plate)


def test_plate_mode_highlights_above_one_survive_in_the_exr(tmp_path, model):
    shot = make_exr_shot(tmp_path / "in", frames=range(1, 3))
    import OpenImageIO as oiio

    path = shot.replace("####", "0002")
    pixels = read(path)
    pixels *= 8.0                                       # a hot plate: most values above 1.0
    buf = oiio.ImageBuf(np.ascontiguousarray(pixels))
    assert buf.write(path, "half")
    run(RunOptions(input=shot, alpha=str(tmp_path / "a.####.exr"), foreground=str(tmp_path / "f.####.exr"),
                   foreground_source="plate", bit_depth="float", downsample_ratio=0.5, model=model))
    fgr = read(tmp_path / "f.0002.exr")
    alpha = fgr[..., 3]
    person = alpha > 0.99
    assert person.sum() > 100 and fgr[person][:, :3].max() > 1.5
    np.testing.assert_allclose(fgr[..., :3], pixels * alpha[..., None], rtol=2e-3, atol=2e-3)


@pytest.mark.skipif(JUGGLE is None, reason="juggle clip not found")
def test_movie_frames_are_numbered_from_one_or_start_frame(tmp_path, model):
    run(RunOptions(input=str(JUGGLE), alpha=str(tmp_path / "m.####.exr"), frames=(1001, 1003), start_frame=1001,
                   downsample_ratio=0.125, model=model))
    assert sorted(p.name for p in tmp_path.glob("m.*.exr")) == ["m.1001.exr", "m.1002.exr", "m.1003.exr"]
    alpha = read(tmp_path / "m.1002.exr")
    assert alpha.shape == (720, 1280, 1)
    assert alpha.max() > 0.9 and (alpha > 0.5).mean() < 0.5          # a person, not the whole frame
