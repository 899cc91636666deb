"""Open Job Description job bundles: one step per shot, one task per chunk.

The bundle (a folder) holds

* ``template.json``: the job template (``jobtemplate-2023-09``);
* ``parameter_values.json``: the values, in AWS Deadline Cloud's job-bundle form;
* ``openjd_params.json``: the same values as a plain mapping, for
  ``openjd run template.json -p file://openjd_params.json``;
* ``rvmatte_plan.json``: the shots and chunks, read by ``rvmatte farm status``.

Paths travel as PATH job parameters with a ``dataFlow`` (IN: plates and
weights, OUT: output folders) so a farm can map them between operating systems
and attach them to the job. Chunks use the TASK_CHUNKING extension (a
``CHUNK[INT]`` parameter with contiguous ranges) when the runtime's chunks and
``rvmatte run``'s own preroll clamping give exactly the planned warm-up; a shot
with a hole in its frame list, or one starting after its plate's first frame,
gets explicit chunks instead: a ``Frames`` range list paired with a ``Preroll``
list.
"""

from __future__ import annotations

import json
import os

from ..errors import InputError, OutputError
from .command import finetune_arguments, people_label_frames, run_arguments, version_arguments
from .plan import format_frame_list, needs_explicit_preroll
from .shots import Shot
from .status import plan_document

SPECIFICATION = "jobtemplate-2023-09"
#: Job parameters are limited to 50 in jobtemplate-2023-09 without extensions.
MAX_JOB_PARAMETERS = 50
_GLOBAL_PARAMETERS = 3
MAX_SHOTS = (MAX_JOB_PARAMETERS - _GLOBAL_PARAMETERS) // 2


def parameter_names(index: int) -> tuple[str, str]:
    """Job parameter names of shot ``index`` (from 1): its input and its output folder."""
    return f"Shot{index:02d}Input", f"Shot{index:02d}Output"


def uses_task_chunking(shot: Shot) -> bool:
    """Whether the runtime's CHUNK[INT] chunks can carry this shot (see the module docstring)."""
    return not any(needs_explicit_preroll(c, shot.preroll, shot.input_first) for c in shot.chunks("even"))


def job_template(
    shots: list[Shot],
    *,
    device: str = "cuda",
    job_name: str | None = None,
    min_gpu_memory_mib: int = 4096,
) -> dict:
    """The job template for ``shots`` (a plain dict, ready for JSON)."""
    if not shots:
        raise InputError("no shot to put in the job")
    if len(shots) > MAX_SHOTS:
        raise InputError(
            f"{len(shots)} shots do not fit one Open Job Description job (at most {MAX_SHOTS}); split the shot list"
        )
    parameters = [
        {
            "name": "RvmatteCommand",
            "type": "STRING",
            "default": "rvmatte",
            "minLength": 1,
            "description": "How workers start rvmatte: a command on the worker's PATH (put there by a queue "
            "environment) or the full path of the rvmatte executable in its virtual environment.",
        },
        {
            "name": "Weights",
            "type": "PATH",
            "objectType": "FILE",
            "dataFlow": "IN",
            "description": "RVM checkpoint (.pth) the workers load; sent with the job.",
        },
        {
            "name": "Threads",
            "type": "INT",
            "default": 0,
            "minValue": 0,
            "description": "CPU threads per task; 0 uses every core the worker offers.",
        },
    ]
    for shot in shots:
        _refuse_format_strings(shot)
    steps = []
    for index, shot in enumerate(shots, 1):
        input_param, output_param = parameter_names(index)
        parameters.append(
            {
                "name": input_param,
                "type": "PATH",
                "objectType": "FILE" if shot.kind == "movie" else "DIRECTORY",
                "dataFlow": "IN",
                "description": f"{shot.name}: "
                + ("the movie" if shot.kind == "movie" else f"folder of {shot.plate_file}"),
            }
        )
        parameters.append(
            {
                "name": output_param,
                "type": "PATH",
                "objectType": "DIRECTORY",
                "dataFlow": "OUT",
                "description": f"{shot.name}: folder of the alpha and foreground passes",
            }
        )
        steps.extend(_steps(shot, input_param, output_param, device, min_gpu_memory_mib))
    template: dict = {"specificationVersion": SPECIFICATION}
    if any(uses_task_chunking(shot) for shot in shots):
        template["extensions"] = ["TASK_CHUNKING"]
    template |= {
        "name": job_name or _job_name(shots),
        "description": "Robust Video Matting: alpha and premultiplied foreground EXR passes, "
        "chunks warmed up by a preroll.",
        "parameterDefinitions": parameters,
        "jobEnvironments": [_worker_environment()],
        "steps": steps,
    }
    return template


def parameter_values(shots: list[Shot], weights: str, rvmatte_command: str = "rvmatte", threads: int = 0) -> dict:
    """Job parameter values as ``name: value``."""
    values = {"RvmatteCommand": rvmatte_command, "Weights": os.path.abspath(weights), "Threads": threads}
    for index, shot in enumerate(shots, 1):
        input_param, output_param = parameter_names(index)
        values[input_param] = shot.input if shot.kind == "movie" else shot.plate_dir
        values[output_param] = shot.output_dir
    return values


