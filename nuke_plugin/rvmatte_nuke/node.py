"""The RVMatte node: a Group built by Python from stock nodes only, so a saved
script renders on a machine without the plugin.

Inside:  Input1 (plate) ──────────────────────────────┐
         alpha_read ─A─> copy_alpha (rgba.alpha) ─> copy_fgr (fgr layer) ─> premult ─> switch ─> Output1
         fgr_read ─────────────────────A──────────┘                                    (0: plate only)
The Reads hold the worker's EXRs (already in the script's working space, so
`raw`); `switch` passes the plate through until a matte exists, and then outside the
frames the matte holds: its `which` is the expression SWITCH_EXPRESSION (the Reads give
black there, `before`/`after` = black, which the Switch never shows).
The optional inputs 1, 2, 3 and 4 (Input nodes `holdout`, `garbage`, `target` and
`keyframes`, whose names label the node's input arrows) feed nothing inside: Generate
renders them (or takes their Read's files) as the worker's --holdout / --garbage /
--target mattes (people.py: the target and the People knobs), and Fine-tune from
keyframes renders `keyframes` on the keyframe frames for `rvmatte finetune`
(keyframes.py).
"""
import nuke

from . import keyframes, people, versions

NODE_VERSION = 6
VERSION_KNOB = "rvm_version"
FGR_LAYER = "fgr"
FGR_CHANNELS = ["fgr.red", "fgr.green", "fgr.blue", "fgr.alpha"]

DEFAULT_OUTPUT_DIR = "[file dirname [value root.name]]/rvmatte/[value name]"
VARIANTS = ("mobilenetv3", "resnet50")
DEVICE_CHOICES = ("preferences", "auto", "cpu", "cuda", "mps")
PRECISIONS = ("float32", "float16", "bfloat16")
FOREGROUND_CHOICES = ("edge", "model", "plate")
RANGE_CHOICES = ("input", "custom")
RATIO_CHOICES = ("auto", "value")
MASK_INPUTS = ((1, "holdout"), (2, "garbage"), (people.TARGET_INPUT, "target"))

INTERNAL = ("Input1", "holdout", "garbage", "target", "keyframes", "alpha_read", "fgr_read", "copy_alpha", "copy_fgr", "premult", "switch", "Output1")
GENERATE_COMMAND = "import rvmatte_nuke.generate\nrvmatte_nuke.generate.generate(nuke.thisNode())"
LOAD_COMMAND = "import rvmatte_nuke.wiring\nrvmatte_nuke.wiring.load_results_button(nuke.thisNode())"
# 1 (the matte) on the frames the alpha Read holds, 0 (the plate) elsewhere; Nuke's inrange is inclusive
SWITCH_EXPRESSION = "inrange(frame, alpha_read.first, alpha_read.last)"


def _knob_specs():
    """(name, maker, default) in panel order; the default is set on creation only."""
    return [
        ("rvmatte_tab", lambda: nuke.Tab_Knob("rvmatte_tab", "RVMatte"), None),
        ("range_mode", lambda: nuke.Enumeration_Knob("range_mode", "frame range", RANGE_CHOICES), None),
        ("range_first", lambda: nuke.Int_Knob("range_first", "first"), 1),
        ("range_last", lambda: nuke.Int_Knob("range_last", "last"), 100),
        ("variant", lambda: nuke.Enumeration_Knob("variant", "variant", VARIANTS), None),
        ("weights", lambda: nuke.File_Knob("weights", "weights"), ""),
        ("ratio_mode", lambda: nuke.Enumeration_Knob("ratio_mode", "downsample ratio", RATIO_CHOICES), None),
        ("ratio", lambda: nuke.Double_Knob("ratio", ""), 0.25),
        ("device", lambda: nuke.Enumeration_Knob("device", "device", DEVICE_CHOICES), None),
        ("precision", lambda: nuke.Enumeration_Knob("precision", "precision", PRECISIONS), None),
        ("input_colorspace", lambda: nuke.String_Knob("input_colorspace", "input colourspace"), ""),
        ("output_dir", lambda: nuke.File_Knob("output_dir", "output directory"), DEFAULT_OUTPUT_DIR),
        ("foreground", lambda: nuke.Enumeration_Knob("foreground", "foreground", FOREGROUND_CHOICES), None),
        ("premultiply", lambda: nuke.Boolean_Knob("premultiply", "premultiply output"), True),
        ("views", lambda: nuke.String_Knob("views", "views"), ""),
    ] + people.knob_specs() + keyframes.knob_specs() + versions.knob_specs() + [
        ("generate", lambda: nuke.PyScript_Knob("generate", "Generate", GENERATE_COMMAND), None),
    ] + versions.button_specs() + [
        ("load_results", lambda: nuke.PyScript_Knob("load_results", "Load results", LOAD_COMMAND), None),
        ("status", lambda: nuke.Text_Knob("status", "status", "no matte yet"), None),
        ("rvm_state", lambda: nuke.String_Knob("rvm_state", "state"), ""),
        ("rvm_result", lambda: nuke.String_Knob("rvm_result", "result"), ""),
        (VERSION_KNOB, lambda: nuke.Int_Knob(VERSION_KNOB, "plugin node version"), NODE_VERSION),
    ]


