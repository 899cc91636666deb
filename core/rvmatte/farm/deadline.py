"""Thinkbox Deadline 10 submission files for its CommandLine plugin.

A Deadline job has one frame list and one command, so every shot becomes one
job (more when a hole or a late start needs its own preroll, see
``plan.group_runs``), all in one batch. For each job the folder holds
``<job>.job_info.job`` and ``<job>.plugin_info.job`` (``key=value`` lines, as
``deadlinecommand JOBINFO PLUGININFO`` reads them) and ``<job>.args``, and
``submit.sh`` / ``submit.bat`` submit them all.

No value is quoted into the command line: each task runs
``rvmatte run "@<job folder>/<job>.args" --frames <STARTFRAME>-<ENDFRAME>`` and
reads the plate, output folder, weights and extra options from the arguments
file, one argument per line (argparse's ``fromfile_prefix_chars``), so a
space, a quote or a parenthesis in a value reaches the task whole. The job
folder must therefore be visible to the workers, like the plates. A value
with a control character (a newline would inject a line such as
``Executable=``) is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import sys

from ..errors import InputError, OutputError
from .command import finetune_arguments, people_label_frames, run_arguments, version_arguments
from .run_args import refuse_control_characters
from .plan import group_runs
from .shots import Shot
from .status import plan_document


def jobs(
    shots: list[Shot],
    *,
    weights: str,
    batch_name: str,
    device: str = "cuda",
    rvmatte_command: str = "rvmatte",
    pool: str | None = None,
    group: str | None = None,
    priority: int = 50,
    args_dir: str = ".",
) -> list[tuple[str, dict[str, str], dict[str, str], list[str], list[str]]]:
    """``(job file stem, job info, plugin info, task arguments, stems it waits for)`` for every Deadline
    job of ``shots``; the task arguments go to ``<args_dir>/<stem>.args``. A shot with ``--target`` or
    ``--people`` is three kinds of job: its matte jobs, one labelling job (one task over the whole
    shot) waiting for them, and its write jobs waiting for that. A versioned shot adds ``<shot>_version``
    (one task) that its chunk jobs wait for and ``<shot>_finish`` (one task) that waits for them all."""
    result = []

    def job(shot, stem, frames, chunk_size, comment, args, after, arguments=None):
        args_file = os.path.join(os.path.abspath(args_dir), f"{stem}.args")
        if '"' in args_file:
            raise InputError(f"{args_file}: a job folder for Deadline must not hold a double quote")
        job_info = {
            "Plugin": "CommandLine",
            "Name": f"rvmatte {stem}",
            "BatchName": batch_name,
            "Comment": comment,
            "Frames": frames,
            "ChunkSize": str(chunk_size),
            "Priority": str(priority),
        }
        if pool:
            job_info["Pool"] = pool
        if group:
            job_info["Group"] = group
        job_info["OutputDirectory0"] = shot.output_dir
        for index, pattern in enumerate(shot.writes().values()):
            job_info[f"OutputFilename{index}"] = os.path.basename(pattern)
        plugin_info = {
            "Executable": rvmatte_command,
            "Arguments": arguments or f"run {_quoted('@' + args_file)} --frames <STARTFRAME>-<ENDFRAME>",
            "StartupDirectory": "",
            "ShellExecute": "False",
        }
        result.append((stem, job_info, plugin_info, args[1:], list(after)))
        return stem

    def version_job(shot, step, after):
        """A versioned shot's one choose job (its chunk jobs wait for it) or finish job (waits for them)."""
        stem = f"{shot.name}_{'version' if step == 'choose' else 'finish'}"
        args = version_arguments(shot, step, plate=shot.input, output=shot.output_dir, device=device,
                                 weights=os.path.abspath(weights))
        args_file = os.path.join(os.path.abspath(args_dir), f"{stem}.args")
        what = ("make or pick the version folder, before any chunk" if step == "choose"
                else f"check frames {args[args.index('--frames') + 1]} and mark the version complete")
        return job(shot, stem, str(shot.frames[0]), 1, f"{shot.input}: {what}, one task", args, after,
                   arguments=f"run {_quoted('@' + args_file)}")

    for shot in shots:
        runs = group_runs(shot.chunks("fixed"), shot.preroll, shot.input_first)
        steps = ("matte", "label", "write") if shot.has_people else (None,)
        waited: list[str] = []
        if shot.keyframes:
            stem = f"{shot.name}_finetune"
            args = finetune_arguments(shot, plate=shot.input, device=device,
                                      weights=os.path.abspath(weights))
            args_file = os.path.join(os.path.abspath(args_dir), f"{stem}.args")
            waited = [job(shot, stem, str(shot.frames[0]), 1,
                          f"{shot.input}: fine-tune from {shot.keyframes} into {shot.tuned_weights}, one task",
                          args, [], arguments=f"finetune {_quoted('@' + args_file)}")]
        if shot.versions:
            waited = [version_job(shot, "choose", waited)]
        for step in steps:
            made = []
            if step == "label":
                stem = f"{shot.name}_label"
                args = run_arguments(shot, plate=shot.input, output=shot.output_dir,
                                     frames=people_label_frames(shot), preroll="0", device="cpu",
                                     weights=os.path.abspath(weights), people_step="label")
                args_file = os.path.join(os.path.abspath(args_dir), f"{stem}.args")
                made.append(job(shot, stem, str(shot.frames[0]), 1,
                                f"{shot.input}: who is who on frames {people_label_frames(shot)}, one pass",
                                args, waited, arguments=f"run {_quoted('@' + args_file)}"))
            else:
                suffix = "" if step in (None, "matte") else "_write"
                for number, run in enumerate(runs, 1):
                    stem = f"{shot.name}{suffix}" if len(runs) == 1 else f"{shot.name}{suffix}_part{number}"
                    args = run_arguments(
                        shot,
                        plate=shot.input,
                        output=shot.output_dir,
                        frames=None,
                        preroll=str(run.preroll),
                        device="cpu" if step == "write" else device,
                        weights=os.path.abspath(weights),
                        people_step=step,
                    )
                    made.append(job(shot, stem, run.frames,
                                    shot.chunk_size if len(run.chunks) > 1 else run.chunks[0].length,
                                    f"{shot.input} frames {run.frames}, preroll {run.preroll}", args, waited))
            waited = made
        if shot.versions:
            version_job(shot, "finish", waited)
    return result


