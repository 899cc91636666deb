"""Hard-cut detection by a robust frame-difference test (no model).

Each frame is shrunk to a thumbnail (about 96 px wide, box-averaged, so grain and
compression noise average out). Between consecutive frames two distances are
measured: the mean absolute pixel difference ``d`` and the colour-histogram
distance ``h`` (half the L1 distance of 16-bin per-channel histograms, 0..1).
A transition is a cut when

* ``d`` is at least ``RATIO`` times the median ``d`` of the neighbouring
  transitions (``WINDOW`` on each side, the candidate excluded) — camera and
  subject motion raise the median too, so a fast pan is not a cut — and at
  least ``MIN_DIFFERENCE``;
* and either ``h`` is at least ``MIN_HISTOGRAM`` — a new shot changes the
  colour distribution, motion within a shot mostly moves it around — or the
  jump is overwhelming on its own (``d`` ≥ ``STRONG_DIFFERENCE`` and twice the
  ratio), for two shots with similar colours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

import numpy as np

THUMB_WIDTH = 96
BINS = 16
WINDOW = 6
RATIO = 4.0
MIN_DIFFERENCE = 0.06
MIN_HISTOGRAM = 0.2
STRONG_DIFFERENCE = 0.12


@dataclass(frozen=True)
class Cut:
    """The first frame of a new shot, why it was chosen and how clearly."""

    frame: int
    source: str                  # "given" (--reset-at) or "detected"
    score: Optional[float] = None   # d / median d of the neighbours (detected cuts)
    difference: Optional[float] = None
    histogram: Optional[float] = None

    def describe(self) -> dict:
        info = {"frame": self.frame, "source": self.source}
        for name in ("score", "difference", "histogram"):
            value = getattr(self, name)
            if value is not None:
                info[name] = round(float(value), 4)
        return info


def thumbnail(rgb: np.ndarray, width: int = THUMB_WIDTH) -> np.ndarray:
    """A box-averaged copy about ``width`` pixels wide, values clipped to 0..1."""
    height_in, width_in = rgb.shape[:2]
    step = max(1, width_in // width)
    rows, cols = (height_in // step) * step, (width_in // step) * step
    if rows == 0 or cols == 0:
        return np.clip(rgb, 0.0, 1.0).astype(np.float32)
    blocks = rgb[:rows, :cols].reshape(rows // step, step, cols // step, step, -1)
    return np.clip(blocks.mean(axis=(1, 3)), 0.0, 1.0).astype(np.float32)


def histogram(thumb: np.ndarray) -> np.ndarray:
    """Per-channel histograms, each normalised to sum 1, concatenated."""
    channels = thumb.reshape(-1, thumb.shape[-1])
    parts = [np.histogram(channels[:, c], bins=BINS, range=(0.0, 1.0))[0] for c in range(channels.shape[1])]
    counts = np.concatenate(parts).astype(np.float64)
    return counts / max(channels.shape[0], 1)


def transition_distances(thumbs: Sequence[np.ndarray]) -> tuple:
    """(d, h) arrays: entry i compares thumbs[i] with thumbs[i + 1]."""
    diffs, hists = [], []
    previous_hist = None
    for i, thumb in enumerate(thumbs):
        current = histogram(thumb)
        if i:
            diffs.append(float(np.abs(thumb - thumbs[i - 1]).mean()))
            hists.append(0.5 * float(np.abs(current - previous_hist).sum()) / thumb.shape[-1])
        previous_hist = current
    return np.array(diffs), np.array(hists)


def find_cuts(frames: Sequence[int], thumbs: Sequence[np.ndarray]) -> List[Cut]:
    """The cuts among consecutive ``frames`` (numbers) given their thumbnails."""
    if len(frames) != len(thumbs):
        raise ValueError("one thumbnail per frame is needed")
    diffs, hists = transition_distances(thumbs)
    cuts: List[Cut] = []
    for i, (d, h) in enumerate(zip(diffs, hists)):
        if frames[i + 1] != frames[i] + 1:
            continue                       # a gap is not a transition we can judge
        neighbours = np.concatenate([diffs[max(0, i - WINDOW):i], diffs[i + 1:i + 1 + WINDOW]])
        baseline = float(np.median(neighbours)) if neighbours.size else 0.0
        score = d / max(baseline, 1e-4)
        jump = d >= MIN_DIFFERENCE and d >= RATIO * baseline
        strong = d >= STRONG_DIFFERENCE and d >= 2 * RATIO * baseline
        if jump and (h >= MIN_HISTOGRAM or strong):
            cuts.append(Cut(frames[i + 1], "detected", score=score, difference=d, histogram=h))
    return cuts


def detect_cuts(frames: Sequence[int], images: Iterable[np.ndarray]) -> List[Cut]:
    """Cuts in a run of frames: ``images`` yields each frame's display-encoded RGB, in order."""
    return find_cuts(list(frames), [thumbnail(image) for image in images])


def parse_reset_at(text: str) -> List[int]:
    """``"1015,1040"`` → [1015, 1040] (sorted, duplicates removed)."""
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            values.append(int(part))
        except ValueError:
            raise ValueError(f"--reset-at {text!r}: expected frame numbers separated by commas, "
                             f"e.g. 1015,1040") from None
    if not values:
        raise ValueError(f"--reset-at {text!r}: no frame numbers")
    return sorted(set(values))
