"""What the user gives to say who is who: masks on some frames, clicked points, or a count.

* ``--target [NAME=]MASK``: a matte sequence (a rough roto or paint blob is
  enough) holding the person on one or more frames; frames without a file are
  tracked. Pixels above 0.5 count.
* ``--target-point [NAME=]X,Y@FRAME``: the person under a pixel of the plate
  (x from the left, y from the top, 0-based) on that frame.
* ``--people N``: the N largest regions of the first frame (specks under 0.2 % of the frame are nobody), named left to right.

Targets without a name are ``person1``, ``person2``… in the order given; a name
given twice (a mask and a point, or points on several frames) is one person.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from rvmatte.errors import InputError
from rvmatte_hostkit import people as hostkit_people
from rvmatte.mattes import MatteSequence

MASK_THRESHOLD = 0.5
_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)=(.+)$")
_POINT = re.compile(r"^\s*(-?\d+(?:\.\d*)?)\s*,\s*(-?\d+(?:\.\d*)?)\s*@\s*(-?\d+)\s*$")


class TargetError(InputError):
    """A target that cannot be used; the message names the option, the file or the frame."""


@dataclass
class Point:
    text: str
    x: int
    y: int
    frame: int


@dataclass
class Person:
    name: str
    masks: List[MatteSequence] = field(default_factory=list)
    points: List[Point] = field(default_factory=list)


def _split_name(text: str):
    match = _NAME.match(text)
    if match and not re.match(r"^[A-Za-z]:[\\/]", text):
        return match.group(1), match.group(2)
    return None, text


def parse_point(text: str) -> Point:
    _, value = _split_name(text)
    match = _POINT.match(value)
    if not match:
        raise TargetError(f"--target-point {text}: expected X,Y@FRAME, e.g. 250,140@1001")
    return Point(text, int(round(float(match.group(1)))), int(round(float(match.group(2)))), int(match.group(3)))


def people_from(targets: Sequence[str] = (), points: Sequence[str] = (), count: Optional[int] = None) -> List[Person]:
    """The named persons of a run, in the order given (raises TargetError)."""
    people: Dict[str, Person] = {}

    def person(name: Optional[str]) -> Person:
        name = name or f"person{len(people) + 1}"
        return people.setdefault(name, Person(name))

    for text in targets:
        name, path = _split_name(text)
        person(name).masks.append(MatteSequence(path, f"--target {text}"))
    for text in points:
        name, _ = _split_name(text)
        person(name).points.append(parse_point(text))
    if count is not None:
        if people:
            raise TargetError("--people N names people by region; give it without --target or --target-point")
        for i in range(count):
            person(None)
    return list(people.values())


def check(people: Sequence[Person], frames: Sequence[int], width: int, height: int) -> None:
    """Masks and points fit the shot (size, frames, inside the frame) before any work."""
    shot = set(frames)
    span = f"{frames[0]}-{frames[-1]}"
    for person in people:
        for mask in person.masks:
            if (mask.width, mask.height) != (width, height):
                raise TargetError(f"{mask.role}: {mask.hashes} is {mask.width}x{mask.height}, "
                                  f"the plate is {width}x{height}")
            if not mask.still:
                for frame in mask.frames:
                    if frame not in shot:
                        raise TargetError(f"{mask.role}: frame {frame} ({mask.frame_path(frame)}) "
                                          f"is outside the shot ({span})")
        for point in person.points:
            if point.frame not in shot:
                raise TargetError(f"--target-point {point.text}: frame {point.frame} is outside the shot ({span})")
            if not (0 <= point.x < width and 0 <= point.y < height):
                raise TargetError(f"--target-point {point.text}: {point.x},{point.y} is outside the "
                                  f"{width}x{height} frame")


def anchor_frames(people: Sequence[Person], frames: Sequence[int]) -> List[int]:
    """The frames where a mask or a point says who is who, in order."""
    found = set()
    for person in people:
        for mask in person.masks:
            found.update(frames if mask.still else [f for f in mask.frames if f in set(frames)])
        found.update(p.frame for p in person.points)
    return sorted(found)


def read_masks(people: Sequence[Person], frame: int) -> Dict[int, np.ndarray]:
    """label (1-based person index) → boolean mask of ``frame`` for the persons masked there."""
    out = {}
    for index, person in enumerate(people, start=1):
        for mask in person.masks:
            if mask.has(frame):
                selected = mask.read(frame) > MASK_THRESHOLD
                if not selected.any():
                    raise TargetError(f"{mask.role}: frame {frame} is empty (no pixel above {MASK_THRESHOLD}): "
                                      f"{mask.frame_path(frame)}")
                out[index] = out[index] | selected if index in out else selected
    return out


def points_on(people: Sequence[Person], frame: int):
    """(label, Point) for the points given on ``frame``."""
    return [(index, p) for index, person in enumerate(people, start=1) for p in person.points if p.frame == frame]


ORIGINS = hostkit_people.ORIGINS


def point_argument(x: float, y: float, frame: int, *, width: int, height: int, origin: str = "top-left",
                   normalized: bool = False, name: Optional[str] = None) -> str:
    """The ``--target-point`` value for a click in a host's viewer (``rvmatte_hostkit.people.point_argument``,
    which the hosts call themselves). Raises TargetError for a click outside the frame or a bad name."""
    try:
        return hostkit_people.point_argument(x, y, frame, width, height, origin=origin, normalized=normalized,
                                             name=name)
    except hostkit_people.PointError as exc:
        raise TargetError(str(exc)) from None
