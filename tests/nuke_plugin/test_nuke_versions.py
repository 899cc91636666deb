"""Versions (rvmatte_nuke.versions): Generate writes into <output dir>/v### with `rvmatte run
--versions`; the internal Reads move to the new version only when the job succeeds, a cancel or a
failure leaves the previous matte shown and its version is offered as Resume; keep versions passes
--keep-versions; the people pass and scripts made before versions write into the folder itself."""
import json
import os
import time

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte, wait_for
from rvmatte_nuke import generate, jobs, sequences, staleness, versions, wiring
from rvmatte_nuke.rvmatte_hostkit.versions import STATE_FILE, current, list_versions


def worker_runs(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def option(argv, name):
    return argv[argv.index(name) + 1]


def shown(group):
    return group.node("alpha_read")["file"].value(), group.node("fgr_read")["file"].value()


def in_version(group, name):
    folder = os.path.join(jobs.output_dir(group), name)
    return os.path.join(folder, "RVMatte1.alpha.####.exr"), os.path.join(folder, "RVMatte1.fgr.####.exr")


def contents(folder):
    return dict((n, open(os.path.join(folder, n), "rb").read()) for n in sorted(os.listdir(folder)))


def cancel_midway(run, frames):
    """Cancels the Generate's progress task once it has reported a frame, before it ends."""
    deadline = time.time() + 20
    while not (nuke._fake.progress_tasks and nuke._fake.progress_tasks[-1].progress) and time.time() < deadline:
        time.sleep(0.05)
    nuke._fake.progress_tasks[-1]._fake_cancel()
    wait_for(run, timeout=20)


@pytest.fixture
def plate():
    return make_read("/p/plate.####.exr", 1, 6)


def test_generate_runs_the_worker_with_versions_into_the_output_directory(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    (argv,) = worker_runs(fake_worker)
    assert option(argv, "-o") == jobs.output_dir(group) and "--versions" in argv
    assert argv[-2:] == ["--progress", "json"] and "--keep-versions" not in argv


def test_the_reads_show_the_version_the_job_wrote(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    assert shown(group) == in_version(group, "v001")
    assert sequences.complete_frames(shown(group)[0], 1, 6) == list(range(1, 7))
    assert json.loads(group["rvm_result"].value())["version"] == "v001"
    assert group["status"].value().endswith(", v001")


def test_other_settings_make_a_new_version_and_leave_the_old_one_untouched(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    before = contents(os.path.join(jobs.output_dir(group), "v001"))
    group["ratio_mode"].setValue("value")
    wait_for(generate.generate(group))
    assert shown(group) == in_version(group, "v002")
    assert contents(os.path.join(jobs.output_dir(group), "v001")) == before


def test_a_regraded_plate_of_the_same_size_makes_a_new_version(saved_script, fake_worker, plate):
    """The worker's result key knows the plate by its size: the node adds --input-id (its upstream
    graph), so frames of the old grade are never kept as if they were of the new one."""
    grade = nuke.nodes.Grade()
    grade.setInput(0, plate)
    nuke._fake.render_hook = lambda write, frame, view: open(sequences.frame_file(write["file"].value(), frame),
                                                             "wb").write(b"plate")
    group = make_rvmatte(grade)
    wait_for(generate.generate(group))
    first_id = option(worker_runs(fake_worker)[0], "--input-id")
    grade["white"].setValue(2.0)
    wait_for(generate.generate(group))
    assert option(worker_runs(fake_worker)[1], "--input-id") != first_id
    assert shown(group) == in_version(group, "v002")
    assert json.loads(open(os.path.join(jobs.output_dir(group), "v002", STATE_FILE)).read())["state"] == "complete"


def test_the_same_settings_again_go_back_into_their_version(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    group["ratio_mode"].setValue("value")
    wait_for(generate.generate(group))
    group["ratio_mode"].setValue("auto")
    wait_for(generate.generate(group))
    assert shown(group) == in_version(group, "v001")
    assert [v.name for v in list_versions(jobs.output_dir(group))] == ["v001", "v002"]
    assert wiring.refresh_stale(group) is False


def test_a_cancelled_generate_leaves_the_previous_matte_shown(saved_script, fake_worker, plate, monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 30))
    wait_for(generate.generate(group))
    before = contents(os.path.join(jobs.output_dir(group), "v001"))
    group["ratio_mode"].setValue("value")
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    cancel_midway(generate.generate(group), 30)
    assert shown(group) == in_version(group, "v001")
    assert contents(os.path.join(jobs.output_dir(group), "v001")) == before
    assert group.node("switch")["which"].value() == 1
    assert group["status"].value().endswith("the matte was not changed; Resume continues v002")


def test_a_failed_generate_leaves_the_previous_matte_shown(saved_script, fake_worker, plate, monkeypatch):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    group["ratio_mode"].setValue("value")
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    wait_for(generate.generate(group))
    assert shown(group) == in_version(group, "v001")
    assert group["status"].value().endswith("; Resume continues v002")
    state = json.loads(open(os.path.join(jobs.output_dir(group), "v002", STATE_FILE)).read())
    assert (state["state"], state["frames"]) == ("failed", "1-2")


def test_after_a_cancel_the_stale_flag_judges_the_matte_still_shown(saved_script, fake_worker, monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 30))
    wait_for(generate.generate(group))
    shown_state = group["rvm_state"].value()
    group["ratio_mode"].setValue("value")
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    cancel_midway(generate.generate(group), 30)
    assert group["rvm_state"].value() == shown_state
    assert json.loads(group["rvm_result"].value())["version"] == "v001"
    assert wiring.refresh_stale(group) is True


def test_resume_continues_the_unfinished_version_keeping_its_frames(saved_script, fake_worker, monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 30))
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    cancel_midway(generate.generate(group), 30)
    kept = sequences.complete_frames(in_version(group, "v001")[0], 1, 30)
    assert 0 < len(kept) < 30 and group.node("switch")["which"].value() == 0
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "ok")
    run = versions.resume(group)
    wait_for(run)
    assert run.job.resume == "v001"
    assert shown(group) == in_version(group, "v001")
    assert group.node("switch")["which"].value() == 1
    assert sequences.complete_frames(shown(group)[0], 1, 30) == list(range(1, 31))
    assert open(sequences.frame_file(shown(group)[0], kept[0]), "rb").read().startswith(b"fake exr")
    assert group["rvm_pending"].value() == "" and current(list_versions(jobs.output_dir(group))).name == "v001"


def test_resume_with_other_settings_is_refused(saved_script, fake_worker, monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 30))
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    cancel_midway(generate.generate(group), 30)
    runs = len(worker_runs(fake_worker))
    group["precision"].setValue("float16")
    assert versions.resume(group) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: v001 was started with other settings or another upstream: "
                                   "Resume continues it only with those (Generate makes a new version)"]
    assert len(worker_runs(fake_worker)) == runs


