"""Reading the worker's --progress json lines."""
from rvmatte_nuke import protocol


def test_parses_an_event_line():
    assert protocol.parse_line('{"event": "frame", "frame": 1001, "done": 1, "total": 3}\n')["frame"] == 1001


def test_ignores_lines_that_are_not_events():
    assert protocol.parse_line("loading weights...") is None
    assert protocol.parse_line("{not json") is None
    assert protocol.parse_line('{"event": "party"}') is None
    assert protocol.parse_line("[1, 2]") is None


def test_error_line_prefers_the_error_event():
    events = [{"event": "start"}, {"event": "error", "message": "frame 1007 is missing: /a/p.1007.exr"}]
    assert protocol.error_line(events, ["rvmatte: error: other"], 2) == "frame 1007 is missing: /a/p.1007.exr"


def test_error_line_falls_back_to_the_stderr_error_line():
    stderr = ["warming up", "rvmatte: error: --device cuda: no CUDA device", "bye"]
    assert protocol.error_line([], stderr, 2) == "--device cuda: no CUDA device"


def test_error_line_falls_back_to_the_last_stderr_line():
    assert protocol.error_line([], ["Traceback...", "MemoryError: out of memory", ""], 1) == "MemoryError: out of memory"


def test_error_line_without_any_words_gives_the_exit_code():
    assert "exit code -9" in protocol.error_line([], [], -9)


def test_progress_text_names_view_frame_and_speed():
    text = protocol.progress_text({"frame": 1003, "done": 3, "total": 10, "fps": 2.5}, "left")
    assert text == "left: frame 1003 (3/10), 2.50 fps"
