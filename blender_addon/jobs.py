"""Worker processes and their state, polled from Blender's main thread.

Two reader threads per worker only move text lines into queues; they never
touch bpy. `WorkerJob.poll()` drains those queues without waiting and advances
the job's state, so the UI never blocks on the worker. `poll_jobs()` is the
function `bpy.app.timers` calls; tests call it directly, because timers do not
tick when bpy runs as a Python module.
"""

import enum
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque

from . import protocol

STDERR_KEPT = 50
POLL_SECONDS = 0.2


class JobState(enum.Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WorkerJob:
    """One worker process: its progress, its outcome, and how to stop it.

    `on_finish(job)` runs once, on the main thread, when the job leaves RUNNING.
    """

    def __init__(self, argv, *, env=None, cwd=None, label="", on_finish=None, on_message=None):
        self.argv = list(argv)
        self.label = label
        self.on_finish = on_finish
        self.on_message = on_message
        self.state = JobState.RUNNING
        self.started = None
        self.finished = None
        self.done = 0
        self.total = 0
        self.fps = 0.0
        self.last_frame = None
        self.warnings = []
        self.logs = []
        self.error = None
        self.returncode = None
        self.message = "starting worker"
        self._lines = queue.Queue()
        self._stderr = deque(maxlen=STDERR_KEPT)
        self._stderr_lock = threading.Lock()
        self._cancel_requested = False
        self._readers = []
        self.process = self._spawn(env, cwd)

    def _spawn(self, env, cwd):
        options = {}
        if os.name == "posix":
            options["start_new_session"] = True  # the worker and its children form one group to stop
        else:
            options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        try:
            process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, cwd=cwd, text=True, encoding="utf-8", errors="replace", bufsize=1, **options)
        except OSError as exc:
            raise OSError(f"cannot start the worker {self.argv[0]}: {exc.strerror or exc}") from exc
        for stream, sink in ((process.stdout, self._lines.put), (process.stderr, self._keep_stderr)):
            reader = threading.Thread(target=_pump, args=(stream, sink), daemon=True)
            reader.start()
            self._readers.append(reader)
        return process

    def _keep_stderr(self, line):
        with self._stderr_lock:
            self._stderr.append(line.rstrip("\n"))

    @property
    def stderr_lines(self):
        with self._stderr_lock:
            return list(self._stderr)

    @property
    def progress(self):
        return self.done / self.total if self.total else 0.0

    @property
    def running(self):
        return self.state is JobState.RUNNING

    def poll(self):
        """Take what the worker said since the last call; never waits. Returns the messages."""
        messages = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            message = protocol.parse_line(line)
            if message is not None:
                self._apply(message)
                messages.append(message)
                if self.on_message is not None:
                    self.on_message(self, message)
        if self.running and self.process.poll() is not None and not any(r.is_alive() for r in self._readers):
            if self._lines.empty():
                self._conclude(self.process.returncode)
            else:
                messages += self.poll()
        return messages

    def _apply(self, message):
        if isinstance(message, protocol.Started):
            self.started = message
            self.total = message.frames
            self.message = f"0/{message.frames} frames on {message.device or 'worker'}"
        elif isinstance(message, protocol.FrameDone):
            self.done, self.total, self.fps = message.done, message.total, message.fps
            self.last_frame = message.frame
            self.message = f"{message.done}/{message.total} frames, {message.fps:.1f} fps"
        elif isinstance(message, protocol.Warned):
            self.warnings.append(message.message)
        elif isinstance(message, protocol.Finished):
            self.finished = message
        elif isinstance(message, protocol.Failed):
            self.error = message.message
        elif isinstance(message, protocol.Log):
            self.logs.append(message.text)

    def _conclude(self, returncode):
        self.returncode = returncode
        if self._cancel_requested:
            self.state = JobState.CANCELLED
            self.message = f"cancelled after {self.done} of {self.total} frames"
        elif returncode == 0 and self.error is None:
            self.state = JobState.DONE
            self.message = (f"{self.finished.written} frames written, {self.finished.skipped} kept"
                            if self.finished else "finished")
        else:
            self.state = JobState.FAILED
            self.error = self.error or protocol.error_line(self.stderr_lines) or self._exit_description()
            self.message = self.error
        if self.on_finish is not None:
            self.on_finish(self)

    def _exit_description(self):
        code = self.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"the worker was killed by {name} (out of memory?)"
        tail = self.stderr_lines[-1:] or ["no error message"]
        return f"the worker stopped with exit code {code}: {tail[0]}"

    def cancel(self):
        """Ask the worker to stop; the job ends as CANCELLED at a following poll()."""
        if self.running and self.process.poll() is None:
            self._cancel_requested = True
            _signal_group(self.process, signal.SIGTERM if os.name == "posix" else None)

    def stop(self, timeout=5.0):
        """Stop the worker now and wait for it (file load, quit, unregister). Blocks up to `timeout`.

        `on_finish` is not called: the file or the add-on it would report to is going away,
        and a load handler must not run operators.
        """
        self.on_finish = None
        self.cancel()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL if os.name == "posix" else None)
            self.process.wait()
        for reader in self._readers:
            reader.join(1.0)
        self.poll()

    def wait(self, timeout):
        """Poll until the job ends or `timeout` seconds pass (tests and scripts, never the UI)."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.05)
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


_active = []


def start(argv, **options):
    """Start a worker, keep it in the active list and return it."""
    job = WorkerJob(argv, **options)
    _active.append(job)
    return job


def active_jobs():
    return list(_active)


def poll_jobs():
    """Advance every active job; the `bpy.app.timers` callback.

    Returns the delay until the next call, or None (timer ends) when no job runs.
    """
    for job in list(_active):
        try:
            job.poll()
        except Exception as exc:  # a failing callback must not kill the timer for the other jobs
            print(f"rvmatte: error while polling {job.label}: {exc}", file=sys.stderr)
            job.state = JobState.FAILED
        if not job.running:
            _active.remove(job)
    return POLL_SECONDS if _active else None


def stop_all():
    """Stop every worker and wait for them: no worker outlives the file or Blender."""
    for job in list(_active):
        job.stop()
        if job in _active:
            _active.remove(job)
