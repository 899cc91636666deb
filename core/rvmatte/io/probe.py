"""Looking at a frame file before OpenImageIO opens it.

OpenImageIO keeps Python's global lock while it opens a file: a frame that blocks on open
(a FIFO, a stalled network mount) would freeze every thread of the run, SIGTERM's handler
included. So each frame is first stat'ed and its first byte read from Python, which lets go
of the lock while the system call waits, in a helper thread given a time limit: a file that
is not a regular file is refused at once, and one that does not answer within
``RVMATTE_READ_TIMEOUT`` seconds (default 600, generous for slow storage) is an error
naming the frame, while the rest of the process stays responsive.
"""
from __future__ import annotations

import os
import stat
import threading

from rvmatte.errors import InputError

DEFAULT_READ_TIMEOUT_S = 600.0


def read_timeout() -> float:
    text = os.environ.get("RVMATTE_READ_TIMEOUT", "").strip()
    try:
        value = float(text) if text else DEFAULT_READ_TIMEOUT_S
    except ValueError:
        raise InputError(f"RVMATTE_READ_TIMEOUT={text!r}: expected seconds, e.g. 600") from None
    if value <= 0:
        raise InputError(f"RVMATTE_READ_TIMEOUT={text!r}: must be more than 0 seconds")
    return value


def _look(path: str) -> str:
    """'' when ``path`` is a regular file whose first byte can be read, else why not."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return ""          # OpenImageIO's open names a missing frame as such
    except OSError as exc:
        return exc.strerror or str(exc)
    if not stat.S_ISREG(info.st_mode):
        kind = "a pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device" if (
            stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)) else "a folder" if stat.S_ISDIR(
            info.st_mode) else "not a regular file"
        return f"it is {kind}, not an image file"
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def check_frame_file(frame: int, path: str) -> None:
    """Raise InputError naming the frame when its file is not a readable regular file, or when
    looking at it takes longer than the read timeout."""
    limit = read_timeout()
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(_look(path)), name="rvmatte-probe", daemon=True)
    worker.start()
    worker.join(limit)
    if not answer:
        raise InputError(f"frame {frame}: reading {path} took more than {limit:g} s "
                         f"(a stalled mount? RVMATTE_READ_TIMEOUT sets the limit)")
    if answer[0]:
        raise InputError(f"frame {frame}: cannot read {path}: {answer[0]}")
