"""``rvmatte finetune SHOT --keyframes ALPHA_PATTERN -o tuned.pth`` (see docs/training.md)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional


def add_parser(subparsers) -> None:
    from rvmatte.cli import _add_input_options, _add_mask_options, _add_model_options, _non_negative, _positive, _positive_number
    from rvmatte.train.settings import TRAINABLE, FinetuneConfig

    defaults = FinetuneConfig()
    p = subparsers.add_parser(
        "finetune", help="fine-tune the weights on a shot from a few corrected keyframe mattes",
        description="Train the network on SHOT from hand-corrected keyframe alphas; writes an official-layout "
                    "checkpoint for 'rvmatte run --weights' and its lineage sidecar (docs/training.md).",
        fromfile_prefix_chars="@")
    _add_input_options(p)
    p.add_argument("--keyframes", required=True, metavar="ALPHA_PATTERN",
                   help="corrected mattes of some frames of the shot (only those frame numbers on disk); "
                        "channel A, else the single channel, else R = G = B")
    p.add_argument("-o", "--output", required=True, metavar="TUNED.pth",
                   help="the tuned checkpoint (its lineage goes to TUNED.pth.rvmatte.json)")
    masks = p.add_argument_group("masks (as in rvmatte run; what they decide is left out of the losses)")
    _add_mask_options(masks)
    _add_model_options(p)
    group = p.add_argument_group("training (defaults measured in docs/training.md)")
    group.add_argument("--steps", type=_non_negative, default=defaults.steps, metavar="N",
                       help=f"optimizer steps (default {defaults.steps}; 0 writes the base weights unchanged)")
    group.add_argument("--lr", type=_positive_number, default=defaults.lr, help=f"Adam learning rate "
                                                                                f"(default {defaults.lr:g})")
    group.add_argument("--train", choices=tuple(TRAINABLE), default=defaults.train,
                       help="decoder: recurrent decoder, projection and refiner, encoder frozen (default); "
                            "all: every weight")
    group.add_argument("--clip", type=_positive, default=defaults.clip, metavar="T",
                       help=f"frames per training clip (default {defaults.clip})")
    group.add_argument("--distill", type=float, default=defaults.distill, metavar="W",
                       help="weight of the loss that keeps frames without keyframes close to the base "
                            f"weights' own matte (default {defaults.distill:g}; 0: off)")
    group.add_argument("--no-recomposite", dest="recomposite", action="store_false",
                       help="do not train on the keyframes' person recomposited over other backgrounds")
    group.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default 0)")
    p.add_argument("--force", action="store_true",
                   help="fine-tune even when -o already holds weights tuned from these inputs (else skipped)")
    p.add_argument("--threads", type=_positive, help="torch intra-op threads (default: torch's)")
    p.add_argument("--progress", choices=("tty", "json", "openjd", "none"),
                   help="tty (a bar on stderr), json (JSON lines on stdout), openjd, none")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=cmd_finetune)


def _check_output(path: str, weights) -> None:
    from rvmatte.errors import OutputError
    from rvmatte.io.writing import make_output_folder

    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"-o {path} is a folder: give the checkpoint's file name, e.g. {path}/tuned.pth")
    if weights and os.path.exists(path) and os.path.samefile(path, weights):
        raise OutputError(f"-o {path} is the base weights file: write the tuned weights beside it")
    make_output_folder(directory, writable=True)


def already_tuned(output: str, data, config, weights_sha256: str, precision: str) -> Optional[dict]:
    """Whether ``output`` holds weights tuned from exactly these inputs: its sidecar describes this
    very file and names the same base weights, keyframe files, plate files, holdout/garbage files,
    settings and ratio (a requeued farm task, a rerun with nothing changed). Returns that sidecar,
    else None."""
    import dataclasses

    from rvmatte.train.finetune import masks_fingerprint
    from rvmatte.train.lineage import file_sha256, plate_fingerprint, read_lineage

    if not os.path.isfile(output):
        return None
    sha = file_sha256(output)
    lineage = read_lineage(output, sha)
    if lineage is None:
        return None
    keys = data.keyframes
    same = (lineage.get("base_weights_sha256") == weights_sha256
            and lineage.get("keyframes", {}).get("sha256") == {str(f): keys.sha256[f] for f in keys.frames}
            and lineage.get("shot", {}).get("plate_sha256") == plate_fingerprint(data.source, keys.frames)
            and lineage.get("config") == dataclasses.asdict(config)
            and _mask_contents(lineage.get("masks") or {}) == _mask_contents(masks_fingerprint(data))
            and lineage.get("downsample_ratio") == data.ratio and lineage.get("precision") == precision)
    return {**lineage, "tuned_weights_sha256": sha} if same else None


def _mask_contents(masks: dict) -> dict:
    """The holdout/garbage files' contents by frame (their paths play no part)."""
    return {name: entry.get("sha256") for name, entry in masks.items()}


