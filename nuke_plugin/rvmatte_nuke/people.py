"""Who the RVMatte node mattes (docs/nuke.md, People): the `target` input (input 3: a Roto or
any matte holding one person on some frames), a person picked by a point in the viewer, or
one matte per person (`people`), and the Cryptomatte node that picks a person by name from
the people EXR the worker writes (layer CryptoPerson).

The worker applies the node's mattes in the order garbage -> holdout -> target."""
import re

import nuke

from .rvmatte_hostkit import people as kit

TARGET_INPUT = 3
PICK_COMMAND = "import rvmatte_nuke.people\nrvmatte_nuke.people.point_here(nuke.thisNode())"


def knob_specs():
    """(name, maker, default) of the People knobs, in panel order (node._knob_specs)."""
    return [
        ("people_tab", lambda: nuke.Text_Knob("people_tab", "people"), None),
        ("target_name", lambda: nuke.String_Knob("target_name", "target name"), ""),
        ("target_frames", lambda: nuke.String_Knob("target_frames", "target frames"), ""),
        ("pick_point", lambda: nuke.Boolean_Knob("pick_point", "pick a person by a point"), False),
        ("target_point", lambda: nuke.XY_Knob("target_point", "point"), None),
        ("target_frame", lambda: nuke.Int_Knob("target_frame", "point frame"), 1),
        ("point_here", lambda: nuke.PyScript_Knob("point_here", "Use this frame", PICK_COMMAND), None),
        ("point_name", lambda: nuke.String_Knob("point_name", "point name"), ""),
        ("people", lambda: nuke.Int_Knob("people", "people"), 0),
    ]


SAME_LINE = ("target_frame", "point_here")
SHOWN_WHEN = dict((name, ("pick_point", True)) for name in ("target_point", "target_frame", "point_here", "point_name"))


TOOLTIPS = {
    "target_name": "Name of the person the target input holds (empty: person1). Letters, digits, _ and -.",
    "target_frames": "Frames on which the target input holds the person, e.g. 1001 1040-1042: only those are "
                     "rendered, the others are tracked. Empty: a Read's own files as they are.",
    "pick_point": "Keep only the person under the point below, on the point frame.",
    "target_point": "Drag the point onto the person in the viewer (pixels of the plate's format).",
    "target_frame": "The frame the point is on.",
    "point_here": "Set the point frame to the current frame.",
    "point_name": "Name of the picked person (empty: person1, or person2 beside a target).",
    "people": "One matte per person for the N largest people of the first frame (0: off), with a "
              "Cryptomatte node picking them by name. Not with a target or a point.",
}


def point_here(group):
    """The Use this frame button."""
    group["target_frame"].setValue(int(nuke.frame()))


def _knob(group, name, default=None):
    knob = group.knob(name)
    return knob.value() if knob is not None else default


def target_frames(group, first, last):
    """The frames the artist said the target input holds the person on (within first..last),
    or None when the knob is empty. Raises ValueError naming the knob."""
    text = (_knob(group, "target_frames", "") or "").strip()
    if not text:
        return None
    frames = []
    for word in re.split(r"[\s,]+", text):
        match = re.match(r"^(-?\d+)(?:-(-?\d+))?$", word)
        if not match or (match.group(2) is not None and int(match.group(2)) < int(match.group(1))):
            raise ValueError("target frames %r: %r is not a frame or a range like 1040-1042" % (text, word))
        frames += range(int(match.group(1)), int(match.group(2) or match.group(1)) + 1)
    frames = sorted(set(frames))
    outside = [f for f in frames if not first <= f <= last]
    if outside:
        raise ValueError("target frame %d is outside the frame range %d-%d" % (outside[0], first, last))
    return frames


def worker_options(group, first, last):
    """The people part of the job's options: target points, people count, the target's name."""
    name = (_knob(group, "target_name", "") or "").strip()
    point_name = (_knob(group, "point_name", "") or "").strip()
    count = int(_knob(group, "people", 0) or 0)
    try:
        kit.check_name(name)
        points = []
        if _knob(group, "pick_point", False):
            frame = int(_knob(group, "target_frame"))
            if not first <= frame <= last:
                raise kit.PointError("the point frame %d is outside the frame range %d-%d" % (frame, first, last))
            upstream = group.input(0)
            x, y = group["target_point"].value()
            points.append(kit.point_argument(x, y, frame, upstream.width(), upstream.height(),
                                             origin="bottom-left", name=point_name or None))
    except kit.PointError as exc:
        raise ValueError(str(exc))
    if count < 0:
        raise ValueError("people is %d: 0 (off) or the number of people" % count)
    if count and (points or group.input(TARGET_INPUT) is not None):
        raise ValueError("people %d gives every person a matte; disconnect the target input and turn off "
                         "the point to use it" % count)
    return {"target_name": name, "target_points": points, "people": count}


