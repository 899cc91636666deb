"""The default ``edge`` foreground: the plate exactly where the subject is solid, the network's
decontaminated colour in the soft edge band, a continuous hand-over between them."""
import numpy as np
import pytest

from rvmatte.cli import build_parser, _options_from
from rvmatte.engine import Job, RunOptions, run
from rvmatte.foreground import EDGE_BAND_HIGH, EDGE_BAND_LOW, blend_edge, edge_weight
from shots import make_exr_shot, make_png_shot, read, spec_of


def exr_job(tmp_path, source):
    shot = make_exr_shot(tmp_path / f"in_{source}", frames=range(1, 3))
    return Job(RunOptions(input=shot, alpha=str(tmp_path / f"{source}.a.####.exr"),
                          foreground=str(tmp_path / f"{source}.f.####.exr"), foreground_source=source))


def hdr_frame(seed=0, shape=(16, 24)):
    """A scene-linear plate with highlights far above 1.0, and a network output that changes every pixel."""
    rng = np.random.default_rng(seed)
    plate = (rng.random(shape + (3,)) * 8.0).astype(np.float32)
    plate[0, 0] = (40.0, 12.5, 3.0)
    return plate


def changed_fgr(job, plate):
    model_in = job.colour.to_model(plate)
    return model_in, np.clip(model_in * 0.8 + 0.1, 0, 1).astype(np.float32)


def test_the_default_foreground_source_is_edge():
    assert RunOptions(input="x").foreground_source == "edge"
    assert _options_from(build_parser().parse_args(["run", "x.####.exr", "--alpha", "a.####.exr"])).foreground_source \
        == "edge"


def test_the_word_edge_as_the_foreground_pattern_sets_the_source():
    args = build_parser().parse_args(["run", "x.####.exr", "--alpha", "a.####.exr", "--foreground", "edge"])
    assert _options_from(args).foreground_source == "edge"


def test_inside_a_solid_subject_the_foreground_is_the_hdr_plate_exactly(tmp_path):
    job = exr_job(tmp_path, "edge")
    plate = hdr_frame()
    model_in, fgr = changed_fgr(job, plate)
    pha = np.full(plate.shape[:2], EDGE_BAND_HIGH, np.float32)
    pha[4:, 5:] = 1.0
    linear = job.foreground_linear(plate, model_in, fgr, pha)
    assert plate.max() > 1.0
    np.testing.assert_array_equal(linear, job.colour.to_output(plate))
    rgba = job.premultiplied_foreground(plate, model_in, fgr, pha)
    np.testing.assert_array_equal(rgba[:, :, :3], job.colour.to_output(plate) * pha[:, :, None])


def test_soft_edge_pixels_get_the_models_colour(tmp_path):
    edge, model = exr_job(tmp_path, "edge"), exr_job(tmp_path, "model")
    plate = hdr_frame(1)
    model_in, fgr = changed_fgr(edge, plate)
    pha = np.linspace(0.0, EDGE_BAND_LOW, plate.shape[0] * plate.shape[1], dtype=np.float32).reshape(plate.shape[:2])
    expected = model.foreground_linear(plate, model_in, fgr)
    np.testing.assert_array_equal(edge.foreground_linear(plate, model_in, fgr, pha), expected)
    assert np.abs(expected - edge.colour.to_output(plate)).min() > 0       # the model really changed them


def test_the_hand_over_is_continuous_and_between_plate_and_model(tmp_path):
    edge, model = exr_job(tmp_path, "edge"), exr_job(tmp_path, "model")
    pha = np.linspace(0.0, 1.0, 2001, dtype=np.float32)[None, :]
    plate = np.tile(np.array([[[6.0, 0.3, 0.05]]], np.float32), (1, pha.shape[1], 1))
    model_in, fgr = changed_fgr(edge, plate)
    out = edge.foreground_linear(plate, model_in, fgr, pha)[0]
    lo, hi = model.foreground_linear(plate, model_in, fgr)[0], edge.colour.to_output(plate)[0]
    span = np.abs(hi - lo).max()
    assert np.abs(np.diff(out, axis=0)).max() < 0.01 * span                # no jump anywhere along alpha
    assert (out >= np.minimum(lo, hi) - 1e-6).all() and (out <= np.maximum(lo, hi) + 1e-6).all()


def test_the_band_weight_is_one_below_zero_above_and_smooth_between():
    a = np.array([0.0, EDGE_BAND_LOW, (EDGE_BAND_LOW + EDGE_BAND_HIGH) / 2, EDGE_BAND_HIGH, 1.0], np.float32)
    w = edge_weight(a)
    assert w[0] == w[1] == 1.0 and w[3] == w[4] == 0.0
    assert w[2] == pytest.approx(0.5, abs=1e-6)


