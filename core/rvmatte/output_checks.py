"""What the network and the passes hand to the writers is checked, never trusted blindly.

* A NaN/inf alpha or foreground (a broken checkpoint, a failing GPU) ends the run with an
  error naming the frame; nothing of that frame is written, and since the recurrent state
  would carry the damage into every later frame, the run stops there.
* A half-float EXR holds at most 65504: plate values beyond it (the foreground pass carries
  the plate's HDR highlights) would be stored as inf. They are clamped to ±65504 with a
  warning naming the frame and the count; ``--float`` keeps them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from rvmatte.errors import RvmatteError

HALF_MAX = np.float32(65504.0)


def check_network_output(frames: Sequence[int], pha: np.ndarray, fgr: np.ndarray) -> None:
    """RvmatteError naming the first frame of a batch whose alpha or foreground is not finite."""
    for i, frame in enumerate(frames):
        # Both are clamped to 0..1 by the network, so their sum is finite exactly when every value is.
        for name, values in (("alpha", pha[i]), ("foreground", fgr[i])):
            if not np.isfinite(values.sum(dtype=np.float64)):
                bad = int(np.count_nonzero(~np.isfinite(values)))
                raise RvmatteError(f"frame {frame}: the network's {name} has {bad} NaN/inf values "
                                   f"(broken weights or a failing device?); nothing of this frame was written")


def clamp_to_half(pixels: np.ndarray, frame: int, what: str, reporter) -> np.ndarray:
    """``pixels`` with values beyond the half-float range clamped in place, with a warning."""
    peak = max(float(pixels.max(initial=0.0)), -float(pixels.min(initial=0.0)))
    if peak <= HALF_MAX:
        return pixels
    count = int(np.count_nonzero(np.abs(pixels) > HALF_MAX))
    np.clip(pixels, -HALF_MAX, HALF_MAX, out=pixels)
    reporter.warning(f"frame {frame}: {count} {what} values beyond the half-float range (65504) clamped; "
                     f"--float keeps them", frame=frame)
    return pixels
