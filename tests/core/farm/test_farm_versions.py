"""``rvmatte farm … --versions``: a versioned shot is one task that makes or picks its version folder,
the chunks writing into it, and one task after every chunk that checks all frames and marks the
version complete (then applies --keep-versions), on OpenJD, Deadline and OpenCue; run for real."""
import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from paths import TEST_WEIGHTS
from rvmatte.cli import main
from rvmatte.errors import InputError
from rvmatte.farm import deadline, opencue
from rvmatte.farm.openjd import job_template
from rvmatte.farm.shots import attach_finetune, load_shots
from rvmatte.farm.status import check
from rvmatte_hostkit.versions import STATE_FILE, list_versions
from shots import make_png_shot

RVMATTE = Path(sys.executable).with_name("rvmatte")
OPENJD = Path(sys.executable).with_name("openjd")
RATIO = ["--downsample-ratio", "0.5"]


@pytest.fixture
def plate(tmp_path):
    return make_png_shot(tmp_path / "plate", count=4)


def _shots(tmp_path, plate, keep=None):
    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=2, preroll=1, run_args=RATIO)
    for shot in shots:
        shot.versions, shot.keep_versions = True, keep
    return shots


def _step_of(args):
    return args[args.index("--version-step") + 1] if "--version-step" in args else None


def _state(folder):
    return json.loads((folder / STATE_FILE).read_text())


def _task(plate, out, step, frames, preroll=0, *extra, code=0):
    """One task of a versioned shot's job, as the job runs it (in this process)."""
    args = ["run", plate, "-o", str(out), "--frames", frames, "--preroll", str(preroll), "--resume", "--progress",
            "none", "--device", "cpu", "--threads", "1", "--weights", str(TEST_WEIGHTS), *RATIO, "--versions",
            "--version-step", step, *extra]
    assert main(args) == code


def test_openjd_chunks_wait_for_a_choose_step_and_a_finish_step_waits_for_them(tmp_path, plate):
    choose, matte, finish = job_template(_shots(tmp_path, plate, keep=2), device="cpu")["steps"]
    assert "parameterSpace" not in choose and "parameterSpace" not in finish and "dependencies" not in choose
    assert matte["dependencies"] == [{"dependsOn": choose["name"]}]
    assert finish["dependencies"] == [{"dependsOn": matte["name"]}]
    args = {name: step["script"]["actions"]["onRun"]["args"] for name, step in
            (("choose", choose), ("chunk", matte), ("finish", finish))}
    assert {name: _step_of(a) for name, a in args.items()} == {"choose": "choose", "chunk": "chunk",
                                                                 "finish": "finish"}
    assert all("--versions" in a for a in args.values())
    assert args["finish"][args["finish"].index("--frames") + 1] == "1-4"
    assert args["finish"][-2:] == ["--keep-versions", "2"]
    assert "--keep-versions" not in args["choose"] + args["chunk"]


def test_with_keyframes_the_choose_step_waits_for_the_finetune_step(tmp_path, plate):
    keys = make_png_shot(tmp_path / "keys", count=2, name="key")
    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=2, keyframes=keys)
    attach_finetune(shots, str(TEST_WEIGHTS))
    shots[0].versions = True
    finetune, choose, matte, finish = job_template(shots, device="cpu")["steps"]
    assert choose["dependencies"] == [{"dependsOn": finetune["name"]}]
    assert matte["dependencies"] == [{"dependsOn": choose["name"]}]
    args = choose["script"]["actions"]["onRun"]["args"]
    assert _step_of(args) == "choose" and args[args.index("--weights") + 1] == shots[0].tuned_weights


def test_deadline_chunk_jobs_wait_for_the_version_job_and_the_finish_job_for_every_chunk_job(tmp_path, holed_plate):
    shots = load_shots([holed_plate], output_root=str(tmp_path / "out"), chunk_size=20, preroll=8)
    shots[0].versions = True
    found = deadline.jobs(shots, weights=str(TEST_WEIGHTS), batch_name="b", device="cpu", args_dir=str(tmp_path))
    (choose, _, choose_plugin, choose_args, choose_after), *parts, (finish, job_info, _, finish_args, after) = found
    assert choose.endswith("_version") and choose_after == [] and _step_of(choose_args) == "choose"
    assert choose_plugin["Arguments"].startswith("run <QUOTE>@") and "<STARTFRAME>" not in choose_plugin["Arguments"]
    assert len(parts) == 3 and all(p[4] == [choose] and _step_of(p[3]) == "chunk" for p in parts)
    assert finish.endswith("_finish") and after == [p[0] for p in parts] and job_info["ChunkSize"] == "1"
    assert _step_of(finish_args) == "finish"
    assert finish_args[finish_args.index("--frames") + 1] == "1001-1050,1060-1100"


