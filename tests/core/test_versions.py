"""``rvmatte run -o OUT --versions``: a version folder per result key, reused by the same settings,
marked for Resume when a run stops early, pruned by --keep-versions (rvmatte.versions)."""
import json

import pytest

from rvmatte.cli import main
from rvmatte.engine import RunOptions, run
from rvmatte.io.stamp import stored_result
from rvmatte.progress import Reporter
from rvmatte_hostkit.versions import STATE_FILE, current, list_versions, resumable
from shots import make_exr_shot

FAST = ["--device", "cpu", "--progress", "json", "--downsample-ratio", "0.5"]


@pytest.fixture
def shot(tmp_path):
    return make_exr_shot(tmp_path / "in", frames=range(1, 4))


def _run(capsys, *args, code=0):
    capsys.readouterr()
    assert main([str(a) for a in ("run", *FAST, *args)]) == code
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _event(events, name):
    return next(e for e in events if e["event"] == name)


def _state(folder):
    return json.loads((folder / STATE_FILE).read_text())


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


class _StopAt(Reporter):
    """Raises ``error`` once ``frames`` frames are reported: a host's cancel (KeyboardInterrupt, as
    SIGTERM arrives) or a failure midway."""

    def __init__(self, frames, error):
        self.frames, self.error = frames, error

    def frame(self, frame, done, total, fps, skipped=False, **extra):
        if done >= self.frames:
            raise self.error


@pytest.fixture
def long_shot(tmp_path):
    """Long enough that a cancel at the first frame leaves frames not yet written."""
    return make_exr_shot(tmp_path / "long", frames=range(1, 9))


def _api_options(shot, out, ratio=0.5):
    return RunOptions(input=shot, alpha=str(out / "plate.alpha.####.exr"), foreground=str(out / "plate.fgr.####.exr"),
                      device="cpu", downsample_ratio=ratio, versions=str(out))


