"""Check a shot's extra `rvmatte run` options with the real run parser.

A farm task's command fixes the plate, the output folder, the frames, the
preroll, the device and the weights; the extra options must not change any of
them. Comparing option names as text misses argparse's spellings (``-oDIR``,
``--device=cpu``, abbreviations), so the options are parsed by the very parser
the workers run, and every destination the job sets itself must come back
untouched.
"""

from __future__ import annotations

import argparse

from ..errors import InputError

#: ``rvmatte run`` destinations a farm task sets itself (see command.run_arguments).
JOB_SETS = ("output_dir", "frames", "preroll", "resume", "progress", "weights", "device", "start_frame",
            "people_step", "versions", "keep_versions", "version_step")

_UNSET = object()


class _Refused(Exception):
    pass


def _run_parser() -> argparse.ArgumentParser:
    from ..cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def refuse_control_characters(value: str, what: str) -> str:
    """``value`` unless it holds a control character (a newline would split an arguments file's
    line or inject a line into a Deadline job file); InputError naming ``what`` otherwise."""
    bad = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise InputError(f"{what}: {value!r} holds the control character {bad!r}, which no farm job file can carry")
    return value


def check_run_args(run_args: list[str], where: str) -> argparse.Namespace:
    """The run options ``run_args`` set (unset ones at their defaults); InputError naming ``where``
    unless they are valid extra `rvmatte run` options that leave everything the farm job sets alone."""
    for value in run_args:
        refuse_control_characters(value, f"{where}: run_args")
        if value.startswith("@"):
            raise InputError(f"{where}: run_args must not read an arguments file ({value})")
    parser = _run_parser()

    def refuse(message: str):
        raise _Refused(message)

    parser.error = refuse  # the parser's own messages, raised instead of printed with the usage
    # Only the job's own destinations start unset (so that setting one shows); the others keep their
    # defaults, which repeatable options (--target) append to.
    namespace = argparse.Namespace(**{a.dest: _UNSET for a in parser._actions if a.dest in JOB_SETS})
    try:
        parser.parse_args(["PLATE", *run_args], namespace)
    except _Refused as refused:
        raise InputError(f"{where}: run_args: {refused}") from None
    except SystemExit:  # --help / --version
        raise InputError(f"{where}: run_args: {' '.join(run_args)} is not a run option") from None
    given = [dest for dest in JOB_SETS if getattr(namespace, dest) is not _UNSET]
    if given:
        action = next(a for a in parser._actions if a.dest == given[0])
        if given[0] in ("versions", "keep_versions", "version_step"):
            raise InputError(f"{where}: run_args must not set {'/'.join(action.option_strings)}: give `rvmatte farm "
                             f"… --versions [--keep-versions N]` and the job sets it on each of its tasks")
        raise InputError(f"{where}: run_args must not set {'/'.join(action.option_strings)}: the farm job sets it")
    return parser.parse_args(["PLATE", *run_args])


#: ``rvmatte finetune`` destinations a shot's fine-tune task sets itself (see command.finetune_arguments).
FINETUNE_JOB_SETS = ("keyframes", "output", "weights", "device", "progress", "start_frame")


def check_finetune_args(finetune_args: list[str], where: str) -> argparse.Namespace:
    """As ``check_run_args``, for a shot's extra `rvmatte finetune` options."""
    for value in finetune_args:
        refuse_control_characters(value, f"{where}: finetune_args")
        if value.startswith("@"):
            raise InputError(f"{where}: finetune_args must not read an arguments file ({value})")
    from ..cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices["finetune"]

    def refuse(message: str):
        raise _Refused(message)

    parser.error = refuse
    for action in parser._actions:          # a fresh parser: the job's own options become optional here
        if action.dest in FINETUNE_JOB_SETS:
            action.required = False
    namespace = argparse.Namespace(**{a.dest: _UNSET for a in parser._actions if a.dest in FINETUNE_JOB_SETS})
    try:
        parser.parse_args(["PLATE", *finetune_args], namespace)
    except _Refused as refused:
        raise InputError(f"{where}: finetune_args: {refused}") from None
    except SystemExit:
        raise InputError(f"{where}: finetune_args: {' '.join(finetune_args)} is not a finetune option") from None
    given = [d for d in FINETUNE_JOB_SETS if getattr(namespace, d, _UNSET) is not _UNSET]
    if given:
        action = next(a for a in parser._actions if a.dest == given[0])
        raise InputError(f"{where}: finetune_args must not set {'/'.join(action.option_strings)}: "
                         f"the farm job sets it")
    return namespace
