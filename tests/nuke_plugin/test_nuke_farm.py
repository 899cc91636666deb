"""Farm jobs for RVMatte nodes, written with the core's farm tools (real
rvmatte.farm in this interpreter): a Nuke precomp step before the rvmatte step
when the input needs one, the rvmatte step alone for a usable Read."""
import json
import os
import shutil
import subprocess
import sys

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte
from rvmatte_nuke import farm, precomp, sequences, settings, wiring

pytest.importorskip("rvmatte.farm.openjd", reason="the core's farm tools are not importable here")


@pytest.fixture
def farm_prefs(monkeypatch, weights_path):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=sys.executable, weights=str(weights_path)))


@pytest.fixture
def graded(saved_script):
    grade = nuke.nodes.Grade()
    grade.setInput(0, make_read("/p/plate.####.exr", 1001, 1100))
    return grade


def load(bundle, name):
    with open(os.path.join(bundle, name)) as handle:
        return json.load(handle)


def steps_by_name(bundle):
    return {step["name"]: step for step in load(bundle, "template.json")["steps"]}


def test_precomp_step_comes_before_and_gates_the_rvmatte_step(graded, farm_prefs):
    group = make_rvmatte(graded)
    bundle, _ = farm.write_job([group])
    template = load(bundle, "template.json")
    assert [s["name"] for s in template["steps"]] == ["precomp RVMatte1", "RVMatte1 choose version", "RVMatte1",
                                                      "RVMatte1 finish version"]
    steps = steps_by_name(bundle)
    assert steps["RVMatte1 choose version"]["dependencies"] == [{"dependsOn": "precomp RVMatte1"}]
    assert {"dependsOn": "precomp RVMatte1"} in steps["RVMatte1"]["dependencies"]
    args = steps["precomp RVMatte1"]["script"]["actions"]["onRun"]["args"]
    precomp_pattern = os.path.join(group["output_dir"].getEvaluatedValue(), "precomp", "RVMatte1.####.exr")
    assert args == ["-t", "{{Param.NukePrecompScript}}", "{{Param.NukeScript}}", "RVMatte1", "1001", "1100",
                    precomp_pattern]
    assert os.path.isfile(os.path.join(bundle, "rvmatte_precomp.py"))


def test_the_nuke_step_has_its_parameters_and_values(graded, farm_prefs):
    bundle, _ = farm.write_job([make_rvmatte(graded)])
    names = [p["name"] for p in load(bundle, "template.json")["parameterDefinitions"]]
    assert {"NukeExecutable", "NukeScript", "NukePrecompScript"} <= set(names)
    values = load(bundle, "openjd_params.json")
    assert values["NukeScript"] == nuke.root()["name"].value()
    assert values["NukePrecompScript"] == os.path.join(bundle, "rvmatte_precomp.py")


def test_the_rvmatte_step_passes_the_nodes_settings(graded, farm_prefs):
    group = make_rvmatte(graded)
    group["variant"].setValue("resnet50")
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    bundle, _ = farm.write_job([group])
    args = steps_by_name(bundle)["RVMatte1"]["script"]["actions"]["onRun"]["args"]
    assert args[args.index("--variant") + 1] == "resnet50"
    assert args[args.index("--input-colorspace") + 1] == "ACES - ACEScg"
    assert "--preroll" in args and "--resume" in args


def test_a_usable_read_needs_no_nuke_step(saved_script, farm_prefs):
    bundle, _ = farm.write_job([make_rvmatte(make_read("/p/plate.####.exr", 1001, 1100))])
    template = load(bundle, "template.json")
    assert [s["name"] for s in template["steps"]] == ["RVMatte1 choose version", "RVMatte1", "RVMatte1 finish version"]
    assert "dependencies" not in template["steps"][0]
    assert "NukeScript" not in [p["name"] for p in template["parameterDefinitions"]]
    assert not os.path.exists(os.path.join(bundle, "rvmatte_precomp.py"))


@pytest.mark.skipif(shutil.which("openjd", path=os.path.dirname(sys.executable)) is None,
                    reason="openjd-cli is not installed")
def test_the_template_passes_openjd_check(graded, farm_prefs):
    bundle, _ = farm.write_job([make_rvmatte(graded)])
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "openjd"), "check",
                           os.path.join(bundle, "template.json")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert done.returncode == 0, done.stdout


def test_the_script_is_saved_before_the_job_is_written(graded, farm_prefs):
    farm.write_job([make_rvmatte(graded)])
    assert nuke._fake.saves == [nuke.root()["name"].value()]


def test_farm_jobs_need_a_weights_file(graded, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=sys.executable))
    with pytest.raises(farm.FarmError, match="weights"):
        farm.write_job([make_rvmatte(graded)])


def test_stereo_nodes_get_a_shot_and_a_precomp_per_view(graded, farm_prefs):
    nuke.addView("left")
    nuke.addView("right")
    bundle, _ = farm.write_job([make_rvmatte(graded)])
    steps = steps_by_name(bundle)
    assert set(steps) == {"precomp RVMatte1_left", "RVMatte1_left", "precomp RVMatte1_right", "RVMatte1_right",
                          "RVMatte1_left choose version", "RVMatte1_left finish version",
                          "RVMatte1_right choose version", "RVMatte1_right finish version"}
    assert steps["precomp RVMatte1_right"]["script"]["actions"]["onRun"]["args"][-1] == "right"


