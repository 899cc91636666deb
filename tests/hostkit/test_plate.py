"""A plate's id for `rvmatte run --input-id` (rvmatte_hostkit.plate): its path and the sizes and
modification times of the files that stand for it."""
import os
import re

from rvmatte_hostkit.plate import file_stamp, input_id, sequence_ends
from rvmatte_hostkit.sequences import parse_pattern


def _sequence(folder, frames, text="pixels"):
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        path = folder / ("plate.%04d.exr" % frame)
        path.write_text(text)
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return parse_pattern(str(folder / "plate.####.exr"))


def test_a_stamp_is_the_size_and_the_whole_seconds_of_the_modification_time(tmp_path):
    path = tmp_path / "plate.mov"
    path.write_bytes(b"x" * 123)
    os.utime(path, (1_700_000_000.75, 1_700_000_000.75))
    assert file_stamp(str(path)) == "123:1700000000"
    assert file_stamp(str(tmp_path / "gone.mov")) == "missing"


def test_a_sequence_stands_by_its_first_and_last_frame_on_disk_or_the_frames_given(tmp_path):
    pattern = _sequence(tmp_path, [1001, 1002, 1005])
    assert sequence_ends(pattern) == [(1001, pattern.path(1001)), (1005, pattern.path(1005))]
    assert sequence_ends(pattern, (1002, 1002)) == [(1002, pattern.path(1002))]
    assert sequence_ends(_sequence(tmp_path / "one", [7])) == [(7, str(tmp_path / "one" / "plate.0007.exr"))]
    assert sequence_ends(parse_pattern(str(tmp_path / "none" / "plate.####.exr"))) == []


def test_the_id_is_short_hex_and_the_same_for_the_same_files(tmp_path):
    pattern = _sequence(tmp_path, range(1001, 1004))
    first = input_id(pattern.hashes, sequence_ends(pattern))
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert input_id(pattern.hashes, sequence_ends(pattern)) == first


def test_a_re_rendered_end_frame_another_path_or_an_extra_entry_is_another_id(tmp_path):
    pattern = _sequence(tmp_path, range(1001, 1004))
    before = input_id(pattern.hashes, sequence_ends(pattern))
    os.utime(pattern.path(1003), (1_700_000_100, 1_700_000_100))                  # touched: same size
    touched = input_id(pattern.hashes, sequence_ends(pattern))
    assert touched != before
    os.utime(pattern.path(1003), (1_700_000_000, 1_700_000_000))
    assert input_id(pattern.hashes, sequence_ends(pattern)) == before               # the same files again
    with open(pattern.path(1001), "a") as stream:                                  # re-rendered: other size
        stream.write("more")
    os.utime(pattern.path(1001), (1_700_000_000, 1_700_000_000))
    assert input_id(pattern.hashes, sequence_ends(pattern)) not in (before, touched)
    other = _sequence(tmp_path / "other", range(1001, 1004))
    assert input_id(other.hashes, sequence_ends(other)) != input_id(pattern.hashes, sequence_ends(other))
    assert input_id(other.hashes, sequence_ends(other), ["layer=rgba"]) != input_id(other.hashes,
                                                                                     sequence_ends(other))


def test_a_middle_frame_is_not_looked_at(tmp_path):
    """Only the ends stand for a sequence (a stat each, whatever its length): documented in docs/blender.md."""
    pattern = _sequence(tmp_path, range(1001, 1004))
    before = input_id(pattern.hashes, sequence_ends(pattern))
    os.utime(pattern.path(1002), (1_700_000_100, 1_700_000_100))
    assert input_id(pattern.hashes, sequence_ends(pattern)) == before


def test_a_movie_stands_by_its_own_file(tmp_path):
    movie = tmp_path / "plate.mov"
    movie.write_bytes(b"frames")
    os.utime(movie, (1_700_000_000, 1_700_000_000))
    before = input_id(str(movie), [("movie", str(movie))])
    os.utime(movie, (1_700_000_001, 1_700_000_001))
    assert input_id(str(movie), [("movie", str(movie))]) != before
