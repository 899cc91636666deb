"""A small stand-in for Nuke's `nuke` module, for testing the RVMatte plugin.

It models only what the plugin uses, after Nuke's documented Python API
(learn.foundry.com/nuke/developers, Nuke 13-16): nodes and knobs,
createNode/nodes/toNode/allNodes, Group begin/end, execute, ProgressTask,
executeInMainThread(WithResult), root settings, views, message, menus and the
GUI flag. It is strict where Nuke is strict or where Nuke would hang or crash:

- nodes, knobs, root, execute and message are main-thread only (RuntimeError);
- executeInMainThread* called from the main thread raise instead of hanging;
- ProgressTask.setProgress takes an int;
- unknown node classes raise like Nuke's "Unknown command";
- a Write's EXR knobs exist only once the file type is EXR;
- a Group has one input per Input node inside, numbered in creation order
  (setInput past them returns False);
- script buttons on a Group run inside that Group's context, as in Nuke.

Nothing renders pixels: `execute` calls `_fake.render_hook(write, frame, view)`,
which a test provides. Test helpers live under `_fake` (not part of Nuke's API).
"""
import os
import queue
import re
import threading

GUI = True
NUKE_VERSION_MAJOR = 15
NUKE_VERSION_MINOR = 1
NUKE_VERSION_STRING = "15.1v1"
env = {"gui": True, "NukeVersionMajor": 15, "NukeVersionMinor": 1, "NukeVersionString": "15.1v1"}

DISABLED = 0x80
NO_ANIMATION = 0x100
INVISIBLE = 0x400
STARTLINE = 0x1000
ENDLINE = 0x2000
READ_ONLY = 0x10000000


class _FakeState(object):
    """Everything a test may inspect or drive, reset by `_fake.reset()`."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.main_thread = threading.main_thread()
        self.main_queue = queue.Queue()
        self.messages = []
        self.executions = []
        self.render_hook = None
        self.cancel_next_execute = False
        self.progress_tasks = []
        self.callbacks = {}
        self.menus = {}
        self.undo_steps = []    # [(name, [action, ...])]: what Edit > Undo would step back through
        self.undo_open = None
        self.open_panels = []
        self.layers = {"rgba": ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"],
                       "rgb": ["rgba.red", "rgba.green", "rgba.blue"],
                       "alpha": ["rgba.alpha"], "depth": ["depth.Z"]}
        self.views = ["main"]
        self.plugin_paths = []
        self.this_node = None
        self.this_knob = None
        self.main_errors = []
        self.saves = []
        self.root = _make_root()
        self.context = [self.root]

    def process_events(self, until=None, timeout=10.0):
        """Run queued main-thread calls, as Nuke's event loop does, until
        `until()` is true (or, without `until`, until the queue is empty)."""
        _require_main("process_events")
        import time
        deadline = time.monotonic() + timeout
        while True:
            try:
                call, args, kwargs, done = self.main_queue.get(timeout=0.02)
            except queue.Empty:
                if until is None or until():
                    return True
                if time.monotonic() > deadline:
                    return False
                continue
            try:
                result = call(*args, **kwargs)
                error = None
            except Exception as exc:  # Nuke prints the traceback and carries on
                result, error = None, exc
                self.main_errors.append(exc)
            if done is not None:
                done.append(result)
                done.event.set()

    def user_sets(self, knob, value):
        """The artist changes a knob in the node's panel: the value is set, then the knobChanged
        callbacks run with thisNode/thisKnob (Nuke runs them for changes made in the panel)."""
        _require_main("user_sets")
        knob.setValue(value)
        self.knob_changed(knob.node(), knob)

    def knob_changed(self, node, knob):
        for call, args, kwargs, node_class in list(self.callbacks.get("knobChanged", [])):
            if node_class in ("*", node._class):
                saved = self.this_node, self.this_knob
                self.this_node, self.this_knob = node, knob
                try:
                    call(*args, **kwargs)
                finally:
                    self.this_node, self.this_knob = saved

    def record_undo(self, action):
        """One undoable change: part of the open undo group, else a step of its own."""
        if self.undo_open is not None:
            self.undo_open[1].append(action)
        else:
            self.undo_steps.append((action, [action]))

    def press(self, knob):
        """Click a script button: runs its command with thisNode/thisKnob set,
        inside the node's context when the node is a Group (as Nuke does)."""
        _require_main("press")
        node = knob.node()
        self.this_node, self.this_knob = node, knob
        entered = isinstance(node, Group)
        if entered:
            node.begin()
        try:
            exec(knob.command(), {"nuke": _module()})
        finally:
            if entered:
                node.end()
            self.this_node = self.this_knob = None


def _module():
    import sys
    return sys.modules[__name__]


def _require_main(what):
    if threading.current_thread() is not _fake.main_thread:
        raise RuntimeError("%s: Nuke's nodes and knobs can only be used from the main thread "
                           "(use nuke.executeInMainThread)" % what)


# ----------------------------------------------------------------------------- knobs