def write_bundle(
    directory: str,
    shots: list[Shot],
    *,
    weights: str,
    device: str = "cuda",
    rvmatte_command: str = "rvmatte",
    threads: int = 0,
    job_name: str | None = None,
    min_gpu_memory_mib: int = 4096,
) -> dict[str, str]:
    """Write the job bundle into ``directory``; returns ``{role: path}`` of the files written."""
    template = job_template(shots, device=device, job_name=job_name, min_gpu_memory_mib=min_gpu_memory_mib)
    values = parameter_values(shots, weights, rvmatte_command, threads)
    files = {
        "template": os.path.join(directory, "template.json"),
        "parameter_values": os.path.join(directory, "parameter_values.json"),
        "openjd_params": os.path.join(directory, "openjd_params.json"),
        "plan": os.path.join(directory, "rvmatte_plan.json"),
    }
    documents = {
        "template": template,
        "parameter_values": {"parameterValues": [{"name": k, "value": v} for k, v in values.items()]},
        "openjd_params": values,
        "plan": plan_document(shots, "even"),
    }
    try:
        os.makedirs(directory, exist_ok=True)
        for role, path in files.items():
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(documents[role], handle, indent=2)
                handle.write("\n")
    except OSError as error:
        raise OutputError(f"cannot write job bundle in {directory}: {error.strerror}") from None
    return files


def people_step_names(shot: Shot) -> tuple[str, str, str]:
    """The step names of a shot with people: its matte chunks, its one labelling task, its writes."""
    return shot.name[:64], f"{shot.name[:57]} label", f"{shot.name[:57]} write"


def _steps(shot: Shot, input_param: str, output_param: str, device: str, min_gpu_memory_mib: int) -> list[dict]:
    """The shot's steps, a shot with keyframes starting with its one fine-tune task (``_finetune_step``)
    that the next step waits for; a versioned shot's chunks wait for its choose step and its finish step
    waits for every chunk (``_version_step``)."""
    steps = _matte_steps(shot, input_param, output_param, device, min_gpu_memory_mib)
    if shot.versions:
        choose, finish = (_version_step(shot, step, input_param, output_param, device, min_gpu_memory_mib)
                          for step in ("choose", "finish"))
        steps[0]["dependencies"] = [{"dependsOn": choose["name"]}]
        finish["dependencies"] = [{"dependsOn": steps[-1]["name"]}]
        steps = [choose, *steps, finish]
    if not shot.keyframes:
        return steps
    finetune = _finetune_step(shot, input_param, device, min_gpu_memory_mib)
    steps[0]["dependencies"] = [{"dependsOn": finetune["name"]}]
    return [finetune, *steps]


def version_step_names(shot: Shot) -> tuple[str, str]:
    """The step names of a versioned shot's choose and finish tasks."""
    return f"{shot.name[:49]} choose version", f"{shot.name[:49]} finish version"


def _version_step(shot: Shot, step: str, input_param: str, output_param: str, device: str,
                  min_gpu_memory_mib: int) -> dict:
    """One task that makes or picks the shot's version folder (``choose``) or checks every frame in it
    and marks it complete (``finish``); on the chunks' device, as it computes their result key."""
    what = ("make or pick the version folder of these settings, before any chunk" if step == "choose"
            else f"check frames {format_frame_list(shot.frames)} in the version folder and mark it complete"
            + (f", keeping {shot.keep_versions} complete versions" if shot.keep_versions else ""))
    args = version_arguments(shot, step, plate=_plate(shot, input_param), output="{{Param.%s}}" % output_param,
                             device=device, weights="{{Param.Weights}}")
    return _rvmatte_step(version_step_names(shot)[0 if step == "choose" else 1], f"{shot.input}: {what}", args,
                         device, min_gpu_memory_mib)


def _finetune_step(shot: Shot, input_param: str, device: str, min_gpu_memory_mib: int) -> dict:
    args = finetune_arguments(shot, plate=_plate(shot, input_param), device=device, weights="{{Param.Weights}}")
    return _rvmatte_step(f"{shot.name[:55]} finetune",
                         f"{shot.input}: fine-tune the weights from the keyframes {shot.keyframes} "
                         f"into {shot.tuned_weights}, in one task (skipped when that file already matches)",
                         args, device, min_gpu_memory_mib)


def _rvmatte_step(name: str, description: str, args: list, device: str, min_gpu_memory_mib: int) -> dict:
    """A step whose tasks run ``rvmatte`` with ``args`` (cancelled by a signal, then terminated); on a
    CUDA device it asks for a GPU with ``min_gpu_memory_mib``."""
    step = {
        "name": name,
        "description": description,
        "script": {
            "actions": {
                "onRun": {
                    "command": "{{Param.RvmatteCommand}}",
                    "args": args,
                    "cancelation": {"mode": "NOTIFY_THEN_TERMINATE"},
                }
            }
        },
    }
    if device.startswith("cuda"):
        step["hostRequirements"] = {"amounts": [{"name": "amount.worker.gpu", "min": 1},
                                                {"name": "amount.worker.gpu.memory", "min": min_gpu_memory_mib}]}
    return step


