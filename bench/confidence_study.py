"""Confidence study: does ``--confidence`` find the wrong pixels and rank the bad frames?

    python bench/confidence_study.py WORK --weights W.pth [--json FILE]

Composites with ground truth and **planted per-frame failures** (512x288, 16 frames; the
foreground layers of ../shared/data over the backgrounds of ``bench/warmup_study.py``):

* ``occluder``: a textured pole passes in front of the person in frames 5-10 (the truth is
  the person's alpha times what the pole leaves visible);
* ``blur``: frames 6-11 are motion-blurred (a 25 px horizontal box on the premultiplied
  layer; the truth is blurred alike);
* ``second``: a second figure enters from the right from frame 8 (the truth holds both).

Plus the clean composites of ``bench/ensemble_study.py`` (read from its cache in the same WORK
when present). For each stream set, the engine's own ``rvmatte.confidence.uncertainty`` is
computed from the streams' alphas, and compared with the trivial prior ``4α(1−α)``:

* pixel AUC: how well the score separates wrong pixels (|α − α_true| > 0.1) from right ones;
* frame Spearman: how well the frame's QC score ranks frames by their true MAD, against the
  share of soft pixels (0.05 < α < 0.95).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "core"))
import ensemble_study as es  # noqa: E402
import warmup_study as ws  # noqa: E402

FRAMES = ws.FRAMES
SETS = {"single": ("primary",), "mirror": ("primary", "mirror"), "reverse": ("primary", "reverse"),
        "mirror+reverse": ("primary", "mirror", "reverse"),
        "all": ("primary", "mirror", "reverse", "ratio:0.375", "ratio:0.75")}
FORWARD = ("primary", "mirror", "ratio:0.375", "ratio:0.75")
WRONG = 0.1


def _box_blur_x(image: np.ndarray, width: int) -> np.ndarray:
    pad = width // 2
    padded = np.pad(image, [(0, 0), (pad, pad)] + [(0, 0)] * (image.ndim - 2), mode="edge")
    cumulative = np.cumsum(padded, axis=1, dtype=np.float64)
    cumulative = np.concatenate([np.zeros_like(cumulative[:, :1]), cumulative], axis=1)
    return ((cumulative[:, width:] - cumulative[:, :-width]) / width).astype(np.float32)


def _shifted(image: np.ndarray, dx: int) -> np.ndarray:
    out = np.zeros_like(image)
    if dx >= image.shape[1]:
        return out
    if dx >= 0:
        out[:, dx:] = image[:, :image.shape[1] - dx]
    else:
        out[:, :dx] = image[:, -dx:]
    return out


def planted(kind: str):
    """(plates sRGB 0..1, true alphas, frames with the planted failure)."""
    rng = np.random.default_rng(5)
    plates, truths = [], []
    if kind == "occluder":
        bgs, failing = ws.backgrounds("noise", 11), set(range(5, 11))
        pole = ws.smooth_field(rng, 48, ws.HEIGHT, 8, 0.3)
    elif kind == "blur":
        bgs, failing = ws.backgrounds("texture", 12), set(range(6, 12))
    else:
        bgs, failing = ws.backgrounds("office", 13), set(range(8, FRAMES))
    for i in range(FRAMES):
        if kind == "second":
            fgr, pha = ws.place("p_bd6af989", "static", 0.85, i)
            fgr, pha = _shifted(fgr, -110), _shifted(pha, -110)
        else:
            fgr, pha = ws.place("p_514ca06a" if kind == "occluder" else "p_bd6af989",
                                "sway" if kind == "occluder" else "drift", 0.9, i)
        colour, alpha = fgr / 255.0, pha / 255.0
        premult = colour * alpha[:, :, None]
        if kind == "blur" and i in failing:
            premult, alpha = _box_blur_x(premult, 25), _box_blur_x(alpha, 25)
        if kind == "second" and i in failing:
            f2, p2 = ws.place("p_514ca06a", "static", 0.8, i)
            dx = ws.WIDTH - 40 * (i - 7) - 60
            c2, a2 = _shifted(f2 / 255.0, dx), _shifted(p2 / 255.0, dx)
            premult = c2 * a2[:, :, None] + premult * (1 - a2[:, :, None])
            alpha = a2 + alpha * (1 - a2)
        bg = np.clip(bgs[i], 0, 1)
        com = premult + bg * (1 - alpha[:, :, None])
        if kind == "occluder" and i in failing:
            x = 40 + (i - 5) * 70
            occ = np.zeros(alpha.shape, np.float32)
            occ[:, x:x + 48] = 1.0
            pole_canvas = np.zeros_like(com)
            pole_canvas[:, x:x + 48] = pole[:, :min(48, ws.WIDTH - x)]
            com = pole_canvas * occ[:, :, None] + com * (1 - occ[:, :, None])
            alpha = alpha * (1 - occ)
        plates.append(np.ascontiguousarray(np.round(np.clip(com, 0, 1) * 255) / 255, np.float32))
        truths.append(alpha.astype(np.float32))
    return plates, truths, failing


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), from the score histogram."""
    values, inverse = np.unique(scores, return_inverse=True)
    pos = np.bincount(inverse, weights=positive.astype(np.float64), minlength=len(values))
    neg = np.bincount(inverse, weights=(~positive).astype(np.float64), minlength=len(values))
    if pos.sum() == 0 or neg.sum() == 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (pos.sum() * neg.sum()))


