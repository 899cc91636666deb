"""Single-channel matte sequences (alpha passes, ground truth, holdout and garbage mattes).

Any format OpenImageIO reads. The matte channel of a file is its alpha channel
(``A``, or ``<layer>.A`` when only one such exists), else a grey channel
(``Y``), else its only channel, else the first of R, G, B (a grey image saved
as RGB). Integer files are scaled to 0..1; float values are kept as stored
apart from NaN, which becomes 0. The display window is what counts: a smaller
data window is padded with zeros.
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np
import OpenImageIO as oiio

from rvmatte.errors import InputError
from rvmatte.io.images import display_window_of, fit_to_display, one_line
from rvmatte.io.sequence import SequencePattern, find_sequence
from rvmatte_hostkit.sparse import SparseSequence

_ALPHA_NAMES = ("A", "a", "alpha", "Alpha")
_GREY_NAMES = ("Y", "y", "L", "l", "grey", "gray", "luminance")


def matte_channel(channel_names: Tuple[str, ...]) -> int:
    """Index of the channel that holds the matte (see the module docstring)."""
    names = list(channel_names)
    for wanted in (_ALPHA_NAMES, _GREY_NAMES):
        for name in wanted:
            if name in names:
                return names.index(name)
    layered_alpha = [i for i, n in enumerate(names) if n.rpartition(".")[2] in _ALPHA_NAMES]
    if len(layered_alpha) == 1:
        return layered_alpha[0]
    return 0


class MatteSequence:
    """A numbered (or still) single-channel matte, read frame by frame.

    ``role`` names the sequence in errors (``--holdout``, ``ground truth`` …).
    A still image without a frame number stands for every frame.
    """

    def __init__(self, path: str, role: str = "matte"):
        self.role = role
        self.path = os.fspath(path)
        try:
            self.pattern: SequencePattern = find_sequence(self.path)
        except InputError as error:
            raise InputError(f"{role}: {error}") from None
        self.present = SparseSequence.scan(self.pattern)
        self.still = self.present.still
        self.frames: List[int] = list(self.present.frames)
        if not self.frames:
            raise InputError(f"{role}: no frames found for {self.pattern.hashes}")
        first = self.frame_path(self.frames[0])
        spec = self._spec(self.frames[0], first)
        x, y, self.width, self.height = display_window_of(spec)

    @property
    def hashes(self) -> str:
        return self.pattern.hashes

    def frame_path(self, frame: int) -> str:
        return self.pattern.path(frame)

    def has(self, frame: int) -> bool:
        return self.present.has(frame)

    def check_covers(self, frames, width: Optional[int] = None, height: Optional[int] = None) -> None:
        """Clear errors before any work: a frame the matte lacks, or a size unlike the plate's."""
        missing = self.present.missing(frames)
        if missing:
            raise InputError(f"{self.role}: frame {missing[0]} is missing: {self.frame_path(missing[0])}")
        if width is not None and (self.width, self.height) != (width, height):
            raise InputError(f"{self.role}: {self.hashes} is {self.width}x{self.height}, "
                             f"the plate is {width}x{height}")

    def read(self, frame: int) -> np.ndarray:
        """The matte of ``frame`` as float32 (H, W) over the display window."""
        path = self.frame_path(1 if self.still else frame)
        if not os.path.isfile(path):
            raise InputError(f"{self.role}: frame {frame} is missing: {path}")
        inp = oiio.ImageInput.open(path)
        if inp is None:
            raise InputError(f"{self.role}: frame {frame}: cannot read {path} ({one_line(oiio.geterror())})")
        try:
            spec = inp.spec()
            index = matte_channel(tuple(spec.channelnames))
            pixels = inp.read_image(0, 0, index, index + 1, oiio.FLOAT)
            if pixels is None or inp.has_error:
                raise InputError(f"{self.role}: frame {frame}: cannot read {path} ({one_line(inp.geterror())})")
        finally:
            inp.close()
        pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, 1)
        matte = fit_to_display(pixels, spec)[:, :, 0]
        _, _, width, height = display_window_of(spec)
        if (width, height) != (self.width, self.height):
            raise InputError(f"{self.role}: frame {frame} is {width}x{height}, "
                             f"frame {self.frames[0]} is {self.width}x{self.height}: {path}")
        return np.nan_to_num(matte, nan=0.0).astype(np.float32, copy=False)

    def _spec(self, frame: int, path: str) -> oiio.ImageSpec:
        inp = oiio.ImageInput.open(path)
        if inp is None:
            raise InputError(f"{self.role}: frame {frame}: cannot read {path} ({one_line(oiio.geterror())})")
        try:
            return inp.spec()
        finally:
            inp.close()
