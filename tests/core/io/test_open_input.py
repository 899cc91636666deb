"""open_input: what a user can point rvmatte at."""

import numpy as np
import pytest
from io_files import ramp, write_image

from rvmatte.errors import InputError
from rvmatte.io import open_input


def test_a_folder_opens_its_sequence(exr_shot):
    source = open_input(str(exr_shot))
    assert source.frames == [1001, 1002, 1003] and source.name == "plate"


def test_one_file_opens_the_whole_sequence(exr_shot):
    assert open_input(str(exr_shot / "plate.1002.exr")).frames == [1001, 1002, 1003]


def test_an_unnumbered_image_is_a_one_frame_input(tmp_path):
    write_image(tmp_path / "portrait.png", ramp(), pixel_type="uint8")
    source = open_input(str(tmp_path / "portrait.png"))
    assert (source.frames, source.name) == ([1], "portrait")
    assert next(source.read([1])).rgb.shape == (6, 8, 3)


def test_a_movie_opens_as_a_movie(shared_dir):
    movie = shared_dir / "data" / "real_video" / "rvmnuke_person_short_360x640" / "nuke_person_short.mp4"
    assert open_input(str(movie)).kind == "movie"


def test_a_layer_for_a_movie_is_an_error(shared_dir):
    movie = shared_dir / "data" / "real_video" / "rvmnuke_person_short_360x640" / "nuke_person_short.mp4"
    with pytest.raises(InputError, match="--layer applies to multi-layer EXR"):
        open_input(str(movie), layer="beauty")


def test_image_sequences_keep_their_numbers_whatever_the_start_frame(exr_shot):
    assert open_input(str(exr_shot), start_frame=1).frames == [1001, 1002, 1003]


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=f"input does not exist: {tmp_path / 'nope'}"):
        open_input(str(tmp_path / "nope"))


def test_an_empty_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=f"no numbered image sequence in folder {tmp_path}"):
        open_input(str(tmp_path))


def test_describe_summarises_the_input_for_info(tmp_path):
    write_image(tmp_path / "s.1001.exr", ramp(), attributes={"PixelAspectRatio": 2.0})
    write_image(tmp_path / "s.1003.exr", ramp())
    summary = open_input(str(tmp_path / "s.####.exr")).describe()
    assert summary["frames"] == 2 and (summary["first"], summary["last"]) == (1001, 1003)
    assert summary["missing"] == [1002] and summary["pixel_aspect"] == 2.0
    assert summary["layers"] == ["rgba"] and summary["format"] == "openexr"


def test_what_is_written_reads_back_through_open_input(tmp_path):
    from rvmatte.io import write_frame

    header = {"display_window": (0, 0, 8, 6), "data_window": (1, 1, 6, 4), "pixel_aspect": 1.5, "attributes": {}}
    write_frame(str(tmp_path / "o.1001.exr"), ramp(channels=4), ["R", "G", "B", "A"], header=header)
    plate = next(open_input(str(tmp_path / "o.1001.exr")).read([1001]))
    assert plate.header["data_window"] == (1, 1, 6, 4) and plate.header["pixel_aspect"] == 1.5
    expected = np.zeros((6, 8, 3), np.float32)
    expected[1:5, 1:7] = ramp(channels=4)[1:5, 1:7, :3]
    np.testing.assert_array_equal(plate.rgb, expected)
