"""The order in which the session sees frames, and where its recurrent state is cleared.

A run computes preroll frames (not written) and the requested frames. Two things
reshape that list:

* **cuts** (``--reset-at``, ``--detect-cuts``): the state is cleared at the first
  frame of each new shot, and the preroll never reaches back across a cut;
* **warm-up** (``--warmup N``): wherever the state starts empty (the first
  computed frame and every cut), the N frames that follow are run in reverse
  order first, ending next to the start frame, so the forward pass begins with
  a state that has already seen the person. Warm-up frames stay inside their
  shot and are never written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Sequence

DEFAULT_WARMUP = 0     # frames; chosen from the measurements in docs/quality.md


@dataclass(frozen=True)
class Step:
    """One frame given to the session."""

    frame: int
    write: bool = False       # a requested frame on the forward pass
    reset: bool = False       # clear the recurrent state before this frame
    warmup: bool = False      # part of a reverse warm-up pass
    postroll: bool = False    # read only for the reverse stream of an ensemble (rvmatte.ensemble)


def clip_preroll(compute: Sequence[int], first_requested: int, cuts: Iterable[int]) -> List[int]:
    """``compute`` without the preroll frames that lie before the last cut at or before
    ``first_requested`` (the preroll of a shot never comes from the previous shot)."""
    starts = [c for c in cuts if c <= first_requested]
    if not starts:
        return list(compute)
    boundary = max(starts)
    return [f for f in compute if f >= boundary]


def build_schedule(compute: Sequence[int], requested: Iterable[int], available: Iterable[int],
                   cuts: Iterable[int], warmup: int = 0) -> List[Step]:
    """The steps for ``compute`` (frames in forward order): state resets at the first frame
    and at every cut, each preceded by a reverse warm-up of up to ``warmup`` frames taken
    from the same shot (contiguous frames present in ``available``)."""
    if warmup < 0:
        raise ValueError(f"warm-up must be 0 or more, got {warmup}")
    wanted = set(requested)
    present = set(available)
    cut_list = sorted(set(cuts))
    steps: List[Step] = []
    for index, frame in enumerate(compute):
        starts_shot = index == 0 or frame in cut_list
        if starts_shot:
            back = _warmup_frames(frame, warmup, present, cut_list)
            for position, warm in enumerate(back):
                steps.append(Step(warm, reset=position == 0, warmup=True))
            steps.append(Step(frame, write=frame in wanted, reset=not back))
        else:
            steps.append(Step(frame, write=frame in wanted))
    return steps


def _warmup_frames(start: int, count: int, present: set, cuts: Sequence[int]) -> List[int]:
    """Up to ``count`` frames after ``start`` in reverse order, stopping at a gap or the next cut."""
    later_cuts = [c for c in cuts if c > start]
    limit = later_cuts[0] if later_cuts else None
    forward: List[int] = []
    frame = start + 1
    while len(forward) < count and frame in present and (limit is None or frame < limit):
        forward.append(frame)
        frame += 1
    return forward[::-1]


def shot_starts(steps: Sequence[Step]) -> List[int]:
    """Frames where the forward pass starts a fresh shot (after a reset and its warm-up)."""
    starts: List[int] = []
    pending = False
    for step in steps:
        if step.reset:
            pending = True
        if pending and not step.warmup:
            starts.append(step.frame)
            pending = False
    return starts
