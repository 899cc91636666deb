"""Confidence signals study: which per-pixel signals beat the prior 4α(1−α), and which frame scores
beat the share of soft pixels?

    python bench/confidence_signals.py WORK [--streams mirror+reverse] [--json FILE]

Reads the per-stream alphas cached by ``bench/confidence_study.py`` (run it first, same WORK) for the
three planted-failure composites and the five clean ones, and scores, per clip and pooled over each
group, raw signals and unfitted combinations with the prior ``p``:

* ``G_σ(x)``: a Gaussian blur of ``x`` (σ in px at 512x288), i.e. the soft band / the stream spread
  spread onto the hard pixels beside it; ``max_r(p)``: a max filter;
* ``spread``: the streams' max − min; ``bindis``: the streams' mattes binarised at 0.5 disagree;
* ``nov``: |α(t) − α(t−1) warped by OpenCV DIS flow of the plates| (temporal novelty), ``appear``:
  the 0.5-binarised matte differs from the warped previous one; ``gmis``: |∇α|·max(0, 1 − |∇plate|/0.05);
* ``edge(σ)`` = (p + G_σ(p)) / 2, the shipped form, for a sweep of σ; the σ chosen on one group
  (the best pooled AUC) is reported on the other;
* ``logit``: a logistic fit of "wrong" on all the signals, fitted on one group and reported on the
  other (never fitted and reported on the same clip).

Frame scores (Spearman with the frame's true MAD): the share of soft pixels (the baseline), the
mean of several signals, the area of novelty/disagreement, and the fitted logistic's mean.
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
import confidence_study as cs  # noqa: E402
import ensemble_study as es  # noqa: E402

PLANTED = ("planted_occluder", "planted_blur", "planted_second")
CLEAN = es.MADE + es.SYNTHETIC
SIGMAS = (1, 2, 4, 6, 8, 12, 16, 24)


def _gauss(x, sigma):
    import cv2

    return cv2.GaussianBlur(np.ascontiguousarray(x, np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _dilate(x, r):
    import cv2

    return cv2.dilate(x, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))


def _gray(plate):
    import cv2

    return cv2.cvtColor((np.clip(plate, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def _warped(previous, plate_before, plate):
    """``previous`` (HxW) pulled onto the current frame by DIS flow from the current plate to the previous."""
    import cv2

    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(_gray(plate), _gray(plate_before), None)
    h, w = previous.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(previous, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _gradient(x):
    import cv2

    gx, gy = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3) / 8
    return np.sqrt(gx * gx + gy * gy)


def signals(plates, alphas, streams):
    """{name: [T,H,W]} raw signals, and the combined alpha."""
    forward = [s for s in streams if s in cs.FORWARD]
    out: dict = {}
    before = None
    for i, plate in enumerate(plates):
        stack = np.stack([alphas[s][i] for s in streams]).astype(np.float32)
        pha = stack.mean(axis=0)
        fpha = np.mean([alphas[s][i] for s in forward], axis=0).astype(np.float32)
        p = 4 * pha * (1 - pha)
        binary = stack > 0.5
        f = {"pha": pha, "p": p, "spread": stack.max(0) - stack.min(0),
             "bindis": (binary.any(0) & ~binary.all(0)).astype(np.float32)}
        if before is not None:
            warped = _warped(before[0], before[1], plate)
            f["nov"] = np.abs(fpha - warped)
            f["appear"] = ((fpha > 0.5) != (warped > 0.5)).astype(np.float32)
        else:
            f["nov"] = f["appear"] = np.zeros_like(pha)
        before = (fpha, plate)
        f["gmis"] = _gradient(pha) * np.clip(1 - _gradient(_gray(plate).astype(np.float32) / 255) / 0.05, 0, 1)
        for k, v in f.items():
            out.setdefault(k, []).append(v.astype(np.float32))
    return {k: np.stack(v) for k, v in out.items()}


def _blur(stack, sigma):
    return np.stack([_gauss(x, sigma) for x in stack])


def candidates(f) -> dict:
    p = f["p"]
    out = {"prior p": np.round(p, 4), "spread": f["spread"], "nov": f["nov"], "G8(spread)": _blur(f["spread"], 8),
           "G8(bindis)": _blur(f["bindis"], 8), "G8(nov)": _blur(f["nov"], 8), "G8(appear)": _blur(f["appear"], 8),
           "G4(gmis)": _blur(f["gmis"], 4), "max4(p)": np.stack([_dilate(x, 4) for x in p])}
    for s in SIGMAS:
        out[f"edge({s})"] = (p + _blur(p, s)) / 2
    g8 = _blur(p, 8)
    out["max(p, G8(spread))"] = np.maximum(p, out["G8(spread)"])
    out["max(p, G8(nov))"] = np.maximum(p, out["G8(nov)"])
    out["max(p, G8(bindis))"] = np.maximum(p, out["G8(bindis)"])
    out["(p + G8(p) + spread + nov) / 4"] = (p + g8 + f["spread"] + f["nov"]) / 4
    out["max(edge(8), min(1, spread/0.25 + nov/0.1))"] = np.maximum(
        out["edge(8)"], np.minimum(1, f["spread"] / 0.25 + f["nov"] / 0.1))
    return out


def _design(f):
    p = f["p"]
    cols = [p, _blur(p, 2), _blur(p, 8), _blur(p, 24), f["spread"], _blur(f["spread"], 8), f["nov"], _blur(f["nov"], 8),
            _blur(f["bindis"], 8), _blur(f["gmis"], 4)]
    return np.stack([np.sqrt(np.maximum(c, 0)).ravel() for c in cols] + [np.ones(p.size, np.float32)], axis=1)


def _logistic(X, y, iters=30, l2=1e-3):
    X = X.astype(np.float64)
    beta = np.zeros(X.shape[1])
    for _ in range(iters):
        mu = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
        w = mu * (1 - mu)
        beta -= np.linalg.solve(X.T @ (X * w[:, None]) + l2 * np.eye(X.shape[1]), X.T @ (mu - y) - l2 * beta)
    return beta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--streams", default="mirror+reverse", choices=sorted(cs.SETS))
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    work = Path(args.work)
    streams = cs.SETS[args.streams]
    rng = np.random.default_rng(0)
    auc, spear, pooled, designs = {}, {}, {}, {}
    for name in PLANTED + CLEAN:
        if name.startswith("planted"):
            plates, truths, _ = cs.planted(name.split("_")[1])
        else:
            plates, truths = es.composite_clip(work, name, cs.FRAMES)
        loaded = np.load(work / "streams" / f"{name}.npz")
        f = signals(plates, {k: loaded[k] for k in loaded.files}, streams)
        err = np.abs(f["pha"] - np.stack(truths))
        wrong = err > cs.WRONG
        mad = err.mean(axis=(1, 2))
        group = "planted" if name in PLANTED else "clean"
        for k, v in candidates(f).items():
            auc.setdefault(k, {})[name] = cs.auc(v.ravel(), wrong.ravel())
            pooled.setdefault((group, k), []).append(v.ravel())
            if k in ("prior p", "spread", "nov", "edge(8)", "G8(bindis)", "max(edge(8), min(1, spread/0.25 + nov/0.1))"):
                spear.setdefault(f"mean {k}", {})[name] = cs.spearman(v.mean(axis=(1, 2)), mad)
        soft = (f["pha"] > 0.05) & (f["pha"] < 0.95)
        spear.setdefault("soft share (baseline)", {})[name] = cs.spearman(soft.mean(axis=(1, 2)), mad)
        spear.setdefault("nov > 0.5 area", {})[name] = cs.spearman((f["nov"] > 0.5).mean(axis=(1, 2)), mad)
        spear.setdefault("bindis area", {})[name] = cs.spearman(f["bindis"].mean(axis=(1, 2)), mad)
        X = _design(f)
        pick = rng.choice(len(X), 150000, replace=False)
        designs[name] = (X, wrong.ravel(), pick, mad, err.shape)
        pooled.setdefault((group, "wrong"), []).append(wrong.ravel())
        print(f"{name}: done", file=sys.stderr, flush=True)
    groups = {"planted": PLANTED, "clean": CLEAN}
    for (group, k), parts in list(pooled.items()):
        if k != "wrong":
            auc[k][f"pooled {group}"] = cs.auc(np.concatenate(parts), np.concatenate(pooled[(group, "wrong")]))
    # held out: the logistic fit and the choice of σ, each made on one group and reported on the other
    chosen = {}
    for report, fit in (("planted", "clean"), ("clean", "planted")):
        X = np.concatenate([designs[n][0][designs[n][2]] for n in groups[fit]])
        y = np.concatenate([designs[n][1][designs[n][2]] for n in groups[fit]]).astype(np.float64)
        beta = _logistic(X, y)
        parts = []
        for n in groups[report]:
            Xn, wrong, _, mad, shape = designs[n]
            prob = 1 / (1 + np.exp(-np.clip(Xn.astype(np.float64) @ beta, -30, 30)))
            auc.setdefault(f"logit (fitted on {fit})", {})[n] = cs.auc(prob, wrong)
            spear.setdefault(f"mean logit (fitted on {fit})", {})[n] = cs.spearman(prob.reshape(shape).mean(axis=(1, 2)),
                                                                                   mad)
            parts.append(prob)
        auc[f"logit (fitted on {fit})"][f"pooled {report}"] = cs.auc(
            np.concatenate(parts), np.concatenate(pooled[(report, "wrong")]))
        sigma = max(SIGMAS, key=lambda s: auc[f"edge({s})"][f"pooled {fit}"])
        chosen[report] = sigma
    columns = list(PLANTED) + ["pooled planted"] + list(CLEAN) + ["pooled clean"]
    print(f"Pixel AUC (wrong: |α − α_true| > {cs.WRONG}), streams {args.streams}; σ chosen on the other group: "
          + ", ".join(f"for {g}: σ = {s}" for g, s in chosen.items()) + "\n")
    print("| signal | " + " | ".join(c.replace("planted_", "planted ") for c in columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for k, row in auc.items():
        print(f"| {k} | " + " | ".join(f"{row[c]:.3f}" if c in row else "" for c in columns) + " |")
    print(f"\nFrame Spearman with the true MAD, streams {args.streams}\n")
    clips = list(PLANTED) + list(CLEAN)
    print("| frame score | " + " | ".join(c.replace("planted_", "planted ") for c in clips) + " |")
    print("| --- |" + " ---: |" * len(clips))
    for k, row in spear.items():
        print(f"| {k} | " + " | ".join(f"{row[c]:.2f}" if c in row else "" for c in clips) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"auc": auc, "spearman": spear, "sigma": chosen}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
