"""Operators: Generate Matte, Cancel, Check, Install Engine, and the job callbacks that run on the main thread."""

import os
import re
import shutil
import dataclasses
from dataclasses import dataclass

import bpy

from . import command, compositor, engine, jobs, people, sources, versions
from .preferences import preferences

# scene_key(scene) → its latest matte or fine-tune job (queued, running or finished), for the panel
# and the status bar
scene_jobs = {}
check_job = None


def scene_key(scene):
    """What a scene's job is filed under: its `session_uid`, which stays through a rename and undo
    (a name does not), and is new in each session, as the jobs are (no job outlives its file)."""
    return scene.session_uid


def job_of(scene):
    """The scene's latest job, or None."""
    return scene_jobs.get(scene_key(scene))


def scene_of(key):
    """The scene filed under `key`, or None when it was deleted."""
    return next((scene for scene in bpy.data.scenes if scene.session_uid == key), None)


def report(level, message):
    """A Blender report from anywhere (a timer has no operator to report through)."""
    print(f"RVMatte {level.lower()}: {message}")
    try:
        bpy.ops.rvmatte.report(level=level, message=message)
    except (RuntimeError, AttributeError):
        pass


def tag_redraw():
    wm = bpy.context.window_manager
    for window in getattr(wm, "windows", ()):
        for area in window.screen.areas:
            if area.type in {"NODE_EDITOR", "CLIP_EDITOR", "STATUSBAR", "PREFERENCES"}:
                area.tag_redraw()


def tick():
    """The `bpy.app.timers` callback: advance the workers, redraw their progress."""
    delay = jobs.poll_jobs()
    tag_redraw()
    return delay


def ensure_timer():
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=jobs.POLL_SECONDS)


def output_folder(settings, source_name):
    """Absolute folder of the passes: the panel's folder, else //rvmatte/<source>/ next to the .blend."""
    folder = settings.output_dir.strip()
    if not folder:
        folder = f"//rvmatte/{bpy.path.clean_name(source_name)}/"
    if folder.startswith("//") and not bpy.data.filepath:
        raise sources.SourceError("save the .blend file first, or choose an Output folder for the passes")
    return os.path.normpath(bpy.path.abspath(folder))


def ocio_config():
    """The OCIO config Blender uses, so the worker reads colour space names as Blender does."""
    env = os.environ.get("OCIO")
    if env:
        return env
    path = os.path.join(bpy.utils.system_resource("DATAFILES"), "colormanagement", "config.ocio")
    return path if os.path.isfile(path) else ""


def working_space():
    colorspace = getattr(bpy.data, "colorspace", None)
    return getattr(colorspace, "working_space", "") or "Linear Rec.709"


MATTE_ROLES = (("holdout", "Holdout matte"), ("garbage", "Garbage matte"))


def matte_inputs(settings, first, last, folder):
    """{role: MatteInput} of the panel's holdout and garbage mattes that are set."""
    found = {}
    for role, label in MATTE_ROLES:
        matte = sources.matte_input(getattr(settings, role), label, first, last,
                                    os.path.join(folder, f"{role}_matte"))
        if matte is not None:
            found[role] = matte
    return found


def build_request(scene, source, first, last, folder, mattes=None, resume=False):
    from . import finetune

    settings = scene.rvmatte
    mattes = mattes or {}
    values = engine.effective()
    weights = finetune.matte_weights(settings, source.name, values["weights"])
    base = os.path.join(folder, source.shot_name)
    config = ocio_config()
    return command.MatteRequest(
        input_path=source.input_path,
        alpha_pattern=f"{base}.alpha.####.exr",
        foreground_pattern=f"{base}.fgr.####.exr",
        first=first, last=last,
        start_frame=source.start_frame,
        weights=weights,
        variant=settings.variant,
        device=values["device"] if settings.device == "PREFS" else settings.device,
        precision=settings.precision,
        downsample_ratio=None if settings.auto_ratio else settings.downsample_ratio,
        preroll=settings.preroll,
        foreground_source=settings.foreground_source,
        input_colorspace=source.colorspace if config else "",
        output_colorspace=working_space() if config else "",
        ocio_config=config,
        holdout=mattes["holdout"].path if "holdout" in mattes else "",
        garbage=mattes["garbage"].path if "garbage" in mattes else "",
        debug=command.debug_requested(preferences().debug),
        resume=resume,
    )


