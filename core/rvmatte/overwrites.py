"""No output may land on an input: checked for every output file against every input file
before anything is written.

Inputs are every frame of the plate, of ``--background`` and of the ``--holdout`` /
``--garbage`` mattes; outputs are every file a pass, composite, movie, segmentation or
contact sheet would write. Paths are compared after resolving links, and without case
where the output's folder is on a case-insensitive file system (found by probing it).
"""
from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from typing import Dict, Iterable, Iterator, Tuple

from rvmatte.errors import OutputError


def check_no_input_overwritten(outputs: Iterable[Tuple[str, str]], inputs: Iterable[Tuple[str, str]]) -> None:
    """``outputs`` and ``inputs`` are (what, path) pairs; OutputError naming both when an output
    path is an input path."""
    exact: Dict[str, str] = {}
    folded: Dict[str, str] = {}
    for role, path in inputs:
        real = os.path.realpath(path)
        exact.setdefault(real, role)
        folded.setdefault(real.casefold(), role)
    for what, path in outputs:
        real = os.path.realpath(path)
        role = exact.get(real)
        if role is None and case_insensitive(_existing_folder(real)):
            role = folded.get(real.casefold())
        if role is not None:
            raise OutputError(f"{what} {path} would overwrite the {role} {real}: choose another output path")


def job_inputs(job) -> Iterator[Tuple[str, str]]:
    """(role, path) of every file a job reads."""
    source = job.source
    for frame in source.frames:
        yield f"input frame {frame}", source.frame_path(frame)
    backgrounds = getattr(job.outputs, "backgrounds", None)
    background = getattr(backgrounds, "source", None)
    if background is not None:
        for frame in background.frames:
            yield f"--background frame {frame}", background.frame_path(frame)
    for name in ("holdout", "garbage"):
        matte = getattr(job.masks, name)
        if matte is not None:
            for frame in matte.frames:
                yield f"--{name} frame {frame}", matte.frame_path(frame)


def job_outputs(job) -> Iterator[Tuple[str, str]]:
    """(what, path) of every file a job may write."""
    yield from job.outputs.files(job.plan.requested)


def _existing_folder(path: str) -> str:
    folder = os.path.dirname(path) or "."
    while not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


@lru_cache(maxsize=64)
def case_insensitive(folder: str) -> bool:
    """Whether names in ``folder`` ignore case: the folder's own name seen with its case
    swapped, else a probe file created there and looked up in the other case."""
    folder = os.path.realpath(folder)
    parent, name = os.path.split(folder)
    if name and name.swapcase() != name:
        other = os.path.join(parent, name.swapcase())
        try:
            return os.path.exists(other) and os.path.samefile(folder, other)
        except OSError:
            return False
    try:
        fd, probe = tempfile.mkstemp(prefix=".rvmatte-case-", suffix="-probe", dir=folder)
    except OSError:
        return False
    try:
        os.close(fd)
        head, base = os.path.split(probe)
        return os.path.exists(os.path.join(head, base.upper()))
    finally:
        try:
            os.remove(probe)
        except OSError:
            pass
