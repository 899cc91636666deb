"""File-name patterns of image sequences, as Nuke and the worker write them."""
import os
import re

FRAME_TOKEN = re.compile(r"#+|%0?\d*d")
VIEW_TOKEN = re.compile(r"%[Vv]")
MOVIE_EXTENSIONS = (".mov", ".mp4", ".mkv", ".avi", ".webm", ".mxf", ".m4v", ".r3d", ".braw", ".ari")


def knob_path(path):
    """A path as a Nuke file knob must hold it: forward slashes (the knob is evaluated
    through TCL, which eats backslashes: `C:\\shots\\a.exr` would become `C:shotsa.exr`),
    and TCL's `[` `]` `$` escaped so a file name holding them is not run as a command."""
    path = path.replace("\\", "/")
    return re.sub(r"([\[\]$])", r"\\\1", path)


def has_frame_token(path):
    return FRAME_TOKEN.search(os.path.basename(path)) is not None


def is_movie(path):
    return os.path.splitext(path)[1].lower() in MOVIE_EXTENSIONS


def has_view_token(path):
    return VIEW_TOKEN.search(path) is not None


def for_view(path, view):
    """Nuke's %V (view name) and %v (its first letter) filled in."""
    return path.replace("%V", view).replace("%v", view[:1])


def frame_file(pattern, frame):
    """The file of one frame: `####` and `%04d` (or `%d`) give the same name."""
    def fill(match):
        token = match.group(0)
        if token.startswith("#"):
            width = len(token)
        else:
            digits = token[1:-1].lstrip("0")
            width = int(digits) if digits else 1
        return "%0*d" % (width, frame)
    head, tail = os.path.split(pattern)
    return os.path.join(head, FRAME_TOKEN.sub(fill, tail)) if head else FRAME_TOKEN.sub(fill, tail)


def complete_frames(pattern, first, last):
    """Frame numbers in first..last whose file exists and is not empty."""
    found = []
    for frame in range(first, last + 1):
        path = frame_file(pattern, frame)
        try:
            if os.path.getsize(path) > 0:
                found.append(frame)
        except OSError:
            pass
    return found
