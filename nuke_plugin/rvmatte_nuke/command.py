"""The worker's command line for one view of a Job (the host kit builds it: docs/cli.md)."""
from . import people
from .rvmatte_hostkit.command import RunRequest, debug_requested, quoted, run_arguments  # noqa: F401


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
    return [job.python, "-m", "rvmatte"] + run_arguments(request)
