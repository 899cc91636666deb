"""Scene frames ↔ source frames, and a sequence's file read as Blender reads it (blender_addon/frames.py)."""

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


def test_sequence_file_gives_pattern_number_and_the_frames_on_disk(frames, tmp_path):
    for n in (1001, 1002, 1005):
        (tmp_path / f"plate.{n:04d}.exr").write_bytes(b"")
    (tmp_path / "plate.1003.exr.tmp").write_bytes(b"")
    (tmp_path / "other.0900.exr").write_bytes(b"")
    pattern, number, on_disk = frames.sequence_file(str(tmp_path / "plate.1002.exr"))
    assert pattern.hashes == str(tmp_path / "plate.####.exr") and number == 1002
    assert on_disk.frames == (1001, 1002, 1005)


def test_name_without_digits_is_not_a_sequence(frames):
    assert frames.sequence_file("/shots/plate.exr") is None


def test_the_shipped_host_kit_is_the_repositorys(installed):
    """The zip carries core/rvmatte_hostkit, byte for byte (the build copies it; no second copy exists)."""
    import filecmp
    from pathlib import Path

    shipped = Path(installed.__file__).parent / "rvmatte_hostkit"
    source = Path(__file__).resolve().parents[2] / "core" / "rvmatte_hostkit"
    names = sorted(p.name for p in source.glob("*.py"))
    assert names and sorted(p.name for p in shipped.glob("*.py")) == names
    match, mismatch, errors = filecmp.cmpfiles(source, shipped, names, shallow=False)
    assert not mismatch and not errors
