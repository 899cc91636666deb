"""Warm-up study: how much do the first frames gain from ``--warmup N``?

    python bench/warmup_study.py make  WORK            # composites from ../shared/data (never commit them)
    python bench/warmup_study.py run   WORK --weights W.pth [--warmups 0,4,8,16]
    python bench/warmup_study.py table WORK [--json FILE]

``make`` builds composites at 512x288 from the foreground layers in
../shared/data/assets over other backgrounds (the dev02 background plate,
procedural noise fields and textures) with several motions, using the data
set's rule ``com = round(fgr * a + bgr * (1 - a))`` on 8-bit values. ``run``
mattes every clip once per warm-up value through the real engine (one model
load for all runs). ``table`` scores every run with ``rvmatte.evaluate``.
Everything is written under WORK; nothing derived from ../shared is committed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

SHARED = Path(os.environ.get("RVMATTE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data"
LAYERS = DATA / "assets" / "foreground_layers"
WIDTH, HEIGHT = 512, 288
FRAMES = 16            # made per composite (the warm-up may read up to 15 frames ahead)
SCORED = 10            # frames matted and scored per run: the warm-up matters at the start
MADE_RATIO = 0.5       # network at 256x144 for the made composites, to fit the shared 2-core CPU

# name: (foreground layer, background, motion, foreground height as a fraction of the frame)
CLIPS = {
    "bd6_office_sway": ("p_bd6af989", "office", "sway", 0.95),
    "514_noise_drift": ("p_514ca06a", "noise", "drift", 0.9),
    "bd6_texture_fast": ("p_bd6af989", "texture", "fast", 0.9),
    "514_office_enter": ("p_514ca06a", "office_mirror", "enter", 0.9),
    "bd6_warm_static": ("p_bd6af989", "warm", "static", 0.85),
    "514_texture_small": ("p_514ca06a", "texture2", "small", 0.95),
}
SHARED_CLIPS = {
    "dev01": (DATA / "synthetic" / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720", 0.375),
    "dev02": (DATA / "synthetic" / "dev02_p3m-514ca06a_on_bgm1-bg0002_512x288", 1.0),
}


def read(path: Path) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    pixels = buf.get_pixels(oiio.FLOAT)
    if pixels is None:
        raise SystemExit(f"cannot read {path}: {buf.geterror()}")
    return pixels


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], channels, oiio.UINT8)
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(pixels.reshape(pixels.shape[0], pixels.shape[1], channels)))
    out.close()


def smooth_field(rng: np.random.Generator, width: int, height: int, waves: int, scale: float) -> np.ndarray:
    """An RGB field made of random sinusoids (0..1)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    field = np.zeros((height, width, 3), np.float32)
    for _ in range(waves):
        angle = rng.uniform(0, math.pi)
        freq = rng.uniform(0.5, 1.5) * scale
        phase = rng.uniform(0, 2 * math.pi)
        wave = np.sin((x * math.cos(angle) + y * math.sin(angle)) * freq + phase)
        field += wave[:, :, None] * rng.uniform(-1, 1, 3).astype(np.float32)
    field -= field.min()
    return field / max(field.max(), 1e-6)


def backgrounds(kind: str, seed: int) -> list:
    """FRAMES background images (HxWx3, 0..1) for ``kind``, with a slow camera drift."""
    rng = np.random.default_rng(seed)
    if kind.startswith("office"):
        folder = SHARED_CLIPS["dev02"][0] / "bgr"
        frames = [read(folder / f"{i:04d}.png") for i in range(FRAMES)]
        return [f[:, ::-1] for f in frames] if kind.endswith("mirror") else frames
    big_w, big_h = WIDTH + 64, HEIGHT + 32
    if kind == "noise":
        base = smooth_field(rng, big_w, big_h, 6, 0.02)
    elif kind == "warm":       # skin-like hues: the hard case for a person matte
        field = smooth_field(rng, big_w, big_h, 5, 0.03).mean(axis=2, keepdims=True)
        base = np.concatenate([0.55 + 0.4 * field, 0.35 + 0.3 * field, 0.25 + 0.25 * field], axis=2)
    else:                      # busy texture: high-frequency stripes and blotches
        base = 0.6 * smooth_field(rng, big_w, big_h, 12, 0.25) + 0.4 * smooth_field(rng, big_w, big_h, 4, 0.04)
        if kind == "texture2":
            base = base[:, :, ::-1]
    out = []
    for i in range(FRAMES):
        dx, dy = int(round(2.0 * i)), int(round(0.7 * i))
        out.append(np.ascontiguousarray(base[dy:dy + HEIGHT, dx:dx + WIDTH]))
    return out


