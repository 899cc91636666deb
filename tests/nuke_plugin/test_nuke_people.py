"""Who the node mattes: the target input (input 3), a point picked in the viewer, `people` N,
and the Cryptomatte node on the people EXR (rvmatte_nuke.people)."""
import json
import sys

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte, wait_for
from rvmatte_nuke import command, generate, jobs, node as rvnode, sequences, settings, staleness, wiring


def option(argv, name):
    return argv[argv.index(name) + 1]


def options(argv, name):
    return [b for a, b in zip(argv, argv[1:]) if a == name]


def write_frames(write, frame, view):
    path = sequences.frame_file(sequences.for_view(write["file"].value(), view), frame)
    with open(path, "wb") as handle:
        handle.write(b"%s %d" % (write["channels"].value().encode(), frame))


def roto_like():
    return nuke.nodes.Blur(size=4)


@pytest.fixture
def prefs():
    return settings.Preferences(python=sys.executable, weights="/w/rvm.pth")


@pytest.fixture
def group(saved_script):
    nuke.root()["format"].setValue("128 72 0 0 128 72 1 small")   # the script's format is the plate's
    return make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010, format="128 72 0 0 128 72 1 small"))


def argv_of(group, prefs):
    job = jobs.collect(group, prefs)
    return command.worker_command(job, job.views[0])


def test_the_target_is_input_three(group):
    roto = roto_like()
    assert group.setInput(3, roto) and group.input(3) is roto
    assert group.node("target").Class() == "Input" and group.node("target")["number"].value() == 3


def test_a_roto_target_is_rendered_on_the_target_frames_only(group, fake_worker):
    nuke._fake.render_hook = write_frames
    group.setInput(3, roto_like())
    group["target_frames"].setValue("1001 1004-1005")
    run = generate.generate(group)
    wait_for(run)
    (mask,) = run.job.masks
    assert [(e["first"], e["last"]) for e in nuke._fake.executions] == [(1001, 1001), (1004, 1005)]
    assert sequences.complete_frames(mask.pattern, 1001, 1010) == [1001, 1004, 1005]
    (argv,) = [json.loads(line) for line in fake_worker.read_text().splitlines()]
    assert option(argv, "--target") == mask.pattern and mask.pattern.endswith("/precomp/RVMatte1.target.####.exr")


def test_a_roto_target_without_target_frames_says_to_set_them(group, prefs):
    group.setInput(3, roto_like())
    with pytest.raises(jobs.JobError, match="set the target frames.*target input is not a Read"):
        jobs.collect(group, prefs)


@pytest.mark.parametrize("text, problem", [("1001 x", "'x' is not a frame"), ("1020", "outside the frame range"),
                                           ("1005-1003", "'1005-1003' is not")])
def test_bad_target_frames_are_named(group, prefs, text, problem):
    group.setInput(3, roto_like())
    group["target_frames"].setValue(text)
    with pytest.raises(jobs.JobError, match=problem):
        jobs.collect(group, prefs)


def test_a_read_of_a_few_mask_frames_is_passed_as_it_is_with_its_name(group, prefs):
    group.setInput(3, make_read("/p/hero.####.exr", 1004, 1004))
    group["target_name"].setValue("hero")
    argv = argv_of(group, prefs)
    assert options(argv, "--target") == ["hero=/p/hero.%04d.exr"]
    assert jobs.collect(group, prefs).mask_precomps() == []


def test_all_three_mattes_reach_the_worker(group, prefs):
    group.setInput(1, make_read("/p/holdout.####.exr", 1001, 1010))
    group.setInput(2, make_read("/p/garbage.####.exr", 1001, 1010))
    group.setInput(3, make_read("/p/hero.####.exr", 1001, 1010))
    argv = argv_of(group, prefs)
    assert (option(argv, "--garbage"), option(argv, "--holdout"), option(argv, "--target")) == \
        ("/p/garbage.%04d.exr", "/p/holdout.%04d.exr", "/p/hero.%04d.exr")


def test_a_bad_target_name_is_refused(group, prefs):
    group.setInput(3, make_read("/p/hero.####.exr", 1001, 1010))
    group["target_name"].setValue("the hero")
    with pytest.raises(jobs.JobError, match="person name 'the hero'"):
        jobs.collect(group, prefs)


