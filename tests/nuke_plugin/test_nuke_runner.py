"""The worker in a subprocess: progress events, failures in its own words, cancel."""
import glob
import os
import sys
import time

import pytest

from rvmatte_nuke import runner, settings
from rvmatte_nuke.rvmatte_hostkit import progress


def argv(tmp_path, first=1, last=5):
    return [settings.load().python, "-m", "rvmatte", "run", str(tmp_path / "plate.####.exr"),
            "--alpha", str(tmp_path / "out" / "m.alpha.####.exr"),
            "--foreground", str(tmp_path / "out" / "m.fgr.####.exr"),
            "--frames", "%d-%d" % (first, last), "--progress", "json", "--variant", "mobilenetv3"]


@pytest.fixture(autouse=True)
def worker(fake_worker):
    return fake_worker


def test_a_good_run_reports_every_frame_in_order(tmp_path):
    events = []
    outcome = runner.run_worker(argv(tmp_path, 1001, 1004), events.append)
    assert outcome.status == "done" and outcome.returncode == 0
    assert [e.frame for e in events if isinstance(e, progress.FrameDone)] == [1001, 1002, 1003, 1004]
    assert outcome.start.frames == 4
    assert outcome.done.written == 4
    assert outcome.frames_done == 4


def test_a_failing_worker_is_reported_in_its_own_words(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "fail")
    outcome = runner.run_worker(argv(tmp_path))
    assert outcome.status == "failed"
    assert outcome.error == "frame 3 is missing: %s" % (tmp_path / "plate.0003.exr")
    assert outcome.returncode == 2


def test_a_crash_without_protocol_lines_gives_its_exit_code_and_last_stderr_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "crash")
    outcome = runner.run_worker(argv(tmp_path))
    assert outcome.status == "failed"
    assert outcome.error.startswith("the worker stopped with exit code ")
    assert outcome.error.endswith(": MemoryError: out of memory")


def test_a_missing_interpreter_is_named(tmp_path):
    outcome = runner.run_worker([str(tmp_path / "no-python"), "-m", "rvmatte"])
    assert outcome.status == "failed"
    assert "cannot start the worker" in outcome.error and "no-python" in outcome.error


def test_cancel_kills_the_worker_and_leaves_only_complete_frames(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    seen = []
    started = time.time()
    outcome = runner.run_worker(argv(tmp_path, 1, 40), seen.append, cancelled=lambda: len(seen) >= 3)
    assert outcome.status == "cancelled"
    assert time.time() - started < 8
    written = sorted(glob.glob(str(tmp_path / "out" / "m.alpha.*.exr")))
    assert 2 <= len(written) < 40
    assert all(os.path.getsize(p) > 0 for p in written)


class Reporter(object):
    def __init__(self, name):
        self.name, self.progress, self.messages = name, [], []

    def setProgress(self, i):
        assert isinstance(i, int)
        self.progress.append(i)

    def setMessage(self, text):
        self.messages.append(text)

    def isCancelled(self):
        return False
