"""The GPU measurement of issue 18 in one self-contained script (< 5 min on a CUDA machine).

Needs only a CUDA build of PyTorch (Python 3.12) and this repository's ``core/`` (carried
beside it); no network. Weights: ``--weights`` (default ../shared/models/...pth, else
randomly initialised weights, which time the same and are said so in the table).

    python bench/gpu_bench.py                       # CUDA, rows into $OUT (or ./gpu_bench_out)
    python bench/gpu_bench.py --device cpu --tiny   # the logic on CPU in seconds (tests/bench)

Rows, in this order (the torch-only ones first; each is appended to ``rows.jsonl`` in the
output folder and flushed the moment it finishes, so a run cut off still returns what it
measured):

- model only, frames/s, at 1080p / ratio 0.25 and 4K / ratio 0.125, for float32, float16,
  bfloat16, float16 + channels_last, float32 + channels_last and float16 + CUDA graphs
  (the steady-state forward captured once with static input and state buffers and
  replayed). The frames are already on the device (as the paper's and the original's
  README figures are); the state is fed back;
- parity: float32 on the device against float32 on the CPU over a few frames with the state
  fed back (TF32 off for this row), max and mean |Δα|;
- checks: the engine's transfer on the device against synchronous copies (lagged pipeline,
  results kept to the end), and ``--cuda-graphs``' network against eager float16;
- end to end, float32, float16 and float16 + ``--cuda-graphs``: ``rvmatte run``'s engine on a 1080p (120 frames) and a 4K
  (40 frames) linear EXR shot written here, alpha + premultiplied foreground EXRs out, only where
  OpenImageIO imports; reading, colour, the transfers (rvmatte.transfer: pinned buffers and
  copy streams on CUDA) and writing included. Frames/s of the steady state (frames on disk
  after the 5th) and of the whole job (start-up included), GPU utilisation sampled while
  frames flow;
- GPU utilisation sampled during the model rows (``torch.cuda.utilization``, needs pynvml;
  else ``nvidia-smi``; else "n/a");
- last, the optional backends, only where they import: ``--backend tensorrt`` (ONNX Runtime's
  TensorRT provider, float16 and float32) model only at both sizes, the engine's build (first
  frame, into a temporary cache) timed apart from the steady state. Skipped with the reason
  elsewhere (no CUDA device; onnxruntime without the provider).

At the end one Markdown table is printed and written to ``table.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "core"))
SHARED = Path(os.environ.get("RVMATTE_SHARED", HERE.parent.parent / "shared"))
DEFAULT_WEIGHTS = SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"

from rvmatte.progress import Reporter  # noqa: E402  (core/ is on the path from here)

SIZES = {"1080p": (1920, 1080, 0.25), "4K": (3840, 2160, 0.125)}
TINY_SIZES = {"1080p": (256, 144, 0.25), "4K": (512, 288, 0.125)}      # --tiny: same rows, small frames
MODES = [  # name: (dtype, channels_last, cuda graph)
    ("float32", ("float32", False, False)),
    ("float16", ("float16", False, False)),
    ("bfloat16", ("bfloat16", False, False)),
    ("float32 + channels_last", ("float32", True, False)),
    ("float16 + channels_last", ("float16", True, False)),
    ("float16 + CUDA graph", ("float16", False, True)),
]


BACKEND_MODES = [  # name: (backend, precision); optional: rows only where the runtime imports
    ("tensorrt float16", ("tensorrt", "float16")),
    ("tensorrt float32", ("tensorrt", "float32")),
]


END_TO_END_MODES = [  # name: (precision, --cuda-graphs)
    ("float32", ("float32", False)),
    ("float16", ("float16", False)),
    ("float16 + CUDA graphs", ("float16", True)),
]


class Rows:
    """Rows appended to ``rows.jsonl`` (flushed and fsynced) as they finish."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "rows.jsonl"
        self.rows = []
        self.path.write_text("")

    def add(self, **row) -> None:
        self.rows.append(row)
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        print(json.dumps(row), flush=True)