class Knob(object):
    """A knob starts a new line of the panel unless it is a button or a checkbox, which sit beside
    the knob before them until STARTLINE is set (as knobs made from Python do in Nuke)."""
    _default = ""
    _default_flags = STARTLINE

    def __init__(self, name, label=None, *args):
        self._name = name
        self._label = name if label is None else label
        self._value = self._coerce(self._default)
        self._default_value = self._value
        self._node = None
        self._flags = self._default_flags
        self._tooltip = ""
        self._expression = None

    def _coerce(self, value):
        return value

    def name(self):
        _require_main("Knob.name")
        return self._name

    def label(self):
        _require_main("Knob.label")
        return self._label

    def setLabel(self, label):
        _require_main("Knob.setLabel")
        self._label = label

    def node(self):
        _require_main("Knob.node")
        return self._node

    def value(self):
        """The stored value, or with an expression its result at the current frame (as Nuke)."""
        _require_main("Knob.value")
        if self._expression is not None:
            return self._coerce(_evaluate(self._expression, self._node, _fake.root._knobs["frame"]._value))
        return self._value

    def getValue(self):
        return self.value()

    def getValueAt(self, time, index=-1, view=None):
        """Array_Knob.getValueAt: the value at frame ``time`` (the expression evaluated there)."""
        _require_main("Knob.getValueAt")
        if self._expression is not None:
            return float(_evaluate(self._expression, self._node, time))
        return float(self._value)

    def setValue(self, value):
        _require_main("Knob.setValue")
        if self._node is not None:
            self._node._check_alive()
            if self._name != "selected":   # selecting is not an undo step
                _fake.record_undo("set %s.%s" % (self._node._knobs["name"]._value, self._name))
        self._value = self._coerce(value)
        return True

    def notDefault(self):
        _require_main("Knob.notDefault")
        return self._value != self._default_value or self._expression is not None

    def setFlag(self, flag):
        _require_main("Knob.setFlag")
        self._flags |= flag

    def clearFlag(self, flag):
        _require_main("Knob.clearFlag")
        self._flags &= ~flag

    def getFlag(self, flag):
        _require_main("Knob.getFlag")
        return bool(self._flags & flag)

    def setVisible(self, visible):
        (self.clearFlag if visible else self.setFlag)(INVISIBLE)

    def visible(self):
        return not self.getFlag(INVISIBLE)

    def setEnabled(self, enabled):
        (self.clearFlag if enabled else self.setFlag)(DISABLED)

    def enabled(self):
        return not self.getFlag(DISABLED)

    def setTooltip(self, text):
        _require_main("Knob.setTooltip")
        self._tooltip = text

    def tooltip(self):
        _require_main("Knob.tooltip")
        return self._tooltip

    def setExpression(self, expression, channel=-1, view=None):
        _require_main("Knob.setExpression")
        self._expression = expression
        return True

    def hasExpression(self, index=-1):
        _require_main("Knob.hasExpression")
        return self._expression is not None

    def isAnimated(self, channel=-1, view=None):
        _require_main("Knob.isAnimated")
        return False

    def toScript(self, quote=False, context=None):
        _require_main("Knob.toScript")
        if self._expression is not None:
            return "{{%s}}" % self._expression
        value = self._value
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def fromScript(self, script):
        _require_main("Knob.fromScript")
        self.setValue(script)
        return True

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self._name)


class Tab_Knob(Knob):
    pass


class Text_Knob(Knob):
    def __init__(self, name, label=None, text=""):
        Knob.__init__(self, name, label)
        self._value = self._default_value = text


class String_Knob(Knob):
    def __init__(self, name, label=None, text=""):
        Knob.__init__(self, name, label)
        self._value = self._default_value = text

    def _coerce(self, value):
        return str(value)

    def evaluate(self):
        _require_main("Knob.evaluate")
        return _tcl(self._value, self._node)


class EvalString_Knob(String_Knob):
    pass


class Multiline_Eval_String_Knob(String_Knob):
    pass


class File_Knob(EvalString_Knob):
    def __init__(self, name, label=None):
        String_Knob.__init__(self, name, label, "")

    def getEvaluatedValue(self, oc=None):
        """TCL evaluated, sequence notation normalised to %0Nd (as Nuke does)."""
        _require_main("File_Knob.getEvaluatedValue")
        text = _tcl(self._value, self._node)
        return re.sub(r"#+", lambda m: "%%0%dd" % len(m.group(0)), text)

    def evaluate(self, view=None):
        """TCL evaluated, with the current frame number (and view) filled in."""
        text = self.getEvaluatedValue()
        frame = int(_fake.root["frame"].value())
        text = re.sub(r"%0?(\d*)d", lambda m: ("%0" + (m.group(1) or "1") + "d") % frame, text)
        if view is not None:
            text = text.replace("%V", view).replace("%v", view[:1])
        return text

    def fromUserText(self, text):
        """Like typing `path.####.exr 1-10` in the file browser: sets first/last too."""
        _require_main("File_Knob.fromUserText")
        match = re.match(r"^(.*?)\s+(-?\d+)-(-?\d+)$", text)
        path = match.group(1) if match else text
        self.setValue(path)
        node = self._node
        if match and node is not None and node.knob("first") is not None:
            for key, value in (("first", match.group(2)), ("last", match.group(3)),
                               ("origfirst", match.group(2)), ("origlast", match.group(3))):
                if node.knob(key) is not None:
                    node[key].setValue(int(value))
                    node[key]._default_value = int(value)


class Int_Knob(Knob):
    _default = 0

    def _coerce(self, value):
        return int(value)


class Double_Knob(Knob):
    _default = 0.0

    def _coerce(self, value):
        return float(value)


class Boolean_Knob(Knob):
    _default = False
    _default_flags = 0

    def __init__(self, name, label=None, value=False):
        Knob.__init__(self, name, label)
        self._value = self._default_value = bool(value)

    def _coerce(self, value):
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes")
        return bool(value)

    def getValue(self):
        return 1.0 if self.value() else 0.0


class Disable_Knob(Boolean_Knob):
    pass


class XY_Knob(Knob):
    """A 2D position in full-resolution pixels of the format, (0, 0) at the bottom left (an Array_Knob
    of two: value() is [x, y], value(i) one of them; x() and y())."""

    def __init__(self, name, label=None, parent=None):
        Knob.__init__(self, name, label)
        self._value = self._default_value = [0.0, 0.0]

    def _coerce(self, value):
        return [float(v) for v in value]

    def value(self, index=None, view=None):
        _require_main("Knob.value")
        return list(self._value) if index is None else self._value[index]

    def setValue(self, value, index=None, time=None, view=None):
        if index is None:
            return Knob.setValue(self, value)
        _require_main("Knob.setValue")
        self._value[index] = float(value)
        return True

    def x(self):
        return self.value(0)

    def y(self):
        return self.value(1)

    def toScript(self, quote=False, context=None):
        _require_main("Knob.toScript")
        return "%s %s" % tuple(("%g" % v) for v in self._value)


class Enumeration_Knob(Knob):
    def __init__(self, name, label, values):
        self._values = None
        Knob.__init__(self, name, label)
        self._values = list(values)
        self._value = self._default_value = self._values[0] if self._values else ""

    def _coerce(self, value):
        if self._values is None:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            index = int(value)
            if not 0 <= index < len(self._values):
                raise ValueError("Illegal value %r for %s" % (value, self._name))
            return self._values[index]
        if value not in self._values:
            raise ValueError("Illegal value %r for %s (one of %s)" % (value, self._name, self._values))
        return value

    def values(self):
        _require_main("Enumeration_Knob.values")
        return list(self._values)

    def setValues(self, values):
        _require_main("Enumeration_Knob.setValues")
        self._values = list(values)

    def getValue(self):
        return float(self._values.index(self.value()))

    def numValues(self):
        _require_main("Enumeration_Knob.numValues")
        return len(self._values)


