"""Scene frames ↔ the source's own frame numbers, and image sequences on disk.

Blender shows, at scene frame F, the source frame `F - scene_start + 1 + offset`
(an Image node's "Start Frame"/"Offset", a Movie Clip's "Start Frame"/"Frame
Offset"). The worker numbers its outputs with the source's own numbers (file
numbers of a sequence, 1-based frame index of a movie), so the passes read back
through the same mapping line up frame for frame with the source.
"""

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FrameMap:
    scene_start: int = 1
    offset: int = 0

    def source_frame(self, scene_frame):
        return scene_frame - self.scene_start + 1 + self.offset

    def scene_frame(self, source_frame):
        return source_frame + self.scene_start - 1 - self.offset


_LAST_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


@dataclass(frozen=True)
class SequencePath:
    """A file path split around its frame number: `head`, `number` (`digits` wide), `tail`."""

    head: str
    number: int
    digits: int
    tail: str

    def pattern(self):
        """The path with `#` padding, as the worker reads it."""
        return f"{self.head}{'#' * self.digits}{self.tail}"

    def path(self, number):
        return f"{self.head}{number:0{self.digits}d}{self.tail}"


def split_sequence_path(path):
    """Split at the last digit group of the file name; None when the name has no digits."""
    directory, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    match = _LAST_NUMBER.match(stem)
    if match is None:
        return None
    head, digits, rest = match.groups()
    return SequencePath(os.path.join(directory, head), int(digits), len(digits), rest + ext)


def sequence_range(path):
    """(first, last) file numbers of the sequence `path` belongs to; None if no file is there."""
    seq = split_sequence_path(path)
    if seq is None:
        return None
    directory, head = os.path.split(seq.head)
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return None
    numbers = []
    for name in names:
        if name.startswith(head) and name.endswith(seq.tail):
            middle = name[len(head):len(name) - len(seq.tail)]
            if middle.isdigit() and (len(middle) == seq.digits or len(middle) > seq.digits and middle[0] != "0"):
                numbers.append(int(middle))
    if not numbers:
        return None
    return min(numbers), max(numbers)
