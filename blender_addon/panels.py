"""The Generate Matte panel (Compositor and Movie Clip Editor sidebars) and the status bar progress."""

import bpy

from . import compositor, finetune, labels, people, sources, versions
from .operators import job_of, output_folder
from .sources import SourceError


WARNINGS_SHOWN = 3


def draw_job(layout, job, context=None):
    """Progress bar and Cancel while running (Cancel beside "queued" while it waits); the outcome
    afterwards, wrapped to the panel's width."""
    context = context or bpy.context
    if job is None:
        return
    if getattr(job, "queued", False) and job.running:
        row = layout.row(align=True)
        row.label(text=f"{job.label}: {job.message}", icon="SORTTIME")
        row.operator("rvmatte.cancel", text="", icon="CANCEL")
    elif job.running:
        row = layout.row(align=True)
        row.progress(factor=job.progress, type="BAR", text=f"{job.label}: {job.message}")
        row.operator("rvmatte.cancel", text="", icon="CANCEL")
    else:
        icon = {"done": "CHECKMARK", "cancelled": "CANCEL"}.get(job.state.value, "ERROR")
        row = labels.draw(layout, job.message, context, icon=icon)
        if getattr(job, "log_path", None) and getattr(job, "process", True) is not None:
            row.operator("rvmatte.show_log", text="", icon="TEXT")
    warnings = list(dict.fromkeys(job.warnings))
    for warning in warnings[:WARNINGS_SHOWN]:
        labels.draw(layout, warning, context, icon="ERROR")
    if len(warnings) > WARNINGS_SHOWN:
        layout.label(text=f"… {len(warnings) - WARNINGS_SHOWN} more warnings in the worker log")


def draw_settings(layout, context):
    settings = context.scene.rvmatte
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(settings, "source_type")
    if settings.source_type == "CLIP":
        col.prop(settings, "clip")
    elif settings.source_type == "IMAGE":
        col.template_ID(settings, "image", open="image.open")
    else:
        tree = compositor.compositor_tree(context.scene)
        row = col.row(align=True)
        if tree is not None:
            row.prop_search(settings, "node_name", tree, "nodes", text="Image Node")
        else:
            row.prop(settings, "node_name")
        row.operator("rvmatte.use_active_node", text="", icon="EYEDROPPER")

    col = layout.column()
    col.template_ID(settings, "holdout", open="image.open", text="Holdout")
    col.template_ID(settings, "garbage", open="image.open", text="Garbage")
    people.draw(layout, context)

    col = layout.column()
    col.prop(settings, "frame_range")
    if settings.frame_range == "CUSTOM":
        sub = col.column(align=True)
        sub.prop(settings, "frame_start")
        sub.prop(settings, "frame_end", text="End")
    col.prop(settings, "preroll")

    col = layout.column()
    col.prop(settings, "variant")
    col.prop(settings, "auto_ratio")
    sub = col.column()
    sub.active = not settings.auto_ratio
    sub.prop(settings, "downsample_ratio")
    col.prop(settings, "device")
    col.prop(settings, "precision")
    col.prop(settings, "foreground_source")
    col.prop(settings, "output_dir")

    finetune.draw(layout, context)

    job = job_of(context.scene)
    running = job is not None and job.running
    root, folder = version_state(settings)
    unfinished = folder.resumable if root and not running else None
    # A people version, or people in the panel, is never resumed: the worker splits the shot again in full.
    resumable = unfinished if unfinished is not None and not versions.people_version(unfinished) \
        and not versions.with_people(settings) else None
    stale = resumable is not None and plate_changed_since(context.scene, settings, resumable)
    if stale:
        resumable = None
    row = layout.row()
    row.scale_y = 1.4
    row.enabled = not running
    row.operator("rvmatte.generate", icon="NODE_COMPOSITING")
    if resumable is not None:
        row.operator("rvmatte.generate", text="Resume", icon="PLAY").resume = True
    draw_versions(layout, context, root, folder, resumable, unfinished, stale)
    draw_job(layout, job, context)


def plate_changed_since(scene, settings, version):
    """Whether ``version`` was made from other files than the plate's now (its recorded ``input_id``
    against the one Generate would send): Resume could not continue it, the worker would start a new
    version. A stat of the movie or of the sequence's first and last files, each redraw."""
    if not version.fields.get("input_id"):
        return False                 # made before plate ids: nothing to stat
    try:
        return versions.made_from_other_plate(version, sources.input_id(sources.resolve(scene, settings)))
    except SourceError:          # the panel says what is wrong with the source elsewhere
        return False


def version_state(settings):
    """(output folder, versions.Folder) of the panel's source; (None, empty) while it has no folder."""
    name = versions.source_name(settings)
    if not name:
        return None, versions.Folder()
    try:
        root = output_folder(settings, name)
    except SourceError:          # an unsaved file without an Output folder: nothing written yet
        return None, versions.Folder()
    return root, versions.read(root)


def draw_versions(layout, context, root, folder, resumable, unfinished=None, plate_changed=False):
    """Which version the nodes show, which one Resume continues (or that an unfinished people version
    has no Resume, or that the plate changed since it was made), a folder the next run would stop on."""
    if root is None:
        return
    shown = versions.shown_folder(context.scene, versions.source_key(context.scene.rvmatte))
    if shown is not None:
        labels.draw(layout, f"Showing {versions.folder_name(root, shown)}", context, icon="IMAGE_DATA")
    if resumable is not None:
        labels.draw(layout, versions.resumable_text(resumable), context, icon="INFO")
    elif unfinished is not None and versions.people_version(unfinished):
        labels.draw(layout, versions.no_resume_text(unfinished), context, icon="INFO")
    elif unfinished is not None and plate_changed:
        labels.draw(layout, versions.plate_changed_text(unfinished), context, icon="INFO")
    if folder.error:
        labels.draw(layout, folder.error, context, icon="ERROR")


class RVMATTE_PT_compositor(bpy.types.Panel):
    bl_label = "Generate Matte"
    bl_idname = "RVMATTE_PT_compositor"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "RVMatte"

    @classmethod
    def poll(cls, context):
        return getattr(context.space_data, "tree_type", "") == "CompositorNodeTree"

    def draw(self, context):
        draw_settings(self.layout, context)


class RVMATTE_PT_clip(bpy.types.Panel):
    bl_label = "Generate Matte"
    bl_idname = "RVMATTE_PT_clip"
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "UI"
    bl_category = "RVMatte"

    def draw(self, context):
        draw_settings(self.layout, context)


def draw_status(self, context):
    """Status bar: the running matte job of the scene."""
    job = job_of(context.scene)
    if job is not None and job.running:
        self.layout.progress(factor=job.progress, type="BAR", text=f"RVMatte {job.label}: {job.message}")


classes = (RVMATTE_PT_compositor, RVMATTE_PT_clip)


def register_status():
    bpy.types.STATUSBAR_HT_header.append(draw_status)


def unregister_status():
    bpy.types.STATUSBAR_HT_header.remove(draw_status)
