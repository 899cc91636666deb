"""What every input gives the engine: frame numbers, geometry and plates, one frame at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ..errors import InputError


@dataclass
class Plate:
    """One decoded frame, as the network's display window sees it.

    ``rgb`` is float32 (H, W, 3), C-contiguous, values as stored: integer formats
    scaled to 0..1, float data untouched (NaN/inf included). ``header`` carries
    the metadata an output of this frame should keep (see ``rvmatte.io.header``).
    """

    frame: int
    rgb: np.ndarray
    header: dict = field(default_factory=dict)
    path: str = ""
    warning: str | None = None     # a harmless difference from the first frame, to report


class Source:
    """Base of the image-sequence and movie inputs; subclasses fill the attributes."""

    kind: str = ""
    path: str = ""
    name: str = ""
    frames: list[int]
    width: int = 0
    height: int = 0
    pixel_aspect: float = 1.0
    fps: float | None = None
    is_float: bool = False
    colorspace_hint: str | None = None
    channels: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    file_format: str = ""
    timecode = None

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    @property
    def missing(self) -> list[int]:
        """Frame numbers absent between the first and last frame."""
        present = set(self.frames)
        return [f for f in range(self.first, self.last + 1) if f not in present]

    def frame_range(self, first: int | None = None, last: int | None = None) -> list[int]:
        """Every frame from ``first`` to ``last`` (default: the whole input).

        Raises InputError for a bound outside the input or a frame missing inside
        the range, so a gap is never skipped silently.
        """
        first = self.first if first is None else first
        last = self.last if last is None else last
        if first > last:
            raise InputError(f"{self.path}: frame range {first}-{last} is empty")
        if first < self.first or last > self.last:
            raise InputError(
                f"{self.path}: frames {first}-{last} requested, the input has {self.first}-{self.last}"
            )
        present = set(self.frames)
        for frame in range(first, last + 1):
            if frame not in present:
                raise InputError(f"frame {frame} is missing: {self.frame_path(frame)}")
        return list(range(first, last + 1))

    def frame_path(self, frame: int) -> str:
        return self.path

    def read(self, frames: Iterable[int]) -> Iterator[Plate]:
        raise NotImplementedError

    def describe(self) -> dict:
        """A plain summary for ``rvmatte info``."""
        return {
            "path": self.path,
            "kind": self.kind,
            "format": self.file_format,
            "name": self.name,
            "frames": len(self.frames),
            "first": self.first,
            "last": self.last,
            "missing": self.missing,
            "width": self.width,
            "height": self.height,
            "pixel_aspect": self.pixel_aspect,
            "fps": self.fps,
            "is_float": self.is_float,
            "colorspace_hint": self.colorspace_hint,
            "channels": list(self.channels),
            "layers": list(self.layers),
            "timecode": self.timecode.text() if self.timecode is not None else None,
        }
