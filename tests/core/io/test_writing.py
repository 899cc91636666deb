"""Frame writers: channels, bit depth, windows and metadata, atomic replace, completeness."""

import os
import subprocess
import sys
import stat

import numpy as np
import OpenImageIO as oiio
import pytest
from io_files import ramp, read_image, write_image

from rvmatte.errors import OutputError
from rvmatte.io import frame_is_complete, open_input, remove_temp_files, write_frame

running_as_root = hasattr(os, "geteuid") and os.geteuid() == 0


def test_alpha_pass_has_the_single_channel_A(tmp_path):
    alpha = ramp(channels=1)
    write_frame(str(tmp_path / "a.0001.exr"), alpha, ["A"])
    pixels, spec = read_image(tmp_path / "a.0001.exr")
    assert spec.channelnames == ("A",) and spec.format == oiio.HALF
    np.testing.assert_array_equal(pixels, alpha)


def test_foreground_pass_has_rgba_channels(tmp_path):
    rgba = ramp(channels=4)
    write_frame(str(tmp_path / "f.0001.exr"), rgba, ["R", "G", "B", "A"])
    pixels, spec = read_image(tmp_path / "f.0001.exr")
    assert spec.channelnames == ("R", "G", "B", "A")
    np.testing.assert_array_equal(pixels, rgba)


def test_half_rounds_and_float_keeps_every_bit(tmp_path):
    values = np.full((2, 2, 1), 1 / 3, np.float32)
    write_frame(str(tmp_path / "h.exr"), values, ["A"], bit_depth="half")
    write_frame(str(tmp_path / "f.exr"), values, ["A"], bit_depth="float")
    half, half_spec = read_image(tmp_path / "h.exr")
    full, full_spec = read_image(tmp_path / "f.exr")
    assert (half_spec.format, full_spec.format) == (oiio.HALF, oiio.FLOAT)
    assert half[0, 0, 0] == np.float32(np.float16(1 / 3)) and full[0, 0, 0] == np.float32(1 / 3)


def test_half_values_are_rounded_as_openimageio_rounds_them(tmp_path):
    """Halves come from numpy; every value, edge cases included, must store the bits OpenImageIO's own
    float-to-half conversion stores."""
    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1e-8, 6e-8, 3e-5, 6.1e-5, 1 / 3, 0.5 + 2 ** -12, 1 + 2 ** -11, 2048.5, 65504.0, 65519.0,
             65520.0, 1e6, -1e6, np.inf, -np.inf, np.nan]
    spread = rng.standard_normal(4096 - len(edges)) * 10.0 ** rng.integers(-7, 6, 4096 - len(edges))
    pixels = np.concatenate([edges, spread]).astype(np.float32).reshape(64, 64, 1)
    write_frame(str(tmp_path / "ours.exr"), pixels, ["A"], bit_depth="half")
    spec = oiio.ImageSpec(64, 64, 1, oiio.HALF)
    spec.channelnames = ("A",)
    out = oiio.ImageOutput.create(str(tmp_path / "oiio.exr"))
    assert out.open(str(tmp_path / "oiio.exr"), spec) and out.write_image(pixels)
    out.close()
    ours, theirs = (oiio.ImageBuf(str(tmp_path / name)).get_pixels(oiio.HALF) for name in ("ours.exr", "oiio.exr"))
    np.testing.assert_array_equal(ours.view(np.uint16), theirs.view(np.uint16))


def test_values_above_one_survive_in_exr(tmp_path):
    write_frame(str(tmp_path / "hdr.exr"), np.full((2, 2, 3), 12.5, np.float32), ["R", "G", "B"])
    assert read_image(tmp_path / "hdr.exr")[0].max() == 12.5


def test_compression_is_the_one_asked_for(tmp_path):
    write_frame(str(tmp_path / "p.exr"), ramp(), ["R", "G", "B"], compression="piz")
    assert read_image(tmp_path / "p.exr")[1].get_string_attribute("compression") == "piz"


def test_dwaa_is_used_for_colour(tmp_path):
    write_frame(str(tmp_path / "c.exr"), ramp(channels=4), ["R", "G", "B", "A"], compression="dwaa")
    assert read_image(tmp_path / "c.exr")[1].get_string_attribute("compression") == "dwaa"