def load_network(weights, device, dtype, channels_last: bool):
    import torch

    from rvmatte.model import MattingNetwork

    model = MattingNetwork("mobilenetv3")
    if weights and Path(weights).is_file():
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model = model.eval().to(device, getattr(torch, dtype))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def make_frames(count: int, width: int, height: int, device, dtype):
    """Deterministic frames with structure (a bright disc over gradients), [1,3,H,W] in 0..1."""
    import torch

    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    frames = []
    for i in range(count):
        cx, cy = 0.4 + 0.02 * i, 0.5
        disc = (((x - cx) * width / height) ** 2 + (y - cy) ** 2 < 0.08).float()
        rgb = torch.stack([x * 0.6 + disc * 0.4, y * 0.5 + disc * 0.3, (1 - x) * 0.4 + disc * 0.2])
        frames.append(rgb.clamp(0, 1)[None].to(device, dtype))
    return frames


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gpu_utilisation(device) -> str:
    import torch

    if device.type != "cuda":
        return "n/a"
    try:
        return f"{torch.cuda.utilization(device)}%"
    except Exception:
        pass
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return f"{out.stdout.strip().splitlines()[0]}%"
    return "n/a"


def time_model(model, frames, ratio, warmup: int, count: int, device, use_graph: bool):
    """Frames/s of the steady state (state fed back) and the utilisation sampled at its end."""
    import torch

    rec = [None] * 4
    with torch.inference_mode():
        if not use_graph:
            for i in range(warmup):
                _, _, *rec = model(frames[i % len(frames)], *rec, downsample_ratio=ratio)
            synchronize(device)
            start = time.perf_counter()
            for i in range(count):
                _, _, *rec = model(frames[i % len(frames)], *rec, downsample_ratio=ratio)
            utilisation = gpu_utilisation(device)
            synchronize(device)
            return count / (time.perf_counter() - start), utilisation
        step = graph_step(model, frames[0], ratio, device)
        for i in range(warmup):
            step(frames[i % len(frames)])
        synchronize(device)
        start = time.perf_counter()
        for i in range(count):
            step(frames[i % len(frames)])
        utilisation = gpu_utilisation(device)
        synchronize(device)
        return count / (time.perf_counter() - start), utilisation


def graph_step(model, example, ratio, device):
    """A ``step(frame)`` replaying one captured CUDA graph of the forward with the state fed back
    through static buffers (shapes fixed: one frame size and ratio)."""
    import torch

    _, _, *state = model(example, downsample_ratio=ratio)           # the state's shapes
    static_src = example.clone()
    static_rec = [torch.zeros_like(r) for r in state]
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):                                           # warm the allocator and cuDNN off-graph
            model(static_src, *static_rec, downsample_ratio=ratio)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = model(static_src, *static_rec, downsample_ratio=ratio)

    def step(frame):
        static_src.copy_(frame)
        graph.replay()
        for buffer, new in zip(static_rec, outputs[2:]):
            buffer.copy_(new)
        return outputs[0], outputs[1]

    return step


def backend_problem(backend: str, device) -> str:
    """Why an optional backend's rows cannot run here ('' when they can)."""
    from rvmatte.backends import runtime

    if device.type != "cuda":
        return "TensorRT needs a CUDA device"
    try:
        runtime(backend).version()
    except ImportError as error:
        return str(error)
    return ""


def time_backend(weights, device, backend: str, precision: str, frames, ratio, warmup: int, count: int) -> dict:
    """Frames/s of ``--backend`` (state fed back) after its first frame, which builds its engine (timed)."""
    import torch

    from rvmatte.backends import select

    model = load_network(weights, device, "float32", False)
    network = select(backend, model, precision=precision, threads=1, warn=lambda message: None)
    started = time.perf_counter()
    with torch.inference_mode():
        network(frames[0], downsample_ratio=ratio)
    synchronize(device)
    build = time.perf_counter() - started
    fps, utilisation = time_model(network, frames, ratio, warmup, count, device, False)
    return {"fps": round(fps, 2), "build_s": round(build, 1), "gpu_utilisation": utilisation,
            "graph_frames": network.graph_frames}


