"""Fine-tune from keyframes (docs/blender.md, Fine-tune): a few hand-corrected alpha frames of the
shot teach the network that shot (`rvmatte finetune`, docs/training.md) before Generate.

The keyframes are an image sequence where only the corrected frame numbers exist, numbered like
the source. The tuned checkpoint goes to ``<output folder>/tuned/<source>.pth`` (the host kit's
`tuned_weights_path`); with Use Tuned Weights, Generate takes it as `--weights`, and refuses when it
is missing rather than matte with the base weights."""

import json
import os
from dataclasses import dataclass

import bpy

from . import command, engine, jobs, sources
from .sources import is_still_or_sequence
from .preferences import preferences
from .rvmatte_hostkit import command as kit
from .rvmatte_hostkit.sequences import PatternError, parse_pattern, sequence_of_file
from .rvmatte_hostkit.sparse import SparseSequence, format_ranges

DEFAULT_STEPS = 20  # `rvmatte finetune`'s default, measured in docs/training.md


class RVMatteFinetuneSettings(bpy.types.PropertyGroup):
    keyframes: bpy.props.PointerProperty(
        name="Keyframes", type=bpy.types.Image, poll=is_still_or_sequence,
        description="Hand-corrected alpha of a few frames of the shot (an image sequence where only those "
                    "frame numbers exist, numbered like the source; channel A, else the only channel, "
                    "else grey)")
    keyframes_path: bpy.props.StringProperty(
        name="Keyframes Path", subtype="FILE_PATH", options={"PATH_SUPPORTS_BLEND_RELATIVE"},
        description="Or the keyframe sequence as a path: fix.####.exr, or one file of it (used when no "
                    "Keyframes image is set)")
    steps: bpy.props.IntProperty(
        name="Steps", default=DEFAULT_STEPS, min=0, soft_max=200,
        description="Optimizer steps of the fine-tune (0 writes the base weights unchanged)")
    use_tuned: bpy.props.BoolProperty(
        name="Use Tuned Weights", default=False,
        description="Generate with the weights fine-tuned from the keyframes (turned on by a successful "
                    "Fine-tune); off: the base weights")


@dataclass(frozen=True)
class Keyframes:
    named: str                 # how messages name them: "Keyframes 'fix'"
    frames: SparseSequence     # the frame numbers on disk

    @property
    def pattern(self):
        return self.frames.pattern.hashes


def keyframe_sequence(settings):
    """The panel's keyframes (Image, else path) as found on disk now; None when neither is set.
    Raises SourceError naming the input when it is not a numbered sequence with files."""
    image = settings.keyframes
    if image is not None:
        named = f"Keyframes '{image.name}'"
        if image.source not in {"FILE", "SEQUENCE"}:
            raise sources.SourceError(f"{named} is a {image.source.lower()} image; choose an image sequence")
        path = sources.saved_image_path(image, named)
    else:
        text = settings.keyframes_path.strip()
        if not text:
            return None
        path = os.path.normpath(bpy.path.abspath(text))
        named = f"Keyframes {path}"
    try:
        pattern = parse_pattern(path) or sequence_of_file(path)
    except PatternError as exc:
        raise sources.SourceError(f"{named}: {exc}") from None
    if pattern.padding is None:
        raise sources.SourceError(f"{named} is one unnumbered image: keyframes are numbered like the source "
                                  f"(fix.1003.exr, fix.1010.exr, …)")
    found = SparseSequence.scan(pattern, nonempty=True)
    if not found:
        raise sources.SourceError(f"{named}: no keyframe files found for {pattern.hashes}")
    return Keyframes(named, found)


def listing(keys):
    """``keyframes 1003, 1010, 1020`` for the panel and the messages."""
    return f"keyframes {format_ranges(keys.frames)}"


def _image_size(path):
    """(width, height) of an image file as Blender reads it; (0, 0) when it cannot."""
    image = bpy.data.images.load(path, check_existing=False)
    try:
        return tuple(image.size)
    finally:
        bpy.data.images.remove(image)


