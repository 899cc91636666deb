"""Add-on preferences: which worker runs the matte, with which weights, on which device."""

import bpy

from . import labels

DEVICES = (
    ("auto", "Auto", "CUDA, then Apple Metal, then CPU"),
    ("cpu", "CPU", "Run on the processor"),
    ("cuda", "CUDA", "First NVIDIA GPU"),
    ("mps", "Apple Metal", "Apple silicon GPU"),
)


TORCH_CHOICES = (
    ("auto", "Auto", "CUDA on NVIDIA GPUs, Metal on Apple silicon, else the CPU build"),
    ("cpu", "CPU", "The CPU build (smallest download)"),
    ("cuda", "CUDA", "The CUDA build, even when no NVIDIA driver answers"),
)


class RVMattePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    worker: bpy.props.StringProperty(
        name="Worker",
        description="Python interpreter that has rvmatte installed, or the rvmatte executable. "
                    "Empty: rvmatte from PATH",
        subtype="FILE_PATH",
    )
    weights: bpy.props.StringProperty(
        name="Weights",
        description="RVM checkpoint (.pth). Empty: RVMATTE_WEIGHTS, then the user cache, "
                    "then a download when online access is allowed",
        subtype="FILE_PATH",
    )
    device: bpy.props.EnumProperty(name="Default Device", items=DEVICES, default="auto")
    keep_versions: bpy.props.IntProperty(
        name="Keep Versions", default=0, min=0, soft_max=20,
        description="After a successful Generate, keep only the N complete versions of the shot's output "
                    "folder finished last (v001, v002, …); unfinished ones are never removed. 0: keep all",
    )
    check_result: bpy.props.StringProperty(name="Check Result", options={"SKIP_SAVE"})
    engine_torch: bpy.props.EnumProperty(name="PyTorch", items=TORCH_CHOICES, default="auto")
    engine_wheels: bpy.props.StringProperty(
        name="Wheel Folder",
        description="Offline installs: a folder with the rvmatte and torch wheels. Empty: download them",
        subtype="DIR_PATH",
    )
    install_status: bpy.props.StringProperty(name="Install Status", options={"SKIP_SAVE"})
    debug: bpy.props.BoolProperty(
        name="Worker Debug Output",
        description="Run the worker with --debug: tracebacks go into the worker log (also RVMATTE_DEBUG=1)",
    )

    def draw(self, context):
        from . import engine

        layout = self.layout
        layout.use_property_split = True
        try:
            effective = engine.effective(self)
        except Exception as exc:  # a broken site config: say so, keep the preferences usable
            effective = None
            layout.label(text=str(exc), icon="ERROR")
        if effective is None or effective.install_allowed:
            box = layout.box()
            row = box.row()
            row.operator("rvmatte.install_engine", icon="IMPORT")
            row.prop(self, "engine_torch", text="")
            box.prop(self, "engine_wheels")
            if self.install_status:
                labels.draw(box, self.install_status, context)
        for key, name in (("worker", "python"), ("weights", "weights"), ("device", "device")):
            layout.prop(self, key)
            if effective is not None and effective.values[name].source in ("env", "site"):
                setting = effective.values[name]
                layout.label(text=f"in effect: {setting.value} ({engine.settings_source(setting)})", icon="INFO")
        layout.prop(self, "keep_versions")
        layout.prop(self, "debug")
        row = layout.row()
        row.operator("rvmatte.check_worker", icon="CHECKMARK")
        if self.check_result:
            labels.draw(layout.column(align=True), self.check_result, context)


def preferences(context=None):
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


def absolute(path):
    return bpy.path.abspath(path) if path else ""


classes = (RVMattePreferences,)