def farm_rendered(group, version="v001", state="complete", frames=(1, 2, 3)):
    """What the farm job's tasks leave in the node's output directory: the passes in a version folder
    and its state file (docs/io.md), as the core's finish task writes it."""
    out = group["output_dir"].getEvaluatedValue()
    with open(os.path.join(out, "RVMatte1.rvmatte.json")) as handle:
        sidecar = json.load(handle)
    folder = os.path.join(out, version)
    os.makedirs(folder, exist_ok=True)
    for pattern in (sidecar["alpha"], sidecar["foreground"]):
        for frame in frames:
            with open(sequences.frame_file(os.path.join(folder, os.path.relpath(pattern, out)), frame), "wb") as handle:
                handle.write(b"exr")
    with open(os.path.join(folder, "rvmatte-version.json"), "w") as handle:
        json.dump({"key": "k" * 16, "state": state, "frames": "1-3", "created": "2026-12-04T20:00:00.000000Z",
                   "updated": "2026-12-04T20:10:00.000000Z"}, handle)
    return sidecar, folder


def test_the_node_loads_what_the_farm_rendered(saved_script, farm_prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    farm.write_job([group])
    sidecar, folder = farm_rendered(group)
    assert sidecar["alpha"].endswith("plate.alpha.####.exr") and sidecar["versions"] is True
    wiring.load_results(group)
    assert group.node("alpha_read")["file"].value() == os.path.join(folder, os.path.basename(sidecar["alpha"]))
    assert group.node("switch")["which"].value() == 1
    assert group["rvm_state"].value() == sidecar["state"]
    assert json.loads(group["rvm_result"].value())["version"] == "v001"


def test_load_results_says_when_the_farm_version_is_not_complete_yet(saved_script, farm_prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    farm.write_job([group])
    farm_rendered(group, state="running", frames=(1, 2))
    with pytest.raises(wiring.jobs.JobError, match="the farm job's version v001 is running, not complete yet"):
        wiring.load_results(group)
    assert group.node("alpha_read")["file"].value() == ""


def test_a_people_node_farm_job_writes_no_version(saved_script, farm_prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1100))
    group["people"].setValue(2)
    bundle, _ = farm.write_job([group])
    assert not any(name.endswith("version") for name in steps_by_name(bundle))


def test_the_precomp_step_renders_the_nodes_input(graded, monkeypatch, tmp_path):
    group = make_rvmatte(graded)
    opened = []
    monkeypatch.setattr(nuke, "scriptOpen", opened.append)
    rendered = []
    nuke._fake.render_hook = lambda write, frame, view: rendered.append((frame, view, write["file"].value()))
    pattern = str(tmp_path / "pre" / "RVMatte1.####.exr")
    assert precomp.main(["/shot/comp.nk", "RVMatte1", "1001", "1003", pattern]) == 0
    assert opened == ["/shot/comp.nk"]
    assert rendered == [(f, "main", pattern) for f in (1001, 1002, 1003)]
    assert nuke._fake.executions[0]["proxy"] is False


def test_the_precomp_step_names_a_missing_node(monkeypatch, capsys):
    monkeypatch.setattr(nuke, "scriptOpen", lambda path: None)
    assert precomp.main(["/shot/comp.nk", "Nope", "1", "2", "/tmp/x.####.exr"]) == 1
    assert "no node Nope" in capsys.readouterr().out


def test_selected_nodes_menu_command_reports_problems_in_a_message():
    assert farm.write_job_for_selected() is None
    assert nuke._fake.messages == ["RVMatte farm job: select one or more RVMatte nodes"]


def test_the_menu_command_writes_the_bundle_off_the_gui_thread(graded, farm_prefs, monkeypatch):
    import threading

    group = make_rvmatte(graded)
    group.setSelected(True)
    release, ran_in = threading.Event(), []
    real_writer = farm._run_bundle_writer

    def slow_writer(python, spec_path):
        ran_in.append(threading.current_thread())
        assert release.wait(30)
        return real_writer(python, spec_path)

    monkeypatch.setattr(farm, "_run_bundle_writer", slow_writer)
    thread = farm.write_job_for_selected()
    assert thread is not None and thread.is_alive()          # the GUI got control back
    assert nuke._fake.progress_tasks[-1].name == "RVMatte farm job"
    release.set()
    assert nuke._fake.process_events(until=lambda: nuke._fake.messages, timeout=60)
    thread.join(10)
    assert ran_in[0] is not threading.main_thread()
    bundle = farm.default_bundle_dir()
    assert nuke._fake.messages[0].startswith("RVMatte farm job written to\n%s" % bundle)
    assert steps_by_name(bundle)
    assert group["status"].value() == "farm job written: %s" % bundle


def test_a_bundle_writer_failure_in_the_thread_ends_in_a_message(graded, farm_prefs, monkeypatch):
    group = make_rvmatte(graded)
    group.setSelected(True)

    def failing_writer(python, spec_path):
        raise farm.FarmError("chunk size must be positive")

    monkeypatch.setattr(farm, "_run_bundle_writer", failing_writer)
    thread = farm.write_job_for_selected()
    assert nuke._fake.process_events(until=lambda: nuke._fake.messages, timeout=30)
    thread.join(10)
    assert nuke._fake.messages == ["RVMatte farm job: chunk size must be positive"]


def test_keep_versions_goes_to_the_farm_jobs_finish_step(saved_script, farm_prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1100))
    group["keep_versions"].setValue(2)
    bundle, _ = farm.write_job([group])
    args = steps_by_name(bundle)["RVMatte1 finish version"]["script"]["actions"]["onRun"]["args"]
    assert args[args.index("--keep-versions") + 1] == "2" and args[args.index("--version-step") + 1] == "finish"
