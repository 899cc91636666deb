"""Worker processes and their state, polled from Blender's main thread.

The process itself is the host kit's WorkerProcess: its reader threads never
touch bpy, and `poll()` takes what arrived without waiting, so the UI never
blocks on the worker. `poll_jobs()` is the
function `bpy.app.timers` calls; tests call it directly, because timers do not
tick when bpy runs as a Python module.

Matte and fine-tune jobs are exclusive: one runs at a time (several would share
one GPU's memory and each would run slower), the others wait in the order they
were asked for, queued, and start from `poll_jobs()` when the running one ends.
"""

import sys

from .rvmatte_hostkit import progress
from .rvmatte_hostkit.process import JobState, WorkerProcess  # noqa: F401  (operators use JobState)

POLL_SECONDS = 0.2


class WorkerJob(WorkerProcess):
    """One worker process (the host kit's) with what the panel shows: a label and a message.

    `on_message(job, message)` runs for each progress message and `on_finish(job)`
    once when the job leaves RUNNING, both on the main thread (from `poll()`).
    """

    def __init__(self, argv, *, env=None, cwd=None, label="", task="matte", on_finish=None, on_message=None,
                 log_path=None, exclusive=False, queued=False):
        self.label = label
        self.task = task  # "matte" (rvmatte run) or "finetune" (rvmatte finetune)
        self.on_finish = on_finish
        self.on_message = on_message
        self.exclusive = exclusive
        self.queued = queued
        self.message = "starting worker"
        if queued:
            self._waiting = (list(argv), env, cwd, log_path)
            self.argv, self.log_path, self.process = list(argv), log_path, None
            self.state, self.done, self.total, self.warnings, self.messages = JobState.RUNNING, 0, 0, [], []
            self.error = self.started = self.finished = self.last_frame = None
            self.fps, self._cancel_requested = 0.0, False
            self.message = "queued"
        else:
            super().__init__(argv, env=env, cwd=cwd, log_path=log_path)

    def launch(self):
        """Start a queued job's worker (OSError when it cannot be started)."""
        argv, env, cwd, log_path = self._waiting
        self.queued = False
        self.message = "starting worker"
        super().__init__(argv, env=env, cwd=cwd, log_path=log_path)

    def poll(self, wait=0.0):
        if self.queued:
            return []
        return super().poll(wait)

    def cancel(self):
        if self.queued and self.running:
            self._drop("cancelled before it started")
            return
        super().cancel()

    def _drop(self, message, state=JobState.CANCELLED):
        self.queued = False
        self.state = state
        self.message = message
        if state is JobState.FAILED:
            self.error = message
        if self.on_finish is not None:
            self.on_finish(self)

    def received(self, message):
        if isinstance(message, progress.Started):
            self.message = f"0/{message.frames} frames on {message.device or 'worker'}"
        elif isinstance(message, progress.FrameDone):
            self.message = f"{message.done}/{message.total} frames, {message.fps:.1f} fps"
        elif isinstance(message, progress.TuneStarted):
            self.message = f"fine-tune step 0/{message.steps} on {message.device or 'worker'}"
        elif isinstance(message, progress.Trained):
            self.message = progress.training_text(message)
        if self.on_message is not None:
            self.on_message(self, message)

    def ended(self):
        if self.task == "finetune":
            self._tune_ended()
        elif self.state is JobState.CANCELLED:
            self.message = f"cancelled after {self.done} of {self.total} frames"
        elif self.state is JobState.DONE:
            self.message = (f"{self.finished.written} frames written, {self.finished.skipped} kept"
                            if self.finished else "finished")
        else:
            self.message = self.error
        if self.on_finish is not None:
            self.on_finish(self)

    def _tune_ended(self):
        tuned = self.finished if isinstance(self.finished, progress.Tuned) else None
        if self.state is JobState.CANCELLED:
            self.message = f"fine-tune cancelled after {self.done} of {self.total} steps"
        elif self.state is JobState.DONE and tuned is not None and tuned.skipped:
            self.message = "already fine-tuned from these keyframes (skipped)"
        elif self.state is JobState.DONE:
            self.message = f"fine-tuned {tuned.steps} steps" if tuned else "fine-tuned"
        else:
            self.message = self.error
        if self.on_finish is not None:
            self.on_finish(self)

    def stop(self, timeout=5.0):
        """Stop the worker now and wait for it (file load, quit, unregister). Blocks up to `timeout`.

        `on_finish` is not called: the file or the add-on it would report to is going away,
        and a load handler must not run operators.
        """
        self.on_finish = None
        if self.queued:
            self._drop("cancelled before it started")
            return
        super().stop(timeout)


_active = []


def _exclusive_running():
    return next((job for job in _active if job.exclusive and job.running and not job.queued), None)


def start(argv, exclusive=False, **options):
    """Start a worker, keep it in the active list and return it. An `exclusive` one (matte, fine-tune)
    is queued while another exclusive one runs."""
    ahead = _exclusive_running() if exclusive else None
    job = WorkerJob(argv, exclusive=exclusive, queued=ahead is not None, **options)
    if ahead is not None:
        waiting = sum(1 for j in _active if j.queued)
        job.message = f"queued behind {ahead.label}" + (f" and {waiting} more" if waiting else "")
    _active.append(job)
    return job


def _start_next():
    """Start the first queued job when no exclusive one runs."""
    if _exclusive_running() is not None:
        return
    for job in _active:
        if job.queued and job.running:
            try:
                job.launch()
            except OSError as exc:
                job._drop(str(exc), JobState.FAILED)
                continue
            return


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
    _start_next()
    for job in list(_active):   # a queued job that could not start, or was cancelled
        if not job.running:
            _active.remove(job)
    return POLL_SECONDS if _active else None


def stop_all(keep_file_independent=False):
    """Stop every worker and wait for them: no worker outlives the file or Blender.

    `keep_file_independent` (loading another .blend) spares the jobs that belong to no file
    (the engine install)."""
    for job in list(_active):
        if keep_file_independent and getattr(job, "file_independent", False):
            continue
        job.stop()
        if job in _active:
            _active.remove(job)
