"""The worker's ``--progress json`` lines read into typed messages (docs/cli.md).

One JSON object per stdout line, with an ``event`` of start, frame, warning, cut,
done or error (``rvmatte run``), start, step and done with ``"task": "finetune"``
(``rvmatte finetune``), check (``rvmatte doctor``), step or installed (the engine
installer). A line that is not a JSON object becomes a ``Log``; an event this
copy does not know is dropped, so a newer worker keeps working with an older host.
"""

import json
from dataclasses import dataclass, field
from typing import Optional

ERROR_PREFIX = "rvmatte: error:"


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
    output_version: Optional[dict] = None     # --versions: name, folder, state, reused


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
    frame: Optional[int] = None


@dataclass(frozen=True)
class Cut:
    """The recurrent state was reset at ``frame`` (a shot cut)."""
    frame: int
    source: str = ""


@dataclass(frozen=True)
class Finished:
    frames: int
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    outputs: dict = field(default_factory=dict)
    output_version: Optional[dict] = None     # --versions: the version written, and those removed


@dataclass(frozen=True)
class Failed:
    message: str


@dataclass(frozen=True)
class Log:
    text: str


@dataclass(frozen=True)
class Step:
    """The engine installer began step ``done`` of ``total`` (``rvmatte_hostkit.engine``)."""
    name: str
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class Installed:
    """The engine installer finished: the interpreter to use as the worker, and the weights it fetched."""
    python: str
    weights: str = ""
    torch: str = ""
    folder: str = ""


@dataclass(frozen=True)
class Checked:
    """One ``rvmatte doctor --progress json`` check; ``fix`` says what to do when it failed."""
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class TuneStarted:
    """``rvmatte finetune`` began: ``steps`` optimizer steps from ``keyframes`` into ``output``."""
    steps: int
    keyframes: tuple = ()
    frames: int = 0
    width: int = 0
    height: int = 0
    device: str = ""
    output: str = ""
    version: str = ""


@dataclass(frozen=True)
class Trained:
    """``rvmatte finetune`` finished optimizer step ``step`` of ``total``."""
    step: int
    total: int
    loss: float = 0.0


@dataclass(frozen=True)
class Tuned:
    """``rvmatte finetune`` wrote (or, ``skipped``, already had) the tuned checkpoint ``output``."""
    output: str
    sha256: str = ""
    steps: int = 0
    seconds: float = 0.0
    skipped: bool = False
    final_loss: Optional[float] = None
    sidecar: str = ""


MESSAGES = (Started, FrameDone, Warned, Cut, Finished, Failed, Log, Step, Installed, Checked,
            TuneStarted, Trained, Tuned)
_EVENTS = {
    "step": (Step, ("name", "done", "total")),
    "installed": (Installed, ("python",)),
    "check": (Checked, ("name", "ok")),
    "start": (Started, ("frames", "first", "last")),
    "frame": (FrameDone, ("frame", "done", "total")),
    "warning": (Warned, ("message",)),
    "cut": (Cut, ("frame",)),
    "done": (Finished, ("frames",)),
}
_FINETUNE_EVENTS = {
    "start": (TuneStarted, ("steps",)),
    "step": (Trained, ("step", "total")),
    "done": (Tuned, ("output",)),
}


def _pick(cls, obj, required):
    """``cls`` from the keys of ``obj`` it declares; None when a required key is missing."""
    if any(key not in obj for key in required):
        return None
    names = cls.__dataclass_fields__
    return cls(**dict((k, v) for k, v in obj.items() if k in names))


def _is_finetune(obj):
    """The fine-tune's start and done say ``"task": "finetune"``; its steps carry a loss (the engine
    installer's steps carry a name instead)."""
    return obj.get("task") == "finetune" or (obj["event"] == "step" and "loss" in obj and "name" not in obj)


def parse_line(line):
    """One stdout line → a message, or None for blank lines, unknown events and incomplete ones."""
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
    if event == "error":
        return Failed(str(obj.get("message") or "unknown error"))
    events = _FINETUNE_EVENTS if _is_finetune(obj) else _EVENTS
    if event not in events:
        return None
    cls, required = events[event]
    try:
        message = _pick(cls, obj, required)
        if isinstance(message, TuneStarted):
            message = TuneStarted(**dict(message.__dict__, keyframes=tuple(message.keyframes)))
        return message
    except TypeError:
        return Log(text)


def stderr_error(stderr_lines):
    """The worker's own one-line error from its stderr, without the ``rvmatte: error:`` prefix."""
    for line in reversed(stderr_lines):
        text = line.strip()
        if text.startswith(ERROR_PREFIX):
            return text[len(ERROR_PREFIX):].strip()
    return None


def failure_text(messages, stderr_lines, returncode):
    """The worker's own words for a failure: its error event, else its ``rvmatte: error:``
    line on stderr, else how it ended (a signal; or its exit code and last stderr line)."""
    for message in reversed(list(messages)):
        if isinstance(message, Failed) and message.message:
            return message.message
    found = stderr_error(stderr_lines)
    if found:
        return found
    if returncode is not None and returncode < 0:
        import signal
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return "the worker was killed by %s (out of memory?)" % name
    tail = [line.strip() for line in stderr_lines if line.strip()]
    if tail:
        return "the worker stopped with exit code %s: %s" % (returncode, tail[-1])
    return "the worker stopped with exit code %s and no message" % returncode


def progress_text(message, view=None):
    """One line for a progress bar: ``left: frame 1003 (3/10), 2.50 fps``."""
    text = "frame %s (%s/%s)" % (message.frame, message.done, message.total)
    if isinstance(message.fps, (int, float)) and message.fps > 0:
        text += ", %.2f fps" % message.fps
    if view:
        text = "%s: %s" % (view, text)
    return text


def training_text(message, view=None):
    """One line for a progress bar during a fine-tune: ``fine-tune step 5/20, loss 0.0123``."""
    text = "fine-tune step %s/%s" % (message.step, message.total)
    if isinstance(message.loss, (int, float)):
        text += ", loss %.4g" % message.loss
    if view:
        text = "%s: %s" % (view, text)
    return text
