"""Tiny shots for the fine-tune tests: 8 frames of dev02 at 128x72 (PNG) and their true alpha;
one with a planted "held object" the base network gets wrong."""
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from shots import DEV02

SMALL = (128, 72)


def _resized(path: Path, channels: int, size=SMALL) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, size[0], 0, size[1], 0, 1, 0, buf.nchannels))
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


def held_object(frame_index: int, size=SMALL) -> np.ndarray:
    """Where the planted "held object" is in frame ``frame_index``: a bar by the man's shoulder
    that drifts a pixel a frame (bool HxW)."""
    width, height = size
    mask = np.zeros((height, width), bool)
    x0 = int(0.18 * width) + frame_index
    y0 = int(0.45 * height)
    mask[y0:y0 + int(0.3 * height), x0:x0 + int(0.12 * width)] = True
    return mask


OBJECT_COLOUR = (0.95, 0.1, 0.85)


def write_held_object_shot(folder: Path, frames: int = 8, size=SMALL):
    """dev02 with a magenta bar the man "holds" (the base network does not matte it as him):
    ``plate.####.png`` and the truth ``{frame: alpha}`` where the bar is foreground (alpha 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(frames):
        rgb = _resized(DEV02 / "com" / f"{i:04d}.png", 3, size)
        alpha = np.round(_resized(DEV02 / "pha" / f"{i:04d}.png", 1, size)[:, :, 0] * 255) / 255
        bar = held_object(i, size)
        rgb[bar] = OBJECT_COLOUR
        alpha = np.where(bar, 1.0, alpha).astype(np.float32)
        write_png(folder / f"plate.{i + 1:04d}.png", rgb)
        truth[i + 1] = alpha
    return str(folder / "plate.####.png"), truth
