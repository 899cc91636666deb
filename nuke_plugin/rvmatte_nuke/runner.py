"""The worker outside Nuke's process: a subprocess per view (the host kit's
WorkerProcess), watched by a Python thread. Nothing here touches a node; the
results go back through `dispatch` (nuke.executeInMainThread in the GUI)."""
import threading

from . import command
from .rvmatte_hostkit import progress
from .rvmatte_hostkit.environment import worker_environment
from .rvmatte_hostkit.process import WorkerProcess, latest_log, log_path  # noqa: F401  (latest_log: menu)

POLL_SECONDS = 0.1
TERMINATE_GRACE_SECONDS = 10.0


class Outcome(object):
    """How one worker run ended: status is "done", "failed" or "cancelled"; `start` and
    `done` are the worker's Started and Finished messages (None when it sent none)."""

    def __init__(self, status, frames_done=0, error=None, start=None, done=None, returncode=None):
        self.status = status
        self.frames_done = frames_done
        self.error = error
        self.start = start
        self.done = done
        self.returncode = returncode
        self.last_frame = None
        self.log_path = None
        self.warnings = []


def run_worker(argv, on_event=None, cancelled=None, env=None, log_path=None):
    """Runs one worker to the end, calling on_event(message) for each progress
    message; stops it as soon as cancelled() is true. Returns an Outcome; its log goes to
    ``log_path`` (the kit's worker log) when one is given."""
    try:
        worker = WorkerProcess(argv, env=worker_environment() if env is None else env, log_path=log_path)
    except OSError as exc:
        return Outcome("failed", error=str(exc))
    while worker.running:
        for message in worker.poll(wait=POLL_SECONDS):
            if on_event is not None and not isinstance(message, progress.Log):
                on_event(message)
        if cancelled is not None and worker.running and not worker.cancel_requested and cancelled():
            worker.stop(TERMINATE_GRACE_SECONDS)
    outcome = Outcome(worker.state.value, worker.frames_reported, worker.error, worker.started, worker.finished,
                      worker.returncode)
    outcome.last_frame = worker.last_frame
    outcome.warnings = list(worker.warnings)
    outcome.log_path = log_path if worker.log_written else None
    return outcome


def worker_log_path(job):
    """``<output folder>/.rvmatte/logs/<node>.<time>.log`` (one per view run)."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in job.node_name)
    return log_path(job.output_dir, name)


class BackgroundRun(object):
    """A worker job of one node: `run()` here (no GUI) or in a thread (`start()`), reporting progress
    to a reporter made by `make_reporter(title)` (a nuke.ProgressTask or anything with
    setProgress/setMessage/isCancelled) and the end to `finish(job, outcomes)` through `dispatch`."""

    doing = "working"

    def __init__(self, job, make_reporter, dispatch, finish, env=None):
        self.job = job
        self.make_reporter = make_reporter
        self.dispatch = dispatch
        self.finish = finish
        self.env = env
        self.thread = None
        self.stop_requested = False

    def start(self):
        self.thread = threading.Thread(target=self.run, name="rvmatte " + self.job.node_name)
        self.thread.daemon = True
        self.thread.start()
        return self.thread

    def stop(self):
        """Ends the worker as a cancel does (the script closes, Nuke quits)."""
        self.stop_requested = True


def _internal_error(exc):
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return Outcome("failed", error="internal error in the worker thread: %s%s" % (
        type(exc).__name__, (": " + text) if text else ""))


class GenerateRun(BackgroundRun):
    """Runs every view of a Job in turn."""

    doing = "generating"

    def run(self):
        job = self.job
        reporter = self.make_reporter("RVMatte %s" % job.node_name)
        total = job.frame_count * len(job.views)
        outcomes = []
        cancelled = lambda: self.stop_requested or reporter.isCancelled()  # noqa: E731
        try:
            for index, view_job in enumerate(job.views):
                base = index * job.frame_count

                def on_event(message, base=base, view=view_job.view):
                    if isinstance(message, progress.FrameDone):
                        reporter.setProgress(int(100 * (base + message.done) / max(total, 1)))
                        reporter.setMessage(progress.progress_text(message, view))
                    elif isinstance(message, progress.Started):
                        reporter.setMessage("%s%s frames on %s" % (
                            (view + ": ") if view else "", message.frames, message.device))
                reporter.setMessage("starting the worker" + (" for " + view_job.view if view_job.view else ""))
                outcome = run_worker(command.worker_command(job, view_job), on_event, cancelled, self.env,
                                     log_path=worker_log_path(job))
                outcomes.append(outcome)
                if outcome.status != "done":
                    break
            else:
                reporter.setProgress(100)
        except Exception as exc:  # noqa: BLE001 - the job must end, never stay "generating..."
            outcomes.append(_internal_error(exc))
        finally:
            del reporter
            self.dispatch(self.finish, job, outcomes)
        return outcomes


class FinetuneRun(BackgroundRun):
    """One `rvmatte finetune` (finetune.FinetuneJob): its steps on the progress bar
    (progress.training_text), cancel as for a Generate."""

    doing = "fine-tuning"

    def run(self):
        job = self.job
        reporter = self.make_reporter("RVMatte %s fine-tune" % job.node_name)
        cancelled = lambda: self.stop_requested or reporter.isCancelled()  # noqa: E731
        outcomes = []

        def on_event(message):
            if isinstance(message, progress.Trained):
                reporter.setProgress(int(100 * message.step / max(message.total, 1)))
                reporter.setMessage(progress.training_text(message))
            elif isinstance(message, progress.TuneStarted):
                reporter.setMessage("fine-tune: %d step(s) from %d keyframe(s) on %s" % (
                    message.steps, len(message.keyframes), message.device))
        try:
            reporter.setMessage("starting the fine-tune")
            outcome = run_worker(command.finetune_command(job), on_event, cancelled, self.env,
                                 log_path=worker_log_path(job))
            outcomes.append(outcome)
            if outcome.status == "done":
                reporter.setProgress(100)
        except Exception as exc:  # noqa: BLE001 - the job must end, never stay "fine-tuning..."
            outcomes.append(_internal_error(exc))
        finally:
            del reporter
            self.dispatch(self.finish, job, outcomes)
        return outcomes


class PrintReporter(object):
    """Progress for terminal sessions (`nuke -t`), where there is no progress bar."""

    def __init__(self, name):
        self.name = name
        self.last = None

    def setProgress(self, percent):
        if percent != self.last:
            self.last = percent

    def setMessage(self, text):
        print("%s: %s" % (self.name, text))

    def isCancelled(self):
        return False
