"""Scene frames ↔ source frames, and image sequences on disk (blender_addon/frames.py)."""

import pytest


@pytest.fixture
def frames(installed):
    return installed.frames


def test_default_map_is_identity(frames):
    mapping = frames.FrameMap()
    assert [mapping.source_frame(f) for f in (1, 7)] == [1, 7]


def test_start_frame_and_offset_shift_the_source_frame(frames):
    mapping = frames.FrameMap(scene_start=101, offset=1000)
    assert mapping.source_frame(101) == 1001
    assert mapping.source_frame(110) == 1010


def test_scene_frame_inverts_source_frame(frames):
    mapping = frames.FrameMap(scene_start=-5, offset=17)
    assert all(mapping.scene_frame(mapping.source_frame(f)) == f for f in range(-10, 30))


def test_sequence_path_splits_at_the_last_number(frames):
    seq = frames.split_sequence_path("/shots/sh010_v2/plate.1001.exr")
    assert seq == frames.SequencePath("/shots/sh010_v2/plate.", 1001, 4, ".exr")
    assert seq.pattern() == "/shots/sh010_v2/plate.####.exr"
    assert seq.path(7) == "/shots/sh010_v2/plate.0007.exr"


def test_name_without_digits_is_not_a_sequence(frames):
    assert frames.split_sequence_path("/shots/plate.exr") is None


def test_sequence_range_finds_first_and_last_file(frames, tmp_path):
    for n in (1001, 1002, 1005):
        (tmp_path / f"plate.{n:04d}.exr").write_bytes(b"")
    (tmp_path / "plate.1003.exr.tmp").write_bytes(b"")
    (tmp_path / "other.0900.exr").write_bytes(b"")
    assert frames.sequence_range(str(tmp_path / "plate.1002.exr")) == (1001, 1005)


def test_sequence_range_of_an_empty_folder_is_none(frames, tmp_path):
    assert frames.sequence_range(str(tmp_path / "plate.0001.exr")) is None
