"""Frames in and out: image sequences (OpenImageIO), movies (PyAV), atomic EXR/PNG writers, colour."""

from __future__ import annotations

import os

from ..errors import InputError, OutputError, RvmatteError
from .images import ImageSequenceSource
from .movies import MOVIE_EXTENSIONS, MovieSource, is_movie
from .sequence import SequencePattern, find_sequence, output_pattern
from .source import Plate, Source
from .writing import EXR_COMPRESSIONS, frame_is_complete, remove_temp_files, write_frame

__all__ = [
    "EXR_COMPRESSIONS",
    "MOVIE_EXTENSIONS",
    "ImageSequenceSource",
    "InputError",
    "MovieSource",
    "OutputError",
    "Plate",
    "RvmatteError",
    "SequencePattern",
    "Source",
    "frame_is_complete",
    "open_input",
    "output_pattern",
    "remove_temp_files",
    "write_frame",
]


def open_input(path: str, *, layer: str | None = None, start_frame: int | None = None) -> Source:
    """The shot at ``path``: a sequence pattern, one file of a sequence, a folder holding one
    sequence, or a movie file. Raises InputError naming the path when it cannot be used.

    ``start_frame`` numbers a movie's first frame (default 1); image sequences keep
    the numbers in their file names and ignore it.
    """
    path = os.fspath(path)
    if not path:
        raise InputError("no input given")
    if is_movie(path):
        if layer is not None:
            raise InputError(f"{path}: --layer applies to multi-layer EXR files, not movies")
        return MovieSource(path, start_frame=start_frame)
    return ImageSequenceSource(path, find_sequence(path), layer=layer)
