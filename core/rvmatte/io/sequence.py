"""Numbered image sequences: what a user typed resolved to a sequence on disk.

The notations and the pattern itself are the host kit's (rvmatte_hostkit.sequences,
shared with the Blender and Nuke adapters): ``plate.####.exr``, ``plate.@@@@.exr``,
``plate.%04d.exr``, ``plate.%d.exr``, ``plate.$F4.exr``, ``plate.$F.exr``. Here
they become the core's errors, and a single file or a directory holding one
sequence resolves to the whole sequence.
"""

from __future__ import annotations

import os

from rvmatte_hostkit import sequences as _kit
from rvmatte_hostkit.sequences import (  # noqa: F401  (the core's names for them)
    IMAGE_EXTENSIONS,
    SequencePattern,
    sequence_of_file,
    sequences_in_directory,
    split_numbered,
)

from ..errors import InputError, OutputError


def parse_pattern(spec: str) -> SequencePattern | None:
    """A pattern written with a padding token, or None when ``spec`` holds no token."""
    try:
        return _kit.parse_pattern(spec)
    except _kit.PatternError as error:
        raise InputError(str(error)) from None


def find_sequence(path: str) -> SequencePattern:
    """Resolve what a user typed (pattern, one file, or directory) to a sequence on disk.

    Raises InputError when nothing matches, naming the path.
    """
    pattern = parse_pattern(path)
    if pattern is not None:
        if not os.path.isdir(pattern.directory or "."):
            raise InputError(f"input folder does not exist: {pattern.directory}")
        if not pattern.frames_on_disk():
            raise InputError(f"no frames found for {pattern.hashes}")
        return pattern
    if os.path.isdir(path):
        found = sequences_in_directory(path)
        if not found:
            raise InputError(f"no numbered image sequence in folder {path}")
        if len(found) > 1:
            listed = ", ".join(s.hashes for s in found[:6]) + (" ..." if len(found) > 6 else "")
            raise InputError(f"folder {path} holds {len(found)} image sequences, name one: {listed}")
        return found[0]
    if os.path.isfile(path):
        return sequence_of_file(path)
    raise InputError(f"input does not exist: {path}")


def output_pattern(spec: str) -> SequencePattern:
    """An output sequence from any accepted notation.

    A numbered name gives its padding (``out/a.1001.exr`` → ``out/a.####.exr``); a
    name without a number gets ``.####`` before its extension (``out/a.exr``).
    """
    try:
        pattern = parse_pattern(spec)
    except InputError as error:
        raise OutputError(str(error)) from None
    directory, base = os.path.split(spec)
    if pattern is None:
        stem, ext = os.path.splitext(base)
        if not ext:
            raise OutputError(f"output pattern {spec} has no file extension (e.g. {spec}.####.exr)")
        parts = split_numbered(base)
        if parts is not None:
            pattern = SequencePattern(directory, parts[0], parts[2], len(parts[1]))
        else:
            pattern = SequencePattern(directory, stem + ".", ext, 4)
    if not pattern.extension:
        raise OutputError(f"output pattern {spec} has no file extension (e.g. {pattern.hashes}.exr)")
    return pattern
