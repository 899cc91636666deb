"""When the node's input is a Read whose knobs would not change the pixels, the
worker reads that Read's files directly and no precomp is rendered."""
import os

from . import sequences

PIXEL_KNOB_DEFAULTS = (
    ("before", "hold"),
    ("after", "hold"),
    ("on_error", "error"),
    ("raw", False),
    ("premultiplied", False),
    ("disable", False),
)
PASS_THROUGH = ("Dot",)
FLOAT_EXTENSIONS = (".exr", ".hdr", ".pfm", ".sxr")
LOG_EXTENSIONS = (".dpx", ".cin")


class ReadPlate(object):
    """A Read's files as the worker's input: pattern (with %V for views) and colour space."""

    def __init__(self, read_name, pattern, colorspace):
        self.read_name = read_name
        self.pattern = pattern
        self.colorspace = colorspace


def upstream_read(node, index=0):
    """The Read feeding input `index`, through Dots; None when there is none."""
    upstream = node.input(index)
    while upstream is not None and upstream.Class() in PASS_THROUGH:
        upstream = upstream.input(0)
    if upstream is not None and upstream.Class() == "Read":
        return upstream
    return None


def plate_from_read(read, first, last, root):
    """(ReadPlate, None) when the Read's files can be used as they are, else
    (None, reason) saying which knob stops it."""
    path = file_of(read)
    if not path:
        return None, "%s has no file" % read.name()
    if sequences.is_movie(path) or not sequences.has_frame_token(path):
        return None, "%s reads a movie or a single file, not an image sequence" % read.name()
    for knob_name, default in PIXEL_KNOB_DEFAULTS:
        knob = read.knob(knob_name)
        if knob is not None and knob.value() != default:
            return None, "%s: %s is %r (default %r)" % (read.name(), knob_name, knob.value(), default)
    if read["proxy"].value():
        return None, "%s has a proxy file" % read.name()
    reformat = read.knob("reformat")
    if reformat is not None and reformat.value():
        return None, "%s reformats" % read.name()
    if read["frame"].value().strip():
        return None, "%s offsets its frames (frame mode %s %s)" % (
            read.name(), read["frame_mode"].value(), read["frame"].value())
    if (read["first"].value(), read["last"].value()) != (read["origfirst"].value(), read["origlast"].value()):
        return None, "%s trims its range to %d-%d (files: %d-%d)" % (
            read.name(), read["first"].value(), read["last"].value(),
            read["origfirst"].value(), read["origlast"].value())
    if first < read["first"].value() or last > read["last"].value():
        return None, "frames %d-%d go beyond %s's %d-%d" % (
            first, last, read.name(), read["first"].value(), read["last"].value())
    colorspace, reason = _file_colorspace(read, path, root)
    if colorspace is None:
        return None, reason
    return ReadPlate(read.name(), path, colorspace), None


def file_of(read):
    """The Read's file as Nuke opens it: ``nuke.filename`` (TCL commands and variables expanded,
    the studio's filename filters applied), a relative path taken from the script's project
    directory, with forward slashes (the worker runs elsewhere, with another working directory)."""
    import nuke

    path = nuke.filename(read) or ""
    if path and not is_absolute(path):
        knob = nuke.root().knob("project_directory")
        project = knob.getEvaluatedValue().strip() if knob is not None else ""
        if project:
            path = project.replace("\\", "/").rstrip("/") + "/" + path.replace("\\", "/")
    return path


def is_absolute(path):
    """Absolute on Linux, macOS or Windows (``/``, ``C:/``, ``C:\\``, ``//server`` or ``\\\\server``)."""
    return path.startswith(("/", "\\")) or (len(path) > 2 and path[0].isalpha() and path[1] == ":"
                                              and path[2] in "/\\")


def _file_colorspace(read, path, root):
    """The colour space the Read takes its files to be in, when it is the default.

    Nuke shows the default as "default (NAME)"; plain "default" means the
    script's default for the file type (root's floatLut / logLut / int8Lut)."""
    value = read["colorspace"].value()
    if not value.startswith("default"):
        return None, "%s: colorspace is %r (default: default)" % (read.name(), value)
    inner = value[len("default"):].strip()
    if inner.startswith("(") and inner.endswith(")"):
        return inner[1:-1].strip(), None
    extension = os.path.splitext(path)[1].lower()
    lut = "floatLut" if extension in FLOAT_EXTENSIONS else "logLut" if extension in LOG_EXTENSIONS else "int8Lut"
    knob = root.knob(lut)
    if knob is None or not knob.value():
        return None, "cannot tell the default colour space of %s (no root %s)" % (read.name(), lut)
    return knob.value(), None
