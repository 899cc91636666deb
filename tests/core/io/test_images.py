"""Image sequences read through OpenImageIO: numbers, windows, channels, layers, errors."""

import numpy as np
import OpenImageIO as oiio
import pytest
from io_files import make_sequence, ramp, write_image, write_multipart

from rvmatte.errors import InputError
from rvmatte.io import open_input


def test_frame_numbers_are_kept(exr_shot):
    source = open_input(str(exr_shot / "plate.####.exr"))
    assert source.frames == [1001, 1002, 1003]
    assert [plate.frame for plate in source.read(source.frames)] == [1001, 1002, 1003]


def test_plate_is_contiguous_float32_rgb_with_the_stored_values(exr_shot):
    source = open_input(str(exr_shot / "plate.####.exr"))
    plate = next(source.read([1002]))
    assert plate.rgb.dtype == np.float32 and plate.rgb.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(plate.rgb, ramp(seed=1002))
    assert plate.path == str(exr_shot / "plate.1002.exr")


def test_source_describes_the_shot(exr_shot):
    source = open_input(str(exr_shot / "plate.####.exr"))
    assert (source.kind, source.name, source.width, source.height) == ("images", "plate", 8, 6)
    assert source.is_float and source.file_format == "openexr"
    assert source.channels == ("R", "G", "B") and source.layers == ("rgba",)


def test_float_values_outside_0_1_and_nan_are_left_as_stored(tmp_path):
    pixels = ramp()
    pixels[0, 0] = (4.5, -0.25, np.nan)
    write_image(tmp_path / "hdr.0001.exr", pixels, pixel_type="float")
    plate = next(open_input(str(tmp_path / "hdr.0001.exr")).read([1]))
    assert plate.rgb[0, 0, 0] == 4.5 and plate.rgb[0, 0, 1] == -0.25 and np.isnan(plate.rgb[0, 0, 2])


def test_half_and_float_exrs_are_float_inputs(tmp_path):
    for pixel_type in ("half", "float"):
        write_image(tmp_path / f"{pixel_type}.0001.exr", ramp(), pixel_type=pixel_type)
        source = open_input(str(tmp_path / f"{pixel_type}.0001.exr"))
        assert source.is_float
        np.testing.assert_array_equal(next(source.read([1])).rgb, ramp())


def test_16bit_tiff_is_normalised_to_0_1(tmp_path):
    values = np.array([[[0, 32768, 65535]]], dtype=np.float32) / 65535
    write_image(tmp_path / "t.0001.tif", values, pixel_type="uint16")
    source = open_input(str(tmp_path / "t.0001.tif"))
    assert not source.is_float
    np.testing.assert_allclose(next(source.read([1])).rgb[0, 0], [0, 32768 / 65535, 1], atol=1e-7)


def test_8bit_png_is_normalised_to_0_1(tmp_path):
    values = np.array([[[0, 128, 255]]], dtype=np.float32) / 255
    write_image(tmp_path / "p.0001.png", values, pixel_type="uint8")
    np.testing.assert_allclose(next(open_input(str(tmp_path / "p.0001.png")).read([1])).rgb[0, 0], [0, 128 / 255, 1])


@pytest.mark.parametrize("extension,channels", [("png", 3), ("tif", 3), ("png", 4), ("png", 1)])
def test_8bit_plates_hold_the_very_floats_openimageio_converts_every_byte_to(tmp_path, extension, channels):
    every_byte = np.arange(256 * 3, dtype=np.float32).reshape(16, 16, 3) % 256 / 255
    pixels = np.concatenate([every_byte, every_byte[:, :, :1][:, ::-1]], axis=2)[:, :, :channels]
    path = tmp_path / f"b.0001.{extension}"
    write_image(path, pixels, pixel_type="uint8")
    want = oiio.ImageBuf(str(path)).get_pixels(oiio.FLOAT)[:, :, :min(channels, 3)]
    rgb = next(open_input(str(path)).read([1])).rgb
    assert rgb.dtype == np.float32 and rgb.flags.c_contiguous and rgb.shape == (16, 16, 3)
    want = np.repeat(want, 3, axis=2) if channels == 1 else want
    assert rgb.tobytes() == want.tobytes()


