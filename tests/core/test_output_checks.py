"""The network's output is checked before it is written: NaN/inf is an error naming the frame,
HDR beyond the half-float range is clamped with a warning (or kept with --float)."""
import copy

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from rvmatte.engine import RunOptions, run
from rvmatte.errors import RvmatteError
from rvmatte.progress import Reporter
from shots import composite_frame, make_png_shot, read, srgb_to_linear


class Warnings(Reporter):
    def __init__(self):
        self.messages = []

    def warning(self, message, frame=None):
        self.messages.append(message)


@pytest.fixture(scope="module")
def broken_model(model):
    """The test weights with one bias of the matting head set to NaN (a damaged checkpoint)."""
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.project_mat.conv.bias[3] = float("nan")
    return broken


def test_nan_alpha_from_the_network_is_an_error_naming_the_frame_and_nothing_is_written(tmp_path, broken_model):
    shot = make_png_shot(tmp_path / "in", count=2)
    out = tmp_path / "out"
    with pytest.raises(RvmatteError, match=r"frame 1: the network's alpha has \d+ NaN/inf"):
        run(RunOptions(shot, alpha=str(out / "a.####.exr"), model=broken_model, downsample_ratio=0.5),
            Warnings())
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]


def write_float_exr(path, rgb):
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb))
    assert buf.write(str(path), "float"), buf.geterror()


def hot_plate(tmp_path, model):
    """A one-frame linear EXR whose pixels under a solid matte are 100000 (above half range);
    returns the pattern and how many colour values exceed 65504 once premultiplied."""
    linear = srgb_to_linear(composite_frame(0))
    directory = tmp_path / "in"
    directory.mkdir()
    write_float_exr(directory / "plate.1001.exr", linear)
    clean = tmp_path / "clean"
    run(RunOptions(str(directory / "plate.####.exr"), alpha=str(clean / "a.####.exr"), model=model,
                   downsample_ratio=0.5), Warnings())
    alpha = read(clean / "a.1001.exr")[:, :, 0]
    hot = np.argwhere(alpha > 0.999)[:20]
    assert len(hot) == 20
    for y, x in hot:
        linear[y, x] = 100000.0
    write_float_exr(directory / "plate.1001.exr", linear)
    return str(directory / "plate.####.exr")


def test_plate_values_beyond_half_range_are_clamped_with_a_warning_naming_frame_and_count(tmp_path, model):
    shot = hot_plate(tmp_path, model)
    warnings = Warnings()
    run(RunOptions(shot, foreground=str(tmp_path / "o" / "f.####.exr"), foreground_source="plate", model=model,
                   downsample_ratio=0.5), warnings)
    fgr = read(tmp_path / "o" / "f.1001.exr")
    assert np.isfinite(fgr).all()
    assert fgr[:, :, :3].max() == 65504.0
    clamped = [m for m in warnings.messages if "half-float range" in m]
    assert len(clamped) == 1 and clamped[0].startswith("frame 1001: ")
    count = int(clamped[0].split()[2])
    assert count == int((fgr[:, :, :3] == 65504.0).sum()) and count >= 3


def test_float_foreground_keeps_values_beyond_half_range(tmp_path, model):
    shot = hot_plate(tmp_path, model)
    warnings = Warnings()
    run(RunOptions(shot, foreground=str(tmp_path / "o" / "f.####.exr"), foreground_source="plate", model=model,
                   downsample_ratio=0.5, bit_depth="float"), warnings)
    fgr = read(tmp_path / "o" / "f.1001.exr")
    assert fgr[:, :, :3].max() > 65504.0
    assert not [m for m in warnings.messages if "half-float range" in m]