@dataclass(frozen=True)
class MattePlan:
    """Everything a matte job needs, decided before the worker starts."""

    source: sources.Source
    first: int
    last: int
    folder: str
    request: command.MatteRequest
    argv: list
    mattes: dict  # role → sources.MatteInput


def plan_matte(scene, resume=False):
    """The worker command for the scene's panel settings (with `resume`: `--resume`, keeping the frames on
    disk made with the same settings). Raises SourceError/WorkerSetupError for artist mistakes."""
    settings = scene.rvmatte
    source = sources.resolve(scene, settings)
    first, last = sources.source_frames(source, scene, settings)
    folder = output_folder(settings, source.name)
    mattes = matte_inputs(settings, first, last, folder)
    request = build_request(scene, source, first, last, folder, mattes, resume=resume)
    request = dataclasses.replace(request, **people.request_fields(scene, source, first, last))
    if resume and not resumable(request):
        raise sources.SourceError(RESUME_WITH_PEOPLE)
    # Into <folder>/v### (a people job's version is chosen by the people key). The result key knows the
    # plate only by its size: its files' identity joins it, so a re-rendered plate is a new version.
    # Resume computes it again, from the files as they are now (docs/blender.md).
    request = dataclasses.replace(request, output_dir=folder, versions=True,
                                  keep_versions=preferences().keep_versions,
                                  input_id=sources.input_id(source))
    argv = command.worker_prefix(engine.effective()["python"]) + command.run_arguments(request)
    return MattePlan(source, first, last, folder, request, argv, mattes)


def start_matte(scene, resume=False):
    """Start the worker for the scene's panel settings, or queue it behind another scene's; returns the job.
    Raises for artist mistakes."""
    running = job_of(scene)
    if running is not None and running.running:
        raise sources.SourceError(busy_message(running))
    plan = plan_matte(scene, resume=resume)
    try:
        os.makedirs(plan.folder, exist_ok=True)
    except OSError as exc:
        raise sources.SourceError(f"cannot create the output folder {plan.folder}: {exc.strerror}") from exc
    for matte in plan.mattes.values():
        if matte.copy_from:
            try:
                shutil.copyfile(matte.copy_from, matte.path)
            except OSError as exc:
                raise sources.SourceError(f"cannot copy the matte {matte.copy_from} to {matte.path}: "
                                          f"{exc.strerror}") from exc
    env = command.worker_environment(os.environ, online=bpy.app.online_access, cache=engine.effective()["cache"])
    key, scene_name = scene_key(scene), scene.name

    def finished(job):
        _matte_finished(job, key, scene_name, plan)

    target = versions.read(plan.folder).resumable if resume and plan.request.versions else None
    job = jobs.start(plan.argv, env=env, cwd=plan.folder, label=plan.source.name, on_finish=finished,
                     log_path=worker_log_path(plan.folder, plan.source.name), exclusive=True)
    job.resumable = False
    job.resume_target = target.name if target is not None else None   # the version Resume meant to continue
    job.resume_plate_changed = versions.made_from_other_plate(target, plan.request.input_id)
    scene_jobs[key] = job
    ensure_timer()
    return job


def worker_log_path(folder, name):
    """``<output folder>/.rvmatte/logs/<name>.<time>.log``: every matte job leaves its log beside its passes."""
    from .rvmatte_hostkit.process import log_path

    return log_path(folder, bpy.path.clean_name(name))


LOG_TEXT = "RVMatte Worker Log"


def show_worker_log(scene):
    """The scene's newest worker log loaded into the Text datablock LOG_TEXT; returns its path.
    Raises SourceError when there is none yet."""
    from .rvmatte_hostkit.process import latest_log

    job = job_of(scene)
    path = getattr(job, "log_path", None) if job is not None and not job.running else None
    if not path or not os.path.isfile(path):
        source = sources.resolve(scene, scene.rvmatte)
        path = latest_log(output_folder(scene.rvmatte, source.name))
    if not path:
        raise sources.SourceError("no worker log yet: Generate writes one into the output folder's .rvmatte/logs/")
    with open(path, encoding="utf-8", errors="replace") as stream:
        text = stream.read()
    block = bpy.data.texts.get(LOG_TEXT) or bpy.data.texts.new(LOG_TEXT)
    block.clear()
    block.write(text)
    return path


def _frame_file(pattern, frame):
    """`name.####.exr` → `name.0012.exr` (a run of # is the padding)."""
    return re.sub(r"#+", lambda m: f"{frame:0{len(m.group(0))}d}", pattern)


