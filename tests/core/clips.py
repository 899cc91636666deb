"""Small clips made from ../shared/data for tests (written under a temporary folder)."""
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

DEV02 = "synthetic/dev02_p3m-514ca06a_on_bgm1-bg0002_512x288"


def read_image(path) -> np.ndarray:
    """Pixels as stored (an RGBA PNG's colour is not premultiplied on the way in)."""
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    buf = oiio.ImageBuf(str(path), 0, 0, config)
    return buf.get_pixels(oiio.FLOAT).reshape(buf.spec().height, buf.spec().width, buf.spec().nchannels)


def resized(path, width: int, height: int) -> np.ndarray:
    out = oiio.ImageBufAlgo.resize(oiio.ImageBuf(str(path)), roi=oiio.ROI(0, width, 0, height, 0, 1, 0, 3))
    return out.get_pixels(oiio.FLOAT).reshape(height, width, -1)


def write_png(path, pixels: np.ndarray) -> None:
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], oiio.UINT8)
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(), pixels)
    assert buf.write(str(path)), oiio.geterror()


def small_clip(data_dir: Path, folder: Path, frames: int = 8, width: int = 256, height: int = 144,
               first: int = 0) -> Path:
    """The first ``frames`` frames of dev02, resized, as ``folder/NNNN.png`` numbered from ``first``
    (8-bit, so they are exactly what the matting reads back)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        write_png(folder / f"{first + i:04d}.png", resized(data_dir / DEV02 / "com" / f"{i:04d}.png", width, height))
    return folder


def ground_truth_alpha(data_dir: Path, index: int, width: int, height: int) -> np.ndarray:
    return resized(data_dir / DEV02 / "pha" / f"{index:04d}.png", width, height)[..., 0]