def test_grey_image_is_replicated_to_rgb(tmp_path):
    grey = ramp(channels=1)
    write_image(tmp_path / "g.0001.png", grey, pixel_type="uint16")
    rgb = next(open_input(str(tmp_path / "g.0001.png")).read([1])).rgb
    assert rgb.shape == (6, 8, 3)
    np.testing.assert_allclose(rgb, np.repeat(grey, 3, axis=2), atol=1e-4)


def test_alpha_of_an_rgba_input_is_ignored(tmp_path):
    rgba = ramp(channels=4)
    write_image(tmp_path / "a.0001.exr", rgba, channels=["R", "G", "B", "A"])
    np.testing.assert_array_equal(next(open_input(str(tmp_path / "a.0001.exr")).read([1])).rgb, rgba[:, :, :3])


def test_a_layer_is_picked_by_name_in_a_multilayer_exr(tmp_path):
    channels = ["R", "G", "B", "A", "beauty.R", "beauty.G", "beauty.B", "depth.Z"]
    pixels = ramp(channels=len(channels))
    write_image(tmp_path / "m.0001.exr", pixels, channels=channels)
    source = open_input(str(tmp_path / "m.0001.exr"), layer="beauty")
    np.testing.assert_array_equal(next(source.read([1])).rgb, pixels[:, :, 4:7])
    assert set(source.layers) == {"rgba", "beauty", "depth"}


def test_the_unnamed_rgb_layer_is_the_default(tmp_path):
    channels = ["beauty.R", "beauty.G", "beauty.B", "R", "G", "B"]
    pixels = ramp(channels=6)
    write_image(tmp_path / "m.0001.exr", pixels, channels=channels)
    source = open_input(str(tmp_path / "m.0001.exr"))
    np.testing.assert_array_equal(next(source.read([1])).rgb, pixels[:, :, 3:6])


def test_rgba_prefixed_channels_are_the_default_layer(tmp_path):
    channels = ["rgba.R", "rgba.G", "rgba.B", "rgba.A", "spec.R", "spec.G", "spec.B"]
    pixels = ramp(channels=7)
    write_image(tmp_path / "m.0001.exr", pixels, channels=channels)
    rgb = next(open_input(str(tmp_path / "m.0001.exr")).read([1])).rgb
    np.testing.assert_array_equal(rgb, pixels[:, :, :3])


def test_a_layer_is_picked_from_its_part_in_a_multipart_exr(tmp_path):
    main, beauty = ramp(seed=1), ramp(seed=2)
    write_multipart(tmp_path / "mp.0001.exr", [("rgba", ["R", "G", "B"], main), ("beauty", ["R", "G", "B"], beauty)])
    default = open_input(str(tmp_path / "mp.0001.exr"))
    picked = open_input(str(tmp_path / "mp.0001.exr"), layer="beauty")
    np.testing.assert_array_equal(next(default.read([1])).rgb, main)
    np.testing.assert_array_equal(next(picked.read([1])).rgb, beauty)
    assert set(default.layers) == {"rgba", "beauty"}


def test_an_unknown_layer_is_an_error_listing_the_layers_present(tmp_path):
    channels = ["R", "G", "B", "beauty.R", "beauty.G", "beauty.B"]
    write_image(tmp_path / "m.0001.exr", ramp(channels=6), channels=channels)
    with pytest.raises(InputError, match=r"no layer 'diffuse'; layers present: rgba, beauty"):
        open_input(str(tmp_path / "m.0001.exr"), layer="diffuse")


def test_no_unnamed_layer_among_several_is_an_error_listing_them(tmp_path):
    channels = ["beauty.R", "beauty.G", "beauty.B", "spec.R", "spec.G", "spec.B"]
    write_image(tmp_path / "m.0001.exr", ramp(channels=6), channels=channels)
    with pytest.raises(InputError, match=r"no unnamed RGB layer.*beauty, spec"):
        open_input(str(tmp_path / "m.0001.exr"))