def test_the_same_settings_twice_write_into_one_version(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--versions")
    events = _run(capsys, shot, "-o", out, "--versions")
    assert [v.name for v in list_versions(str(out))] == ["v001"]
    assert _event(events, "start")["output_version"]["reused"] is True
    assert _event(events, "done")["written"] == 0


def test_another_downsample_ratio_writes_v002_and_leaves_v001_untouched(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--versions")
    before = _mtimes(out / "v001")
    _run(capsys, shot, "-o", out, "--versions", "--downsample-ratio", "0.25")
    assert _mtimes(out / "v001") == before
    assert stored_result(str(out / "v002" / "plate.alpha.0002.exr"))[1]["downsample_ratio"] == 0.25
    assert current(list_versions(str(out))).name == "v002"


def test_another_input_id_writes_a_new_version_and_the_same_one_reuses_it(shot, tmp_path, capsys):
    """The plate is keyed by its size only: a host that knows its contents changed (a Nuke node's
    upstream graph) says so with --input-id, and no frame of the old plate is kept."""
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--versions", "--input-id", "graph-a")
    events = _run(capsys, shot, "-o", out, "--versions", "--input-id", "graph-b")
    assert (_event(events, "done")["output_version"]["name"], _event(events, "done")["written"]) == ("v002", 3)
    events = _run(capsys, shot, "-o", out, "--versions", "--input-id", "graph-a")
    assert (_event(events, "done")["output_version"]["name"], _event(events, "done")["written"]) == ("v001", 0)
    assert stored_result(str(out / "v002" / "plate.alpha.0001.exr"))[1]["input_id"] == "graph-b"


def test_the_progress_events_name_the_version_folder(shot, tmp_path, capsys):
    out = tmp_path / "out"
    events = _run(capsys, shot, "-o", out, "--versions")
    start, done = _event(events, "start"), _event(events, "done")
    assert start["output_version"]["folder"] == done["output_version"]["folder"] == str(out / "v001")
    assert start["output_version"]["state"] == "running" and done["output_version"]["state"] == "complete"
    assert start["outputs"]["alpha"] == str(out / "v001" / "plate.alpha.####.exr")


def test_a_cancelled_run_leaves_its_version_cancelled_with_its_complete_frames(long_shot, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(_api_options(long_shot, out), _StopAt(1, KeyboardInterrupt()))
    state = _state(out / "v001")
    on_disk = sorted(int(p.name.split(".")[2]) for p in (out / "v001").glob("plate.fgr.*.exr"))
    assert state["state"] == "cancelled" and 1 <= len(on_disk) < 8
    assert state["frames"] == (f"1-{on_disk[-1]}" if len(on_disk) > 1 else "1")
    assert resumable(list_versions(str(out))).name == "v001"


def test_a_failing_run_leaves_its_version_failed_with_the_error(shot, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        run(_api_options(shot, out), _StopAt(2, RuntimeError("the disk went away")))
    state = _state(out / "v001")
    assert (state["state"], state["message"]) == ("failed", "the disk went away")


def test_a_rerun_after_a_cancel_resumes_its_version(long_shot, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(_api_options(long_shot, out), _StopAt(1, KeyboardInterrupt()))
    kept = len(list((out / "v001").glob("plate.alpha.*.exr")))
    events = _run(capsys, long_shot, "-o", out, "--versions")
    assert [v.name for v in list_versions(str(out))] == ["v001"]
    assert (_event(events, "done")["written"], _event(events, "done")["skipped"]) == (8 - kept, kept)
    assert (_state(out / "v001")["state"], _state(out / "v001")["frames"]) == ("complete", "1-8")


def test_a_complete_version_rerun_redoes_only_a_deleted_frame(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--versions")
    (out / "v001" / "plate.alpha.0002.exr").unlink()
    events = _run(capsys, shot, "-o", out, "--versions")
    assert _event(events, "done")["written"] == 1
    assert (out / "v001" / "plate.alpha.0002.exr").is_file()


def test_going_back_to_earlier_settings_reuses_their_version_as_the_current_one(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--versions")
    _run(capsys, shot, "-o", out, "--versions", "--downsample-ratio", "0.25")
    events = _run(capsys, shot, "-o", out, "--versions")
    assert _event(events, "done")["output_version"]["name"] == "v001"
    assert current(list_versions(str(out))).name == "v001"


def test_keep_versions_removes_only_complete_older_versions(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--versions")                                   # v001 complete
    with pytest.raises(KeyboardInterrupt):                                          # v002 cancelled
        run(_api_options(shot, out, ratio=0.25), _StopAt(1, KeyboardInterrupt()))
    events = _run(capsys, shot, "-o", out, "--versions", "--downsample-ratio", "0.375", "--keep-versions", "1")
    assert [v.name for v in list_versions(str(out))] == ["v002", "v003"]
    assert _event(events, "done")["output_version"]["removed"] == [str(out / "v001")]


def test_a_file_named_like_a_version_is_one_clear_line(shot, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "v001").write_text("not a folder")
    capsys.readouterr()
    assert main(["run", shot, "-o", str(out), "--versions", "--device", "cpu"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"rvmatte: error: --versions: {out / 'v001'} is a file, not a version folder: move it out of {out}"


def test_an_unreadable_state_file_is_one_clear_line(shot, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "v001").mkdir(parents=True)
    (out / "v001" / STATE_FILE).write_text("{half a file")
    capsys.readouterr()
    assert main(["run", shot, "-o", str(out), "--versions", "--device", "cpu"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"rvmatte: error: --versions: {out / 'v001' / STATE_FILE}: the version's state file is "
                           "not valid JSON")


def test_an_output_outside_the_versions_folder_is_refused_before_the_model_loads(shot, tmp_path, capsys):
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["run", shot, "-o", str(out), "--versions", "--alpha", str(tmp_path / "a.####.exr"),
                 "--device", "cpu"]) == 1
    assert "is not inside" in capsys.readouterr().err
    assert not out.exists()


def test_versions_without_an_output_folder_is_one_clear_line(shot, capsys):
    assert main(["run", shot, "--versions"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rvmatte: error: --versions needs -o OUT")


def test_a_host_reads_the_version_written_from_the_done_line(shot, tmp_path, capsys):
    from rvmatte_hostkit.progress import Finished, parse_line

    out = tmp_path / "out"
    events = _run(capsys, shot, "-o", out, "--versions")
    finished = parse_line(json.dumps(_event(events, "done")))
    assert isinstance(finished, Finished) and finished.output_version["folder"] == str(out / "v001")


def test_a_run_that_loses_the_race_for_a_new_folder_joins_the_winners_version(tmp_path, monkeypatch):
    from rvmatte import versions

    root = str(tmp_path / "out")
    winner = versions.choose(root, "same-key", {})
    scans = []
    real_scan = versions._versions

    def late_scan(folder):            # the loser looked before the winner's folder appeared
        scans.append(folder)
        return [] if len(scans) == 1 else real_scan(folder)

    monkeypatch.setattr(versions, "_versions", late_scan)
    monkeypatch.setattr(versions, "_next_number", lambda folder: 1)
    loser = versions.choose(root, "same-key", {})
    assert (loser.folder, loser.reused) == (winner.folder, "running")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["v001"]


def test_a_run_sharing_a_version_keeps_the_frames_another_recorded_meanwhile(tmp_path):
    from rvmatte import versions

    root = str(tmp_path / "out")
    first = versions.choose(root, "same-key", {})
    second = versions.choose(root, "same-key", {})           # a farm chunk of the same job
    first.mark("running", [1, 2, 3])
    second.mark("complete", [4, 5])
    assert _state(tmp_path / "out" / "v001")["frames"] == "1-5"


def test_a_folder_named_like_a_version_without_a_state_file_keeps_its_number(shot, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "v001").mkdir(parents=True)
    (out / "v001" / "notes.txt").write_text("the artist's own")
    events = _run(capsys, shot, "-o", out, "--versions")
    assert _event(events, "done")["output_version"]["name"] == "v002"
    assert [p.name for p in (out / "v001").iterdir()] == ["notes.txt"]


def test_a_state_change_waits_while_another_run_holds_the_versions_lock(tmp_path):
    import threading

    from rvmatte import versions

    root = str(tmp_path / "out")
    first = versions.choose(root, "same-key", {})
    second = versions.choose(root, "same-key", {})           # another farm chunk of the same job
    ended = threading.Event()
    with versions._locked(first.folder):                      # first is between reading and writing the file
        changing = threading.Thread(target=lambda: (second.mark(None, [3, 4]), ended.set()))
        changing.start()
        assert not ended.wait(0.5), "the state file changed under another run's lock"
        state = dict(first.state, frames="1-2")             # what first writes before releasing it
        (tmp_path / "out" / "v001" / STATE_FILE).write_text(json.dumps(state))
    changing.join(10)
    assert ended.is_set() and _state(tmp_path / "out" / "v001")["frames"] == "1-4"
    assert not (tmp_path / "out" / "v001" / versions.LOCK_FILE).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    import os

    from rvmatte import versions

    version = versions.choose(str(tmp_path / "out"), "same-key", {})
    lock = tmp_path / "out" / "v001" / versions.LOCK_FILE
    lock.write_text("")
    old = lock.stat().st_mtime - versions.STALE_LOCK_S - 5
    os.utime(lock, (old, old))
    version.mark("failed", [1], "killed")
    assert _state(tmp_path / "out" / "v001")["state"] == "failed" and not lock.exists()
