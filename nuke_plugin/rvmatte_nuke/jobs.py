"""What one Generate does, read from the node and the script in the main
thread; afterwards a Job is plain data that a background thread may use."""
import os

import nuke

from . import keyframes, node as rvnode, people, read_input, sequences, settings, staleness, versions


class JobError(Exception):
    """The node or the script is not ready; the message says what to change."""


class ViewJob(object):
    """One shot for the worker: a view of a stereo script, or the only view."""

    def __init__(self, view, plate, input_colorspace, precomp, alpha, foreground, masks=None):
        self.view = view
        self.plate = plate
        self.input_colorspace = input_colorspace
        self.precomp = precomp
        self.alpha = alpha
        self.foreground = foreground
        self.masks = masks or {}


class MaskInput(object):
    """A connected holdout or garbage input: the files the worker reads
    (`pattern`, %V for views) and whether Generate renders them first."""

    def __init__(self, name, index, pattern, precomp, shortcut_reason=None, frames=None):
        self.name = name
        self.index = index
        self.pattern = pattern
        self.precomp = precomp
        self.shortcut_reason = shortcut_reason
        self.frames = frames    # the frames to render (the target's); None: the job's range


class Job(object):
    def __init__(self, **fields):
        self.node_name = fields["node_name"]
        self.first = fields["first"]
        self.last = fields["last"]
        self.views = fields["views"]
        self.output_dir = fields["output_dir"]
        self.alpha_read = fields["alpha_read"]
        self.fgr_read = fields["fgr_read"]
        self.precomp_pattern = fields["precomp_pattern"]
        self.python = fields["python"]
        self.options = fields["options"]
        self.ocio_config = fields["ocio_config"]
        self.working_space = fields["working_space"]
        self.state = fields["state"]
        self.shortcut_reason = fields.get("shortcut_reason")
        self.masks = fields.get("masks", [])
        self.people_pattern = fields.get("people_pattern")
        self.keyframes_pattern = fields.get("keyframes_pattern")   # %V for views; rendered by Fine-tune
        self.keyframe_frames = fields.get("keyframe_frames", [])   # while Generate is to use tuned weights
        self.plate_state = fields.get("plate_state")   # what the plate precomp is made from (precomp_stamp)
        self.context = fields.get("context")           # staleness.context_text when the job was collected
        self.versions = fields.get("versions", False)  # into <output_dir>/v### (rvmatte run --versions)
        self.people_job = fields.get("people_job", False)   # a target, a point or People N: split in full, no Resume
        self.input_id = fields.get("input_id")         # staleness.input_id: the plate's contents, for the key
        self.keep_versions = fields.get("keep_versions", 0)   # --keep-versions; 0: all
        self.resume = fields.get("resume")             # the version the Resume button continues

    @property
    def frame_count(self):
        return self.last - self.first + 1

    def needs_precomp(self):
        return [v for v in self.views if v.precomp]

    def mask_precomps(self):
        """The connected mattes Generate must render (MaskInput)."""
        return [m for m in self.masks if m.precomp]


def frame_range(node):
    if node["range_mode"].value() == "custom":
        first, last = node["range_first"].value(), node["range_last"].value()
    else:
        upstream = node.input(0)
        first, last = int(upstream.firstFrame()), int(upstream.lastFrame())
    if first > last:
        raise JobError("frame range %d-%d is empty" % (first, last))
    return first, last


def chosen_views(node):
    script_views = nuke.views()
    wanted = node["views"].value().split()
    if not wanted:
        return script_views
    unknown = [v for v in wanted if v not in script_views]
    if unknown:
        raise JobError("view %s is not in the script (its views: %s)" % (unknown[0], " ".join(script_views)))
    return wanted


def output_dir(node):
    try:
        folder = node["output_dir"].getEvaluatedValue().strip()
    except (RuntimeError, ValueError) as exc:
        raise JobError("output directory %r does not evaluate: %s" % (node["output_dir"].value(), exc))
    if not folder:
        raise JobError("set an output directory")
    if not os.path.isabs(folder):
        script = nuke.root()["name"].value()
        if not script:
            raise JobError("save the script first, or give an absolute output directory (now %r)" % folder)
        folder = os.path.join(os.path.dirname(script), folder)
    return os.path.normpath(folder)


def ocio_config():
    """The script's OCIO config file: $OCIO, else a custom config, else Nuke's stock one."""
    if os.environ.get("OCIO"):
        return os.environ["OCIO"]
    root = nuke.root()
    if root["colorManagement"].value() == "OCIO" and root["OCIO_config"].value() == "custom":
        path = root["customOCIOConfigPath"].getEvaluatedValue()
        if path:
            return path
    knob = root.knob("OCIOConfigPath")
    if knob is not None and knob.value():
        return knob.getEvaluatedValue()
    return None


def worker_options(node, prefs):
    ratio = "auto" if node["ratio_mode"].value() == "auto" else repr(float(node["ratio"].value()))
    device = node["device"].value()
    return {
        "variant": node["variant"].value(),
        "weights": node["weights"].getEvaluatedValue() or prefs.weights,
        "downsample_ratio": ratio,
        "device": prefs.device if device == "preferences" else device,
        "precision": node["precision"].value(),
        "foreground_source": node["foreground"].value(),
    }