TOOLTIPS = {
    "range_mode": "input: the frame range of the node's input; custom: the range below.",
    "weights": "RVM checkpoint (.pth). Empty: the one set in RVMatte > Preferences, else rvmatte's own lookup.",
    "ratio_mode": "auto: min(512 / longest side, 1).",
    "device": "preferences: the default device set in RVMatte > Preferences.",
    "input_colorspace": "Colour space of the plate the worker reads. Empty: the script's working space "
                        "(or, when the input is a usable Read, that Read's colour space).",
    "output_dir": "Where the matte EXRs go. TCL such as [value root.name] is allowed.",
    "foreground": "edge: the plate exactly where the subject is solid, RVM's decontaminated colour in the soft "
                  "edge band; model: RVM's decontaminated foreground everywhere; plate: plate x alpha.",
    "views": "Views to process, separated by spaces; empty: all of the script's views.",
    "generate": "Render the input to an EXR precomp if needed, then run rvmatte in the background.",
    "load_results": "Point the node at EXRs already in the output directory (e.g. rendered by the farm).",
}
TOOLTIPS.update(people.TOOLTIPS)
TOOLTIPS.update(keyframes.TOOLTIPS)
TOOLTIPS.update(versions.TOOLTIPS)
HIDDEN = ("rvm_state", "rvm_result") + keyframes.HIDDEN + versions.HIDDEN
READ_ONLY = ("status", VERSION_KNOB) + keyframes.READ_ONLY
# Knobs that sit beside the knob before them in the panel; every other knob starts a line.
SAME_LINE = ("range_first", "range_last", "ratio", "precision", "resume", "load_results") + people.SAME_LINE
# Knob -> (knob, value): shown only while that knob has that value.
SHOWN_WHEN = {"range_first": ("range_mode", "custom"), "range_last": ("range_mode", "custom"),
              "ratio": ("ratio_mode", "value")}
SHOWN_WHEN.update(people.SHOWN_WHEN)


def is_rvmatte(node):
    try:
        return node is not None and node.Class() == "Group" and node.knob(VERSION_KNOB) is not None
    except ValueError:
        return False


def create_node():
    """Tab > RVMatte: a new node connected to the selected one, made in one undo step, its custom
    range set to the input's; with the GUI up its panel opens, as a stock node's does."""
    selected = nuke.selectedNodes()
    undo = nuke.Undo()          # an instance: Nuke 17 documents class-level methods, older Nukes instance ones
    undo.begin()
    undo.name("Create RVMatte")
    try:
        group = nuke.createNode("Group", inpanel=False)
        group.setName("RVMatte1")
        build(group)
        if len(selected) == 1:
            group.setInput(0, selected[0])
        follow_input_range(group)
    except Exception:
        undo.cancel()
        raise
    undo.end()
    if nuke.GUI:
        group.showControlPanel()
    return group


def build(group):
    """Adds the knobs and the internals to an empty Group."""
    _add_missing_knobs(group, with_defaults=True)
    _build_internals(group)
    group[VERSION_KNOB].setValue(NODE_VERSION)
    return group


def _add_missing_knobs(group, with_defaults):
    for name, make, default in _knob_specs():
        if group.knob(name) is not None:
            continue
        knob = make()
        group.addKnob(knob)
        if default is not None and (with_defaults or name == VERSION_KNOB):
            knob.setValue(default)
        if name in TOOLTIPS:
            knob.setTooltip(TOOLTIPS[name])
        if name in HIDDEN:
            knob.setVisible(False)
        if name in READ_ONLY:
            knob.setEnabled(False)
        (knob.clearFlag if name in SAME_LINE else knob.setFlag)(nuke.STARTLINE)
    if not with_defaults:
        group[VERSION_KNOB].setValue(0)
    show_dependent_knobs(group)
    if with_defaults and group.knob("resume") is not None:
        group["resume"].setVisible(False)       # a new node has nothing to resume


def show_dependent_knobs(group):
    """Shows each knob of SHOWN_WHEN only while the knob it depends on has its value."""
    for name, (controller, value) in SHOWN_WHEN.items():
        knob, control = group.knob(name), group.knob(controller)
        if knob is not None and control is not None:
            knob.setVisible(control.value() == value)


