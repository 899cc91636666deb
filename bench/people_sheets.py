"""Per-person contact sheets of the people pass on the real clips of ../shared (no ground truth: look).

    python bench/people_sheets.py WORK [--people 2] [--threads 2]

For each clip in ../shared/data/real_video/*/frames: ``rvmatte run`` (float EXR, development
weights), then ``rvmatte people --people N --contact-sheets``; writes
``WORK/<clip>/people/frames.people.<name>.contact.png`` and prints one JSON line per clip
with the people pass's seconds per frame (a shared, noisy machine: a rough figure only) and
each person's share of the matte (mean alpha) on the first and last frame.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core")]

from rvmatte.cli import main as rvmatte  # noqa: E402


def shares(pattern: str, frame: int):
    buf = oiio.ImageBuf(pattern.replace("####", f"{frame:04d}"))
    pixels = buf.get_pixels(oiio.FLOAT)
    return {c[:-2]: round(float(pixels[:, :, i].mean()), 4)
            for i, c in enumerate(buf.spec().channelnames) if c.endswith(".A") and not c.startswith("Crypto")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--people", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weights", default=str(ROOT.parent / "shared" / "models" / "rvm_mobilenetv3_from_tfjs.pth"))
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "data" / "real_video"
    for clip in sorted(p for p in shared.iterdir() if (p / "frames").is_dir()):
        plate = str(clip / "frames" / "####.png")
        out = Path(args.work) / clip.name
        code = rvmatte(["run", plate, "-o", str(out / "matte"), "--float", "--no-foreground", "--progress", "none",
                        "--threads", str(args.threads), "--weights", args.weights])
        if code:
            return code
        began = time.perf_counter()
        code = rvmatte(["people", plate, "--alpha", str(out / "matte" / "frames.alpha.####.exr"),
                        "--people", str(args.people), "--contact-sheets", "-o", str(out / "people"), "--json"])
        if code:
            return code
        frames = sorted(int(p.stem) for p in (clip / "frames").glob("*.png"))
        pattern = str(out / "people" / "frames.people.####.exr")
        print(json.dumps({"clip": clip.name, "frames": len(frames),
                          "seconds_per_frame_with_start_up": round((time.perf_counter() - began) / len(frames), 3),
                          "share_first": shares(pattern, frames[0]), "share_last": shares(pattern, frames[-1]),
                          "sheets": sorted(str(p) for p in (out / "people").glob("*.contact.png"))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