class Channel_Knob(Knob):
    _default = "none"

    def _coerce(self, value):
        value = str(value)
        if value != "none":
            layer = value.split(".")[0]
            if layer not in _fake.layers:
                raise ValueError("%s: unknown channel %r (create its layer first)" % (self._name, value))
        return value


class ChannelMask_Knob(Channel_Knob):
    pass


class Colorspace_Knob(Knob):
    """The `colorspace` knob of Read/Write: any name, default "default"."""
    _default = "default"


class PyScript_Knob(Knob):
    _default_flags = 0

    def __init__(self, name, label=None, command=""):
        Knob.__init__(self, name, label)
        self._command = command
        self._presses = 0

    def command(self):
        _require_main("PyScript_Knob.command")
        return self._command

    def setCommand(self, command):
        _require_main("PyScript_Knob.setCommand")
        self._command = command

    def execute(self):
        self._presses += 1
        _fake.press(self)


class Script_Knob(PyScript_Knob):
    pass


# ----------------------------------------------------------------------------- nodes

_COMMON = [("name", String_Knob), ("label", Multiline_Eval_String_Knob), ("xpos", Int_Knob),
           ("ypos", Int_Knob), ("selected", Boolean_Knob), ("tile_color", Int_Knob),
           ("hide_input", Boolean_Knob), ("knobChanged", String_Knob), ("onCreate", String_Knob)]
_FILE_EXT_EXR_KNOBS = ("datatype", "compression", "metadata", "write_full_layer_names")


class Format(object):
    """nuke.Format: a named width x height with a pixel aspect."""

    def __init__(self, width, height, pixel_aspect=1.0, name=""):
        self._width, self._height, self._aspect, self._name = int(width), int(height), float(pixel_aspect), name

    def width(self):
        return self._width

    def height(self):
        return self._height

    def pixelAspect(self):
        return self._aspect

    def name(self):
        return self._name

    def toScript(self):
        return "%d %d 0 0 %d %d %g %s" % (self._width, self._height, self._width, self._height, self._aspect,
                                          self._name)


class Format_Knob(Knob):
    """Takes a Format (or its script text); value() gives the Format back."""

    def __init__(self, name, label=None):
        Knob.__init__(self, name, label, "")

    def setValue(self, value, index=-1):
        Knob.setValue(self, value.toScript() if isinstance(value, Format) else str(value))
        return True

    def value(self, index=-1):
        text = Knob.value(self)
        if not text:
            return None
        parts = text.split()
        return Format(parts[0], parts[1], parts[6] if len(parts) > 6 else 1.0, " ".join(parts[7:]))


def _enum(*values):
    return lambda name: Enumeration_Knob(name, name, values)


def _value(cls, default):
    def make(name):
        knob = cls(name)
        knob._value = knob._default_value = knob._coerce(default)
        return knob
    return make


_READ_KNOBS = [
    ("file", File_Knob), ("proxy", File_Knob), ("format", _value(String_Knob, "")),
    ("first", _value(Int_Knob, 1)), ("before", _enum("hold", "loop", "bounce", "black")),
    ("last", _value(Int_Knob, 1)), ("after", _enum("hold", "loop", "bounce", "black")),
    ("frame_mode", _enum("expression", "start at", "offset")), ("frame", String_Knob),
    ("origfirst", _value(Int_Knob, 1)), ("origlast", _value(Int_Knob, 1)), ("origset", Boolean_Knob),
    ("on_error", _enum("error", "black", "checkerboard", "nearest frame")),
    ("reload", PyScript_Knob), ("colorspace", Colorspace_Knob), ("raw", Boolean_Knob),
    ("premultiplied", Boolean_Knob), ("auto_alpha", Boolean_Knob), ("disable", Disable_Knob),
]
_WRITE_KNOBS = [
    ("file", File_Knob), ("proxy", File_Knob),
    ("file_type", _enum(" ", "exr", "png", "tiff", "dpx", "jpeg", "mov")),
    ("channels", _value(ChannelMask_Knob, "rgb")), ("colorspace", Colorspace_Knob),
    ("raw", Boolean_Knob), ("views", String_Knob), ("use_limit", Boolean_Knob),
    ("first", _value(Int_Knob, 1)), ("last", _value(Int_Knob, 1)),
    ("create_directories", Boolean_Knob), ("disable", Disable_Knob),
    ("datatype", _enum("16 bit half", "32 bit float")),
    ("compression", _enum("none", "Zip (1 scanline)", "Zip (16 scanlines)", "PIZ Wavelet (32 scanlines)",
                          "RLE", "B44", "DWAA", "DWAB")),
    ("metadata", _enum("default metadata", "all metadata", "no metadata")),
    ("write_full_layer_names", Boolean_Knob),
]
_COPY_KNOBS = [("from%d" % i, Channel_Knob) for i in range(4)] + \
    [("to%d" % i, Channel_Knob) for i in range(4)] + \
    [("channels", ChannelMask_Knob), ("bbox", _enum("union", "B", "A", "intersection")),
     ("disable", Disable_Knob)]
_PREMULT_KNOBS = [("channels", _value(ChannelMask_Knob, "rgb")),
                  ("alpha", _value(Channel_Knob, "rgba.alpha")), ("disable", Disable_Knob)]

# class -> (knob specs, max inputs)
NODE_CLASSES = {
    "Read": (_READ_KNOBS, 0),
    "Write": (_WRITE_KNOBS, 1),
    "Input": ([("number", Int_Knob)], 0),
    "Output": ([], 1),
    "Dot": ([], 1),
    "NoOp": ([("disable", Disable_Knob)], 1),
    "Copy": (_COPY_KNOBS, 3),
    "Premult": (_PREMULT_KNOBS, 1),
    "Unpremult": (_PREMULT_KNOBS, 1),
    "Switch": ([("which", Double_Knob), ("disable", Disable_Knob)], 10),
    "Grade": ([("white", _value(Double_Knob, 1.0)), ("gamma", _value(Double_Knob, 1.0)),
               ("disable", Disable_Knob)], 2),
    "Blur": ([("size", Double_Knob), ("disable", Disable_Knob)], 2),
    "Constant": ([("color", Double_Knob), ("format", String_Knob), ("first", _value(Int_Knob, 1)),
                  ("last", _value(Int_Knob, 1))], 0),
    "TimeOffset": ([("time_offset", Int_Knob), ("disable", Disable_Knob)], 1),
    "Viewer": ([], 10),
    "Cryptomatte": ([("cryptoLayer", String_Knob), ("matteList", String_Knob), ("disable", Disable_Knob)], 1),
    "Reformat": ([("type", _enum("to format", "to box", "scale")), ("format", Format_Knob),
                  ("resize", _value(_enum("none", "width", "height", "fit", "fill", "distort"), "width")),
                  ("center", _value(Boolean_Knob, True)), ("black_outside", Boolean_Knob),
                  ("disable", Disable_Knob)], 1),
    "Group": ([("disable", Disable_Knob)], 0),
}


