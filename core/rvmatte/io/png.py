"""PNG encoding for review frames: the PNG format as libpng writes it, compressed by libdeflate.

zlib at level 6 (Pillow's and libpng's default) spent about 1 CPU-second on a 1080p
RGBA foreground whose colour covers the frame, and a quarter of that with the colour
cleared where alpha is 0: either way most of a frame's CPU time on two cores.
libdeflate at the same level writes files of the same size (within 1 %) in a third
of the time (bench/png_encoding.py, docs/performance.md). Each row is filtered
with Paeth, the filter that compresses photographic content best; the filter is
vectorised over the whole image, as PNG filters predict from unfiltered neighbours.
"""

from __future__ import annotations

import struct
import zlib

import deflate
import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZLIB_LEVEL = 6
_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}   # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_PAETH = 4
_SRGB_GAMMA = 45455                        # gAMA that goes with an sRGB chunk (1/2.2 × 100000)
_SRGB_CHROMATICITIES = (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
_PHYS_SCALE = 100000                       # pixels per unit in pHYs for a non-square pixel aspect


def encode_png(samples: np.ndarray, *, pixel_aspect: float = 1.0, srgb: bool = True,
               text: dict | None = None, level: int = ZLIB_LEVEL) -> bytes:
    """PNG bytes for ``samples``: (H, W, C) uint8 or uint16, C = 1 (grey), 2 (grey + alpha),
    3 (RGB) or 4 (RGBA), alpha straight as PNG defines it. ``srgb`` tags the file as sRGB
    (sRGB, gAMA and cHRM chunks, as libpng writes them); ``pixel_aspect`` other than 1
    goes into pHYs; ``text`` (keyword -> value, Latin-1) into tEXt chunks."""
    if samples.ndim != 3 or samples.shape[2] not in _COLOUR_TYPES:
        raise ValueError(f"PNG samples must be (height, width, 1-4), not {samples.shape}")
    if samples.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG samples must be uint8 or uint16, not {samples.dtype}")
    height, width, channels = samples.shape
    depth = samples.dtype.itemsize * 8
    rows = np.ascontiguousarray(samples, dtype=samples.dtype.newbyteorder(">")).view(np.uint8)
    rows = rows.reshape(height, width * channels * samples.dtype.itemsize)
    filtered = np.empty((height, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = _PAETH
    filtered[:, 1:] = paeth_residuals(rows, channels * samples.dtype.itemsize)

    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPES[channels], 0, 0, 0))]
    if srgb:
        chunks += [_chunk(b"sRGB", b"\x00"), _chunk(b"gAMA", struct.pack(">I", _SRGB_GAMMA)),
                   _chunk(b"cHRM", struct.pack(">8I", *_SRGB_CHROMATICITIES))]
    if pixel_aspect and abs(pixel_aspect - 1.0) > 1e-6:
        # pHYs holds pixels per unit along x and y; a pixel's width / height is y / x.
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", _PHYS_SCALE, round(_PHYS_SCALE * pixel_aspect), 0)))
    for keyword, value in (text or {}).items():
        chunks.append(_chunk(b"tEXt", keyword.encode("latin-1", "replace")[:79] + b"\0"
                             + value.encode("latin-1", "replace")))
    chunks += [_chunk(b"IDAT", deflate.zlib_compress(filtered, level)), _chunk(b"IEND", b"")]
    return SIGNATURE + b"".join(chunks)


def paeth_residuals(rows: np.ndarray, bpp: int, band: int = 16) -> np.ndarray:
    """Paeth-filtered bytes of ``rows`` (H, N) uint8, ``bpp`` bytes per pixel (PNG spec, 9.4):
    each byte minus the neighbour (left a, up b or up-left c) nearest to a + b - c, ties to a, then b.
    Worked in bands of rows so the int16 temporaries stay a few MB, not a few frames."""
    height, width = rows.shape
    out = np.empty_like(rows)
    padded = np.zeros((band + 1, width + bpp), np.int16)   # the row above the band, bpp zero bytes to the left
    for top in range(0, height, band):
        count = min(band, height - top)
        padded[0, bpp:] = rows[top - 1] if top else 0
        padded[1:count + 1, bpp:] = rows[top:top + count]
        a, b, c = padded[1:count + 1, :-bpp], padded[:count, bpp:], padded[:count, :-bpp]
        dist_a = b - c                                      # |p - a| with p = a + b - c
        dist_b = a - c                                      # |p - b|
        dist_c = dist_a + dist_b                            # |p - c|
        np.abs(dist_a, out=dist_a)
        np.abs(dist_b, out=dist_b)
        np.abs(dist_c, out=dist_c)
        predictor = np.where(dist_b <= dist_c, b, c)
        np.copyto(predictor, a, where=(dist_a <= dist_b) & (dist_a <= dist_c))
        np.subtract(rows[top:top + count], predictor, out=out[top:top + count], casting="unsafe")
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