def write_jobs(directory: str, shots: list[Shot], **options) -> list[str]:
    """Write every job's two files, the submit scripts and ``rvmatte_plan.json``; returns the job stems."""
    found = jobs(shots, args_dir=directory, **options)
    for stem, job_info, plugin_info, task_args, _ in found:
        for key, value in [*job_info.items(), *plugin_info.items()]:
            refuse_control_characters(value, f"Deadline job {stem}: {key}")
        for value in task_args:
            refuse_control_characters(value, f"Deadline job {stem}: argument")
    try:
        os.makedirs(directory, exist_ok=True)
        pairs = []
        for stem, job_info, plugin_info, task_args, _ in found:
            with open(os.path.join(directory, f"{stem}.args"), "w", encoding=sys.getfilesystemencoding(),
                      errors=sys.getfilesystemencodeerrors(), newline="\n") as handle:
                handle.writelines(f"{value}\n" for value in task_args)
            job_path = os.path.join(directory, f"{stem}.job_info.job")
            plugin_path = os.path.join(directory, f"{stem}.plugin_info.job")
            _write_key_values(job_path, job_info)
            _write_key_values(plugin_path, plugin_info)
            pairs.append((os.path.basename(job_path), os.path.basename(plugin_path)))
        waits = _waits(found)
        with open(os.path.join(directory, "submit.sh"), "w", encoding="utf-8", newline="\n") as handle:
            handle.write('#!/bin/sh\n# Submits every rvmatte job of this folder to Deadline 10.\ncd "$(dirname "$0")" || exit 1\n')
            handle.writelines(_sh_line(number, j, p, waits) for number, (j, p) in enumerate(pairs))
        os.chmod(os.path.join(directory, "submit.sh"), 0o755)
        with open(os.path.join(directory, "submit.bat"), "w", encoding="utf-8", newline="\r\n") as handle:
            handle.write("@echo off\nrem Submits every rvmatte job of this folder to Deadline 10.\ncd /d \"%~dp0\"\n")
            handle.writelines(_bat_line(number, j, p, waits) for number, (j, p) in enumerate(pairs))
        with open(os.path.join(directory, "rvmatte_plan.json"), "w", encoding="utf-8") as handle:
            json.dump(plan_document(shots, "fixed"), handle, indent=2)
    except OSError as error:
        raise OutputError(f"cannot write Deadline jobs in {directory}: {error.strerror}") from None
    return [stem for stem, _, _, _, _ in found]