def test_the_blend_equals_the_per_pixel_formula_bit_for_bit():
    # The dense computation over the band's box must give exactly plate + w * (model - plate) on
    # band pixels and leave every other pixel alone: HDR, NaN in the model where solid, alphas on
    # the thresholds and one float32 step either side of them, band pixels at the frame's corners.
    rng = np.random.default_rng(3)
    shape = (37, 53)
    plate = (rng.random(shape + (3,)) * 6.0).astype(np.float32)
    model = (rng.random(shape + (3,)) * 6.0).astype(np.float32)
    pha = rng.random(shape).astype(np.float32)
    high, low = np.float32(EDGE_BAND_HIGH), np.float32(EDGE_BAND_LOW)
    pha.flat[:6] = [high, np.nextafter(high, 0), np.nextafter(high, 2), low, np.nextafter(low, 0), 1.0]
    pha[-1, -1], pha[0, -1] = 0.0, 0.2
    model[pha >= high] = np.nan
    w = edge_weight(pha)
    band = w > 0
    expected = plate.copy()
    expected[band] = plate[band] + (model[band] - plate[band]) * w[band][:, None]
    got = blend_edge(plate.copy(), model.copy(), pha)
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))


def test_a_frame_without_a_soft_pixel_is_left_as_it_is():
    plate = np.full((4, 5, 3), 2.5, np.float32)
    assert np.array_equal(blend_edge(plate.copy(), np.zeros_like(plate), np.ones((4, 5), np.float32)), plate)


def test_model_and_plate_sources_ignore_the_band(tmp_path):
    plate = hdr_frame(2)
    pha = np.full(plate.shape[:2], 1.0, np.float32)
    model = exr_job(tmp_path, "model")
    model_in, fgr = changed_fgr(model, plate)
    np.testing.assert_array_equal(model.foreground_linear(plate, model_in, fgr, pha),
                                  model.foreground_linear(plate, model_in, fgr))
    assert np.abs(model.foreground_linear(plate, model_in, fgr) - model.colour.to_output(plate)).max() > 0.01
    source = exr_job(tmp_path, "plate")
    np.testing.assert_array_equal(source.foreground_linear(plate, model_in, fgr, pha * 0),
                                  source.colour.to_output(plate))


def test_integer_plates_keep_their_values_where_solid_in_review_images(tmp_path):
    shot = make_png_shot(tmp_path / "in", count=2)
    job = Job(RunOptions(input=shot, alpha=str(tmp_path / "a.####.png"), foreground=str(tmp_path / "f.####.png")))
    rng = np.random.default_rng(3)
    plate = np.round(rng.random((8, 12, 3)) * 255).astype(np.float32) / 255
    fgr = np.clip(plate + 0.1, 0, 1).astype(np.float32)
    pha = np.zeros((8, 12), np.float32)
    pha[:4] = 1.0
    display = job.foreground_display(plate, plate, fgr, pha)
    np.testing.assert_array_equal(display[:4], plate[:4])
    np.testing.assert_array_equal(display[4:], fgr[4:])
    linear = job.foreground_linear(plate, plate, fgr, pha)
    np.testing.assert_array_equal(linear[:4], job.colour.to_output(plate[:4]))


def test_an_edge_run_writes_the_hot_plate_where_solid_and_records_the_band(tmp_path, model):
    import OpenImageIO as oiio

    shot = make_exr_shot(tmp_path / "in", frames=range(1, 3))
    path = shot.replace("####", "0002")
    pixels = read(path) * 8.0                                # a hot plate: most values above 1.0
    assert oiio.ImageBuf(np.ascontiguousarray(pixels)).write(path, "float")
    run(RunOptions(input=shot, alpha=str(tmp_path / "a.####.exr"), foreground=str(tmp_path / "f.####.exr"),
                   bit_depth="float", downsample_ratio=0.5, model=model))
    fgr = read(tmp_path / "f.0002.exr")
    alpha = fgr[..., 3]
    solid = alpha >= EDGE_BAND_HIGH
    assert solid.sum() > 100 and fgr[solid][:, :3].max() > 1.5
    np.testing.assert_array_equal(fgr[solid][:, :3], (pixels[..., :3] * alpha[..., None])[solid])
    spec = spec_of(tmp_path / "f.0002.exr")
    assert spec.get_string_attribute("rvmatte/foreground_source") == "edge"
    assert spec.get_float_attribute("rvmatte/foreground_band_low") == pytest.approx(EDGE_BAND_LOW)
    assert spec.get_float_attribute("rvmatte/foreground_band_high") == pytest.approx(EDGE_BAND_HIGH)


def test_the_edge_band_is_part_of_the_result_key_and_the_other_sources_keys_are_unchanged():
    from rvmatte.result_key import result_fields

    resolved = dict(width=64, height=36, pixel_aspect=1.0, input_colorspace="sRGB", output_colorspace="lin",
                    weights_sha256="ab", downsample_ratio=0.5)
    assert result_fields(RunOptions(input="x"), **resolved)["foreground_band"] == [EDGE_BAND_LOW, EDGE_BAND_HIGH]
    assert "foreground_band" not in result_fields(RunOptions(input="x", foreground_source="model"), **resolved)