def _ranks(values) -> np.ndarray:
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    for value in np.unique(values):          # ties: their mean rank
        same = values == value
        ranks[same] = ranks[same].mean()
    return ranks


def spearman(a, b) -> float:
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def evaluate(alphas: dict, plates, truths):
    """Per stream set: the measures of one clip, and its pixels (uncertainty, prior, wrong) for pooling."""
    from rvmatte.confidence import qc_score, uncertainty

    out, pixels = {}, {}
    for label, streams in SETS.items():
        forward = [s for s in streams if s in FORWARD]
        scores, priors, wrong, frame_qc, frame_soft, frame_mad = [], [], [], [], [], []
        previous = None
        for i in range(len(truths)):
            per_stream = [alphas[s][i] for s in streams]
            pha = np.mean(per_stream, axis=0)
            forward_pha = np.mean([alphas[s][i] for s in forward], axis=0)
            u = uncertainty(per_stream, forward_pha, previous, plates[i])
            previous = (forward_pha, plates[i])
            scores.append(u.ravel())
            priors.append((4 * pha * (1 - pha)).ravel())
            wrong.append((np.abs(pha - truths[i]) > WRONG).ravel())
            frame_qc.append(qc_score(u))
            frame_soft.append(float(((pha > 0.05) & (pha < 0.95)).mean()))
            frame_mad.append(float(np.abs(pha - truths[i]).mean()))
        scores, priors, wrong = np.concatenate(scores), np.concatenate(priors), np.concatenate(wrong)
        out[label] = {"auc": auc(scores, wrong), "auc_prior": auc(np.round(priors, 4), wrong),
                      "spearman": spearman(frame_qc, frame_mad), "spearman_soft": spearman(frame_soft, frame_mad),
                      "wrong_share": float(wrong.mean())}
        pixels[label] = (scores, np.round(priors, 4), wrong)
    return out, pixels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    import torch

    from rvmatte.weights import load_model

    torch.set_num_threads(1)
    work = Path(args.work)
    model = load_model("mobilenetv3", args.weights, device="cpu")
    results = {}
    pools: dict = {}
    clips = {}
    for kind in ("occluder", "blur", "second"):
        plates, truths, _ = planted(kind)
        clips[f"planted {kind}"] = (plates, truths)
    for name in es.MADE + es.SYNTHETIC:
        if (work / "streams" / f"{name}.npz").is_file():
            clips[name] = es.composite_clip(work, name, FRAMES)
    for name, (plates, truths) in clips.items():
        cache = work / "streams" / f"{name.replace(' ', '_')}.npz"
        if cache.is_file():
            loaded = np.load(cache)
            alphas = {k: loaded[k] for k in loaded.files if not k.startswith("seconds_")}
        else:
            alphas, seconds = es.run_streams(model, plates)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **alphas, **{f"seconds_{k}": v for k, v in seconds.items()})
        results[name], pixels = evaluate(alphas, plates, truths)
        group = "planted" if name.startswith("planted") else "clean"
        for label, arrays in pixels.items():
            pools.setdefault((group, label), []).append(arrays)
        print(f"{name}: done", file=sys.stderr, flush=True)
    print("| clip | streams | wrong pixels | AUC confidence | AUC prior 4α(1−α) | Spearman QC | Spearman soft share |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, by_set in results.items():
        for label, r in by_set.items():
            print(f"| {name} | {label} | {r['wrong_share'] * 100:.2f} % | {r['auc']:.3f} | {r['auc_prior']:.3f} | "
                  f"{r['spearman']:.2f} | {r['spearman_soft']:.2f} |")
    print("\n| pooled over clips | streams | AUC confidence | AUC prior 4α(1−α) | gain |")
    print("| --- | --- | ---: | ---: | ---: |")
    for (group, label), parts in pools.items():
        wrong = np.concatenate([w for _, _, w in parts])
        a = auc(np.concatenate([u for u, _, _ in parts]), wrong)
        b = auc(np.concatenate([p for _, p, _ in parts]), wrong)
        results.setdefault(f"pooled {group}", {})[label] = {"auc": a, "auc_prior": b}
        print(f"| {group} | {label} | {a:.3f} | {b:.3f} | {a - b:+.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
