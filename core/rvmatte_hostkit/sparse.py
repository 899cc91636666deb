"""Sequences present on some frames only: keyframes (a few hand-fixed mattes of a shot),
masks that start late or have gaps, passes a cancelled run left half done.

A plate has every frame of its range; these do not, and what a front end asks of
them is which frames are there, which of a range are missing, and which present
frame is nearest. A single un-numbered file (a still) stands for every frame.
"""

import bisect
import re

from .sequences import SequencePattern, parse_pattern, sequence_of_file


class SparseSequence(object):
    """The frames of ``pattern`` that exist, sorted (``frames``), or a still (``still``)."""

    def __init__(self, pattern, frames):
        self.pattern = pattern
        self.still = pattern.padding is None
        self.frames = (1,) if self.still else tuple(sorted(set(frames)))

    @classmethod
    def scan(cls, pattern, nonempty=False):
        """The frames of a SequencePattern (or of a pattern/file path) found on disk now."""
        if not isinstance(pattern, SequencePattern):
            pattern = parse_pattern(pattern) or sequence_of_file(pattern)
        if pattern.padding is None:
            return cls(pattern, ())
        return cls(pattern, pattern.frames_on_disk(nonempty=nonempty))

    def __bool__(self):
        return bool(self.frames)

    def __len__(self):
        return len(self.frames)

    def __iter__(self):
        return iter(self.frames)

    def __contains__(self, frame):
        return self.has(frame)

    def __repr__(self):
        return "SparseSequence(%s: %s)" % (self.pattern.hashes, "still" if self.still else format_ranges(self.frames))

    def has(self, frame):
        if self.still:
            return True
        index = bisect.bisect_left(self.frames, frame)
        return index < len(self.frames) and self.frames[index] == frame

    def path(self, frame):
        """The file that serves ``frame`` (a still serves them all)."""
        return self.pattern.path(1 if self.still else frame)

    @property
    def first(self):
        return self.frames[0] if self.frames else None

    @property
    def last(self):
        return self.frames[-1] if self.frames else None

    def missing(self, frames):
        """The frames of ``frames`` (any iterable, e.g. ``range(a, b + 1)``) that are not present."""
        if self.still:
            return []
        present = set(self.frames)
        return [f for f in frames if f not in present]

    def within(self, first, last):
        """The present frames in ``first``..``last``."""
        if self.still:
            return list(range(first, last + 1))
        lo = bisect.bisect_left(self.frames, first)
        hi = bisect.bisect_right(self.frames, last)
        return list(self.frames[lo:hi])

    def nearest(self, frame):
        """The present frame closest to ``frame`` (the earlier one on a tie), None when empty."""
        if not self.frames:
            return None
        if self.still:
            return frame
        index = bisect.bisect_left(self.frames, frame)
        candidates = self.frames[max(index - 1, 0):index + 1]
        return min(candidates, key=lambda f: (abs(f - frame), f))

    def describe(self):
        """``plate.####.exr (frames 1001-1003, 1010)`` for messages."""
        if self.still:
            return "%s (a still, every frame)" % self.pattern.hashes
        return "%s (frames %s)" % (self.pattern.hashes, format_ranges(self.frames) or "none")


def ranges(frames):
    """Sorted runs of consecutive frames: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    runs = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


def format_ranges(frames, limit=8):
    """[1001, 1002, 1003, 1010] → ``1001-1003, 1010``; past ``limit`` runs, `` …`` and the count."""
    runs = ranges(frames)
    text = ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in runs[:limit])
    if len(runs) > limit:
        text += " … (%d more runs)" % (len(runs) - limit)
    return text


_RUN = re.compile(r"^(-?\d+)(?:-(-?\d+))?$")


def parse_ranges(text):
    """``1003,1010,1020-1022`` (commas and/or spaces) → the sorted frames, each once; the inverse of
    ``format_ranges``. Empty text gives []. Raises ValueError naming the word that is not a frame or
    a forward range ``A-B``."""
    frames = set()
    for word in re.split(r"[\s,]+", str(text).strip()):
        if not word:
            continue
        match = _RUN.match(word)
        if not match:
            raise ValueError("%r is not a frame or a range like 1020-1022" % word)
        first = int(match.group(1))
        last = first if match.group(2) is None else int(match.group(2))
        if last < first:
            raise ValueError("the range %s runs backwards" % word)
        frames.update(range(first, last + 1))
    return sorted(frames)