class Node(object):
    def __init__(self, cls, parent):
        self._class = cls
        self._parent = parent
        self._alive = True
        self._knobs = {}
        self._order = []
        self._inputs = {}
        specs, self._max_inputs = NODE_CLASSES[cls]
        for name, make in _COMMON + list(specs):
            self._add(make(name))

    def _add(self, knob):
        knob._node = self
        self._knobs[knob._name] = knob
        self._order.append(knob._name)

    def _check_alive(self):
        if not self._alive:
            raise ValueError("A PythonObject is not attached to a node")

    def _access(self, what):
        _require_main("Node." + what)
        self._check_alive()

    def Class(self):
        self._access("Class")
        return self._class

    def name(self):
        self._access("name")
        return self._knobs["name"]._value

    def setName(self, name, uncollide=True, updateExpressions=False):
        self._access("setName")
        taken = set(n._knobs["name"]._value for n in self._parent._children if n is not self and n._alive)
        if name in taken:
            if not uncollide:
                raise ValueError("name %s is already in use" % name)
            base = re.sub(r"\d+$", "", name)
            i = 1
            while "%s%d" % (base, i) in taken:
                i += 1
            name = "%s%d" % (base, i)
        self._knobs["name"]._value = name

    def fullName(self):
        self._access("fullName")
        parts = [self.name()]
        parent = self._parent
        while parent is not None and parent is not _fake.root:
            parts.insert(0, parent._knobs["name"]._value)
            parent = parent._parent
        return ".".join(parts)

    def knob(self, name):
        self._access("knob")
        return self._visible_knobs().get(name)

    def _visible_knobs(self):
        return self._knobs

    def __getitem__(self, name):
        knob = self.knob(name)
        if knob is None:
            raise NameError("knob %s does not exist" % name)
        return knob

    def knobs(self):
        self._access("knobs")
        return dict(self._visible_knobs())

    def allKnobs(self):
        self._access("allKnobs")
        visible = self._visible_knobs()
        return [visible[name] for name in self._order if name in visible]

    def addKnob(self, knob):
        self._access("addKnob")
        if knob._name in self._knobs:
            raise ValueError("knob %s already exists on %s" % (knob._name, self.name()))
        self._add(knob)
        _fake.record_undo("add knob %s.%s" % (self.name(), knob._name))

    def removeKnob(self, knob):
        self._access("removeKnob")
        name = knob._name
        if self._knobs.get(name) is not knob:
            raise ValueError("knob %s is not on %s" % (name, self.name()))
        del self._knobs[name]
        self._order.remove(name)
        knob._node = None

    def input(self, i):
        self._access("input")
        return self._inputs.get(i)

    def setInput(self, i, node):
        self._access("setInput")
        limit = self.maxInputs() if isinstance(self, Group) else max(self.maxInputs(), 1)
        if i >= limit:
            return False
        if node is None:
            self._inputs.pop(i, None)
        else:
            node._check_alive()
            self._inputs[i] = node
        _fake.record_undo("connect %s input %d" % (self.name(), i))
        _fake.knob_changed(self, _DummyKnob("inputChange", self))
        return True

    def inputs(self):
        self._access("inputs")
        return max(self._inputs) + 1 if self._inputs else 0

    def maxInputs(self):
        self._access("maxInputs")
        return self._max_inputs

    def dependencies(self, what=None):
        self._access("dependencies")
        return [self._inputs[i] for i in sorted(self._inputs) if self._inputs[i]._alive]

    def dependent(self, what=None, forceEvaluate=True):
        self._access("dependent")
        return [n for n in _all_nodes_under(_fake.root) if self in n._inputs.values()]

    def showControlPanel(self, forceFloat=False):
        """Opens the node's panel; knobChanged callbacks run with the dummy knob ``showPanel``."""
        self._access("showControlPanel")
        _fake.open_panels.append(self)
        _fake.knob_changed(self, _DummyKnob("showPanel", self))

    def setXYpos(self, x, y):
        self._access("setXYpos")
        self._knobs["xpos"]._value, self._knobs["ypos"]._value = int(x), int(y)

    def xpos(self):
        return self["xpos"].value()

    def ypos(self):
        return self["ypos"].value()

    def setSelected(self, selected):
        self["selected"].setValue(selected)

    def isSelected(self):
        return self["selected"].value()

    def firstFrame(self):
        self._access("firstFrame")
        if "first" in self._knobs and self._class in ("Read", "Constant"):
            return self._knobs["first"]._value
        upstream = self._inputs.get(0)
        return upstream.firstFrame() if upstream is not None else _fake.root["first_frame"].value()

    def lastFrame(self):
        self._access("lastFrame")
        if "last" in self._knobs and self._class in ("Read", "Constant"):
            return self._knobs["last"]._value
        upstream = self._inputs.get(0)
        return upstream.lastFrame() if upstream is not None else _fake.root["last_frame"].value()

    def width(self):
        """The width of the format this node outputs: its own format knob, else its input's, else root's."""
        return self._format()[0]

    def height(self):
        return self._format()[1]

    def format(self):
        """The Format this node outputs (its width, height and pixel aspect; see width())."""
        width, height = self._format()
        knob = self._knobs.get("format")
        parts = knob._value.split() if knob is not None and knob._value else []
        return Format(width, height, parts[6] if len(parts) > 6 else 1.0)

    def _format(self):
        self._access("format")
        knob = self._knobs.get("format")
        reformats = self._class == "Reformat" and self._knobs["type"]._value == "to format" \
            and not self._knobs["disable"]._value
        if knob is not None and knob._value and (self._class in ("Read", "Constant", "Root") or reformats):
            width, height = knob._value.split()[:2]
            return int(width), int(height)
        upstream = self._inputs.get(0)
        if upstream is not None and self._class != "Root":
            return upstream._format()
        return _fake.root._format() if self is not _fake.root else (1920, 1080)

    def __repr__(self):
        return "<%s %s>" % (self._class, self._knobs["name"]._value)


