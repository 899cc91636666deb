"""Split a shot's frames into farm chunks, each warmed up by a preroll.

RVM carries a recurrent state from frame to frame. A chunk that starts cold
looks different from the same frames inside a whole-shot run, so every chunk
first runs ``preroll`` frames before its start (computed, never written). The
preroll never reaches before the start of the contiguous run ("segment") the
chunk lies in: the shot's first frame, or the first frame after a hole in the
frame list. A hole resets the state exactly as a shot start does, so the first
chunk of every segment is what a whole-shot run does there.

Everything here is pure: frame numbers in, chunks out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..errors import InputError

#: How chunk lengths are chosen within a segment.
#: ``even``: as few chunks as ``chunk_size`` allows, lengths differing by at most
#: one frame (what Open Job Description's TASK_CHUNKING does with
#: ``defaultTaskCount``); ``fixed``: ``chunk_size`` frames each, the remainder
#: last (what Deadline's ChunkSize and OpenCue's chunk do).
DIVISIONS = ("even", "fixed")

_RANGE_ITEM = re.compile(r"^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*(?::\s*(\d+)\s*)?)?$")


@dataclass(frozen=True)
class Chunk:
    """Frames ``first..last`` written by one task, after ``preroll`` warm-up frames; with a
    reverse stream (``--ensemble reverse``) the task also reads ``postroll`` frames after it."""

    first: int
    last: int
    preroll: int
    segment_first: int
    postroll: int = 0

    @property
    def frames(self) -> str:
        """The ``--frames`` value: ``A-B`` (``A-A`` for one frame, as OpenJD writes it)."""
        return f"{self.first}-{self.last}"

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def warmup_first(self) -> int:
        """The first frame the task computes."""
        return self.first - self.preroll

    def as_dict(self) -> dict:
        return {
            "frames": self.frames,
            "first": self.first,
            "last": self.last,
            "preroll": self.preroll,
            "segment_first": self.segment_first,
            "postroll": self.postroll,
        }


def parse_frame_list(text: str, what: str = "frame list") -> list[int]:
    """Frame numbers from ``1001-1100``, ``1001-1050,1060-1100``, ``1001`` or ``1-99:2``.

    The result is sorted and without duplicates. Raises InputError naming ``what``.
    """
    frames: set[int] = set()
    items = [item for item in str(text).split(",") if item.strip()]
    if not items:
        raise InputError(f"{what}: empty frame list")
    for item in items:
        match = _RANGE_ITEM.match(item)
        if not match:
            raise InputError(f"{what}: cannot read frame range {item.strip()!r} (expected A, A-B or A-B:STEP)")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        step = int(match.group(3)) if match.group(3) is not None else 1
        if last < first:
            raise InputError(f"{what}: frame range {item.strip()} runs backwards")
        if step < 1:
            raise InputError(f"{what}: frame range {item.strip()} has a step below 1")
        frames.update(range(first, last + 1, step))
    return sorted(frames)


def format_frame_list(frames: Iterable[int]) -> str:
    """The shortest ``A-B,C,D-E`` text for a set of frames (inverse of parse_frame_list)."""
    return ",".join(f"{a}-{b}" if b > a else f"{a}" for a, b in segments(frames))


def segments(frames: Iterable[int]) -> list[tuple[int, int]]:
    """The contiguous runs ``(first, last)`` of a frame list, in order."""
    ordered = sorted(set(frames))
    runs: list[tuple[int, int]] = []
    for frame in ordered:
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


def chunk_lengths(count: int, chunk_size: int, division: str = "even") -> list[int]:
    """Lengths of the chunks that cover ``count`` consecutive frames."""
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be at least 1 (got {chunk_size})")
    if division not in DIVISIONS:
        raise ValueError(f"unknown chunk division {division!r}")
    if count <= 0:
        return []
    if division == "fixed":
        whole, rest = divmod(count, chunk_size)
        return [chunk_size] * whole + ([rest] if rest else [])
    pieces = -(-count // chunk_size)
    base, extra = divmod(count, pieces)
    lengths = [base] * pieces
    # The longer chunks are spread over the segment, at the positions OpenJD picks.
    for i in range(extra):
        lengths[(i * pieces) // extra] += 1
    return lengths


def plan_chunks(
    frames: Sequence[int], chunk_size: int, preroll: int, division: str = "even", reverse: bool = False
) -> list[Chunk]:
    """Cover ``frames`` with contiguous chunks, each with its clamped preroll and, when the runs
    have a reverse stream, the postroll its reverse blocks read (rvmatte.ensemble; never past
    the segment)."""
    if preroll < 0:
        raise InputError(f"--preroll must not be negative (got {preroll})")
    chunks: list[Chunk] = []
    for seg_first, seg_last in segments(frames):
        start = seg_first
        for length in chunk_lengths(seg_last - seg_first + 1, chunk_size, division):
            last = start + length - 1
            postroll = _reverse_postroll(last, seg_last) if reverse else 0
            chunks.append(Chunk(start, last, min(preroll, start - seg_first), seg_first, postroll))
            start += length
    return chunks


def _reverse_postroll(last: int, segment_last: int) -> int:
    from ..ensemble import block_end

    return block_end(last, segment_last) - last


def needs_explicit_preroll(chunk: Chunk, preroll: int, input_first: int | None) -> bool:
    """True when ``rvmatte run --frames <chunk> --preroll <preroll>`` would not warm
    up exactly as planned.

    The run clamps its preroll only at the input's first frame, so a chunk whose
    segment starts later (a hole, or a frame list that starts after the plate's
    first frame) must be told its own, shorter preroll.
    """
    if input_first is None:
        return chunk.preroll != preroll
    return chunk.preroll != min(preroll, chunk.first - input_first)


@dataclass(frozen=True)
class Run:
    """Consecutive chunks a farm can cut by itself: one frame range, one chunk size, one preroll."""

    chunks: tuple[Chunk, ...]
    preroll: int

    @property
    def first(self) -> int:
        return self.chunks[0].first

    @property
    def last(self) -> int:
        return self.chunks[-1].last

    @property
    def frames(self) -> str:
        return f"{self.first}-{self.last}"


def group_runs(chunks: Sequence[Chunk], preroll: int, input_first: int | None) -> list[Run]:
    """Group fixed-size chunks into runs for farms that chunk a frame range themselves.

    Deadline and OpenCue cut ``A-B`` into ``chunk_size`` pieces from ``A`` and hand
    every piece the same command, so only chunks that ``--preroll <preroll>``
    warms up correctly (see ``needs_explicit_preroll``) may share a run; any other
    chunk is a run of its own carrying its own preroll. Runs never cross a hole.
    """
    runs: list[list[Chunk]] = []
    for chunk in chunks:
        native = not needs_explicit_preroll(chunk, preroll, input_first)
        previous = runs[-1] if runs else None
        if (
            native
            and previous
            and previous[-1].segment_first == chunk.segment_first
            and not needs_explicit_preroll(previous[-1], preroll, input_first)
        ):
            previous.append(chunk)
        else:
            runs.append([chunk])
    return [
        Run(tuple(run), preroll if not needs_explicit_preroll(run[0], preroll, input_first) else run[0].preroll)
        for run in runs
    ]
