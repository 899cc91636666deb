"""Compare the pixel data of two output folders image by image (byte-identity check between two builds).

Usage: python bench/compare_outputs.py FOLDER_A FOLDER_B — prints one line per file and exits 1 on any difference.
"""
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio


def pixels(path: Path) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    return buf.get_pixels(buf.spec().format)


def main(a: str, b: str) -> int:
    names = sorted(p.name for p in Path(a).iterdir() if p.suffix.lower() in (".png", ".exr"))
    if not names:
        print("no images in", a)
        return 1
    bad = 0
    for name in names:
        x, y = pixels(Path(a) / name), pixels(Path(b) / name)
        same = x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
        bad += not same
        print(f"{name}: {'identical' if same else 'DIFFERENT'}")
    print(f"{len(names) - bad}/{len(names)} identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
