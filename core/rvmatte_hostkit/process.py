"""One worker process: started apart from the host, read by two threads, polled.

The reader threads only move text lines into a queue (stdout) and a bounded tail
(stderr); they call no host API. ``poll()`` takes what arrived without blocking
(or waits up to ``wait`` seconds for the first line), parses it with ``progress``
and advances the state, so a host calls it from its main thread (Blender's
timer) or from a background thread (Nuke) alike. The worker and its children
form one process group, so cancel and stop reach all of them.
"""

import collections
import enum
import os
import queue
import signal
import subprocess
import threading
import time

from . import progress

STDERR_KEPT = 200
LOGS_KEPT = 20      # worker logs kept per folder (the oldest go first)
LOGS_FOLDER = os.path.join(".rvmatte", "logs")
CREATE_NEW_PROCESS_GROUP = 0x00000200   # Windows creation flags, named here for every Python on every OS
CREATE_NO_WINDOW = 0x08000000


class JobState(enum.Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WorkerProcess(object):
    """A running ``rvmatte`` worker, what it said, and how it ended.

    Subclasses hear of each message through ``received(message)`` and of the end
    (state no longer RUNNING) through ``ended()``; both run in the thread that polls.
    Raises OSError naming the program when it cannot be started.
    """

    def __init__(self, argv, env=None, cwd=None, log_path=None):
        self.argv = list(argv)
        self.log_path = log_path
        self.log_written = None
        self.state = JobState.RUNNING
        self.started = None
        self.finished = None
        self.done = 0
        self.total = 0
        self.fps = 0.0
        self.last_frame = None
        self.frames_reported = 0
        self.messages = []
        self.warnings = []
        self.logs = []
        self.error = None
        self.returncode = None
        self._lines = queue.Queue()
        self._stderr = collections.deque(maxlen=STDERR_KEPT)
        self._stderr_lock = threading.Lock()
        self._cancel_requested = False
        self._readers = []
        self.process = self._spawn(env, cwd)

    def _spawn(self, env, cwd):
        options = {}
        if os.name == "posix":
            options["start_new_session"] = True
        else:
            options["creationflags"] = CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
        try:
            process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, cwd=cwd, universal_newlines=True, encoding="utf-8", errors="replace", bufsize=1,
                **options)
        except OSError as exc:
            raise OSError("cannot start the worker %s: %s" % (self.argv[0], exc.strerror or exc))
        for stream, sink in ((process.stdout, self._lines.put), (process.stderr, self._keep_stderr)):
            reader = threading.Thread(target=_pump, args=(stream, sink))
            reader.daemon = True
            reader.start()
            self._readers.append(reader)
        return process

    def _keep_stderr(self, line):
        with self._stderr_lock:
            self._stderr.append(line.rstrip("\r\n"))

    @property
    def stderr_lines(self):
        with self._stderr_lock:
            return list(self._stderr)

    @property
    def running(self):
        return self.state is JobState.RUNNING

    @property
    def cancel_requested(self):
        return self._cancel_requested

    @property
    def progress(self):
        return self.done / self.total if self.total else 0.0

    def poll(self, wait=0.0):
        """The messages the worker sent since the last call; waits up to ``wait`` s for a first one."""
        messages = []
        block = wait > 0
        while True:
            try:
                line = self._lines.get(timeout=wait) if block else self._lines.get_nowait()
            except queue.Empty:
                break
            block = False
            message = progress.parse_line(line)
            if message is not None:
                self._apply(message)
                messages.append(message)
                self.received(message)
        if self.running and self.process.poll() is not None and not any(r.is_alive() for r in self._readers):
            if self._lines.empty():
                self._conclude(self.process.returncode)
            else:
                messages += self.poll()
        return messages

    def _apply(self, message):
        self.messages.append(message)
        if isinstance(message, progress.Started):
            self.started = message
            self.total = message.frames
        elif isinstance(message, progress.FrameDone):
            self.done, self.total, self.fps = message.done, message.total, message.fps
            self.last_frame = message.frame
            self.frames_reported += 1
        elif isinstance(message, progress.Warned):
            self.warnings.append(message.message)
        elif isinstance(message, progress.TuneStarted):
            self.started = message
            self.total = message.steps
        elif isinstance(message, progress.Trained):
            self.done, self.total = message.step, message.total
        elif isinstance(message, (progress.Finished, progress.Tuned)):
            self.finished = message
        elif isinstance(message, progress.Failed):
            self.error = message.message
        elif isinstance(message, progress.Log):
            self.logs.append(message.text)

    def _conclude(self, returncode):
        self.returncode = returncode
        if self._cancel_requested:
            self.state = JobState.CANCELLED
        elif returncode == 0 and self.error is None:
            self.state = JobState.DONE
        else:
            self.state = JobState.FAILED
            self.error = progress.failure_text(self.messages, self.stderr_lines, returncode)
        if self.log_path:
            self.log_written = write_log(self.log_path, self.log_text())
        self.ended()

    def log_text(self):
        """What the worker did, for the artist's "worker log" and a TD's bug report: the command, how
        it ended, its warnings, the lines it printed that are not progress, and its stderr tail."""
        from .command import quoted

        lines = ["rvmatte worker log", "command: " + quoted(self.argv),
                 "state: %s (exit code %s)" % (self.state.value, self.returncode)]
        if isinstance(self.started, progress.TuneStarted):
            lines.append("fine-tune steps: %d of %d done" % (self.done, self.total))
        elif self.started is not None:
            lines.append("frames: %d of %d done" % (self.done, self.total))
        if self.error:
            lines.append("error: " + self.error)
        lines += ["warning: " + w for w in self.warnings]
        if self.logs:
            lines += ["", "output:"] + ["  " + text for text in self.logs]
        tail = self.stderr_lines
        if tail:
            lines += ["", "stderr (last %d lines):" % STDERR_KEPT if len(tail) >= STDERR_KEPT else "stderr:"]
            lines += ["  " + text for text in tail]
        return "\n".join(lines) + "\n"

    def received(self, message):
        """Called for each message, after the state took it in."""

    def ended(self):
        """Called once, when the state leaves RUNNING."""

    def cancel(self):
        """Ask the worker to stop (SIGTERM to its group); the state becomes CANCELLED at a later poll()."""
        if self.running and self.process.poll() is None:
            self._cancel_requested = True
            _signal_group(self.process, signal.SIGTERM if os.name == "posix" else None)

    def stop(self, timeout=5.0):
        """Cancel and wait for the worker, killing it after ``timeout`` s. Blocks: not for a UI thread's tick."""
        self.cancel()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL if os.name == "posix" else None)
            self.process.wait()
        for reader in self._readers:
            reader.join(1.0)
        self.poll()

    def wait(self, timeout, step=0.05):
        """Poll until the worker ends or ``timeout`` s pass; returns the state (scripts and threads)."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self.poll(wait=step)
        return self.state


def _pump(stream, sink):
    try:
        for line in stream:
            sink(line)
    except (OSError, ValueError):
        pass
    finally:
        stream.close()


def _signal_group(process, sig):
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)
        else:
            process.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def log_path(folder, name):
    """``<folder>/.rvmatte/logs/<name>.<YYYYmmdd-HHMMSS>.<pid>.log``: one file per job, in the hidden
    bookkeeping folder beside the passes (where the result-key sidecars live too)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return os.path.join(folder, LOGS_FOLDER, "%s.%s.%d.log" % (name, stamp, os.getpid()))


def write_log(path, text):
    """Write ``text`` to ``path`` (temp file, then rename) and keep the newest LOGS_KEPT logs of its
    folder; returns whether it was written. A log that cannot be written never fails the job."""
    folder = os.path.dirname(path)
    temp = path + ".tmp"
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder)
        with open(temp, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
        logs = sorted((os.path.getmtime(os.path.join(folder, n)), n) for n in os.listdir(folder)
                      if n.endswith(".log"))
        for _, name in logs[:-LOGS_KEPT]:
            os.remove(os.path.join(folder, name))
        return True
    except OSError:
        try:
            os.remove(temp)
        except OSError:
            pass
        return False


def latest_log(folder):
    """The newest worker log in ``<folder>/.rvmatte/logs`` (None when there is none)."""
    logs_dir = os.path.join(folder, LOGS_FOLDER)
    try:
        names = [n for n in os.listdir(logs_dir) if n.endswith(".log")]
    except OSError:
        return None
    if not names:
        return None
    return max((os.path.join(logs_dir, n) for n in names), key=os.path.getmtime)
