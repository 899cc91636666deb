"""Add-on preferences: which worker runs the matte, with which weights, on which device."""

import bpy

DEVICES = (
    ("auto", "Auto", "CUDA, then Apple Metal, then CPU"),
    ("cpu", "CPU", "Run on the processor"),
    ("cuda", "CUDA", "First NVIDIA GPU"),
    ("mps", "Apple Metal", "Apple silicon GPU"),
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
    check_result: bpy.props.StringProperty(name="Check Result", options={"SKIP_SAVE"})

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "worker")
        layout.prop(self, "weights")
        layout.prop(self, "device")
        row = layout.row()
        row.operator("rvmatte.check_worker", icon="CHECKMARK")
        if self.check_result:
            for line in self.check_result.splitlines():
                layout.label(text=line)


def preferences(context=None):
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


def absolute(path):
    return bpy.path.abspath(path) if path else ""


classes = (RVMattePreferences,)
