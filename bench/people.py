"""Per-person quality, identity switches and cost of the people pass (numbers for docs/people.md).

    python bench/people.py WORK [--frames 20] [--rvm]

Makes two-person composites (512x288, tests/core/people/composites.py: apart,
touching, crossing; ``three`` adds a third person) under WORK from ../shared's foreground layers, then splits
a matte of each with ``rvmatte people`` in three ways: ``--people N`` (the N
largest regions of frame 1), a rough mask per person on frame 1, and a mask
per person on the LAST frame only (tracked backwards). The matte split is the
ground-truth alpha of both (isolates the tracking), and with ``--rvm`` also
RVM's own alpha from ``rvmatte run`` (what a user gets). Per person: MAD (×1e3)
from ``rvmatte eval``'s evaluator against that person's ground truth, the
frames whose person layer overlaps (IoU at 0.5) another person's truth more
than its own (identity switches; with ``--people N`` a layer's own truth is the one
it matched on frame 1, as names go left to right), and the pass's seconds per frame.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "tests"), str(ROOT / "tests" / "core" / "people")]

from composites import blob_mask, make_shot, write_mask  # noqa: E402
from rvmatte.cli import main as rvmatte  # noqa: E402
from rvmatte.evaluate import evaluate_sequences  # noqa: E402


def iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max((a | b).sum(), 1)


def split_layers(people_pattern: str, names, frames, folder: Path):
    """Each person's layer as its own single-channel EXR sequence (what ``rvmatte eval`` reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    layers = {}
    for frame in range(1, frames + 1):
        buf = oiio.ImageBuf(people_pattern.replace("####", f"{frame:04d}"))
        pixels = buf.get_pixels(oiio.FLOAT)
        channels = list(buf.spec().channelnames)
        for name in names:
            plane = np.ascontiguousarray(pixels[:, :, channels.index(f"{name}.A")][:, :, None])
            out = oiio.ImageBuf(oiio.ImageSpec(plane.shape[1], plane.shape[0], 1, oiio.FLOAT))
            out.set_pixels(oiio.ROI(), plane)
            out.specmod().channelnames = ("A",)
            out.write(str(folder / f"{name}.{frame:04d}.exr"))
            layers.setdefault(name, {})[frame] = plane[:, :, 0]
    return {name: str(folder / f"{name}.####.exr") for name in names}, layers


def measure(shot, kind, mode, matte, work: Path, frames: int):
    out = work / "out" / kind / mode / Path(matte).parent.name
    options = []
    if mode == "peopleN":
        options = ["--people", str(len(shot["truth"]))]
    else:
        frame = 1 if mode == "mask-first" else frames
        for k in range(len(shot["truth"])):
            path = work / "masks" / kind / mode / f"p{k + 1}.{frame:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_mask(str(path), blob_mask(shot["arrays"][frame][k]))
            options += ["--target", f"person{k + 1}={path.parent / f'p{k + 1}.####.png'}"]
    began = time.perf_counter()
    assert rvmatte(["people", shot["plate"], "--alpha", matte, "-o", str(out), *options, "--json"]) == 0
    seconds = (time.perf_counter() - began) / frames
    names = [f"person{k + 1}" for k in range(len(shot["truth"]))]
    patterns, layers = split_layers(str(out / "shot.people.####.exr"), names, frames, out / "split")
    row = {"shot": kind, "mode": mode, "matte": Path(matte).parent.name, "s_per_frame": round(seconds, 3)}
    truths = shot["arrays"]
    for k, name in enumerate(names):
        # --people N names regions left to right on frame 1: its person k is the truth it matched there.
        own = k if mode != "peopleN" else max(range(len(names)), key=lambda j: iou(layers[name][1], truths[1][j]))
        row[f"{name}_is_truth"] = own + 1
        row[f"{name}_mad_x1e3"] = round(evaluate_sequences(patterns[name], shot["truth"][own],
                                                           metrics=("mad",)).overall["mad"], 2)
        row[f"{name}_switched"] = [f for f in range(1, frames + 1)
                                   if max(iou(layers[name][f], t) for j, t in enumerate(truths[f]) if j != own)
                                   > iou(layers[name][f], truths[f][own])]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--rvm", action="store_true", help="also split RVM's alpha (runs rvmatte run first)")
    parser.add_argument("--kinds", default="apart,touching,crossing")
    args = parser.parse_args()
    rows = []
    for kind in args.kinds.split(","):
        shot = make_shot(str(args.work / kind), kind, 512, 288, args.frames)
        mattes = [shot["alpha"]]
        if args.rvm:
            rvm_dir = args.work / kind / "rvm"
            began = time.perf_counter()
            assert rvmatte(["run", shot["plate"], "--alpha", str(rvm_dir / "shot.####.exr"), "--progress", "none",
                            "--float"]) == 0
            print(f"{kind}: rvmatte run {(time.perf_counter() - began) / args.frames:.3f} s/frame", file=sys.stderr)
            mattes.append(str(rvm_dir / "shot.####.exr"))
        for matte in mattes:
            for mode in ("peopleN", "mask-first", "mask-last"):
                row = measure(shot, kind, mode, matte, args.work, args.frames)
                rows.append(row)
                print(json.dumps(row), flush=True)
    (args.work / "people.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