def _waits(found) -> dict[int, list[int]]:
    """job number → numbers of the jobs it waits for; every job waited for keeps its JobID."""
    number = {stem: i for i, (stem, *_rest) in enumerate(found)}
    return {i: [number[s] for s in after] for i, (*_rest, after) in enumerate(found) if after}


#: A job that others wait for is submitted with its JobID kept (deadlinecommand prints ``JobID=<id>``);
#: a job that waits gets ``JobDependencies=<ids>`` added to a copy of its job info at submission.
def _sh_line(number: int, job: str, plugin: str, waits: dict[int, list[int]]) -> str:
    waited = {n for ns in waits.values() for n in ns}
    if number not in waits and number not in waited:
        return f'deadlinecommand "{job}" "{plugin}" || exit 1\n'
    lines = ""
    if number in waits:
        ids = ",".join(f"$id{n}" for n in waits[number])
        dependent = job.replace(".job_info.job", ".dependent.job_info.job")
        lines += f'{{ cat "{job}"; echo "JobDependencies={ids}"; }} > "{dependent}" || exit 1\n'
        job = dependent
    lines += (f'id{number}=$(deadlinecommand "{job}" "{plugin}" | sed -n "s/^JobID=//p" | tr -d "\\r")\n'
              f'[ -n "$id{number}" ] || {{ echo "rvmatte: {job} was not submitted" >&2; exit 1; }}\n')
    return lines


def _bat_line(number: int, job: str, plugin: str, waits: dict[int, list[int]]) -> str:
    waited = {n for ns in waits.values() for n in ns}
    if number not in waits and number not in waited:
        return f'deadlinecommand "{job}" "{plugin}" || exit /b 1\n'
    lines = ""
    if number in waits:
        ids = ",".join(f"%ID{n}%" for n in waits[number])
        dependent = job.replace(".job_info.job", ".dependent.job_info.job")
        lines += f'(type "{job}" & echo JobDependencies={ids}) > "{dependent}" || exit /b 1\n'
        job = dependent
    lines += (f'set ID{number}=\n'
              f'for /f "tokens=1,* delims==" %%a in (\'deadlinecommand "{job}" "{plugin}"\') do '
              f'if "%%a"=="JobID" set ID{number}=%%b\n'
              f'if not defined ID{number} (echo rvmatte: {job} was not submitted 1>&2 & exit /b 1)\n')
    return lines


def read_key_values(path: str) -> dict[str, str]:
    """A Deadline info file back as a dict (``key=value`` lines; the first ``=`` splits)."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


def _write_key_values(path: str, values: dict[str, str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(f"{key}={value}\n" for key, value in values.items())


def _quoted(path: str) -> str:
    """A path argument; Deadline turns ``<QUOTE>`` into ``"`` when it builds the command line."""
    return f"<QUOTE>{path}<QUOTE>"
