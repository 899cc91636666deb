"""Downsample ratios that would give the network 0 pixels on a side are raised to keep one;
`rvmatte info` shows the network size that will be used."""
import json

import numpy as np
import OpenImageIO as oiio
import pytest
import torch
import torch.nn.functional as F

from rvmatte.cli import main
from rvmatte.engine import RunOptions, run
from rvmatte.progress import Reporter
from rvmatte.session import Session, network_size, usable_ratio


class Warnings(Reporter):
    def __init__(self):
        self.messages = []

    def warning(self, message, frame=None):
        self.messages.append(message)


def strip(directory, width, height):
    directory.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(1).random((height, width, 3)).astype(np.float32)
    buf = oiio.ImageBuf(pixels)
    assert buf.write(str(directory / "strip.0001.png"), "uint8"), buf.geterror()
    return str(directory / "strip.####.png")


@pytest.mark.parametrize("height,width,ratio", [(16, 10000, 512 / 10000), (16, 64, 0.001), (7, 7, 0.01),
                                                (3, 1000, 0.2)])
def test_a_ratio_giving_zero_rows_is_raised_to_one_network_pixel_per_side(height, width, ratio):
    used = usable_ratio(ratio, height, width)
    assert used > ratio
    assert min(network_size(height, width, used)) == 1
    shrunk = F.interpolate(torch.zeros(1, 1, height, width), scale_factor=used, mode="bilinear",
                           align_corners=False, recompute_scale_factor=False)
    assert tuple(shrunk.shape[-2:]) == network_size(height, width, used)


def test_a_ratio_that_keeps_pixels_is_unchanged():
    assert usable_ratio(0.25, 1080, 1920) == 0.25
    assert network_size(1080, 1920, 0.25) == (270, 480)


def test_a_10000x16_plate_runs_at_the_auto_ratio_with_a_warning(tmp_path, model):
    shot = strip(tmp_path / "in", 10000, 16)
    warnings = Warnings()
    run(RunOptions(shot, alpha=str(tmp_path / "out" / "a.####.exr"), model=model), warnings)
    alpha = oiio.ImageBuf(str(tmp_path / "out" / "a.0001.exr")).get_pixels(oiio.FLOAT)
    assert alpha.shape[:2] == (16, 10000) and np.isfinite(alpha).all()
    assert any("gives the network 512x0 pixels" in m and "(625x1)" in m for m in warnings.messages), \
        warnings.messages


def test_a_tiny_explicit_ratio_runs_with_a_warning(tmp_path, model):
    shot = strip(tmp_path / "in", 64, 16)
    warnings = Warnings()
    run(RunOptions(shot, alpha=str(tmp_path / "out" / "a.####.exr"), model=model, downsample_ratio=0.001), warnings)
    assert any("downsample ratio 0.001" in m and "(4x1)" in m for m in warnings.messages), warnings.messages


def test_session_reports_the_raised_ratio(model):
    session = Session(model, downsample_ratio=0.001)
    assert session.ratio_for(16, 64) == 1 / 16
    assert "using 0.0625 (4x1)" in session.ratio_note(16, 64)
    assert session.ratio_for(1080, 1920) == 0.001 and session.ratio_note(1080, 1920) is None


def test_info_shows_the_network_size_that_will_be_used(tmp_path, capsys):
    shot = strip(tmp_path / "in", 10000, 16)
    assert main(["info", shot, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["network_size"] == [625, 1]
    assert report["downsample_ratio"] == 1 / 16