def check_keyframes(keys, source, first, last, size):
    """Every keyframe within the frames being matted (``first``-``last``, source numbers) and of the
    source's ``size``; SourceError with one line naming what is wrong."""
    outside = [f for f in keys.frames if not first <= f <= last]
    if outside:
        lo, hi = (source.frame_map.scene_frame(f) for f in (first, last))
        raise sources.SourceError(
            f"{keys.named} has {listing(keys)}: {format_ranges(outside)} outside the frames being matted "
            f"({first}-{last}, scene frames {lo}-{hi}); keyframes are numbered like the source")
    if not size[0] or not size[1]:
        raise sources.SourceError(f"cannot tell the size of '{source.name}' to check the keyframes")
    for frame in keys.frames:
        path = keys.frames.path(frame)
        found = _image_size(path)
        if not found[0]:
            raise sources.SourceError(f"{keys.named}: cannot read keyframe {frame} ({path})")
        if found != tuple(size):
            raise sources.SourceError(f"{keys.named}: keyframe {frame} ({path}) is {found[0]}x{found[1]}, "
                                      f"'{source.name}' is {size[0]}x{size[1]}")


def source_name(settings):
    """The source's name as the panel shows it, without reading anything (None when unset)."""
    if settings.source_type == "CLIP":
        return settings.clip.name if settings.clip else None
    if settings.source_type == "IMAGE":
        return settings.image.name if settings.image else None
    return settings.node_name or None


def tuned_path(settings, name):
    """``<output folder>/tuned/<source>.pth``, the one tuned checkpoint of this source."""
    from .operators import output_folder

    return kit.tuned_weights_path(output_folder(settings, name), bpy.path.clean_name(name))


def matte_weights(settings, name, base):
    """The weights Generate uses: the tuned checkpoint with Use Tuned Weights (SourceError when it is
    not there: never the base weights in its place), else ``base``."""
    if not settings.finetune.use_tuned:
        return base
    path = tuned_path(settings, name)
    if not os.path.isfile(path):
        raise sources.SourceError(f"Use Tuned Weights is on, but there are no tuned weights at {path}: "
                                  f"Fine-tune first, or turn Use Tuned Weights off to matte with the base weights")
    return path


def tuned_keyframes(path):
    """The keyframe numbers the tuned checkpoint's sidecar names (None without a readable sidecar)."""
    try:
        with open(path + ".rvmatte.json", encoding="utf-8") as stream:
            frames = json.load(stream).get("keyframes", {}).get("frames")
    except (OSError, ValueError, AttributeError):
        return None
    return [int(f) for f in frames] if isinstance(frames, list) else None


@dataclass(frozen=True)
class FinetunePlan:
    source: sources.Source
    keyframes: Keyframes
    folder: str
    request: command.FinetuneRequest
    argv: list


def plan_finetune(scene):
    """The `rvmatte finetune` command for the panel. Raises SourceError/WorkerSetupError for artist mistakes."""
    from . import people
    from .operators import ocio_config, output_folder

    settings = scene.rvmatte
    source = sources.resolve(scene, settings)
    first, last = sources.source_frames(source, scene, settings)
    keys = keyframe_sequence(settings.finetune)
    if keys is None:
        raise sources.SourceError("choose the Keyframes to fine-tune from: an image sequence of corrected "
                                  "alpha, only the fixed frames on disk, numbered like the source")
    check_keyframes(keys, source, first, last, people._source_size(source))
    folder = output_folder(settings, source.name)
    values = engine.effective()
    config = ocio_config()
    request = command.FinetuneRequest(
        input_path=source.input_path,
        keyframes=keys.pattern,
        output=kit.tuned_weights_path(folder, bpy.path.clean_name(source.name)),
        start_frame=source.start_frame,
        weights=values["weights"],
        variant=settings.variant,
        device=values["device"] if settings.device == "PREFS" else settings.device,
        precision=settings.precision,
        downsample_ratio=None if settings.auto_ratio else settings.downsample_ratio,
        input_colorspace=source.colorspace if config else "",
        ocio_config=config,
        steps=settings.finetune.steps,
        debug=command.debug_requested(preferences().debug),
    )
    argv = command.worker_prefix(values["python"]) + command.finetune_arguments(request)
    return FinetunePlan(source, keys, folder, request, argv)


def start_finetune(scene):
    """Start `rvmatte finetune` for the scene's panel as the scene's job; returns it. Raises for artist mistakes."""
    from . import operators

    running = operators.job_of(scene)
    if running is not None and running.running:
        raise sources.SourceError(operators.busy_message(running))
    plan = plan_finetune(scene)
    try:
        os.makedirs(plan.folder, exist_ok=True)
    except OSError as exc:
        raise sources.SourceError(f"cannot create the output folder {plan.folder}: {exc.strerror}") from exc
    env = command.worker_environment(os.environ, online=bpy.app.online_access, cache=engine.effective()["cache"])
    key = operators.scene_key(scene)

    def finished(job):
        _finetune_outcome(job, key, plan)
        operators.report_warnings(job)

    job = jobs.start(plan.argv, env=env, cwd=plan.folder, label=plan.source.name, task="finetune",
                     on_finish=finished, exclusive=True,
                     log_path=operators.worker_log_path(plan.folder, plan.source.name + ".finetune"))
    operators.scene_jobs[key] = job
    operators.ensure_timer()
    return job


