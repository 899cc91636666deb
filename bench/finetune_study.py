"""Fine-tune study: does ``rvmatte finetune`` fix a shot's matte from a few keyframes, and at what cost?

    python bench/finetune_study.py make   WORK                       # composites (never commit them)
    python bench/finetune_study.py probe  WORK --weights W.pth       # what 3 Adam steps do to alpha
    python bench/finetune_study.py tune   WORK --weights W.pth       # settings, on the TUNE clips
    python bench/finetune_study.py report WORK --weights W.pth       # 1/3/5 keyframes on the REPORT clips
    python bench/finetune_study.py table  WORK                       # the tables (markdown)

Composites at 512x288 with exact ground truth, made from ../shared/data's foreground
layers, each with a region the base network gets measurably wrong:

* ``second_*``: two people (``tests/core/people/composites.py``'s two-person shots); the
  artist wants only the front person, the base mattes both (wrong region: the other one);
* ``held_*``: one person (``bench/warmup_study.py``'s placement and backgrounds) holding a
  coloured board at the side of their body that the truth counts as foreground and the base
  leaves out (wrong region: the board).

Keyframes are the truth at 1, 3 or 5 frames spread over the clip; every metric (MAD, MSE,
dtSSD from ``rvmatte.evaluate``) is on the frames that are NOT keyframes, the network run
through ``rvmatte.session.Session`` frame by frame with the state carried, as ``rvmatte run``
does. Settings are chosen on TUNE and reported on REPORT. Harm: the tuned weights run on
another shot (dev02, a plain composite) against the base weights there.
Timings are wall-clock on whatever machine runs it (noisy on a shared CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "core" / "people")]
import warmup_study as ws  # noqa: E402  (placement, backgrounds, shared paths)

FRAMES = 12
TUNE = ("second_apart", "held_bd6_noise")
REPORT = ("second_crossing", "held_514_texture")
HARM_SHOT = "dev02"
KEYFRAMES = {1: (6,), 3: (2, 6, 10), 5: (1, 4, 6, 8, 11)}
CANDIDATES = {                       # settings tried on the TUNE clips with 3 keyframes
    "lr1e-3_distill0.5": dict(lr=1e-3, distill=0.5),
    "lr1e-3_nodistill": dict(lr=1e-3, distill=0.0),
    "lr3e-4_distill0.5": dict(lr=3e-4, distill=0.5),
}


def _write(path: Path, pixels: np.ndarray) -> None:
    ws.write_png(path, np.clip(np.round(pixels), 0, 255).astype(np.uint8))


def board(alpha: np.ndarray) -> np.ndarray:
    """A board held at the person's side: a rectangle touching the left of their box at mid-height."""
    ys, xs = np.nonzero(alpha > 127)
    height = ys.max() - ys.min()
    top = int(ys.min() + 0.45 * height)
    mask = np.zeros(alpha.shape, bool)
    right = int(xs.min()) + 12
    mask[top:top + int(0.35 * height), max(right - 70, 0):right] = True
    return mask


def make(work: Path) -> None:
    import composites as people

    for name, kind in (("second_apart", "apart"), ("second_crossing", "crossing")):
        shot = people.make_shot(str(work / name / "raw"), kind, frames=FRAMES)
        for i in range(FRAMES):
            com = ws.read(Path(shot["plate"].replace("####", f"{i + 1:04d}")))[:, :, :3]
            _write(work / name / "com" / f"{i:04d}.png", com * 255)
            front = shot["arrays"][i + 1][0]
            _write(work / name / "pha" / f"{i:04d}.png", front * 255)
            _write(work / name / "wrong" / f"{i:04d}.png", (shot["arrays"][i + 1][1] > 0.05) * 255.0)
        print(f"made {name}", file=sys.stderr)
    for seed, (name, layer, bg_kind, motion) in enumerate((("held_bd6_noise", "p_bd6af989", "noise", "sway"),
                                                           ("held_514_texture", "p_514ca06a", "texture", "drift"))):
        ws.FRAMES = FRAMES
        bgs = ws.backgrounds(bg_kind, seed)
        colour = np.array([[40, 200, 230], [230, 190, 40]][seed], np.float64)
        for i in range(FRAMES):
            fgr_q, pha_q = ws.place(layer, motion, 0.8, i)
            held = board(pha_q)
            fgr_q[held] = colour
            pha_q = np.where(held, 255.0, pha_q)
            a = pha_q[:, :, None] / 255.0
            com = np.round(fgr_q * a + np.round(np.clip(bgs[i], 0, 1) * 255) * (1 - a))
            _write(work / name / "com" / f"{i:04d}.png", com)
            _write(work / name / "pha" / f"{i:04d}.png", pha_q)
            _write(work / name / "wrong" / f"{i:04d}.png", held * 255.0)
        print(f"made {name}", file=sys.stderr)


