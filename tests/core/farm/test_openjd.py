"""The Open Job Description bundle, checked with the real openjd model and CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openjd.model import (
    ParameterValue,
    ParameterValueType,
    StepParameterSpaceIterator,
    create_job,
    decode_job_template,
)

from rvmatte.errors import InputError
from rvmatte.farm import openjd
from rvmatte.farm.shots import load_shots

WEIGHTS = "/farm/weights/rvm_mobilenetv3.pth"
OPENJD = Path(sys.executable).with_name("openjd")


def _job(template: dict, values: dict):
    decoded = decode_job_template(template=template, supported_extensions=["TASK_CHUNKING"])
    return create_job(job_template=decoded, job_parameter_values={
        k: ParameterValue(type=ParameterValueType(p["type"]), value=str(values[k]))
        for p in template["parameterDefinitions"] for k in [p["name"]]
    })


def _tasks(step) -> list[dict]:
    return [{k: v.value for k, v in task.items()} for task in StepParameterSpaceIterator(space=step.parameterSpace)]


@pytest.fixture
def shots(plate, holed_plate, tmp_path):
    return load_shots([plate, holed_plate], output_root=str(tmp_path / "out"), chunk_size=30, preroll=16)


def test_the_template_is_a_valid_2023_09_job_with_task_chunking(shots):
    template = openjd.job_template(shots)
    assert template["specificationVersion"] == "jobtemplate-2023-09"
    assert template["extensions"] == ["TASK_CHUNKING"]
    job = _job(template, openjd.parameter_values(shots, WEIGHTS))
    assert [step.name for step in job.steps] == ["plate", "plate_2"]


def test_paths_are_path_parameters_flowing_in_and_out(shots):
    definitions = {p["name"]: p for p in openjd.job_template(shots)["parameterDefinitions"]}
    assert (definitions["Weights"]["type"], definitions["Weights"]["dataFlow"]) == ("PATH", "IN")
    assert definitions["Shot01Input"]["dataFlow"] == "IN" and definitions["Shot01Input"]["objectType"] == "DIRECTORY"
    assert definitions["Shot01Output"]["dataFlow"] == "OUT" and definitions["Shot02Output"]["type"] == "PATH"
    assert definitions["RvmatteCommand"]["default"] == "rvmatte"


def test_a_whole_plate_shot_runs_as_contiguous_task_chunks_with_a_constant_preroll(shots):
    template = openjd.job_template(shots)
    job = _job(template, openjd.parameter_values(shots, WEIGHTS))
    (frames,) = template["steps"][0]["parameterSpace"]["taskParameterDefinitions"]
    assert frames["type"] == "CHUNK[INT]" and frames["chunks"]["rangeConstraint"] == "CONTIGUOUS"
    assert [t["Frames"] for t in _tasks(job.steps[0])] == [c.frames for c in shots[0].chunks("even")]
    args = template["steps"][0]["script"]["actions"]["onRun"]["args"]
    assert args[args.index("--preroll") + 1] == "16"


def test_a_shot_with_a_hole_gets_each_chunk_with_its_own_preroll(shots):
    template = openjd.job_template(shots)
    job = _job(template, openjd.parameter_values(shots, WEIGHTS))
    planned = [(c.frames, str(c.preroll)) for c in shots[1].chunks("even")]
    assert [(t["Frames"], t["Preroll"]) for t in _tasks(job.steps[1])] == planned
    assert ("1060-1080", "0") in planned


def test_the_task_runs_rvmatte_on_the_chunk_with_resume_openjd_progress_and_explicit_cuda(shots):
    step = openjd.job_template(shots, device="cuda")["steps"][0]
    action = step["script"]["actions"]["onRun"]
    assert action["command"] == "{{Param.RvmatteCommand}}"
    args = action["args"]
    assert args[:2] == ["run", "{{Param.Shot01Input}}/plate.####.exr"]
    assert args[args.index("--frames") + 1] == "{{Task.Param.Frames}}"
    assert {"--resume", "--weights"} <= set(args)
    assert args[args.index("--progress") + 1] == "openjd" and args[args.index("--device") + 1] == "cuda"


def test_gpu_jobs_require_a_gpu_worker_and_cpu_jobs_do_not(shots):
    gpu = openjd.job_template(shots, device="cuda", min_gpu_memory_mib=6000)["steps"][0]["hostRequirements"]
    assert {"name": "amount.worker.gpu", "min": 1} in gpu["amounts"]
    assert {"name": "amount.worker.gpu.memory", "min": 6000} in gpu["amounts"]
    assert "hostRequirements" not in openjd.job_template(shots, device="cpu")["steps"][0]


def test_the_worker_environment_sets_threads_from_the_workers_cores(shots):
    (environment,) = openjd.job_template(shots)["jobEnvironments"]
    on_enter = environment["script"]["actions"]["onEnter"]
    assert on_enter["args"] == ["farm", "worker-env", "--threads", "{{Param.Threads}}"]


def test_a_movie_is_a_file_parameter(shared_dir, tmp_path):
    movie = shared_dir / "data/real_video/rvmnuke_person_short_360x640/nuke_person_short.mp4"
    shots = load_shots([str(movie)], output_root=str(tmp_path))
    template = openjd.job_template(shots)
    assert template["parameterDefinitions"][3]["objectType"] == "FILE"
    assert template["steps"][0]["script"]["actions"]["onRun"]["args"][1] == "{{Param.Shot01Input}}"
    assert openjd.parameter_values(shots, WEIGHTS)["Shot01Input"] == str(movie)


def test_too_many_shots_for_one_job_is_a_user_error(plate, tmp_path):
    shots = load_shots([plate] * (openjd.MAX_SHOTS + 1), output_root=str(tmp_path))
    with pytest.raises(InputError, match="split the shot list"):
        openjd.job_template(shots)


def test_the_bundle_passes_openjd_check_and_carries_deadline_cloud_parameter_values(shots, tmp_path):
    files = openjd.write_bundle(str(tmp_path / "job"), shots, weights=WEIGHTS)
    checked = subprocess.run([str(OPENJD), "check", files["template"]], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    values = json.loads(Path(files["parameter_values"]).read_text())["parameterValues"]
    assert {"name": "Weights", "value": WEIGHTS} in values
    assert json.loads(Path(files["openjd_params"]).read_text())["Shot02Output"] == shots[1].output_dir
    plan = json.loads(Path(files["plan"]).read_text())
    assert plan["shots"][1]["writes"]["alpha"].endswith("plate.alpha.####.exr")


def test_a_plate_file_name_holding_a_format_string_is_refused(tmp_path):
    from farm_plates import make_plate

    from rvmatte.errors import InputError

    plate = make_plate(tmp_path / "sh", range(1, 4), name="x{{Param.Weights}}")
    shots = load_shots([plate], output_root=str(tmp_path / "out"))
    with pytest.raises(InputError, match=r"\{\{"):
        openjd.job_template(shots)


def test_run_args_holding_a_format_string_are_refused(plate, tmp_path):
    from rvmatte.errors import InputError

    shots = load_shots([plate], output_root=str(tmp_path), run_args=["--input-colorspace", "{{Param.Weights}}"])
    with pytest.raises(InputError, match=r"\{\{"):
        openjd.job_template(shots)


PEOPLE_ARGS = ["--target-point", "hero=40,30@1001"]


def test_a_shot_with_targets_is_matte_chunks_then_one_labelling_task_then_chunk_writes(plate, tmp_path):
    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=30, preroll=16, run_args=PEOPLE_ARGS)
    template = openjd.job_template(shots)
    matte, label, write = template["steps"]
    assert [s["name"] for s in template["steps"]] == ["plate", "plate label", "plate write"]
    assert "dependencies" not in matte
    assert label["dependencies"] == [{"dependsOn": "plate"}] and write["dependencies"] == [{"dependsOn": "plate label"}]
    job = _job(template, openjd.parameter_values(shots, WEIGHTS))
    steps = {s.name: s for s in job.steps}
    assert steps["plate label"].parameterSpace is None                               # one task
    assert len(_tasks(steps["plate"])) == len(_tasks(steps["plate write"])) == 4
    for step, kind in ((matte, "matte"), (label, "label"), (write, "write")):
        args = step["script"]["actions"]["onRun"]["args"]
        assert args[args.index("--people-step") + 1] == kind and args[-4:-2] == PEOPLE_ARGS
    label_args = label["script"]["actions"]["onRun"]["args"]
    assert label_args[label_args.index("--frames") + 1] == "1001-1100"
    assert "hostRequirements" in matte and "hostRequirements" not in label and "hostRequirements" not in write


def test_a_shot_with_targets_and_a_hole_is_refused(holed_plate, tmp_path):
    with pytest.raises(InputError, match="without holes"):
        load_shots([holed_plate], output_root=str(tmp_path / "out"), run_args=PEOPLE_ARGS)


def test_run_args_must_not_set_the_people_step(plate, tmp_path):
    with pytest.raises(InputError, match="--people-step"):
        load_shots([plate], output_root=str(tmp_path / "out"), run_args=[*PEOPLE_ARGS, "--people-step", "label"])
