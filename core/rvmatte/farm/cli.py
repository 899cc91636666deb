"""``rvmatte farm …``: plan chunks, write farm jobs, check what the farm wrote."""

from __future__ import annotations

import argparse
import json
import os
import shlex

from ..errors import InputError

DEVICES_HELP = "device every task asks for: cuda (default; GPU workers, no CPU fallback), cuda:N or cpu"


def add_parser(subparsers) -> None:
    farm = subparsers.add_parser(
        "farm",
        help="render farm: chunk shots, write OpenJD / Deadline / OpenCue jobs, check outputs",
        description="Split shots into chunks warmed up by a preroll and write farm jobs that run "
        "`rvmatte run --frames A-B --preroll N --resume` per chunk.",
    )
    sub = farm.add_subparsers(dest="farm_command", metavar="FARM_COMMAND")
    sub.required = True

    plan = sub.add_parser("plan", help="print the chunks of each shot", description="Print each shot's chunks.")
    _add_shot_options(plan)
    plan.add_argument(
        "--farm",
        choices=("openjd", "deadline", "opencue"),
        default="openjd",
        help="whose chunking to show: openjd cuts a range into even chunks, deadline/opencue into fixed ones",
    )
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.set_defaults(func=cmd_plan)

    openjd = sub.add_parser(
        "openjd",
        help="write an Open Job Description job bundle",
        description="Write an Open Job Description job bundle (template.json, parameter values) that AWS "
        "Deadline Cloud or `openjd run` can run: one step per shot, one task per chunk.",
    )
    _add_shot_options(openjd)
    _add_job_options(openjd)
    openjd.add_argument("--threads", type=int, default=0, metavar="N",
                        help="CPU threads per task (default 0: every core the worker offers)")
    openjd.add_argument("--min-gpu-memory", type=int, default=4096, metavar="MIB",
                        help="GPU memory a worker must have, in MiB (cuda only; default 4096)")
    openjd.set_defaults(func=cmd_openjd)

    deadline = sub.add_parser(
        "deadline",
        help="write Deadline 10 CommandLine job files",
        description="Write Deadline 10 job-info and plugin-info files for its CommandLine plugin, one job per "
        "shot in one batch, plus submit.sh / submit.bat.",
    )
    _add_shot_options(deadline)
    _add_job_options(deadline)
    deadline.add_argument("--pool", help="Deadline pool")
    deadline.add_argument("--group", help="Deadline group (e.g. your GPU machines)")
    deadline.add_argument("--priority", type=int, default=50, help="job priority (default 50)")
    deadline.set_defaults(func=cmd_deadline)

    opencue = sub.add_parser(
        "opencue",
        help="write an OpenCue PyOutline script",
        description="Write submit_opencue.py, a PyOutline script that launches one layer per shot "
        "(run it with --xml to see the job spec without a Cuebot).",
    )
    _add_shot_options(opencue)
    _add_job_options(opencue)
    opencue.add_argument("--show", required=True, help="OpenCue show")
    opencue.add_argument("--shot-name", help="OpenCue shot of the job (default: the first shot's name)")
    opencue.add_argument("--user", help="job owner (default: $USER)")
    opencue.add_argument("--cores", type=int, default=0, help="cores per frame (default: the service's)")
    opencue.add_argument("--gpu-memory", type=int, default=4, metavar="GIB", help="GPU memory per frame (cuda only)")
    opencue.set_defaults(func=cmd_opencue)

    status = sub.add_parser(
        "status",
        help="per shot: frames done, missing, damaged",
        description="Report per shot which frames are done (every pass reads back whole), missing or damaged. "
        "Exit code 0 when every shot is complete, 1 otherwise.",
    )
    status.add_argument("target", metavar="OUTPUT", help="a job folder, its rvmatte_plan.json, or an output folder")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    worker = sub.add_parser(
        "worker-env",
        help="(run by OpenJD jobs) print the thread settings for this worker",
        description="Print openjd_env lines that match CPU threads to the cores this worker offers.",
    )
    worker.add_argument("--threads", type=int, default=0, help="threads to use (0: every usable core)")
    worker.set_defaults(func=cmd_worker_env)


