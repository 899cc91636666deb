"""The version folders a host reads (rvmatte_hostkit.versions): which is current, which Resume continues."""
import json

import pytest

from rvmatte_hostkit.versions import STATE_FILE, VersionError, current, list_versions, resumable


def _version(root, name, state, updated, key=None):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / STATE_FILE).write_text(json.dumps({"key": key or name, "state": state, "frames": "1001-1010",
                                                 "created": updated, "updated": updated}))


def test_versions_are_listed_by_number_and_other_names_ignored(tmp_path):
    _version(tmp_path, "v010", "complete", "2026-01-01T00:00:02.000000Z")
    _version(tmp_path, "v002", "complete", "2026-01-01T00:00:01.000000Z")
    (tmp_path / "plate.alpha.0001.exr").write_text("")
    assert [(v.name, v.number) for v in list_versions(str(tmp_path))] == [("v002", 2), ("v010", 10)]


def test_the_current_version_is_the_complete_one_finished_last_not_the_highest_number(tmp_path):
    _version(tmp_path, "v001", "complete", "2026-01-01T00:00:03.000000Z")     # settings gone back to
    _version(tmp_path, "v002", "complete", "2026-01-01T00:00:02.000000Z")
    _version(tmp_path, "v003", "failed", "2026-01-01T00:00:01.000000Z")
    assert current(list_versions(str(tmp_path))).name == "v001"


def test_an_unfinished_version_after_the_current_one_is_resumable(tmp_path):
    _version(tmp_path, "v001", "complete", "2026-01-01T00:00:01.000000Z")
    _version(tmp_path, "v002", "cancelled", "2026-01-01T00:00:02.000000Z")
    assert resumable(list_versions(str(tmp_path))).name == "v002"


def test_nothing_is_resumable_once_a_later_run_completed(tmp_path):
    _version(tmp_path, "v001", "complete", "2026-01-01T00:00:03.000000Z")
    _version(tmp_path, "v002", "cancelled", "2026-01-01T00:00:02.000000Z")
    assert resumable(list_versions(str(tmp_path))) is None


def test_a_file_named_like_a_version_raises_one_line_or_is_skipped_into_errors(tmp_path):
    _version(tmp_path, "v001", "complete", "2026-01-01T00:00:01.000000Z")
    (tmp_path / "v002").write_text("")
    with pytest.raises(VersionError, match="v002 is a file, not a version folder"):
        list_versions(str(tmp_path))
    errors = []
    assert [v.name for v in list_versions(str(tmp_path), errors)] == ["v001"]
    assert len(errors) == 1 and "v002" in errors[0]


def test_a_state_file_without_a_known_state_is_refused(tmp_path):
    (tmp_path / "v001").mkdir()
    (tmp_path / "v001" / STATE_FILE).write_text(json.dumps({"key": "k", "state": "done"}))
    with pytest.raises(VersionError, match="not a version state file"):
        list_versions(str(tmp_path))


def test_a_folder_without_a_state_file_is_not_a_version(tmp_path):
    (tmp_path / "v001").mkdir()
    _version(tmp_path, "v002", "complete", "2026-01-01T00:00:01.000000Z")
    assert [v.name for v in list_versions(str(tmp_path))] == ["v002"]
