"""Does the best blur σ of the confidence's edge term move with the network's downsample ratio?

    python bench/confidence_sigma_ratio.py WORK --weights W.pth

One primary stream per clip (the planted composites of ``bench/confidence_study.py`` and the clean
ones of ``bench/ensemble_study.py``, made in WORK) at ratios 0.25 and 1.0; prints the pixel AUC of
the prior and of ``(p + G_σ(p)) / 2`` for a few σ (px at 512x288).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "core"))
import confidence_study as cs  # noqa: E402
import ensemble_study as es  # noqa: E402

NAMES = ("planted_occluder", "planted_blur", "planted_second") + es.MADE + es.SYNTHETIC


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--weights", required=True)
    args = parser.parse_args(argv)
    import cv2
    import torch

    from rvmatte.session import Session
    from rvmatte.weights import load_model

    torch.set_num_threads(1)
    work = Path(args.work)
    model = load_model("mobilenetv3", args.weights, device="cpu")
    for ratio in (0.25, 1.0):
        rows: dict = {}
        for name in NAMES:
            if name.startswith("planted"):
                plates, truths, _ = cs.planted(name.split("_")[1])
            else:
                plates, truths = es.composite_clip(work, name, cs.FRAMES)
            session = Session(model, downsample_ratio=ratio)
            pha = np.stack([session.step(p)[0] for p in plates]).astype(np.float32)
            wrong = (np.abs(pha - np.stack(truths)) > cs.WRONG).ravel()
            p = 4 * pha * (1 - pha)
            rows.setdefault("prior", []).append(cs.auc(np.round(p, 4).ravel(), wrong))
            for sigma in (2, 4, 8, 16, 32):
                g = np.stack([cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for x in p])
                rows.setdefault(f"edge({sigma})", []).append(cs.auc(((p + g) / 2).ravel(), wrong))
        print(f"ratio {ratio}: " + " ".join(NAMES), flush=True)
        for key, values in rows.items():
            print(f"  {key}: " + " ".join(f"{v:.3f}" for v in values) + f"  mean {np.mean(values):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
