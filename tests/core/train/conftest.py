"""The tiny shot of tiny_shot.py as a fixture; gradients on for every training test."""
import numpy as np
import pytest
import torch

from shots import DEV02
from tiny_shot import _resized, write_png


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """(shot pattern, {frame: true alpha}) — frames 1..8."""
    folder = tmp_path_factory.mktemp("tiny_shot")
    truth = {}
    for i in range(8):
        write_png(folder / f"plate.{i + 1:04d}.png", _resized(DEV02 / "com" / f"{i:04d}.png", 3))
        alpha = _resized(DEV02 / "pha" / f"{i:04d}.png", 1)[:, :, 0]
        truth[i + 1] = np.round(alpha * 255) / 255
    return str(folder / "plate.####.png"), truth


@pytest.fixture(autouse=True)
def _gradients_on():
    """Training needs autograd, whatever another test file did to the global grad mode."""
    with torch.enable_grad():
        yield
