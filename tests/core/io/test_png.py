"""The PNG encoder: files every reader takes, pixel-exact, Paeth-filtered, as small as libpng's."""
import numpy as np
import OpenImageIO as oiio
import pytest

from paths import SHARED
from rvmatte.io.png import encode_png, paeth_residuals


def _read(path, **attributes):
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    inp = oiio.ImageInput.open(str(path), config)
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.UNKNOWN)
    inp.close()
    return pixels.reshape(spec.height, spec.width, spec.nchannels), spec


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_every_channel_count_and_depth_reads_back_exactly(tmp_path, channels, dtype):
    samples = np.random.default_rng(channels).integers(0, np.iinfo(dtype).max + 1, (7, 13, channels), dtype=dtype)
    path = tmp_path / "x.png"
    path.write_bytes(encode_png(samples))
    pixels, spec = _read(path)
    assert spec.format == (oiio.UINT8 if dtype == np.uint8 else oiio.UINT16)
    np.testing.assert_array_equal(pixels, samples)


def _paeth_by_the_spec(rows, bpp):
    out = np.zeros_like(rows)
    for y in range(rows.shape[0]):
        for x in range(rows.shape[1]):
            a = int(rows[y, x - bpp]) if x >= bpp else 0
            b = int(rows[y - 1, x]) if y else 0
            c = int(rows[y - 1, x - bpp]) if x >= bpp and y else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
            out[y, x] = (int(rows[y, x]) - predictor) % 256
    return out


@pytest.mark.parametrize("bpp", [1, 3, 8])
def test_paeth_residuals_follow_the_png_specification(bpp):
    rows = np.random.default_rng(bpp).integers(0, 256, (6, 4 * bpp), dtype=np.uint8)
    rows[2] = rows[1]            # ties between neighbours
    np.testing.assert_array_equal(paeth_residuals(rows, bpp), _paeth_by_the_spec(rows, bpp))


def test_the_file_is_tagged_srgb_unless_told_otherwise(tmp_path):
    samples = np.zeros((2, 2, 3), np.uint8)
    (tmp_path / "s.png").write_bytes(encode_png(samples))
    (tmp_path / "n.png").write_bytes(encode_png(samples, srgb=False))
    assert b"sRGB" in (tmp_path / "s.png").read_bytes() and b"sRGB" not in (tmp_path / "n.png").read_bytes()
    assert "srgb" in _read(tmp_path / "s.png")[1].get_string_attribute("oiio:ColorSpace").lower()


def test_pixel_aspect_and_text_are_kept(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(encode_png(np.zeros((2, 4, 1), np.uint8), pixel_aspect=2.0, text={"rvmatte/version": "9.9"}))
    spec = _read(path)[1]
    assert spec.get_float_attribute("PixelAspectRatio") == pytest.approx(2.0)
    assert spec.get_string_attribute("rvmatte/version") == "9.9"


def test_a_photographic_frame_is_as_small_as_libpng_makes_it_at_level_6(tmp_path):
    plate = sorted((SHARED / "data" / "synthetic").glob("*/com/*.png"))[0]
    samples = oiio.ImageBuf(str(plate)).get_pixels(oiio.UINT8)
    ours = encode_png(np.ascontiguousarray(samples))
    spec = oiio.ImageSpec(samples.shape[1], samples.shape[0], samples.shape[2], oiio.UINT8)
    spec.attribute("png:compressionLevel", 6)
    out = oiio.ImageOutput.create(str(tmp_path / "libpng.png"))
    assert out.open(str(tmp_path / "libpng.png"), spec) and out.write_image(samples)
    out.close()
    assert len(ours) <= 1.02 * (tmp_path / "libpng.png").stat().st_size


@pytest.mark.parametrize("samples", [np.zeros((2, 2, 5), np.uint8), np.zeros((2, 2), np.uint8),
                                     np.zeros((2, 2, 3), np.float32)])
def test_samples_png_cannot_hold_are_refused(samples):
    with pytest.raises(ValueError, match="PNG samples"):
        encode_png(samples)
