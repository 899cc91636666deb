"""PNG encoders on a 1080p review foreground: CPU time and file size (docs/performance.md).

    PYTHONPATH=core .venv/bin/python bench/png_encoding.py

The frame is the first of the synthetic clip in ../shared/data, upscaled to 1920x1080,
as straight RGBA with its ground-truth alpha: once with the plate's colour everywhere
(the network's foreground colour is the plate's away from the subject) and once with
colour 0 where alpha is 0 (what rvmatte writes). Each encoder runs 5 times; the median CPU time is shown.
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from rvmatte.io.png import encode_png  # noqa: E402

SHARED = Path(os.environ.get("RVMATTE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CLIP = SHARED / "data" / "synthetic" / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720"


def _frame(folder: str, channels: int) -> np.ndarray:
    path = sorted((CLIP / folder).glob("*.png"))[0]
    buf = oiio.ImageBufAlgo.resample(oiio.ImageBuf(str(path)), interpolate=True,
                                     roi=oiio.ROI(0, 1920, 0, 1080, 0, 1, 0, channels))
    return buf.get_pixels(oiio.UINT8)


def _libpng(rgba: np.ndarray, adaptive: bool) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.png")
        spec = oiio.ImageSpec(rgba.shape[1], rgba.shape[0], rgba.shape[2], oiio.UINT8)
        spec.attribute("png:compressionLevel", 6)
        if not adaptive:
            spec.attribute("png:filter", 0x80)    # Paeth only
        out = oiio.ImageOutput.create(path)
        out.open(path, spec)
        out.write_image(rgba)
        out.close()
        return Path(path).read_bytes()


def _pillow(rgba: np.ndarray) -> bytes:
    from PIL import Image

    stream = io.BytesIO()
    Image.fromarray(rgba).save(stream, format="PNG")
    return stream.getvalue()


def main() -> int:
    rgb = _frame("com", 3)
    alpha = _frame("pha", 1)
    everywhere = np.ascontiguousarray(np.concatenate([rgb, alpha], axis=2))
    cleared = everywhere * (alpha > 0)
    encoders = {
        "libpng zlib 6, adaptive filter (OpenImageIO default)": lambda a: _libpng(a, True),
        "libpng zlib 6, Paeth": lambda a: _libpng(a, False),
        "Pillow default (zlib 6)": _pillow,
        "rvmatte: Paeth + libdeflate 6": encode_png,
    }
    print(f"| encoder | colour everywhere: CPU ms / MB | colour 0 where alpha is 0: CPU ms / MB |")
    print("| --- | --- | --- |")
    for name, encode in encoders.items():
        cells = []
        for image in (everywhere, cleared):
            times = []
            for _ in range(5):
                start = time.process_time()
                data = encode(image)
                times.append(time.process_time() - start)
            cells.append(f"{statistics.median(times) * 1000:.0f} / {len(data) / 1e6:.2f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
