"""``rvmatte …``: the one entry point for people, hosts and farms (see docs/cli.md)."""
from __future__ import annotations

import argparse
import atexit
import json
import os
import signal
import sys
import threading
from typing import List, Optional

from rvmatte import __version__
from rvmatte.errors import RvmatteError

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class UsageError(RvmatteError):
    """A parameter with a value that cannot be used."""


def _ratio(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"downsample ratio must be in (0, 1], got {value}")
    return value


def _whole_number(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
        return value
    return parse


_positive = _whole_number(1)
_non_negative = _whole_number(0)


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def _colour(text: str):
    from rvmatte.review import parse_background_colour

    try:
        return parse_background_colour(text)
    except RvmatteError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def _add_model_options(p: argparse.ArgumentParser) -> None:
    from rvmatte.model import REFINERS, VARIANTS

    p.add_argument("--weights", help="checkpoint file (else $RVMATTE_WEIGHTS, the user cache, or a download)")
    p.add_argument("--variant", choices=VARIANTS, default="mobilenetv3")
    p.add_argument("--refiner", choices=REFINERS, default="deep_guided_filter")
    p.add_argument("--device", default="auto", help="auto (cuda → mps → cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=("float32", "float16", "bfloat16"), default="float32")
    p.add_argument("--downsample-ratio", type=_ratio, default="auto", metavar="auto|RATIO",
                   help="network resolution relative to the plate; auto = min(512 / longest side, 1)")


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="image sequence (####, %%04d, $F4, @), one of its files, a folder, or a movie")
    p.add_argument("--layer", help="multi-layer EXR: the layer to matte (default: RGBA)")
    p.add_argument("--start-frame", type=int, help="movies: number of the first frame (default 1)")
    p.add_argument("--input-colorspace", help="OCIO colour space of the input (default: by file type)")
    p.add_argument("--ocio-config", help="OCIO config (default: $OCIO, else ocio://default)")


def _add_mask_options(p) -> None:
    """--holdout / --garbage (rvmatte.masks): run applies them to what it writes, finetune to its losses."""
    p.add_argument("--holdout", metavar="SEQ", help="matte sequence of what must not be matted (alpha forced to 0)")
    p.add_argument("--garbage", metavar="SEQ", help="matte sequence outside which nothing is kept")


def _add_quality_options(p: argparse.ArgumentParser) -> None:
    from rvmatte.schedule import DEFAULT_WARMUP

    p.add_argument("--warmup", type=_non_negative, default=DEFAULT_WARMUP, metavar="N",
                   help="where the state starts empty (first frame, cuts), first run the next N frames "
                        f"backwards to build it (default {DEFAULT_WARMUP})")
    p.add_argument("--reset-at", metavar="FRAME[,FRAME...]", help="clear the recurrent state at these frames (cuts)")
    p.add_argument("--detect-cuts", action="store_true", help="find hard cuts and clear the state there")
    _add_mask_options(p)
    p.add_argument("--ensemble", type=_ensemble, metavar="STREAM[,STREAM...]",
                   help="also run these streams, each with its own recurrent state, and average them per pixel: "
                        "mirror (flipped plate), reverse (the shot backwards), ratio:R (another downsample ratio); "
                        "see docs/quality.md")
    p.add_argument("--confidence", nargs="?", const=True, metavar="PATTERN.exr",
                   help="EXPERIMENTAL (needs RVMATTE_EXPERIMENTAL=1; its frame ranking did not beat the share of soft "
                        "pixels): a "
                        "confidence pass (EXR channel Y, raw: 1 = trusted, 0 = check) and <name>.qc.json ranking "
                        "the frames; without PATTERN: <output dir>/<name>.confidence.####.exr")
    p.add_argument("--segmentation", metavar="PATTERN",
                   help="also write the segmentation probability (EXR channel 'segmentation')")


def _ensemble(text: str) -> str:
    from rvmatte.ensemble import parse_ensemble, stream_names

    try:
        return ",".join(stream_names(parse_ensemble(text)))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _reset_frames(text: Optional[str]) -> List[int]:
    from rvmatte.cuts import parse_reset_at

    if not text:
        return []
    try:
        return parse_reset_at(text)
    except ValueError as error:
        raise UsageError(str(error)) from None


class _UsageExit(SystemExit):
    """A command line argparse refused; ``message`` is the one line already printed."""

    def __init__(self, message: str):
        super().__init__(EXIT_USAGE)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line ``rvmatte: error: …`` (``--help`` shows the usage);
    subcommand parsers are made of the same class."""

    def error(self, message: str):
        message = " ".join(message.split())
        print(f"rvmatte: error: {message} (see {self.prog} --help)", file=sys.stderr, flush=True)
        raise _UsageExit(message)


def _wants_json(argv: List[str]) -> bool:
    return any(a == "--progress=json" or (a == "--progress" and b == "json") for a, b in zip(argv, argv[1:] + [""]))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rvmatte", description="Robust Video Matting for VFX: EXR alpha and premultiplied foreground passes.")
    parser.add_argument("--version", action="version", version=f"rvmatte {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    # @FILE reads arguments from FILE, one per line: how a Deadline task gets values no quoting can break.
    run = sub.add_parser("run", help="matte a shot", description="Matte a shot into EXR passes.",
                         fromfile_prefix_chars="@")
    _add_input_options(run)
    run.add_argument("-o", "--output-dir", help="write <name>.alpha.####.exr and <name>.fgr.####.exr here")
    run.add_argument("--alpha", metavar="PATTERN", help="alpha pass pattern; the extension picks the format")
    run.add_argument("--foreground", metavar="PATTERN",
                     help="premultiplied foreground pattern (the words edge/model/plate set --foreground-source)")
    run.add_argument("--foreground-source", choices=("edge", "model", "plate"), default=None,
                     help="edge: the plate exactly where the subject is solid, RVM's decontaminated colour in the "
                          "soft edge band (default); model: RVM's colour everywhere, applied in linear light; "
                          "plate: plate × alpha")
    run.add_argument("--no-alpha", action="store_true", help="with -o: skip the alpha pass")
    run.add_argument("--no-foreground", action="store_true", help="with -o: skip the foreground pass")
    review = run.add_argument_group("review media")
    review.add_argument("--composite", metavar="PATTERN",
                        help="foreground over --background-colour or --background, in linear light; "
                             ".exr: scene-linear, .png/.jpg/.tif and movies: sRGB")
    review.add_argument("--background-colour", "--background-color", dest="background_colour", type=_colour,
                        metavar="R,G,B", help="composite colour, sRGB 0-255 (default 120,255,155: RVM's green)")
    review.add_argument("--background", metavar="INPUT",
                        help="composite over this sequence, image or movie instead of a colour")
    review.add_argument("--contact-sheet", nargs="?", const=True, metavar="PATH.png",
                        help="plate | alpha | composite for a few frames; without PATH: "
                             "<output dir>/<name>.contact.png")
    review.add_argument("--fps", type=_positive_number,
                        help="frame rate of movie outputs (default: the input movie's, else 24)")
    review.add_argument("--bitrate", type=_positive_number, metavar="MBPS",
                        help="H.264 (.mp4) outputs: bit rate in Mbit/s (default: constant quality, CRF 18)")
    _add_model_options(run)
    run.add_argument("--seq-chunk", type=_positive, help="frames per forward (default: 1 on CPU, 4 on CUDA)")
    run.add_argument("--frames", metavar="A-B", help="frames to write (default: all)")
    run.add_argument("--preroll", type=_non_negative, default=0, metavar="N",
                     help="warm the recurrent state on the N frames before A (not written)")
    run.add_argument("--resume", action="store_true",
                     help="keep frames already complete on disk and made with the same settings (result key); "
                          "others are redone")
    run.add_argument("--versions", action="store_true",
                     help="with -o OUT: write into OUT/v001, OUT/v002, …: a new version only when the result key "
                          "changes; the same settings go back into their version and keep its complete frames")
    run.add_argument("--input-id", metavar="TEXT",
                     help="what a host knows of the input's contents (e.g. a hash of its node graph): part of the "
                          "result key, so --resume and --versions never keep frames of another plate of the same size")
    run.add_argument("--keep-versions", type=_positive, metavar="N",
                     help="with --versions: after a successful run, remove the complete versions beyond the N "
                          "finished last (never an unfinished one; default: keep all)")
    run.add_argument("--version-step", choices=("choose", "chunk", "finish"),
                     help="with --versions, a farm job's task (written by `rvmatte farm … --versions`): choose "
                          "makes or picks the version before any chunk; chunk writes into it and records its "
                          "frames, never marking it complete; finish (--frames: every frame of the job, "
                          "e.g. 1001-1050,1060-1100) checks them all and marks it complete")
    _add_quality_options(run)
    run.add_argument("--output-colorspace", help="scene-linear space of EXR outputs (default: input's if linear)")
    depth = run.add_mutually_exclusive_group()
    depth.add_argument("--half", dest="bit_depth", action="store_const", const="half", help="half-float EXR (default)")
    depth.add_argument("--float", dest="bit_depth", action="store_const", const="float", help="32-bit float EXR")
    run.add_argument("--compression", default="zip", help="EXR compression: zip (default), piz, dwaa, dwab, none …")
    run.add_argument("--threads", type=_positive,
                     help="torch intra-op threads (default: CPU cores - 1 on CPU, leaving one to the writers)")
    run.add_argument("--writers", type=_positive, help="frame-writing threads (default: per device)")
    run.add_argument("--no-fold-batchnorm", dest="fold_batchnorm", action="store_false", default=None,
                     help="run the network's BatchNorm layers as they are instead of folding them into the convs")
    run.add_argument("--compile", action="store_true",
                     help="compile the network with torch.compile: tens of seconds once per input size "
                          "(cached on disk), then faster frames; for long shots, with --precision bfloat16 on CPU")
    run.add_argument("--deterministic", action="store_true",
                     help="GPU: fixed cuDNN algorithms and no TF32, so reruns give the same bits (slower; "
                          "part of the result key)")
    run.add_argument("--cuda-graphs", action="store_true",
                     help="CUDA: capture the steady-state forward once per shot size and replay it (one launch "
                          "per chunk instead of hundreds); off elsewhere")
    run.add_argument("--backend", choices=("torch", "onnxruntime", "openvino", "tensorrt", "auto"), default="torch",
                     help="runtime of the network: torch (default), onnxruntime or openvino on the CPU, tensorrt "
                          "on a CUDA GPU (onnxruntime-gpu with TensorRT; float32 or float16); each exported once "
                          "per frame size and ratio and cached in $RVMATTE_CACHE_DIR; auto (torch unless measured "
                          "faster; falls back to torch with a warning)")
    run.add_argument("--progress", choices=("tty", "json", "openjd", "none"),
                     help="tty (a bar on stderr), json (JSON lines on stdout), openjd, none")
    run.add_argument("--debug", action="store_true", help="show tracebacks")
    from rvmatte.people.cli import add_run_options
    add_run_options(run)
    run.set_defaults(func=cmd_run, bit_depth="half")

    info = sub.add_parser("info", help="describe an input and what a run would do")
    _add_input_options(info)
    info.add_argument("--device", default="auto")
    info.add_argument("--downsample-ratio", type=_ratio, default="auto")
    info.add_argument("--weights")
    info.add_argument("--variant", default="mobilenetv3")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--debug", action="store_true")
    info.set_defaults(func=cmd_info)

    for module in ("rvmatte.farm.cli", "rvmatte.export", "rvmatte.eval_cli", "rvmatte.doctor", "rvmatte.people.cli",
                   "rvmatte.train.train_command", "rvmatte.train.cli"):
        try:
            __import__(module, fromlist=["add_parser"]).add_parser(sub)
        except ImportError:
            pass
    _no_abbreviations(parser)
    return parser


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """Turn off prefix matching on every (sub)command: ``--devi`` must not mean ``--device``
    (a farm's run-args guard, and any later option sharing a prefix, depend on it)."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _no_abbreviations(child)


def _options_from(args) -> "RunOptions":
    from rvmatte.engine import RunOptions, default_outputs, parse_frame_range

    foreground = args.foreground
    source = args.foreground_source
    if args.versions and not args.output_dir:
        raise UsageError("--versions needs -o OUT: the folder its version folders (v001, v002, …) go in")
    if args.keep_versions and not args.versions:
        raise UsageError("--keep-versions needs --versions")
    if args.version_step and not args.versions:
        raise UsageError("--version-step needs --versions")
    version_frames = None
    if args.version_step == "finish":
        if not args.frames:
            raise UsageError("--version-step finish needs --frames: every frame of the job")
        from rvmatte.farm.plan import parse_frame_list

        version_frames = parse_frame_list(args.frames, "--frames")
        args.frames = str(version_frames[0])      # the run itself reads one frame: the plate's size
    if foreground in ("edge", "plate", "model"):
        if source and source != foreground:
            raise UsageError(f"--foreground {foreground} contradicts --foreground-source {source}")
        source, foreground = foreground, None
    alpha = args.alpha
    sheet = args.contact_sheet
    named = [p for p in (alpha, foreground, args.composite, sheet) if isinstance(p, str)]
    if args.output_dir or not named or sheet is True:
        from rvmatte.io import open_input

        name = open_input(args.input, layer=args.layer, start_frame=args.start_frame).name
        directory = args.output_dir or (os.path.dirname(named[0]) if named else "out")
        if args.output_dir or not named:
            default_alpha, default_fgr = default_outputs(name, directory)
            alpha = alpha or (None if args.no_alpha else default_alpha)
            foreground = foreground or (None if args.no_foreground else default_fgr)
        if sheet is True:
            sheet = os.path.join(directory, f"{name}.contact.png")
    if args.confidence and os.environ.get("RVMATTE_EXPERIMENTAL") != "1":
        raise UsageError("--confidence is experimental: on composites with ground truth its per-frame QC "
                         "ranking did not beat the share of soft pixels (docs/quality.md); set "
                         "RVMATTE_EXPERIMENTAL=1 to use it anyway")
    confidence = args.confidence
    if confidence is True:
        from rvmatte.io import open_input

        name = open_input(args.input, layer=args.layer, start_frame=args.start_frame).name
        directory = args.output_dir or (os.path.dirname(named[0]) if named else "out")
        confidence = os.path.join(directory, f"{name}.confidence.####.exr")
    if sheet and not os.path.splitext(sheet)[1]:
        raise UsageError(f"--contact-sheet {sheet}: give an image file name, e.g. {sheet}.png")
    if args.background and args.background_colour:
        raise UsageError("--background and --background-colour exclude each other")
    from rvmatte.run_checks import check_compression, check_ocio_config

    check_compression(args.compression)
    check_ocio_config(args.ocio_config)
    return RunOptions(
        input=args.input, alpha=alpha, foreground=foreground, foreground_source=source or "edge",
        weights=args.weights, variant=args.variant, refiner=args.refiner, device=args.device,
        precision=args.precision, downsample_ratio=args.downsample_ratio, seq_chunk=args.seq_chunk,
        frames=parse_frame_range(args.frames) if args.frames else None, preroll=args.preroll,
        resume=args.resume, start_frame=args.start_frame, layer=args.layer,
        input_colorspace=args.input_colorspace, output_colorspace=args.output_colorspace,
        ocio_config=args.ocio_config, bit_depth=args.bit_depth, compression=args.compression,
        threads=args.threads, writers=args.writers, fold_batchnorm=args.fold_batchnorm, compile=args.compile,
        deterministic=args.deterministic, cuda_graphs=args.cuda_graphs,
        backend=args.backend, composite=args.composite, background=args.background,
        background_colour=args.background_colour, fps=args.fps, bitrate=args.bitrate, contact_sheet=sheet,
        warmup=args.warmup, reset_at=_reset_frames(args.reset_at), detect_cuts=args.detect_cuts,
        holdout=args.holdout, garbage=args.garbage, segmentation=args.segmentation, ensemble=args.ensemble,
        confidence=confidence, input_id=args.input_id, versions=args.output_dir if args.versions else None,
        keep_versions=args.keep_versions, version_step=args.version_step, version_frames=version_frames)


def cmd_run(args) -> int:
    from rvmatte.engine import run
    from rvmatte.progress import make_reporter

    reporter = make_reporter(args.progress)
    args._reporter = reporter
    from rvmatte.people.cli import run_with_people, wants_people
    if wants_people(args):
        return run_with_people(args, _options_from(args), reporter)
    run(_options_from(args), reporter)
    return 0


def cmd_info(args) -> int:
    from rvmatte.device import device_name, resolve_device
    from rvmatte.io import open_input
    from rvmatte.io.colour import default_input_colorspace
    from rvmatte.session import auto_downsample_ratio, network_size, usable_ratio

    source = open_input(args.input, layer=args.layer, start_frame=args.start_frame)
    colour = args.input_colorspace
    warning = None
    if not colour:
        colour, warning = default_input_colorspace(source, args.ocio_config)
    ratio = (auto_downsample_ratio(source.height, source.width, source.pixel_aspect)
             if args.downsample_ratio == "auto" else args.downsample_ratio)
    ratio = usable_ratio(ratio, source.height, source.width, source.pixel_aspect)
    net_height, net_width = network_size(source.height, source.width, ratio, source.pixel_aspect)
    device = device_name(resolve_device(args.device))
    weights = None
    try:
        from rvmatte.weights import resolve, sha256_of

        path = resolve(args.variant, args.weights, download=False)
        weights = {"path": str(path), "sha256": sha256_of(path)}
    except RvmatteError as exc:
        weights = {"error": str(exc)}
    missing = source.missing
    report = {
        "version": __version__, "input": source.path, "kind": source.kind, "name": source.name,
        "frames": len(source.frames), "first": source.first, "last": source.last, "missing": missing,
        "width": source.width, "height": source.height, "pixel_aspect": source.pixel_aspect, "fps": source.fps,
        "channels": list(source.channels), "layers": list(source.layers), "is_float": source.is_float,
        "colorspace": colour, "colorspace_warning": warning, "downsample_ratio": ratio,
        "network_size": [net_width, net_height],
        "device": device, "weights": weights,
    }
    failed = "error" in weights
    if args.json:
        print(json.dumps(report))
        return EXIT_FAILED if failed else 0
    for key, value in report.items():
        if key == "weights":
            value = None if failed else f"{weights['path']} (sha256 {weights['sha256']})"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        if value not in (None, [], ""):
            print(f"{key:>18}: {value}")
    if failed:
        raise RvmatteError(weights["error"])
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    return _main(argv)[0]


def _main(argv: Optional[List[str]]):
    """``main``'s exit code and the parsed arguments (None where they did not parse)."""
    from rvmatte.tuning import prepare_process

    prepare_process()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except _UsageExit as usage:
        if _wants_json(argv):  # a host reading JSON lines learns why, too
            from rvmatte.progress import make_reporter

            make_reporter("json").error(usage.message)
        return EXIT_USAGE, None
    # A host's cancel (SIGTERM) ends the run like Ctrl-C: writes in flight finish atomically.
    signal.signal(signal.SIGTERM, _interrupt)
    return _dispatch(args), args


def _dispatch(args) -> int:
    debug = getattr(args, "debug", False)
    try:
        return args.func(args)
    except RvmatteError as exc:
        return _fail(args, str(exc), EXIT_FAILED, debug)
    except KeyboardInterrupt:
        return _fail(args, "interrupted", EXIT_INTERRUPTED, debug)
    except MemoryError:
        return _fail(args, "out of memory: lower --downsample-ratio or --seq-chunk", EXIT_FAILED, debug)
    except BrokenPipeError:
        # Whoever read stdout stopped (`| head -1`): nobody is left to tell, so end quietly; stdout
        # goes to devnull so Python's own flush at exit stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a bare traceback
        name = type(exc).__name__
        if "out of memory" in str(exc).lower():
            return _fail(args, f"out of memory on the device ({name}): lower --downsample-ratio, "
                         f"--seq-chunk or use --precision float16", EXIT_FAILED, debug)
        return _fail(args, f"internal error {name}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''} "
                     f"(run with --debug for details)", EXIT_INTERNAL, debug)


def entry() -> int:
    """The ``rvmatte`` command and ``python -m rvmatte``: ``main`` in a process that ends with it.

    Python's own shutdown then clears every module and collects every object still alive, and
    importing torch alone leaves about 165,000: 0.3-0.5 s after the last frame of every job
    and every farm chunk on a 2-core machine (bench/speed.py's wall). Here the other threads
    are waited for and the ``atexit`` handlers run (weakref finalizers, e.g. temporary folders,
    included) as Python's shutdown would, the streams are flushed and the process ends there,
    leaving the memory to the operating system. Not done in ``main``, which tests and hosts
    also call in a process that goes on. Only after ``rvmatte run``: the other commands are
    not run per frame range, and whatever they leave open is closed by Python as usual."""
    code, args = _main(None)
    if getattr(args, "func", None) is not cmd_run or not isinstance(code, int):
        return code
    # What Python's shutdown does before it clears the modules, in its order: the thread pools'
    # exit hooks and a join of every other non-daemon thread (OpenVINO's telemetry keeps an idle
    # pool), then the atexit handlers.
    try:
        threading._shutdown()
    except Exception:                        # noqa: BLE001 - an interpreter without it: the usual way out
        return code
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):        # a closed or broken pipe: nobody is left to read it
            pass
    os._exit(code)


def _fail(args, message: str, code: int, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    reporter = getattr(args, "_reporter", None)
    if reporter is None and getattr(args, "progress", None) in ("json", "openjd"):
        from rvmatte.progress import make_reporter

        reporter = make_reporter(args.progress)
    if reporter is not None:
        reporter.close()
        reporter.error(message)
    print(f"rvmatte: error: {message}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(entry())
