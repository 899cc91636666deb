"""Speed and memory of rvmatte against the original RVM's figures on the same machine (issue 6).

    PYTHONPATH=core .venv/bin/python bench/speed.py            # everything, ~10-20 min on 2 busy cores
    PYTHONPATH=core .venv/bin/python bench/speed.py --only model,png --runs 3 --model-frames 100

Inputs are generated into a temporary folder from ../shared/data (never committed):
the 30 frames of a 1280x720 synthetic clip, upscaled to 1920x1080 (and 3840x2160),
as 8-bit PNG and as linear half-float EXR. Longer shots reuse those frames
back and forth through symlinks, so any length costs no disk.

Every job runs as its own process (``python -m rvmatte run ... --progress json``):
wall time includes interpreter start-up, imports and model loading; "start-up" is
the time from spawn to the ``start`` event; steady-state frames/s comes from the
``frame`` events after the first few; peak RSS is the child's ``ru_maxrss``
(``os.wait4``). Each figure is the median of ``--runs`` runs, with the range.

The original implementation cannot run here (GPL-3.0, not installed), so its
figures are the ones measured on this machine and quoted in the issue.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RVMATTE_SHARED", REPO.parent / "shared"))
CLIP = SHARED / "data" / "synthetic" / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720" / "com"
WEIGHTS = SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"

# The original RVM on this machine (2 cores, float32, same weights), from issue 6.
ORIGINAL = {"model_fps": 11.6, "png_wall_s": 14.1, "png_peak_gb": 1.14}

MODEL_CONFIGS = {
    # name (no commas): (fold BatchNorm, intra-op threads (0 = torch's default), the CLI's process
    # settings (passive OpenMP, allocator), precision, torch.compile (its build falls in the warm-up))
    "original's forward as loaded (torch default threads)": (False, 0, False, "float32", False),
    "rvmatte network folded (torch default threads)": (True, 0, False, "float32", False),
    "rvmatte CPU default": (True, None, True, "float32", False),
    "folded + 2 threads passive": (True, 2, True, "float32", False),
    "folded + bf16": (True, None, True, "bfloat16", False),
    "folded + compiled (torch default threads)": (True, 0, False, "float32", True),
    "folded + bf16 + compiled (torch default threads)": (True, 0, False, "bfloat16", True),
    "folded + bf16 + compiled (1 thread passive)": (True, None, True, "bfloat16", True),
}


# -- inputs ----------------------------------------------------------------------------------
def _upscaled_frames(width: int, height: int, limit: int = 0):
    import OpenImageIO as oiio

    for path in sorted(CLIP.glob("*.png"))[:limit or None]:
        buf = oiio.ImageBufAlgo.resample(oiio.ImageBuf(str(path)), interpolate=True,
                                         roi=oiio.ROI(0, width, 0, height, 0, 1, 0, 3))
        yield buf.get_pixels(oiio.FLOAT)


def make_inputs(root: Path, width: int, height: int, with_exr: bool) -> dict:
    """``{"png": pattern, "exr": pattern}``: 30 distinct frames each, extended by ``extend``."""
    import OpenImageIO as oiio

    from rvmatte.io.colour import srgb_decode

    folder = root / f"{width}x{height}"
    (folder / "distinct").mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(_upscaled_frames(width, height)):
        png = oiio.ImageSpec(width, height, 3, oiio.UINT8)
        png.attribute("png:compressionLevel", 1)
        _write(folder / "distinct" / f"plate.{i:04d}.png", png, rgb)
        if with_exr:
            exr = oiio.ImageSpec(width, height, 3, oiio.HALF)
            exr.attribute("compression", "zip")
            _write(folder / "distinct" / f"plate.{i:04d}.exr", exr, srgb_decode(rgb))
    return {"png": folder, "exr": folder, "distinct": len(list((folder / "distinct").glob("*.png")))}


def _write(path: Path, spec, pixels) -> None:
    import OpenImageIO as oiio

    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()


def shot(inputs: dict, ext: str, frames: int) -> str:
    """A ``frames``-long sequence of symlinks walking the distinct frames back and forth."""
    folder = inputs[ext] / f"{ext}{frames}"
    if not folder.is_dir():
        folder.mkdir()
        distinct = inputs["distinct"]
        for i in range(frames):
            lap, k = divmod(i, distinct)
            source = k if lap % 2 == 0 else distinct - 1 - k
            (folder / f"plate.{1001 + i:04d}.{ext}").symlink_to(inputs[ext] / "distinct" / f"plate.{source:04d}.{ext}")
    return str(folder / f"plate.####.{ext}")


# -- measurements ----------------------------------------------------------------------------
def run_job(args: list, env: dict, sample_at: tuple = ()) -> dict:
    """One ``rvmatte run`` process: wall, start-up, frame times, peak RSS (and VmHWM at given frames)."""
    command = [sys.executable, "-m", "rvmatte", "run", *args, "--progress", "json"]
    spawned = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    startup = None
    times = []
    hwm = {}
    for line in proc.stdout:
        event = json.loads(line)
        now = time.perf_counter() - spawned
        if event["event"] == "start":
            startup = now
        elif event["event"] == "frame":
            times.append(now)
            if event["done"] in sample_at:
                hwm[event["done"]] = _vm_hwm_mb(proc.pid)
        elif event["event"] == "error":
            raise RuntimeError(event["message"])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - spawned
    stderr = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"rvmatte exited {proc.returncode}: {stderr.strip()[-500:]}")
    return {"wall": wall, "startup": startup, "frame_times": times, "peak_mb": usage.ru_maxrss / 1024,
            "cpu": usage.ru_utime + usage.ru_stime, "hwm_mb": hwm}


def run_reference(frames_glob: str, out: Path, env: dict) -> dict:
    """One run of bench/original_pipeline.py (the original's loop re-created): wall, peak RSS, CPU."""
    command = [sys.executable, "-W", "ignore", str(REPO / "bench" / "original_pipeline.py"), frames_glob,
               str(out / "pha"), str(out / "fgr"), "--weights", str(WEIGHTS), "--downsample-ratio", "0.25"]
    spawned = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - spawned
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"original_pipeline.py failed: {proc.stderr.read().strip()[-500:]}")
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}