class Write(Node):
    def _visible_knobs(self):
        knobs = self._knobs
        is_exr = knobs["file_type"]._value == "exr" or knobs["file"]._value.lower().endswith(".exr")
        if is_exr:
            return knobs
        return dict((k, v) for k, v in knobs.items() if k not in _FILE_EXT_EXR_KNOBS)


_NUKE_CHANNEL = {"R": "red", "G": "green", "B": "blue", "A": "alpha"}


class Read(Node):
    """A Read that opens its file (with OpenImageIO, when the test environment has it) for what
    Nuke's Cryptomatte node looks at: metadata() (an EXR's attributes as `exr/<name>`) and
    channels() (EXR channels as Nuke names them: `layer.R` -> `layer.red`, bare `A` -> `rgba.alpha`)."""

    def _spec(self, time=None):
        import OpenImageIO
        if time is not None:
            was = _fake.root["frame"]._value
            _fake.root["frame"]._value = int(time)
        try:
            path = self["file"].evaluate()
        finally:
            if time is not None:
                _fake.root["frame"]._value = was
        found = OpenImageIO.ImageInput.open(path)
        if found is None:
            raise RuntimeError("%s: cannot open %s" % (self.name(), path))
        try:
            return path, found.spec()
        finally:
            found.close()

    def _format(self):
        """A Read's format is its file's (at its first frame) unless the format knob says otherwise;
        a file the fake cannot open gives the root's format."""
        self._access("format")
        if self._knobs["format"]._value:
            return Node._format(self)
        try:
            spec = self._spec(self._knobs["first"]._value)[1]
        except (ImportError, RuntimeError, ValueError, TypeError):
            try:
                import OpenImageIO
                OpenImageIO.geterror()          # retrieved: OpenImageIO would print it at exit
            except ImportError:
                pass
            return _fake.root._format()
        return spec.full_width, spec.full_height

    def metadata(self, key=None, time=None, view=None):
        self._access("metadata")
        path, spec = self._spec(time)
        data = {"input/filename": path, "input/width": spec.full_width, "input/height": spec.full_height}
        for attribute in spec.extra_attribs:
            data["exr/" + attribute.name] = attribute.value
        return data if key is None else data.get(key)

    def channels(self):
        self._access("channels")
        names = []
        for channel in self._spec()[1].channelnames:
            layer, _, suffix = channel.rpartition(".")
            names.append("%s.%s" % (layer or "rgba", _NUKE_CHANNEL.get(suffix, suffix)))
        return names


class Group(Node):
    def __init__(self, cls, parent):
        Node.__init__(self, cls, parent)
        self._children = []

    def begin(self):
        self._access("begin")
        _fake.context.append(self)
        return self

    def end(self):
        _require_main("Group.end")
        if len(_fake.context) < 2 or _fake.context[-1] is not self:
            raise RuntimeError("Group.end() without a matching begin()")
        _fake.context.pop()

    def __enter__(self):
        return self.begin()

    def __exit__(self, *exc):
        self.end()

    def node(self, name):
        self._access("node")
        return _lookup(self, name)

    def nodes(self):
        self._access("nodes")
        return [n for n in self._children if n._alive]

    def maxInputs(self):
        self._access("maxInputs")
        return len([n for n in self._children if n._alive and n._class == "Input"])

    def output(self):
        self._access("output")
        for child in self._children:
            if child._alive and child._class == "Output":
                return child
        return None


class Root(Group):
    def firstFrame(self):
        return self["first_frame"].value()

    def lastFrame(self):
        return self["last_frame"].value()


NODE_CLASSES["Root"] = ([
    ("first_frame", _value(Int_Knob, 1)), ("last_frame", _value(Int_Knob, 100)),
    ("frame", _value(Int_Knob, 1)), ("proxy", Boolean_Knob), ("format", String_Knob),
    ("colorManagement", _enum("Nuke", "OCIO")),
    ("OCIO_config", _enum("nuke-default", "aces_1.2", "fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1",
                          "custom")),
    ("customOCIOConfigPath", File_Knob), ("OCIOConfigPath", File_Knob),
    ("workingSpaceLUT", _value(String_Knob, "linear")), ("floatLut", _value(String_Knob, "linear")),
    ("logLut", _value(String_Knob, "Cineon")), ("int8Lut", _value(String_Knob, "sRGB")),
    ("int16Lut", _value(String_Knob, "sRGB")), ("views", String_Knob), ("project_directory", File_Knob),
], 0)


def _make_root():
    root = Root.__new__(Root)
    root._class = "Root"
    root._parent = None
    root._alive = True
    root._knobs, root._order, root._inputs, root._children = {}, [], {}, []
    specs, root._max_inputs = NODE_CLASSES["Root"]
    for name, make in _COMMON + list(specs):
        root._add(make(name))
    root._knobs["name"]._value = ""
    return root


def _all_nodes_under(group):
    for child in group._children:
        if child._alive:
            yield child
            if isinstance(child, Group):
                for grandchild in _all_nodes_under(child):
                    yield grandchild


def _lookup(group, dotted):
    node = group
    for part in dotted.split("."):
        if not isinstance(node, Group):
            return None
        found = [c for c in node._children if c._alive and c._knobs["name"]._value == part]
        if not found:
            return None
        node = found[0]
    return node


def _create(cls, knob_values, parent=None):
    if cls not in NODE_CLASSES or cls == "Root":
        raise RuntimeError("%s: Unknown command" % cls)
    parent = parent if parent is not None else _fake.context[-1]
    node = {"Write": Write, "Read": Read, "Group": Group}.get(cls, Node)(cls, parent)
    parent._children.append(node)
    node._knobs["name"]._value = ""
    node.setName(cls + "1")
    if cls == "Input":
        node._knobs["number"]._value = len([n for n in parent._children
                                            if n._alive and n._class == "Input"]) - 1
    for key, value in knob_values.items():
        if key == "inputs":
            continue
        node[key].setValue(value)
    _fake.record_undo("create %s" % node._knobs["name"]._value)
    for call, args, kwargs, node_class in _fake.callbacks.get("onCreate", []):
        if node_class in ("*", cls):
            saved, _fake.this_node = _fake.this_node, node
            try:
                call(*args, **kwargs)
            finally:
                _fake.this_node = saved
    return node