def collect(node, prefs=None, tuned=True):
    """The Job for this node now; JobError when something must change first. With ``tuned`` (a
    Generate), its weights are the tuned checkpoint while "use tuned weights" is on
    (keyframes.weights_for_generate); without (a fine-tune, a farm job, which tunes its own), the
    base weights. ``options["base_weights"]`` is always the base."""
    upstream = node.input(0)
    if upstream is None:
        raise JobError("connect the plate to the input")
    try:
        prefs = settings.in_effect(prefs if prefs is not None else settings.load())
        python = settings.worker_python(prefs)
    except settings.SettingsError as exc:
        raise JobError(str(exc))
    first, last = frame_range(node)
    try:
        picked = people.worker_options(node, first, last)
    except ValueError as exc:
        raise JobError(str(exc))
    try:
        tuned_weights = keyframes.weights_for_generate(node) if tuned else None
        keyframe_frames = (keyframes.frames(node, first, last)
                           if keyframes.wanted(node) and node.input(keyframes.KEYFRAME_INPUT) is not None else [])
    except ValueError as exc:
        raise JobError(str(exc))
    views = chosen_views(node)
    stereo = len(nuke.views()) > 1
    folder = output_dir(node)
    name = node.name()
    tag = ".%V" if stereo else ""
    alpha_read = os.path.join(folder, "%s%s.alpha.####.exr" % (name, tag))
    fgr_read = os.path.join(folder, "%s%s.fgr.####.exr" % (name, tag))
    precomp_pattern = os.path.join(folder, "precomp", "%s%s.####.exr" % (name, tag))
    working_space = nuke.root()["workingSpaceLUT"].value()
    explicit_colorspace = node["input_colorspace"].value().strip()

    plate, reason = None, "the input is not a Read"
    read = read_input.upstream_read(node)
    if read is not None:
        plate, reason = read_input.plate_from_read(read, first, last, nuke.root())

    masks = mask_inputs(node, first, last, lambda mask: os.path.join(
        folder, "precomp", "%s%s.%s.####.exr" % (name, tag, mask)))
    view_jobs = []
    for view in views:
        def here(pattern):
            return sequences.for_view(pattern, view)
        if plate is not None:
            source, colorspace, precomp = here(plate.pattern), plate.colorspace, False
        else:
            source, colorspace, precomp = here(precomp_pattern), working_space, True
        view_jobs.append(ViewJob(view if stereo else None, source, explicit_colorspace or colorspace,
                                 precomp, here(alpha_read), here(fgr_read),
                                 dict((m.name, here(m.pattern)) for m in masks)))
    options = dict(worker_options(node, prefs), **picked)
    people_job = bool(picked["target_points"] or picked["people"] or any(m.name == "target" for m in masks))
    try:
        keep = versions.keep_count(node)
    except ValueError as exc:
        raise JobError(str(exc))
    options["base_weights"] = options["weights"]
    if tuned_weights:
        options["weights"] = tuned_weights
    return Job(node_name=node.fullName(), first=first, last=last, views=view_jobs, output_dir=folder,
               alpha_read=alpha_read, fgr_read=fgr_read, precomp_pattern=precomp_pattern, python=python,
               options=options, ocio_config=ocio_config(),
               working_space=working_space, state=staleness.state_hash(node),
               context=staleness.context_text(options["base_weights"], ocio_config(), python),
               shortcut_reason=None if plate is not None else reason, masks=masks,
               people_pattern=people.people_pattern(plate.pattern if plate is not None else precomp_pattern,
                                                    alpha_read),
               keyframes_pattern=os.path.join(folder, "precomp", "%s%s.keyframes.####.exr" % (name, tag)),
               keyframe_frames=keyframe_frames, plate_state=staleness.plate_hash(node, first, last),
               versions=True, people_job=people_job, input_id=staleness.input_id(node), keep_versions=keep)


def check_own_folder(node, folder):
    """A folder's versions are one node's (the worker numbers them and --keep-versions prunes them
    all): another RVMatte node writing into the same output directory is refused."""
    for other in nuke.allNodes("Group", nuke.root(), recurseGroups=True):
        if other is node or not rvnode.is_rvmatte(other) or other.fullName() == node.fullName():
            continue
        try:
            theirs = output_dir(other)
        except JobError:
            continue
        if theirs == folder:
            raise JobError("%s writes into the same output directory %s: give each RVMatte node its own "
                           "(the versions in a folder are one node's)" % (other.name(), folder))


def mask_inputs(node, first, last, precomp_pattern):
    """The connected holdout/garbage/target inputs: a usable Read's files (the plate's
    rules), else a precomp at precomp_pattern(the input's name). The target holds a person on
    some frames only: a Read of them is taken as it is when its files lie within the range,
    anything else is rendered on the target frames (people.target_frames), which it then needs."""
    masks = []
    for index, name in rvnode.MASK_INPUTS:
        if node.input(index) is None:
            continue
        frames, span = None, (first, last)
        read = read_input.upstream_read(node, index)
        if name == "target":
            try:
                frames = people.target_frames(node, first, last)
            except ValueError as exc:
                raise JobError(str(exc))
            if read is not None:
                span = (max(first, read["first"].value()), min(last, read["last"].value()))
        found, reason = None, "the %s input is not a Read" % name
        if read is not None:
            found, reason = read_input.plate_from_read(read, span[0], span[1], nuke.root())
            plate = node.input(0)
            if found is not None and plate is not None and (read.width(), read.height()) != (
                    plate.width(), plate.height()):
                found, reason = None, "%s is %dx%d, the plate %dx%d (rendered in the plate's format)" % (
                    read.name(), read.width(), read.height(), plate.width(), plate.height())
        if found is not None:
            masks.append(MaskInput(name, index, found.pattern, False))
        elif name == "target" and frames is None:
            raise JobError("set the target frames: the frames on which the target input holds the person "
                           "(e.g. %d or %d-%d); %s" % (first, first, first + 2, reason))
        else:
            masks.append(MaskInput(name, index, precomp_pattern(name), True, reason, frames))
    return masks
