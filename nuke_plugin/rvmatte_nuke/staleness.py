"""The stale flag: a hash of everything upstream plus the node's matte settings,
stored on the node when a matte is made and compared later.

Two ways of hashing a knob exist. Scheme 1 (states without a prefix: mattes made before scheme 2)
hashes every knob's ``toScript()``, whose text and set of knobs differ between Nuke versions, so a
script opened in another Nuke looked changed. Scheme 2 (states ``2:<sha1>``) hashes only knobs
that differ from their default, each by its value (floats to 9 significant digits), and an
animated or expression-driven knob by its script. A stored state is compared in its own scheme,
so mattes made before keep their judgement."""
import hashlib

import nuke

from . import keyframes, node as rvnode, people, read_input, sequences
from .rvmatte_hostkit.plate import file_stamp

COSMETIC_KNOBS = frozenset((
    "name", "label", "xpos", "ypos", "selected", "tile_color", "gl_color", "note_font", "note_font_size",
    "note_font_color", "hide_input", "postage_stamp", "postage_stamp_frame", "icon", "indicators",
    "cached", "bookmark", "dope_sheet", "help", "onCreate", "onDestroy", "knobChanged", "updateUI",
    "autolabel", "panel", "lifetimeStart", "lifetimeEnd", "useLifetime", "reload", "selected", "rvm_label",
    "rvm_pending", "keep_versions", "resume",
))
SETTINGS_KNOBS = ("range_mode", "range_first", "range_last", "variant", "weights", "ratio_mode", "ratio",
                  "device", "precision", "input_colorspace", "output_dir", "foreground", "views")


SCHEME = 2


def _knob_text_1(knob):
    return knob.toScript()