def test_resume_with_nothing_unfinished_says_so(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    assert versions.resume(group) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: nothing to resume: no unfinished version in %s"
                                   % jobs.output_dir(group)]


def test_the_resume_button_is_on_the_node(saved_script, fake_worker, monkeypatch):
    monkeypatch.setattr(nuke, "GUI", False)
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    generate.generate(group)
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "ok")
    nuke._fake.press(group["resume"])
    assert shown(group) == in_version(group, "v001") and group["status"].value().startswith("matte 1-6")


def test_keep_versions_passes_keep_versions_and_older_versions_go(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    assert group["keep_versions"].value() == 0
    wait_for(generate.generate(group))
    group["keep_versions"].setValue(1)
    group["ratio_mode"].setValue("value")
    wait_for(generate.generate(group))
    assert option(worker_runs(fake_worker)[-1], "--keep-versions") == "1"
    assert [v.name for v in list_versions(jobs.output_dir(group))] == ["v002"]
    assert shown(group) == in_version(group, "v002")


def test_a_negative_keep_versions_is_refused(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    group["keep_versions"].setValue(-1)
    assert generate.generate(group) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: keep versions is -1: 0 keeps every version, N the N "
                                   "finished last"]


def test_keep_versions_does_not_change_the_stale_flag(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    group["keep_versions"].setValue(3)
    assert wiring.refresh_stale(group) is False


def test_the_people_pass_writes_a_version_too(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    group["people"].setValue(2)
    wait_for(generate.generate(group))
    (argv,) = worker_runs(fake_worker)
    assert "--versions" in argv and option(argv, "-o") == jobs.output_dir(group) and option(argv, "--people") == "2"
    assert nuke._fake.messages == []
    assert shown(group) == in_version(group, "v001")


def test_a_cancelled_people_generate_keeps_the_previous_version_and_offers_no_resume(saved_script, fake_worker,
                                                                                  monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 30))
    group["people"].setValue(2)
    wait_for(generate.generate(group))
    before = contents(os.path.join(jobs.output_dir(group), "v001"))
    group["people"].setValue(3)
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    cancel_midway(generate.generate(group), 30)
    assert shown(group) == in_version(group, "v001")
    assert contents(os.path.join(jobs.output_dir(group), "v001")) == before
    assert group["status"].value().endswith("the matte was not changed")
    assert not group["resume"].visible() and group["rvm_pending"].value() == ""


def test_the_cryptomatte_read_shows_the_people_exr_of_the_version_written(saved_script, fake_worker, plate):
    group = make_rvmatte(plate)
    group["people"].setValue(2)
    wait_for(generate.generate(group))
    read = nuke.toNode("RVMatte1_people")
    assert read["file"].value().startswith(os.path.join(jobs.output_dir(group), "v001") + os.sep)


def test_a_node_from_before_versions_keeps_its_matte_until_a_generate_succeeds(saved_script, fake_worker, plate,
                                                                               monkeypatch):
    monkeypatch.setattr(nuke, "GUI", False)
    group = make_rvmatte(plate)
    real_collect = jobs.collect

    def collect_as_before_versions(*args, **kwargs):
        job = real_collect(*args, **kwargs)
        job.versions = False                # as the plugin before versions: passes directly in the folder
        return job

    monkeypatch.setattr(jobs, "collect", collect_as_before_versions)
    generate.generate(group)
    monkeypatch.setattr(jobs, "collect", real_collect)
    old = shown(group)
    assert os.path.dirname(old[0]) == jobs.output_dir(group)
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    generate.generate(group)
    assert shown(group) == old and sequences.complete_frames(old[0], 1, 6) == list(range(1, 7))
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "ok")
    generate.generate(group)
    assert shown(group) == in_version(group, "v001")


def test_two_nodes_writing_into_one_output_directory_are_refused(saved_script, fake_worker, plate):
    first, second = make_rvmatte(plate), make_rvmatte(plate)
    for group in (first, second):
        group["output_dir"].setValue(str(saved_script / "mattes"))
    assert generate.generate(second) is None
    assert nuke._fake.messages == ["RVMatte RVMatte2: RVMatte1 writes into the same output directory %s: give "
                                   "each RVMatte node its own (the versions in a folder are one node's)"
                                   % (saved_script / "mattes")]


def test_load_results_of_a_farm_render_records_its_version_and_no_context(saved_script, fake_worker, plate, monkeypatch,
                                                                        weights_path):
    import sys

    from rvmatte_nuke import farm, settings

    group = make_rvmatte(plate)
    wait_for(generate.generate(group))
    assert json.loads(group["rvm_result"].value())["version"] == "v001"
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=sys.executable, weights=str(weights_path)))
    farm.write_job([group])
    out = jobs.output_dir(group)
    sidecar = json.load(open(os.path.join(out, wiring.SIDECAR % "RVMatte1")))
    farm_version = os.path.join(out, "v002")           # what the farm's tasks leave: another key, finished last
    os.makedirs(farm_version)
    for pattern in (sidecar["alpha"], sidecar["foreground"]):
        for frame in range(1, 7):
            open(sequences.frame_file(os.path.join(farm_version, os.path.basename(pattern)), frame), "wb").write(b"exr")
    json.dump({"key": "f" * 16, "state": "complete", "frames": "1-6", "updated": "9999-01-01T00:00:00.000000Z"},
              open(os.path.join(farm_version, STATE_FILE), "w"))
    wiring.load_results(group)
    record = json.loads(group["rvm_result"].value())
    assert shown(group)[0] == record["alpha"] == os.path.join(farm_version, os.path.basename(sidecar["alpha"]))
    assert record["version"] == "v002" and record["context"] is None


