"""Fine-tune from keyframes on the RVMatte node against the fake worker: input 4 rendered on exactly the
keyframe frames, `rvmatte finetune` in the background with its steps on a ProgressTask, the tuned
checkpoint then Generate's --weights, the stale flag, cancel, failures (never a silent fall back to the
base weights), the worker's warnings, and the farm shot carrying the keyframes."""
import json
import os
import sys
import time

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte, wait_for
from rvmatte_nuke import command, finetune, generate, jobs, keyframes, sequences, settings, staleness, wiring

PLATE = "/p/plate.####.exr"


def worker_runs(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def write_mattes(write, frame, view):
    path = sequences.frame_file(sequences.for_view(write["file"].value(), view), frame)
    with open(path, "wb") as handle:
        handle.write(b"%s %d" % (write.input(0).name().encode(), frame))


@pytest.fixture
def tuned_node(saved_script, fake_worker):
    """A node on a usable Read of 1001-1030 with a Roto-like node on input 4 and keyframes 1003,1010."""
    nuke._fake.render_hook = write_mattes
    group = make_rvmatte(make_read(PLATE, 1001, 1030))
    group.setInput(keyframes.KEYFRAME_INPUT, nuke.nodes.Blur(size=2))
    group["keyframe_frames"].setValue("1003,1010")
    group["finetune_steps"].setValue(3)
    return group


def test_the_keyframes_input_is_input_4_and_labels_its_arrow():
    group = make_rvmatte()
    found = group.node("keyframes")
    assert found.Class() == "Input" and found["number"].value() == keyframes.KEYFRAME_INPUT
    assert group.maxInputs() == 5


def test_the_finetune_knobs_come_before_generate_and_the_record_is_hidden():
    group = make_rvmatte()
    names = [k.name() for k in group.allKnobs()]
    assert names.index("keyframe_frames") < names.index("finetune") < names.index("use_tuned") < \
        names.index("generate")
    assert group["use_tuned"].value() is False and group["finetune_steps"].value() == 0
    assert not group[keyframes.RECORD_KNOB].visible() and not group["tuned_weights"].enabled()


def test_the_finetune_command_trains_the_plate_from_the_keyframe_precomp_on_the_base_weights(tuned_node):
    settings.save(settings.Preferences(python=sys.executable, weights="/w/base.pth"))
    tuned_node["precision"].setValue("float16")
    job = finetune.collect(tuned_node)
    out = tuned_node["output_dir"].getEvaluatedValue()
    argv = command.finetune_command(job)
    assert argv[:3] == [sys.executable, "-m", "rvmatte"]
    assert argv[3:9] == ["finetune", "/p/plate.%04d.exr", "--keyframes", os.path.join(out, "precomp", "RVMatte1.keyframes.####.exr"),
                         "-o", os.path.join(out, "tuned", "RVMatte1.pth")]
    for flag, value in (("--weights", "/w/base.pth"), ("--precision", "float16"), ("--downsample-ratio", "auto"),
                        ("--steps", "3"), ("--progress", "json")):
        assert argv[argv.index(flag) + 1] == value
    assert job.frames == [1003, 1010]


def test_zero_steps_leaves_the_steps_to_the_worker(tuned_node):
    tuned_node["finetune_steps"].setValue(0)
    assert "--steps" not in command.finetune_command(finetune.collect(tuned_node))


def test_keyframe_frames_outside_the_range_are_refused_naming_them(tuned_node, fake_worker):
    tuned_node["keyframe_frames"].setValue("990, 1003 1200-1201")
    assert generate.finetune(tuned_node) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: keyframe frames 990, 1200-1201 are outside the frame "
                                   "range 1001-1030"]
    assert nuke._fake.executions == [] and worker_runs(fake_worker) == []
    assert tuned_node["use_tuned"].value() is False