class _NodeConstructors(object):
    """`nuke.nodes.Read(file=...)`: create without connecting to the selection."""

    def __getattr__(self, cls):
        def construct(**knob_values):
            _require_main("nuke.nodes." + cls)
            return _create(cls, knob_values)
        return construct


nodes = _NodeConstructors()


def _parse_args(args):
    values = {}
    for match in re.finditer(r'(\w+)\s+("[^"]*"|\{[^}]*\}|\S+)', args or ""):
        text = match.group(2)
        values[match.group(1)] = text[1:-1] if text[:1] in '"{' else text
    return values


def createNode(node, args="", inpanel=True):
    """Creates in the current context; with the GUI up, connects to the selected node."""
    _require_main("nuke.createNode")
    selected = [n for n in _fake.context[-1]._children if n._alive and n._knobs["selected"]._value]
    created = _create(node, _parse_args(args))
    if GUI and len(selected) == 1 and created._max_inputs > 0:
        created._inputs[0] = selected[0]
    for n in selected:
        n._knobs["selected"]._value = False
    created._knobs["selected"]._value = True
    return created


def toNode(name):
    _require_main("nuke.toNode")
    if name == "root":
        return _fake.root
    if name.startswith("root."):
        return _lookup(_fake.root, name[len("root."):])
    return _lookup(_fake.context[-1], name)


def root():
    _require_main("nuke.root")
    return _fake.root


def thisNode():
    _require_main("nuke.thisNode")
    return _fake.this_node


def thisKnob():
    _require_main("nuke.thisKnob")
    return _fake.this_knob


def thisGroup():
    _require_main("nuke.thisGroup")
    return _fake.context[-1]


def allNodes(filter=None, group=None, recurseGroups=False):
    _require_main("nuke.allNodes")
    group = group if group is not None else _fake.context[-1]
    found = list(_all_nodes_under(group)) if recurseGroups else [n for n in group._children if n._alive]
    return [n for n in found if filter is None or n._class == filter]


def selectedNodes(filter=None):
    _require_main("nuke.selectedNodes")
    return [n for n in allNodes(filter) if n._knobs["selected"]._value]


def selectedNode():
    chosen = selectedNodes()
    if not chosen:
        raise ValueError("no node selected")
    return chosen[-1]


def delete(node):
    _require_main("nuke.delete")
    node._check_alive()
    for call, args, kwargs, node_class in list(_fake.callbacks.get("onDestroy", [])):
        if node_class in ("*", node._class):
            saved, _fake.this_node = _fake.this_node, node
            try:
                call(*args, **kwargs)
            finally:
                _fake.this_node = saved
    node._alive = False
    _fake.record_undo("delete %s" % node._knobs["name"]._value)
    for other in _all_nodes_under(_fake.root):
        for i, upstream in list(other._inputs.items()):
            if upstream is node:
                del other._inputs[i]


def frame(f=None):
    _require_main("nuke.frame")
    if f is not None:
        _fake.root["frame"].setValue(f)
    return _fake.root["frame"].value()


def views():
    _require_main("nuke.views")
    return list(_fake.views)


def addView(name, color=None):
    _require_main("nuke.addView")
    if name not in _fake.views:
        if _fake.views == ["main"]:
            _fake.views = []
        _fake.views.append(name)


def message(prompt):
    _require_main("nuke.message")
    _fake.messages.append(prompt)


def scriptSave(filename=None):
    _require_main("nuke.scriptSave")
    name = filename or _fake.root["name"].value()
    if not name:
        raise RuntimeError("Cannot save an untitled script without a file name")
    _fake.saves.append(name)
    return True


def scriptOpen(filename):
    """The fake cannot parse .nk files: a test builds the script and patches this."""
    raise NotImplementedError("fake nuke cannot open %s" % filename)


def tprint(*args, **kwargs):
    print(*args, **kwargs)


def pluginAddPath(path, addToSysPath=True):
    _fake.plugin_paths.append(path)


class Layer(object):
    def __init__(self, name, channels):
        _require_main("nuke.Layer")
        _fake.layers[name] = list(channels)
        self._name = name

    def name(self):
        return self._name


def layers(node=None):
    _require_main("nuke.layers")
    return sorted(_fake.layers)


def execute(nameOrNode, start=None, end=None, incr=1, views=None, continueOnError=False):
    """Renders a Write through `_fake.render_hook`, recording each call."""
    _require_main("nuke.execute")
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None:
        raise ValueError("No node named %r" % nameOrNode)
    node._check_alive()
    if node._class != "Write":
        raise RuntimeError("%s cannot be executed" % node.name())
    if node["disable"].value():
        raise RuntimeError("%s is disabled" % node.name())
    start = root().firstFrame() if start is None else start
    end = root().lastFrame() if end is None else end
    chosen = list(views) if views is not None else list(_fake.views)
    _fake.executions.append({"node": node.fullName(), "first": start, "last": end, "views": chosen,
                             "proxy": _fake.root["proxy"].value(), "file": node["file"].value()})
    if _fake.cancel_next_execute:
        _fake.cancel_next_execute = False
        raise RuntimeError("Cancelled")
    if _fake.render_hook is None:
        raise RuntimeError("fake nuke renders no pixels: a test must set _fake.render_hook")
    for f in range(start, end + 1, incr):
        for view in chosen:
            _fake.render_hook(node, f, view)


class ProgressTask(object):
    """Usable from any thread, like Nuke's."""

    def __init__(self, name, maximum=100, flags=None):
        self.name = name
        self.progress = []
        self.messages = []
        self._cancelled = threading.Event()
        _fake.progress_tasks.append(self)

    def setProgress(self, i):
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError("setProgress(): incompatible argument %r, an int is expected" % (i,))
        self.progress.append(i)

    def setMessage(self, s):
        if not isinstance(s, str):
            raise TypeError("setMessage(): a str is expected")
        self.messages.append(s)

    def isCancelled(self):
        return self._cancelled.is_set()

    def _fake_cancel(self):
        self._cancelled.set()


