"""A tiny shot for the fine-tune tests: 8 frames of dev02 at 128x72 (PNG) and its true alpha."""
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from shots import DEV02

SMALL = (128, 72)


def _resized(path: Path, channels: int) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, SMALL[0], 0, SMALL[1], 0, 1, 0, buf.nchannels))
    return np.ascontiguousarray(small.get_pixels(oiio.FLOAT)[:, :, :channels])


def write_png(path: Path, pixels: np.ndarray, channels=None) -> None:
    pixels = np.atleast_3d(pixels)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], oiio.UINT8)
    if channels:
        spec.channelnames = tuple(channels)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()