def _vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def steady_fps(times: list, skip: int = 5) -> float:
    """Frames/s between the ``skip``-th frame event and the last one."""
    if len(times) <= skip + 1:
        return float("nan")
    return (len(times) - 1 - skip) / (times[-1] - times[skip])


def model_worker(config: str, frames: int, warmup: int, width: int, height: int, ratio: float) -> None:
    """Runs in a child process: the network alone, state fed back; prints JSON frame times."""
    fold, threads, passive, precision, compiled = MODEL_CONFIGS[config]
    if passive:      # the command line's process settings (OpenMP wait policy, allocator)
        from rvmatte.tuning import prepare_process

        prepare_process()
    import torch

    from rvmatte.optimize import prepare_model
    from rvmatte.tuning import defaults_for
    from rvmatte.weights import load_model

    tuning = defaults_for("cpu", precision)
    if threads is None:
        torch.set_num_threads(tuning.threads)
    elif threads:
        torch.set_num_threads(threads)
    model = load_model("mobilenetv3", WEIGHTS, device="cpu", precision=precision)
    model = prepare_model(model, tuning, fold)
    if compiled:
        from rvmatte.optimize import CompiledNetwork

        model = CompiledNetwork(model, on_fallback=sys.exit)   # a silent eager run would mislabel the row
    dtype = next(model.parameters()).dtype
    clip = [torch.from_numpy(rgb).permute(2, 0, 1)[None].to(dtype) for rgb in _upscaled_frames(width, height, 8)]
    rec = [None] * 4
    times = []
    with torch.inference_mode():
        for i in range(warmup + frames):
            if i == warmup:
                cpu = time.process_time()
            start = time.perf_counter()
            fgr, pha, *rec = model(clip[i % len(clip)], *rec, downsample_ratio=ratio)
            times.append(time.perf_counter() - start)
    print(json.dumps({"times": times[warmup:], "threads": torch.get_num_threads(),
                      "cpu": time.process_time() - cpu}))


def measure_model(config: str, frames: int, runs: int, env: dict, size=(1920, 1080), ratio=0.25) -> dict:
    fps, cpu_fps = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--model-worker", config, "--model-frames", str(frames),
                              "--size", f"{size[0]}x{size[1]}", "--ratio", str(ratio)],
                             capture_output=True, text=True, env=env, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        fps.append(len(result["times"]) / sum(result["times"]))
        cpu_fps.append(len(result["times"]) * result["threads"] / result["cpu"])
    return {"fps": statistics.median(fps), "low": min(fps), "high": max(fps), "threads": result["threads"],
            "cpu_fps": statistics.median(cpu_fps)}


