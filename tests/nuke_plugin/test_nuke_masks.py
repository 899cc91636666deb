"""The node's optional holdout (input 1) and garbage (input 2) mattes: inputs,
the worker's --holdout/--garbage, their alpha precomp, staleness, the farm."""
import json
import sys

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte, wait_for
from rvmatte_nuke import command, generate, jobs, node as rvnode, sequences, settings, staleness, wiring


def option(argv, name):
    return argv[argv.index(name) + 1]


def write_frames(write, frame, view):
    path = sequences.frame_file(sequences.for_view(write["file"].value(), view), frame)
    with open(path, "wb") as handle:
        handle.write(b"%s %d" % (write["channels"].value().encode(), frame))


def roto_like():
    """Anything that is not a usable Read: its pixels need a precomp."""
    return nuke.nodes.Blur(size=4)


@pytest.fixture
def prefs():
    return settings.Preferences(python=sys.executable, weights="/w/rvm.pth")


@pytest.fixture
def group(saved_script):
    return make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010))


def test_the_node_has_a_plate_a_holdout_a_garbage_a_target_and_a_keyframes_input(group):
    assert group.maxInputs() == 5
    inputs = sorted((n["number"].value(), n.name()) for n in group.nodes() if n.Class() == "Input")
    assert inputs == [(0, "Input1"), (1, "holdout"), (2, "garbage"), (3, "target"), (4, "keyframes")]


def test_masks_connect_to_inputs_one_and_two(group):
    holdout, garbage = roto_like(), roto_like()
    assert group.setInput(1, holdout) and group.setInput(2, garbage)
    assert (group.input(1), group.input(2)) == (holdout, garbage)
    assert group.setInput(5, roto_like()) is False


def test_without_masks_the_worker_gets_no_mask_options(group, prefs):
    job = jobs.collect(group, prefs)
    argv = command.worker_command(job, job.views[0])
    assert "--holdout" not in argv and "--garbage" not in argv
    assert job.masks == []


def test_a_usable_read_on_the_garbage_input_is_passed_as_it_is(group, prefs):
    group.setInput(2, make_read("/p/garbage.####.exr", 1001, 1010))
    job = jobs.collect(group, prefs)
    argv = command.worker_command(job, job.views[0])
    assert option(argv, "--garbage") == "/p/garbage.%04d.exr"
    assert "--holdout" not in argv
    assert job.mask_precomps() == []


def test_a_mask_that_is_not_a_usable_read_goes_through_its_own_precomp(group, prefs):
    group.setInput(1, roto_like())
    job = jobs.collect(group, prefs)
    argv = command.worker_command(job, job.views[0])
    (mask,) = job.mask_precomps()
    assert option(argv, "--holdout") == mask.pattern
    assert mask.pattern.endswith("/precomp/RVMatte1.holdout.####.exr")
    assert mask.pattern != job.precomp_pattern and "--garbage" not in argv


def test_a_trimmed_read_on_a_mask_input_needs_a_precomp_like_a_plate(group, prefs):
    trimmed = make_read("/p/garbage.####.exr", 1001, 1010)
    trimmed["first"].setValue(1003)
    group.setInput(2, trimmed)
    (mask,) = jobs.collect(group, prefs).masks
    assert mask.precomp and "trims its range" in mask.shortcut_reason


def test_each_view_gets_its_own_mask_precomp(group, prefs):
    nuke.addView("left")
    nuke.addView("right")
    group.setInput(2, roto_like())
    job = jobs.collect(group, prefs)
    patterns = [option(command.worker_command(job, v), "--garbage") for v in job.views]
    assert [p.split("/")[-1] for p in patterns] == ["RVMatte1.left.garbage.####.exr",
                                                    "RVMatte1.right.garbage.####.exr"]


def test_generate_renders_the_mask_alpha_and_passes_it_to_the_worker(group, fake_worker):
    nuke._fake.render_hook = write_frames
    group.setInput(2, roto_like())
    run = generate.generate(group)
    wait_for(run)
    (execution,) = nuke._fake.executions
    (mask,) = run.job.masks
    assert execution["file"] == mask.pattern
    assert (execution["first"], execution["last"], execution["proxy"]) == (1001, 1010, False)
    assert sequences.complete_frames(mask.pattern, 1001, 1010) == list(range(1001, 1011))
    with open(sequences.frame_file(mask.pattern, 1001), "rb") as handle:
        assert handle.read() == b"alpha 1001"
    (argv,) = [json.loads(line) for line in fake_worker.read_text().splitlines()]
    assert option(argv, "--garbage") == mask.pattern
    assert [n.Class() for n in group.nodes()].count("Write") == 0