def _add_shot_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shots", nargs="+", metavar="SHOT",
                        help="an input (sequence pattern, one of its files, its folder, a movie) or a shot list "
                        "(.txt: one input per line; .json: shots with per-shot options)")
    parser.add_argument("--chunk-size", type=int, metavar="N", help="frames per task (default 100)")
    parser.add_argument("--preroll", type=int, metavar="N", help="warm-up frames before each chunk (default 32)")
    parser.add_argument("--frames", metavar="LIST", help="frames of the inputs typed here, e.g. 1001-1100 or "
                        "1001-1050,1060-1100 (default: every frame on disk)")
    parser.add_argument("--output-root", metavar="DIR", help="each shot writes into DIR/<shot name>")
    parser.add_argument("--run-args", metavar="ARGS", default="",
                        help="extra `rvmatte run` options for every shot, one quoted string, "
                        "e.g. \"--downsample-ratio 0.25\"")
    parser.add_argument("--keyframes", metavar="PATTERN",
                        help="corrected alpha frames of the inputs typed here: fine-tune the weights on the shot "
                        "first (one task the matte tasks wait for; docs/training.md)")
    parser.add_argument("--finetune-args", metavar="ARGS", default="",
                        help="extra `rvmatte finetune` options, one quoted string, e.g. \"--steps 40\"")
    parser.add_argument("--versions", action="store_true",
                        help="each shot writes into DIR/<shot>/v001, v002, … (one per result key, as `rvmatte run "
                        "--versions`): a first task picks the version, the chunks write into it, a last task "
                        "checks every frame and marks it complete (docs/farm.md)")
    parser.add_argument("--keep-versions", type=int, metavar="N",
                        help="with --versions: the last task keeps the N complete versions finished last and "
                        "removes older complete ones (never an unfinished one)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the job files")
    parser.add_argument("--weights", help="checkpoint the workers load (default: $RVMATTE_WEIGHTS, then the cache)")
    parser.add_argument("--device", default="cuda", help=DEVICES_HELP)
    parser.add_argument("--rvmatte-command", default="rvmatte", metavar="CMD",
                        help="the rvmatte executable on the workers (default: rvmatte on their PATH)")
    parser.add_argument("--job-name", help="job (or batch) name")


def _load(args, output_root: str | None = None):
    from .shots import load_shots

    try:
        run_args = shlex.split(args.run_args)
    except ValueError as error:
        raise InputError(f"--run-args: {error}") from None
    try:
        finetune_args = shlex.split(args.finetune_args)
    except ValueError as error:
        raise InputError(f"--finetune-args: {error}") from None
    if args.keep_versions is not None and not args.versions:
        raise InputError("--keep-versions needs --versions")
    if args.keep_versions is not None and args.keep_versions < 1:
        raise InputError(f"--keep-versions must be at least 1 (got {args.keep_versions})")
    shots = load_shots(
        args.shots,
        output_root=args.output_root or output_root,
        chunk_size=args.chunk_size,
        preroll=args.preroll,
        frames=args.frames,
        run_args=run_args,
        keyframes=args.keyframes,
        finetune_args=finetune_args,
    )
    for shot in shots:
        if args.versions and shot.has_people:
            raise InputError(f"{shot.name}: --versions does not work with the people pass on a farm yet "
                             f"(--target/--target-point/--people in its run_args; a whole-shot "
                             f"'rvmatte run … --versions' does)")
        shot.versions, shot.keep_versions = bool(args.versions), args.keep_versions
    return shots


def _weights(args, shots=()) -> str:
    """The checkpoint the job ships (``_checked_weights``); shots with keyframes get the path of the tuned
    checkpoint their fine-tune task writes."""
    from .shots import attach_finetune

    path = _checked_weights(args, shots)
    attach_finetune(list(shots), path)
    return path


def _checked_weights(args, shots=()) -> str:
    """The checkpoint the job ships, loaded once here for every shot's variant and refiner, so a bad
    file fails the submission instead of every task."""
    from ..weights import WeightsError, load_state_dict, resolve
    from .run_args import check_run_args

    try:
        path = str(resolve(weights=args.weights, download=False, progress=False))
    except WeightsError as error:
        raise InputError(f"{error} (the farm job needs a checkpoint file: pass --weights FILE)") from None
    models = {(o.variant, o.refiner) for o in (check_run_args(s.run_args, s.name) for s in shots)}
    for variant, refiner in sorted(models):
        try:
            load_state_dict(path, variant, refiner)
        except WeightsError as error:
            raise InputError(f"{error} (checked before writing the farm job)") from None
    return path


def _check_device(device: str) -> str:
    if device != "cpu" and device != "cuda" and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise InputError(f"--device {device}: a farm job asks for cuda, cuda:N or cpu")
    return device