def written_folder(job, plan):
    """The version folder a versioned job wrote into: the one its done event names, else its start
    event's; a worker that named none leaves the kit's current version (after a success). None for an
    unversioned job, or one that stopped before a version was chosen."""
    if not plan.request.versions:
        return None
    for message in (job.finished, job.started):
        folder = versions.version_folder(plan.folder, getattr(message, "output_version", None))
        if folder is not None:
            return folder
    now = versions.read(plan.folder).current if job.state is jobs.JobState.DONE else None
    return now.folder if now is not None else None


def pass_patterns(plan, folder=None):
    """(alpha, foreground) patterns of the passes in the version `folder` (None: where the request puts them)."""
    patterns = (plan.request.alpha_pattern, plan.request.foreground_pattern)
    if folder is None:
        return patterns
    return tuple(versions.kit.relocated(plan.folder, folder, p) for p in patterns)


def _missing_frames(plan, patterns):
    """(count, first missing file) of the alpha and foreground frames the plan asked for."""
    missing = [_frame_file(pattern, frame) for pattern in patterns if pattern
               for frame in range(plan.first, plan.last + 1)
               if not os.path.isfile(_frame_file(pattern, frame))]
    return len(missing), (missing[0] if missing else None)


def _frames_on_disk(plan, patterns):
    """The plan's frames whose alpha and foreground files both exist."""
    return [frame for frame in range(plan.first, plan.last + 1)
            if all(os.path.isfile(_frame_file(p, frame)) for p in patterns)]


def fail_job(job, message):
    job.state = jobs.JobState.FAILED
    job.error = job.message = message
    report("ERROR", f"RVMatte: {message}")


def report_warnings(job):
    """Each warning the worker gave (a tuned checkpoint used on another shot, a colour space guessed…)
    as a Blender warning, once; the panel lists them under the job's outcome too."""
    for warning in dict.fromkeys(job.warnings):
        report("WARNING", f"RVMatte: {warning}")


def busy_message(job):
    return ("a fine-tune is running for this scene" if getattr(job, "task", "matte") == "finetune"
            else "a matte is already being generated for this scene")


def _matte_finished(job, key, scene_name, plan):
    if job.state is not jobs.JobState.DONE and job.process is not None:   # not for a queued job dropped
        _wire_what_exists(job, key, plan)
    _matte_outcome(job, key, scene_name, plan)
    report_warnings(job)


def _wire(job, scene, plan, first, patterns):
    alpha, fgr = (_frame_file(pattern, first) for pattern in patterns)
    job.nodes = compositor.wire_matte(scene, plan.source, alpha, fgr, first, plan.last,
                                      foreground_colorspace=plan.request.output_colorspace or None)
    request = dataclasses.replace(plan.request, alpha_pattern=patterns[0], foreground_pattern=patterns[1])
    job.nodes["cryptomatte"] = people.wire_people(scene, plan.source, request, first, plan.last)


RESUME_WITH_PEOPLE = ("Resume is not available with a target, a point or People (the worker matches the "
                      "people across the whole range): Generate Matte redoes every frame")


def resumable(request):
    """Whether the worker can resume the run (`rvmatte run --resume` takes no target, point or People)."""
    return not (request.targets or request.target_points or request.people)


def _wire_what_exists(job, key, plan):
    """After a cancel or a failure the unfinished version is left for Resume (its folder, its frames
    kept), and the nodes keep showing what they showed: another version, or the passes from before
    versions. Only where they showed nothing for this source (or this very version) are its frames on
    disk wired. A people job's version is left the same way, but offers no Resume (the worker splits
    it again in full)."""
    folder = written_folder(job, plan)
    if plan.request.versions and folder is None:
        return                                   # stopped before a version was chosen: nothing written
    done = _frames_on_disk(plan, pass_patterns(plan, folder))
    scene = scene_of(key)
    if not done or scene is None:
        return
    job.resumable = resumable(plan.request)
    rest = ": Resume does the rest" if job.resumable else ": no Resume with people, Generate Matte redoes them all"
    total = plan.last - plan.first + 1
    shown = versions.shown_folder(scene, plan.source.key)
    if folder is not None and shown is not None and not versions.same_folder(shown, folder):
        job.message += (f"; {os.path.basename(folder)} has {len(done)} of {total} frames{rest}; "
                        f"still showing {versions.folder_name(plan.folder, shown)}")
        return
    where = f"of {os.path.basename(folder)}" if folder is not None else "on disk"
    try:
        _wire(job, scene, plan, done[0], pass_patterns(plan, folder))
    except (KeyError, RuntimeError, ValueError) as exc:
        print(f"RVMatte: the {len(done)} frames {where} could not be wired: {exc}")
        job.message += f"; {len(done)} of {total} frames {where}{rest}"
        return
    job.message += f"; {len(done)} of {total} frames {where} are wired{rest}"


