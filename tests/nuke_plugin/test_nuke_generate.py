"""The Generate button end to end against the fake worker: precomp, background
run with a ProgressTask, Read wiring, cancel, failures, no-GUI mode, stereo."""
import json
import os
import time

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte, wait_for
from rvmatte_nuke import generate, jobs, node as rvnode, sequences, staleness, wiring


def worker_runs(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def write_plate_frames(write, frame, view):
    path = sequences.for_view(write["file"].value(), view)
    path = sequences.frame_file(path, frame)
    with open(path, "wb") as handle:
        handle.write(b"plate %d" % frame)


@pytest.fixture
def graded(saved_script):
    grade = nuke.nodes.Grade()
    grade.setInput(0, make_read("/p/plate.####.exr", 1001, 1006))
    nuke._fake.render_hook = write_plate_frames
    return grade


def test_generate_returns_at_once_and_wires_the_reads_when_done(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1004))
    run = generate.generate(group)
    assert run.thread.is_alive()
    assert group["status"].value().startswith("generating")
    wait_for(run)
    alpha = group.node("alpha_read")
    version = os.path.join(run.job.output_dir, "v001")
    assert alpha["file"].value() == os.path.join(version, "RVMatte1.alpha.####.exr")
    assert (alpha["first"].value(), alpha["last"].value()) == (1001, 1004)
    assert group.node("fgr_read")["file"].value() == os.path.join(version, "RVMatte1.fgr.####.exr")
    assert group.node("switch")["which"].getValueAt(1001) == 1
    assert group.node("alpha_read")["reload"]._presses == 1
    assert group["status"].value().startswith("matte 1001-1004")
    assert group["rvm_state"].value() == staleness.state_hash(group)


def test_outside_the_generated_frames_the_node_passes_the_plate_through(saved_script, fake_worker):
    group = make_rvmatte(make_read("/p/plate.####.exr", 990, 1010))
    group["range_mode"].setValue("custom")
    group["range_first"].setValue(1001)
    group["range_last"].setValue(1004)
    wait_for(generate.generate(group))
    switch = group.node("switch")
    assert switch.input(0) is group.node("Input1") and switch.input(1) is group.node("premult")
    assert [switch["which"].getValueAt(f) for f in (990, 1000, 1001, 1004, 1005)] == [0, 0, 1, 1, 0]
    nuke.frame(1005)
    assert switch["which"].value() == 0


def test_a_generate_records_its_context_and_another_working_space_lights_the_stale_flag(saved_script, fake_worker):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1004))
    wait_for(generate.generate(group))
    assert json.loads(group["rvm_result"].value())["context"] == staleness.current_context(group)
    assert wiring.refresh_stale(group) is False
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    assert wiring.refresh_stale(group) is True and group["status"].value().startswith("STALE: ")


def test_progress_task_follows_the_frames(saved_script, fake_worker):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 4))
    wait_for(generate.generate(group))
    (task,) = nuke._fake.progress_tasks
    assert task.progress[-1] == 100
    assert task.progress == sorted(task.progress)
    assert any(m.startswith("frame 4 (4/4)") for m in task.messages)


def test_usable_read_skips_the_precomp(saved_script, fake_worker):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 4))
    wait_for(generate.generate(group))
    assert nuke._fake.executions == []
    assert worker_runs(fake_worker)[0][1] == "/p/plate.%04d.exr"


def test_precomp_renders_full_resolution_even_in_proxy_mode(graded, fake_worker):
    nuke.root()["proxy"].setValue(True)
    group = make_rvmatte(graded)
    wait_for(generate.generate(group))
    (execution,) = nuke._fake.executions
    assert execution["proxy"] is False
    assert (execution["first"], execution["last"]) == (1001, 1006)
    assert nuke.root()["proxy"].value() is True
    assert [n.Class() for n in group.nodes()].count("Write") == 0
    plate = worker_runs(fake_worker)[0][1]
    assert plate == execution["file"]
    assert sequences.complete_frames(plate, 1001, 1006) == list(range(1001, 1007))


def test_precomp_is_written_raw_in_the_working_space(graded, fake_worker):
    settings_seen = {}

    def inspect(write, frame, view):
        settings_seen.update(raw=write["raw"].value(), type=write["file_type"].value(),
                             input=write.input(0).name())
        write_plate_frames(write, frame, view)
    nuke._fake.render_hook = inspect
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    wait_for(generate.generate(make_rvmatte(graded)))
    assert settings_seen == {"raw": True, "type": "exr", "input": "Input1"}
    argv = worker_runs(fake_worker)[0]
    assert argv[argv.index("--input-colorspace") + 1] == "ACES - ACEScg"


def test_cancelled_precomp_starts_no_worker(graded, fake_worker):
    nuke._fake.cancel_next_execute = True
    group = make_rvmatte(graded)
    assert generate.generate(group) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: precomp cancelled"]
    assert worker_runs(fake_worker) == []


