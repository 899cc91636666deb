"""bench/speed.py's backend rows: the network alone at 1080p / ratio 0.25 run by each backend.

Every configuration runs in its own child process (same frames, state fed back, same thread
count, the CLI's process settings), and the configurations take turns run by run
(interleaved), so a neighbour's load on a shared machine falls on all of them alike. The
first frames (the export and compile, cached under a private RVMATTE_CACHE_DIR) are warm-up;
each worker saves its last alpha so the parent reports mean / max |Δα| against torch eager.

    PYTHONPATH=core .venv/bin/python bench/speed.py --only backends --runs 2 --model-frames 10
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# name: (backend, precision, fold BatchNorm (rvmatte's torch path) — the export folds on its own)
BACKEND_CONFIGS = {
    "torch eager float32 (the original's forward)": ("torch", "float32", False),
    "torch float32, BatchNorm folded (rvmatte default)": ("torch", "float32", True),
    "onnxruntime float32": ("onnxruntime", "float32", False),
    "openvino float32": ("openvino", "float32", False),
    "openvino bfloat16": ("openvino", "bfloat16", False),
}
REFERENCE = "torch eager float32 (the original's forward)"


def backend_worker(config: str, frames: int, warmup: int, width: int, height: int, ratio: float,
                   alpha_out: str, clip) -> None:
    """In a child process: the network by one backend; prints JSON frame times, saves the last alpha."""
    from rvmatte.tuning import defaults_for, prepare_process

    prepare_process()
    import torch

    from rvmatte.backends import select
    from rvmatte.optimize import prepare_model
    from rvmatte.weights import load_model

    name, precision, fold = BACKEND_CONFIGS[config]
    tuning = defaults_for("cpu", "float32")
    torch.set_num_threads(tuning.threads)
    model = load_model("mobilenetv3", os.environ["RVMATTE_WEIGHTS"], device="cpu")
    model = prepare_model(model, tuning, fold)
    network = select(name, model, precision=precision, threads=tuning.threads, warn=sys.exit)
    clip = [torch.from_numpy(rgb).permute(2, 0, 1)[None].float() for rgb in clip]
    rec, times = [None] * 4, []
    with torch.inference_mode():
        for i in range(warmup + frames):
            if i == warmup:
                cpu = time.process_time()
            start = time.perf_counter()
            fgr, pha, *rec = network(clip[i % len(clip)], *rec, downsample_ratio=ratio)
            times.append(time.perf_counter() - start)
    np.save(alpha_out, pha.float().numpy())
    print(json.dumps({"times": times[warmup:], "threads": torch.get_num_threads(),
                      "cpu": time.process_time() - cpu, "exports": getattr(network, "exports", 0)}))


def measure_backends(script: str, configs, frames: int, runs: int, env: dict, reference_fps: float) -> list:
    """Rows for speed.py's table: fps (median, range), ratio to torch eager and to the original, |Δα|."""
    results = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="rvmatte-backends-") as folder:
        env = dict(env, RVMATTE_CACHE_DIR=os.path.join(folder, "compiled"))
        alphas = {}
        for run in range(runs):
            for config in configs:                       # interleaved: each run visits every config
                alpha = os.path.join(folder, f"{list(BACKEND_CONFIGS).index(config)}.npy")
                out = subprocess.run([sys.executable, script, "--backend-worker", config,
                                      "--model-frames", str(frames), "--alpha-out", alpha],
                                     capture_output=True, text=True, env=env)
                if out.returncode != 0:
                    print(f"{config}: failed ({out.stderr.strip().splitlines()[-1:]})", flush=True)
                    break
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results[config].append(len(result["times"]) / sum(result["times"]))
                alphas[config] = np.load(alpha)
        rows = []
        ref = statistics.median(results[REFERENCE]) if results.get(REFERENCE) else float("nan")
        for config in configs:
            fps = results[config]
            if not fps:
                rows.append((f"network 1080p r=0.25, {config}", "not available", "", "", ""))
                continue
            mid = statistics.median(fps)
            diff = np.abs(alphas[config] - alphas[REFERENCE]) if REFERENCE in alphas else np.array([np.nan])
            rows.append((f"network 1080p r=0.25, {config}, frames/s",
                         f"{mid:.2f} ({min(fps):.2f}-{max(fps):.2f}); |Δα| mean {diff.mean():.1e} max {diff.max():.1e}",
                         f"{reference_fps}", f"{mid / ref:.2f}x eager, {mid / reference_fps:.2f}x original",
                         ">= 1.5x float32, >= 2x reduced"))
            print(rows[-1], flush=True)
    return rows