STAGE_NAMES = ("decode", "colour", "network", "encode", "write", "passes", "main", "threads")


def stage_job(args: list, env: dict) -> dict:
    """One ``rvmatte run`` in a child with its stages' CPU clocked (bench/stage_cpu.py)."""
    command = [sys.executable, str(REPO / "bench" / "stage_cpu.py"), "--", "run", *args, "--progress", "none"]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"stage_cpu.py exited {out.returncode}: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def stage_rows(job: str, runs: list) -> list:
    """One row per stage: median CPU seconds (user + sys) and its share of the job's CPU."""
    rows = [(f"{job}: CPU time by stage (in-process, wall {statistics.median(r['wall'] for r in runs):.2f} s)",
             fmt(median_of(runs, lambda r: r["cpu"]), " s"), "", "", "")]
    for name in STAGE_NAMES:
        total = median_of(runs, lambda r: sum(r["stages"][name]))
        system = statistics.median(r["stages"][name][1] for r in runs)
        share = total[0] / statistics.median(r["cpu"] for r in runs)
        detail = f" (sys {system:.2f})" if name != "threads" else ""
        rows.append((f"  {name}, CPU s", fmt(total, " s") + detail, "", f"{share:.0%}", ""))
    return rows


def median_of(results: list, key) -> tuple:
    values = [key(r) for r in results]
    return statistics.median(values), min(values), max(values)


