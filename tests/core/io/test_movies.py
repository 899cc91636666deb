"""Movies decoded with PyAV: frame counts, numbering, values, bit depth, pixel aspect."""

from fractions import Fraction

import av
import numpy as np
import pytest
from io_files import read_image

from rvmatte.errors import InputError
from rvmatte.io import open_input


@pytest.fixture(scope="module")
def person_clip(shared_dir):
    return shared_dir / "data" / "real_video" / "rvmnuke_person_short_360x640"


@pytest.fixture(scope="module")
def juggle_clip(shared_dir):
    return shared_dir / "data" / "real_video" / "sam2_juggle_1280x720"


def encode(path, frames, codec="mpeg4", pix_fmt="yuv420p", input_format="rgb24", rate=25, sample_aspect=None):
    """A small movie from (H, W, 3) arrays."""
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=rate)
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = pix_fmt
    if sample_aspect:
        stream.codec_context.sample_aspect_ratio = sample_aspect
    for pixels in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format=input_format)):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def test_every_frame_of_a_movie_is_counted(person_clip, juggle_clip):
    assert len(open_input(str(person_clip / "nuke_person_short.mp4")).frames) == 50
    assert len(open_input(str(juggle_clip / "sam2_05_default_juggle.mp4")).frames) == 247


def test_movie_frames_are_numbered_from_1(person_clip):
    source = open_input(str(person_clip / "nuke_person_short.mp4"))
    assert (source.first, source.last, source.kind, source.name) == (1, 50, "movie", "nuke_person_short")


def test_movie_frames_are_numbered_from_the_start_frame(person_clip):
    source = open_input(str(person_clip / "nuke_person_short.mp4"), start_frame=1001)
    assert (source.first, source.last) == (1001, 1050)


def test_movie_geometry_and_rate_come_from_the_stream(person_clip):
    source = open_input(str(person_clip / "nuke_person_short.mp4"))
    assert (source.width, source.height, source.fps, source.pixel_aspect) == (360, 640, 24.0, 1.0)
    assert not source.is_float and source.colorspace_hint is None


def test_first_movie_frame_matches_the_decoded_png(person_clip):
    plate = next(open_input(str(person_clip / "nuke_person_short.mp4")).read([1]))
    expected, _ = read_image(person_clip / "frames" / "0000.png")
    assert plate.rgb.dtype == np.float32 and plate.rgb.shape == (640, 360, 3)
    np.testing.assert_allclose(plate.rgb, expected, atol=1 / 255)


def test_a_frame_range_skips_the_frames_before_it(person_clip):
    source = open_input(str(person_clip / "nuke_person_short.mp4"), start_frame=1001)
    plates = list(source.read([1003, 1004]))
    assert [p.frame for p in plates] == [1003, 1004]
    expected, _ = read_image(person_clip / "frames" / "0002.png")
    np.testing.assert_allclose(plates[0].rgb, expected, atol=1 / 255)


def test_movie_plates_carry_a_header_with_the_frame_rate(person_clip):
    header = next(open_input(str(person_clip / "nuke_person_short.mp4")).read([1])).header
    assert header["display_window"] == (0, 0, 360, 640)
    assert header["attributes"]["FramesPerSecond"] == ("rational", (24, 1))


def test_reading_past_the_end_is_an_error_naming_the_frame(tmp_path):
    movie = encode(tmp_path / "short.mov", [np.zeros((8, 16, 3), np.uint8)] * 3)
    source = open_input(str(movie))
    with pytest.raises(InputError, match=r"frame 5 is missing: .*short\.mov ends at frame 3"):
        list(source.read([2, 5]))


def test_10bit_movies_keep_more_than_8_bits(tmp_path):
    levels = [513, 514, 515]
    frames = [np.full((8, 16, 3), level * 64, np.uint16) for level in levels]
    movie = encode(tmp_path / "ten.mkv", frames, codec="ffv1", pix_fmt="gbrp10le", input_format="rgb48le")
    plates = list(open_input(str(movie)).read([1, 2, 3]))
    for plate, level in zip(plates, levels):
        np.testing.assert_allclose(plate.rgb, level / 1023, atol=2e-5)


def test_sample_aspect_ratio_is_the_pixel_aspect(tmp_path):
    movie = encode(tmp_path / "anamorphic.mov", [np.zeros((8, 16, 3), np.uint8)] * 2, sample_aspect=Fraction(2, 1))
    source = open_input(str(movie))
    assert source.pixel_aspect == 2.0
    assert next(source.read([1])).header["pixel_aspect"] == 2.0


def test_a_movie_that_cannot_be_decoded_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match=r"broken\.mp4"):
        open_input(str(bad))


def test_a_missing_movie_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=r"does not exist: .*gone\.mov"):
        open_input(str(tmp_path / "gone.mov"))


def test_a_movie_start_timecode_advances_with_each_frame(tmp_path):
    container = av.open(str(tmp_path / "tc.mov"), "w")
    stream = container.add_stream("mpeg4", rate=24)
    stream.width, stream.height, stream.pix_fmt = 16, 8, "yuv420p"
    stream.metadata["timecode"] = "01:00:10:22"
    for _ in range(3):
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((8, 16, 3), np.uint8), format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    source = open_input(str(tmp_path / "tc.mov"), start_frame=1001)
    assert source.describe()["timecode"] == "01:00:10:22"
    codes = [p.header["attributes"]["smpte:TimeCode"] for p in source.read([1001, 1003])]
    assert codes == [("timecode", (0x01001022, 0)), ("timecode", (0x01001100, 0))]


def test_a_movie_without_timecode_has_none(person_clip):
    source = open_input(str(person_clip / "nuke_person_short.mp4"))
    assert source.describe()["timecode"] is None
    assert "smpte:TimeCode" not in next(source.read([1])).header["attributes"]
