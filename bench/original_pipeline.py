"""The original RVM's ``convert_video`` loop, re-created for side-by-side timing (issue 6).

    PYTHONPATH=core .venv/bin/python bench/original_pipeline.py 'in/plate.*.png' out/alpha out/fgr

The original (GPL-3.0) is not installed here, so bench/speed.py times this stand-in on
the same machine, next to rvmatte. It does what the original's PNG-sequence path is
documented to do, one frame at a time on the main thread:

- frames are the folder's files in sorted order, decoded by Pillow and converted to RGB,
  then to a float tensor in 0..1 (torchvision's ``ToTensor``);
- a batch of one frame (``seq_chunk=1``) goes through ``MattingNetwork('mobilenetv3')`` as
  loaded (BatchNorm not folded, torch's default threads) at the given ratio, recurrent
  state fed back, under ``torch.no_grad()``;
- alpha (``L``) and foreground (``RGB``, the network's colour everywhere) are written
  as PNG files ``0000.png``, ``0001.png``... by Pillow with its default settings, after
  torchvision's ``to_pil_image`` conversion (``mul(255).byte()``).

The network is rvmatte's own, which matches the original's outputs (parity tests) and
is, if anything, faster than the original's code (its refiner was streamlined), so the
times of this stand-in are a lower bound for the original's.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frames", help="glob of the input PNG frames")
    parser.add_argument("alpha_dir")
    parser.add_argument("foreground_dir")
    parser.add_argument("--weights", default=os.environ.get("RVMATTE_WEIGHTS"))
    parser.add_argument("--downsample-ratio", type=float, default=0.25)
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    from rvmatte.model import MattingNetwork

    model = MattingNetwork("mobilenetv3").eval()
    model.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))
    paths = sorted(glob.glob(args.frames))
    if not paths:
        raise SystemExit(f"no frames match {args.frames}")
    for folder in (args.alpha_dir, args.foreground_dir):
        os.makedirs(folder, exist_ok=True)

    def to_tensor(path: str) -> torch.Tensor:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        return torch.from_numpy(rgb).permute(2, 0, 1).float().div(255)       # [3,H,W]

    def to_pil(frame: torch.Tensor) -> Image.Image:
        pixels = frame.mul(255).byte().permute(1, 2, 0).numpy()              # [H,W,C]
        return Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)

    started = time.perf_counter()
    rec = [None] * 4
    with torch.no_grad():
        for index, path in enumerate(paths):
            src = to_tensor(path)[None, None]                                # [B=1,T=1,3,H,W]
            fgr, pha, *rec = model(src, *rec, downsample_ratio=args.downsample_ratio)
            to_pil(pha[0, 0]).save(os.path.join(args.alpha_dir, f"{index:04d}.png"))
            to_pil(fgr[0, 0]).save(os.path.join(args.foreground_dir, f"{index:04d}.png"))
    print(f"{len(paths)} frames in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