def test_the_viewer_point_becomes_the_plate_pixel_counted_from_the_top(group, prefs):
    group["pick_point"].setValue(True)
    group["target_point"].setValue([10.7, 0.2])     # Nuke: pixels of the format from the bottom left
    group["target_frame"].setValue(1003)
    group["point_name"].setValue("extra")
    assert options(argv_of(group, prefs), "--target-point") == ["extra=10,71@1003"]


def test_the_point_is_left_out_until_it_is_turned_on(group, prefs):
    group["target_point"].setValue([10, 10])
    assert "--target-point" not in argv_of(group, prefs)


@pytest.mark.parametrize("xy, frame, problem", [([128.5, 3], 1003, "outside the 128x72 frame"),
                                                ([3, 3], 1020, "point frame 1020 is outside the frame range")])
def test_a_point_off_the_plate_is_refused_in_one_line(group, prefs, xy, frame, problem):
    group["pick_point"].setValue(True)
    group["target_point"].setValue(xy)
    group["target_frame"].setValue(frame)
    with pytest.raises(jobs.JobError, match=problem):
        jobs.collect(group, prefs)


def test_use_this_frame_sets_the_point_frame(group):
    nuke.frame(1007)
    group["point_here"].execute()
    assert group["target_frame"].value() == 1007


def test_people_count_goes_to_the_worker(group, prefs):
    group["people"].setValue(3)
    argv = argv_of(group, prefs)
    assert option(argv, "--people") == "3" and "--target" not in argv


def test_people_count_with_a_target_is_refused(group, prefs):
    group["people"].setValue(2)
    group.setInput(3, make_read("/p/hero.####.exr", 1001, 1010))
    with pytest.raises(jobs.JobError, match="disconnect the target input"):
        jobs.collect(group, prefs)


def test_several_people_wire_a_cryptomatte_node_on_the_people_exr(group, fake_worker):
    group["people"].setValue(2)
    run = generate.generate(group)
    wait_for(run)
    read, crypto = nuke.toNode("RVMatte1_people"), nuke.toNode("RVMatte1_cryptomatte")
    assert read.Class() == "Read" and crypto.Class() == "Cryptomatte" and crypto.input(0) is read
    assert read["file"].value() == str(run.job.output_dir) + "/v001/plate.people.####.exr"
    assert (read["first"].value(), read["last"].value(), read["raw"].value()) == (1001, 1010, True)
    assert (crypto["cryptoLayer"].value(), crypto["matteList"].value()) == ("CryptoPerson", "person1")


def test_generating_again_keeps_the_cryptomatte_node_and_the_artists_pick(group, fake_worker):
    group["people"].setValue(2)
    wait_for(generate.generate(group))
    nuke.toNode("RVMatte1_cryptomatte")["matteList"].setValue("person2")
    wait_for(generate.generate(group))
    assert [n.name() for n in nuke.allNodes("Cryptomatte")] == ["RVMatte1_cryptomatte"]
    assert nuke.toNode("RVMatte1_cryptomatte")["matteList"].value() == "person2"


def test_a_target_and_a_point_of_two_names_are_two_people(group, fake_worker):
    group.setInput(3, make_read("/p/hero.####.exr", 1001, 1010))
    group["target_name"].setValue("hero")
    group["pick_point"].setValue(True)
    group["target_point"].setValue([3, 3])
    group["target_frame"].setValue(1001)
    wait_for(generate.generate(group))
    assert nuke.toNode("RVMatte1_cryptomatte")["matteList"].value() == "hero"


def test_one_person_wires_no_cryptomatte_node(group, fake_worker):
    group["pick_point"].setValue(True)
    group["target_point"].setValue([3, 3])
    group["target_frame"].setValue(1001)
    wait_for(generate.generate(group))
    assert nuke.allNodes("Cryptomatte") == [] and nuke.toNode("RVMatte1_people") is None


def test_moving_the_point_makes_the_matte_stale(group):
    group["pick_point"].setValue(True)
    group["target_frame"].setValue(1001)
    group["rvm_state"].setValue(staleness.state_hash(group))
    assert not staleness.is_stale(group)
    group["target_point"].setValue([40, 20])
    assert staleness.is_stale(group)


def test_a_node_without_the_people_knobs_keeps_its_stale_hash_after_the_upgrade(group):
    from rvmatte_nuke import people
    before = staleness.state_hash(group)
    for name, _, _ in people.knob_specs():
        group.removeKnob(group[name])
    assert staleness.state_hash(group) == before