def _matte_steps(shot: Shot, input_param: str, output_param: str, device: str, min_gpu_memory_mib: int) -> list[dict]:
    """One step per shot; a shot with ``--target``/``--people`` gets three: its matte chunks, then one
    labelling task over the whole shot (identities are carried frame to frame, so it cannot be cut), then
    the chunks' writes. Each waits for the step before it (``dependencies``)."""
    if not shot.has_people:
        return [_step(shot, input_param, output_param, device, min_gpu_memory_mib)]
    matte_name, label_name, write_name = people_step_names(shot)
    matte = _step(shot, input_param, output_param, device, min_gpu_memory_mib, people_step="matte")
    label = _rvmatte_step(label_name, f"{shot.input}: who is who on frames {format_frame_list(shot.frames)}, in "
                          "one pass (an interrupted task carries on after its last labelled frame)",
                          run_arguments(shot, plate=_plate(shot, input_param), output="{{Param.%s}}" % output_param,
                                        frames=people_label_frames(shot), preroll="0", device="cpu",
                                        weights="{{Param.Weights}}", people_step="label"),
                          "cpu", min_gpu_memory_mib)
    label["dependencies"] = [{"dependsOn": matte_name}]
    write = _step(shot, input_param, output_param, "cpu", min_gpu_memory_mib, people_step="write")
    write["name"] = write_name
    write["dependencies"] = [{"dependsOn": label_name}]
    return [matte, label, write]


def _plate(shot: Shot, input_param: str) -> str:
    plate = "{{Param.%s}}" % input_param
    return plate if shot.kind == "movie" else f"{plate}/{shot.plate_file}"


def _step(shot: Shot, input_param: str, output_param: str, device: str, min_gpu_memory_mib: int,
          people_step: str | None = None) -> dict:
    if uses_task_chunking(shot):
        space = {
            "taskParameterDefinitions": [
                {
                    "name": "Frames",
                    "type": "CHUNK[INT]",
                    "range": format_frame_list(shot.frames),
                    "chunks": {"defaultTaskCount": shot.chunk_size, "rangeConstraint": "CONTIGUOUS"},
                }
            ]
        }
        preroll = str(shot.preroll)
    else:
        chunks = shot.chunks("even")
        space = {
            "taskParameterDefinitions": [
                {"name": "Frames", "type": "STRING", "range": [c.frames for c in chunks]},
                {"name": "Preroll", "type": "INT", "range": [c.preroll for c in chunks]},
            ],
            "combination": "(Frames, Preroll)",
        }
        preroll = "{{Task.Param.Preroll}}"
    args = run_arguments(
        shot,
        plate=_plate(shot, input_param),
        output="{{Param.%s}}" % output_param,
        frames="{{Task.Param.Frames}}",
        preroll=preroll,
        device=device,
        weights="{{Param.Weights}}",
        people_step=people_step,
    )
    step = _rvmatte_step(shot.name[:64], f"{shot.input} frames {format_frame_list(shot.frames)}, "
                         f"chunks of {shot.chunk_size}, preroll {shot.preroll}", args, device, min_gpu_memory_mib)
    step["parameterSpace"] = space
    return step


def _refuse_format_strings(shot: Shot) -> None:
    """OpenJD expands ``{{...}}`` in a task's arguments and has no escape for it, so a literal ``{{``
    in a plate file name or an extra run option would be replaced (or fail the job): refused here."""
    for what, value in [("plate file name", "" if shot.kind == "movie" else shot.plate_file),
                        *(("run_args", a) for a in shot.run_args),
                        *(("finetune_args", a) for a in shot.finetune_args),
                        ("keyframes", shot.keyframes or ""), ("tuned weights", shot.tuned_weights or "")]:
        if "{{" in value:
            raise InputError(f"{shot.name}: {what} {value!r} holds '{{{{', which Open Job Description would "
                             "expand as a format string; rename it")


def _worker_environment() -> dict:
    """Runs once per worker session: proves rvmatte starts there and sets the thread count."""
    return {
        "name": "rvmatte worker",
        "description": "Checks that RvmatteCommand runs on the worker and matches its CPU threads to the "
        "cores the worker offers (or to the Threads parameter).",
        "script": {
            "actions": {
                "onEnter": {
                    "command": "{{Param.RvmatteCommand}}",
                    "args": ["farm", "worker-env", "--threads", "{{Param.Threads}}"],
                }
            }
        },
    }


def _job_name(shots: list[Shot]) -> str:
    if len(shots) == 1:
        return f"rvmatte {shots[0].name}"
    return f"rvmatte {shots[0].name} + {len(shots) - 1} shots"