def place(layer: str, motion: str, fg_height: float, index: int):
    """The foreground colour and alpha of frame ``index``, on the canvas (8-bit quantised)."""
    fgr = oiio.ImageBuf(str(LAYERS / layer / "fgr.png"))
    pha = oiio.ImageBuf(str(LAYERS / layer / "pha.png"))
    spec = fgr.spec()
    scale = fg_height * HEIGHT / spec.height
    size = (max(1, round(spec.width * scale)), max(1, round(spec.height * scale)))
    roi = oiio.ROI(0, size[0], 0, size[1])
    fgr = oiio.ImageBufAlgo.resize(fgr, roi=roi)
    pha = oiio.ImageBufAlgo.resize(pha, roi=roi)
    t = index / max(FRAMES - 1, 1)
    x0 = (WIDTH - size[0]) / 2
    shift = {"sway": 40 * math.sin(2 * math.pi * t), "drift": 30 * t - 15, "fast": -120 + 240 * t,
             "enter": WIDTH * 0.45 * (1 - t) + 60, "static": 0.0, "small": 6 * math.sin(4 * math.pi * t)}[motion]
    tx = x0 + shift
    ty = HEIGHT - size[1] + (4 * math.sin(2 * math.pi * t) if motion != "static" else 0.0)
    angle = math.radians({"sway": 2.0, "fast": 1.0}.get(motion, 0.5) * math.sin(2 * math.pi * t))
    c, s = math.cos(angle), math.sin(angle)
    cx, cy = size[0] / 2, size[1]
    # Row-vector affine (OIIO's convention): rotate about the bottom centre, then translate.
    m = (c, s, 0.0, -s, c, 0.0, cx - c * cx + s * cy + tx, cy - s * cx - c * cy + ty, 1.0)
    canvas = oiio.ROI(0, WIDTH, 0, HEIGHT, 0, 1, 0, 3)
    fgr_w = oiio.ImageBufAlgo.warp(fgr, m, filtername="lanczos3", roi=canvas).get_pixels(oiio.FLOAT)
    canvas_a = oiio.ROI(0, WIDTH, 0, HEIGHT, 0, 1, 0, 1)
    pha_w = oiio.ImageBufAlgo.warp(pha, m, filtername="lanczos3", roi=canvas_a).get_pixels(oiio.FLOAT)[:, :, 0]
    pha_q = np.round(np.clip(pha_w, 0, 1) * 255)
    fgr_q = np.round(np.clip(fgr_w, 0, 1) * 255) * (pha_q[:, :, None] > 0)
    return fgr_q, pha_q


def make(work: Path) -> None:
    for seed, (name, (layer, bg_kind, motion, fg_height)) in enumerate(CLIPS.items()):
        bgs = backgrounds(bg_kind, seed)
        for i in range(FRAMES):
            fgr_q, pha_q = place(layer, motion, fg_height, i)
            bgr_q = np.round(np.clip(bgs[i], 0, 1) * 255)
            a = pha_q[:, :, None] / 255.0
            com = np.round(fgr_q * a + bgr_q * (1 - a))
            write_png(work / name / "com" / f"{i:04d}.png", com.astype(np.uint8))
            write_png(work / name / "pha" / f"{i:04d}.png", pha_q.astype(np.uint8))
        print(f"made {name}", file=sys.stderr)


def clips(work: Path) -> dict:
    """name → (composite folder, ground-truth alpha folder, downsample ratio)."""
    found = {name: (folder / "com", folder / "pha", ratio) for name, (folder, ratio) in SHARED_CLIPS.items()}
    for name in CLIPS:
        if (work / name / "com").is_dir():
            found[name] = (work / name / "com", work / name / "pha", MADE_RATIO)
    return found


