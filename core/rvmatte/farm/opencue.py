"""OpenCue jobs as a PyOutline script.

``rvmatte farm opencue`` writes ``submit_opencue.py``: a script for the
interpreter that has OpenCue's ``opencue-pyoutline`` installed (it does not need
rvmatte). Run it to launch the job on the Cuebot that pyoutline is configured
for, or with ``--xml`` to print the job spec without contacting any Cuebot.
Every shot is one layer per run (see ``plan.group_runs``); OpenCue cuts a layer's
range into ``chunk`` frames and the command reads ``#FRAME_START#-#FRAME_END#``.
A shot with ``--target``/``--people`` adds a ``<shot>_label`` layer (one frame, one
task: the labelling of the whole shot) that waits for its matte layers
(``depend_on``: layer on layer), then ``<shot>_write`` layers that wait for it. A versioned shot
(``--versions``) starts with a ``<shot>_version`` layer (one task: makes or picks the version folder)
that its chunk layers wait for, and ends with a ``<shot>_finish`` layer (one task: checks every
frame, marks the version complete) that waits for them all.
"""

from __future__ import annotations

import json
import os
import pprint
import shlex

from ..errors import OutputError
from .command import finetune_arguments, people_label_frames, run_arguments, version_arguments
from .plan import group_runs
from .shots import Shot
from .status import plan_document

SCRIPT_NAME = "submit_opencue.py"

_SCRIPT = '''#!/usr/bin/env python3
"""Launch the rvmatte job below on OpenCue (written by `rvmatte farm opencue`).

    python {script} [--xml]

--xml prints the job spec instead of launching it (no Cuebot needed).
"""
import sys

import outline
import outline.cuerun
import outline.depend
import outline.modules.shell
from outline.backend import cue

JOB = {job}


def build_outline():
    job = outline.Outline(JOB["name"], show=JOB["show"], shot=JOB["shot"], user=JOB["user"])
    built = {{}}
    for layer in JOB["layers"]:
        options = {{key: value for key, value in layer.items() if key not in ("name", "command", "after")}}
        shell = outline.modules.shell.Shell(layer["name"], command=layer["command"], **options)
        for name in layer.get("after", ()):
            shell.depend_on(built[name], outline.depend.DependType.LayerOnLayer)   # the whole layer first
        job.add_layer(shell)
        built[layer["name"]] = shell
    return job


if __name__ == "__main__":
    job = build_outline()
    if "--xml" in sys.argv[1:]:
        print(cue.serialize_simple(outline.cuerun.OutlineLauncher(job)))
    else:
        outline.cuerun.launch(job, use_pycuerun=False)
'''


def job_description(
    shots: list[Shot],
    *,
    weights: str,
    job_name: str,
    show: str,
    shot_name: str | None = None,
    user: str | None = None,
    device: str = "cuda",
    rvmatte_command: str = "rvmatte",
    cores: int = 0,
    gpu_memory_gib: int = 4,
) -> dict:
    """The job as plain data: name, show, shot, user and one entry per layer."""
    layers = []

    def add(shot, name, command, frames, chunk, after, gpu):
        layer = {
            "name": name,
            # One string, quoted for the shell: OpenCue joins a list with bare spaces.
            "command": shlex.join([rvmatte_command, *command]),
            "range": frames,
            "chunk": chunk,
        }
        if cores > 0:
            layer["cores"] = cores
        if gpu and device.startswith("cuda"):
            layer["gpus"] = 1
            layer["gpu_memory"] = f"{gpu_memory_gib}g"
        if after:
            layer["after"] = list(after)
        layers.append(layer)
        return name

    for shot in shots:
        runs = group_runs(shot.chunks("fixed"), shot.preroll, shot.input_first)
        waited: list[str] = []
        if shot.keyframes:
            args = finetune_arguments(shot, plate=shot.input, device=device, weights=os.path.abspath(weights))
            waited = [add(shot, f"{shot.name}_finetune", args, str(shot.frames[0]), 1, [], gpu=True)]
        if shot.versions:
            args = version_arguments(shot, "choose", plate=shot.input, output=shot.output_dir, device=device,
                                     weights=os.path.abspath(weights))
            waited = [add(shot, f"{shot.name}_version", args, str(shot.frames[0]), 1, waited, gpu=True)]
        for step in ("matte", "label", "write") if shot.has_people else (None,):
            if step == "label":
                args = run_arguments(shot, plate=shot.input, output=shot.output_dir,
                                     frames=people_label_frames(shot), preroll="0", device="cpu",
                                     weights=os.path.abspath(weights), people_step="label")
                waited = [add(shot, f"{shot.name}_label", args, str(shot.frames[0]), 1, waited, gpu=False)]
                continue
            suffix = "_write" if step == "write" else ""
            made = []
            for number, run in enumerate(runs, 1):
                args = run_arguments(
                    shot,
                    plate=shot.input,
                    output=shot.output_dir,
                    frames="#FRAME_START#-#FRAME_END#",
                    preroll=str(run.preroll),
                    device="cpu" if step == "write" else device,
                    weights=os.path.abspath(weights),
                    people_step=step,
                )
                name = f"{shot.name}{suffix}" if len(runs) == 1 else f"{shot.name}{suffix}_part{number}"
                made.append(add(shot, name, args, run.frames,
                                shot.chunk_size if len(run.chunks) > 1 else run.chunks[0].length, waited,
                                gpu=step != "write"))
            waited = made
        if shot.versions:
            args = version_arguments(shot, "finish", plate=shot.input, output=shot.output_dir, device=device,
                                     weights=os.path.abspath(weights))
            add(shot, f"{shot.name}_finish", args, str(shot.frames[0]), 1, waited, gpu=True)
    return {
        "name": job_name,
        "show": show,
        "shot": shot_name or shots[0].name,
        "user": user or os.environ.get("USER") or os.environ.get("USERNAME") or "rvmatte",
        "layers": layers,
    }


def script_text(job: dict) -> str:
    return _SCRIPT.format(script=SCRIPT_NAME, job=pprint.pformat(job, sort_dicts=False, width=100))


def write_script(directory: str, shots: list[Shot], **options) -> str:
    """Write ``submit_opencue.py`` and ``rvmatte_plan.json`` into ``directory``; returns the script path."""
    path = os.path.join(directory, SCRIPT_NAME)
    try:
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(script_text(job_description(shots, **options)))
        os.chmod(path, 0o755)
        with open(os.path.join(directory, "rvmatte_plan.json"), "w", encoding="utf-8") as handle:
            json.dump(plan_document(shots, "fixed"), handle, indent=2)
    except OSError as error:
        raise OutputError(f"cannot write the OpenCue script in {directory}: {error.strerror}") from None
    return path