def test_a_keyframe_list_that_does_not_parse_names_the_word(tuned_node):
    tuned_node["keyframe_frames"].setValue("1003,10a")
    assert generate.finetune(tuned_node) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1: keyframe frames '1003,10a': '10a' is not a frame or a range "
                                   "like 1020-1022"]


def test_finetune_needs_the_keyframes_input_and_frames(tuned_node):
    tuned_node["keyframe_frames"].setValue("")
    generate.finetune(tuned_node)
    tuned_node.setInput(keyframes.KEYFRAME_INPUT, None)
    generate.finetune(tuned_node)
    assert [m.split(": ", 1)[1][:30] for m in nuke._fake.messages] == ["set the keyframe frames: the f",
                                                                      "connect the corrected mattes ("]


def test_the_keyframes_are_rendered_as_alpha_on_exactly_the_keyframe_frames(tuned_node):
    tuned_node["keyframe_frames"].setValue("1003,1010,1020-1022")
    job = finetune.collect(tuned_node)
    os.makedirs(os.path.dirname(job.keyframes))
    stale = sequences.frame_file(job.keyframes, 1015)
    open(stale, "w").close()
    seen = []

    def render(write, frame, view):
        source = write.input(0)                  # the keyframes input, in the plate's format
        assert source.Class() == "Reformat" and source.format().width() == tuned_node.input(0).width()
        seen.append((source.input(0).name(), write["channels"].value(), frame))
        write_mattes(write, frame, view)
    nuke._fake.render_hook = render
    wait_for(generate.finetune(tuned_node))
    assert [(e["first"], e["last"]) for e in nuke._fake.executions] == [(1003, 1003), (1010, 1010), (1020, 1022)]
    assert {(name, channels) for name, channels, _ in seen} == {("keyframes", "alpha")}
    assert sequences.complete_frames(job.keyframes, 1001, 1030) == [1003, 1010, 1020, 1021, 1022]
    assert not os.path.exists(stale)


def test_the_progress_task_shows_the_training_steps(tuned_node):
    wait_for(generate.finetune(tuned_node))
    (task,) = nuke._fake.progress_tasks
    assert task.name == "RVMatte RVMatte1 fine-tune"
    assert task.progress == [33, 66, 100, 100]
    assert "fine-tune step 3/3, loss 0.3333" in task.messages
    assert "fine-tune: 3 step(s) from 2 keyframe(s) on cpu" in task.messages


def test_after_a_finetune_generate_uses_the_tuned_weights(tuned_node, fake_worker):
    wait_for(generate.finetune(tuned_node))
    tuned = os.path.join(tuned_node["output_dir"].getEvaluatedValue(), "tuned", "RVMatte1.pth")
    assert tuned_node["use_tuned"].value() is True and tuned_node["tuned_weights"].value() == tuned
    assert tuned_node["status"].value().startswith("fine-tuned from keyframes 1003, 1010 (3 step(s)")
    assert open(tuned).read() == "fake tuned weights from [1003, 1010]\n"
    wait_for(generate.generate(tuned_node))
    run = worker_runs(fake_worker)[-1]
    assert run[0] == "run" and run[run.index("--weights") + 1] == tuned
    assert nuke._fake.messages == []


def test_with_use_tuned_off_generate_takes_the_base_weights(tuned_node, fake_worker):
    settings.save(settings.Preferences(python=settings.load().python, weights="/w/base.pth"))
    wait_for(generate.finetune(tuned_node))
    tuned_node["use_tuned"].setValue(False)
    wait_for(generate.generate(tuned_node))
    run = worker_runs(fake_worker)[-1]
    assert run[run.index("--weights") + 1] == "/w/base.pth"


def test_a_matte_made_with_the_base_weights_is_stale_after_a_finetune(tuned_node):
    wait_for(generate.generate(tuned_node))
    assert wiring.refresh_stale(tuned_node) is False
    wait_for(generate.finetune(tuned_node))
    assert staleness.is_stale(tuned_node)
    assert tuned_node["status"].value().startswith("STALE: fine-tuned")
    wait_for(generate.generate(tuned_node))
    assert wiring.refresh_stale(tuned_node) is False


