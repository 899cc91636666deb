"""Holdout and garbage mattes, applied to the model's alpha before anything is written.

* a **garbage matte** says where something may be kept: outside it (value 0)
  the alpha is forced to 0;
* a **holdout matte** says what must not be matted (a second person in the
  background): inside it (value 1) the alpha is forced to 0.

``alpha_out = alpha × garbage × (1 − holdout)``, both mattes clipped to 0..1,
so a feathered edge fades the alpha in proportion. The foreground pass is
premultiplied by that same alpha, so both passes agree. The recurrent state
is untouched: the mattes change what is written, not what the model sees.
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from rvmatte.mattes import MatteSequence


class Masks:
    """The optional holdout and garbage sequences of a run, frame-matched like the plate."""

    def __init__(self, holdout: Optional[str] = None, garbage: Optional[str] = None):
        self.holdout = MatteSequence(holdout, "--holdout") if holdout else None
        self.garbage = MatteSequence(garbage, "--garbage") if garbage else None

    def __bool__(self) -> bool:
        return bool(self.holdout or self.garbage)

    def check(self, frames: Iterable[int], width: int, height: int) -> None:
        """Every written frame has its mattes, at the plate's size (raises InputError)."""
        frames = list(frames)
        for sequence in (self.holdout, self.garbage):
            if sequence is not None:
                sequence.check_covers(frames, width, height)

    def keep(self, frame: int) -> Optional[np.ndarray]:
        """The factor the alpha of ``frame`` is multiplied by (None: no mattes)."""
        factor = None
        if self.garbage is not None:
            factor = np.clip(self.garbage.read(frame), 0.0, 1.0)
        if self.holdout is not None:
            hold = 1.0 - np.clip(self.holdout.read(frame), 0.0, 1.0)
            factor = hold if factor is None else factor * hold
        return factor

    def apply(self, frame: int, alpha: np.ndarray) -> np.ndarray:
        factor = self.keep(frame)
        return alpha if factor is None else alpha * factor

    def describe(self) -> dict:
        return {name: seq.hashes for name, seq in (("holdout", self.holdout), ("garbage", self.garbage)) if seq}
