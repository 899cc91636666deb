"""Folders of ``0000.png`` … as the original RVM reads and writes them, made from dev02 (see shots)."""
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from shots import DEV02, SIZE, composite_frame


def read_image(path) -> np.ndarray:
    """Pixels as stored (an RGBA PNG's colour is not premultiplied on the way in)."""
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    buf = oiio.ImageBuf(str(path), 0, 0, config)
    spec = buf.spec()
    return buf.get_pixels(oiio.FLOAT).reshape(spec.height, spec.width, spec.nchannels)


def small_clip(folder: Path, frames: int = 8, size=SIZE) -> Path:
    """The first ``frames`` frames of dev02 at ``size`` as 8-bit ``folder/NNNN.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        buf = oiio.ImageBuf(np.ascontiguousarray(composite_frame(i, size)))
        assert buf.write(str(folder / f"{i:04d}.png"), "uint8"), buf.geterror()
    return folder


def ground_truth_alpha(index: int, size=SIZE) -> np.ndarray:
    buf = oiio.ImageBuf(str(DEV02 / "pha" / f"{index:04d}.png"))
    small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, size[0], 0, size[1], 0, 1, 0, 1))
    return small.get_pixels(oiio.FLOAT).reshape(size[1], size[0])