def test_a_node_without_the_versions_knobs_still_generates_and_fails_cleanly(saved_script, fake_worker, plate,
                                                                            monkeypatch):
    """A node of version 4 that was not upgraded yet (no keep versions, Resume, rvm_pending)."""
    nuke.GUI = False
    group = make_rvmatte(plate)
    for name in ("keep_versions", "resume", versions.PENDING_KNOB):
        group.removeKnob(group[name])
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    generate.generate(group)
    assert group["status"].value().endswith("; Resume continues v001") and nuke._fake.main_errors == []
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "ok")
    generate.generate(group)
    assert shown(group) == in_version(group, "v001")


def test_resume_is_hidden_until_a_generate_stops_early_and_again_once_it_is_done(saved_script, fake_worker,
                                                                              monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    assert not group["resume"].visible()
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    wait_for(generate.generate(group))
    assert group["resume"].visible()
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "ok")
    wait_for(versions.resume(group))
    assert not group["resume"].visible()


def test_an_opened_panel_offers_resume_for_a_version_left_unfinished_by_a_crash(saved_script, fake_worker,
                                                                             monkeypatch):
    import runpy
    from staged_plugin import PLUGIN

    runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    wait_for(generate.generate(group))
    group["rvm_pending"].setValue("")              # Nuke died before the job's end was recorded
    group["resume"].setVisible(False)
    group.showControlPanel()
    assert group["resume"].visible()
