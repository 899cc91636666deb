"""The keyframes of the RVMatte node (docs/nuke.md, Fine-tune from keyframes): input 4 `keyframes`
(a Roto or a paint fix holding the corrected matte) on the frames the artist types, and the tuned
checkpoint the Fine-tune button made, which Generate then takes as its weights.

Nuke cannot tell which frames of a Roto were corrected, so the frames are a knob. The node
remembers its last successful fine-tune in the hidden knob `rvm_tuned` (path, sha256, frames and
the state of its inputs): Generate uses that checkpoint only while "use tuned weights" is on and
the keyframes, their input, the steps and the base weights are what they were then. When it is on
and the checkpoint is missing, failed or out of date, Generate refuses and says so: it never falls
back to the base weights unless the artist turns the box off."""
import hashlib
import json
import os

import nuke

from .rvmatte_hostkit import sparse

KEYFRAME_INPUT = 4
FINETUNE_COMMAND = "import rvmatte_nuke.generate\nrvmatte_nuke.generate.finetune(nuke.thisNode())"
RECORD_KNOB = "rvm_tuned"
INPUT_KNOBS = ("keyframe_frames", "finetune_steps", "weights", "variant", "ratio_mode", "ratio", "precision",
               "input_colorspace")


def knob_specs():
    """(name, maker, default) of the fine-tune knobs, in panel order (node._knob_specs)."""
    return [
        ("finetune_tab", lambda: nuke.Text_Knob("finetune_tab", "fine-tune"), None),
        ("keyframe_frames", lambda: nuke.String_Knob("keyframe_frames", "keyframe frames"), ""),
        ("finetune_steps", lambda: nuke.Int_Knob("finetune_steps", "fine-tune steps"), 0),
        ("finetune", lambda: nuke.PyScript_Knob("finetune", "Fine-tune from keyframes", FINETUNE_COMMAND), None),
        ("use_tuned", lambda: nuke.Boolean_Knob("use_tuned", "use tuned weights"), False),
        ("tuned_weights", lambda: nuke.String_Knob("tuned_weights", "tuned weights"), ""),
        (RECORD_KNOB, lambda: nuke.String_Knob(RECORD_KNOB, "tuned record"), ""),
    ]


TOOLTIPS = {
    "keyframe_frames": "Frames on which the keyframes input (input 4) holds a corrected matte, e.g. "
                       "1003,1010,1020-1022. Only these are rendered and trained on.",
    "finetune_steps": "Optimizer steps of the fine-tune (rvmatte finetune --steps); 0: the worker's default.",
    "finetune": "Render the keyframes input on the keyframe frames, then fine-tune the weights on this shot "
                "in the background (rvmatte finetune). Generate then uses the tuned weights.",
    "use_tuned": "On: Generate uses the tuned weights below and refuses while they are missing or older than "
                 "the keyframes. Off: the base weights.",
    "tuned_weights": "The checkpoint the last fine-tune wrote (<output directory>/tuned/<node>.pth).",
}
HIDDEN = (RECORD_KNOB,)
READ_ONLY = ("tuned_weights",)


def _knob(group, name, default=None):
    knob = group.knob(name)
    return knob.value() if knob is not None else default


def frames(group, first, last):
    """The keyframe frames typed on the node ([] when empty), all within first..last. Raises
    ValueError naming the knob, and every frame outside the range."""
    text = (_knob(group, "keyframe_frames", "") or "").strip()
    try:
        found = sparse.parse_ranges(text)
    except ValueError as exc:
        raise ValueError("keyframe frames %r: %s" % (text, exc))
    outside = [f for f in found if not first <= f <= last]
    if outside:
        raise ValueError("keyframe frame%s %s %s outside the frame range %d-%d" % (
            "s" if len(outside) > 1 else "", sparse.format_ranges(outside), "are" if len(outside) > 1 else "is",
            first, last))
    return found


def wanted(group):
    """Whether Generate is to use tuned weights (the box is on)."""
    return bool(_knob(group, "use_tuned", False))


def inputs_state(group):
    """Hash of what a fine-tune is made from besides the plate: the keyframe frames, the steps, the
    base weights and the model settings, and the keyframes input's whole upstream graph."""
    from . import staleness

    digest = hashlib.sha1()
    for name in INPUT_KNOBS:
        knob = group.knob(name)
        digest.update(("%s=%s\0" % (name, knob.toScript() if knob is not None else "")).encode("utf-8"))
    upstream = group.input(KEYFRAME_INPUT)
    if upstream is not None:
        staleness.node_signature(upstream, digest)
    return digest.hexdigest()


def record(group):
    """The node's last successful fine-tune: {"path", "sha256", "frames", "state", ...}, or {}."""
    try:
        data = json.loads(_knob(group, RECORD_KNOB, "") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def remember(group, data):
    """A successful fine-tune onto the node: the record, the path shown, the box on."""
    group[RECORD_KNOB].setValue(json.dumps(data, sort_keys=True))
    group["tuned_weights"].setValue(data.get("path", ""))
    group["use_tuned"].setValue(True)


def weights_for_generate(group):
    """The tuned checkpoint Generate passes as --weights, or None while the box is off. Raises
    ValueError with the artist's two ways out when the box is on and the checkpoint cannot be used."""
    if not wanted(group):
        return None
    way_out = ("press Fine-tune from keyframes, or turn off 'use tuned weights' to generate with the base "
               "weights")
    done = record(group)
    path = done.get("path")
    if not path:
        raise ValueError("use tuned weights is on but no fine-tune has succeeded on this node yet: " + way_out)
    if not os.path.isfile(path):
        raise ValueError("the tuned weights %s are missing: %s" % (path, way_out))
    if done.get("state") != inputs_state(group):
        raise ValueError("the keyframes (frames, input or steps) or the base weights changed since the fine-tune "
                       "that wrote %s: %s" % (path, way_out))
    return path


def state_text(group):
    """What the fine-tune adds to the stale hash: nothing while the box is off (so a matte made before
    the knobs existed keeps its hash); else the tuned checkpoint's sha256 and its inputs' state, so a
    matte made with the base weights is stale once a fine-tune succeeds, and changed keyframes mark it."""
    if not wanted(group):
        return ""
    return "\0tuned=%s\0keyframes=%s" % (record(group).get("sha256") or "none", inputs_state(group))