def test_opencue_chunk_layers_wait_for_the_version_layer_and_the_finish_layer_for_them(tmp_path, plate):
    script = opencue.write_script(str(tmp_path / "cue"), _shots(tmp_path, plate), weights=str(TEST_WEIGHTS),
                                  job_name="j", show="s", device="cpu")
    printed = subprocess.run([sys.executable, script, "--xml"], capture_output=True, text=True, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    root = ET.fromstring(printed.stdout.split("?>", 2)[-1])
    layers = {layer.get("name"): layer for layer in root.find("job/layers").findall("layer")}
    assert list(layers) == ["plate_version", "plate", "plate_finish"]
    assert [_step_of(shlex.split(layer.findtext("cmd"))) for layer in layers.values()] == ["choose", "chunk", "finish"]
    assert layers["plate_finish"].findtext("chunk") == "1" and layers["plate_finish"].findtext("range") == "1"
    depends = [(d.get("type"), d.findtext("deplayer"), d.findtext("onlayer")) for d in root.find("depends")]
    assert depends == [("LAYER_ON_LAYER", "plate", "plate_version"), ("LAYER_ON_LAYER", "plate_finish", "plate")]


def test_the_plan_names_the_first_and_last_task_of_a_versioned_shot(tmp_path, plate, capsys):
    assert main(["farm", "plan", plate, "--chunk-size", "2", "--versions", "--keep-versions", "1"]) == 0
    printed = capsys.readouterr().out
    assert "first: one task makes or picks the version folder" in printed
    assert "last: one task checks frames 1-4 there and marks the version complete, then keeps the 1" in printed


def test_an_openjd_job_leaves_one_complete_version_holding_every_frame(tmp_path, plate, capsys):
    job, out = tmp_path / "job", tmp_path / "out"
    assert main(["farm", "openjd", plate, "-o", str(job), "--output-root", str(out), "--chunk-size", "2",
                 "--preroll", "1", "--device", "cpu", "--threads", "1", "--weights", str(TEST_WEIGHTS),
                 "--rvmatte-command", str(RVMATTE), "--run-args", " ".join(RATIO), "--versions"]) == 0
    finish = json.loads((job / "template.json").read_text())["steps"][-1]["name"]
    ran = subprocess.run([str(OPENJD), "run", str(job / "template.json"), "-p", f"file://{job}/openjd_params.json",
                          "--step", finish, "--run-dependencies"], capture_output=True, text=True, timeout=600)
    log = ran.stdout + ran.stderr
    assert ran.returncode == 0, log[-3000:]
    assert "version v001 made for this job" in log and "version v001 complete: all 4 frames checked" in log
    (version,) = list_versions(str(out / "plate"))
    assert version.name == "v001" and version.state == "complete" and version.frames == "1-4"
    assert sorted(p.name for p in Path(version.folder).glob("plate.alpha.*.exr")) == [
        f"plate.alpha.{f:04d}.exr" for f in range(1, 5)]
    assert not list((out / "plate").glob("*.exr"))
    capsys.readouterr()
    assert main(["farm", "status", str(job)]) == 0
    assert "plate: 4/4 done, version v001 complete" in capsys.readouterr().out


def test_a_chunk_alone_records_its_frames_and_leaves_the_version_running(tmp_path, plate):
    out = tmp_path / "out"
    _task(plate, out, "choose", "1-1")
    _task(plate, out, "chunk", "1-2")
    state = _state(out / "v001")
    assert state["state"] == "running" and state["frames"] == "1-2"
    assert [v.name for v in list_versions(str(out))] == ["v001"]


def test_farm_status_reports_the_version_and_its_state_per_shot(tmp_path, plate, capsys):
    job, out = tmp_path / "job", tmp_path / "out"
    assert main(["farm", "openjd", plate, "-o", str(job), "--output-root", str(out), "--chunk-size", "2",
                 "--device", "cpu", "--weights", str(TEST_WEIGHTS), "--run-args", " ".join(RATIO), "--versions"]) == 0
    capsys.readouterr()
    assert main(["farm", "status", str(job), "--json"]) == 1
    (shot,) = json.loads(capsys.readouterr().out)["shots"]
    assert (shot["version"], shot["version_state"], shot["missing"]) == (None, None, "1-4")
    _task(plate, out / "plate", "choose", "1-1")
    _task(plate, out / "plate", "chunk", "3-4", 1)
    assert main(["farm", "status", str(job)]) == 1
    printed = capsys.readouterr().out
    assert "plate: 2/4 done, version v001 running, missing 1-2" in printed
    assert f"[{out / 'plate' / 'v001'}]" in printed
    _task(plate, out / "plate", "chunk", "1-2")
    (status,) = check(str(job))
    assert status.done == [1, 2, 3, 4] and not status.complete, "every frame is there, the finish task is not"
    _task(plate, out / "plate", "finish", "1-4")
    (status,) = check(str(job))
    assert status.complete and status.version == "v001" and status.version_state == "complete"


def test_finish_with_a_chunk_not_done_fails_naming_its_frames_and_leaves_the_version_unfinished(tmp_path, plate,
                                                                                                capsys):
    out = tmp_path / "out"
    _task(plate, out, "choose", "1-1")
    _task(plate, out, "chunk", "1-2")
    capsys.readouterr()
    code = main(["run", plate, "-o", str(out), "--frames", "1-4", "--progress", "json", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), *RATIO, "--versions", "--version-step", "finish"])
    assert code != 0
    (error,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"error"' in line]
    assert "2 of 4 frames missing" in error["message"] and "(3-4)" in error["message"]
    assert "\n" not in error["message"]
    state = _state(out / "v001")
    assert state["state"] == "failed" and state["frames"] == "1-2" and "(3-4)" in state["message"]


def test_a_chunk_of_a_failed_version_requeued_makes_it_running_and_finish_completes_it(tmp_path, plate):
    out = tmp_path / "out"
    _task(plate, out, "choose", "1-1")
    _task(plate, out, "chunk", "1-2")
    assert main(["run", plate, "-o", str(out), "--frames", "1-4", "--progress", "none", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), *RATIO, "--versions", "--version-step", "finish"]) != 0
    _task(plate, out, "chunk", "3-4", 1)
    assert _state(out / "v001")["state"] == "running"
    _task(plate, out, "finish", "1-4")
    state = _state(out / "v001")
    assert (state["state"], state["frames"], state["message"]) == ("complete", "1-4", None)


