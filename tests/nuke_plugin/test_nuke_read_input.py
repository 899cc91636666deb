"""The Read-input shortcut: a Read whose knobs do not change the pixels is used
as it is; anything else is refused with the knob that stops it."""
import nuke
import pytest

from nuke_helpers import make_read
from rvmatte_nuke import read_input

PLATE = "/shots/a/plate.####.exr"


def plate(read, first=1001, last=1010):
    return read_input.plate_from_read(read, first, last, nuke.root())


def test_default_read_of_an_exr_sequence_is_used_directly():
    found, reason = plate(make_read(PLATE, 1001, 1010))
    assert reason is None
    assert found.pattern == "/shots/a/plate.%04d.exr"
    assert found.colorspace == "linear"  # root floatLut


def test_printf_patterns_are_passed_as_given():
    found, _ = plate(make_read("/shots/a/plate.%04d.exr", 1001, 1010))
    assert found.pattern == "/shots/a/plate.%04d.exr"


def test_default_colorspace_with_a_name_is_that_name():
    found, _ = plate(make_read(PLATE, 1001, 1010, colorspace="default (ACES - ACEScg)"))
    assert found.colorspace == "ACES - ACEScg"


def test_integer_files_default_to_the_int8_lut():
    found, _ = plate(make_read("/shots/a/plate.####.png", 1001, 1010))
    assert found.colorspace == "sRGB"


@pytest.mark.parametrize("knob, value, words", [
    ("colorspace", "Cineon", "colorspace"),
    ("raw", True, "raw"),
    ("before", "loop", "before"),
    ("after", "black", "after"),
    ("on_error", "black", "on_error"),
    ("premultiplied", True, "premultiplied"),
    ("disable", True, "disable"),
    ("proxy", "/shots/a/proxy.####.jpg", "proxy"),
])
def test_a_pixel_changing_knob_refuses_the_shortcut(knob, value, words):
    found, reason = plate(make_read(PLATE, 1001, 1010, **{knob: value}))
    assert found is None
    assert words in reason and "Read1" in reason


def test_a_frame_offset_refuses_the_shortcut():
    read = make_read(PLATE, 1001, 1010, frame_mode="start at", frame="1")
    found, reason = plate(read)
    assert found is None and "offsets its frames" in reason


def test_a_trimmed_range_refuses_the_shortcut():
    read = make_read(PLATE, 1001, 1010)
    read["first"].setValue(1003)
    found, reason = plate(read, 1003, 1010)
    assert found is None and "trims its range" in reason


def test_frames_beyond_the_read_refuse_the_shortcut():
    found, reason = plate(make_read(PLATE, 1001, 1010), 1001, 1020)
    assert found is None and "beyond" in reason


def test_a_movie_refuses_the_shortcut():
    found, reason = plate(make_read("/shots/a/plate.mov", 1, 10))
    assert found is None and "movie" in reason


def test_a_single_file_refuses_the_shortcut():
    found, reason = plate(make_read("/shots/a/still.exr", 1, 1))
    assert found is None and "image sequence" in reason


def test_upstream_read_is_found_through_dots():
    read = make_read(PLATE, 1001, 1010)
    dot = nuke.nodes.Dot()
    dot.setInput(0, read)
    consumer = nuke.nodes.NoOp()
    consumer.setInput(0, dot)
    assert read_input.upstream_read(consumer) is read


def test_any_other_upstream_node_means_no_read():
    grade = nuke.nodes.Grade()
    grade.setInput(0, make_read(PLATE, 1001, 1010))
    consumer = nuke.nodes.NoOp()
    consumer.setInput(0, grade)
    assert read_input.upstream_read(consumer) is None


def test_a_relative_file_is_taken_from_the_project_directory():
    nuke.root()["project_directory"].setValue("/jobs/show")
    found, reason = plate(make_read("plates/a/plate.####.exr", 1001, 1010))
    assert reason is None and found.pattern == "/jobs/show/plates/a/plate.%04d.exr"


def test_a_windows_project_directory_gets_forward_slashes():
    nuke.root()["project_directory"].setValue("P:\\\\show")           # TCL eats single backslashes
    found, _ = plate(make_read("plates/plate.####.exr", 1001, 1010))
    assert found.pattern == "P:/show/plates/plate.%04d.exr"


def test_an_absolute_file_ignores_the_project_directory():
    nuke.root()["project_directory"].setValue("/jobs/show")
    for path in (PLATE, "C:/shots/plate.####.exr", "//server/shots/plate.####.exr"):
        assert plate(make_read(path, 1001, 1010))[0].pattern == path.replace("####", "%04d")


def test_the_studios_filename_filter_decides_the_file():
    nuke.addFilenameFilter(lambda name: name.replace("/mnt/jobs/", "/Volumes/jobs/"))
    found, _ = plate(make_read("/mnt/jobs/a/plate.####.exr", 1001, 1010))
    assert found.pattern == "/Volumes/jobs/a/plate.%04d.exr"


def test_is_absolute_knows_each_platforms_roots():
    assert all(read_input.is_absolute(p) for p in ("/a", "C:/a", "c:\\a", "//srv/a", "\\\\srv\\a"))
    assert not any(read_input.is_absolute(p) for p in ("a/b", "C:a", "plates\\a", ""))
