"""The worker's command line (docs/cli.md: `rvmatte run`)."""


def worker_command(job, view_job):
    """argv for one view: `<python> -m rvmatte run <plate> --alpha ... --progress json ...`."""
    options = job.options
    argv = [job.python, "-m", "rvmatte", "run", view_job.plate,
            "--alpha", view_job.alpha,
            "--foreground", view_job.foreground,
            "--foreground-source", options["foreground_source"],
            "--frames", "%d-%d" % (job.first, job.last),
            "--progress", "json",
            "--input-colorspace", view_job.input_colorspace,
            "--output-colorspace", job.working_space,
            "--variant", options["variant"],
            "--precision", options["precision"],
            "--downsample-ratio", options["downsample_ratio"],
            "--device", options["device"]]
    for name in ("holdout", "garbage"):
        if view_job.masks.get(name):
            argv += ["--" + name, view_job.masks[name]]
    if options.get("weights"):
        argv += ["--weights", options["weights"]]
    if job.ocio_config:
        argv += ["--ocio-config", job.ocio_config]
    return argv


def quoted(argv):
    """The command as one line a user can paste into a shell (for messages and logs)."""
    def quote(word):
        if word and all(c.isalnum() or c in "-_./:=%#@+," for c in word):
            return word
        return "'" + word.replace("'", "'\"'\"'") + "'"
    return " ".join(quote(w) for w in argv)
