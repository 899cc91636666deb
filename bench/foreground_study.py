"""Foreground study: ``--foreground-source plate`` vs ``model`` vs ``edge`` against ground truth.

    python bench/foreground_study.py WORK --weights W.pth [--frames 10] [--json FILE]

Composites with exact ground-truth foreground: the two foreground layers of
../shared/data/assets over other backgrounds (the dev02 background plate mirrored, a
juggle frame panned, procedural fields), built at 512x288 with the data set's rule
``com = round(fgr * a + bgr * (1 - a))`` on 8-bit values (``bench/warmup_study.py``'s
placement), plus the two synthetic clips (their fgr/ and pha/ are the truth). The network
runs once per clip (outputs cached under WORK); every source is then computed with the
engine's own ``Job.foreground_linear``, and the band sweep with ``rvmatte.foreground``.

Per region of the TRUE alpha (solid: alpha = 1; soft: 0 < alpha < 1), in linear light:
``fg``: mean |F·α̂ − F_true·α_true| (the premultiplied foreground pass);
``exact``: share of solid pixels whose colour equals the plate's bit for bit;
``comp``: mean |F·α̂ + B·(1 − α̂) − (F_true·α_true + B·(1 − α_true))| over a NEW background B.
The band is chosen on the TUNE clips and reported on the REPORT clips. Nothing derived
from ../shared is committed; everything is written under WORK.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import warmup_study as ws  # noqa: E402  (composite placement and backgrounds)

# name: (foreground layer, background kind, motion, foreground height)
MADE = {
    "514_office_sway": ("p_514ca06a", "office_mirror", "sway", 0.9),
    "bd6_noise_drift": ("p_bd6af989", "noise", "drift", 0.95),
    "514_juggle_pan": ("p_514ca06a", "juggle", "drift", 0.85),
    "bd6_texture_fast": ("p_bd6af989", "texture", "fast", 0.9),
    "bd6_warm_static": ("p_bd6af989", "warm", "static", 0.85),
}
TUNE = ("514_office_sway", "bd6_noise_drift", "dev02")
REPORT = ("514_juggle_pan", "bd6_texture_fast", "bd6_warm_static", "dev01")
SHARED = {"dev01": (ws.DATA / "synthetic" / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720", 0.375),
          "dev02": (ws.DATA / "synthetic" / "dev02_p3m-514ca06a_on_bgm1-bg0002_512x288", 1.0)}
LOWS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9)
HIGHS = (0.9, 0.95, 0.98, 0.99, 0.995)
INTERIOR = (4, 8)      # distance variant: also the plate deeper than R px inside alpha >= 0.5 (band 0.5-0.95)


def erode(mask: np.ndarray, steps: int) -> np.ndarray:
    """``mask`` shrunk by ``steps`` pixels (4-neighbour erosion): pixels at least that far inside."""
    for _ in range(steps):
        p = np.pad(mask, 1, constant_values=False)
        mask = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask


def inpainted_background(plate_lin: np.ndarray, pha: np.ndarray, below: float = 0.1) -> np.ndarray:
    """The old background behind the subject, guessed from the plate where alpha < ``below``:
    normalised Gaussian blurs (sigma 3, 8, 24, 64 px), each pixel from the smallest that has
    enough support (weight > 0.15), else the mean background colour."""
    import cv2

    known = (pha < below).astype(np.float32)
    out = np.zeros_like(plate_lin)
    filled = np.zeros(pha.shape, bool)
    for sigma in (3, 8, 24, 64):
        weight = cv2.GaussianBlur(known, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        total = cv2.GaussianBlur(plate_lin * known[:, :, None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        take = ~filled & (weight > 0.15)
        out[take] = (total / np.maximum(weight, 1e-6)[:, :, None])[take]
        filled |= take
    out[~filled] = (plate_lin * known[:, :, None]).sum(axis=(0, 1)) / max(float(known.sum()), 1.0)
    return out


def unmixed(plate_lin: np.ndarray, model: np.ndarray, pha: np.ndarray) -> np.ndarray:
    """Research variant (not a source of the product): in the band, the mean of the model's colour
    and the plate unmixed from the inpainted background, (I - (1 - a) B) / a; the plate where solid."""
    from rvmatte.foreground import edge_weight

    background = inpainted_background(plate_lin, pha)
    colour = np.maximum(plate_lin - (1 - pha[:, :, None]) * background, 0) / np.maximum(pha, 1e-3)[:, :, None]
    weight = edge_weight(pha)[:, :, None]
    mixed = plate_lin + weight * (0.5 * (model + colour) - plate_lin)
    return np.where(weight > 0, mixed, plate_lin).astype(np.float32)


def juggle_backgrounds(count: int) -> list:
    """A real frame (sam2 juggle, 1280x720 → 576x324), panned across the 512x288 canvas."""
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(ws.DATA / "real_video" / "sam2_juggle_1280x720" / "frames" / "0000.png"))
    small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, 576, 0, 324, 0, 1, 0, 3)).get_pixels(oiio.FLOAT)
    return [np.ascontiguousarray(small[2 * i:2 * i + ws.HEIGHT, 6 * i:6 * i + ws.WIDTH]) for i in range(count)]


def make_clip(work: Path, name: str, frames: int) -> Path:
    layer, kind, motion, height = MADE[name]
    folder = work / name
    if (folder / "pha" / f"{frames - 1:04d}.png").is_file():
        return folder
    bgs = juggle_backgrounds(frames) if kind == "juggle" else ws.backgrounds(kind, zlib.crc32(name.encode()) % 1000)
    for i in range(frames):
        fgr_q, pha_q = ws.place(layer, motion, height, i)
        bgr_q = np.round(np.clip(bgs[i], 0, 1) * 255)
        a = pha_q[:, :, None] / 255.0
        com = np.round(fgr_q * a + bgr_q * (1 - a))
        ws.write_png(folder / "com" / f"{i:04d}.png", com.astype(np.uint8))
        ws.write_png(folder / "fgr" / f"{i:04d}.png", fgr_q.astype(np.uint8))
        ws.write_png(folder / "pha" / f"{i:04d}.png", pha_q.astype(np.uint8))
    return folder


def infer(work: Path, name: str, folder: Path, ratio: float, frames: int, model) -> Path:
    """The network's alpha and foreground for the first ``frames`` frames (cached .npz)."""
    from rvmatte.session import Session

    cache = work / "net" / f"{name}.npz"
    if cache.is_file():
        return cache
    session = Session(model, downsample_ratio=ratio)
    phas, fgrs = [], []
    for i in range(frames):
        pha, fgr = session.step(ws.read(folder / "com" / f"{i:04d}.png")[:, :, :3])
        phas.append(pha.astype(np.float32))
        fgrs.append(fgr.astype(np.float32))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, pha=np.stack(phas), fgr=np.stack(fgrs))
    return cache