def test_changed_keyframes_make_generate_refuse_until_tuned_again(tuned_node, fake_worker):
    wait_for(generate.finetune(tuned_node))
    wait_for(generate.generate(tuned_node))
    tuned_node["keyframe_frames"].setValue("1003,1010,1012")
    assert staleness.is_stale(tuned_node)
    runs = len(worker_runs(fake_worker))
    assert generate.generate(tuned_node) is None
    assert "changed since the fine-tune" in nuke._fake.messages[-1]
    assert "turn off 'use tuned weights'" in nuke._fake.messages[-1]
    assert len(worker_runs(fake_worker)) == runs
    wait_for(generate.finetune(tuned_node))
    wait_for(generate.generate(tuned_node))
    assert worker_runs(fake_worker)[-1][0] == "run"


def test_an_edit_of_the_keyframes_input_counts_as_changed_keyframes(tuned_node):
    wait_for(generate.finetune(tuned_node))
    assert keyframes.weights_for_generate(tuned_node)
    tuned_node.input(keyframes.KEYFRAME_INPUT)["size"].setValue(7)
    with pytest.raises(ValueError, match="changed since the fine-tune"):
        keyframes.weights_for_generate(tuned_node)


def test_cancel_stops_the_finetune_and_keeps_the_tuned_weights_it_had(tuned_node, monkeypatch):
    wait_for(generate.finetune(tuned_node))
    before = tuned_node[keyframes.RECORD_KNOB].value()
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    tuned_node["finetune_steps"].setValue(40)
    run = generate.finetune(tuned_node)
    deadline = time.time() + 20
    while len(nuke._fake.progress_tasks[-1].progress) < 1 and time.time() < deadline:
        time.sleep(0.05)
    nuke._fake.progress_tasks[-1]._fake_cancel()
    started = time.time()
    wait_for(run, timeout=20)
    assert time.time() - started < 10
    assert tuned_node["status"].value() == "fine-tune cancelled; the tuned weights were not changed"
    assert tuned_node[keyframes.RECORD_KNOB].value() == before
    assert nuke._fake.messages == []
    with pytest.raises(ValueError, match="changed since the fine-tune"):   # the steps changed: 3 -> 40
        keyframes.weights_for_generate(tuned_node)


def test_a_failed_finetune_shows_the_workers_line_and_generate_does_not_fall_back(tuned_node, fake_worker,
                                                                                 monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    wait_for(generate.finetune(tuned_node))
    (shown,) = nuke._fake.messages
    assert shown.startswith("RVMatte RVMatte1: fine-tune failed: keyframe 1003 is 32x32, the shot is 64x36: ")
    assert "turn off 'use tuned weights' to generate with the base weights" in shown
    assert os.path.isfile(shown.split("worker log: ")[1])
    assert tuned_node["status"].value().startswith("fine-tune failed: keyframe 1003 is 32x32")
    assert tuned_node["use_tuned"].value() is True and tuned_node[keyframes.RECORD_KNOB].value() == ""
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "ok")
    assert generate.generate(tuned_node) is None
    assert "no fine-tune has succeeded on this node yet" in nuke._fake.messages[-1]
    assert [r[0] for r in worker_runs(fake_worker)] == ["finetune"]
    tuned_node["use_tuned"].setValue(False)
    wait_for(generate.generate(tuned_node))
    assert [r[0] for r in worker_runs(fake_worker)] == ["finetune", "run"]


def test_a_deleted_tuned_checkpoint_is_refused_not_replaced_by_the_base(tuned_node):
    wait_for(generate.finetune(tuned_node))
    os.remove(tuned_node["tuned_weights"].value())
    assert generate.generate(tuned_node) is None
    assert "are missing" in nuke._fake.messages[-1]