def _matte_outcome(job, key, scene_name, plan):
    if job.state is jobs.JobState.DONE:
        folder = written_folder(job, plan)
        if plan.request.versions and folder is None:
            fail_job(job, f"the worker named no version folder of {plan.folder} it wrote into")
            return
        count, first_missing = _missing_frames(plan, pass_patterns(plan, folder))
        if count:
            fail_job(job, f"the worker ended without writing {count} of the requested files "
                          f"(first missing: {first_missing})")
            _wire_what_exists(job, key, plan)
            return
        if folder is not None:
            job.message += _version_outcome(job, folder)
        scene = scene_of(key)
        if scene is None:
            report("WARNING", f"RVMatte: scene '{scene_name}' is gone; the passes are in {folder or plan.folder}")
            return
        try:
            _wire(job, scene, plan, plan.first, pass_patterns(plan, folder))
        except (KeyError, RuntimeError, ValueError) as exc:  # the source was renamed or removed meanwhile
            fail_job(job, f"passes written to {folder or plan.folder}, but the nodes could not be added: {exc}")
            return
        report("INFO", f"RVMatte: {job.message} for '{plan.source.name}'")
    elif job.state is jobs.JobState.CANCELLED:
        report("WARNING", f"RVMatte: {job.message}")
    else:
        report("ERROR", f"RVMatte: {job.error}")


def _version_outcome(job, folder):
    """", in v002" (a new one), ", in v001 (reused)", what Resume did not continue, and the versions
    Keep Versions removed."""
    name = os.path.basename(folder)
    described = getattr(job.finished, "output_version", None) or {}
    target = getattr(job, "resume_target", None)
    text = f", in {name}" + (" (reused)" if described.get("reused") and not target else "")
    if target and target != name:
        why = ("the plate's files changed since" if getattr(job, "resume_plate_changed", False)
               else "its settings differ from the panel's")
        text += f" (not {target}: {why})"
    removed = [os.path.basename(os.path.normpath(p)) for p in described.get("removed") or ()]
    if removed:
        text += f"; Keep Versions removed {', '.join(removed)}"
    return text


PANEL_AREAS = ("NODE_EDITOR", "CLIP_EDITOR")


def esc_is_for_panel(areas, x, y):
    """True when the mouse (window coordinates) is over the sidebar that shows the RVMatte panel.

    Esc elsewhere belongs to Blender (it stops playback, closes the render view) and is passed on."""
    for area in areas:
        if area.type not in PANEL_AREAS:
            continue
        for region in area.regions:
            if region.type == "UI" and region.x <= x < region.x + region.width \
                    and region.y <= y < region.y + region.height:
                return True
    return False


