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


def _written_out_samples(pixels, alpha, top):
    """The reference: clip (NaN -> 0), colour cleared where alpha rounds to 0, round half up."""
    unit = np.minimum(np.nan_to_num(pixels, nan=0.0, posinf=1.0, neginf=0.0).clip(0.0, None), 1.0)
    if alpha >= 0:
        unit = unit * (unit[:, :, alpha:alpha + 1] >= np.float32(0.5 / top))
    return (unit * np.float32(top) + np.float32(0.5)).astype(np.uint8 if top == 255 else np.uint16)


def _frame_taller_than_a_band(channels):
    rng = np.random.default_rng(7)
    pixels = (rng.random((3000, 180, channels), dtype=np.float32) * 1.4 - 0.2)
    pixels[5, :4, 0] = (np.nan, np.inf, -np.inf, 1.0)
    pixels[-1, :3, -1] = (0.0, 0.4 / 255, 0.6 / 255)        # alpha below, at and above half a level
    return pixels


def test_png_samples_of_every_band_of_rows_equal_the_written_out_rule_at_8_and_16_bits(tmp_path):
    for channels, names, depth, top in ((4, list("RGBA"), "uint8", 255), (1, ["A"], "uint8", 255),
                                        (4, list("RGBA"), "uint16", 65535), (3, list("RGB"), "uint8", 255)):
        pixels = _frame_taller_than_a_band(channels)
        path = tmp_path / f"{channels}-{depth}.png"
        write_frame(str(path), pixels, names, bit_depth=depth)
        straight = oiio.ImageSpec()
        straight.attribute("oiio:UnassociatedAlpha", 1)        # the samples as stored, not premultiplied
        got = oiio.ImageBuf(str(path), 0, 0, straight).get_pixels(oiio.UINT8 if top == 255 else oiio.UINT16)
        alpha = channels - 1 if names[-1] == "A" and channels in (2, 4) else -1
        assert np.array_equal(got, _written_out_samples(pixels, alpha, top)), (channels, depth)


def test_png_samples_leave_the_caller_s_pixels_unchanged(tmp_path):
    pixels = _frame_taller_than_a_band(4)
    before = pixels.copy()
    write_frame(str(tmp_path / "f.png"), pixels, list("RGBA"))
    assert np.array_equal(pixels, before, equal_nan=True)


def test_colour_and_alpha_given_apart_make_the_png_of_their_rgba(tmp_path):
    pixels = _frame_taller_than_a_band(4)
    write_frame(str(tmp_path / "whole.png"), pixels, list("RGBA"))
    write_frame(str(tmp_path / "apart.png"), [pixels[:, :, :3], pixels[:, :, 3]], list("RGBA"))
    assert (tmp_path / "apart.png").read_bytes() == (tmp_path / "whole.png").read_bytes()


def test_pieces_are_joined_for_formats_other_than_png(tmp_path):
    pixels = _frame_taller_than_a_band(4)[:64]
    write_frame(str(tmp_path / "apart.exr"), [pixels[:, :, :3], pixels[:, :, 3:]], list("RGBA"), bit_depth="float")
    got = oiio.ImageBuf(str(tmp_path / "apart.exr")).get_pixels(oiio.FLOAT)
    assert np.array_equal(got, pixels, equal_nan=True)


def test_pieces_of_other_sizes_or_channel_counts_are_refused(tmp_path):
    import pytest

    colour = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(ValueError, match="do not match"):
        write_frame(str(tmp_path / "a.png"), [colour, np.zeros((4, 6), np.float32)], list("RGBA"))
    with pytest.raises(ValueError, match="do not match"):
        write_frame(str(tmp_path / "b.png"), [colour, colour], list("RGBA"))