def test_upgrading_a_version_2_node_adds_the_target_and_keeps_its_inputs(group):
    from rvmatte_nuke import people
    holdout = roto_like()
    group.setInput(1, holdout)
    nuke.delete(group.node("target"))
    for name, _, _ in people.knob_specs():
        group.removeKnob(group[name])
    group[rvnode.VERSION_KNOB].setValue(2)
    assert rvnode.upgrade(group)
    assert group.maxInputs() == 5 and group.input(1) is holdout   # target and keyframes added
    assert group["people"].value() == 0 and group["target_point"].value() == [0.0, 0.0]


def test_the_farm_step_passes_the_target_read_and_the_point(group, monkeypatch, weights_path):
    pytest.importorskip("rvmatte.farm.openjd", reason="the core's farm tools are not importable here")
    from rvmatte_nuke import farm
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=sys.executable, weights=str(weights_path)))
    group.setInput(3, make_read("/p/hero.####.exr", 1001, 1010))
    group["pick_point"].setValue(True)
    group["target_point"].setValue([3, 3])
    group["target_frame"].setValue(1002)
    job = jobs.collect(group)
    args = farm.run_args(job, job.views[0])
    assert options(args, "--target") == ["/p/hero.%04d.exr"] and options(args, "--target-point") == ["3,68@1002"]


def test_the_cryptomatte_node_is_set_to_the_layer_the_people_exr_announces(group, prefs, tmp_path):
    """The people EXR the core writes, read by the Read the plugin wires: the Cryptomatte node's layer is one
    whose name, hash and manifest are in the Read's metadata (`exr/cryptomatte/<id>/…`, as Nuke shows EXR
    attributes) and whose rank channels the Read has."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("OpenImageIO")
    cryptomatte = pytest.importorskip("rvmatte.people.cryptomatte")
    group["people"].setValue(2)
    job = jobs.collect(group, prefs)
    pattern = job.people_pattern
    ys, xs = np.mgrid[0:72, 0:128]
    mattes = [(xs < 40).astype(np.float32), ((xs - 90) ** 2 + (ys - 36) ** 2 < 200).astype(np.float32)]
    import os
    os.makedirs(os.path.dirname(pattern))
    for frame in range(1001, 1011):
        cryptomatte.write_people_frame(sequences.frame_file(pattern, frame), mattes, ["person1", "person2"])
    from rvmatte_nuke import people
    crypto = people.wire_cryptomatte(group, job)
    read = crypto.input(0)
    nuke.frame(1004)
    layer = crypto["cryptoLayer"].value()
    found = dict((k.split("/")[2], v) for k, v in read.metadata().items()
                 if k.startswith("exr/cryptomatte/") and k.endswith("/name"))
    (key,) = [k for k, v in found.items() if v == layer]
    metadata = read.metadata()
    assert metadata["exr/cryptomatte/%s/hash" % key] == "MurmurHash3_32"
    assert metadata["exr/cryptomatte/%s/conversion" % key] == "uint32_to_float32"
    assert sorted(json.loads(metadata["exr/cryptomatte/%s/manifest" % key])) == ["person1", "person2"]
    assert crypto["matteList"].value() in json.loads(metadata["exr/cryptomatte/%s/manifest" % key])
    channels = read.channels()
    for rank in ("00", "01"):
        assert ["%s%s.%s" % (layer, rank, c) in channels for c in ("red", "green", "blue", "alpha")] == [True] * 4
    assert "person1.alpha" in channels and "person2.alpha" in channels


def _farm_output(job, with_people):
    import os
    patterns = [job.alpha_read, job.fgr_read] + ([job.people_pattern] if with_people else [])
    for pattern in patterns:
        for frame in range(job.first, job.last + 1):
            path = sequences.frame_file(pattern, frame)
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))
            with open(path, "wb") as handle:
                handle.write(b"farm %d" % frame)


def test_load_results_wires_the_cryptomatte_node_of_a_farm_render(group, fake_worker):
    group["people"].setValue(2)
    _farm_output(jobs.collect(group), with_people=True)
    wiring.load_results(group)
    crypto = nuke.toNode("RVMatte1_cryptomatte")
    assert crypto["cryptoLayer"].value() == "CryptoPerson"
    assert (crypto.input(0)["first"].value(), crypto.input(0)["last"].value()) == (1001, 1010)


def test_load_results_without_the_people_exr_wires_no_cryptomatte_node(group, fake_worker):
    group["people"].setValue(2)
    _farm_output(jobs.collect(group), with_people=False)
    wiring.load_results(group)
    assert nuke.allNodes("Cryptomatte") == []
