"""PNG review images: Pillow's zlib level with one cheap filter, and non-finite values made safe."""
import struct
import zlib

import numpy as np
import OpenImageIO as oiio

from rvmatte.io import write_frame

PAETH = 4


def _png_stream(path):
    """(zlib header bytes, decompressed filtered rows) of a PNG file."""
    data = path.read_bytes()
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return idat[:2], zlib.decompress(idat)


def test_png_uses_zlib_default_level_like_pillow(tmp_path):
    path = tmp_path / "f.png"
    write_frame(str(path), np.random.default_rng(0).random((16, 24, 4), dtype=np.float32), list("RGBA"))
    header, _ = _png_stream(path)
    assert header[1] >> 6 == 2     # FLEVEL 2: the zlib header's mark of the default level 6


def test_png_rows_all_use_the_paeth_filter(tmp_path):
    path = tmp_path / "f.png"
    width, height = 24, 16
    write_frame(str(path), np.random.default_rng(0).random((height, width, 4), dtype=np.float32), list("RGBA"))
    _, rows = _png_stream(path)
    stride = 1 + width * 4
    assert len(rows) == stride * height
    assert {rows[y * stride] for y in range(height)} == {PAETH}


def test_png_turns_nan_into_black_and_infinities_into_the_nearest_limit(tmp_path):
    path = tmp_path / "a.png"
    pixels = np.array([[[np.nan], [np.inf], [-np.inf], [0.5]]], np.float32)
    write_frame(str(path), pixels, ["Y"])
    values = oiio.ImageBuf(str(path)).get_pixels(oiio.UINT8).ravel()
    assert values.tolist() == [0, 255, 0, 128]