def executeInMainThread(call, args=(), kwargs={}):
    if threading.current_thread() is _fake.main_thread:
        raise RuntimeError("executeInMainThread from the main thread: Nuke would hang")
    if not isinstance(args, tuple):
        args = (args,)
    _fake.main_queue.put((call, args, dict(kwargs), None))


class _Done(list):
    def __init__(self):
        list.__init__(self)
        self.event = threading.Event()


def executeInMainThreadWithResult(call, args=(), kwargs={}):
    if threading.current_thread() is _fake.main_thread:
        raise RuntimeError("executeInMainThreadWithResult from the main thread: Nuke would hang")
    if not isinstance(args, tuple):
        args = (args,)
    done = _Done()
    _fake.main_queue.put((call, args, dict(kwargs), done))
    done.event.wait()
    return done[0]


class _DummyKnob(Knob):
    """What nuke.thisKnob() is when knobChanged runs for an opened panel or changed inputs."""

    def __init__(self, name, node):
        Knob.__init__(self, name)
        self._node = node


class Undo(object):
    """nuke.Undo: class-level methods grouping changes into one step of Edit > Undo."""

    @staticmethod
    def begin(name=None):
        _require_main("nuke.Undo.begin")
        if _fake.undo_open is None:
            _fake.undo_open = [name or "", []]

    @staticmethod
    def name(name):
        if _fake.undo_open is not None:
            _fake.undo_open[0] = name

    @staticmethod
    def end():
        _require_main("nuke.Undo.end")
        group, _fake.undo_open = _fake.undo_open, None
        if group is not None and group[1]:
            _fake.undo_steps.append((group[0], group[1]))

    @staticmethod
    def cancel():
        _fake.undo_open = None


def _add_callback(kind, call, args=(), kwargs={}, nodeClass="*"):
    if not isinstance(args, tuple):
        args = (args,)
    _fake.callbacks.setdefault(kind, []).append((call, args, dict(kwargs), nodeClass))


def addOnCreate(call, args=(), kwargs={}, nodeClass="*"):
    _add_callback("onCreate", call, args, kwargs, nodeClass)


def addOnDestroy(call, args=(), kwargs={}, nodeClass="*"):
    _add_callback("onDestroy", call, args, kwargs, nodeClass)


def addOnUserCreate(call, args=(), kwargs={}, nodeClass="*"):
    _add_callback("onUserCreate", call, args, kwargs, nodeClass)


def addOnScriptLoad(call, args=(), kwargs={}, nodeClass="Root"):
    _add_callback("onScriptLoad", call, args, kwargs, nodeClass)


def addOnScriptClose(call, args=(), kwargs={}, nodeClass="Root"):
    _add_callback("onScriptClose", call, args, kwargs, nodeClass)


def addFilenameFilter(call, args=(), kwargs={}, nodeClass="*"):
    """Nuke: a function that modifies filenames before Nuke passes them to the operating system;
    None means unchanged; the filters run in backwards order."""
    _add_callback("filenameFilter", call, args, kwargs, nodeClass)


REPLACE = 1


def filename(node, type=None):
    """Nuke: the file a node works with, every TCL command and variable expanded, and a #### run
    given as %0Nd ("by default it will still have %04d sequences in it"); with ``type`` REPLACE the
    current frame instead. The fake also passes it through the filename filters (what Nuke does
    before the file is opened). None when the node has no file."""
    knob = node.knob("file")
    if knob is None:
        return None
    text = re.sub(r"#+", lambda m: "%%0%dd" % len(m.group(0)), _tcl(knob.value(), node))
    for call, args, kwargs, node_class in reversed(_fake.callbacks.get("filenameFilter", [])):
        if node_class in ("*", node.Class()):
            changed = call(text, *args, **kwargs)
            if changed is not None:
                text = changed
    if type == REPLACE:
        frame = int(_fake.root["frame"].value())
        text = re.sub(r"%0?(\d*)d", lambda m: ("%0" + (m.group(1) or "1") + "d") % frame, text)
    return text or None


def scriptClose(ignoreUnsavedChanges=False):
    """Runs the onScriptClose callbacks, then leaves an empty untitled script (as File > Close)."""
    _require_main("nuke.scriptClose")
    for call, args, kwargs, _ in list(_fake.callbacks.get("onScriptClose", [])):
        call(*args, **kwargs)
    callbacks = _fake.callbacks
    _fake.reset()
    _fake.callbacks = callbacks


def addKnobChanged(call, args=(), kwargs={}, nodeClass="*"):
    _add_callback("knobChanged", call, args, kwargs, nodeClass)


def addUpdateUI(call, args=(), kwargs={}, nodeClass="*"):
    _add_callback("updateUI", call, args, kwargs, nodeClass)


class MenuItem(object):
    def __init__(self, name, command=None, icon=""):
        self._name, self._command, self._icon = name, command, icon
        self.items = []

    def name(self):
        return self._name

    def icon(self):
        return self._icon

    def script(self):
        return self._command

    def addMenu(self, name, icon=""):
        for item in self.items:
            if item._name == name:
                return item
        item = Menu(name, icon=icon)
        self.items.append(item)
        return item

    def addCommand(self, name, command=None, shortcut="", icon="", tooltip="", index=-1, **kwargs):
        path = name.split("/")
        menu = self
        for part in path[:-1]:
            menu = menu.addMenu(part)
        item = MenuItem(path[-1], command, icon)
        menu.items.append(item)
        return item

    def findItem(self, name):
        menu = self
        for part in name.split("/"):
            found = [i for i in getattr(menu, "items", []) if i._name == part]
            if not found:
                return None
            menu = found[0]
        return menu


class Menu(MenuItem):
    pass


def menu(name):
    return _fake.menus.setdefault(name, Menu(name))


def toolbar(name):
    return menu(name)


