"""Frame-number patterns and the files on disk (rvmatte_hostkit.sequences)."""
import pytest

from rvmatte_hostkit import sequences
from rvmatte_hostkit.sequences import SequencePattern


@pytest.mark.parametrize("spec, padding", [
    ("/s/plate.####.exr", 4), ("/s/plate.@@@.exr", 3), ("/s/plate.%04d.exr", 4),
    ("/s/plate.%d.exr", 0), ("/s/plate.$F4.exr", 4), ("/s/plate.$F.exr", 0)])
def test_every_notation_gives_the_same_pattern_shape(spec, padding):
    assert sequences.parse_pattern(spec) == SequencePattern("/s", "plate.", ".exr", padding)


def test_a_name_without_a_token_is_not_a_pattern():
    assert sequences.parse_pattern("/s/plate.1001.exr") is None


def test_two_tokens_in_one_name_are_an_error_naming_it():
    with pytest.raises(sequences.PatternError, match="/s/a.##.b.%04d.exr: more than one"):
        sequences.parse_pattern("/s/a.##.b.%04d.exr")


def test_a_host_can_limit_the_notations():
    """Nuke: `@` is an ordinary character, so `shot@2x.####.exr` has one token."""
    pattern = sequences.parse_pattern("/s/shot@2x.####.exr", notations=("hashes", "printf"))
    assert pattern == SequencePattern("/s", "shot@2x.", ".exr", 4)
    assert not sequences.has_frame_token("/s/shot@2x.exr", notations=("hashes", "printf"))
    assert sequences.has_frame_token("/s/shot@2x.exr")


def test_tokens_in_the_folder_do_not_count():
    assert sequences.parse_pattern("/s/v#1/plate.exr") is None


def test_path_pads_and_keeps_longer_numbers():
    pattern = SequencePattern("/s", "plate.", ".exr", 4)
    assert pattern.path(7) == "/s/plate.0007.exr"
    assert pattern.path(12345) == "/s/plate.12345.exr"
    assert pattern.printf == "/s/plate.%04d.exr" and pattern.hashes == "/s/plate.####.exr"


def test_padded_pattern_reads_numbers_of_its_width_or_longer_without_leading_zero():
    pattern = SequencePattern("", "p.", ".exr", 4)
    assert pattern.matches("p.0012.exr") == 12
    assert pattern.matches("p.12345.exr") == 12345
    assert pattern.matches("p.012.exr") is None
    assert pattern.matches("p.00012.exr") is None
    assert pattern.matches("p.12a4.exr") is None


def test_unpadded_pattern_takes_no_leading_zeros():
    pattern = SequencePattern("", "p.", ".exr", 0)
    assert pattern.matches("p.7.exr") == 7 and pattern.matches("p.0.exr") == 0
    assert pattern.matches("p.07.exr") is None


def test_frames_on_disk_sorted_and_nonempty_filter(tmp_path):
    for frame in (3, 1, 2):
        (tmp_path / ("p.%04d.exr" % frame)).write_bytes(b"x")
    (tmp_path / "p.0004.exr").write_bytes(b"")
    (tmp_path / "q.0005.exr").write_bytes(b"x")
    pattern = SequencePattern(str(tmp_path), "p.", ".exr", 4)
    assert pattern.frames_on_disk() == [1, 2, 3, 4]
    assert pattern.frames_on_disk(nonempty=True) == [1, 2, 3]


def test_frames_on_disk_of_a_missing_folder_is_empty(tmp_path):
    assert SequencePattern(str(tmp_path / "none"), "p.", ".exr", 4).frames_on_disk() == []


def test_numbered_file_takes_its_own_digits_as_padding():
    pattern, number = sequences.numbered_file("/shots/sh010_v2/plate.1001.exr")
    assert pattern == SequencePattern("/shots/sh010_v2", "plate.", ".exr", 4) and number == 1001
    assert sequences.numbered_file("/shots/plate.exr") is None


def test_sequence_of_file_reads_padding_from_its_siblings(tmp_path):
    for frame in (998, 999, 1000, 1001):
        (tmp_path / ("p.%d.exr" % frame)).write_bytes(b"x")
    assert sequences.sequence_of_file(str(tmp_path / "p.1000.exr")).padding == 0
    (tmp_path / "q.0998.exr").write_bytes(b"x")
    assert sequences.sequence_of_file(str(tmp_path / "q.0998.exr")).padding == 4


def test_sequences_in_directory_ignores_hidden_and_other_files(tmp_path):
    for name in ("a.0001.exr", "a.0002.exr", "b_001.png", ".c.0001.exr", "notes.0001.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = sequences.sequences_in_directory(str(tmp_path))
    assert [s.hashes for s in found] == [str(tmp_path / "a.####.exr"), str(tmp_path / "b_###.png")]


def test_name_strips_separators_and_falls_back_to_the_folder():
    assert SequencePattern("/s", "plate.", ".exr", 4).name == "plate"
    assert SequencePattern("/s/sh010", "", ".exr", 4).name == "sh010"


def test_movies_are_told_by_extension():
    assert sequences.is_movie("/s/a.MOV") and not sequences.is_movie("/s/a.####.exr")