def parity(weights, device, size, frames_count: int) -> dict:
    """float32 on ``device`` vs float32 on the CPU, the state fed back; TF32 off for the row."""
    import torch

    width, height, ratio = size
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        results = {}
        for where in ("cpu", device):
            model = load_network(weights, where, "float32", False)
            rec, phas = [None] * 4, []
            with torch.inference_mode():
                for src in make_frames(frames_count, width, height, where, torch.float32):
                    _, pha, *rec = model(src, *rec, downsample_ratio=ratio)
                    phas.append(pha.float().cpu())
            results[str(where)] = phas
        diffs = [(a - b).abs() for a, b in zip(results["cpu"], results[str(device)])]
        return {"max": max(float(d.max()) for d in diffs), "mean": sum(float(d.mean()) for d in diffs) / len(diffs)}
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def check_transfer(weights, device, size) -> dict:
    """The engine's transfer on this device (rvmatte.transfer: pinned buffers and copy streams on
    CUDA) against plain synchronous copies: 6 chunks of 4 frames through the lagged pipeline, the
    network's state fed back, every result kept until the end (no buffer may be overwritten)."""
    import numpy as np
    import torch

    from rvmatte.ensemble import ForwardStreams
    from rvmatte.transfer import for_device

    width, height, ratio = size
    model = load_network(weights, device, "float32", False)
    frames = [f[0].permute(1, 2, 0).numpy() for f in make_frames(24, width, height, "cpu", torch.float32)]
    chunks = [frames[i:i + 4] for i in range(0, 24, 4)]
    transfer = for_device(device)
    streams = ForwardStreams(model, (), downsample_ratio=ratio)
    staged = [result for _, result in transfer.pipeline(chunks, lambda chunk: transfer.download(
        *streams.infer_tensors(transfer.upload(chunk))))]
    streams = ForwardStreams(model, (), downsample_ratio=ratio)
    worst = 0.0
    for chunk, (alphas, fgrs, _) in zip(chunks, staged):
        src = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2).to(device)
        plain_alphas, plain_fgrs, _ = streams.infer(src)
        worst = max(worst, float(np.abs(alphas[0] - plain_alphas[0]).max()),
                    float(np.abs(fgrs[0] - plain_fgrs[0]).max()))
    return {"transfer": type(transfer).__name__, "max_abs_difference": worst, "chunks": len(chunks)}


def check_cuda_graphs(weights, device, size) -> dict:
    """--cuda-graphs' network against the eager one in float16, 8 chunks of 4 frames, state fed back."""
    import torch

    from rvmatte.cuda_graphs import CudaGraphNetwork

    width, height, ratio = size
    model = load_network(weights, device, "float16", False)
    graphed = CudaGraphNetwork(model)
    frames = make_frames(32, width, height, device, torch.float16)
    rec, plain = [None] * 4, [None] * 4
    worst = 0.0
    with torch.inference_mode():
        for i in range(0, 32, 4):
            src = torch.cat(frames[i:i + 4])[None]
            _, pha, *rec = graphed(src, *rec, downsample_ratio=ratio)
            _, plain_pha, *plain = model(src, *plain, downsample_ratio=ratio)
            worst = max(worst, float((pha.float() - plain_pha.float()).abs().max()))
    return {"max_abs_alpha": worst, "captures": graphed.captures, "replays": graphed.replays}


def write_shot(size, count: int, distinct: int, folder: Path) -> str:
    """A linear half-float EXR shot of ``count`` frames (``distinct`` written, the rest symlinks to
    them, so a long shot costs little disk or set-up time); returns its pattern."""
    import numpy as np
    import OpenImageIO as oiio
    import torch

    width, height, _ = size
    shot = folder / f"in{width}"
    if not shot.is_dir():
        shot.mkdir(parents=True)
        for i, frame in enumerate(make_frames(distinct, width, height, "cpu", torch.float32)):
            pixels = np.ascontiguousarray(frame[0].permute(1, 2, 0).numpy() ** 2.2)
            spec = oiio.ImageSpec(width, height, 3, oiio.HALF)
            path = str(shot / f"distinct.{i:04d}.exr")
            out = oiio.ImageOutput.create(path)
            out.open(path, spec)
            out.write_image(pixels)
            out.close()
        for i in range(1, count + 1):
            (shot / f"plate.{i:04d}.exr").symlink_to(shot / f"distinct.{(i - 1) % distinct:04d}.exr")
    return str(shot / "plate.####.exr")


class FrameClock(Reporter):
    """A progress reporter that keeps the time each frame was reported done (on disk)."""

    def __init__(self):
        self.times = []

    def frame(self, *args, **kwargs) -> None:
        self.times.append(time.perf_counter())