def _canonical(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "%.9g" % value
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(_canonical(v) for v in value)
    return None


def _knob_text_2(knob, at_default=False):
    """None for a knob at its default (unless ``at_default``); else its value, or its script when
    animated, driven by an expression or not a plain value."""
    if not at_default and not knob.notDefault():
        return None
    if knob.isAnimated() or knob.hasExpression():
        return knob.toScript()
    try:
        text = _canonical(knob.value())
    except (TypeError, ValueError, NameError, RuntimeError):
        text = None
    return text if text is not None else knob.toScript()


_KNOB_TEXT = {1: _knob_text_1, 2: _knob_text_2}


def _node_signature(node, digest, seen, knob_text=_knob_text_2):
    if id(node) in seen:
        return
    seen.add(id(node))
    digest.update(node.Class().encode("utf-8"))
    for knob in node.allKnobs():
        name = knob.name()
        if name in COSMETIC_KNOBS:
            continue
        text = knob_text(knob)
        if text is not None:
            digest.update(("\0%s=%s" % (name, text)).encode("utf-8"))
    if node.Class() == "Read":
        digest.update(_files_signature(node).encode("utf-8"))
    if node.Class() == "Group":
        for child in sorted(node.nodes(), key=lambda n: n.name()):
            _node_signature(child, digest, seen, knob_text)
    for i in range(node.inputs()):
        upstream = node.input(i)
        digest.update(("\0input%d" % i).encode("utf-8"))
        if upstream is not None:
            _node_signature(upstream, digest, seen, knob_text)


def node_signature(node, digest):
    """Adds ``node`` and its whole upstream graph to ``digest`` (hashlib)."""
    _node_signature(node, digest, set())


def _files_signature(read):
    """Sizes and modification times of a Read's first and last frames, so a
    re-rendered plate counts as a change even when no knob moved."""
    try:
        pattern = read_input.file_of(read)
        frames = (read["first"].value(), read["last"].value())
    except (RuntimeError, ValueError, NameError):
        return ""
    if "%V" in pattern or "%v" in pattern:
        pattern = sequences.for_view(pattern, nuke.views()[0])
    parts = []
    for frame in frames:
        path = sequences.frame_file(pattern, frame) if sequences.has_frame_token(pattern) else pattern
        parts.append("%s:%s" % (frame, file_stamp(path)))
    return "\0files=" + ",".join(parts)


def state_hash(node, scheme=SCHEME):
    """Hash of the node's matte settings and its whole upstream graph, the
    holdout and garbage inputs included (nothing of them when unconnected, so
    a matte made before they existed keeps its hash), and the tuned weights while
    Generate is to use them (keyframes.state_text). Scheme 2's first/last count only
    with a custom range (with the input's, the input's graph decides)."""
    digest = hashlib.sha1()
    custom = node.knob("range_mode") is not None and node["range_mode"].value() == "custom"
    for name in SETTINGS_KNOBS:
        knob = node.knob(name)
        if scheme >= 2 and name in ("range_first", "range_last") and not custom:
            continue
        if knob is None:
            text = ""
        elif scheme == 1:
            text = knob.toScript()
        else:
            text = _knob_text_2(knob, at_default=True)
        digest.update(("%s=%s\0" % (name, text)).encode("utf-8"))
    knob_text = _KNOB_TEXT[scheme]
    upstream = node.input(0)
    if upstream is not None:
        _node_signature(upstream, digest, set(), knob_text)
    for index, name in rvnode.MASK_INPUTS:
        mask = node.input(index)
        if mask is not None:
            digest.update(("\0%s input\0" % name).encode("utf-8"))
            _node_signature(mask, digest, set(), knob_text)
    digest.update(people.state_text(node).encode("utf-8"))
    digest.update(keyframes.state_text(node).encode("utf-8"))
    return digest.hexdigest() if scheme == 1 else "%d:%s" % (scheme, digest.hexdigest())


def _scheme_of(state):
    head, _, rest = state.partition(":")
    return int(head) if rest and head.isdigit() and int(head) in _KNOB_TEXT else 1


def plate_hash(node, first, last):
    """Hash of what the plate precomp is rendered from: the input's whole upstream graph, the frame
    range and the script's working space (precomp_stamp)."""
    digest = hashlib.sha1()
    digest.update(("%d-%d\0%s\0" % (first, last, nuke.root()["workingSpaceLUT"].value())).encode("utf-8"))
    upstream = node.input(0)
    if upstream is not None:
        _node_signature(upstream, digest, set())
    return digest.hexdigest()


def input_id(node):
    """What the plate is, for the worker's result key (``rvmatte run --input-id``): a digest of the
    input's whole upstream graph (knobs, and the first and last files of each Read by size and
    modification time), which the key otherwise knows only by its frame size. Another id is another
    version, so a re-rendered or regraded plate never keeps frames of the old one; the frame range
    plays no part (a longer range continues the same version)."""
    digest = hashlib.sha1()
    upstream = node.input(0)
    if upstream is not None:
        _node_signature(upstream, digest, set())
    return digest.hexdigest()[:16]


def context_text(weights, ocio_config, python=""):
    """What changes the result from outside the node graph: the script's working space, the OCIO
    config and the weights file (each file by its size and modification time: a stat, never a
    read, as this runs on the GUI thread), the plugin's version and the engine's (rvmatte's
    version in the worker interpreter's environment, from a directory listing; left out when it
    cannot be told). Kept beside the state hash (in the node's result record) rather than in it,
    so mattes made before it stay current; compared entry by entry (``same_context``)."""
    from . import __version__
    from .rvmatte_hostkit.engine import installed_version

    entries = ["working=" + nuke.root()["workingSpaceLUT"].value(), "ocio=" + _file_identity(ocio_config),
               "weights=" + _file_identity(weights), "rvmatte_nuke=" + __version__]
    engine = installed_version(python)
    if engine:
        entries.append("rvmatte=" + engine)
    return "\0".join(entries)


def same_context(made_in, now):
    """Whether two ``context_text`` records agree on every entry both have: an entry a record made
    by an older plugin lacks (or an engine version that could not be told) decides nothing."""
    def entries(text):
        return dict(part.partition("=")[::2] for part in text.split("\0"))

    before, after = entries(made_in), entries(now)
    return all(before[name] == after[name] for name in set(before) & set(after))


def _file_identity(path):
    return "%s:%s" % (path, file_stamp(path)) if path else ""


def current_context(node):
    """``context_text`` for the node as a Generate now would run it; None when it cannot be told
    (preferences unreadable): then only the state hash decides."""
    from . import jobs, settings

    try:
        prefs = settings.in_effect(settings.load())
        weights = node["weights"].getEvaluatedValue() or prefs.weights
        try:
            python = settings.worker_python(prefs)
        except settings.SettingsError:
            python = ""
        return context_text(weights, jobs.ocio_config(), python)
    except Exception:  # noqa: BLE001 - the stale flag must never break the GUI
        return None


def is_stale(node):
    """True when a matte exists and the upstream, the settings or the context (working space,
    OCIO config, weights file, plugin version) changed since."""
    stored = node["rvm_state"].value()
    if not stored:
        return False
    if stored != state_hash(node, _scheme_of(stored)):
        return True
    made_in = _stored_context(node)
    if made_in is None:
        return False
    now = current_context(node)
    return now is not None and not same_context(made_in, now)


def _stored_context(node):
    import json

    knob = node.knob("rvm_result")
    try:
        return json.loads(knob.value()).get("context") if knob is not None and knob.value() else None
    except ValueError:
        return None


class Watch(object):
    """When the GUI's stale check (an updateUI callback) hashes a node's upstream again: after
    an edit anywhere in the script (``changed``: a knobChanged, onCreate or onDestroy callback)
    since its last check, else every RECHECK_S seconds, for plates re-rendered on disk and
    changes made by scripts, which run no callback. Hashing walks the whole upstream."""
    RECHECK_S = 10.0

    def __init__(self):
        self.changes = 0
        self._checked = {}

    def changed(self):
        self.changes += 1

    def due(self, name, now):
        last = self._checked.get(name)
        if last is not None and last[1] == self.changes and now - last[0] < self.RECHECK_S:
            return False
        self._checked[name] = (now, self.changes)
        return True
