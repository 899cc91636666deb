"""How much does a farm chunk differ from the same frames in a whole-shot run?

RVM's recurrent state makes a chunk that starts cold look different from the
same frames processed inside the whole shot. This script runs a shot whole,
then in chunks (as `rvmatte farm` plans them) with several prerolls, and reports
the alpha difference at the chunk boundaries and how it fades inside a chunk.
The default preroll in rvmatte.farm.shots comes from this curve (docs/farm.md).

    .venv/bin/python bench/chunk_continuity.py            # juggle movie, 128 frames
    .venv/bin/python bench/chunk_continuity.py --plot docs/images/farm_preroll.png --json out.json

The movie is read with rvmatte's own reader and halved in size (--scale) to keep
the CPU time small; both runs see exactly the same frames, frame by frame.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "core"))

DEFAULT_MOVIE = os.path.join(
    HERE, "..", "..", "shared", "data", "real_video", "sam2_juggle_1280x720", "sam2_05_default_juggle.mp4"
)
DEFAULT_WEIGHTS = os.path.join(HERE, "..", "..", "shared", "models", "rvm_mobilenetv3_from_tfjs.pth")


def read_frames(movie: str, count: int, scale: int) -> list[np.ndarray]:
    """The first ``count`` frames, box-filtered down by the integer factor ``scale``."""
    from rvmatte.io.movies import MovieSource

    source = MovieSource(movie)
    if len(source.frames) < count:
        raise SystemExit(f"{movie} has {len(source.frames)} frames, {count} asked")
    frames = []
    for plate in source.read(source.frames[:count]):
        rgb = plate.rgb
        if scale > 1:
            h, w = (rgb.shape[0] // scale) * scale, (rgb.shape[1] // scale) * scale
            rgb = rgb[:h, :w].reshape(h // scale, scale, w // scale, scale, 3).mean(axis=(1, 3))
        frames.append(np.ascontiguousarray(rgb, dtype=np.float32))
    return frames


def run_frames(session, frames: list[np.ndarray]) -> list[np.ndarray]:
    session.reset()
    return [session.step(rgb)[0] for rgb in frames]


def measure(session, frames, chunk_size: int, preroll: int, whole: list[np.ndarray]) -> dict:
    """Chunk the shot as the farm does and compare every chunk after the first with the whole run."""
    from rvmatte.farm.plan import plan_chunks

    chunks = plan_chunks(range(len(frames)), chunk_size, preroll, division="fixed")
    offsets = np.zeros((len(chunks) - 1, chunk_size))
    boundary = []
    for k, chunk in enumerate(chunks[1:]):
        alphas = run_frames(session, frames[chunk.warmup_first : chunk.last + 1])[chunk.preroll :]
        for t, alpha in enumerate(alphas):
            offsets[k, t] = float(np.abs(alpha - whole[chunk.first + t]).mean())
        boundary.append(np.abs(alphas[0] - whole[chunk.first]).ravel())
    boundary = np.concatenate(boundary)
    return {
        "preroll": preroll,
        "boundaries": [c.first for c in chunks[1:]],
        "boundary_mean_abs": float(offsets[:, 0].mean()),
        "boundary_worst_mean_abs": float(offsets[:, 0].max()),
        "boundary_p99_abs": float(np.percentile(boundary, 99)),
        "boundary_max_abs": float(boundary.max()),
        "boundary_share_over_0.1": float((boundary > 0.1).mean()),
        "chunk_mean_abs": float(offsets.mean()),
        "by_offset_mean_abs": offsets.mean(axis=0).tolist(),
    }


def plot(results: list[dict], temporal_change: float, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    prerolls = [r["preroll"] for r in results]
    floor = 1e-7
    left.plot(prerolls, [max(r["boundary_mean_abs"], floor) for r in results], "o-", label="mean |Δα|, boundary frame")
    left.plot(prerolls, [max(r["boundary_p99_abs"], floor) for r in results], "s--",
              label="99th percentile |Δα|, boundary frame")
    left.axhline(temporal_change, color="grey", lw=1, ls=":", label="mean |α(t) − α(t−1)| of the shot")
    left.set_yscale("log")
    left.set_xticks(prerolls)
    left.set_xlabel("preroll (frames)")
    left.set_ylabel("alpha difference vs whole-shot run")
    left.set_title("Error at chunk boundaries")
    left.legend(fontsize=8)
    for r in results:
        curve = np.maximum(np.array(r["by_offset_mean_abs"]), floor)
        right.plot(np.arange(len(curve)), curve, label=f"preroll {r['preroll']}")
    right.set_yscale("log")
    right.set_xlabel("frame inside the chunk")
    right.set_ylabel("mean |Δα|")
    right.set_title("How the difference fades inside a chunk")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movie", default=DEFAULT_MOVIE)
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--frames", type=int, default=128, help="frames of the shot (from the movie's start)")
    parser.add_argument("--chunk-size", type=int, default=32)
    parser.add_argument("--prerolls", default="0,4,8,16,32")
    parser.add_argument("--ratio", type=float, default=0.25, help="downsample ratio")
    parser.add_argument("--scale", type=int, default=2, help="shrink the frames by this factor first")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot", help="write the curve as a PNG here")
    parser.add_argument("--json", help="write the numbers as JSON here")
    args = parser.parse_args(argv)

    import torch

    from rvmatte.session import Session
    from rvmatte.weights import load_model

    torch.set_num_threads(args.threads)
    prerolls = [int(p) for p in args.prerolls.split(",")]
    started = time.perf_counter()
    frames = read_frames(args.movie, args.frames, args.scale)
    session = Session(load_model("mobilenetv3", args.weights, device="cpu"), downsample_ratio=args.ratio)
    whole = run_frames(session, frames)
    temporal_change = float(np.mean([np.abs(b - a).mean() for a, b in zip(whole, whole[1:])]))
    results = [measure(session, frames, args.chunk_size, p, whole) for p in prerolls]
    height, width = frames[0].shape[:2]
    print(f"{os.path.basename(args.movie)}: {args.frames} frames at {width}x{height}, ratio {args.ratio}, "
          f"chunks of {args.chunk_size}; shot's own mean |α(t)-α(t-1)| = {temporal_change:.2e}")
    print(f"{'preroll':>7}  {'boundary mean|Δα|':>18}  {'worst':>8}  {'p99|Δα|':>8}  {'max|Δα|':>8}  {'px>0.1':>7}  "
          f"{'chunk mean|Δα|':>15}")
    for r in results:
        print(f"{r['preroll']:>7}  {r['boundary_mean_abs']:>18.2e}  {r['boundary_worst_mean_abs']:>8.2e}  "
              f"{r['boundary_p99_abs']:>8.3f}  "
              f"{r['boundary_max_abs']:>8.3f}  {100 * r['boundary_share_over_0.1']:>6.2f}%  "
              f"{r['chunk_mean_abs']:>15.2e}")
    print(f"({time.perf_counter() - started:.0f} s)")
    report = {
        "movie": os.path.basename(args.movie), "frames": args.frames, "size": [width, height],
        "ratio": args.ratio, "chunk_size": args.chunk_size, "temporal_change": temporal_change, "results": results,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    if args.plot:
        plot(results, temporal_change, args.plot,
             f"{report['movie']}: {args.frames} frames at {width}x{height}, downsample ratio {args.ratio}, "
             f"chunks of {args.chunk_size} (rvmatte bench/chunk_continuity.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
