"""Worker processes polled from the main thread (blender_addon/jobs.py).

The workers here are real subprocesses running small scripts that speak the
documented `--progress json` protocol; the real core is exercised in
test_end_to_end.py. bpy's timers do not tick in module mode, so the tests call
`poll()` / `poll_jobs()` themselves, as the timer would.
"""

import json
import os
import sys
import textwrap
import time

import bpy
import pytest


def fake_worker(tmp_path, body):
    script = tmp_path / "fake_worker.py"
    script.write_text("import json, sys, time\n"
                      "def say(**event):\n"
                      "    print(json.dumps(event), flush=True)\n" + textwrap.dedent(body))
    return [sys.executable, str(script)]


def run_to_end(job, timeout=30):
    deadline = time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        job.poll()
        time.sleep(0.02)
    assert not job.running
    return job


def test_progress_follows_frame_events(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        say(event="start", frames=3, first=11, last=13, device="cpu")
        for n, f in enumerate((11, 12, 13), 1):
            say(event="frame", frame=f, done=n, total=3, fps=2.5)
        say(event="done", frames=3, written=3, skipped=0, seconds=1.2, fps=2.5)
    """)
    job = run_to_end(addon.jobs.WorkerJob(argv))
    assert job.state is addon.jobs.JobState.DONE
    assert (job.done, job.total, job.last_frame, job.progress) == (3, 3, 13, 1.0)
    assert job.started.first == 11 and job.finished.written == 3
    assert job.message == "3 frames written, 0 kept"


def test_error_event_and_exit_code_fail_the_job_with_the_workers_message(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        say(event="error", message="weights file not found: /x.pth")
        print("rvmatte: error: weights file not found: /x.pth", file=sys.stderr)
        sys.exit(1)
    """)
    job = run_to_end(addon.jobs.WorkerJob(argv))
    assert job.state is addon.jobs.JobState.FAILED
    assert job.error == "weights file not found: /x.pth"


def test_stderr_error_line_is_used_when_no_error_event_came(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        print("rvmatte: error: frame 7 is missing: /s/p.0007.exr", file=sys.stderr)
        sys.exit(1)
    """)
    job = run_to_end(addon.jobs.WorkerJob(argv))
    assert job.error == "frame 7 is missing: /s/p.0007.exr"


def test_crash_without_a_message_reports_the_exit_code_and_last_stderr_line(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        print("Segmentation fault in libfoo", file=sys.stderr)
        sys.exit(139)
    """)
    job = run_to_end(addon.jobs.WorkerJob(argv))
    assert job.state is addon.jobs.JobState.FAILED
    assert job.error == "the worker stopped with exit code 139: Segmentation fault in libfoo"


def test_zero_exit_after_an_error_event_is_still_a_failure(addon, tmp_path):
    argv = fake_worker(tmp_path, 'say(event="error", message="bad frame")\n')
    assert run_to_end(addon.jobs.WorkerJob(argv)).state is addon.jobs.JobState.FAILED


def test_worker_killed_by_a_signal_is_reported_as_such(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    job = run_to_end(addon.jobs.WorkerJob(argv))
    assert job.error == "the worker was killed by SIGKILL (out of memory?)"


def test_poll_returns_at_once_while_the_worker_is_silent(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        say(event="start", frames=1, first=1, last=1)
        time.sleep(30)
    """)
    job = addon.jobs.WorkerJob(argv)
    try:
        slowest = 0.0
        for _ in range(20):
            began = time.perf_counter()
            job.poll()
            slowest = max(slowest, time.perf_counter() - began)
            time.sleep(0.02)
        assert job.running and job.total == 1
        assert slowest < 0.5   # a blocking read would wait for the worker's 30 s
    finally:
        job.stop()


def test_cancel_stops_the_worker_and_ends_as_cancelled(addon, tmp_path):
    argv = fake_worker(tmp_path, """
        say(event="start", frames=100, first=1, last=100)
        say(event="frame", frame=1, done=1, total=100, fps=1.0)
        time.sleep(60)
    """)
    job = addon.jobs.WorkerJob(argv)
    while job.done == 0:
        job.poll()
        time.sleep(0.02)
    job.cancel()
    run_to_end(job, timeout=10)
    assert job.state is addon.jobs.JobState.CANCELLED
    assert job.process.poll() is not None
    assert job.message == "cancelled after 1 of 100 frames"


def test_on_finish_runs_once_on_the_polling_thread(addon, tmp_path):
    import threading

    calls = []
    argv = fake_worker(tmp_path, 'say(event="done", frames=0)\n')
    job = addon.jobs.WorkerJob(argv, on_finish=lambda j: calls.append(threading.current_thread()))
    run_to_end(job)
    job.poll()
    assert calls == [threading.main_thread()]


def test_poll_jobs_keeps_the_timer_alive_only_while_jobs_run(addon, tmp_path):
    argv = fake_worker(tmp_path, 'time.sleep(0.3)\nsay(event="done", frames=0)\n')
    job = addon.jobs.start(argv)
    assert addon.jobs.poll_jobs() == addon.jobs.POLL_SECONDS
    deadline = time.monotonic() + 10
    while addon.jobs.poll_jobs() is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not job.running and addon.jobs.active_jobs() == []


def test_loading_another_file_stops_running_workers(addon, tmp_path):
    argv = fake_worker(tmp_path, 'say(event="start", frames=5, first=1, last=5)\ntime.sleep(60)\n')
    job = addon.jobs.start(argv)
    bpy.ops.wm.read_homefile(use_empty=True)
    assert job.process.poll() is not None
    assert addon.jobs.active_jobs() == []
    assert job.state is addon.jobs.JobState.CANCELLED


def test_workers_children_are_stopped_with_it(addon, tmp_path):
    pid_file = tmp_path / "child.pid"
    argv = fake_worker(tmp_path, f"""
        import subprocess
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        say(event="start", frames=1, first=1, last=1)
        time.sleep(60)
    """)
    job = addon.jobs.start(argv)
    while job.total == 0:
        job.poll()
        time.sleep(0.02)
    child = int(pid_file.read_text())
    addon.jobs.stop_all()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent's parent) counts as stopped
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_unstartable_worker_raises_a_readable_error(addon, tmp_path):
    with pytest.raises(OSError, match="cannot start the worker .*missing-python"):
        addon.jobs.WorkerJob([str(tmp_path / "missing-python"), "-m", "rvmatte"])
