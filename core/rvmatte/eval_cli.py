"""``rvmatte eval``: score an alpha sequence against ground truth, or its flicker without one.

    rvmatte eval PREDICTION TRUTH [--first-frames N] [--csv F] [--json F] [--plot F.png]
    rvmatte eval --run SHOT TRUTH [rvmatte run options…]
    rvmatte eval --flicker ALPHA --plate PLATE      (or --run SHOT --flicker)
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from typing import Dict, List, Optional

from rvmatte.errors import InputError, OutputError


def _add_eval_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--first-frames", type=int, default=argparse.SUPPRESS if suppress else 10, metavar="N",
                   help="report the first N frames separately (default 10)")
    p.add_argument("--frames", default=default, metavar="A-B", help="score only these frames")
    p.add_argument("--csv", default=default, metavar="FILE", help="per-frame values as CSV")
    p.add_argument("--json", default=default, metavar="FILE", help="everything as JSON ('-': stdout)")
    p.add_argument("--plot", default=default, metavar="FILE.png", help="per-frame curves")
    p.add_argument("--flicker", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="also (or, without TRUTH, only) measure flicker against the plate")
    p.add_argument("--plate", default=default, help="the plate of the alpha, for --flicker (with --run: SHOT)")
    p.add_argument("--keep", default=default, metavar="DIR", help="with --run: keep the alpha here (default: a "
                                                                  "temporary folder)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="score alpha against ground truth (MAD, MSE, Grad, Conn, dtSSD) or measure flicker",
        description="Video matting metrics as in the RVM paper (see docs/quality.md).")
    p.add_argument("--run", action="store_true",
                   help="PREDICTION is a shot: matte it first; options after TRUTH go to 'rvmatte run'")
    _add_eval_options(p)
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("prediction", metavar="PREDICTION|SHOT", help="alpha sequence (any format we read), or with "
                                                                 "--run the shot to matte")
    p.add_argument("truth", nargs="?", metavar="TRUTH", help="ground-truth alpha sequence")
    p.add_argument("run_options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from rvmatte.cli import UsageError
    from rvmatte.engine import parse_frame_range
    from rvmatte.evaluate import evaluate_sequences, flicker_sequences

    late = argparse.ArgumentParser(prog="rvmatte eval", add_help=False)
    _add_eval_options(late, suppress=True)
    _, leftover = late.parse_known_args(args.run_options, namespace=args)
    if leftover and not args.run:
        raise UsageError(f"unrecognised arguments: {' '.join(leftover)} (run options need --run)")
    if args.truth is None and not args.flicker:
        raise UsageError("give TRUTH (a ground-truth alpha sequence) or --flicker")
    if args.first_frames < 0:
        raise UsageError(f"--first-frames {args.first_frames}: must be 0 or more")
    frames = None
    if args.frames:
        first, last = parse_frame_range(args.frames)
        frames = list(range(first, last + 1))

    reporter = None
    prediction, plate = args.prediction, args.plate
    with tempfile.TemporaryDirectory(prefix="rvmatte-eval-") as scratch:
        if args.run:
            prediction, reporter = _run_shot(args.prediction, leftover, args.keep or scratch, frames)
            plate = plate or args.prediction
        warn = reporter.warning if reporter is not None else _warn
        results = {}
        if args.truth is not None:
            results["metrics"] = evaluate_sequences(prediction, args.truth, args.first_frames, frames, warn=warn)
        if args.flicker:
            if not plate:
                raise UsageError("--flicker needs --plate PLATE (the footage the alpha was pulled from)")
            results["flicker"] = flicker_sequences(prediction, plate, first_frames=args.first_frames)
            if frames is not None:
                results["flicker"] = _only(results["flicker"], frames)
    _report(results, args, prediction)
    return 0


def _run_shot(shot: str, options: List[str], folder: str, frames: Optional[List[int]]):
    """Matte ``shot`` with 'rvmatte run' options; the alpha pattern to score and the reporter."""
    from rvmatte.cli import _options_from, build_parser
    from rvmatte.engine import run
    from rvmatte.io import open_input
    from rvmatte.progress import make_reporter

    argv = ["run", shot, *options]
    if "--alpha" not in options and not any(o.startswith("--alpha=") for o in options):
        name = open_input(shot).name or "shot"
        argv += ["--alpha", os.path.join(folder, f"{name}.alpha.####.exr")]
    if frames and "--frames" not in options:
        argv += ["--frames", f"{frames[0]}-{frames[-1]}"]
    run_args = build_parser().parse_args(argv)
    run_options = _options_from(run_args)
    reporter = make_reporter(run_args.progress)
    run(run_options, reporter)
    return run_options.alpha, reporter


def _only(evaluation, frames: List[int]):
    from rvmatte.evaluate import Evaluation

    keep = [(f, row) for f, row in zip(evaluation.frames, evaluation.per_frame) if f in set(frames)]
    if not keep:
        raise InputError("no frame of --frames in the alpha sequence")
    return Evaluation([f for f, _ in keep], [row for _, row in keep], evaluation.first_frames)


def _warn(message: str, frame: Optional[int] = None) -> None:
    print(f"rvmatte: warning: {message}", file=sys.stderr, flush=True)


def merged_rows(results: Dict[str, "Evaluation"]) -> List[dict]:
    """One row per frame with every column of every evaluation."""
    rows: Dict[int, dict] = {}
    for evaluation in results.values():
        for row in evaluation.rows():
            rows.setdefault(row["frame"], {"frame": row["frame"]}).update(row)
    return [rows[f] for f in sorted(rows)]


def _report(results: dict, args, prediction: str) -> None:
    from rvmatte.plots import plot_curves

    rows = merged_rows(results)
    if args.csv:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with _open_out(args.csv) as stream:
            writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    if args.json:
        document = {"prediction": prediction, "truth": args.truth,
                    **{name: ev.to_dict() for name, ev in results.items()}}
        with _open_out(args.json) as stream:
            json.dump(document, stream, indent=1)
            stream.write("\n")
    if args.plot:
        combined = _combined(results)
        title = os.path.basename(str(prediction))
        plot_curves({"": combined}, args.plot, title=title, first_frames=args.first_frames)
    if args.json != "-":
        print(summary_text(results, args.first_frames))


def _combined(results: dict):
    from rvmatte.evaluate import Evaluation

    rows = merged_rows(results)
    return Evaluation([r["frame"] for r in rows], [{k: v for k, v in r.items() if k != "frame"} for r in rows],
                      0)


def summary_text(results: dict, first_frames: int) -> str:
    """A small fixed-width table: overall, first N frames, the rest."""
    lines = []
    for name, ev in results.items():
        keys = [k for k in (ev.per_frame[0] if ev.per_frame else {})]
        head = min(first_frames, len(ev.frames))
        lines.append(f"{name}: {len(ev.frames)} frames {ev.frames[0]}-{ev.frames[-1]}" if ev.frames else name)
        lines.append(f"{'':>14}" + "".join(f"{k:>10}" for k in keys))
        groups = [("all frames", ev.overall)]
        if head and head < len(ev.frames):
            groups += [(f"first {head}", ev.first), ("rest", ev.rest)]
        for label, values in groups:
            lines.append(f"{label:>14}" + "".join(f"{values[k]:>10.4g}" for k in keys))
    return "\n".join(lines)


class _open_out:
    """A file to write, or stdout for '-'."""

    def __init__(self, path: str):
        self.path = path
        self.stream = None

    def __enter__(self):
        if self.path == "-":
            return sys.stdout
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
            self.stream = open(self.path, "w", newline="")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.close()
        return False