def new_background(shape) -> np.ndarray:
    """The NEW background the composites are judged over: saturated colours, scene-linear 0..1."""
    rng = np.random.default_rng(1234)
    field = ws.smooth_field(rng, shape[1], shape[0], 5, 0.02)
    from rvmatte.io.colour import srgb_decode

    return srgb_decode(field.astype(np.float32))


def score(work: Path, name: str, folder: Path, cache: Path, frames: int, bands) -> dict:
    """Per source (plate, model, and edge for each band), summed errors and counts over the frames."""
    from rvmatte.engine import Job, RunOptions
    from rvmatte.foreground import blend_edge
    from rvmatte.io.colour import srgb_decode

    net = np.load(cache)
    jobs = {s: Job(RunOptions(input=str(folder / "com" / "0000.png"), alpha=str(work / "unused.####.exr"),
                              foreground_source=s)) for s in ("plate", "model", "edge")}
    sums: dict = {}
    for i in range(frames):
        plate = ws.read(folder / "com" / f"{i:04d}.png")[:, :, :3]
        true_a = ws.read(folder / "pha" / f"{i:04d}.png")[:, :, 0]
        true_f = srgb_decode(ws.read(folder / "fgr" / f"{i:04d}.png")[:, :, :3]) * true_a[:, :, None]
        pha, fgr = net["pha"][i], net["fgr"][i]
        bg = new_background(plate.shape)
        true_comp = true_f + bg * (1 - true_a[:, :, None])
        plate_lin = jobs["plate"].foreground_linear(plate, plate, fgr, pha)
        outputs = {s: jobs[s].foreground_linear(plate, plate, fgr, pha) for s in ("plate", "model", "edge")}
        for low, high in bands:
            outputs[f"edge {low:g}-{high:g}"] = blend_edge(plate_lin.copy(), outputs["model"].copy(), pha, low, high)
        # The rule with perfect knowledge of where the subject is solid (the TRUE alpha):
        # the plate there, the model's colour everywhere else. No real source can know this.
        oracle = outputs["model"].copy()
        oracle[true_a == 1.0] = plate_lin[true_a == 1.0]
        outputs["oracle"] = oracle
        outputs["unmix"] = unmixed(plate_lin, outputs["model"], pha)
        for steps in INTERIOR:      # the same band, with alpha forced to 1 deep inside the subject
            band = np.where(erode(pha >= 0.5, steps), np.float32(1.0), pha)
            outputs[f"interior {steps}"] = blend_edge(plate_lin.copy(), outputs["model"].copy(), band, 0.5, 0.95)
        regions = {"solid": true_a == 1.0, "soft": (true_a > 0) & (true_a < 1)}
        for source, colour in outputs.items():
            pre = colour * pha[:, :, None]
            comp = pre + bg * (1 - pha[:, :, None])
            same = (colour == plate_lin).all(axis=2)
            s = sums.setdefault(source, {})
            for region, mask in regions.items():
                s[f"{region}_n"] = s.get(f"{region}_n", 0) + int(mask.sum())
                s[f"{region}_fg"] = s.get(f"{region}_fg", 0.0) + float(np.abs(pre - true_f)[mask].mean(axis=1).sum())
                s[f"{region}_comp"] = s.get(f"{region}_comp", 0.0) + float(np.abs(comp - true_comp)[mask].mean(axis=1).sum())
            s["exact"] = s.get("exact", 0) + int(same[regions["solid"]].sum())
    out = {}
    for source, s in sums.items():
        out[source] = {"solid_fg": s["solid_fg"] / s["solid_n"], "soft_fg": s["soft_fg"] / s["soft_n"],
                       "solid_comp": s["solid_comp"] / s["solid_n"], "soft_comp": s["soft_comp"] / s["soft_n"],
                       "exact": s["exact"] / s["solid_n"]}
    return out