# -- report ----------------------------------------------------------------------------------
def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    flags = open("/proc/cpuinfo").read()
    extras = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    import torch

    return (f"{model}, {os.cpu_count()} cores ({', '.join(extras) or 'no bf16'}), "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB; "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def fmt(value: tuple, unit: str = "", digits: int = 2) -> str:
    mid, low, high = value
    if low == high:
        return f"{mid:.{digits}f}{unit}"
    return f"{mid:.{digits}f}{unit} ({low:.{digits}f}-{high:.{digits}f})"


def _env_for(core: Path) -> dict:
    """The environment of a child process that imports rvmatte from ``core``."""
    return dict(os.environ, RVMATTE_WEIGHTS=str(WEIGHTS), PYTHONPATH=os.pathsep.join(
        [str(core)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def paired(job, runs: int, env: dict, base_env) -> tuple:
    """``runs`` results of ``job(env, i)`` and, with a baseline, as many baseline results, interleaved."""
    ours, base = [], []
    for i in range(runs):
        ours.append(job(env, i))
        if base_env is not None:
            base.append(job(base_env, i))
    return ours, base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="model,backends,png,exr,stages,steady,4k,4k-backends,flat",
                        help="comma list of: model, backends, png, exr, stages, steady, 4k, 4k-backends, flat")
    parser.add_argument("--4k-backends", dest="uhd_backends", default="openvino,onnxruntime",
                        help="backends of the 4K peak-RSS rows (4k-backends)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--model-frames", type=int, default=100, help="frames timed per model-only run")
    parser.add_argument("--steady-frames", type=int, default=120, help="frames of the steady-state job")
    parser.add_argument("--flat-frames", default="100,300", help="RSS compared at these frame counts")
    parser.add_argument("--model-configs", default=",".join(MODEL_CONFIGS), help="model-only configurations")
    parser.add_argument("--baseline-core", help="also run the whole-process jobs with rvmatte from this core/ "
                        "folder (e.g. an older commit), interleaved with ours, for a side-by-side ratio")
    parser.add_argument("--keep", help="generate inputs here and keep them (default: a temporary folder)")
    parser.add_argument("--job-frames", type=int, default=20, help="frames of the PNG and EXR jobs")
    parser.add_argument("--job-backends", default="openvino:bfloat16",
                        help="BACKEND[:PRECISION],... also run the PNG job with these (interleaved); '' for none")
    parser.add_argument("--backend-configs", help="backend rows (default: all of bench/backend_rows.py's)")
    parser.add_argument("--model-worker", help=argparse.SUPPRESS)
    parser.add_argument("--backend-worker", help=argparse.SUPPRESS)
    parser.add_argument("--alpha-out", help=argparse.SUPPRESS)
    parser.add_argument("--size", default="1920x1080", help=argparse.SUPPRESS)
    parser.add_argument("--ratio", type=float, default=0.25, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model_worker:
        width, height = map(int, args.size.split("x"))
        model_worker(args.model_worker, args.model_frames, 5, width, height, args.ratio)
        return 0
    if args.backend_worker:
        from backend_rows import backend_worker

        width, height = map(int, args.size.split("x"))
        backend_worker(args.backend_worker, args.model_frames, 3, width, height, args.ratio, args.alpha_out,
                       _upscaled_frames(width, height, 8))
        return 0

    wanted = set(args.only.split(","))
    env = _env_for(REPO / "core")
    base_env = _env_for(Path(args.baseline_core)) if args.baseline_core else None
    rows = []
    load = os.getloadavg()[0]
    started = time.perf_counter()

    if "model" in wanted:
        for config in args.model_configs.split(","):
            r = measure_model(config, args.model_frames, args.runs, env)
            rows.append((f"model only 1080p r=0.25, {config} ({r['threads']} thr), frames/s",
                         fmt((r["fps"], r["low"], r["high"])) + f" [CPU-time: {r['cpu_fps']:.2f}]",
                         f"{ORIGINAL['model_fps']}",
                         f"{r['fps'] / ORIGINAL['model_fps']:.2f}x", ">= 15 (1.3x)"))
            print(rows[-1], flush=True)

    if "backends" in wanted:
        from backend_rows import BACKEND_CONFIGS, measure_backends

        configs = args.backend_configs.split(",") if args.backend_configs else list(BACKEND_CONFIGS)
        rows += measure_backends(__file__, configs, args.model_frames, args.runs, env, ORIGINAL["model_fps"])

    ref_wall = None
    with tempfile.TemporaryDirectory(prefix="rvmatte-bench-", dir=args.keep) as tmp:
        root = Path(tmp)
        out = root / "out"
        if wanted & {"png", "exr", "stages", "steady", "flat"}:
            hd = make_inputs(root, 1920, 1080, with_exr=bool(wanted & {"exr", "stages"}))
        if "png" in wanted:
            mark = len(rows)
            src = shot(hd, "png", args.job_frames)
            results, base, reference = [], [], []
            backend_flags = [["--backend", b.split(":")[0], "--precision", (b.split(":") + ["float32"])[1]]
                             for b in args.job_backends.split(",") if b]
            backend_runs = [[] for _ in backend_flags]
            for i in range(args.runs):      # interleaved, so a change in the machine's load hits every column
                reference.append(run_reference(src.replace("####", "*"), out / f"ref{i}", env))
                results.append(run_job([src, "--alpha", str(out / f"png{i}" / "a.####.png"), "--foreground",
                                        str(out / f"png{i}" / "f.####.png"), "--downsample-ratio", "0.25"], env))
                for k, flags in enumerate(backend_flags):
                    backend_runs[k].append(run_job([src, "--alpha", str(out / f"png{i}-{k}" / "a.####.png"),
                                                    "--foreground", str(out / f"png{i}-{k}" / "f.####.png"),
                                                    "--downsample-ratio", "0.25", *flags], env))
                if base_env is not None:
                    base.append(run_job([src, "--alpha", str(out / f"base{i}" / "a.####.png"), "--foreground",
                                         str(out / f"base{i}" / "f.####.png"), "--downsample-ratio", "0.25"], base_env))
            wall = median_of(results, lambda r: r["wall"])
            ref_wall = median_of(reference, lambda r: r["wall"])
            rows.append((f"PNG job: {args.job_frames} frames 1080p PNG -> alpha + fg PNG, wall s", fmt(wall, " s"),
                         f"{ORIGINAL['png_wall_s']} s", f"{ORIGINAL['png_wall_s'] / wall[0]:.2f}x faster", ">= 3x"))
            rows.append(("  same job, original's loop re-created here (original_pipeline.py), wall s",
                         fmt(ref_wall, " s"), "", f"{ref_wall[0] / wall[0]:.2f}x faster", ">= 3x"))
            rows.append(("  same job, original's loop re-created here, peak RSS / CPU time",
                         fmt(median_of(reference, lambda r: r["peak_mb"] / 1024), " GB") + " / "
                         + fmt(median_of(reference, lambda r: r["cpu"]), " s"), "", "", ""))
            if base:
                rows.append(("  same job, baseline core, wall s", fmt(median_of(base, lambda r: r["wall"]), " s"),
                             "", f"{median_of(base, lambda r: r['wall'])[0] / wall[0]:.2f}x faster", ""))
                rows.append(("  same job, baseline core, peak RSS", fmt(median_of(
                    base, lambda r: r["peak_mb"] / 1024), " GB"), "", "", ""))
                rows.append(("  same job, baseline core, CPU time", fmt(median_of(base, lambda r: r["cpu"]), " s"),
                             "", "", ""))
            for flags, runs in zip(backend_flags, backend_runs):
                backend_wall = median_of(runs, lambda r: r["wall"])
                rows.append((f"  same job, {' '.join(flags)}, wall s / CPU s / peak RSS",
                             fmt(backend_wall, " s") + " / " + fmt(median_of(runs, lambda r: r["cpu"]), " s") + " / "
                             + fmt(median_of(runs, lambda r: r["peak_mb"] / 1024), " GB"), "",
                             f"{ref_wall[0] / backend_wall[0]:.2f}x faster than the original's loop", ">= 3.5x"))
            rows.append(("PNG job: start-up (spawn -> start event)", fmt(median_of(results, lambda r: r["startup"]), " s"),
                         "", "", ""))
            rows.append(("PNG job: frames/s after start-up", fmt(median_of(
                results, lambda r: args.job_frames / (r["wall"] - r["startup"]))), "", "", ""))
            peak = median_of(results, lambda r: r["peak_mb"] / 1024)
            rows.append(("PNG job: peak RSS", fmt(peak, " GB"), f"{ORIGINAL['png_peak_gb']} GB",
                         f"{peak[0] / ORIGINAL['png_peak_gb']:.2f}x", "< original"))
            rows.append(("PNG job: CPU time (user+sys)", fmt(median_of(results, lambda r: r["cpu"]), " s"), "", "", ""))
            for row in rows[mark:]:
                print(row, flush=True)
        if "exr" in wanted:
            mark = len(rows)
            src = shot(hd, "exr", args.job_frames)
            results, base = paired(lambda e, i: run_job(
                [src, "-o", str(out / f"exr{i}-{id(e)}"), "--downsample-ratio", "0.25"], e), args.runs, env, base_env)
            wall = median_of(results, lambda r: r["wall"])
            rows.append((f"EXR job: {args.job_frames} frames 1080p linear EXR -> alpha + premult fg EXR, wall s", fmt(wall, " s"),
                         f"({ORIGINAL['png_wall_s']} s PNG job)", f"{ORIGINAL['png_wall_s'] / wall[0]:.2f}x",
                         "<= PNG job"))
            if ref_wall:
                rows.append(("  against the PNG job of the original's loop re-created here", "", "",
                             f"{ref_wall[0] / wall[0]:.2f}x faster", ">= 1x"))
            rows.append(("EXR job: start-up", fmt(median_of(results, lambda r: r["startup"]), " s"), "", "", ""))
            rows.append(("EXR job: peak RSS", fmt(median_of(results, lambda r: r["peak_mb"] / 1024), " GB"),
                         "", "", "< 1.14 GB"))
            rows.append(("EXR job: CPU time (user+sys)", fmt(median_of(results, lambda r: r["cpu"]), " s"), "", "", ""))
            if base:
                rows.append(("  same job, baseline core, wall s", fmt(median_of(base, lambda r: r["wall"]), " s"),
                             "", f"{median_of(base, lambda r: r['wall'])[0] / wall[0]:.2f}x faster", ""))
                rows.append(("  same job, baseline core, peak RSS / CPU time", fmt(median_of(
                    base, lambda r: r["peak_mb"] / 1024), " GB") + " / " + fmt(median_of(
                    base, lambda r: r["cpu"]), " s"), "", "", ""))
            for row in rows[mark:]:
                print(row, flush=True)
        if "stages" in wanted:
            for ext, extra in (("png", ["--alpha", "{o}/a.####.png", "--foreground", "{o}/f.####.png"]),
                               ("exr", ["-o", "{o}"])):
                src = shot(hd, ext, args.job_frames)
                runs = [stage_job([src, "--downsample-ratio", "0.25",
                                   *[a.format(o=out / f"stages-{ext}{i}") for a in extra]], env)
                        for i in range(args.runs)]
                rows += stage_rows(f"{ext.upper()} job ({args.job_frames} frames 1080p)", runs)
                for row in rows[-len(STAGE_NAMES) - 1:]:
                    print(row, flush=True)
        if "steady" in wanted:
            for ext, extra in (("png", ["--alpha", "{o}/a.####.png", "--foreground", "{o}/f.####.png"]),
                               ("exr", ["-o", "{o}"])):
                if ext == "exr" and "exr" not in wanted:
                    continue
                src = shot(hd, ext, args.steady_frames)
                o = out / f"steady-{ext}"
                r = run_job([src, "--downsample-ratio", "0.25", *[a.format(o=o) for a in extra]], env)
                rows.append((f"{ext.upper()} job: steady state over {args.steady_frames} frames, frames/s",
                             f"{steady_fps(r['frame_times'], 10):.2f}", f"~{20 / ORIGINAL['png_wall_s']:.1f} (whole job)",
                             "", ""))
                print(rows[-1], flush=True)
        if "flat" in wanted:
            counts = tuple(int(c) for c in args.flat_frames.split(","))
            src = shot(hd, "png", max(counts))
            r = run_job([src, "-o", str(out / "flat"), "--no-foreground", "--downsample-ratio", "0.25"], env,
                        sample_at=counts)
            hwm = r["hwm_mb"]
            rows.append((f"peak RSS after {' / '.join(map(str, counts))} frames (1080p PNG -> alpha EXR)",
                         " / ".join(f"{hwm.get(c, float('nan')) / 1024:.2f}" for c in counts) + " GB", "", "",
                         "flat"))
            print(rows[-1], flush=True)
        if "4k" in wanted:
            uhd = make_inputs(root, 3840, 2160, with_exr=False)
            src = shot(uhd, "png", 10)
            results = [run_job([src, "-o", str(out / "4k"), "--downsample-ratio", "0.125"], env)
                       for _ in range(max(1, args.runs // 2))]
            peak = median_of(results, lambda r: r["peak_mb"] / 1024)
            rows.append(("4K (3840x2160, r=0.125) 10 frames PNG -> EXR: peak RSS", fmt(peak, " GB"), "", "", "< 3 GB"))
            rows.append(("4K: frames/s after start-up", fmt(median_of(
                results, lambda r: 10 / (r["wall"] - r["startup"]))), "", "", ""))
            for row in rows[-2:]:
                print(row, flush=True)
        if "4k-backends" in wanted:
            uhd = make_inputs(root, 3840, 2160, with_exr=False)
            src = shot(uhd, "png", 10)
            for backend in args.uhd_backends.split(","):
                with tempfile.TemporaryDirectory(prefix="rvmatte-bench-cache-") as cache:
                    backend_env = dict(env, RVMATTE_CACHE_DIR=cache)
                    first = run_job([src, "-o", str(out / f"4k-{backend}"), "--downsample-ratio", "0.125",
                                     "--backend", backend], backend_env)
                    again = run_job([src, "-o", str(out / f"4k-{backend}"), "--downsample-ratio", "0.125",
                                     "--backend", backend], backend_env)
                rows.append((f"4K (3840x2160, r=0.125) 10 frames PNG -> EXR, --backend {backend}: peak RSS, "
                             "first run (export) / cached", f"{first['peak_mb'] / 1024:.2f} / "
                             f"{again['peak_mb'] / 1024:.2f} GB", "", "", "< 3 GB"))
                rows.append((f"4K --backend {backend}: frames/s after start-up (cached)",
                             f"{10 / (again['wall'] - again['startup']):.2f}", "", "", ""))
                for row in rows[-2:]:
                    print(row, flush=True)

    print()
    print(f"machine: {machine()}")
    print(f"load average: {load:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores); "
          f"{args.runs} runs each, median (min-max); {time.perf_counter() - started:.0f} s")
    print("original: the issue's figures for the original RVM (quoted; it is not installed here); "
          "'re-created here': bench/original_pipeline.py, run interleaved with rvmatte")
    print()
    header = ("measurement", "rvmatte", "original", "ratio", "target")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