def _clip(work: Path, name: str):
    """(plate pattern, truth [T,H,W], wrong-region masks [T,H,W] or None), frames numbered from 1."""
    if name == HARM_SHOT:
        folder = ws.SHARED_CLIPS["dev02"][0]
        plate = work / "dev02_plate"
        if not plate.is_dir():
            plate.mkdir(parents=True)
            for i in range(FRAMES):
                os.symlink(folder / "com" / f"{i:04d}.png", plate / f"{i + 1:04d}.png")
        truth = np.stack([ws.read(folder / "pha" / f"{i:04d}.png")[:, :, 0] for i in range(FRAMES)])
        return str(plate / "####.png"), truth, None
    folder = work / name
    plate = folder / "plate"
    if not plate.is_dir():
        plate.mkdir()
        for i in range(FRAMES):
            os.symlink(folder / "com" / f"{i:04d}.png", plate / f"{i + 1:04d}.png")
    truth = np.stack([ws.read(folder / "pha" / f"{i:04d}.png")[:, :, 0] for i in range(FRAMES)])
    wrong = np.stack([ws.read(folder / "wrong" / f"{i:04d}.png")[:, :, 0] > 0.5 for i in range(FRAMES)])
    return str(plate / "####.png"), truth, wrong


def _keys(work: Path, name: str, count: int) -> str:
    folder = work / name / f"keys{count}"
    folder.mkdir(parents=True, exist_ok=True)
    for frame in KEYFRAMES[count]:
        src = work / name / "pha" / f"{frame - 1:04d}.png"
        dst = folder / f"key.{frame:04d}.png"
        if not dst.exists():
            os.symlink(src, dst)
    return str(folder / "key.####.png")


def matte(model, plate: str) -> np.ndarray:
    """Every frame through the session in order (rvmatte run's path), [T,H,W]."""
    import torch

    from rvmatte.io import open_input
    from rvmatte.session import Session

    source = open_input(plate)
    session = Session(model)
    out = []
    for p in source.read(source.frames):
        pha, _ = session.infer(torch.from_numpy(p.rgb).permute(2, 0, 1)[None])
        out.append(pha[0, 0].numpy())
    return np.stack(out)


def score(pred: np.ndarray, truth: np.ndarray, wrong, keyframes) -> dict:
    from rvmatte.evaluate import evaluate_pairs

    frames = [f for f in range(1, len(truth) + 1) if f not in set(keyframes)]
    ev = evaluate_pairs(frames, [pred[f - 1] for f in frames], [truth[f - 1] for f in frames],
                        metrics=("mad", "mse", "dtssd"), first_frames=0)
    row = {k: round(v, 3) for k, v in ev.overall.items()}
    if wrong is not None:
        diff = np.abs(pred - truth)
        row["mad_in"] = round(1e3 * float(np.mean([diff[f - 1][wrong[f - 1]].mean() for f in frames])), 2)
        row["mad_out"] = round(1e3 * float(np.mean([diff[f - 1][~wrong[f - 1]].mean() for f in frames])), 2)
    return row


def load(weights: str):
    from rvmatte.weights import load_model

    return load_model("mobilenetv3", weights, device="cpu")


def tune_one(work: Path, weights: str, name: str, count: int, settings: dict, out: Path, harm: bool = False) -> dict:
    from rvmatte.train.finetune import FinetuneConfig, finetune, lineage_of, read_shot, save_tuned

    plate, truth, wrong = _clip(work, name)
    keys = _keys(work, name, count)
    config = FinetuneConfig(**settings)
    model = load(weights)
    started = time.perf_counter()
    data = read_shot(plate, keys, config)
    summary = finetune(model, data, config)
    seconds = time.perf_counter() - started
    save_tuned(str(out), model, lineage_of(data, config, model, summary, precision="float32", device="cpu"))
    row = {"clip": name, "keyframes": count, "settings": settings, "seconds": round(seconds, 1),
           "tuned": score(matte(model, plate), truth, wrong, KEYFRAMES[count])}
    if harm:
        harm_plate, harm_truth, _ = _clip(work, HARM_SHOT)
        row["harm_tuned"] = score(matte(model, harm_plate), harm_truth, None, ())
    return row


def base_rows(work: Path, weights: str, names) -> dict:
    model = load(weights)
    rows = {}
    for name in list(names) + [HARM_SHOT]:
        plate, truth, wrong = _clip(work, name)
        pred = matte(model, plate)
        rows[name] = {str(c): score(pred, truth, wrong, KEYFRAMES[c]) for c in KEYFRAMES}
        rows[name]["all"] = score(pred, truth, wrong, ())
    return rows


