"""The worker's `--progress json` lines, read into typed messages.

One JSON object per stdout line (see docs/cli.md). Lines that are not JSON
objects become `Log` messages; events this add-on does not know are dropped so a
newer worker keeps working with an older add-on.
"""

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Started:
    frames: int
    first: int
    last: int
    width: int = 0
    height: int = 0
    device: str = ""
    variant: str = ""
    downsample_ratio: float = 0.0
    version: str = ""
    outputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FrameDone:
    frame: int
    done: int
    total: int
    fps: float = 0.0
    skipped: bool = False


@dataclass(frozen=True)
class Warned:
    message: str
    frame: int | None = None


@dataclass(frozen=True)
class Finished:
    frames: int
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    outputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    message: str


@dataclass(frozen=True)
class Log:
    text: str


Message = Started | FrameDone | Warned | Finished | Failed | Log


def _pick(cls, obj, required):
    """Build `cls` from the keys of `obj` it declares; None when a required key is missing."""
    if any(key not in obj for key in required):
        return None
    names = cls.__dataclass_fields__
    return cls(**{k: v for k, v in obj.items() if k in names})


def parse_line(line):
    """One stdout line → a message, or None for blank lines and unknown events."""
    text = line.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return Log(text)
    if not isinstance(obj, dict) or "event" not in obj:
        return Log(text)
    event = obj["event"]
    try:
        if event == "start":
            return _pick(Started, obj, ("frames", "first", "last"))
        if event == "frame":
            return _pick(FrameDone, obj, ("frame", "done", "total"))
        if event == "warning":
            return _pick(Warned, obj, ("message",))
        if event == "done":
            return _pick(Finished, obj, ("frames",))
        if event == "error":
            return Failed(str(obj.get("message") or "unknown error"))
    except TypeError:
        return Log(text)
    return None


def error_line(stderr_lines):
    """The worker's own one-line error from its stderr, without the `rvmatte: error:` prefix."""
    for line in reversed(stderr_lines):
        text = line.strip()
        if text.startswith("rvmatte: error:"):
            return text[len("rvmatte: error:"):].strip()
    return None
