"""The confidence pass and the per-frame QC score (``rvmatte run --confidence``; docs/quality.md).

Three signs that a matte is likely wrong, per pixel:

* **the edge**: ``edge = (prior + G_σ * prior) / 2`` with ``prior = 4α(1−α)`` of the combined alpha
  (the mean of the streams) and ``G_σ *`` a Gaussian blur of ``σ = EDGE_SIGMA`` times the frame's
  short side. The blur spreads the soft band's uncertainty onto the *hard* pixels next to it
  (α̂ = 0 or 1 but the truth soft: the band too narrow, a missed motion blur, an edge in the wrong
  place), which the prior alone ties with the far background; inside the band the prior still
  ranks first. A blur of σ ≥ 16 px runs at 1/⌊σ/8⌋ of the size (within 1e-4 of the full blur);
* **disagreement**: the spread (max − min) of the streams' alphas (``--ensemble``; 0 with a
  single stream);
* **instability**: the alpha changed from the previous frame although the plate there barely
  did: ``|α(t) − α(t−1)| · max(0, 1 − |Δplate| / STILL_PLATE)``, ``|Δplate|`` the largest
  change of the pixel's three channels in the network's sRGB-encoded input.

``uncertainty = max(edge, min(1, disagreement / DISAGREEMENT_SCALE + instability / INSTABILITY_SCALE))``
and ``confidence = 1 − uncertainty``: 1 = trusted, 0 = check this. A frame's QC score is the mean
uncertainty over the frame, an estimate of its error: higher is worse.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

DISAGREEMENT_SCALE = 0.25     # a stream spread of 0.25 in alpha: confidence 0
INSTABILITY_SCALE = 0.1       # an unexplained alpha change of 0.1 between frames: confidence 0
STILL_PLATE = 0.05            # a plate change (sRGB-encoded, 0..1) from which an alpha change is explained
EDGE_SIGMA = 1 / 36           # the blur of the soft band, a fraction of the frame's short side (8 px at 288)
BLUR_STEP = 8                 # a blur wider than 2 x 8 px runs at 1/(σ // 8) of the size


def edge(pha: np.ndarray) -> np.ndarray:
    """``(prior + G_σ * prior) / 2``, ``prior = 4α(1−α)``: 1 only inside a wide soft band, and above 0
    on the hard pixels near the band (the nearer, the higher)."""
    import cv2

    prior = np.ascontiguousarray(4.0 * pha * (1.0 - pha), np.float32)
    height, width = pha.shape[:2]
    sigma = max(EDGE_SIGMA * min(height, width), 0.5)
    step = int(sigma // BLUR_STEP)
    if step < 2:
        spread = cv2.GaussianBlur(prior, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    else:      # a wide blur at 1/step of the size (cost: a 4K frame's σ is 60 px), back up bilinearly
        small = cv2.resize(prior, (max(1, round(width / step)), max(1, round(height / step))),
                           interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_REFLECT)
        spread = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip((prior + spread) * 0.5, 0.0, 1.0)


def uncertainty(alphas: Sequence[np.ndarray], pha: np.ndarray, previous: Optional[tuple] = None,
                plate: Optional[np.ndarray] = None) -> np.ndarray:
    """Per-pixel uncertainty in 0..1 from the streams' ``alphas`` (the combined alpha is their mean),
    the forward streams' alpha ``pha`` (HxW) and ``previous`` = (previous forward alpha, previous
    plate), or None at the first frame of a shot. ``plate`` is the network's input (HxWx3)."""
    if len(alphas) > 1:
        stack = np.stack(alphas)
        combined = stack.mean(axis=0)
        value = (stack.max(axis=0) - stack.min(axis=0)) / DISAGREEMENT_SCALE
    else:
        combined = alphas[0]
        value = np.zeros(pha.shape, np.float32)
    if previous is not None and plate is not None:
        previous_pha, previous_plate = previous
        explained = np.abs(plate - previous_plate).max(axis=2) / STILL_PLATE
        value = value + np.abs(pha - previous_pha) * np.clip(1.0 - explained, 0.0, 1.0) / INSTABILITY_SCALE
    return np.maximum(edge(combined), np.minimum(value, 1.0)).astype(np.float32)


def qc_score(uncertain: np.ndarray) -> float:
    """A frame's score: its mean uncertainty (0 = nothing to check), rounded for headers and JSON."""
    return round(float(uncertain.mean()), 6)


def ranked(scores: dict) -> list:
    """``[{"frame", "score", "rank"}]`` worst first (rank 1 = look at it first)."""
    order = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [{"frame": frame, "score": score, "rank": rank} for rank, (frame, score) in enumerate(order, 1)]
