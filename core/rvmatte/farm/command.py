"""The `rvmatte run` command line every farm task runs, whatever the farm."""

from __future__ import annotations

from .plan import format_frame_list
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
    if shot.versions:
        args += ["--versions", "--version-step", "chunk"]
    return args + (["--people-step", people_step] if people_step else [])


#: The tasks of a versioned shot (``rvmatte farm … --versions``) besides its chunks.
VERSION_STEPS = ("choose", "finish")


def version_arguments(shot: Shot, step: str, *, plate: str, output: str, device: str, weights: str) -> list[str]:
    """Arguments of a versioned shot's one ``choose`` task (before every chunk: makes or picks the version
    folder of the shot's result key, so the chunks find one folder) or ``finish`` task (after every
    chunk: checks all the shot's frames in it, marks it complete, applies ``keep_versions``). Both load
    the chunks' weights on the chunks' device, so they compute the chunks' result key; neither writes a
    frame."""
    frames = f"{shot.frames[0]}-{shot.frames[0]}" if step == "choose" else format_frame_list(shot.frames)
    args = run_arguments(shot, plate=plate, output=output, frames=frames, preroll="0", device=device,
                         weights=weights)
    args[args.index("--version-step") + 1] = step
    if step == "finish" and shot.keep_versions:
        args += ["--keep-versions", str(shot.keep_versions)]
    return args


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
    return args + inherited_finetune_args(shot.run_args) + list(shot.finetune_args)


#: ``rvmatte run`` options a shot's fine-tune task takes over from the shot's ``run_args``: how the
#: plate is read (layer, colour), the masks (what they decide is left out of the losses, as on the
#: command line) and the network the tuned weights will run as. ``finetune_args`` come after them,
#: so a shot can still train otherwise.
INHERITED_BY_FINETUNE = ("layer", "input_colorspace", "ocio_config", "holdout", "garbage", "variant", "refiner",
                         "downsample_ratio")


def inherited_finetune_args(run_args: list[str]) -> list[str]:
    """The options of ``run_args`` named in ``INHERITED_BY_FINETUNE``, as `rvmatte finetune` arguments
    (read with the real run parser, so every spelling argparse takes is found)."""
    from .run_args import _run_parser

    parser = _run_parser()
    given = parser.parse_args(["PLATE", *run_args])
    defaults = parser.parse_args(["PLATE"])
    actions = {a.dest: a for a in parser._actions}
    args: list[str] = []
    for dest in INHERITED_BY_FINETUNE:
        value = getattr(given, dest)
        if value != getattr(defaults, dest):
            args += [actions[dest].option_strings[0], str(value)]
    return args