def _append(path: Path, row: dict) -> None:
    with open(path, "a") as stream:
        stream.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def probe(work: Path, weights: str) -> None:
    """3 Adam steps at lr 2e-4 on dev02 (keyframes = its truth, which the base already nearly
    matches): how far does alpha move on a non-keyframe frame, per way of training?"""
    import torch

    from rvmatte.train import finetune as ft

    plate, truth, _ = _clip(work, HARM_SHOT)
    keys = _keys_dev02(work)
    base = matte(load(weights), plate)
    for label, settings, bn_train in (("all weights, BatchNorm eval", dict(train="all"), False),
                                      ("decoder only, BatchNorm eval", dict(train="decoder"), False),
                                      ("all weights, BatchNorm TRAIN mode", dict(train="all"), True)):
        config = ft.FinetuneConfig(steps=3, lr=2e-4, distill=0.0, **settings)
        model = load(weights)
        data = ft.read_shot(plate, keys, config)
        original = ft.set_trainable
        if bn_train:
            def set_trainable(m, train):
                params = original(m, train)
                m.train()
                return params
            ft.set_trainable = set_trainable
        try:
            ft.finetune(model, data, config)
        finally:
            ft.set_trainable = original
        model.eval()
        with torch.no_grad():
            tuned = matte(model, plate)
        delta = np.abs(tuned - base)[[f - 1 for f in range(1, FRAMES + 1) if f not in KEYFRAMES[3]]]
        _append(work / "probe.jsonl", {"probe": label, "max_dalpha": round(float(delta.max()), 4),
                                       "mean_dalpha": round(float(delta.mean()), 5),
                                       "mad_base": score(base, truth, None, KEYFRAMES[3])["mad"],
                                       "mad_tuned": score(tuned, truth, None, KEYFRAMES[3])["mad"]})


def _keys_dev02(work: Path) -> str:
    folder = work / "dev02_keys"
    folder.mkdir(parents=True, exist_ok=True)
    for frame in KEYFRAMES[3]:
        dst = folder / f"key.{frame:04d}.png"
        if not dst.exists():
            os.symlink(ws.SHARED_CLIPS["dev02"][0] / "pha" / f"{frame - 1:04d}.png", dst)
    return str(folder / "key.####.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("make", "probe", "tune", "report", "table"))
    parser.add_argument("work", type=Path)
    parser.add_argument("--weights")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="override the default steps")
    parser.add_argument("--choose", default="lr1e-3_distill0.5", help="report: the settings chosen on TUNE")
    parser.add_argument("--clips", help="comma-separated subset of the phase's clips")
    parser.add_argument("--labels", help="tune: comma-separated subset of the candidates")
    parser.add_argument("--runs", help="report: CLIP:KEYS,... in this order (default: every clip x 1,3,5)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    extra = {} if args.steps is None else {"steps": args.steps}
    if args.phase == "make":
        make(work)
    elif args.phase == "probe":
        probe(work, args.weights)
    elif args.phase == "tune":
        names = args.clips.split(",") if args.clips else TUNE
        _append(work / "base.jsonl", {"base": base_rows(work, args.weights, names)})
        for name in names:
            for label, settings in CANDIDATES.items():
                if args.labels and label not in args.labels.split(","):
                    continue
                row = tune_one(work, args.weights, name, 3, {**settings, **extra}, work / f"{name}.{label}.pth",
                               harm=True)
                _append(work / "tune.jsonl", {"label": label, **row})
    elif args.phase == "report":
        names = args.clips.split(",") if args.clips else REPORT
        _append(work / "base.jsonl", {"base": base_rows(work, args.weights, names)})
        settings = {**CANDIDATES[args.choose], **extra}
        runs = ([(r.split(":")[0], int(r.split(":")[1])) for r in args.runs.split(",")] if args.runs
                else [(n, c) for n in names for c in (1, 3, 5)])
        for name, count in runs:
            row = tune_one(work, args.weights, name, count, settings, work / f"{name}.k{count}.pth",
                           harm=count == 3)
            _append(work / "report.jsonl", {"label": args.choose, **row})
    else:
        table(work)


def table(work: Path) -> None:
    base = {}
    for line in open(work / "base.jsonl"):
        base.update(json.loads(line)["base"])
    for kind in ("tune", "report"):
        path = work / f"{kind}.jsonl"
        if not path.exists():
            continue
        print(f"\n{kind}: MAD/MSE (x1e3), dtSSD (x1e2) on frames that are not keyframes; MAD in/out of the "
              f"wrong region\n")
        print("| clip | settings | keys | MAD base → tuned | Δ | MSE base → tuned | dtSSD base → tuned | "
              "in region | outside | time s | harm: dev02 MAD base → tuned |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for line in open(path):
            r = json.loads(line)
            b, t = base[r["clip"]][str(r["keyframes"])], r["tuned"]
            harm = ""
            if "harm_tuned" in r:
                harm = f"{base[HARM_SHOT]['all']['mad']:.2f} → {r['harm_tuned']['mad']:.2f}"
            print(f"| {r['clip']} | {r['label']} | {r['keyframes']} | {b['mad']:.2f} → {t['mad']:.2f} | "
                  f"{100 * (t['mad'] - b['mad']) / b['mad']:+.0f} % | {b['mse']:.2f} → {t['mse']:.2f} | "
                  f"{b['dtssd']:.2f} → {t['dtssd']:.2f} | {b['mad_in']:.0f} → {t['mad_in']:.0f} | "
                  f"{b['mad_out']:.2f} → {t['mad_out']:.2f} | {r['seconds']:.0f} | {harm} |")
    if (work / "probe.jsonl").exists():
        print("\nprobe: 3 Adam steps at lr 2e-4 on dev02 (keyframes = truth)\n")
        for line in open(work / "probe.jsonl"):
            print(json.loads(line))


if __name__ == "__main__":
    main()