def cmd_plan(args) -> int:
    from .openjd import uses_task_chunking
    from .plan import group_runs

    shots = _load(args, output_root="out")
    division = "even" if args.farm == "openjd" else "fixed"
    if args.json:
        from .status import plan_document

        print(json.dumps(plan_document(shots, division), indent=2))
        return 0
    for shot in shots:
        chunks = shot.chunks(division)
        print(f"{shot.name}: {shot.input}  frames {_frames(shot.frames)}  "
              f"{len(chunks)} chunks of up to {shot.chunk_size}, preroll {shot.preroll}  -> {shot.output_dir}")
        if shot.versions:
            print(f"  first: one task makes or picks the version folder {shot.output_dir}/v### of these settings")
        for chunk in chunks:
            warm = f"preroll {chunk.preroll} from {chunk.warmup_first}" if chunk.preroll else "cold start"
            if chunk.postroll:
                warm += f", postroll {chunk.postroll} to {chunk.last + chunk.postroll}"
            print(f"  {chunk.frames:>13}  {warm}")
        if shot.versions:
            print(f"  last: one task checks frames {_frames(shot.frames)} there and marks the version complete"
                  + (f", then keeps the {shot.keep_versions} complete versions finished last" if shot.keep_versions
                     else ""))
        if args.farm == "openjd":
            way = "TASK_CHUNKING" if uses_task_chunking(shot) else "explicit chunk list (hole or late start)"
        else:
            way = f"{len(group_runs(chunks, shot.preroll, shot.input_first))} job(s)/layer(s)"
        print(f"  via {way}")
    return 0


def cmd_openjd(args) -> int:
    from .openjd import write_bundle

    shots = _load(args)
    files = write_bundle(
        args.output,
        shots,
        weights=_weights(args, shots),
        device=_check_device(args.device),
        rvmatte_command=args.rvmatte_command,
        threads=max(0, args.threads),
        job_name=args.job_name,
        min_gpu_memory_mib=args.min_gpu_memory,
    )
    print(f"wrote Open Job Description bundle {args.output} ({len(shots)} shots)")
    print(f"  check locally: openjd run {files['template']} -p file://{files['openjd_params']}")
    print(f"  Deadline Cloud: deadline bundle submit {args.output}")
    return 0


def cmd_deadline(args) -> int:
    from .deadline import write_jobs

    shots = _load(args)
    stems = write_jobs(
        args.output,
        shots,
        weights=_weights(args, shots),
        batch_name=args.job_name or _batch_name(shots),
        device=_check_device(args.device),
        rvmatte_command=args.rvmatte_command,
        pool=args.pool,
        group=args.group,
        priority=args.priority,
    )
    print(f"wrote {len(stems)} Deadline jobs in {args.output}; submit with {os.path.join(args.output, 'submit.sh')}")
    return 0


def cmd_opencue(args) -> int:
    from .opencue import write_script

    shots = _load(args)
    path = write_script(
        args.output,
        shots,
        weights=_weights(args, shots),
        job_name=args.job_name or _batch_name(shots).replace(" ", "_"),
        show=args.show,
        shot_name=args.shot_name,
        user=args.user,
        device=_check_device(args.device),
        rvmatte_command=args.rvmatte_command,
        cores=args.cores,
        gpu_memory_gib=args.gpu_memory,
    )
    print(f"wrote {path}; launch it with the Python that has opencue-pyoutline (--xml to preview)")
    return 0


def cmd_status(args) -> int:
    from .status import check, report_lines

    statuses = check(args.target)
    if args.json:
        print(json.dumps({"shots": [s.as_dict() for s in statuses]}, indent=2))
    else:
        print("\n".join(report_lines(statuses)))
    return 0 if all(s.complete for s in statuses) else 1


def cmd_worker_env(args) -> int:
    from .worker import openjd_env_lines, thread_settings, usable_cores

    settings = thread_settings(args.threads)
    print(f"rvmatte worker: {usable_cores()} usable cores, {next(iter(settings.values()))} threads per task",
          flush=True)
    print("\n".join(openjd_env_lines(settings)), flush=True)
    return 0


def _frames(frames: list[int]) -> str:
    from .plan import format_frame_list

    return format_frame_list(frames)


def _batch_name(shots) -> str:
    return f"rvmatte {shots[0].name}" + (f" + {len(shots) - 1} shots" if len(shots) > 1 else "")
