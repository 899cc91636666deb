"""Small real shots for engine tests, written with OpenImageIO under a temp dir.

The pixels come from the dev02 composite in ../shared/data (a person over an office),
downscaled so a CPU run takes a fraction of a second per frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from paths import DATA

DEV02 = DATA / "synthetic" / "dev02_p3m-514ca06a_on_bgm1-bg0002_512x288"
JUGGLE = next((DATA / "real_video" / "sam2_juggle_1280x720").glob("*.mp4"), None) if DATA.is_dir() else None
SIZE = (256, 144)


def composite_frame(index: int, size=SIZE) -> np.ndarray:
    """Frame ``index`` of dev02 as sRGB-encoded float32 (H, W, 3), resized to ``size``."""
    buf = oiio.ImageBuf(str(DEV02 / "com" / f"{index:04d}.png"))
    roi = oiio.ROI(0, size[0], 0, size[1], 0, 1, 0, 3)
    small = oiio.ImageBufAlgo.resize(buf, roi=roi)
    return np.ascontiguousarray(small.get_pixels(oiio.FLOAT)[:, :, :3])


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def write_exr(path: Path, rgb: np.ndarray, *, data_window=None, attributes=None, pixel_aspect=1.0,
              channels=("R", "G", "B")) -> None:
    height, width = rgb.shape[:2]
    spec = oiio.ImageSpec(width, height, len(channels), oiio.HALF)
    spec.channelnames = tuple(channels)
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, width, height
    pixels = rgb
    if data_window is not None:
        x, y, w, h = data_window
        spec.x, spec.y, spec.width, spec.height = x, y, w, h
        pixels = rgb[y:y + h, x:x + w]
    spec.attribute("PixelAspectRatio", float(pixel_aspect))
    spec.attribute("compression", "zip")
    for name, value in (attributes or {}).items():
        if isinstance(value, tuple):          # (oiio type, value)
            spec.attribute(name, *value)
        else:
            spec.attribute(name, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    out.close()


def make_exr_shot(directory: Path, frames=range(1001, 1007), *, name="plate", **kwargs) -> str:
    """Linear EXRs ``name.####.exr`` from consecutive dev02 frames; returns the #### pattern."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        write_exr(directory / f"{name}.{frame:04d}.exr", srgb_to_linear(composite_frame(i)), **kwargs)
    return str(directory / f"{name}.####.exr")


def make_png_shot(directory: Path, count=4, *, name="plate", first=1) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        buf = oiio.ImageBuf(np.ascontiguousarray(composite_frame(i)))
        assert buf.write(str(directory / f"{name}.{first + i:04d}.png"), "uint8"), buf.geterror()
    return str(directory / f"{name}.####.png")


def read(path) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    pixels = buf.get_pixels(oiio.FLOAT)
    assert not buf.has_error, buf.geterror()
    return pixels


def spec_of(path) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    inp.close()
    return spec
