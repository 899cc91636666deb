"""Measured effect of a cut reset and of a garbage matte (numbers for docs/quality.md).

    python bench/quality_effects.py cut     WORK [--frames 6]
    python bench/quality_effects.py garbage WORK/runs/dev02/w0 DEV02/pha

``cut``: joins dev02 (frames 0..N-1) and dev01 resized to 512x288 (frames 0..N-1)
into one 2N-frame plate under WORK, mattes it at ratio 1 without a reset, with
``--detect-cuts`` and the second clip alone, and scores the frames after the
cut against dev01's ground truth (resized the same way).
``garbage``: applies a rough garbage matte — the ground truth's bounding box
grown by 24 px with a 16 px feather, what an artist would draw — to a predicted
alpha sequence through ``rvmatte.masks`` and scores before and after.
Everything derived from ../shared stays under WORK.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

SHARED = Path(os.environ.get("RVMATTE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SYN = SHARED / "data" / "synthetic"
DEV01 = SYN / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720"
DEV02 = SYN / "dev02_p3m-514ca06a_on_bgm1-bg0002_512x288"
WIDTH, HEIGHT = 512, 288


def resized(path: Path, channels: int) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    if buf.spec().width != WIDTH:
        buf = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, WIDTH, 0, HEIGHT, 0, 1, 0, channels))
    return buf.get_pixels(oiio.FLOAT)[:, :, :channels]


def save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = oiio.ImageBuf(np.ascontiguousarray(pixels, dtype=np.float32))
    assert buf.write(str(path), "uint8"), buf.geterror()


def cut(work: Path, frames: int) -> dict:
    from rvmatte.engine import Job, RunOptions
    from rvmatte.evaluate import evaluate_sequences
    from rvmatte.weights import load_model

    plate, truth = work / "joined" / "com", work / "joined" / "pha"
    for i in range(frames):
        save(plate / f"{i:04d}.png", resized(DEV02 / "com" / f"{i:04d}.png", 3))
        save(truth / f"{i:04d}.png", resized(DEV02 / "pha" / f"{i:04d}.png", 1))
        save(plate / f"{frames + i:04d}.png", resized(DEV01 / "com" / f"{i:04d}.png", 3))
        save(truth / f"{frames + i:04d}.png", resized(DEV01 / "pha" / f"{i:04d}.png", 1))
    model = load_model("mobilenetv3", str(SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"), device="cpu")
    after = range(frames, 2 * frames)
    results = {}
    for name, extra in (("no reset", {}), ("--detect-cuts", {"detect_cuts": True}),
                        ("second clip alone", {"frames": (frames, 2 * frames - 1)})):
        out = work / "joined" / name.strip("-").replace(" ", "_")
        job = Job(RunOptions(input=str(plate / "0000.png"), alpha=str(out / "pha.####.exr"), model=model,
                             downsample_ratio=1.0, bit_depth="float", **extra))
        job.run()
        scores = evaluate_sequences(str(out / "pha.####.exr"), str(truth / "####.png"), first_frames=3,
                                    frames=after)
        results[name] = {"cuts": [c.frame for c in job.cuts], "overall": scores.overall, "first": scores.first,
                         "per_frame_mad": [round(r["mad"], 2) for r in scores.per_frame]}
        print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
    return results


def rough_garbage(truth: np.ndarray, grow: int = 24, feather: int = 16) -> np.ndarray:
    """1 inside the truth's bounding box grown by ``grow``, falling linearly to 0 over ``feather``."""
    ys, xs = np.nonzero(truth > 0)
    y, x = np.mgrid[0:truth.shape[0], 0:truth.shape[1]]
    dy = np.maximum(np.maximum(ys.min() - grow - y, y - ys.max() - grow), 0)
    dx = np.maximum(np.maximum(xs.min() - grow - x, x - xs.max() - grow), 0)
    return np.clip(1.0 - np.hypot(dx, dy) / feather, 0.0, 1.0).astype(np.float32)


def garbage(run: Path, truth_dir: Path, work: Path) -> dict:
    from rvmatte.evaluate import evaluate_sequences
    from rvmatte.masks import Masks
    from rvmatte.mattes import MatteSequence

    pred = MatteSequence(str(run / "pha.####.exr"))
    truth = MatteSequence(str(truth_dir / "####.png"))
    folder = work / "garbage" / run.parent.name
    for frame in pred.frames:
        save(folder / "matte" / f"g.{frame:04d}.png", rough_garbage(truth.read(frame)))
    masks = Masks(garbage=str(folder / "matte" / "g.####.png"))
    for frame in pred.frames:
        save(folder / "masked" / f"a.{frame:04d}.png", masks.apply(frame, pred.read(frame)))
        save(folder / "plain" / f"a.{frame:04d}.png", pred.read(frame))     # same 8-bit quantisation
    out = {}
    for name in ("plain", "masked"):
        out[name] = evaluate_sequences(str(folder / name / "a.####.png"), str(truth_dir / "####.png")).overall
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("cut", "garbage"))
    parser.add_argument("work", type=Path)
    parser.add_argument("truth", type=Path, nargs="?")
    parser.add_argument("--frames", type=int, default=6)
    args = parser.parse_args()
    if args.action == "cut":
        print(json.dumps(cut(args.work, args.frames), indent=1))
    else:
        print(json.dumps(garbage(args.work, args.truth, args.work.parent.parent.parent), indent=1))


if __name__ == "__main__":
    main()