def test_lossy_dwa_falls_back_to_zip_for_an_alpha_only_file(tmp_path):
    write_frame(str(tmp_path / "a.exr"), ramp(channels=1), ["A"], compression="dwaa")
    assert read_image(tmp_path / "a.exr")[1].get_string_attribute("compression") == "zip"


def test_an_unknown_compression_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown EXR compression 'lzw'"):
        write_frame(str(tmp_path / "a.exr"), ramp(channels=1), ["A"], compression="lzw")


def test_header_windows_pixel_aspect_timecode_and_custom_attributes_are_kept(tmp_path):
    attributes = {
        "PixelAspectRatio": 2.0,
        "smpte:TimeCode": (oiio.TypeDesc("timecode"), (0x01000000, 0)),
        "FramesPerSecond": (oiio.TypeDesc("rational"), (25, 1)),
        "studio/shot": "sh010",
        "oiio:ColorSpace": "ACEScg",
    }
    write_image(tmp_path / "in.1001.exr", ramp(4, 5), display=(0, 0, 8, 6), origin=(2, 1), attributes=attributes)
    plate = next(open_input(str(tmp_path / "in.1001.exr")).read([1001]))
    write_frame(
        str(tmp_path / "out.1001.exr"),
        np.ones((6, 8, 1), np.float32),
        ["A"],
        header=plate.header,
        colorspace="Linear Rec.709 (sRGB)",
        attributes={"rvmatte/version": "0.1.0", "rvmatte/downsample_ratio": 0.25},
    )
    pixels, spec = read_image(tmp_path / "out.1001.exr")
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 8, 6)
    assert (spec.x, spec.y, spec.width, spec.height) == (2, 1, 5, 4)
    assert spec.get_float_attribute("PixelAspectRatio") == 2.0
    assert spec.getattribute("smpte:TimeCode") == (0x01000000, 0)
    assert spec.getattribute("FramesPerSecond") == (25, 1)
    assert spec.get_string_attribute("studio/shot") == "sh010"
    assert spec.get_string_attribute("rvmatte/version") == "0.1.0"
    assert spec.get_float_attribute("rvmatte/downsample_ratio") == 0.25
    assert pixels.shape == (4, 5, 1) and np.all(pixels == 1)


def test_an_aces_container_input_gives_compressed_passes(tmp_path):
    write_image(tmp_path / "aces.1001.exr", ramp(), attributes={"acesImageContainerFlag": 1, "compression": "none"})
    plate = next(open_input(str(tmp_path / "aces.1001.exr")).read([1001]))
    write_frame(str(tmp_path / "a.1001.exr"), ramp(channels=1), ["A"], header=plate.header, compression="zip")
    assert read_image(tmp_path / "a.1001.exr")[1].get_string_attribute("compression") == "zip"


def test_colour_space_is_recorded(tmp_path):
    write_frame(str(tmp_path / "c.exr"), ramp(), ["R", "G", "B"], colorspace="Linear Rec.709 (sRGB)")
    spec = read_image(tmp_path / "c.exr")[1]
    assert spec.get_string_attribute("oiio:ColorSpace") in ("Linear Rec.709 (sRGB)", "lin_rec709_scene")
    assert spec.get_string_attribute("colorInteropID") == "lin_rec709_scene"


def test_the_interop_id_comes_from_the_config_given(tmp_path):
    config = tmp_path / "studio.ocio"
    config.write_text(
        "ocio_profile_version: 2.1\nroles:\n  default: plates\n  scene_linear: plates\n"
        "displays:\n  sRGB:\n    - !<View> {name: Raw, colorspace: plates}\n"
        "colorspaces:\n  - !<ColorSpace>\n    name: plates\n    interop_id: lin_ap1_scene\n"
    )
    write_frame(str(tmp_path / "c.exr"), ramp(), ["R", "G", "B"], colorspace="plates", ocio_config=str(config))
    assert read_image(tmp_path / "c.exr")[1].get_string_attribute("colorInteropID") == "lin_ap1_scene"


