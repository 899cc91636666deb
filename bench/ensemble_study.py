"""Ensemble study: which ``--ensemble`` streams make the matte better, and what they cost.

    python bench/ensemble_study.py WORK --weights W.pth [--frames 20] [--json FILE]

Composites with ground truth (as in ``bench/foreground_study.py``: two still foreground layers
of ../shared/data moved over other backgrounds, and the synthetic dev01/dev02 clips, all at
512x288) give MAD, MSE, Grad and dtSSD; the real clips (../shared/data/real_video, 640x360 and
360x640) give flicker (``rvmatte.evaluate.flicker``: mean |Δα| where the plate barely moved).
Every stream runs once per clip with its own recurrent state, exactly as the engine runs it
(``rvmatte.ensemble``: the mirror stream on the flipped plate, ``ratio:R`` at its ratio, the
reverse stream through ``ReverseWindow``'s blocks); the per-stream alphas are cached under
WORK and every combination is the per-pixel mean (or median) of its streams. The primary
stream runs at ratio 0.5 (the refiner at work, as on real plates). Times are wall seconds per
frame per stream on whatever CPU this runs on (noisy on a shared machine). Nothing derived
from ../shared is committed; everything is written under WORK.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "core"))
import foreground_study as fs  # noqa: E402  (composites with ground truth)
import warmup_study as ws  # noqa: E402

BASE_RATIO = 0.5
EXTRA = ("mirror", "reverse", "ratio:0.375", "ratio:0.75")
MADE = ("514_office_sway", "bd6_noise_drift", "bd6_texture_fast")
SYNTHETIC = ("dev01", "dev02")
REAL = {"person_short": ws.DATA / "real_video" / "rvmnuke_person_short_360x640" / "nuke_person_short.mp4",
        "juggle": ws.DATA / "real_video" / "sam2_juggle_1280x720" / "sam2_05_default_juggle.mp4"}
SIZE = (512, 288)


def _resized(path: Path, channels: int) -> np.ndarray:
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    roi = oiio.ROI(0, SIZE[0], 0, SIZE[1], 0, 1, 0, channels)
    return np.ascontiguousarray(oiio.ImageBufAlgo.resize(buf, roi=roi).get_pixels(oiio.FLOAT)[:, :, :channels])


def composite_clip(work: Path, name: str, frames: int):
    """(plates, true alphas) of a composite, sRGB-encoded plates in 0..1."""
    folder = fs.SHARED[name][0] if name in fs.SHARED else fs.make_clip(work, name, frames)
    plates = [_resized(folder / "com" / f"{i:04d}.png", 3) for i in range(frames)]
    truths = [_resized(folder / "pha" / f"{i:04d}.png", 1)[:, :, 0] for i in range(frames)]
    return plates, truths


def real_clip(path: Path, frames: int):
    from rvmatte.io.movies import MovieSource

    source = MovieSource(str(path))
    plates = []
    for plate in source.read(source.frames[:frames]):
        rgb = plate.rgb
        if rgb.shape[1] > 640:         # the juggle clip: halved to 640x360
            h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
            rgb = rgb[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
        plates.append(np.ascontiguousarray(rgb, np.float32))
    return plates, None


def run_streams(model, plates) -> tuple[dict, dict]:
    """{stream: [alpha per frame]} and {stream: seconds per frame} for the primary and every extra stream."""
    from rvmatte.ensemble import ReverseWindow
    from rvmatte.schedule import Step
    from rvmatte.session import Session

    alphas, seconds = {}, {}
    for stream in ("primary",) + EXTRA:
        started = time.perf_counter()
        if stream == "reverse":
            count = len(plates)
            window = ReverseWindow(model, downsample_ratio=BASE_RATIO, pixel_aspect=1.0, reach=lambda f: count - 1,
                                   chunk=1)
            items = ((Step(i, write=True), None, plates[i]) for i in range(count))
            out = [rev[0] for _, _, _, rev in window(items)]
        else:
            ratio = float(stream.split(":")[1]) if stream.startswith("ratio:") else BASE_RATIO
            session = Session(model, downsample_ratio=ratio)
            out = []
            for rgb in plates:
                if stream == "mirror":
                    out.append(np.ascontiguousarray(session.step(np.ascontiguousarray(rgb[:, ::-1]))[0][:, ::-1]))
                else:
                    out.append(session.step(rgb)[0])
        seconds[stream] = (time.perf_counter() - started) / len(plates)
        alphas[stream] = np.stack(out).astype(np.float32)
    return alphas, seconds


def combos():
    """Every subset of the extra streams with the primary; the median only for three or more; and
    each ``ratio:R`` stream alone (a plain run at that ratio: is the ensemble better than raising
    ``--downsample-ratio``?)."""
    out = [((s,), "alone") for s in EXTRA if s.startswith("ratio:")]
    for size in range(len(EXTRA) + 1):
        for extra in itertools.combinations(EXTRA, size):
            out.append((("primary",) + extra, "mean"))
            if size >= 2:
                out.append((("primary",) + extra, "median"))
    return out


def combined(alphas: dict, streams, how: str) -> np.ndarray:
    stack = np.stack([alphas[s] for s in streams])
    return np.median(stack, axis=0) if how == "median" else stack.mean(axis=0)


def score_truth(pred: np.ndarray, truths) -> dict:
    from rvmatte.evaluate import frame_metrics

    rows = [frame_metrics(pred[i], truths[i], pred[i - 1] if i else None, truths[i - 1] if i else None,
                          metrics=("mad", "mse", "grad", "dtssd")) for i in range(len(truths))]
    means = {k: float(np.mean([r[k] for r in rows])) for k in ("mad", "mse", "grad")}
    means["dtssd"] = float(np.mean([r["dtssd"] for r in rows[1:]]))      # the first frame has no previous one
    return means


def score_flicker(pred: np.ndarray, plates) -> float:
    from rvmatte.evaluate import flicker

    return float(np.mean([flicker(pred[i], pred[i - 1], plates[i], plates[i - 1])["flicker"]
                          for i in range(1, len(plates))]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--real-frames", type=int, default=40)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    import torch

    from rvmatte.weights import load_model

    torch.set_num_threads(1)
    work = Path(args.work)
    model = load_model("mobilenetv3", args.weights, device="cpu")
    clips = {}
    for name in MADE + SYNTHETIC:
        clips[name] = composite_clip(work, name, args.frames)
    for name, path in REAL.items():
        clips[name] = real_clip(path, args.real_frames)
    cost: dict = {}
    results: dict = {}
    for name, (plates, truths) in clips.items():
        cache = work / "streams" / f"{name}.npz"
        if cache.is_file():
            loaded = np.load(cache)
            alphas = {k: loaded[k] for k in loaded.files if not k.startswith("seconds_")}
            seconds = {k[len("seconds_"):]: float(loaded[k]) for k in loaded.files if k.startswith("seconds_")}
        else:
            alphas, seconds = run_streams(model, plates)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **alphas, **{f"seconds_{k}": v for k, v in seconds.items()})
        for stream, value in seconds.items():
            cost.setdefault(stream, []).append(value)
        print(f"{name}: " + ", ".join(f"{k} {v:.2f} s/frame" for k, v in seconds.items()), file=sys.stderr,
              flush=True)
        for streams, how in combos():
            label = "+".join(s for s in streams if s != "primary") or "single"
            label += " (median)" if how == "median" else ""
            label = f"{streams[0]} alone" if how == "alone" else label
            pred = combined(alphas, streams, how)
            row = results.setdefault(label, {"streams": len(streams)})
            if truths is not None:
                row[name] = score_truth(pred, truths)
            else:
                row[name] = {"flicker": score_flicker(pred, plates)}
    seconds = {k: float(np.median(v)) for k, v in cost.items()}
    truth_clips = MADE + SYNTHETIC
    print("| streams | MAD×1e3 | MSE×1e3 | Grad | dtSSD | MAD vs single | clips better (MAD) | "
          + " | ".join(f"flicker {n}" for n in REAL) + " | time vs single |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | " + " ---: |" * len(REAL) + " ---: |")
    single = results["single"]
    for label, row in results.items():
        means = {m: np.mean([row[c][m] for c in truth_clips]) for m in ("mad", "mse", "grad", "dtssd")}
        single_mad = np.mean([single[c]["mad"] for c in truth_clips])
        better = sum(row[c]["mad"] < single[c]["mad"] for c in truth_clips)
        names = [s for s in EXTRA if s in label.split(" ")[0].split("+")]
        names = names if label.endswith(" alone") else ["primary"] + names
        time_ratio = sum(seconds[s] for s in names) / seconds["primary"]
        print(f"| {label} | {means['mad']:.2f} | {means['mse']:.2f} | {means['grad']:.2f} | {means['dtssd']:.2f} | "
              f"{means['mad'] / single_mad:.3f} | {better}/{len(truth_clips)} | "
              + " | ".join(f"{row[n]['flicker']:.2f}" for n in REAL) + f" | {time_ratio:.2f}x |")
    print("\nseconds per frame per stream (median over clips): "
          + ", ".join(f"{k} {v:.3f}" for k, v in seconds.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "seconds": seconds}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