def cmd_finetune(args) -> int:
    import torch

    from rvmatte import __version__
    from rvmatte.device import device_name
    from rvmatte.errors import RvmatteError
    from rvmatte.progress import make_reporter
    from rvmatte.train.finetune import FinetuneConfig, finetune, lineage_of, read_shot, save_tuned
    from rvmatte.weights import load_model

    reporter = make_reporter(args.progress)
    args._reporter = reporter
    config = FinetuneConfig(steps=args.steps, lr=args.lr, train=args.train, clip=args.clip, distill=args.distill,
                            recomposite=args.recomposite, seed=args.seed)
    config.check()
    _check_output(args.output, args.weights)
    data = read_shot(args.input, args.keyframes, config, layer=args.layer, start_frame=args.start_frame,
                     input_colorspace=args.input_colorspace, ocio_config=args.ocio_config,
                     downsample_ratio=args.downsample_ratio, holdout=args.holdout, garbage=args.garbage,
                     warn=reporter.warning)
    if not args.force:
        from rvmatte.weights import resolve, sha256_of

        done = already_tuned(args.output, data, config, sha256_of(resolve(args.variant, args.weights)),
                             args.precision)
        if done is not None:
            reporter.warning(f"{args.output} is already fine-tuned from these keyframes, plate and weights: "
                             f"skipped (--force to redo)")
            reporter.done({"task": "finetune", "output": args.output, "skipped": True, "steps": done["steps"],
                           "sha256": done["tuned_weights_sha256"], "seconds": 0.0,
                           "final_loss": done.get("final_loss"), "sidecar": args.output + ".rvmatte.json"})
            return 0
    model = load_model(args.variant, args.weights, device=args.device, precision="float32", refiner=args.refiner)
    device = next(model.parameters()).device
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    source = data.source
    reporter.start({
        "version": __version__, "task": "finetune", "input": source.path, "frames": len(source.frames),
        "width": source.width, "height": source.height, "device": device_name(device),
        "downsample_ratio": data.ratio, "keyframes": list(data.keyframes.frames), "steps": config.steps,
        "weights": getattr(model, "weights_path", None), "weights_sha256": getattr(model, "weights_sha256", ""),
        "precision": args.precision, "output": args.output, "pixel_aspect": source.pixel_aspect,
        "masks": data.masks.describe() if data.masks else {},
    })
    started = time.perf_counter()
    try:
        summary = finetune(model, data, config, precision=args.precision,
                           on_step=lambda done, total, loss: reporter.step(done, total, loss))
    except torch.cuda.OutOfMemoryError:
        raise RvmatteError(f"out of memory on {device_name(device)} while fine-tuning {source.width}x"
                           f"{source.height} clips of {config.clip} frames: lower --downsample-ratio or --clip, "
                           f"or use --device cpu; {args.output} was not written") from None
    finally:
        torch.set_num_threads(threads)
    lineage = lineage_of(data, config, model, summary, precision=args.precision, device=device_name(device))
    sha = save_tuned(args.output, model, lineage)
    seconds = time.perf_counter() - started
    reporter.done({"task": "finetune", "output": args.output, "sha256": sha, "steps": summary["steps"],
                   "seconds": round(seconds, 3), "final_loss": lineage["final_loss"],
                   "sidecar": args.output + ".rvmatte.json"})
    if args.progress in (None, "tty"):
        print(f"rvmatte: fine-tuned {summary['steps']} steps in {seconds:.1f} s -> {args.output}",
              file=sys.stderr, flush=True)
    return 0
