"""``rvmatte run --target/--target-point/--people -o OUT --versions``: the people pass writes into the
version folder of its people key (the matte's key fields plus who is who), marked as a plain versioned run."""
import json

import pytest

from composites import make_shot, rough_mask, write_mask
from rvmatte import progress
from rvmatte.cli import main
from rvmatte.io.stamp import stored_result
from rvmatte_hostkit.versions import STATE_FILE, list_versions

pytest.importorskip("cv2", reason="the people pass needs opencv-python-headless")

FAST = ["--device", "cpu", "--progress", "json", "--float"]


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shot")
    made = make_shot(str(folder), "apart", 256, 144, 3)
    write_mask(str(folder / "hero.0001.png"), rough_mask(made["arrays"][1][0]))
    write_mask(str(folder / "other.0001.png"), rough_mask(made["arrays"][1][1]))
    return made["plate"], str(folder / "hero.####.png"), str(folder / "other.####.png")


def _run(capsys, *args, code=0):
    capsys.readouterr()
    assert main([str(a) for a in ("run", *FAST, *args)]) == code
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _state(folder):
    return json.loads((folder / STATE_FILE).read_text())


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_a_people_run_with_versions_writes_into_v001_and_marks_it_complete(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    assert sorted(p.name for p in out.iterdir()) == ["v001"]
    written = sorted(p.name for p in (out / "v001").glob("shot.*.exr"))
    assert written == [f"shot.{kind}.{f:04d}.exr" for kind in ("alpha", "fgr", "people") for f in (1, 2, 3)]
    assert (_state(out / "v001")["state"], _state(out / "v001")["frames"]) == ("complete", "1-3")


def test_the_version_holds_the_people_key_separate_stamps(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    key, fields = stored_result(str(out / "v001" / "shot.people.0002.exr"))
    assert _state(out / "v001")["key"] == key == stored_result(str(out / "v001" / "shot.alpha.0001.exr"))[0]
    assert fields["people"] and fields["bit_depth"] == "float"


def test_another_target_mask_writes_v002_and_leaves_v001_untouched(shot, tmp_path, capsys):
    plate, hero, other = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    before = _mtimes(out / "v001")
    events = _run(capsys, plate, "-o", out, "--versions", "--target", other)
    assert events[-1]["output_version"]["name"] == "v002"
    assert _mtimes(out / "v001") == before
    assert _state(out / "v002")["state"] == "complete"


def test_the_same_people_settings_reuse_v001(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    events = _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    assert [v.name for v in list_versions(str(out))] == ["v001"]
    assert (events[-1]["output_version"]["name"], events[-1]["output_version"]["reused"]) == ("v001", True)


def test_a_failing_people_run_marks_its_version_failed_and_leaves_the_complete_one(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    before = _mtimes(out / "v001")
    events = _run(capsys, plate, "-o", out, "--versions", "--target-point", "2,2@1", code=1)
    state = _state(out / "v002")
    assert state["state"] == "failed" and "--target-point 2,2@1: no person at 2,2" in state["message"]
    assert events[-1]["event"] == "error" and not [e for e in events if e["event"] == "done"]
    assert _mtimes(out / "v001") == before and _state(out / "v001")["state"] == "complete"


def test_a_cancelled_people_run_marks_its_version_cancelled(shot, tmp_path, monkeypatch):
    plate, hero, _ = shot
    out = tmp_path / "out"

    class Cancel(progress.Reporter):          # a host's cancel: SIGTERM raises KeyboardInterrupt mid-matte
        def frame(self, *args, **kwargs):
            raise KeyboardInterrupt

    monkeypatch.setattr(progress, "make_reporter", lambda mode: Cancel())
    assert main(["run", plate, "-o", str(out), "--device", "cpu", "--versions", "--target", hero]) == 130
    assert _state(out / "v001")["state"] == "cancelled"


def test_a_cancelled_rerun_of_a_complete_people_version_leaves_it_complete(shot, tmp_path, capsys, monkeypatch):
    """The same settings again split the shot again into the same results, each file replaced whole:
    the version the hosts show stays complete whatever becomes of that run."""
    plate, hero, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)

    class Cancel(progress.Reporter):
        def frame(self, *args, **kwargs):
            raise KeyboardInterrupt

    monkeypatch.setattr(progress, "make_reporter", lambda mode: Cancel())
    assert main(["run", plate, "-o", str(out), *FAST, "--versions", "--target", hero]) == 130
    assert _state(out / "v001")["state"] == "complete"
    assert [v.name for v in list_versions(str(out))] == ["v001"]


def test_the_one_done_event_comes_last_and_names_the_version(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    events = _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    done = [e for e in events if e["event"] == "done"]
    assert len(done) == 1 and events[-1] is done[0]
    version = done[0]["output_version"]
    assert (version["name"], version["folder"], version["state"]) == ("v001", str(out / "v001"), "complete")
    assert done[0]["outputs"]["people"] == str(out / "v001" / "shot.people.####.exr")
    start = next(e for e in events if e["event"] == "start")
    assert (start["output_version"]["name"], start["output_version"]["state"]) == ("v001", "running")


def test_keep_versions_prunes_the_older_complete_version_after_a_successful_people_run(shot, tmp_path, capsys):
    plate, hero, other = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    events = _run(capsys, plate, "-o", out, "--versions", "--target", other, "--keep-versions", "1")
    assert sorted(p.name for p in out.iterdir()) == ["v002"]
    assert events[-1]["output_version"]["removed"] == [str(out / "v001")]


def test_keep_versions_removes_nothing_after_a_failing_people_run(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--target", hero)
    _run(capsys, plate, "-o", out, "--versions", "--target-point", "2,2@1", "--keep-versions", "1", code=1)
    assert sorted(p.name for p in out.iterdir()) == ["v001", "v002"]


def test_people_n_with_versions_writes_everyones_passes_into_the_version(shot, tmp_path, capsys):
    plate, _, _ = shot
    out = tmp_path / "out"
    _run(capsys, plate, "-o", out, "--versions", "--people", "2")
    assert sorted(p.name for p in out.iterdir()) == ["v001"]
    assert (out / "v001" / "shot.alpha.0003.exr").is_file() and (out / "v001" / "shot.people.0003.exr").is_file()
    assert _state(out / "v001")["frames"] == "1-3"


def test_versions_with_a_people_step_is_refused_naming_both(shot, tmp_path, capsys):
    plate, hero, _ = shot
    events = _run(capsys, plate, "-o", tmp_path / "out", "--versions", "--target", hero, "--people-step", "matte",
                  code=1)
    assert "--versions does not work with --people-step matte" in events[-1]["message"]
    assert not (tmp_path / "out").exists()


def test_an_unversioned_people_run_that_fails_in_the_split_sends_no_done(shot, tmp_path, capsys):
    """The matte's done is held until the split has written everything: a host never reads 'done'
    followed by an error."""
    plate, _, _ = shot
    events = _run(capsys, plate, "-o", tmp_path / "out", "--target-point", "2,2@1", code=1)
    assert [e["event"] for e in events if e["event"] in ("done", "error")] == ["error"]


def test_a_versioned_people_run_refuses_an_alpha_outside_out_before_matting(shot, tmp_path, capsys):
    plate, hero, _ = shot
    elsewhere = tmp_path / "elsewhere" / "hero.####.exr"
    events = _run(capsys, plate, "-o", tmp_path / "out", "--versions", "--target", hero, "--alpha", elsewhere,
                  code=1)
    assert f"--alpha {elsewhere} is not inside {tmp_path / 'out'}" in events[-1]["message"]
    assert [e["event"] for e in events] == ["error"]


def test_start_and_done_name_the_split_outputs_not_the_scratch_matte(shot, tmp_path, capsys):
    plate, hero, _ = shot
    out = tmp_path / "out"
    events = _run(capsys, plate, "-o", out, "--target", hero)
    named = {"alpha": str(out / "shot.alpha.####.exr"), "foreground": str(out / "shot.fgr.####.exr"),
             "people": str(out / "shot.people.####.exr")}
    assert [e["outputs"] for e in events if e["event"] in ("start", "done")] == [named, named]
