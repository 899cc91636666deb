"""File-name patterns as Nuke writes them: the host kit's sequences, in Nuke's notations
(`####` and `%04d`; `@` is an ordinary character and `$` is TCL), plus Nuke's own
%V/%v view tokens and what a file knob must hold."""
import re

from .rvmatte_hostkit import sequences as _kit
from .rvmatte_hostkit.sparse import SparseSequence

NOTATIONS = ("hashes", "printf")
VIEW_TOKEN = re.compile(r"%[Vv]")


def knob_path(path):
    """A path as a Nuke file knob must hold it: forward slashes (the knob is evaluated
    through TCL, which eats backslashes: `C:\\shots\\a.exr` would become `C:shotsa.exr`),
    and TCL's `[` `]` `$` escaped so a file name holding them is not run as a command."""
    path = path.replace("\\", "/")
    return re.sub(r"([\[\]$])", r"\\\1", path)


def has_frame_token(path):
    return _kit.has_frame_token(path, NOTATIONS)


def is_movie(path):
    return _kit.is_movie(path)


def has_view_token(path):
    return VIEW_TOKEN.search(path) is not None


def for_view(path, view):
    """Nuke's %V (view name) and %v (its first letter) filled in."""
    return path.replace("%V", view).replace("%v", view[:1])


def frame_file(pattern, frame):
    """The file of one frame: `####` and `%04d` (or `%d`) give the same name; a path
    without a frame token is the file of every frame."""
    parsed = _kit.parse_pattern(pattern, NOTATIONS)
    return pattern if parsed is None else parsed.path(frame)


def complete_frames(pattern, first, last):
    """Frame numbers in first..last whose file exists and is not empty."""
    parsed = _kit.parse_pattern(pattern, NOTATIONS)
    if parsed is None:
        return []
    return SparseSequence(parsed, parsed.frames_on_disk(nonempty=True)).within(first, last)
