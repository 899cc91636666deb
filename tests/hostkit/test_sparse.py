"""Sequences present on some frames only (rvmatte_hostkit.sparse)."""
from rvmatte_hostkit import sparse
from rvmatte_hostkit.sequences import SequencePattern

PATTERN = SequencePattern("/k", "key.", ".exr", 4)


def keyframes(*frames):
    return sparse.SparseSequence(PATTERN, frames)


def test_frames_are_sorted_once_each():
    assert keyframes(1040, 1012, 1040).frames == (1012, 1040)


def test_missing_lists_the_frames_of_a_range_that_are_absent():
    assert keyframes(1001, 1002, 1005).missing(range(1001, 1007)) == [1003, 1004, 1006]


def test_within_gives_the_present_frames_of_a_range():
    assert keyframes(990, 1001, 1005, 1020).within(1000, 1010) == [1001, 1005]


def test_nearest_prefers_the_earlier_frame_on_a_tie():
    keys = keyframes(1010, 1020)
    assert keys.nearest(1014) == 1010 and keys.nearest(1016) == 1020 and keys.nearest(1015) == 1010
    assert keys.nearest(900) == 1010 and keys.nearest(2000) == 1020
    assert keyframes().nearest(5) is None


def test_a_still_serves_every_frame():
    still = sparse.SparseSequence(SequencePattern("/m", "garbage", ".png", None), ())
    assert still.still and still.has(12345) and still.missing(range(1, 5)) == []
    assert still.path(77) == "/m/garbage.png"


def test_scan_reads_the_disk(tmp_path):
    for frame in (1012, 1040):
        (tmp_path / ("key.%04d.exr" % frame)).write_bytes(b"x")
    found = sparse.SparseSequence.scan(str(tmp_path / "key.####.exr"))
    assert found.frames == (1012, 1040) and 1012 in found and 1013 not in found
    assert found.first == 1012 and found.last == 1040


def test_scan_of_one_numbered_file_finds_its_sequence(tmp_path):
    for frame in (1, 2, 4):
        (tmp_path / ("m.%03d.png" % frame)).write_bytes(b"x")
    assert sparse.SparseSequence.scan(str(tmp_path / "m.002.png")).frames == (1, 2, 4)


def test_ranges_are_written_compactly():
    assert sparse.format_ranges([1003, 1001, 1002, 1010, 1012, 1013]) == "1001-1003, 1010, 1012-1013"
    assert sparse.format_ranges(range(0, 40, 2), limit=3) == "0, 2, 4 … (17 more runs)"


def test_describe_names_pattern_and_frames():
    assert keyframes(1, 2, 3, 9).describe() == "/k/key.####.exr (frames 1-3, 9)"


def test_frame_lists_are_read_with_commas_spaces_and_ranges():
    assert sparse.parse_ranges("1010, 1003 1020-1022,1003") == [1003, 1010, 1020, 1021, 1022]
    assert sparse.parse_ranges("  ") == []
    assert sparse.parse_ranges(sparse.format_ranges([1, 2, 3, 7])) == [1, 2, 3, 7]


def test_a_frame_list_word_that_is_not_a_frame_is_named():
    import pytest
    with pytest.raises(ValueError, match="'10a' is not a frame"):
        sparse.parse_ranges("1003,10a")
    with pytest.raises(ValueError, match="1022-1020 runs backwards"):
        sparse.parse_ranges("1022-1020")