def test_the_mask_precomp_write_reads_the_mask_input(group, fake_worker):
    seen = []

    def record(write, frame, view):
        source = write.input(0)
        if source.Class() == "Reformat":
            source = source.input(0)
        seen.append((source.name(), write["channels"].value(), write["raw"].value(),
                     write["file_type"].value()))
        write_frames(write, frame, view)
    nuke._fake.render_hook = record
    graded = nuke.nodes.Grade()
    graded.setInput(0, make_read("/p/other.####.exr", 1001, 1010))
    group.setInput(0, graded)
    group.setInput(1, roto_like())
    wait_for(generate.generate(group))
    assert sorted(set(seen)) == [("Input1", "rgb", True, "exr"), ("holdout", "alpha", True, "exr")]


def test_a_mask_precomp_is_rendered_in_the_plates_format(group, fake_worker):
    seen = []

    def record(write, frame, view):
        source = write.input(0)
        seen.append((write["channels"].value(), source.Class(), source.width(), source.height(),
                     source.input(0).name() if source.Class() == "Reformat" else None))
        write_frames(write, frame, view)
    nuke._fake.render_hook = record
    group.input(0)["format"].setValue("2048 858 0 0 2048 858 1 scope")
    small = roto_like()
    small.setInput(0, make_read("/p/roto.####.exr", 1001, 1010, format="1024 429 0 0 1024 429 1 half"))
    group.setInput(1, small)
    wait_for(generate.generate(group))
    assert set(s for s in seen if s[0] == "alpha") == {("alpha", "Reformat", 2048, 858, "holdout")}
    assert [n.Class() for n in group.nodes()].count("Reformat") == 0       # removed after the render


def test_a_mask_read_of_another_size_is_rendered_in_the_plates_format_not_passed_as_it_is(group, prefs):
    group.setInput(2, make_read("/p/garbage.####.exr", 1001, 1010, format="960 540 0 0 960 540 1 half"))
    (mask,) = jobs.collect(group, prefs).masks
    assert mask.precomp and "960x540, the plate 1920x1080" in mask.shortcut_reason


def test_a_failed_mask_precomp_names_the_input(group, fake_worker):
    def fail(write, frame, view):
        raise RuntimeError("Roto1: no shapes")
    nuke._fake.render_hook = fail
    group.setInput(1, roto_like())
    assert generate.generate(group) is None
    (message,) = nuke._fake.messages
    assert "RVMatte1's holdout input" in message and "no shapes" in message
    assert not sequences.complete_frames(jobs.collect(group).masks[0].pattern, 1001, 1010)


def test_connecting_a_mask_makes_the_matte_stale(group):
    group["rvm_state"].setValue(staleness.state_hash(group))
    group.setInput(1, roto_like())
    assert staleness.is_stale(group)


def test_changing_a_mask_upstream_makes_the_matte_stale(group):
    blur = roto_like()
    group.setInput(2, blur)
    group["rvm_state"].setValue(staleness.state_hash(group))
    assert not wiring.refresh_stale(group)
    blur["size"].setValue(9)
    assert wiring.refresh_stale(group)


def test_moving_a_mask_from_holdout_to_garbage_makes_the_matte_stale(group):
    blur = roto_like()
    group.setInput(1, blur)
    group["rvm_state"].setValue(staleness.state_hash(group))
    group.setInput(1, None)
    group.setInput(2, blur)
    assert staleness.is_stale(group)


def test_upgrading_a_version_1_node_adds_the_inputs_and_keeps_the_plate(group):
    plate = group.input(0)
    nuke.delete(group.node("holdout"))
    nuke.delete(group.node("garbage"))
    nuke.delete(group.node("target"))
    nuke.delete(group.node("keyframes"))
    group[rvnode.VERSION_KNOB].setValue(1)
    assert group.maxInputs() == 1
    assert rvnode.upgrade(group)
    assert group.maxInputs() == 5 and group.input(0) is plate


@pytest.fixture
def farm(monkeypatch, weights_path):
    pytest.importorskip("rvmatte.farm.openjd", reason="the core's farm tools are not importable here")
    from rvmatte_nuke import farm
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=sys.executable, weights=str(weights_path)))
    return farm


def test_the_farm_step_passes_a_read_garbage_matte(group, farm):
    group.setInput(2, make_read("/p/garbage.####.exr", 1001, 1010))
    bundle, _ = farm.write_job([group])
    with open(bundle + "/template.json") as handle:
        steps = json.load(handle)["steps"]
    assert [s["name"] for s in steps] == ["RVMatte1 choose version", "RVMatte1", "RVMatte1 finish version"]
    for step in steps:                      # the version steps compute the same key: the mask is part of it
        args = step["script"]["actions"]["onRun"]["args"]
        assert args[args.index("--garbage") + 1] == "/p/garbage.%04d.exr"


def test_the_farm_refuses_a_mask_that_needs_a_precomp(group, farm):
    group.setInput(1, roto_like())
    with pytest.raises(farm.FarmError, match="RVMatte1: farm jobs take the holdout matte from a Read"):
        farm.write_job([group])
