"""Integer sRGB plates skip the round trip through linear light, with the same result."""
import numpy as np
import pytest

from rvmatte.engine import Job, RunOptions
from shots import make_exr_shot, make_png_shot


@pytest.fixture
def png_job(tmp_path):
    shot = make_png_shot(tmp_path / "in", count=2)
    return Job(RunOptions(input=shot, alpha=str(tmp_path / "a.####.png"), foreground=str(tmp_path / "f.####.png"),
                          foreground_source="model"))


def _frames(seed=0):
    rng = np.random.default_rng(seed)
    plate = np.round(rng.random((8, 12, 3), dtype=np.float32) * 255) / 255        # 8-bit values
    fgr = np.clip(plate + rng.normal(0, 0.1, plate.shape).astype(np.float32), 0, 1)
    return plate, fgr


def _full_formula(job, plate, model_in, fgr):
    colour = job.colour
    return colour.to_output(plate) + colour.model_to_output(fgr) - colour.model_to_output(model_in)


def test_integer_srgb_plates_take_the_shortcut(png_job, tmp_path):
    assert png_job._plate_is_model_input()
    exr_job = Job(RunOptions(input=make_exr_shot(tmp_path / "exr", frames=range(1, 3)),
                             alpha=str(tmp_path / "x.####.exr")))
    assert not exr_job._plate_is_model_input()


def test_shortcut_linear_foreground_equals_the_full_formula(png_job):
    plate, fgr = _frames()
    model_in = png_job.colour.to_model(plate)
    np.testing.assert_allclose(png_job.foreground_linear(plate, model_in, fgr),
                               _full_formula(png_job, plate, model_in, fgr), rtol=0, atol=1e-6)


def test_shortcut_display_foreground_equals_the_full_round_trip(png_job):
    plate, fgr = _frames(1)
    model_in = png_job.colour.to_model(plate)
    full = np.clip(png_job.colour.output_to_model(_full_formula(png_job, plate, model_in, fgr)), 0, 1)
    np.testing.assert_allclose(png_job.foreground_display(plate, model_in, fgr), full, rtol=0, atol=1e-5)


def test_untouched_pixels_keep_the_plate_exactly(png_job):
    plate, _ = _frames(2)
    model_in = png_job.colour.to_model(plate)
    np.testing.assert_array_equal(png_job.foreground_linear(plate, model_in, model_in.copy()),
                                  png_job.colour.to_output(plate))
