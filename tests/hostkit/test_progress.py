"""The worker's --progress json lines read into typed messages (rvmatte_hostkit.progress)."""
import io
import json

import pytest

from rvmatte_hostkit import progress


def test_start_line_becomes_started_and_unknown_keys_are_ignored():
    line = json.dumps({"event": "start", "frames": 20, "first": 1001, "last": 1020, "width": 1920,
                       "height": 1080, "device": "cuda:0", "newer_key": 1})
    message = progress.parse_line(line)
    assert message == progress.Started(frames=20, first=1001, last=1020, width=1920, height=1080, device="cuda:0")


def test_frame_line_becomes_frame_done():
    line = '{"event": "frame", "frame": 1003, "done": 3, "total": 20, "fps": 3.2, "skipped": false}\n'
    assert progress.parse_line(line) == progress.FrameDone(frame=1003, done=3, total=20, fps=3.2, skipped=False)


def test_done_warning_cut_and_error_lines():
    assert progress.parse_line('{"event": "done", "frames": 20, "written": 18, "skipped": 2}').written == 18
    assert progress.parse_line('{"event": "warning", "message": "frame 4: 12 NaN", "frame": 4}') == \
        progress.Warned("frame 4: 12 NaN", 4)
    assert progress.parse_line('{"event": "cut", "frame": 1050, "source": "detected", "score": 9.1}') == \
        progress.Cut(1050, "detected")
    assert progress.parse_line('{"event": "error", "message": "frame 7 is missing"}') == \
        progress.Failed("frame 7 is missing")


def test_plain_text_is_a_log_line():
    assert progress.parse_line("Loading weights...\n") == progress.Log("Loading weights...")
    assert progress.parse_line("[1, 2]") == progress.Log("[1, 2]")


def test_unknown_events_blank_lines_and_incomplete_events_are_dropped():
    assert progress.parse_line('{"event": "telemetry", "x": 1}') is None
    assert progress.parse_line("   \n") is None
    assert progress.parse_line('{"event": "frame", "frame": 3}') is None


def test_every_line_the_core_writes_is_understood():
    """Round trip with the core's own JsonReporter, so the two sides cannot drift apart."""
    reporter_module = pytest.importorskip("rvmatte.progress")
    out = io.StringIO()
    reporter = reporter_module.JsonReporter(out)
    reporter.start({"frames": 2, "first": 1, "last": 2, "width": 8, "height": 6, "device": "cpu",
                    "variant": "mobilenetv3", "downsample_ratio": 1.0, "version": "0.1.0", "input": "x"})
    reporter.frame(1, 1, 2, 1.5)
    reporter.warning("frame 2: 3 NaN", 2)
    reporter.cut({"frame": 2, "source": "given"})
    reporter.done({"frames": 2, "written": 2, "skipped": 0, "seconds": 1.0, "fps": 2.0})
    reporter.error("boom")
    kinds = [type(progress.parse_line(line)) for line in out.getvalue().splitlines()]
    assert kinds == [progress.Started, progress.FrameDone, progress.Warned, progress.Cut,
                     progress.Finished, progress.Failed]


def test_failure_prefers_the_error_event():
    messages = [progress.Started(1, 1, 1), progress.Failed("frame 1007 is missing: /a/p.1007.exr")]
    assert progress.failure_text(messages, ["rvmatte: error: other"], 2) == "frame 1007 is missing: /a/p.1007.exr"


def test_failure_falls_back_to_the_stderr_error_line():
    stderr = ["warming up", "rvmatte: error: --device cuda: no CUDA device", "bye"]
    assert progress.failure_text([], stderr, 2) == "--device cuda: no CUDA device"


def test_failure_names_the_exit_code_and_the_last_stderr_line():
    assert progress.failure_text([], ["Traceback...", "MemoryError: out of memory", ""], 1) == \
        "the worker stopped with exit code 1: MemoryError: out of memory"
    assert progress.failure_text([], [], 3) == "the worker stopped with exit code 3 and no message"


def test_failure_by_a_signal_names_it():
    assert progress.failure_text([], ["half a line"], -9) == "the worker was killed by SIGKILL (out of memory?)"


def test_progress_text_names_view_frame_and_speed():
    text = progress.progress_text(progress.FrameDone(1003, 3, 10, 2.5), "left")
    assert text == "left: frame 1003 (3/10), 2.50 fps"
    assert progress.progress_text(progress.FrameDone(1, 1, 2)) == "frame 1 (1/2)"


def _finetune_lines():
    """What ``rvmatte finetune --progress json`` prints, written by the core's own reporter."""
    reporter_module = pytest.importorskip("rvmatte.progress")
    stream = io.StringIO()
    reporter = reporter_module.JsonReporter(stream)
    reporter.start({"version": "0.1.0", "task": "finetune", "input": "/s/plate.####.exr", "frames": 24,
                    "width": 512, "height": 288, "device": "cpu", "keyframes": [1003, 1010], "steps": 20,
                    "output": "/o/tuned/shot.pth"})
    reporter.step(1, 20, 0.0421)
    reporter.done({"task": "finetune", "output": "/o/tuned/shot.pth", "sha256": "ab" * 32, "steps": 20,
                   "seconds": 181.5, "final_loss": 0.011, "sidecar": "/o/tuned/shot.pth.rvmatte.json"})
    return stream.getvalue().splitlines()


def test_the_finetune_events_become_their_own_messages():
    start, step, done = [progress.parse_line(line) for line in _finetune_lines()]
    assert start == progress.TuneStarted(steps=20, keyframes=(1003, 1010), frames=24, width=512, height=288,
                                         device="cpu", output="/o/tuned/shot.pth", version="0.1.0")
    assert step == progress.Trained(step=1, total=20, loss=0.0421)
    assert isinstance(done, progress.Tuned) and done.output == "/o/tuned/shot.pth" and done.steps == 20
    assert done.skipped is False and done.sidecar.endswith(".rvmatte.json")


def test_a_skipped_finetune_says_so():
    line = json.dumps({"event": "done", "task": "finetune", "output": "/o/t.pth", "skipped": True, "steps": 20})
    assert progress.parse_line(line).skipped is True


def test_the_installers_steps_are_not_taken_for_training_steps():
    line = json.dumps({"event": "step", "name": "torch", "done": 2, "total": 5, "message": "installing"})
    assert progress.parse_line(line) == progress.Step("torch", 2, 5, "installing")


def test_training_text_shows_step_and_loss():
    assert progress.training_text(progress.Trained(5, 20, 0.012345)) == "fine-tune step 5/20, loss 0.01235"
    assert progress.training_text(progress.Trained(5, 20, 0.5), "shot") == "shot: fine-tune step 5/20, loss 0.5"
