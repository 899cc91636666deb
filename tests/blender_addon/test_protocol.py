"""The worker's JSON progress lines, read into typed messages (blender_addon/protocol.py)."""

import json

import pytest

from conftest import PACKAGE  # noqa: F401  (conftest installs the add-on package)


@pytest.fixture
def protocol(installed):
    return installed.protocol


def test_start_line_gives_frame_count_range_and_outputs(protocol):
    line = json.dumps({"event": "start", "version": "0.1.0", "input": "a.mp4", "frames": 20, "first": 1001,
                       "last": 1020, "width": 1920, "height": 1080, "device": "cpu", "variant": "mobilenetv3",
                       "downsample_ratio": 0.25, "outputs": {"alpha": "x.####.exr"}, "seq_chunk": 1})
    message = protocol.parse_line(line)
    assert isinstance(message, protocol.Started)
    assert (message.frames, message.first, message.last, message.device) == (20, 1001, 1020, "cpu")
    assert message.outputs == {"alpha": "x.####.exr"}


def test_frame_line_gives_progress(protocol):
    message = protocol.parse_line('{"event": "frame", "frame": 1003, "done": 3, "total": 20, "fps": 3.2, "skipped": false}\n')
    assert message == protocol.FrameDone(frame=1003, done=3, total=20, fps=3.2, skipped=False)


def test_done_line_gives_summary(protocol):
    message = protocol.parse_line('{"event": "done", "frames": 20, "written": 18, "skipped": 2, "seconds": 6.1, "fps": 3.3}')
    assert isinstance(message, protocol.Finished)
    assert (message.written, message.skipped) == (18, 2)


def test_error_line_keeps_the_workers_message(protocol):
    message = protocol.parse_line('{"event": "error", "message": "frame 1007 is missing: /shots/a/plate.1007.exr"}')
    assert message == protocol.Failed("frame 1007 is missing: /shots/a/plate.1007.exr")


def test_warning_line_keeps_message_and_frame(protocol):
    message = protocol.parse_line('{"event": "warning", "message": "frame 4: 12 NaN", "frame": 4}')
    assert message == protocol.Warned("frame 4: 12 NaN", 4)


def test_text_that_is_not_json_becomes_a_log_line(protocol):
    assert protocol.parse_line("Loading weights...\n") == protocol.Log("Loading weights...")


def test_unknown_events_and_blank_lines_are_ignored(protocol):
    assert protocol.parse_line('{"event": "telemetry", "x": 1}') is None
    assert protocol.parse_line("   \n") is None


def test_frame_line_missing_required_keys_is_ignored(protocol):
    assert protocol.parse_line('{"event": "frame", "frame": 3}') is None


def test_error_line_is_found_in_stderr_without_its_prefix(protocol):
    stderr = ["Traceback? no", "rvmatte: error: weights file not found: /x.pth", "bye"]
    assert protocol.error_line(stderr) == "weights file not found: /x.pth"
    assert protocol.error_line(["nothing useful"]) is None