def test_generate_waits_for_a_running_finetune(tuned_node, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    run = generate.finetune(tuned_node)
    assert generate.generate(tuned_node) is None
    assert nuke._fake.messages == ["RVMatte RVMatte1 is already fine-tuning; cancel it in the progress panel first."]
    wait_for(run)


def test_the_button_runs_the_finetune(tuned_node, fake_worker):
    nuke.GUI = False
    nuke._fake.press(tuned_node["finetune"])
    assert [r[0] for r in worker_runs(fake_worker)] == ["finetune"]
    assert tuned_node["use_tuned"].value() is True


def test_generates_warnings_reach_the_artist(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "warn")
    group = make_rvmatte(make_read(PLATE, 1, 3))
    wait_for(generate.generate(group))
    assert nuke._fake.messages == ["RVMatte RVMatte1: the matte is done, with a warning:\n\n"
                                   "the weights were fine-tuned for another shot"]
    assert group["status"].value().endswith("(1 warning)")


def test_the_farm_shot_carries_the_rendered_keyframes_and_fine_tunes_first(saved_script, monkeypatch, weights_path):
    pytest.importorskip("rvmatte.farm.openjd", reason="the core's farm tools are not importable here")
    from rvmatte_nuke import farm
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=sys.executable, weights=str(weights_path)))
    nuke._fake.render_hook = write_mattes
    grade = nuke.nodes.Grade()
    grade.setInput(0, make_read(PLATE, 1001, 1030))
    group = make_rvmatte(grade)
    group.setInput(keyframes.KEYFRAME_INPUT, nuke.nodes.Blur(size=2))
    group["keyframe_frames"].setValue("1003,1010")
    group["finetune_steps"].setValue(5)
    group["use_tuned"].setValue(True)
    bundle, answer = farm.write_job([group])
    out = group["output_dir"].getEvaluatedValue()
    pattern = os.path.join(out, "precomp", "RVMatte1.keyframes.####.exr")
    assert sequences.complete_frames(pattern, 1001, 1030) == [1003, 1010]
    with open(os.path.join(bundle, "template.json")) as handle:
        steps = dict((s["name"], s) for s in json.load(handle)["steps"])
    assert list(steps) == ["precomp RVMatte1", "RVMatte1 finetune", "RVMatte1 choose version", "RVMatte1",
                           "RVMatte1 finish version"]
    assert steps["RVMatte1 finetune"]["dependencies"] == [{"dependsOn": "precomp RVMatte1"}]
    assert {d["dependsOn"] for d in steps["RVMatte1 choose version"]["dependencies"]} == {"RVMatte1 finetune",
                                                                                           "precomp RVMatte1"}
    args = steps["RVMatte1 finetune"]["script"]["actions"]["onRun"]["args"]
    assert args[args.index("--keyframes") + 1] == pattern
    tuned = args[args.index("-o") + 1]
    assert os.path.dirname(tuned) == os.path.join(out, "tuned") and os.path.basename(tuned).startswith("RVMatte1.ft")
    assert args[args.index("--steps") + 1] == "5"
    assert args[args.index("--downsample-ratio") + 1] == "auto"


def test_the_farm_refuses_use_tuned_without_keyframes(saved_script, monkeypatch, weights_path):
    from rvmatte_nuke import farm
    settings.save(settings.Preferences(python=sys.executable, weights=str(weights_path)))
    group = make_rvmatte(make_read(PLATE, 1001, 1030))
    group["use_tuned"].setValue(True)
    with pytest.raises(farm.FarmError, match="use tuned weights is on: connect the keyframes input"):
        farm.write_job([group])


def test_jobs_collect_for_a_finetune_ignores_the_tuned_weights(tuned_node):
    tuned_node["use_tuned"].setValue(True)
    with pytest.raises(jobs.JobError):
        jobs.collect(tuned_node)
    assert jobs.collect(tuned_node, tuned=False).options["weights"] == \
        jobs.collect(tuned_node, tuned=False).options["base_weights"]
