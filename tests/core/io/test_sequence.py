"""Sequence patterns: every padding notation, single files, folders, output patterns."""

import os

import pytest

from rvmatte.errors import InputError, OutputError
from rvmatte.io.sequence import find_sequence, output_pattern, parse_pattern


def touch(directory, *names):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"")
    return directory


@pytest.mark.parametrize(
    "spec, padding",
    [
        ("plate.####.exr", 4),
        ("plate.%04d.exr", 4),
        ("plate.$F4.exr", 4),
        ("plate.@@@@.exr", 4),
        ("plate.#.exr", 1),
        ("plate.%d.exr", 0),
        ("plate.$F.exr", 0),
    ],
)
def test_each_padding_notation_gives_its_padding(spec, padding):
    pattern = parse_pattern(os.path.join("shots", spec))
    assert (pattern.directory, pattern.prefix, pattern.suffix, pattern.padding) == (
        "shots",
        "plate.",
        ".exr",
        padding,
    )


@pytest.mark.parametrize("spec", ["plate.####.exr", "plate.%04d.exr", "plate.$F4.exr", "plate.@@@@.exr"])
def test_padded_notations_resolve_to_the_same_files(tmp_path, spec):
    touch(tmp_path, "plate.1001.exr", "plate.1002.exr")
    pattern = find_sequence(str(tmp_path / spec))
    assert pattern.path(1001) == str(tmp_path / "plate.1001.exr")
    assert pattern.frames_on_disk() == [1001, 1002]


def test_unpadded_notation_finds_frames_of_any_width(tmp_path):
    touch(tmp_path, "plate.9.exr", "plate.10.exr", "plate.11.exr")
    assert find_sequence(str(tmp_path / "plate.%d.exr")).frames_on_disk() == [9, 10, 11]


def test_padded_pattern_ignores_files_with_other_padding(tmp_path):
    touch(tmp_path, "plate.0001.exr", "plate.001.exr", "plate.1.exr")
    assert find_sequence(str(tmp_path / "plate.####.exr")).frames_on_disk() == [1]


def test_frames_beyond_the_padding_width_belong_to_the_sequence(tmp_path):
    touch(tmp_path, "plate.9999.exr", "plate.10000.exr")
    assert find_sequence(str(tmp_path / "plate.####.exr")).frames_on_disk() == [9999, 10000]


def test_one_file_resolves_to_the_sequence_around_it(tmp_path):
    touch(tmp_path, "plate.1001.exr", "plate.1002.exr", "plate.1003.exr", "other.1001.exr")
    pattern = find_sequence(str(tmp_path / "plate.1002.exr"))
    assert pattern.hashes == str(tmp_path / "plate.####.exr")
    assert pattern.frames_on_disk() == [1001, 1002, 1003]


def test_one_file_of_an_unpadded_sequence_keeps_it_unpadded(tmp_path):
    touch(tmp_path, "plate.8.exr", "plate.9.exr", "plate.10.exr")
    assert find_sequence(str(tmp_path / "plate.10.exr")).frames_on_disk() == [8, 9, 10]


def test_one_file_of_a_zero_padded_sequence_takes_its_width(tmp_path):
    touch(tmp_path, "render_0099.png", "render_0100.png")
    pattern = find_sequence(str(tmp_path / "render_0100.png"))
    assert pattern.padding == 4
    assert pattern.frames_on_disk() == [99, 100]


def test_a_digit_in_the_extension_is_not_the_frame_number(tmp_path):
    touch(tmp_path, "plate.0001.jp2", "plate.0002.jp2")
    assert find_sequence(str(tmp_path / "plate.0001.jp2")).frames_on_disk() == [1, 2]


def test_a_folder_with_one_sequence_resolves_to_it(tmp_path):
    touch(tmp_path, "a.1001.exr", "a.1002.exr", "notes.txt", ".a.1003.exr.tmp-1-ab.exr")
    pattern = find_sequence(str(tmp_path))
    assert pattern.hashes == str(tmp_path / "a.####.exr")
    assert pattern.frames_on_disk() == [1001, 1002]


def test_a_folder_with_several_sequences_is_an_error_listing_them(tmp_path):
    touch(tmp_path, "a.1001.exr", "b.1001.exr")
    with pytest.raises(InputError, match=r"2 image sequences.*a\.####\.exr.*b\.####\.exr"):
        find_sequence(str(tmp_path))


def test_an_empty_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=f"no numbered image sequence in folder {tmp_path}"):
        find_sequence(str(tmp_path))


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    missing = str(tmp_path / "nowhere.1001.exr")
    with pytest.raises(InputError, match=f"does not exist: {missing}"):
        find_sequence(missing)


def test_a_pattern_matching_no_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=r"no frames found for .*plate\.####\.exr"):
        find_sequence(str(tmp_path / "plate.####.exr"))


@pytest.mark.parametrize(
    "spec, name",
    [
        ("plate.####.exr", "plate"),
        ("shotA_v002_####.exr", "shotA_v002"),
        ("shotA-v002-%04d.dpx", "shotA-v002"),
        ("plate####.exr", "plate"),
    ],
)
def test_name_drops_frame_number_and_separators(spec, name):
    assert parse_pattern(spec).name == name


def test_name_of_a_sequence_of_bare_numbers_is_its_folder(tmp_path):
    touch(tmp_path / "frames", "0000.png", "0001.png")
    assert find_sequence(str(tmp_path / "frames")).name == "frames"


def test_hashes_and_printf_forms(tmp_path):
    pattern = parse_pattern("out/plate.$F4.exr")
    assert pattern.hashes == os.path.join("out", "plate.####.exr")
    assert pattern.printf == os.path.join("out", "plate.%04d.exr")


def test_output_pattern_accepts_every_notation():
    for spec in ("out/a.####.exr", "out/a.%04d.exr", "out/a.$F4.exr", "out/a.@@@@.exr"):
        assert output_pattern(spec).path(7) == os.path.join("out", "a.0007.exr")


def test_output_pattern_infers_padding_from_a_numbered_name():
    assert output_pattern("out/a.1001.exr").path(1002) == os.path.join("out", "a.1002.exr")
    assert output_pattern("out/a.001.png").path(5) == os.path.join("out", "a.005.png")


def test_output_pattern_without_a_number_gets_four_digit_padding():
    assert output_pattern("out/alpha.exr").path(12) == os.path.join("out", "alpha.0012.exr")


def test_output_pattern_without_extension_is_an_error_naming_it():
    with pytest.raises(OutputError, match="out/alpha has no file extension"):
        output_pattern("out/alpha")