def test_a_smaller_data_window_is_padded_with_zeros(tmp_path):
    box = ramp(height=2, width=3)
    write_image(tmp_path / "b.0001.exr", box, display=(0, 0, 8, 6), origin=(4, 3))
    source = open_input(str(tmp_path / "b.0001.exr"))
    rgb = next(source.read([1])).rgb
    assert (source.width, source.height) == (8, 6) and rgb.shape == (6, 8, 3)
    np.testing.assert_array_equal(rgb[3:5, 4:7], box)
    assert np.count_nonzero(rgb) == np.count_nonzero(box)


def test_a_larger_data_window_is_cropped_to_the_display_window(tmp_path):
    overscan = ramp(height=10, width=12)
    write_image(tmp_path / "o.0001.exr", overscan, display=(0, 0, 8, 6), origin=(-2, -2))
    rgb = next(open_input(str(tmp_path / "o.0001.exr")).read([1])).rgb
    np.testing.assert_array_equal(rgb, overscan[2:8, 2:10])


def test_a_display_window_with_an_offset_is_what_the_network_sees(tmp_path):
    pixels = ramp(height=6, width=8)
    write_image(tmp_path / "d.0001.exr", pixels, display=(10, 20, 4, 3), origin=(8, 19))
    rgb = next(open_input(str(tmp_path / "d.0001.exr")).read([1])).rgb
    np.testing.assert_array_equal(rgb, pixels[1:4, 2:6])


def test_a_bounding_box_changing_per_frame_is_not_a_size_change(tmp_path):
    write_image(tmp_path / "b.1001.exr", ramp(2, 3), display=(0, 0, 8, 6), origin=(0, 0))
    write_image(tmp_path / "b.1002.exr", ramp(4, 5), display=(0, 0, 8, 6), origin=(2, 1))
    plates = list(open_input(str(tmp_path / "b.####.exr")).read([1001, 1002]))
    assert [p.rgb.shape for p in plates] == [(6, 8, 3), (6, 8, 3)]
    assert plates[1].header["data_window"] == (2, 1, 5, 4)


def test_a_display_window_changing_mid_shot_is_an_error_naming_the_frame(tmp_path):
    make_sequence(tmp_path, frames=[1001, 1002])
    write_image(tmp_path / "plate.1003.exr", ramp(height=7))
    source = open_input(str(tmp_path / "plate.####.exr"))
    plates = source.read([1001, 1002, 1003])
    assert next(plates).frame == 1001 and next(plates).frame == 1002
    with pytest.raises(InputError, match=r"frame 1003: display window 8x7 differs from the shot's 8x6: .*plate\.1003\.exr"):
        next(plates)


def test_a_missing_frame_in_the_middle_is_an_error_naming_it(tmp_path):
    make_sequence(tmp_path, frames=[1001, 1002, 1004])
    source = open_input(str(tmp_path / "plate.####.exr"))
    assert source.missing == [1003]
    with pytest.raises(InputError, match=r"frame 1003 is missing: .*plate\.1003\.exr"):
        source.frame_range()


def test_reading_a_missing_frame_is_an_error_naming_it(tmp_path):
    make_sequence(tmp_path, frames=[1001, 1002])
    source = open_input(str(tmp_path / "plate.####.exr"))
    (tmp_path / "plate.1002.exr").unlink()
    with pytest.raises(InputError, match=r"frame 1002 is missing: .*plate\.1002\.exr"):
        list(source.read([1001, 1002]))


def test_a_frame_range_within_the_input_lists_its_frames(exr_shot):
    source = open_input(str(exr_shot / "plate.####.exr"))
    assert source.frame_range(1002, 1003) == [1002, 1003]


def test_a_frame_range_outside_the_input_is_an_error(exr_shot):
    source = open_input(str(exr_shot / "plate.####.exr"))
    with pytest.raises(InputError, match="frames 1000-1003 requested, the input has 1001-1003"):
        source.frame_range(1000, 1003)


def test_a_truncated_exr_is_an_error_naming_it(tmp_path):
    make_sequence(tmp_path, frames=[1001, 1002])
    target = tmp_path / "plate.1002.exr"
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    source = open_input(str(tmp_path / "plate.####.exr"))
    with pytest.raises(InputError, match=r"frame 1002: cannot read .*plate\.1002\.exr"):
        list(source.read([1001, 1002]))


