"""Thinkbox Deadline 10 submission files for its CommandLine plugin.

A Deadline job has one frame list and one command, so every shot becomes one
job (more when a hole or a late start needs its own preroll, see
``plan.group_runs``), all in one batch. For each job the folder holds
``<job>.job_info.job`` and ``<job>.plugin_info.job`` (``key=value`` lines, as
``deadlinecommand JOBINFO PLUGININFO`` reads them), and ``submit.sh`` /
``submit.bat`` submit them all.
"""

from __future__ import annotations

import json
import os

from ..errors import OutputError
from .command import run_arguments
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
) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """``(job file stem, job info, plugin info)`` for every Deadline job of ``shots``."""
    result = []
    for shot in shots:
        runs = group_runs(shot.chunks("fixed"), shot.preroll, shot.input_first)
        for number, run in enumerate(runs, 1):
            stem = shot.name if len(runs) == 1 else f"{shot.name}_part{number}"
            args = run_arguments(
                shot,
                plate=_quoted(shot.input),
                output=_quoted(shot.output_dir),
                frames="<STARTFRAME>-<ENDFRAME>",
                preroll=str(run.preroll),
                device=device,
                weights=_quoted(os.path.abspath(weights)),
            )
            job_info = {
                "Plugin": "CommandLine",
                "Name": f"rvmatte {stem}",
                "BatchName": batch_name,
                "Comment": f"{shot.input} frames {run.frames}, preroll {run.preroll}",
                "Frames": run.frames,
                "ChunkSize": str(shot.chunk_size if len(run.chunks) > 1 else run.chunks[0].length),
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
                "Arguments": " ".join(args),
                "StartupDirectory": "",
                "ShellExecute": "False",
            }
            result.append((stem, job_info, plugin_info))
    return result


def write_jobs(directory: str, shots: list[Shot], **options) -> list[str]:
    """Write every job's two files, the submit scripts and ``rvmatte_plan.json``; returns the job stems."""
    found = jobs(shots, **options)
    try:
        os.makedirs(directory, exist_ok=True)
        pairs = []
        for stem, job_info, plugin_info in found:
            job_path = os.path.join(directory, f"{stem}.job_info.job")
            plugin_path = os.path.join(directory, f"{stem}.plugin_info.job")
            _write_key_values(job_path, job_info)
            _write_key_values(plugin_path, plugin_info)
            pairs.append((os.path.basename(job_path), os.path.basename(plugin_path)))
        with open(os.path.join(directory, "submit.sh"), "w", encoding="utf-8", newline="\n") as handle:
            handle.write('#!/bin/sh\n# Submits every rvmatte job of this folder to Deadline 10.\ncd "$(dirname "$0")" || exit 1\n')
            handle.writelines(f'deadlinecommand "{j}" "{p}" || exit 1\n' for j, p in pairs)
        os.chmod(os.path.join(directory, "submit.sh"), 0o755)
        with open(os.path.join(directory, "submit.bat"), "w", encoding="utf-8", newline="\r\n") as handle:
            handle.write("@echo off\nrem Submits every rvmatte job of this folder to Deadline 10.\ncd /d \"%~dp0\"\n")
            handle.writelines(f'deadlinecommand "{j}" "{p}" || exit /b 1\n' for j, p in pairs)
        with open(os.path.join(directory, "rvmatte_plan.json"), "w", encoding="utf-8") as handle:
            json.dump(plan_document(shots, "fixed"), handle, indent=2)
    except OSError as error:
        raise OutputError(f"cannot write Deadline jobs in {directory}: {error.strerror}") from None
    return [stem for stem, _, _ in found]


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
