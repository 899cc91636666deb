"""One worker process, polled (rvmatte_hostkit.process), with small Python scripts as workers."""
import os
import sys
import textwrap
import time

import pytest

from rvmatte_hostkit import environment
from rvmatte_hostkit.process import JobState, WorkerProcess


def script(tmp_path, body):
    path = tmp_path / "worker.py"
    path.write_text("import json, os, sys, time\n"
                    "def say(**e):\n    print(json.dumps(e), flush=True)\n" + textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_a_run_reports_its_frames_and_ends_done(tmp_path):
    worker = WorkerProcess(script(tmp_path, """
        say(event="start", frames=3, first=1001, last=1003, device="cpu")
        for i, f in enumerate((1001, 1002, 1003)):
            say(event="frame", frame=f, done=i + 1, total=3, fps=2.0)
        say(event="done", frames=3, written=3, skipped=0)
    """))
    assert worker.wait(30) is JobState.DONE
    assert worker.started.device == "cpu" and worker.total == 3 and worker.done == 3
    assert worker.last_frame == 1003 and worker.frames_reported == 3 and worker.finished.written == 3
    assert worker.returncode == 0 and worker.progress == 1.0


def test_poll_never_blocks_without_wait(tmp_path):
    worker = WorkerProcess(script(tmp_path, "time.sleep(2)\n"))
    began = time.monotonic()
    assert worker.poll() == []
    assert time.monotonic() - began < 0.5 and worker.running
    worker.stop()


def test_the_error_event_is_the_failure(tmp_path):
    worker = WorkerProcess(script(tmp_path, """
        say(event="error", message="frame 7 is missing: /s/p.0007.exr")
        print("rvmatte: error: frame 7 is missing: /s/p.0007.exr", file=sys.stderr)
        sys.exit(2)
    """))
    assert worker.wait(30) is JobState.FAILED
    assert worker.error == "frame 7 is missing: /s/p.0007.exr" and worker.returncode == 2


def test_exit_zero_with_an_error_event_is_still_a_failure(tmp_path):
    worker = WorkerProcess(script(tmp_path, 'say(event="error", message="bad")\n'))
    assert worker.wait(30) is JobState.FAILED and worker.error == "bad"


def test_a_crash_names_the_exit_code_and_the_last_stderr_line(tmp_path):
    worker = WorkerProcess(script(tmp_path, 'print("Segmentation fault in libfoo", file=sys.stderr)\nsys.exit(139)\n'))
    assert worker.wait(30) is JobState.FAILED
    assert worker.error == "the worker stopped with exit code 139: Segmentation fault in libfoo"


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
def test_cancel_stops_the_worker_and_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    worker = WorkerProcess(script(tmp_path, """
        import subprocess
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open(%r, "w").write(str(child.pid))
        say(event="start", frames=100, first=1, last=100)
        time.sleep(60)
    """ % str(pid_file)))
    deadline = time.monotonic() + 30
    while worker.started is None and time.monotonic() < deadline:
        worker.poll(wait=0.1)
    worker.cancel()
    assert worker.wait(30) is JobState.CANCELLED
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the worker's child survived the cancel")


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
def test_stop_kills_a_worker_that_ignores_sigterm(tmp_path):
    worker = WorkerProcess(script(tmp_path, """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say(event="start", frames=1, first=1, last=1)
        time.sleep(60)
    """))
    while worker.started is None:
        worker.poll(wait=0.1)
    began = time.monotonic()
    worker.stop(timeout=0.5)
    assert not worker.running and worker.state is JobState.CANCELLED
    assert time.monotonic() - began < 10


def test_hooks_hear_each_message_and_the_end_once(tmp_path):
    heard, ends = [], []

    class Job(WorkerProcess):
        def received(self, message):
            heard.append(type(message).__name__)

        def ended(self):
            ends.append(self.state)

    job = Job(script(tmp_path, 'print("loading")\nsay(event="warning", message="w")\n'))
    job.wait(30)
    job.poll()
    assert heard == ["Log", "Warned"] and ends == [JobState.DONE]
    assert job.logs == ["loading"] and job.warnings == ["w"]


def test_output_is_read_as_utf8_in_any_locale(tmp_path):
    argv = script(tmp_path, """
        sys.stdout.buffer.write(json.dumps({"event": "error", "message": "plate \\u00e9t\\u00e9 \\u2014 missing"},
                                           ensure_ascii=False).encode("utf-8") + b"\\n")
        sys.exit(2)
    """)
    env = environment.worker_environment(dict(os.environ, LANG="C", LC_ALL="C"))
    worker = WorkerProcess(argv, env=env)
    assert worker.wait(30) is JobState.FAILED and worker.error == "plate été — missing"


def test_a_missing_program_is_an_oserror_naming_it(tmp_path):
    with pytest.raises(OSError, match="cannot start the worker .*missing-python"):
        WorkerProcess([str(tmp_path / "missing-python")])


def test_the_worker_gets_the_environment_it_is_given(tmp_path):
    argv = script(tmp_path, 'say(event="start", frames=1, first=1, last=1, device=os.environ.get("PYTHONPATH") or "none")\n')
    worker = WorkerProcess(argv, env=environment.worker_environment(dict(os.environ, PYTHONPATH="/nuke/site")))
    worker.wait(30)
    assert worker.started.device == "none"


def test_a_finished_job_writes_its_log_with_command_warnings_output_and_stderr(tmp_path):
    from rvmatte_hostkit.process import latest_log, log_path

    path = log_path(str(tmp_path / "out"), "shot")
    worker = WorkerProcess(script(tmp_path, """
        say(event="start", frames=2, first=1, last=2, device="cpu")
        say(event="warning", message="plate has no colour space tag")
        print("not a progress line", flush=True)
        print("Traceback (most recent call last):", file=sys.stderr)
        say(event="error", message="internal error KeyError: 'x'")
        sys.exit(3)
    """), log_path=path)
    assert worker.wait(30) is JobState.FAILED and worker.log_written is True
    assert latest_log(str(tmp_path / "out")) == path
    text = open(path, encoding="utf-8").read()
    assert "command: " + sys.executable in text and "state: failed (exit code 3)" in text
    assert "warning: plate has no colour space tag" in text and "  not a progress line" in text
    assert "error: internal error KeyError: 'x'" in text and "  Traceback (most recent call last):" in text


def test_only_the_newest_logs_are_kept(tmp_path):
    from rvmatte_hostkit import process

    folder = tmp_path / "logs"
    for i in range(process.LOGS_KEPT + 3):
        assert process.write_log(str(folder / f"job.{i:03d}.log"), "x")
        os.utime(folder / f"job.{i:03d}.log", (i, i))
    process.write_log(str(folder / "job.999.log"), "x")
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == process.LOGS_KEPT and kept[-1] == "job.999.log" and "job.000.log" not in kept


def test_a_log_that_cannot_be_written_does_not_fail_the_job(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the log folder would go")
    worker = WorkerProcess(script(tmp_path, 'say(event="done", frames=0, written=0, skipped=0)\n'),
                           log_path=str(blocker / "logs" / "job.log"))
    assert worker.wait(30) is JobState.DONE and worker.log_written is False


def test_a_finetune_counts_its_steps_and_ends_with_the_checkpoint(tmp_path):
    worker = WorkerProcess(script(tmp_path, """
        say(event="start", task="finetune", frames=12, keyframes=[3, 9], steps=4, device="cpu", output="t.pth")
        for i in range(4):
            say(event="step", step=i + 1, total=4, loss=0.1 / (i + 1))
        say(event="done", task="finetune", output="t.pth", steps=4, sha256="00", seconds=1.5)
    """), log_path=str(tmp_path / "w.log"))
    assert worker.wait(30) is JobState.DONE
    assert worker.total == 4 and worker.done == 4 and worker.progress == 1.0
    assert worker.finished.output == "t.pth" and worker.started.keyframes == (3, 9)
    assert "fine-tune steps: 4 of 4 done" in (tmp_path / "w.log").read_text()