def test_overscan_output_is_zero_outside_the_display_window(tmp_path):
    header = {"display_window": (0, 0, 4, 3), "data_window": (-1, -1, 6, 5)}
    write_frame(str(tmp_path / "o.exr"), np.ones((3, 4, 1), np.float32), ["A"], header=header)
    pixels, spec = read_image(tmp_path / "o.exr")
    assert (spec.x, spec.y, spec.width, spec.height) == (-1, -1, 6, 5)
    assert pixels[1:4, 1:5].min() == 1 and pixels.sum() == 12


def test_pixels_must_cover_the_display_window(tmp_path):
    with pytest.raises(ValueError, match="display window is 8x6"):
        write_frame(str(tmp_path / "x.exr"), ramp(3, 3, 1), ["A"], header={"display_window": (0, 0, 8, 6)})


def test_non_contiguous_pixels_are_written_correctly(tmp_path):
    rgba = ramp(channels=4)
    view = np.asfortranarray(rgba)[:, ::-1][:, ::-1]
    write_frame(str(tmp_path / "v.exr"), view, ["R", "G", "B", "A"])
    np.testing.assert_array_equal(read_image(tmp_path / "v.exr")[0], rgba)


def test_png_is_clipped_and_quantised_to_8_bits(tmp_path):
    values = np.array([[[-0.5, 0.5, 1.5]]], np.float32)
    write_frame(str(tmp_path / "p.png"), values, ["R", "G", "B"])
    pixels, spec = read_image(tmp_path / "p.png")
    assert spec.format == oiio.UINT8
    np.testing.assert_allclose(pixels[0, 0], [0, 128 / 255, 1])


def test_png_alpha_pass_is_a_grey_image(tmp_path):
    write_frame(str(tmp_path / "a.png"), np.full((2, 3, 1), 0.25, np.float32), ["A"])
    pixels, spec = read_image(tmp_path / "a.png")
    assert spec.nchannels == 1 and abs(pixels[0, 0, 0] - 64 / 255) < 1e-6


def test_tiff_is_16_bit(tmp_path):
    write_frame(str(tmp_path / "t.tif"), np.full((2, 2, 3), 0.25, np.float32), ["R", "G", "B"])
    pixels, spec = read_image(tmp_path / "t.tif")
    assert spec.format == oiio.UINT16 and abs(pixels[0, 0, 0] - 16384 / 65535) < 1e-7


def test_jpeg_is_written(tmp_path):
    write_frame(str(tmp_path / "j.jpg"), np.full((8, 8, 3), 0.5, np.float32), ["R", "G", "B"])
    assert abs(read_image(tmp_path / "j.jpg")[0].mean() - 0.5) < 0.01


def test_missing_output_folders_are_created(tmp_path):
    write_frame(str(tmp_path / "deep" / "er" / "a.exr"), ramp(channels=1), ["A"])
    assert (tmp_path / "deep" / "er" / "a.exr").is_file()


def test_a_write_replaces_an_existing_frame(tmp_path):
    target = str(tmp_path / "a.exr")
    write_frame(target, np.zeros((2, 2, 1), np.float32), ["A"])
    write_frame(target, np.ones((2, 2, 1), np.float32), ["A"])
    assert read_image(target)[0].min() == 1


def test_a_failed_write_leaves_no_temp_file_and_the_old_frame_intact(tmp_path, monkeypatch):
    target = tmp_path / "a.exr"
    write_frame(str(target), np.zeros((2, 2, 1), np.float32), ["A"])
    before = target.read_bytes()
    original_write = oiio.ImageOutput.write_image

    def failing_write(self, *args):
        return False

    monkeypatch.setattr(oiio.ImageOutput, "write_image", failing_write)
    with pytest.raises(OutputError, match=f"cannot write {target}"):
        write_frame(str(target), np.ones((2, 2, 1), np.float32), ["A"])
    monkeypatch.setattr(oiio.ImageOutput, "write_image", original_write)
    assert os.listdir(tmp_path) == ["a.exr"]
    assert target.read_bytes() == before