def test_a_chunk_without_its_choose_task_fails_instead_of_making_a_version(tmp_path, plate, capsys):
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["run", plate, "-o", str(out), "--frames", "1-2", "--progress", "json", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), *RATIO, "--versions", "--version-step", "chunk"]) != 0
    assert "--version-step choose" in capsys.readouterr().out
    assert list_versions(str(out)) == []


def test_two_chunks_started_at_once_write_into_one_version_and_both_frames_are_recorded(tmp_path, plate):
    out = tmp_path / "out"
    _task(plate, out, "choose", "1-1")
    common = ["--resume", "--progress", "none", "--device", "cpu", "--threads", "1", "--weights", str(TEST_WEIGHTS),
              *RATIO, "--versions", "--version-step", "chunk"]
    tasks = [subprocess.Popen([str(RVMATTE), "run", plate, "-o", str(out), "--frames", frames, "--preroll", "1",
                               *common], stderr=subprocess.PIPE, text=True) for frames in ("1-2", "3-4")]
    results = [(t.wait(timeout=300), t.stderr.read()) for t in tasks]
    assert [code for code, _ in results] == [0, 0], results
    assert sorted(p.name for p in out.iterdir()) == ["v001"]
    state = _state(out / "v001")
    assert state["state"] == "running" and state["frames"] == "1-4"
    assert len(list((out / "v001").glob("plate.alpha.*.exr"))) == 4


def test_keep_versions_removes_an_older_version_only_when_the_finish_task_runs(tmp_path, plate):
    out = tmp_path / "out"
    for step, frames in (("choose", "1-1"), ("chunk", "1-4"), ("finish", "1-4")):
        _task(plate, out, step, frames)
    other = ["--downsample-ratio", "0.25"]
    _task(plate, out, "choose", "1-1", 0, *other)
    _task(plate, out, "chunk", "1-4", 0, *other)
    assert [(v.name, v.state) for v in list_versions(str(out))] == [("v001", "complete"), ("v002", "running")]
    _task(plate, out, "finish", "1-4", 0, *other, "--keep-versions", "1")
    assert [(v.name, v.state) for v in list_versions(str(out))] == [("v002", "complete")]


def test_versions_in_run_args_are_refused_pointing_at_the_farm_option(tmp_path, plate):
    with pytest.raises(InputError, match="rvmatte farm … --versions"):
        load_shots([plate], output_root=str(tmp_path / "out"), run_args=["--versions"])


def test_versions_with_the_people_pass_are_refused_at_submission(tmp_path, plate, capsys):
    assert main(["farm", "openjd", plate, "-o", str(tmp_path / "job"), "--output-root", str(tmp_path / "out"),
                 "--device", "cpu", "--weights", str(TEST_WEIGHTS), "--run-args", "--target-point 40,30@1",
                 "--versions"]) != 0
    assert "--versions does not work with the people pass" in capsys.readouterr().err