def test_a_failing_worker_shows_its_line_in_a_message(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    wait_for(generate.generate(group))
    (shown,) = nuke._fake.messages
    assert shown.startswith("RVMatte RVMatte1: frame 3 is missing: /p/plate.0003.exr\n\nworker log: ")
    assert os.path.isfile(shown.split("worker log: ")[1])
    assert group["status"].value() == "failed: frame 3 is missing: /p/plate.0003.exr; Resume continues v001"
    assert group.node("alpha_read")["file"].value() == ""
    assert group.node("switch")["which"].value() == 0


def test_cancel_stops_the_worker_and_keeps_the_old_matte(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 40))
    run = generate.generate(group)
    deadline = time.time() + 20
    while not (nuke._fake.progress_tasks and nuke._fake.progress_tasks[0].progress) and time.time() < deadline:
        time.sleep(0.05)
    nuke._fake.progress_tasks[0]._fake_cancel()
    started = time.time()
    wait_for(run, timeout=20)
    assert time.time() - started < 10
    assert group["status"].value().startswith("cancelled after")
    assert group.node("switch")["which"].value() == 0
    assert nuke._fake.messages == []
    written = sequences.complete_frames(os.path.join(run.job.output_dir, "v001", "RVMatte1.alpha.####.exr"), 1, 40)
    assert 0 < len(written) < 40


def test_a_second_generate_while_running_is_refused(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    run = generate.generate(group)
    assert generate.generate(group) is None
    assert "already generating" in nuke._fake.messages[0]
    wait_for(run)


def test_without_gui_generate_runs_in_the_foreground(saved_script, fake_worker):
    nuke.GUI = False
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    run = generate.generate(group)
    assert run.thread is None
    assert group.node("switch")["which"].value() == 1
    assert nuke._fake.progress_tasks == []


def test_the_button_runs_generate(saved_script, fake_worker):
    nuke.GUI = False
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 2))
    nuke._fake.press(group["generate"])
    assert group.node("switch")["which"].value() == 1


def test_stereo_views_run_as_separate_shots(saved_script, fake_worker):
    nuke.addView("left")
    nuke.addView("right")
    group = make_rvmatte(make_read("/p/plate.%V.####.exr", 1, 3))
    wait_for(generate.generate(group))
    plates = [argv[1] for argv in worker_runs(fake_worker)]
    assert plates == ["/p/plate.left.%04d.exr", "/p/plate.right.%04d.exr"]
    assert "%V" in group.node("alpha_read")["file"].value()
    for view in ("left", "right"):
        alpha = sequences.for_view(group.node("alpha_read")["file"].value(), view)
        assert sequences.complete_frames(alpha, 1, 3) == [1, 2, 3]


def test_a_node_deleted_during_the_run_is_left_alone(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    run = generate.generate(group)
    nuke.delete(group)
    wait_for(run)
    assert nuke._fake.messages == []


def test_errors_in_the_node_go_to_a_message(saved_script):
    group = make_rvmatte()
    assert generate.generate(group) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: connect the plate to the input"]
    assert group["status"].value() == "not generated: connect the plate to the input"


def test_results_rendered_elsewhere_are_loaded(saved_script, fake_worker):
    nuke.GUI = False
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    generate.generate(group)
    state = group["rvm_state"].value()
    rvnode.build(group)
    group["rvm_state"].setValue("")
    assert group.node("switch")["which"].value() == 0
    wiring.load_results(group)
    assert group.node("switch")["which"].value() == 1
    assert group.node("alpha_read")["file"].value().endswith("RVMatte1.alpha.####.exr")
    assert group["rvm_state"].value() == state


def test_loading_incomplete_results_names_the_first_missing_frame(saved_script, fake_worker):
    nuke.GUI = False
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    generate.generate(group)
    os.remove(sequences.frame_file(group.node("fgr_read")["file"].value(), 2))
    with pytest.raises(jobs.JobError, match=r"1 frame\(s\) missing, first .*RVMatte1.fgr.0002.exr"):
        wiring.load_results(group)


def test_a_node_inside_a_group_is_found_again_when_the_worker_ends(saved_script, fake_worker):
    outer = nuke.nodes.Group()
    with outer:
        nuke.nodes.Input()
        group = rvnode.create_node()
    group.setInput(0, make_read("/p/plate.####.exr", 1, 2))
    run = generate.generate(group)
    with outer:
        wait_for(run)
    assert group.node("switch")["which"].value() == 1


def test_show_worker_log_shows_the_newest_log_of_the_selected_node(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    wait_for(generate.generate(group))
    nuke._fake.messages.clear()
    group["selected"].setValue(True)
    path = wiring.show_worker_log()
    (shown,) = nuke._fake.messages
    assert path and os.path.dirname(path) == os.path.join(jobs.output_dir(group), ".rvmatte", "logs")
    assert path in shown and "state: failed" in shown and "error: frame 3 is missing" in shown


def test_show_worker_log_before_any_generate_says_where_it_will_be(saved_script, fake_worker):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    assert wiring.show_worker_log(group) is None
    (shown,) = nuke._fake.messages
    assert "no worker log yet" in shown and os.path.join(jobs.output_dir(group), ".rvmatte", "logs") in shown


def test_rvmatte_debug_makes_the_worker_run_with_debug(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("RVMATTE_DEBUG", "1")
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 6))
    wait_for(generate.generate(group))
    assert "--debug" in worker_runs(fake_worker)[0]