def end_to_end(weights, device, size, count: int, folder: Path, precision: str = "float32",
               cuda_graphs: bool = False) -> dict:
    """``rvmatte run``'s engine (rvmatte.engine.Job, with rvmatte.transfer's pinned buffers and copy
    streams on CUDA) on a linear half-float EXR shot, alpha + premultiplied foreground EXRs written:
    frames/s of the whole job (model loading, cuDNN autotuning and the VRAM check included) and of
    its steady state (between the 5th and the last frame on disk), with the GPU's utilisation
    sampled every 0.2 s while frames flow."""
    import threading

    import torch

    from rvmatte.engine import Job, RunOptions
    from rvmatte.transfer import for_device

    width, height, ratio = size
    pattern = write_shot(size, count, min(count, 8), folder)
    out = folder / f"out{width}-{precision}{'-graphs' if cuda_graphs else ''}"
    clock = FrameClock()
    samples, stop = [], threading.Event()

    def sample():
        while not stop.wait(0.2):
            if clock.times:
                value = gpu_utilisation(device)
                if value.endswith("%"):
                    samples.append(float(value[:-1]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        Job(RunOptions(input=pattern, alpha=str(out / "a.####.exr"), foreground=str(out / "f.####.exr"),
                       weights=str(weights), device=str(device), precision=precision, downsample_ratio=ratio,
                       cuda_graphs=cuda_graphs),
            clock).run()
    finally:
        stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    times = clock.times
    skip = min(5, len(times) - 2)
    steady = (len(times) - 1 - skip) / (times[-1] - times[skip]) if len(times) > skip + 1 else float("nan")
    return {"fps": round(count / wall, 2), "steady_fps": round(steady, 2),
            "gpu_utilisation": f"{sum(samples) / len(samples):.0f}%" if samples else "n/a",
            "transfer": type(for_device(torch.device(device))).__name__}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a smoke run")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu_bench_out", help="folder for the rows")
    parser.add_argument("--tiny", action="store_true", help="small frames and few of them (a test of the logic)")
    parser.add_argument("--frames", type=int, help="timed frames per row (default 100, 3 with --tiny)")
    parser.add_argument("--budget-s", type=float, default=270, help="rows not started by then are skipped")
    args = parser.parse_args(argv)

    import torch

    started = time.perf_counter()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_bench: CUDA is not available in this torch build / machine", file=sys.stderr)
        return 2
    sizes = TINY_SIZES if args.tiny else SIZES
    count = args.frames or (3 if args.tiny else 100)
    warmup = 1 if args.tiny else 10
    rows = Rows(Path(args.out))
    weights = args.weights if Path(args.weights).is_file() else None
    torch.backends.cudnn.benchmark = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    rows.add(kind="machine", device=str(device), name=name, torch=torch.__version__,
             python=platform.python_version(), weights=str(weights) if weights else "random init (timing only)")

    def out_of_time() -> bool:
        return time.perf_counter() - started > args.budget_s

    for label, (width, height, ratio) in sizes.items():
        frames32 = make_frames(8, width, height, device, torch.float32)
        for mode, (dtype, channels_last, use_graph) in MODES:
            row = {"kind": "model", "size": label, "resolution": f"{width}x{height}", "ratio": ratio, "mode": mode}
            if out_of_time():
                rows.add(**row, skipped="time budget")
                continue
            if use_graph and device.type != "cuda":
                rows.add(**row, skipped="CUDA graphs need a CUDA device")
                continue
            if dtype == "float16" and device.type == "cpu":
                rows.add(**row, skipped="float16 convolutions are for the GPU")
                continue
            try:
                model = load_network(weights, device, dtype, channels_last)
                frames = [f.to(getattr(torch, dtype)) for f in frames32]
                if channels_last:
                    frames = [f.contiguous(memory_format=torch.channels_last) for f in frames]
                fps, utilisation = time_model(model, frames, ratio, warmup, count, device, use_graph)
                rows.add(**row, fps=round(fps, 2), gpu_utilisation=utilisation, frames=count)
            except Exception as error:                      # a mode this GPU/build lacks: say so, go on
                rows.add(**row, error=f"{type(error).__name__}: {str(error)[:200]}")
            finally:
                if device.type == "cuda":
                    torch.cuda.empty_cache()

    if out_of_time():
        rows.add(kind="parity", skipped="time budget")
    else:
        result = parity(weights, device, sizes["1080p"], 3 if args.tiny else 5)
        rows.add(kind="parity", size="1080p", mode=f"float32 {device} vs cpu (TF32 off)",
                 max_abs_alpha=result["max"], mean_abs_alpha=result["mean"])

    for name, check in (("transfer", check_transfer), ("cuda graphs", check_cuda_graphs)):
        if out_of_time():
            rows.add(kind="check", mode=name, skipped="time budget")
        elif name == "cuda graphs" and device.type != "cuda":
            rows.add(kind="check", mode=name, skipped="CUDA graphs need a CUDA device")
        else:
            try:
                rows.add(kind="check", mode=name, **check(weights, device, sizes["1080p"]))
            except Exception as error:
                rows.add(kind="check", mode=name, error=f"{type(error).__name__}: {str(error)[:200]}")

    try:
        import OpenImageIO  # noqa: F401
        have_oiio = True
    except ImportError:
        have_oiio = False
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as folder:
        for label, size in sizes.items():
            for mode, (precision, graphs) in END_TO_END_MODES:
                row = {"kind": "end_to_end", "size": label, "resolution": f"{size[0]}x{size[1]}", "ratio": size[2],
                       "mode": f"rvmatte run {mode}, EXR half in -> alpha + foreground EXR"}
                if not have_oiio:
                    rows.add(**row, skipped="OpenImageIO does not import here")
                elif weights is None:
                    rows.add(**row, skipped="rvmatte run needs the weights file (--weights)")
                elif out_of_time():
                    rows.add(**row, skipped="time budget")
                elif graphs and device.type != "cuda":
                    rows.add(**row, skipped="CUDA graphs need a CUDA device")
                elif precision == "float16" and device.type == "cpu":
                    rows.add(**row, skipped="float16 convolutions are for the GPU")
                else:
                    try:
                        frames = 3 if args.tiny else (120 if label == "1080p" else 40)
                        rows.add(**row, **end_to_end(weights, device, size, frames, Path(folder), precision,
                                                     graphs), frames=frames)
                    except Exception as error:
                        rows.add(**row, error=f"{type(error).__name__}: {str(error)[:200]}")
                    finally:
                        if device.type == "cuda":
                            torch.cuda.empty_cache()

    previous_cache = os.environ.get("RVMATTE_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="gpu-bench-engines-") as engines:
        os.environ["RVMATTE_CACHE_DIR"] = engines                # exports and engines: built here, not in $OUT
        for label, (width, height, ratio) in sizes.items():
            for mode, (backend, precision) in BACKEND_MODES:
                row = {"kind": "backend", "size": label, "resolution": f"{width}x{height}", "ratio": ratio,
                       "mode": f"--backend {mode}, model only"}
                problem = "time budget" if out_of_time() else backend_problem(backend, device)
                if problem:
                    rows.add(**row, skipped=problem)
                    continue
                try:
                    frames = make_frames(8, width, height, device, torch.float32)
                    rows.add(**row, **time_backend(weights, device, backend, precision, frames, ratio, warmup, count),
                             frames=count)
                except Exception as error:
                    rows.add(**row, error=f"{type(error).__name__}: {str(error)[:200]}")
                finally:
                    torch.cuda.empty_cache()
    if previous_cache is None:
        os.environ.pop("RVMATTE_CACHE_DIR", None)
    else:
        os.environ["RVMATTE_CACHE_DIR"] = previous_cache

    table = format_table(rows.rows, time.perf_counter() - started)
    (Path(args.out) / "table.md").write_text(table + "\n")
    print(table)
    return 0


def format_table(rows: list, seconds: float) -> str:
    machine = next((r for r in rows if r["kind"] == "machine"), {})
    lines = [f"{machine.get('name', '?')} ({machine.get('device', '?')}), torch {machine.get('torch', '?')}, "
             f"Python {machine.get('python', '?')}; weights: {machine.get('weights', '?')}; {seconds:.0f} s", "",
             "| row | size | mode | result | GPU util |", "|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] == "machine":
            continue
        if "skipped" in r:
            result = f"skipped: {r['skipped']}"
        elif "error" in r:
            result = f"error: {r['error']}"
        elif r["kind"] == "check" and "replays" in r:
            result = f"max |Δα| {r['max_abs_alpha']:.2e} vs eager; {r['captures']} capture, {r['replays']} replays"
        elif r["kind"] == "check":
            result = f"max |Δ| {r['max_abs_difference']:.2e} vs synchronous copies ({r['transfer']}, {r['chunks']} chunks)"
        elif r["kind"] == "parity":
            result = f"max |Δα| {r['max_abs_alpha']:.2e}, mean {r['mean_abs_alpha']:.2e}"
        elif r["kind"] == "backend":
            result = f"{r['fps']:.1f} frames/s (engine built in {r['build_s']:.0f} s at the first frame)"
        elif r["kind"] == "end_to_end":
            result = (f"{r['steady_fps']:.1f} frames/s steady, {r['fps']:.1f} whole job "
                      f"({r['frames']} frames, {r['transfer']})")
        else:
            result = f"{r['fps']:.1f} frames/s"
        size = f"{r.get('size', '')} {r.get('resolution', '')} r={r.get('ratio', '')}" if "ratio" in r else r.get("size", "")
        lines.append(f"| {r['kind']} | {size} | {r.get('mode', '')} | {result} | {r.get('gpu_utilisation', '')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