def test_an_interrupted_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def interrupted(self, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(oiio.ImageOutput, "write_image", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_frame(str(tmp_path / "a.exr"), np.ones((2, 2, 1), np.float32), ["A"])
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(running_as_root, reason="root can write into read-only folders")
def test_an_unwritable_folder_is_an_error_naming_the_path(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match=f"cannot write {locked / 'a.exr'}"):
            write_frame(str(locked / "a.exr"), ramp(channels=1), ["A"])
        assert os.listdir(locked) == []
    finally:
        locked.chmod(stat.S_IRWXU)


def test_an_output_folder_that_is_a_file_is_an_error_naming_the_path(tmp_path):
    (tmp_path / "out").write_bytes(b"")
    with pytest.raises(OutputError, match=f"{tmp_path / 'out'}"):
        write_frame(str(tmp_path / "out" / "a.exr"), ramp(channels=1), ["A"])


def test_a_written_frame_is_complete(tmp_path):
    write_frame(str(tmp_path / "a.exr"), ramp(channels=1), ["A"])
    assert frame_is_complete(str(tmp_path / "a.exr"))
    assert frame_is_complete(str(tmp_path / "a.exr"), ["A"])


def test_a_frame_with_other_channels_is_not_complete(tmp_path):
    write_frame(str(tmp_path / "a.exr"), ramp(channels=1), ["A"])
    assert not frame_is_complete(str(tmp_path / "a.exr"), ["R", "G", "B", "A"])


def test_a_truncated_frame_is_not_complete(tmp_path):
    target = tmp_path / "a.exr"
    write_frame(str(target), ramp(64, 64, 4), ["R", "G", "B", "A"])
    target.write_bytes(target.read_bytes()[: target.stat().st_size - 100])
    assert not frame_is_complete(str(target))


def test_a_header_alone_is_not_a_complete_frame(tmp_path):
    target = tmp_path / "a.exr"
    write_frame(str(target), ramp(64, 64, 4), ["R", "G", "B", "A"])
    target.write_bytes(target.read_bytes()[:400])
    assert not frame_is_complete(str(target))


def test_a_missing_frame_is_not_complete(tmp_path):
    assert not frame_is_complete(str(tmp_path / "nothing.exr"))


def test_a_failed_rename_is_an_error_naming_the_path_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "a.exr").mkdir()
    with pytest.raises(OutputError, match=f"cannot write {tmp_path / 'a.exr'}"):
        write_frame(str(tmp_path / "a.exr"), ramp(channels=1), ["A"])
    assert os.listdir(tmp_path) == ["a.exr"]


def test_png_colour_with_alpha_is_stored_straight_as_given(tmp_path):
    write_frame(str(tmp_path / "s.png"), np.full((2, 2, 4), 0.5, np.float32), ["R", "G", "B", "A"])
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    inp = oiio.ImageInput.open(str(tmp_path / "s.png"), config)
    stored = inp.read_image(oiio.UINT8)
    inp.close()
    assert stored[0, 0].tolist() == [128, 128, 128, 128]


def test_an_output_the_system_refuses_to_create_is_an_error_naming_it(tmp_path):
    target = tmp_path / ("x" * 300 + ".exr")
    with pytest.raises(OutputError, match=f"cannot write {target}"):
        write_frame(str(target), ramp(channels=1), ["A"])
    assert os.listdir(tmp_path) == []


def test_temp_files_left_by_a_killed_writer_are_removed_for_the_frames_asked(tmp_path):
    dead = _dead_pid()
    for name in (f".a.0001.exr.tmp-{dead}-ab12cd34.exr", f".a.0002.exr.tmp-{dead}-00ff00ff.exr", "a.0001.exr",
                 f".b.0001.exr.tmp-{dead}-aa.exr"):
        (tmp_path / name).write_bytes(b"partial")
    removed = remove_temp_files([str(tmp_path / "a.0001.exr"), str(tmp_path / "a.0003.exr")])
    assert removed == [str(tmp_path / f".a.0001.exr.tmp-{dead}-ab12cd34.exr")]
    assert sorted(os.listdir(tmp_path)) == [f".a.0002.exr.tmp-{dead}-00ff00ff.exr", f".b.0001.exr.tmp-{dead}-aa.exr",
                                            "a.0001.exr"]


def test_a_temp_file_of_another_running_writer_is_left_alone(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        busy = tmp_path / f".a.0001.exr.tmp-{other.pid}-ab12cd34.exr"
        busy.write_bytes(b"being written")
        assert remove_temp_files([str(tmp_path / "a.0001.exr")]) == []
        assert busy.exists()
    finally:
        other.kill()
        other.wait()


def _dead_pid() -> int:
    """A process id that no running process has."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_temp_file_of_a_writer_killed_mid_write_is_recognised(tmp_path, monkeypatch):
    import rvmatte.io.writing as writing

    monkeypatch.setattr(writing, "_remove_quietly", lambda path: None)  # as if killed: no clean-up
    monkeypatch.setattr(oiio.ImageOutput, "write_image", lambda self, *args: False)
    with pytest.raises(OutputError):
        write_frame(str(tmp_path / "a.0001.exr"), ramp(channels=1), ["A"])
    (leftover,) = os.listdir(tmp_path)
    assert leftover.startswith(".a.0001.exr.tmp-") and leftover.endswith(".exr")
    assert remove_temp_files([str(tmp_path / "a.0001.exr")]) == [str(tmp_path / leftover)]
    assert os.listdir(tmp_path) == []


def _stored_straight(path, integer_type):
    """The integers in the file, colour as stored (not premultiplied by OpenImageIO on reading)."""
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    inp = oiio.ImageInput.open(str(path), config)
    stored = inp.read_image(integer_type)
    inp.close()
    return stored


def test_png_colour_under_alpha_that_rounds_to_zero_is_stored_as_zero(tmp_path):
    rgba = np.array([[[0.7, 0.6, 0.5, 0.4 / 255], [0.7, 0.6, 0.5, 0.6 / 255], [0.7, 0.6, 0.5, np.nan]]], np.float32)
    write_frame(str(tmp_path / "f.png"), rgba, ["R", "G", "B", "A"])
    stored = _stored_straight(tmp_path / "f.png", oiio.UINT8)
    assert stored[0].tolist() == [[0, 0, 0, 0], [179, 153, 128, 1], [0, 0, 0, 0]]


def test_sixteen_bit_tiff_keeps_colour_under_the_smallest_alpha_it_can_store(tmp_path):
    rgba = np.array([[[0.5, 0.5, 0.5, 1 / 65535], [0.5, 0.5, 0.5, 0.2 / 65535]]], np.float32)
    write_frame(str(tmp_path / "f.tif"), rgba, ["R", "G", "B", "A"])
    stored = _stored_straight(tmp_path / "f.tif", oiio.UINT16)
    assert stored[0].tolist() == [[32768, 32768, 32768, 1], [0, 0, 0, 0]]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to fill the disk")
def test_a_full_disk_says_so_and_names_the_frame_not_the_hidden_temp(tmp_path, monkeypatch):
    from rvmatte.io import writing

    # The temp file this write will use is a link to /dev/full: every write into it fails with ENOSPC.
    monkeypatch.setattr(writing.secrets, "token_hex", lambda n: "f00d")
    path = tmp_path / "sh.0001.exr"
    os.symlink("/dev/full", tmp_path / f".sh.0001.exr.tmp-{writing.host_id()}-{os.getpid()}-f00d.exr")
    with pytest.raises(OutputError) as error:
        write_frame(str(path), np.random.default_rng(1).random((256, 256, 1), np.float32), ["A"])
    message = str(error.value)
    assert "No space left on device" in message and str(path) in message
    assert ".tmp-" not in message
    assert os.listdir(tmp_path) == []


def test_an_output_folder_blocked_by_a_file_is_refused_naming_the_folder_and_the_output(tmp_path):
    from rvmatte.errors import OutputError
    from rvmatte.io.writing import make_output_folder

    (tmp_path / "shots").write_text("a file, not a folder")
    with pytest.raises(OutputError) as caught:
        make_output_folder(str(tmp_path / "shots" / "sh010"), for_path="sh010.alpha.0001.exr")
    message = str(caught.value)
    assert f"cannot create output folder {tmp_path / 'shots' / 'sh010'} for sh010.alpha.0001.exr" in message
    assert "\n" not in message


def test_a_run_into_a_folder_blocked_by_a_file_fails_before_any_frame(tmp_path):
    from rvmatte.engine import RunOptions, run
    from rvmatte.errors import OutputError
    from shots import make_png_shot

    plate = make_png_shot(tmp_path / "in", 2)
    (tmp_path / "out").write_text("in the way")
    with pytest.raises(OutputError, match="cannot create output folder"):
        run(RunOptions(input=plate, alpha=str(tmp_path / "out" / "a.####.exr")))
    assert (tmp_path / "out").read_text() == "in the way"
