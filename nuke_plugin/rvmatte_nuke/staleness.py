"""The stale flag: a hash of everything upstream plus the node's matte settings,
stored on the node when a matte is made and compared later."""
import hashlib
import os

import nuke

from . import keyframes, node as rvnode, people, read_input, sequences

COSMETIC_KNOBS = frozenset((
    "name", "label", "xpos", "ypos", "selected", "tile_color", "gl_color", "note_font", "note_font_size",
    "note_font_color", "hide_input", "postage_stamp", "postage_stamp_frame", "icon", "indicators",
    "cached", "bookmark", "dope_sheet", "help", "onCreate", "onDestroy", "knobChanged", "updateUI",
    "autolabel", "panel", "lifetimeStart", "lifetimeEnd", "useLifetime", "reload", "selected", "rvm_label",
    "rvm_pending", "keep_versions", "resume",
))
SETTINGS_KNOBS = ("range_mode", "range_first", "range_last", "variant", "weights", "ratio_mode", "ratio",
                  "device", "precision", "input_colorspace", "output_dir", "foreground", "views")


def _node_signature(node, digest, seen):
    if id(node) in seen:
        return
    seen.add(id(node))
    digest.update(node.Class().encode("utf-8"))
    for knob in node.allKnobs():
        name = knob.name()
        if name in COSMETIC_KNOBS:
            continue
        digest.update(("\0%s=%s" % (name, knob.toScript())).encode("utf-8"))
    if node.Class() == "Read":
        digest.update(_files_signature(node).encode("utf-8"))
    if node.Class() == "Group":
        for child in sorted(node.nodes(), key=lambda n: n.name()):
            _node_signature(child, digest, seen)
    for i in range(node.inputs()):
        upstream = node.input(i)
        digest.update(("\0input%d" % i).encode("utf-8"))
        if upstream is not None:
            _node_signature(upstream, digest, seen)


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
        try:
            info = os.stat(path)
            parts.append("%s:%d:%d" % (frame, info.st_size, int(info.st_mtime)))
        except OSError:
            parts.append("%s:missing" % frame)
    return "\0files=" + ",".join(parts)


def state_hash(node):
    """Hash of the node's matte settings and its whole upstream graph, the
    holdout and garbage inputs included (nothing of them when unconnected, so
    a matte made before they existed keeps its hash), and the tuned weights while
    Generate is to use them (keyframes.state_text)."""
    digest = hashlib.sha1()
    for name in SETTINGS_KNOBS:
        knob = node.knob(name)
        digest.update(("%s=%s\0" % (name, knob.toScript() if knob is not None else "")).encode("utf-8"))
    upstream = node.input(0)
    if upstream is not None:
        _node_signature(upstream, digest, set())
    for index, name in rvnode.MASK_INPUTS:
        mask = node.input(index)
        if mask is not None:
            digest.update(("\0%s input\0" % name).encode("utf-8"))
            _node_signature(mask, digest, set())
    digest.update(people.state_text(node).encode("utf-8"))
    digest.update(keyframes.state_text(node).encode("utf-8"))
    return digest.hexdigest()


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


def context_text(weights, ocio_config):
    """What changes the result from outside the node graph: the script's working space, the OCIO
    config and the weights file (each file by its size and modification time: a stat, never a
    read, as this runs on the GUI thread) and the plugin's version. Kept beside the state hash
    (in the node's result record) rather than in it, so mattes made before it stay current."""
    from . import __version__

    return "\0".join(("working=" + nuke.root()["workingSpaceLUT"].value(), "ocio=" + _file_identity(ocio_config),
                       "weights=" + _file_identity(weights), "rvmatte_nuke=" + __version__))


def _file_identity(path):
    if not path:
        return ""
    try:
        info = os.stat(path)
    except OSError:
        return "%s:missing" % path
    return "%s:%d:%d" % (path, info.st_size, int(info.st_mtime))


def current_context(node):
    """``context_text`` for the node as a Generate now would run it; None when it cannot be told
    (preferences unreadable): then only the state hash decides."""
    from . import jobs, settings

    try:
        prefs = settings.in_effect(settings.load())
        weights = node["weights"].getEvaluatedValue() or prefs.weights
        return context_text(weights, jobs.ocio_config())
    except Exception:  # noqa: BLE001 - the stale flag must never break the GUI
        return None


def is_stale(node):
    """True when a matte exists and the upstream, the settings or the context (working space,
    OCIO config, weights file, plugin version) changed since."""
    stored = node["rvm_state"].value()
    if not stored:
        return False
    if stored != state_hash(node):
        return True
    made_in = _stored_context(node)
    if made_in is None:
        return False
    now = current_context(node)
    return now is not None and now != made_in


def _stored_context(node):
    import json

    knob = node.knob("rvm_result")
    try:
        return json.loads(knob.value()).get("context") if knob is not None and knob.value() else None
    except ValueError:
        return None
