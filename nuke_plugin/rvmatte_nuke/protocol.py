"""The worker's `--progress json` lines (docs/cli.md): one object per line with
an "event" of start, frame, warning, done or error."""
import json

EVENTS = ("start", "frame", "warning", "done", "error")


def parse_line(line):
    """The event dict of one stdout line, or None for anything that is not one."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("event") not in EVENTS:
        return None
    return event


def error_line(events, stderr_lines, returncode):
    """The worker's own words for a failure: its error event, else its
    `rvmatte: error:` line on stderr, else its last stderr line."""
    for event in reversed(events):
        if event.get("event") == "error" and event.get("message"):
            return str(event["message"])
    for line in reversed(stderr_lines):
        if line.startswith("rvmatte: error:"):
            return line[len("rvmatte: error:"):].strip()
    for line in reversed(stderr_lines):
        if line.strip():
            return line.strip()
    return "the worker stopped with exit code %s and no message" % returncode


def progress_text(event, view=None):
    """A one-line summary of a frame event for the progress bar."""
    text = "frame %s (%s/%s)" % (event.get("frame"), event.get("done"), event.get("total"))
    fps = event.get("fps")
    if isinstance(fps, (int, float)) and fps > 0:
        text += ", %.2f fps" % fps
    if view:
        text = "%s: %s" % (view, text)
    return text
