"""Fine-tune harm check and plot: tuned checkpoints on shots they were not tuned for.

    python bench/finetune_harm.py harm WORK --weights W.pth [--real-frames 40]   # flicker, MAD, sheets
    python bench/finetune_harm.py harm WORK --weights W.pth --name harm_distill \
        --compare "A distill 0.5=WORK/A.lr1e-3_distill0.5.pth" "A no distill=WORK/A.lr1e-3_nodistill.pth"
    python bench/finetune_harm.py plot WORK                                      # MAD before/after plot

``WORK`` is the work folder of ``bench/finetune_study.py`` after its ``report`` phase: its tuned
checkpoints ``<clip>.k3.pth`` (3 keyframes, the report settings) are run, like the base weights,
through ``rvmatte.session.Session`` frame by frame at ``rvmatte run``'s auto ratio on

* the real clips of ../shared/data/real_video (no ground truth): flicker as
  ``bench/ensemble_study.py`` defines it (``rvmatte.evaluate.flicker``: mean |Δα| ×1e3 where
  the plate barely moved), and mean |α_tuned − α_base| ×1e3; the juggle clip halved to
  640x360 as in that study;
* the synthetic dev01 clip at 512x288 (ground truth): MAD and dtSSD, base vs tuned.

One contact sheet per real clip (a plate row, then one alpha row per weights: base, each tuned
checkpoint) goes to ``--sheets`` (docs/images by default), small PNGs. ``plot`` draws the
report's MAD base → tuned for 1, 3 and 5 keyframes per clip from ``WORK/report.jsonl`` and
``WORK/base.jsonl``. One torch thread; times are not measured here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "core")]
import ensemble_study as es  # noqa: E402  (real clips, flicker, composites)

TUNED = ("held_514_texture", "second_crossing")      # the report clips of finetune_study.py
SHEET_FRAMES = 4
CELL_BOX = (180, 150)            # a sheet cell fits in this (width, height)


def alphas(model, plates) -> np.ndarray:
    """Every plate through the session in order at the auto ratio (rvmatte run's path), [T,H,W]."""
    from rvmatte.session import Session

    session = Session(model)
    return np.stack([session.step(rgb)[0] for rgb in plates]).astype(np.float32)


def flicker(pred: np.ndarray, plates) -> float:
    return es.score_flicker(pred, plates)


def truth_scores(pred: np.ndarray, truths) -> dict:
    from rvmatte.evaluate import evaluate_pairs

    frames = list(range(1, len(truths) + 1))
    ev = evaluate_pairs(frames, list(pred), list(truths), metrics=("mad", "dtssd"), first_frames=0)
    return {k: round(v, 3) for k, v in ev.overall.items()}


def sheet(path: Path, plates, rows: dict) -> None:
    """A grid: SHEET_FRAMES frames spread over the clip; the plate row, then one alpha row per entry
    of ``rows`` ({label: [T,H,W]}); the label is written at the left of each row."""
    import OpenImageIO as oiio

    from rvmatte.review import resize

    count = len(plates)
    picks = np.unique(np.round(np.linspace(0, count - 1, SHEET_FRAMES)).astype(int))
    height, width = plates[0].shape[:2]
    scale = min(CELL_BOX[0] / width, CELL_BOX[1] / height)
    cw, ch = max(1, round(width * scale)), max(1, round(height * scale))
    label_w, gutter = 110, 4
    grid = [[plates[i] for i in picks]] + [[np.repeat(a[i][:, :, None], 3, axis=2) for i in picks]
                                           for a in rows.values()]
    names = ["plate"] + list(rows)
    out_h = len(grid) * (ch + gutter) + gutter
    out_w = label_w + len(picks) * (cw + gutter) + gutter
    canvas = np.full((out_h, out_w, 3), 0.12, np.float32)
    for r, cells in enumerate(grid):
        top = gutter + r * (ch + gutter)
        for c, cell in enumerate(cells):
            left = label_w + gutter + c * (cw + gutter)
            canvas[top:top + ch, left:left + cw] = resize(np.clip(cell, 0, 1), cw, ch)
    buf = oiio.ImageBuf(canvas)
    for r, name in enumerate(names):
        oiio.ImageBufAlgo.render_text(buf, 6, gutter + r * (ch + gutter) + ch // 2 + 5, name, 13, "",
                                      (0.9, 0.9, 0.9))
    oiio.geterror()
    pixels = np.round(np.clip(buf.get_pixels(oiio.FLOAT), 0, 1) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    spec = oiio.ImageSpec(out_w, out_h, 3, oiio.UINT8)
    spec.attribute("png:compressionLevel", 9)
    assert out.open(str(path), spec), oiio.geterror()
    out.write_image(pixels)
    out.close()


def harm(work: Path, weights: str, real_frames: int, sheets: Path, compare=None, name: str = "harm") -> dict:
    """``compare``: ``[(label, checkpoint)]`` to run instead of the report's 3-keyframe checkpoints
    (e.g. the study's tune checkpoints with and without distillation); ``name`` names the cache
    folder, the JSON and the sheets, so such a run keeps the report's files."""
    from rvmatte.weights import load_model

    checkpoints = {"base": weights}
    if compare:
        checkpoints.update(dict(compare))
    else:
        checkpoints.update({f"tuned {clip}": str(work / f"{clip}.k3.pth") for clip in TUNED})
    models = {label: load_model("mobilenetv3", path, device="cpu") for label, path in checkpoints.items()}
    result: dict = {"checkpoints": checkpoints, "real": {}, "synthetic": {}}
    for clip, path in es.REAL.items():
        plates, _ = es.real_clip(path, real_frames)
        cache = work / name / f"{clip}.npz"
        if cache.is_file():
            preds = dict(np.load(cache))
        else:
            preds = {label: alphas(model, plates) for label, model in models.items()}
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, **preds)
        row = {label: {"flicker": round(flicker(pred, plates), 3),
                       "dalpha_vs_base": round(1e3 * float(np.abs(pred - preds["base"]).mean()), 3)}
               for label, pred in preds.items()}
        row["frames"], row["size"] = len(plates), list(plates[0].shape[1::-1])
        result["real"][clip] = row
        sheet(sheets / f"finetune_{name}_{clip}.png", plates, preds)
        print(clip, json.dumps(row), file=sys.stderr, flush=True)
    plates, truths = es.composite_clip(work, "dev01", 30)
    result["synthetic"]["dev01"] = {label: truth_scores(alphas(model, plates), truths)
                                    for label, model in models.items()}
    print("dev01", json.dumps(result["synthetic"]["dev01"]), file=sys.stderr, flush=True)
    (work / f"{name}.json").write_text(json.dumps(result, indent=1))
    return result


def table(result: dict) -> None:
    labels = list(result["checkpoints"])
    print("| weights | " + " | ".join(f"flicker {c}" for c in result["real"]) + " | "
          + " | ".join(f"mean \\|α − α_base\\| {c}" for c in result["real"]) + " | dev01 MAD | dev01 dtSSD |")
    print("|---|" + "---:|" * (2 * len(result["real"]) + 2))
    for label in labels:
        real = [result["real"][c][label] for c in result["real"]]
        dev01 = result["synthetic"]["dev01"][label]
        print(f"| {label} | " + " | ".join(f"{r['flicker']:.2f}" for r in real) + " | "
              + " | ".join(f"{r['dalpha_vs_base']:.2f}" for r in real)
              + f" | {dev01['mad']:.2f} | {dev01['dtssd']:.2f} |")


def plot(work: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = {}
    for line in open(work / "base.jsonl"):
        base.update(json.loads(line)["base"])
    rows = [json.loads(line) for line in open(work / "report.jsonl")]
    clips = sorted({r["clip"] for r in rows})
    fig, axes = plt.subplots(1, len(clips), figsize=(4.2 * len(clips), 3.2), squeeze=False)
    for ax, clip in zip(axes[0], clips):
        mine = sorted((r for r in rows if r["clip"] == clip), key=lambda r: r["keyframes"])
        counts = [r["keyframes"] for r in mine]
        before = [base[clip][str(c)]["mad"] for c in counts]
        after = [r["tuned"]["mad"] for r in mine]
        x = np.arange(len(counts))
        ax.bar(x - 0.2, before, 0.4, label="base", color="#999999")
        ax.bar(x + 0.2, after, 0.4, label="tuned", color="#3b7dd8")
        for xi, b, a in zip(x, before, after):
            ax.text(xi + 0.2, a, f"{100 * (a - b) / b:+.0f}%", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [f"{c} key{'s' if c > 1 else ''}" for c in counts])
        ax.set_title(clip, fontsize=10)
        ax.set_ylabel("MAD ×1e3 (frames without keyframes)", fontsize=8)
        ax.set_ylim(0, 1.25 * max(before + after))
        ax.legend(fontsize=8, ncol=2, loc="upper center")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("harm", "table", "plot"))
    parser.add_argument("work", type=Path)
    parser.add_argument("--weights")
    parser.add_argument("--real-frames", type=int, default=40)
    parser.add_argument("--sheets", type=Path, default=HERE.parent / "docs" / "images")
    parser.add_argument("--compare", nargs="+", metavar="LABEL=CHECKPOINT",
                        help="harm: these checkpoints instead of the report's (e.g. with and without --distill)")
    parser.add_argument("--name", default="harm", help="cache folder, JSON and sheet names (default harm)")
    args = parser.parse_args()
    if args.phase == "plot":
        plot(args.work, args.sheets / "finetune_mad.png")
        return
    if args.phase == "table":
        table(json.loads((args.work / f"{args.name}.json").read_text()))
        return
    import torch

    torch.set_num_threads(1)
    compare = [tuple(item.split("=", 1)) for item in args.compare or []]
    table(harm(args.work, args.weights, args.real_frames, args.sheets, compare, args.name))


if __name__ == "__main__":
    main()
