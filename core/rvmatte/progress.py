"""Progress reporters: tqdm for people, JSON lines for hosts, OpenJD lines for farms.

The JSON and OpenJD forms are a protocol (docs/cli.md): stdout carries only
protocol lines, everything else goes to stderr.
"""
from __future__ import annotations

import json
import sys
import threading
from typing import Optional

MODES = ("tty", "json", "openjd", "none")


class Reporter:
    """Silent reporter; the base of the others. Warnings still reach stderr."""

    def start(self, info: dict) -> None:
        pass

    def frame(self, frame: int, done: int, total: int, fps: float, skipped: bool = False,
              qc_score: Optional[float] = None) -> None:
        pass

    def step(self, done: int, total: int, loss: float) -> None:
        """A training step finished (``rvmatte finetune``)."""

    def warning(self, message: str, frame: Optional[int] = None) -> None:
        print(f"rvmatte: warning: {message}", file=sys.stderr, flush=True)

    def cut(self, info: dict) -> None:
        """A shot cut inside the run: the recurrent state is cleared at ``info["frame"]``."""

    def done(self, summary: dict) -> None:
        pass

    def error(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


def check_line(check: list) -> str:
    """``rvmatte: frames to check (worst first): 1042 (0.031), 1017 (0.024), …``"""
    return "rvmatte: frames to check (worst first): " + ", ".join(f"{c['frame']} ({c['score']:.3g})" for c in check)


def describe_version_task(summary: dict) -> str:
    """The one line of a farm job's version task (``rvmatte run --version-step choose|finish``)."""
    version = summary["output_version"]
    if summary["step"] == "choose":
        how = f"reused ({version['state']})" if version["reused"] else "made"
        return f"version {version['name']} {how} for this job: {version['folder']}"
    removed = f", removed {len(version['removed'])} older" if version.get("removed") else ""
    return f"version {version['name']} complete: all {summary['frames']} frames checked{removed}: {version['folder']}"


def describe_cut(info: dict) -> str:
    how = "detected" if info.get("source") == "detected" else "given"
    score = f", score {info['score']:.1f}" if "score" in info else ""
    return f"cut at frame {info['frame']} ({how}{score}): state reset"


class TtyReporter(Reporter):
    def __init__(self):
        self._bar = None

    def start(self, info: dict) -> None:
        from tqdm import tqdm

        if info.get("task") == "finetune":
            print(f"rvmatte {info['version']}: fine-tuning on {info['input']} ({info['width']}x{info['height']}, "
                  f"keyframes {','.join(map(str, info['keyframes']))}) on {info['device']}, {info['steps']} steps",
                  file=sys.stderr, flush=True)
            self._bar = tqdm(total=info["steps"], unit="step", file=sys.stderr, dynamic_ncols=True)
            return
        print(f"rvmatte {info['version']}: {info['input']} → {info['frames']} frames "
              f"{info['width']}x{info['height']} on {info['device']}, ratio {info['downsample_ratio']:.3g}"
              + (" (compiling the network at frame 2: tens of seconds)" if info.get("compiled") else "")
              + (f", into {info['output_version']['folder']}" if info.get("output_version") else ""),
              file=sys.stderr, flush=True)
        self._bar = tqdm(total=info["frames"], unit="frame", file=sys.stderr, dynamic_ncols=True)

    def frame(self, frame: int, done: int, total: int, fps: float, skipped: bool = False,
              qc_score: Optional[float] = None) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(f"frame {frame}" + (" (kept)" if skipped else ""), refresh=False)
            self._bar.update(1)

    def step(self, done: int, total: int, loss: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
            self._bar.update(1)

    def warning(self, message: str, frame: Optional[int] = None) -> None:
        text = f"rvmatte: warning: {message}"
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def cut(self, info: dict) -> None:
        text = f"rvmatte: {describe_cut(info)}"
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def done(self, summary: dict) -> None:
        self.close()
        if summary.get("task") == "finetune":
            return
        if summary.get("task") == "version":
            print(f"rvmatte: {describe_version_task(summary)}", file=sys.stderr, flush=True)
            return
        print(f"rvmatte: {summary['written']} frames written, {summary['skipped']} kept, "
              f"{summary['seconds']:.1f} s ({summary['fps']:.2f} frames/s)", file=sys.stderr, flush=True)
        if summary.get("check"):
            print(check_line(summary["check"]), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class JsonReporter(Reporter):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()   # warnings come from the reader thread

    def _emit(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, **fields}) + "\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()

    def start(self, info: dict) -> None:
        self._emit("start", **info)

    def frame(self, frame: int, done: int, total: int, fps: float, skipped: bool = False,
              qc_score: Optional[float] = None) -> None:
        self._emit("frame", frame=frame, done=done, total=total, fps=round(fps, 3), skipped=skipped,
                   **({} if qc_score is None else {"qc_score": qc_score}))

    def step(self, done: int, total: int, loss: float) -> None:
        self._emit("step", step=done, total=total, loss=round(loss, 6))

    def warning(self, message: str, frame: Optional[int] = None) -> None:
        self._emit("warning", message=message, **({} if frame is None else {"frame": frame}))

    def cut(self, info: dict) -> None:
        self._emit("cut", **info)

    def done(self, summary: dict) -> None:
        self._emit("done", **summary)

    def error(self, message: str) -> None:
        self._emit("error", message=message)


class OpenJDReporter(Reporter):
    """Open Job Description's stdout conventions (openjd_status / openjd_progress / openjd_fail)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, info: dict) -> None:
        if info.get("task") == "finetune":
            print(f"rvmatte {info['version']} | weights {info.get('weights', '?')} sha256 "
                  f"{info.get('weights_sha256', '?')} | device {info['device']}", file=sys.stderr, flush=True)
            self._line(f"openjd_status: rvmatte {info['version']} fine-tuning on {info['input']} "
                       f"({info['steps']} steps)")
            return
        print(f"rvmatte {info['version']} | weights {info.get('weights', '?')} sha256 {info.get('weights_sha256', '?')} "
              f"| device {info['device']}", file=sys.stderr, flush=True)
        self._line(f"openjd_status: rvmatte {info['version']} matting frames {info['first']}-{info['last']} "
                   f"on {info['device']}")

    def frame(self, frame: int, done: int, total: int, fps: float, skipped: bool = False,
              qc_score: Optional[float] = None) -> None:
        self._line(f"openjd_progress: {100.0 * done / max(total, 1):.1f}")
        self._line(f"openjd_status: frame {frame} {'kept' if skipped else 'written'} ({done}/{total}, {fps:.2f} fps)")

    def cut(self, info: dict) -> None:
        self._line(f"openjd_status: {describe_cut(info)}")

    def step(self, done: int, total: int, loss: float) -> None:
        self._line(f"openjd_progress: {100.0 * done / max(total, 1):.1f}")
        self._line(f"openjd_status: step {done}/{total}, loss {loss:.4f}")

    def done(self, summary: dict) -> None:
        if summary.get("task") == "finetune":
            self._line(f"openjd_status: done: {summary['steps']} steps in {summary['seconds']:.1f} s "
                       f"-> {summary['output']}")
            return
        if summary.get("task") == "version":
            print(f"rvmatte {summary['version']} | weights {summary.get('weights') or '?'} sha256 "
                  f"{summary.get('weights_sha256') or '?'} | device {summary['device']}", file=sys.stderr, flush=True)
            self._line(f"openjd_status: {describe_version_task(summary)}")
            return
        self._line(f"openjd_status: done: {summary['written']} written, {summary['skipped']} kept "
                   f"in {summary['seconds']:.1f} s")

    def error(self, message: str) -> None:
        self._line(f"openjd_fail: {message}")


class SummaryReporter(Reporter):
    """No terminal and no --progress (a log file, a pipe): no bar, but the summary line still
    reaches stderr, so a log says how the run ended."""

    def done(self, summary: dict) -> None:
        TtyReporter.done(TtyReporter(), summary)


def make_reporter(mode: Optional[str]) -> Reporter:
    if mode is None:
        return TtyReporter() if sys.stderr.isatty() else SummaryReporter()
    return {"tty": TtyReporter, "json": JsonReporter, "openjd": OpenJDReporter, "none": Reporter}[mode]()