METRICS = ("solid_fg", "soft_fg", "solid_comp", "soft_comp")


def worst_ratio(result: dict, source: str) -> float:
    """The largest (source error / best of plate and model) over the four region metrics."""
    return max(result[source][m] / max(min(result["plate"][m], result["model"][m]), 1e-12) for m in METRICS)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    from rvmatte.weights import load_model

    work = Path(args.work)
    model = load_model("mobilenetv3", args.weights, device="cpu")
    bands = [(lo, hi) for lo in LOWS for hi in HIGHS if lo < hi]
    results = {}
    for name in TUNE + REPORT:
        started = time.perf_counter()
        if name in SHARED:
            folder, ratio = SHARED[name]
        else:
            folder, ratio = make_clip(work, name, args.frames), 1.0
        cache = infer(work, name, folder, ratio, args.frames, model)
        results[name] = score(work, name, folder, cache, args.frames, bands)
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    # Choose the band on the tune clips: exact share >= 99 %, then the smallest worst ratio.
    ok = [b for b in bands if all(results[n][f"edge {b[0]:g}-{b[1]:g}"]["exact"] >= 0.99 for n in TUNE)]
    best = min(ok, key=lambda b: max(worst_ratio(results[n], f"edge {b[0]:g}-{b[1]:g}") for n in TUNE))
    print(f"band chosen on {', '.join(TUNE)}: low {best[0]:g}, high {best[1]:g}")
    print("\n| band | " + " | ".join(f"worst ratio {n}" for n in TUNE) + " | min exact |")
    print("| --- |" + " ---: |" * (len(TUNE) + 1))
    for b in bands:
        key = f"edge {b[0]:g}-{b[1]:g}"
        print(f"| {b[0]:g}–{b[1]:g} | " + " | ".join(f"{worst_ratio(results[n], key):.3f}" for n in TUNE)
              + f" | {min(results[n][key]['exact'] for n in TUNE) * 100:.1f} % |")
    print("\n| clip | " + " | ".join(f"worst / exact, edge{'' if s is None else f' + interior {s} px'}"
                                    for s in (None,) + INTERIOR) + " |")
    print("| --- |" + " ---: |" * (1 + len(INTERIOR)))
    for name in TUNE + REPORT:
        cells = [f"{worst_ratio(results[name], k):.3f} / {results[name][k]['exact'] * 100:.1f} %"
                 for k in ["edge 0.5-0.95"] + [f"interior {s}" for s in INTERIOR]]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| clip | worst ratio, edge | oracle (plate where the TRUE alpha is 1, model elsewhere) "
          "| unmix (research: model and unmixed plate averaged in the band) | exact, unmix |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in TUNE + REPORT:
        print(f"| {name} | {worst_ratio(results[name], 'edge'):.3f} | {worst_ratio(results[name], 'oracle'):.3f} | "
              f"{worst_ratio(results[name], 'unmix'):.3f} | {results[name]['unmix']['exact'] * 100:.1f} % |")
    print("\n| clip | set | source | fg solid | fg soft | exact solid | comp solid | comp soft | worst ratio |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    chosen = f"edge {best[0]:g}-{best[1]:g}"
    for name in TUNE + REPORT:
        for source in ("plate", "model", "edge", chosen):
            if source == chosen and chosen.replace(" ", "") == "edge":
                continue
            r = results[name][source]
            ratio = worst_ratio(results[name], source)
            print(f"| {name} | {'tune' if name in TUNE else 'report'} | {source} | {r['solid_fg'] * 1e3:.2f} | "
                  f"{r['soft_fg'] * 1e3:.2f} | {r['exact'] * 100:.1f} % | {r['solid_comp'] * 1e3:.2f} | "
                  f"{r['soft_comp'] * 1e3:.2f} | {ratio:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"best": best, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
