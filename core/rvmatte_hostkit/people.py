"""What a host needs for ``rvmatte run --target/--target-point/--people`` (docs/people.md):
a viewer click as a ``--target-point`` value, who the persons of a run are, and where
the people EXR (with the ``CryptoPerson`` Cryptomatte layer) is written."""

import math
import os
import re

from . import sequences

#: The Cryptomatte layer of the people EXR (what a Cryptomatte node's layer is set to).
CRYPTO_LAYER = "CryptoPerson"
#: Where a host puts (0, 0) and which way its y runs; rvmatte's points are 0-based pixels from the top left.
ORIGINS = ("top-left", "bottom-left")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_NAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)=(.+)$")


class PointError(ValueError):
    """A click that names no pixel of the frame, or a bad person name; the message is for the artist."""


def check_name(name):
    """Raises PointError unless ``name`` may name a person (empty: unnamed)."""
    if name and not NAME.match(name):
        raise PointError("person name %r: letters, digits, '_' and '-', not starting with a digit" % name)


def named(name, value):
    """``NAME=value`` (``value`` alone for an empty name), as --target and --target-point take it."""
    check_name(name)
    return "%s=%s" % (name, value) if name else value


def point_argument(x, y, frame, width, height, origin="top-left", normalized=False, name=None):
    """The ``--target-point`` value for a click in a host's viewer.

    Nuke's viewer gives pixel coordinates of the format with (0, 0) at the bottom left
    (``origin="bottom-left"``); Blender's Clip Editor gives frame coordinates from 0 to 1,
    also from the bottom left (``normalized=True``). A click anywhere inside a pixel names
    that pixel. Raises PointError for a click outside the frame."""
    if origin not in ORIGINS:
        raise ValueError("origin %r: one of %s" % (origin, ", ".join(ORIGINS)))
    check_name(name)
    px, py = (x * width, y * height) if normalized else (x, y)
    column, row = int(math.floor(px)), int(math.floor(py))
    if origin == "bottom-left":
        row = height - 1 - row
    if not (0 <= column < width and 0 <= row < height):
        raise PointError("--target-point: the click at %g,%g on frame %d is outside the %dx%d frame"
                         % (x, y, int(frame), width, height))
    return named(name, "%d,%d@%d" % (column, row, int(frame)))


def person_names(targets=(), points=(), people=0):
    """The persons a run names, in the core's order (targets, then points; unnamed ones are
    ``person1``, ``person2``… by position; one name given twice is one person)."""
    names = []
    for text in list(targets) + list(points):
        match = _NAMED.match(text)
        if match and not re.match(r"^[A-Za-z]:[\\/]", text):
            name = match.group(1)
        else:
            name = "person%d" % (len(names) + 1)
        if name not in names:
            names.append(name)
    if not names and people:
        names = ["person%d" % (i + 1) for i in range(people)]
    return names


def shot_name(input_path):
    """The name rvmatte gives a shot (the people EXR is ``<name>.people.####.exr``)."""
    if sequences.is_movie(input_path):
        return os.path.splitext(os.path.basename(input_path))[0]
    pattern = sequences.parse_pattern(input_path)
    return pattern.name if pattern is not None else os.path.splitext(os.path.basename(input_path))[0]


def people_pattern(input_path, alpha_pattern):
    """The people EXR a host's ``rvmatte run --target/--people`` writes: beside the alpha pass."""
    return os.path.join(os.path.dirname(alpha_pattern), "%s.people.####.exr" % shot_name(input_path))