class RVMATTE_OT_generate(bpy.types.Operator):
    """Run RVM on the source in a separate process and wire the passes into the compositor"""

    bl_idname = "rvmatte.generate"
    bl_label = "Generate Matte"
    bl_options = {"REGISTER"}

    resume: bpy.props.BoolProperty(
        name="Resume", options={"SKIP_SAVE"},
        description="Keep the frames already on disk that were made with the same settings and matte the rest "
                    "(after a cancel or a failure)")

    _timer = None

    def execute(self, context):
        try:
            self.job = start_matte(context.scene, resume=self.resume)
        except (sources.SourceError, command.WorkerSetupError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        verb = "resuming" if self.resume else "matting"
        if getattr(self.job, "queued", False):
            self.report({"INFO"}, f"RVMatte: '{self.job.label}' is queued: {self.job.message}")
        else:
            self.report({"INFO"}, f"RVMatte: {verb} '{self.job.label}'")
        return {"FINISHED"}

    def invoke(self, context, event):
        if "FINISHED" not in self.execute(context):
            return {"CANCELLED"}
        if context.window is None:
            return {"FINISHED"}
        # Stay modal only to let Esc cancel; the worker is polled by a timer either way.
        self._timer = context.window_manager.event_timer_add(0.5, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if not self.job.running:
            self._end(context)
            return {"FINISHED"}
        if event.type == "ESC" and event.value == "PRESS" and context.window is not None \
                and esc_is_for_panel(context.window.screen.areas, event.mouse_x, event.mouse_y):
            self.job.cancel()
            self._end(context)
            return {"FINISHED"}
        return {"PASS_THROUGH"}

    def cancel(self, context):
        self.job.cancel()
        self._end(context)

    def _end(self, context):
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None


class RVMATTE_OT_cancel(bpy.types.Operator):
    """Stop the worker; frames already written stay complete on disk"""

    bl_idname = "rvmatte.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        job = job_of(context.scene)
        return job is not None and job.running

    def execute(self, context):
        job_of(context.scene).cancel()
        ensure_timer()
        return {"FINISHED"}


def start_check(context):
    """Run `rvmatte doctor --progress json` in the background like a matte job."""
    global check_job
    prefs = preferences(context)
    values = engine.effective(prefs)
    argv = engine.doctor_argv(values)
    env = command.worker_environment(os.environ, online=bpy.app.online_access, cache=values["cache"])

    def finished(job):
        ok, text = engine.describe_doctor(job)
        try:
            preferences().check_result = text
        except KeyError:
            pass
        report("INFO" if ok else "ERROR", "RVMatte check: " + ("all checks passed" if ok else
                                                              "; ".join(l for l in text.splitlines()
                                                                        if not l.startswith("ok "))))

    prefs.check_result = "checking…"
    check_job = jobs.start(argv, env=env, label="check", on_finish=finished)
    ensure_timer()
    return check_job


class RVMATTE_OT_check_worker(bpy.types.Operator):
    """Check the worker: interpreter, PyTorch, device, OCIO, and that the weights load and run"""

    bl_idname = "rvmatte.check_worker"
    bl_label = "Check"

    def execute(self, context):
        try:
            start_check(context)
        except (command.WorkerSetupError, OSError) as exc:
            preferences(context).check_result = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


class RVMATTE_OT_install_engine(bpy.types.Operator):
    """Install the engine: a private Python environment with rvmatte, PyTorch for this machine and the weights"""

    bl_idname = "rvmatte.install_engine"
    bl_label = "Install Engine"

    @classmethod
    def poll(cls, context):
        return engine.install_job is None or not engine.install_job.running

    def execute(self, context):
        try:
            engine.start_install(context)
        except (command.WorkerSetupError, OSError) as exc:
            preferences(context).install_status = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        ensure_timer()
        self.report({"INFO"}, "RVMatte: installing the engine")
        return {"FINISHED"}


class RVMATTE_OT_use_active_node(bpy.types.Operator):
    """Matte the active Image node of the compositor"""

    bl_idname = "rvmatte.use_active_node"
    bl_label = "Use Active Node"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        tree = compositor.compositor_tree(context.scene)
        node = tree.nodes.active if tree is not None else None
        if node is None or node.bl_idname != "CompositorNodeImage":
            self.report({"ERROR"}, "the active node is not an Image node")
            return {"CANCELLED"}
        context.scene.rvmatte.source_type = "NODE"
        context.scene.rvmatte.node_name = node.name
        return {"FINISHED"}


class RVMATTE_OT_show_log(bpy.types.Operator):
    """Load the newest worker log of this scene's output folder into the Text Editor"""

    bl_idname = "rvmatte.show_log"
    bl_label = "Worker Log"

    def execute(self, context):
        try:
            path = show_worker_log(context.scene)
        except (sources.SourceError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for area in context.screen.areas if context.screen else ():
            if area.type == "TEXT_EDITOR":
                area.spaces.active.text = bpy.data.texts[LOG_TEXT]
        self.report({"INFO"}, f"worker log {path} is in the Text Editor as '{LOG_TEXT}'")
        return {"FINISHED"}


class RVMATTE_OT_report(bpy.types.Operator):
    """Show a message from a finished worker as a Blender report"""

    bl_idname = "rvmatte.report"
    bl_label = "RVMatte Report"
    bl_options = {"INTERNAL"}

    level: bpy.props.EnumProperty(items=[(k, k, "") for k in ("INFO", "WARNING", "ERROR")])
    message: bpy.props.StringProperty()

    def execute(self, context):
        self.report({self.level}, self.message)
        return {"FINISHED"}


classes = (RVMATTE_OT_generate, RVMATTE_OT_cancel, RVMATTE_OT_check_worker, RVMATTE_OT_install_engine,
           RVMATTE_OT_use_active_node, RVMATTE_OT_show_log, RVMATTE_OT_report)