def _tcl(text, node):
    """TCL substitution as Nuke applies it to knob text: backslash escapes (`\\x` is `x`, so a
    Windows path loses its backslashes), `$env(NAME)` and `$name` (an unknown variable is an
    error) and the handful of commands that knob expressions use: [value ...] and [file ...]."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        elif c == "[":
            depth, j = 1, i + 1
            while j < len(text) and depth:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "[":
                    depth += 1
                elif text[j] == "]":
                    depth -= 1
                j += 1
            if depth:
                raise RuntimeError("TCL: missing close-bracket in %r" % text)
            out.append(_tcl_command(_tcl(text[i + 1:j - 1], node), node))
            i = j
        elif c == "$":
            env = re.match(r"\$env\((\w+)\)", text[i:])
            name = re.match(r"\$(\w+)", text[i:])
            if env:
                if env.group(1) not in os.environ:
                    raise RuntimeError('TCL: can\'t read "env(%s)": no such element in array' % env.group(1))
                out.append(os.environ[env.group(1)])
                i += env.end()
            elif name:
                raise RuntimeError('TCL: can\'t read "%s": no such variable' % name.group(1))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tcl_command(command, node):
    words = command.split(None, 2)
    if words[:1] == ["value"] and len(words) == 2:
        return _tcl_value(words[1], node)
    if words[:1] == ["file"] and len(words) in (2, 3):
        return _tcl_file(words[1], words[2] if len(words) == 3 else "")
    raise RuntimeError("TCL: cannot evaluate [%s]" % command)


def _tcl_value(path, node):
    if "." in path:
        owner_name, knob_name = path.rsplit(".", 1)
        if owner_name == "root":
            owner = _fake.root
        elif owner_name == "this":
            owner = node
        elif owner_name == "parent":
            owner = node._parent
        else:
            owner = _lookup(node._parent if node is not None else _fake.root, owner_name)
    else:
        owner, knob_name = node, path
    if owner is None or knob_name not in owner._knobs:
        raise RuntimeError("TCL: no such knob %s" % path)
    value = owner._knobs[knob_name]._value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Nuke's expression language (learn.foundry.com "Expressions"; nuke.expr): floating point only, knobs
# named `knob`, `node.knob`, `parent.knob` or `root.knob`, `frame`/`t`/`x` the frame it is evaluated
# at, C's operators (! * / + - < <= > >= == != && || ?:) and, of its functions, only inrange(a, first,
# last, ...), true() and false(). Anything else raises, as a bad expression errors in Nuke.
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*|\.\d+)|([A-Za-z_][\w.]*)|(&&|\|\||==|!=|<=|>=|[-+*/!<>()?:,]))")


def _evaluate(text, node, at):
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise RuntimeError("expression %r: syntax error at %r" % (text, text[pos:]))
        number, name, operator = match.groups()
        tokens.append(float(number) if number is not None else ("name", name) if name is not None else operator)
        pos = match.end()
    parser = _Expression(tokens, node, at, text)
    value = parser.ternary()
    if parser.tokens:
        raise RuntimeError("expression %r: unexpected %r" % (text, parser.tokens[0]))
    return value


class _Expression(object):
    BINARY = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/"))

    def __init__(self, tokens, node, at, text):
        self.tokens, self.node, self.at, self.text = tokens, node, at, text

    def take(self, wanted=None):
        if not self.tokens or (wanted is not None and self.tokens[0] != wanted):
            raise RuntimeError("expression %r: expected %s" % (self.text, wanted or "more"))
        return self.tokens.pop(0)

    def ternary(self):
        test = self.binary(0)
        if self.tokens and self.tokens[0] == "?":
            self.take("?")
            yes = self.ternary()
            self.take(":")
            no = self.ternary()
            return yes if test else no
        return test

    def binary(self, level):
        if level == len(self.BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.tokens and self.tokens[0] in self.BINARY[level]:
            op, right = self.take(), self.binary(level + 1)
            left = {"||": lambda: float(bool(left or right)), "&&": lambda: float(bool(left and right)),
                    "==": lambda: float(left == right), "!=": lambda: float(left != right),
                    "<": lambda: float(left < right), "<=": lambda: float(left <= right),
                    ">": lambda: float(left > right), ">=": lambda: float(left >= right),
                    "+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
                    "/": lambda: left / right}[op]()
        return left

    def unary(self):
        if self.tokens and self.tokens[0] in ("!", "-"):
            op, value = self.take(), self.unary()
            return float(not value) if op == "!" else -value
        token = self.take()
        if isinstance(token, float):
            return token
        if token == "(":
            value = self.ternary()
            self.take(")")
            return value
        if isinstance(token, tuple):
            if self.tokens and self.tokens[0] == "(":
                return self.call(token[1])
            return self.name(token[1])
        raise RuntimeError("expression %r: unexpected %r" % (self.text, token))

    def call(self, function):
        self.take("(")
        args = []
        while self.tokens and self.tokens[0] != ")":
            args.append(self.ternary())
            if self.tokens and self.tokens[0] == ",":
                self.take(",")
        self.take(")")
        if function == "inrange" and len(args) >= 3 and len(args) % 2 == 1:
            return float(any(lo <= args[0] <= hi for lo, hi in zip(args[1::2], args[2::2])))
        if function in ("true", "false") and not args:
            return float(function == "true")
        raise RuntimeError("expression %r: unknown function %s" % (self.text, function))

    def name(self, dotted):
        if dotted in ("frame", "t", "x"):
            return float(self.at)
        owner_name, _, knob_name = dotted.rpartition(".")
        if not owner_name:
            owner = self.node
        elif owner_name == "root":
            owner = _fake.root
        elif owner_name == "parent":
            owner = self.node._parent if self.node is not None else None
        else:
            owner = _lookup(self.node._parent if self.node is not None else _fake.root, owner_name)
        knob = owner._knobs.get(knob_name) if owner is not None else None
        if knob is None:
            raise RuntimeError("expression %r: no such knob %s" % (self.text, dotted))
        if knob._expression is not None:
            return float(_evaluate(knob._expression, owner, self.at))
        if isinstance(knob, Enumeration_Knob):
            return float(knob._values.index(knob._value))
        if isinstance(knob._value, (bool, int, float)):
            return float(knob._value)
        raise RuntimeError("expression %r: %s is not a number" % (self.text, dotted))


def _tcl_file(op, arg):
    if op == "dirname":
        return os.path.dirname(arg) or "."
    if op == "tail":
        return os.path.basename(arg)
    if op == "rootname":
        return os.path.splitext(arg)[0]
    if op == "extension":
        return os.path.splitext(arg)[1]
    raise RuntimeError("TCL: file %s is not supported" % op)


_fake = _FakeState()


def _reset():
    """Fresh script, views, callbacks and settings: call between tests."""
    global GUI
    GUI = True
    env["gui"] = True
    _fake.reset()
