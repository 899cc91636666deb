"""The `rvmatte run` command line every farm task runs, whatever the farm."""

from __future__ import annotations

from .shots import Shot


def run_arguments(
    shot: Shot, *, plate: str, output: str, frames: str | None, preroll: str, device: str, weights: str,
    people_step: str | None = None,
) -> list[str]:
    """Arguments after the rvmatte executable for one task of ``shot``.

    The values are the farm's own placeholders (``{{Task.Param.Frames}}``,
    ``<STARTFRAME>-<ENDFRAME>``, ``#FRAME_START#-#FRAME_END#``) or literal text.
    ``--resume`` makes a retried task skip frames already complete and redo
    damaged ones; ``--device`` is explicit so a GPU worker whose GPU is missing
    fails instead of running on its CPU. ``frames=None`` leaves ``--frames`` out
    (a Deadline task adds it after its arguments file). ``people_step``: which task of a shot with
    ``--target``/``--people`` this is (see ``people_steps``). A shot with keyframes loads its tuned
    checkpoint (``shot.tuned_weights``) instead of ``weights``.
    """
    args = ["run", plate, "-o", output] + (["--frames", frames] if frames is not None else []) + ["--preroll", preroll]
    args += ["--resume", "--progress", "openjd", "--device", device, "--weights", shot.tuned_weights or weights]
    if shot.start_frame is not None:
        args += ["--start-frame", str(shot.start_frame)]
    args += list(shot.run_args)
    return args + (["--people-step", people_step] if people_step else [])


def people_label_frames(shot: Shot) -> str:
    """The ``--frames`` of a shot's one labelling task: all its frames (they are contiguous)."""
    return f"{shot.frames[0]}-{shot.frames[-1]}"


def finetune_arguments(shot: Shot, *, plate: str, device: str, weights: str) -> list[str]:
    """Arguments of a shot's one fine-tune task: ``rvmatte finetune`` writing ``shot.tuned_weights``
    (atomically, with its sidecar). A requeued task whose output already matches is skipped by
    ``rvmatte finetune`` itself; a failure fails the task, and the matte tasks waiting for it never
    start on the base weights."""
    args = ["finetune", plate, "--keyframes", shot.keyframes, "-o", shot.tuned_weights, "--weights", weights,
            "--device", device, "--progress", "openjd"]
    if shot.start_frame is not None:
        args += ["--start-frame", str(shot.start_frame)]
    return args + list(shot.finetune_args)
