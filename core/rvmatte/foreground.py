"""Where the foreground pass takes the network's colour and where it keeps the plate.

``--foreground-source edge`` (the default) uses the network's decontaminated colour only
in the soft band of the matte (hair, motion blur, semi-transparency), where the plate's
colour is mixed with the old background, and keeps the plate exactly where the subject is
solid: the network's colour there is a slightly shifted copy of the plate (skin tones move
by a few per cent), which a compositor would reject.

"Solid" is decided from the predicted alpha alone. The network's weight falls from 1 to 0
as a smoothstep of alpha between ``EDGE_BAND_LOW`` and ``EDGE_BAND_HIGH``: at or above the
upper threshold the weight is exactly 0 and the pass is the plate, bit for bit (HDR
included); at or below the lower one it is exactly 1 and the pass is the ``model`` source.
The thresholds were chosen with ``bench/foreground_study.py`` (docs/quality.md).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

EDGE_BAND_LOW = 0.5
EDGE_BAND_HIGH = 0.95
BAND_ROWS = 64                 # rows per slice of blend_edge's work: 1.5 MB per 1080p float RGB slice


def edge_weight(pha: np.ndarray, low: float = EDGE_BAND_LOW, high: float = EDGE_BAND_HIGH) -> np.ndarray:
    """The network colour's share per pixel (H, W) in 0..1: 1 for alpha <= low, 0 for alpha >= high,
    a smoothstep (continuous, with a continuous slope) in between."""
    t = np.clip((high - np.asarray(pha, np.float32)) / np.float32(high - low), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32, copy=False)


def blend_edge(plate: np.ndarray, model: np.ndarray, pha: np.ndarray, low: float = EDGE_BAND_LOW,
               high: float = EDGE_BAND_HIGH) -> np.ndarray:
    """``plate + w * (model - plate)`` with ``w = edge_weight(pha)``, in place on ``plate``;
    pixels with ``w == 0`` are not touched at all, so they keep the plate's exact value.

    Computed densely inside the box around ``alpha < high`` (outside it ``w`` is 0), then copied
    where ``w > 0``: the same float32 operations per pixel as a gather over the band, at a
    fraction of the CPU (boolean gathers and scatters were most of a PNG foreground's cost).
    The box is worked in bands of rows whose temporaries stay in the CPU's cache: the review
    foreground's box is the whole frame (alpha 0 is in the band), and full-frame temporaries
    made each of the seven passes wait on memory (33 -> 17 ms on a 1080p frame)."""
    box = box_around(np.asarray(pha) < np.float32(high))
    if box is None:
        return plate
    rows, cols = box
    with np.errstate(invalid="ignore", over="ignore"):     # values where w == 0 are thrown away
        for top in range(rows.start, rows.stop, BAND_ROWS):
            band = slice(top, min(top + BAND_ROWS, rows.stop)), cols
            inside = plate[band]
            w = edge_weight(pha[band], low, high)
            w = np.repeat(w, inside.shape[2]).reshape(inside.shape)  # per channel: broadcasting over 3 is slow
            mixed = np.subtract(model[band], inside, dtype=np.float32)
            mixed *= w
            mixed += inside
            np.copyto(inside, mixed, where=w > 0)
    return plate


def box_around(mask: np.ndarray) -> Optional[Tuple[slice, slice]]:
    """(rows, columns) of the smallest box holding every True of a 2-D mask; None if it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def edge_band_attributes(low: float = EDGE_BAND_LOW, high: float = EDGE_BAND_HIGH) -> dict:
    """EXR header attributes that record the band (``rvmatte/foreground_band_*``)."""
    return {"rvmatte/foreground_band": "smoothstep(alpha)",
            "rvmatte/foreground_band_low": float(low), "rvmatte/foreground_band_high": float(high)}