def follow_input_range(group):
    """The custom first/last set to the input's range (the script's without an input): on
    creation, and when the artist chooses "custom", which then starts from the input's range."""
    upstream = group.input(0)
    first, last = ((upstream.firstFrame(), upstream.lastFrame()) if upstream is not None
                   else (nuke.root().firstFrame(), nuke.root().lastFrame()))
    for name, value in (("range_first", first), ("range_last", last)):
        if group[name].value() != value:
            group[name].setValue(value)


def knob_changed():
    """nuke.addKnobChanged callback (menu.py): keeps the panel in step with the artist's choices
    (also run for the dummy knobs ``showPanel`` and ``inputChange``)."""
    group, knob = nuke.thisNode(), nuke.thisKnob()
    if not is_rvmatte(group):
        return
    name = knob.name()
    if name == "range_mode" and knob.value() == "custom":
        follow_input_range(group)
    if name == "showPanel" or name in set(c for c, _ in SHOWN_WHEN.values()):
        show_dependent_knobs(group)
    if name in ("showPanel", "output_dir"):
        versions.show_resume(group)


def _build_internals(group):
    nuke.Layer(FGR_LAYER, FGR_CHANNELS)
    group.begin()
    try:
        for node in group.nodes():
            nuke.delete(node)
        plate = nuke.nodes.Input(name="Input1", label="plate")
        masks = [nuke.nodes.Input(name=name, label="optional matte") for _, name in MASK_INPUTS]
        masks.append(nuke.nodes.Input(name="keyframes", label="optional keyframe mattes"))
        alpha_read = nuke.nodes.Read(name="alpha_read", raw=True, before="black", after="black")
        fgr_read = nuke.nodes.Read(name="fgr_read", raw=True, before="black", after="black")
        copy_alpha = nuke.nodes.Copy(name="copy_alpha", from0="rgba.alpha", to0="rgba.alpha")
        copy_alpha.setInput(0, plate)
        copy_alpha.setInput(1, alpha_read)
        copy_fgr = nuke.nodes.Copy(name="copy_fgr")
        for i, channel in enumerate(["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"]):
            copy_fgr["from%d" % i].setValue(channel)
            copy_fgr["to%d" % i].setValue(FGR_CHANNELS[i])
        copy_fgr.setInput(0, copy_alpha)
        copy_fgr.setInput(1, fgr_read)
        premult = nuke.nodes.Premult(name="premult")
        premult["disable"].setExpression("!parent.premultiply")
        premult.setInput(0, copy_fgr)
        switch = nuke.nodes.Switch(name="switch")
        switch.setInput(0, plate)
        switch.setInput(1, premult)
        output = nuke.nodes.Output(name="Output1")
        output.setInput(0, switch)
        for i, node in enumerate([plate, alpha_read, fgr_read, copy_alpha, copy_fgr, premult, switch, output]):
            node.setXYpos(110 * (i % 3), 60 * i)
        for i, node in enumerate(masks):
            node.setXYpos(330 + 110 * i, 0)
    finally:
        group.end()


def internal(group, name):
    """One of the internal nodes (see INTERNAL)."""
    found = group.node(name)
    if found is None:
        raise LookupError("%s has no internal node %s: use RVMatte > Upgrade nodes" % (group.name(), name))
    return found


def show_matte(group):
    """The Switch shows the matte on the frames of the alpha Read and the plate outside them."""
    internal(group, "switch")["which"].setExpression(SWITCH_EXPRESSION)


def upgrade(group):
    """Brings an older RVMatte node up to this version, keeping the user's
    settings and the matte it points at. True when something changed."""
    version_knob = group.knob(VERSION_KNOB)
    version = version_knob.value() if version_knob is not None else 0
    if version >= NODE_VERSION:
        return False
    wiring = _current_wiring(group)
    connected = [(i, group.input(i)) for i in range(group.inputs())]
    _add_missing_knobs(group, with_defaults=False)
    _build_internals(group)
    for i, upstream in connected:
        if upstream is not None:
            group.setInput(i, upstream)
    if wiring is not None:
        for name, values in wiring.items():
            read = internal(group, name)
            for key, value in values.items():
                read[key].setValue(value)
        show_matte(group)
    group[VERSION_KNOB].setValue(NODE_VERSION)
    return True


def _current_wiring(group):
    result = {}
    for name in ("alpha_read", "fgr_read"):
        read = group.node(name)
        if read is None or read.Class() != "Read" or not read["file"].value():
            return None
        result[name] = dict((key, read[key].value()) for key in ("file", "first", "last", "origfirst", "origlast"))
    return result


def upgrade_all():
    """Every RVMatte node of the script, groups included; returns the upgraded ones."""
    return [n for n in nuke.allNodes("Group", nuke.root(), recurseGroups=True) if is_rvmatte(n) and upgrade(n)]