def run(work: Path, weights: str, warmups: list, names: list) -> None:
    from rvmatte.engine import Job, RunOptions
    from rvmatte.weights import load_model

    model = load_model("mobilenetv3", weights, device="cpu")
    found = clips(work)
    for name in names or list(found):
        com, _, ratio = found[name]
        for warmup in warmups:
            out = work / "runs" / name / f"w{warmup}"
            if (out / f"pha.{SCORED - 1:04d}.exr").is_file():
                continue
            started = time.perf_counter()
            Job(RunOptions(input=str(com / "0000.png"), alpha=str(out / "pha.####.exr"),
                           frames=(0, SCORED - 1), downsample_ratio=ratio, warmup=warmup, model=model)).run()
            print(f"{name} warmup {warmup}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def table(work: Path, json_path: str | None, first: int, plot: str | None = None,
          plot_clips: list = ()) -> None:
    from rvmatte.evaluate import evaluate_sequences

    rows = []
    for name, (_, gt, _) in clips(work).items():
        runs = work / "runs" / name
        for folder in sorted(runs.glob("w*"), key=lambda p: int(p.name[1:])):
            if not (folder / f"pha.{SCORED - 1:04d}.exr").is_file():
                continue
            result = evaluate_sequences(str(folder / "pha.####.exr"), str(gt / "####.png"), first_frames=first,
                                        frames=range(SCORED))
            rows.append({"clip": name, "warmup": int(folder.name[1:]), "overall": result.overall,
                         "first": result.first, "per_frame": result.rows()})
    if json_path:
        Path(json_path).write_text(json.dumps(rows, indent=1))
    print(f"| clip | warm-up | MAD frame 0 | MAD first {first} | MAD all {SCORED} | MSE first {first} | "
          f"Grad first {first} | Conn first {first} | dtSSD all |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        o, f = r["overall"], r["first"]
        print(f"| {r['clip']} | {r['warmup']} | {r['per_frame'][0]['mad']:.2f} | {f['mad']:.2f} | {o['mad']:.2f} | "
              f"{f['mse']:.2f} | {f['grad']:.2f} | {f['conn']:.2f} | {o['dtssd']:.2f} |")
    print()
    print(f"| warm-up | clips | MAD first {first}: mean change vs 0 | helped / hurt (> 2 %) | "
          f"MAD all {SCORED}: mean change | dtSSD: mean change |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    base = {r["clip"]: r for r in rows if r["warmup"] == 0}
    for warmup in sorted({r["warmup"] for r in rows} - {0}):
        group = [r for r in rows if r["warmup"] == warmup and r["clip"] in base]
        first_change = [r["first"]["mad"] / base[r["clip"]]["first"]["mad"] - 1 for r in group]
        all_change = [r["overall"]["mad"] / base[r["clip"]]["overall"]["mad"] - 1 for r in group]
        dt_change = [r["overall"]["dtssd"] / base[r["clip"]]["overall"]["dtssd"] - 1 for r in group]
        helped = sum(c < -0.02 for c in first_change)
        hurt = sum(c > 0.02 for c in first_change)
        print(f"| {warmup} | {len(group)} | {100 * np.mean(first_change):+.1f} % | {helped} / {hurt} | "
              f"{100 * np.mean(all_change):+.1f} % | {100 * np.mean(dt_change):+.1f} % |")
    if plot:
        from rvmatte.evaluate import Evaluation

        curves = {}
        for clip in plot_clips:
            for r in rows:
                if r["clip"] == clip:
                    frames = [p["frame"] for p in r["per_frame"]]
                    per_frame = [{"mad": p["mad"]} for p in r["per_frame"]]
                    curves[f"{clip} w{r['warmup']}"] = (clip, Evaluation(frames, per_frame, 0))
        _plot_panels(curves, plot_clips, plot)


def _plot_panels(curves: dict, clip_names: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(clip_names), figsize=(4.2 * len(clip_names), 3.2), squeeze=False)
    for ax, clip in zip(axes[0], clip_names):
        for label, (owner, ev) in curves.items():
            if owner == clip:
                ax.plot(ev.frames, [row["mad"] for row in ev.per_frame], marker=".", label=label.split()[-1])
        ax.set_title(clip, fontsize=9)
        ax.set_xlabel("frame")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("MAD ×1e3")
    axes[0][-1].legend(title="warm-up", fontsize=8)
    fig.suptitle("Per-frame MAD by warm-up (development weights; see caveats)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("make", "run", "table"))
    parser.add_argument("work", type=Path)
    parser.add_argument("--weights", default=str(SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"))
    parser.add_argument("--warmups", default="0,4,8,16")
    parser.add_argument("--clips", default="", help="comma list of clip names (default: all)")
    parser.add_argument("--first", type=int, default=4, help="how many first frames to score separately")
    parser.add_argument("--json")
    parser.add_argument("--plot", help="table: per-frame MAD curves of --plot-clips as a PNG")
    parser.add_argument("--plot-clips", default="dev01,dev02,bd6_texture_fast")
    args = parser.parse_args()
    if args.action == "make":
        make(args.work)
    elif args.action == "run":
        run(args.work, args.weights, [int(w) for w in args.warmups.split(",")],
            [c for c in args.clips.split(",") if c])
    else:
        table(args.work, args.json, args.first, args.plot, [c for c in args.plot_clips.split(",") if c])


if __name__ == "__main__":
    main()