def in_use(group):
    """Whether a Generate of the node runs the people pass (a target input, the point, People N),
    which the worker splits again in full: it keeps no frames, so there is nothing to Resume."""
    return bool(group.input(TARGET_INPUT) is not None or _knob(group, "pick_point", False)
                or int(_knob(group, "people", 0) or 0))


def targets(job, view_job):
    """The --target values of one view."""
    mask = view_job.masks.get("target")
    return [kit.named(job.options.get("target_name", ""), mask)] if mask else []


def names(job):
    """The persons of the job, in the worker's order."""
    view = job.views[0]
    return kit.person_names(targets(job, view), job.options.get("target_points", ()), job.options.get("people", 0))


def run_args(job, view_job):
    """`rvmatte run` options for the people (the farm's run_args)."""
    args = []
    for target in targets(job, view_job):
        args += ["--target", target]
    for point in job.options.get("target_points", ()):
        args += ["--target-point", point]
    if job.options.get("people"):
        args += ["--people", str(job.options["people"])]
    return args


def state_text(group):
    """What the people knobs add to the stale hash: only the knobs in use (the target's name and
    frames while it is connected, the point while it is on, the count when not 0), so a matte
    made before they existed keeps its hash."""
    used = []
    if group.input(TARGET_INPUT) is not None:
        used += ["target_name", "target_frames"]
    if _knob(group, "pick_point", False):
        used += ["pick_point", "target_point", "target_frame", "point_name"]
    if _knob(group, "people", 0):
        used += ["people"]
    return "".join("\0%s=%s" % (k, group[k].toScript()) for k in used if group.knob(k) is not None)


def people_pattern(plate_pattern, alpha_pattern):
    return kit.people_pattern(plate_pattern, alpha_pattern)


def wire_cryptomatte(group, job, first=None, last=None, pattern=None):
    """With several people: a Read of the people EXR beside the node and a Cryptomatte node on it
    (layer CryptoPerson, the first person picked), for first..last (default: the job's). Made once
    and kept up to date; the artist's matte list is kept. ``pattern``: the people EXR where the job
    wrote it (its version folder), default the job's own pattern. Returns the Cryptomatte node, or
    None for one person."""
    persons = names(job)
    pattern = pattern or getattr(job, "people_pattern", None)
    if len(persons) < 2 or not pattern:
        return None
    first = job.first if first is None else first
    last = job.last if last is None else last
    from . import sequences
    full = group.fullName()
    parent = nuke.toNode(full.rsplit(".", 1)[0]) if "." in full else nuke.root()
    with parent:
        read_name, crypto_name = group.name() + "_people", group.name() + "_cryptomatte"
        read = nuke.toNode(read_name)
        if read is None or read.Class() != "Read":
            read = nuke.nodes.Read(name=read_name)
            read.setXYpos(group.xpos() + 150, group.ypos())
        read["file"].setValue(sequences.knob_path(pattern))
        for key, value in (("first", first), ("last", last), ("origfirst", first), ("origlast", last)):
            read[key].setValue(value)
        read["origset"].setValue(True)
        read["raw"].setValue(True)
        read["reload"].execute()
        crypto = nuke.toNode(crypto_name)
        if crypto is None or crypto.Class() != "Cryptomatte":
            crypto = nuke.nodes.Cryptomatte(name=crypto_name)
            crypto.setXYpos(group.xpos() + 150, group.ypos() + 60)
        crypto.setInput(0, read)
        crypto["cryptoLayer"].setValue(kit.CRYPTO_LAYER)
        listed = [n.strip() for n in crypto["matteList"].value().split(",") if n.strip()]
        if not listed or any(n not in persons for n in listed):
            crypto["matteList"].setValue(persons[0])
    return crypto


def wire_loaded(group, first, last):
    """Load results: the Cryptomatte node too when the node names several people and their people
    EXR is complete for first..last (a farm render). None when it does not apply."""
    from . import jobs, sequences
    try:
        job = jobs.collect(group)
    except jobs.JobError:
        return None
    if len(names(job)) < 2:
        return None
    for view in job.views:
        wanted = sequences.for_view(job.people_pattern, view.view) if view.view else job.people_pattern
        if len(sequences.complete_frames(wanted, first, last)) != last - first + 1:
            return None
    return wire_cryptomatte(group, job, first, last)