@pytest.mark.parametrize("extension, pixel_type", [("png", "uint8"), ("dpx", "uint16"), ("tif", "uint16"), ("jpg", "uint8")])
def test_a_truncated_file_of_any_format_is_an_error_naming_it(tmp_path, extension, pixel_type):
    target = tmp_path / f"cut.0001.{extension}"
    write_image(target, np.random.default_rng(0).random((64, 64, 3)), pixel_type=pixel_type)
    target.write_bytes(target.read_bytes()[: target.stat().st_size * 2 // 3])
    with pytest.raises(InputError, match=rf"frame 1: cannot read .*cut\.0001\.{extension}"):
        list(open_input(str(target)).read([1]))


def test_a_tiled_exr_with_a_bounding_box_reads_like_a_scanline_one(tmp_path):
    pixels = ramp(40, 50)
    spec = oiio.ImageSpec(50, 40, 3, "half")
    spec.x, spec.y = 5, 3
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 64, 48
    spec.tile_width = spec.tile_height = 16
    out = oiio.ImageOutput.create(str(tmp_path / "t.0001.exr"))
    assert out.open(str(tmp_path / "t.0001.exr"), spec) and out.write_image(pixels) and out.close()
    rgb = next(open_input(str(tmp_path / "t.0001.exr")).read([1])).rgb
    np.testing.assert_array_equal(rgb[3:43, 5:55], pixels)
    assert rgb.shape == (48, 64, 3) and not rgb[:3].any() and not rgb[:, :5].any()


def test_a_file_that_is_not_an_image_is_an_error_naming_it(tmp_path):
    (tmp_path / "junk.0001.exr").write_bytes(b"not an exr at all")
    with pytest.raises(InputError, match=r"frame 1: cannot read .*junk\.0001\.exr"):
        open_input(str(tmp_path / "junk.0001.exr"))


def test_frames_are_read_lazily_one_at_a_time(exr_shot):
    source = open_input(str(exr_shot / "plate.####.exr"))
    plates = source.read([1001, 1002, 1003])
    first = next(plates)
    (exr_shot / "plate.1003.exr").unlink()
    assert first.frame == 1001 and next(plates).frame == 1002
    with pytest.raises(InputError, match="frame 1003 is missing"):
        next(plates)


def test_header_keeps_windows_pixel_aspect_timecode_and_custom_attributes(tmp_path):
    attributes = {
        "PixelAspectRatio": 2.0,
        "smpte:TimeCode": (oiio.TypeDesc("timecode"), (0x01000000, 0)),
        "FramesPerSecond": (oiio.TypeDesc("rational"), (24, 1)),
        "owner": "vfx",
        "studio/shot": "sh010",
        "compression": "piz",
    }
    write_image(tmp_path / "h.0001.exr", ramp(4, 5), display=(0, 0, 8, 6), origin=(1, 1), attributes=attributes)
    source = open_input(str(tmp_path / "h.0001.exr"))
    header = next(source.read([1])).header
    assert header["display_window"] == (0, 0, 8, 6) and header["data_window"] == (1, 1, 5, 4)
    assert header["pixel_aspect"] == 2.0 and source.pixel_aspect == 2.0 and source.fps == 24.0
    kept = header["attributes"]
    assert kept["smpte:TimeCode"] == ("timecode", (0x01000000, 0))
    assert kept["FramesPerSecond"] == ("rational", (24, 1))
    assert kept["studio/shot"] == ("string", "sh010")
    assert kept["Copyright"] == ("string", "vfx")
    assert "compression" not in kept


def test_a_colour_space_tag_in_the_file_is_the_hint(tmp_path):
    write_image(tmp_path / "c.0001.exr", ramp(), attributes={"oiio:ColorSpace": "ACEScg"})
    assert open_input(str(tmp_path / "c.0001.exr")).colorspace_hint in ("ACEScg", "lin_ap1_scene")


def test_an_untagged_exr_has_no_hint(exr_shot):
    assert open_input(str(exr_shot)).colorspace_hint is None
