"""The worker outside Nuke's process: a subprocess per view, watched by a
Python thread that reads its progress lines. Nothing here touches a node; the
results go back through `dispatch` (nuke.executeInMainThread in the GUI)."""
import collections
import os
import queue
import subprocess
import threading
import time

from . import command, environment, protocol

POLL_SECONDS = 0.1
TERMINATE_GRACE_SECONDS = 10.0


class Outcome(object):
    """How one worker run ended: status is "done", "failed" or "cancelled"."""

    def __init__(self, status, frames_done=0, error=None, start=None, done=None, returncode=None):
        self.status = status
        self.frames_done = frames_done
        self.error = error
        self.start = start
        self.done = done
        self.returncode = returncode
        self.last_frame = None


def _creation_flags():
    return 0x08000000 if os.name == "nt" else 0  # CREATE_NO_WINDOW: no console pops up on Windows


def _pump(stream, sink):
    for line in iter(stream.readline, ""):
        sink(line.rstrip("\r\n"))
    stream.close()


def run_worker(argv, on_event=None, cancelled=None, env=None):
    """Runs one worker to the end, calling on_event(event) for each progress
    line; terminates it as soon as cancelled() is true. Returns an Outcome."""
    lines = queue.Queue()
    stderr_tail = collections.deque(maxlen=50)
    events = []
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                universal_newlines=True, encoding="utf-8", errors="replace", bufsize=1,
                                env=environment.worker_environment() if env is None else env,
                                creationflags=_creation_flags())
    except OSError as exc:
        return Outcome("failed", error="cannot start the worker %s: %s" % (argv[0], exc.strerror or exc))
    readers = [threading.Thread(target=_pump, args=(proc.stdout, lines.put)),
               threading.Thread(target=_pump, args=(proc.stderr, stderr_tail.append))]
    for reader in readers:
        reader.daemon = True
        reader.start()
    outcome = Outcome("done")
    while True:
        try:
            line = lines.get(timeout=POLL_SECONDS)
        except queue.Empty:
            line = None
        if line is not None:
            event = protocol.parse_line(line)
            if event is not None:
                events.append(event)
                kind = event["event"]
                if kind == "start":
                    outcome.start = event
                elif kind == "frame":
                    outcome.frames_done += 1
                    outcome.last_frame = event.get("frame")
                elif kind == "done":
                    outcome.done = event
                if on_event is not None:
                    on_event(event)
        if cancelled is not None and cancelled() and proc.poll() is None:
            _stop(proc)
            outcome.status = "cancelled"
        if line is None and proc.poll() is not None and not readers[0].is_alive():
            break
    for reader in readers:
        reader.join(5)
    outcome.returncode = proc.wait()
    if outcome.status != "cancelled" and outcome.returncode != 0:
        outcome.status = "failed"
        outcome.error = protocol.error_line(events, list(stderr_tail), outcome.returncode)
    return outcome


def _stop(proc):
    proc.terminate()
    deadline = time.time() + TERMINATE_GRACE_SECONDS
    while proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()


class GenerateRun(object):
    """Runs every view of a Job in turn, reporting progress to `reporter`
    (a nuke.ProgressTask or anything with setProgress/setMessage/isCancelled)
    and the end to `finish(job, outcomes)` through `dispatch`."""

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

    def run(self):
        job = self.job
        reporter = self.make_reporter("RVMatte %s" % job.node_name)
        total = job.frame_count * len(job.views)
        outcomes = []
        cancelled = lambda: self.stop_requested or reporter.isCancelled()  # noqa: E731
        try:
            for index, view_job in enumerate(job.views):
                base = index * job.frame_count

                def on_event(event, base=base, view=view_job.view):
                    if event["event"] == "frame":
                        reporter.setProgress(int(100 * (base + int(event.get("done", 0))) / max(total, 1)))
                        reporter.setMessage(protocol.progress_text(event, view))
                    elif event["event"] == "start":
                        reporter.setMessage("%s%s frames on %s" % (
                            (view + ": ") if view else "", event.get("frames"), event.get("device")))
                reporter.setMessage("starting the worker" + (" for " + view_job.view if view_job.view else ""))
                outcome = run_worker(command.worker_command(job, view_job), on_event, cancelled, self.env)
                outcomes.append(outcome)
                if outcome.status != "done":
                    break
            else:
                reporter.setProgress(100)
        except Exception as exc:  # noqa: BLE001 - the job must end, never stay "generating..."
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            outcomes.append(Outcome("failed", error="internal error in the worker thread: %s%s" % (
                type(exc).__name__, (": " + text) if text else "")))
        finally:
            del reporter
            self.dispatch(self.finish, job, outcomes)
        return outcomes

    def stop(self):
        """Ends the worker as a cancel does (the script closes, Nuke quits)."""
        self.stop_requested = True


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
