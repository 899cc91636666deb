"""The worker's command lines for a Job (the host kit builds them: docs/cli.md, docs/training.md)."""
from . import people
from .rvmatte_hostkit.command import (FinetuneRequest, RunRequest, debug_requested, finetune_arguments,  # noqa: F401
                                      quoted, run_arguments)


def worker_command(job, view_job):
    """argv for one view: `<python> -m rvmatte run <plate> --alpha ... --progress json`."""
    options = job.options
    request = RunRequest(
        input_path=view_job.plate, alpha_pattern=view_job.alpha, foreground_pattern=view_job.foreground,
        first=job.first, last=job.last, weights=options.get("weights") or "", variant=options["variant"],
        device=options["device"], precision=options["precision"], downsample_ratio=options["downsample_ratio"],
        foreground_source=options["foreground_source"], input_colorspace=view_job.input_colorspace or "",
        output_colorspace=job.working_space or "", ocio_config=job.ocio_config or "",
        holdout=view_job.masks.get("holdout") or "", garbage=view_job.masks.get("garbage") or "",
        targets=tuple(people.targets(job, view_job)), target_points=tuple(options.get("target_points", ())),
        people=options.get("people", 0), debug=debug_requested())
    args = run_arguments(request)
    if getattr(job, "versions", False):
        # into <output dir>/v### (docs/io.md); before `--progress json`, which stays last
        extra = ["-o", job.output_dir, "--versions", "--input-id", job.input_id]
        if job.keep_versions:
            extra += ["--keep-versions", str(int(job.keep_versions))]
        args = args[:-2] + extra + args[-2:]
    return [job.python, "-m", "rvmatte"] + args


def finetune_command(job):
    """argv of a fine-tune (finetune.FinetuneJob): `<python> -m rvmatte finetune <plate> --keyframes ...
    -o <tuned> --weights <base> ... --progress json`, trained at the ratio, precision and colour
    conversion the node's Generate then runs with."""
    options = job.options
    request = FinetuneRequest(
        input_path=job.plate, keyframes=job.keyframes, output=job.output,
        weights=options.get("base_weights") or "", variant=options["variant"], device=options["device"],
        precision=options["precision"], downsample_ratio=options["downsample_ratio"],
        input_colorspace=job.input_colorspace or "", ocio_config=job.ocio_config or "",
        steps=job.steps or None, debug=debug_requested())
    return [job.python, "-m", "rvmatte"] + finetune_arguments(request)
