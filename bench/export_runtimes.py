"""Per-frame time of the eager model, its TorchScript export and its ONNX export (ONNX Runtime).

All three run the same real frames in order with the recurrent state fed back, so
the largest alpha difference against the eager model is reported too.

    .venv/bin/python bench/export_runtimes.py                       # juggle movie, 640x360, ratio 0.5
    .venv/bin/python bench/export_runtimes.py --size 1920x1080 --ratio 0.25 --frames 30 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "core"))

DEFAULT_MOVIE = os.path.join(
    HERE, "..", "..", "shared", "data", "real_video", "sam2_juggle_1280x720", "sam2_05_default_juggle.mp4"
)
DEFAULT_WEIGHTS = os.path.join(HERE, "..", "..", "shared", "models", "rvm_mobilenetv3_from_tfjs.pth")


def read_frames(movie: str, count: int, width: int, height: int) -> list:
    import torch
    import torch.nn.functional as F

    from rvmatte.io.movies import MovieSource

    source = MovieSource(movie)
    frames = []
    for plate in source.read(source.frames[:count]):
        src = torch.from_numpy(plate.rgb).permute(2, 0, 1)[None]
        frames.append(F.interpolate(src, size=(height, width), mode="bilinear", antialias=True).clamp(0, 1))
    return frames


def time_eager(model, frames, ratio):
    import torch

    rec, phas, start = [None] * 4, [], time.perf_counter()
    with torch.no_grad():
        for src in frames:
            _, pha, *rec = model(src, *rec, downsample_ratio=ratio)
            phas.append(pha.numpy())
    return time.perf_counter() - start, phas


def time_onnx(path, frames, ratio):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    rec = [np.zeros((1, 1, 1, 1), np.float32)] * 4
    phas, start = [], time.perf_counter()
    for src in frames:
        feed = {"src": src.numpy(), "downsample_ratio": np.array([ratio], np.float32)}
        feed.update({f"r{i + 1}i": r for i, r in enumerate(rec)})
        _, pha, *rec = session.run(None, feed)
        phas.append(pha)
    return time.perf_counter() - start, phas


def main() -> int:
    import torch

    from rvmatte.export import export_onnx, export_torchscript
    from rvmatte.weights import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movie", default=DEFAULT_MOVIE)
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT the frames are resized to")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--threads", type=int, help="torch intra-op threads")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    frames = read_frames(args.movie, args.frames, width, height)
    model = load_model("mobilenetv3", args.weights, device="cpu")
    results = {"size": [width, height], "ratio": args.ratio, "frames": len(frames),
               "torch": torch.__version__, "threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as folder:
        ts_path, onnx_path = os.path.join(folder, "m.torchscript"), os.path.join(folder, "m.onnx")
        export_torchscript(model, ts_path)
        export_onnx(model, onnx_path)
        time_eager(model, frames[:1], args.ratio)                     # warm-up
        seconds, reference = time_eager(model, frames, args.ratio)
        results["eager_ms_per_frame"] = 1000 * seconds / len(frames)
        scripted = torch.jit.load(ts_path)
        time_eager(scripted, frames[:1], args.ratio)
        seconds, phas = time_eager(scripted, frames, args.ratio)
        results["torchscript_ms_per_frame"] = 1000 * seconds / len(frames)
        results["torchscript_max_alpha_diff"] = float(max(np.abs(a - b).max() for a, b in zip(phas, reference)))
        seconds, phas = time_onnx(onnx_path, frames, args.ratio)
        results["onnxruntime_ms_per_frame"] = 1000 * seconds / len(frames)
        results["onnxruntime_max_alpha_diff"] = float(max(np.abs(a - b).max() for a, b in zip(phas, reference)))
    for key, value in results.items():
        print(f"{key:>28}: {value:.4g}" if isinstance(value, float) else f"{key:>28}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