def _finetune_outcome(job, key, plan):
    from . import operators

    output = plan.request.output
    if job.state is jobs.JobState.DONE:
        if not os.path.isfile(output):
            operators.fail_job(job, f"the worker ended without writing the tuned weights {output}")
            return
        scene = operators.scene_of(key)
        if scene is not None:
            scene.rvmatte.finetune.use_tuned = True
        operators.report("INFO", f"RVMatte: {job.message} for '{plan.source.name}': {output}")
    elif job.state is jobs.JobState.CANCELLED:
        operators.report("WARNING", f"RVMatte: {job.message}")
    else:
        operators.report("ERROR", f"RVMatte: fine-tune failed: {job.error}")


class RVMATTE_OT_finetune(bpy.types.Operator):
    """Fine-tune the network on this shot from the corrected Keyframes, in a separate process; Generate then \
uses the tuned weights"""

    bl_idname = "rvmatte.finetune"
    bl_label = "Fine-tune"
    bl_options = {"REGISTER"}

    def execute(self, context):
        try:
            job = start_finetune(context.scene)
        except (sources.SourceError, command.WorkerSetupError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"RVMatte: fine-tuning on '{job.label}'")
        return {"FINISHED"}


classes = (RVMatteFinetuneSettings, RVMATTE_OT_finetune)

_listed = {}  # pattern → (folder mtime, text): the panel redraws often, the folder changes rarely


def _cached_listing(settings):
    """(the panel's keyframes line, whether it is a problem, the frames found); rescanned when their
    folder changes."""
    key = (settings.keyframes.name if settings.keyframes else "", settings.keyframes_path)
    try:
        image = settings.keyframes
        raw = bpy.path.abspath(image.filepath if image else settings.keyframes_path)
        stamp = os.path.getmtime(os.path.dirname(os.path.normpath(raw)) or ".")
    except OSError:
        stamp = None
    cached = _listed.get(key)
    if cached is not None and cached[0] == stamp and stamp is not None:
        return cached[1]
    try:
        keys = keyframe_sequence(settings)
        shown = (listing(keys), False, list(keys.frames)) if keys else None
    except sources.SourceError as exc:
        shown = (str(exc), True, None)
    _listed[key] = (stamp, shown)
    return shown


def draw(layout, context):
    """The Fine-tune part of the Generate Matte panel."""
    settings = context.scene.rvmatte
    ft = settings.finetune
    col = layout.column(heading="Fine-tune")
    col.template_ID(ft, "keyframes", open="image.open", text="Keyframes")
    if ft.keyframes is None:
        col.prop(ft, "keyframes_path", text="Path")
    shown = None
    if ft.keyframes is not None or ft.keyframes_path.strip():
        shown = _cached_listing(ft)
        if shown:
            row = col.row()
            row.alert = shown[1]
            row.label(text=shown[0], icon="ERROR" if shown[1] else "KEYFRAME")
        col.prop(ft, "steps")
        from .operators import job_of

        job = job_of(context.scene)
        row = col.row()
        row.enabled = job is None or not job.running
        row.operator("rvmatte.finetune", icon="MOD_NORMALEDIT")
    col.prop(ft, "use_tuned")
    name = source_name(settings)
    try:
        path = tuned_path(settings, name) if name else None
    except sources.SourceError:
        path = None
    if path and os.path.isfile(path):
        sub = col.column(align=True)
        sub.active = ft.use_tuned
        sub.label(text=path, icon="FILE")
        frames = tuned_keyframes(path)
        if frames:
            sub.label(text=f"tuned from keyframes {format_ranges(frames)}")
        if frames is not None and shown and shown[2] is not None and shown[2] != frames:
            row = col.row()
            row.alert = True
            row.label(text="the keyframes changed since: Fine-tune again", icon="ERROR")
    elif ft.use_tuned:
        row = col.row()
        row.alert = True
        row.label(text="no tuned weights yet: Fine-tune first", icon="ERROR")
