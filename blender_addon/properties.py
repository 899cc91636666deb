"""Per-scene settings of the Generate Matte panel (`scene.rvmatte`)."""

import bpy

from .finetune import RVMatteFinetuneSettings
from .people import RVMattePeopleSettings
from .preferences import DEVICES
from .sources import is_still_or_sequence

SOURCE_TYPES = (
    ("CLIP", "Movie Clip", "A Movie Clip data-block (movie file or image sequence)"),
    ("IMAGE", "Image", "An Image data-block holding an image sequence or a movie"),
    ("NODE", "Image Node", "An Image node of the compositor; its Start Frame and Offset are used"),
)

RANGES = (
    ("SOURCE", "Whole Source", "Every frame of the source"),
    ("SCENE", "Scene Range", "The scene's frame range, limited to the source"),
    ("CUSTOM", "Custom", "The frames below, in scene frames"),
)


def _is_sequence_or_movie(_self, image):
    return image.source in {"SEQUENCE", "MOVIE"}


class RVMatteSettings(bpy.types.PropertyGroup):
    source_type: bpy.props.EnumProperty(name="Source", items=SOURCE_TYPES, default="CLIP")
    clip: bpy.props.PointerProperty(name="Movie Clip", type=bpy.types.MovieClip)
    image: bpy.props.PointerProperty(name="Image", type=bpy.types.Image, poll=_is_sequence_or_movie)
    node_name: bpy.props.StringProperty(name="Image Node", description="Image node of the compositor")

    holdout: bpy.props.PointerProperty(
        name="Holdout", type=bpy.types.Image, poll=is_still_or_sequence,
        description="Matte of what must not be matted (white = held out), a still or an image sequence "
                    "numbered like the source")
    garbage: bpy.props.PointerProperty(
        name="Garbage", type=bpy.types.Image, poll=is_still_or_sequence,
        description="Matte outside which nothing is kept (black = removed), a still or an image sequence "
                    "numbered like the source")

    people: bpy.props.PointerProperty(type=RVMattePeopleSettings)
    finetune: bpy.props.PointerProperty(type=RVMatteFinetuneSettings)

    frame_range: bpy.props.EnumProperty(name="Frames", items=RANGES, default="SOURCE")
    frame_start: bpy.props.IntProperty(name="Start", default=1, min=0)
    frame_end: bpy.props.IntProperty(name="End", default=250, min=0)
    preroll: bpy.props.IntProperty(
        name="Preroll", default=0, min=0, soft_max=50,
        description="Frames before the start run (not written) to settle the matte's temporal memory")

    variant: bpy.props.EnumProperty(
        name="Model", default="mobilenetv3",
        items=(("mobilenetv3", "MobileNetV3", "Fast, the usual choice"),
               ("resnet50", "ResNet50", "Slower, slightly finer")))
    auto_ratio: bpy.props.BoolProperty(
        name="Auto Downsample", default=True,
        description="Run the network at about 512 pixels on the long side")
    downsample_ratio: bpy.props.FloatProperty(name="Downsample Ratio", default=0.25, min=0.01, max=1.0)
    device: bpy.props.EnumProperty(
        name="Device", default="PREFS",
        items=(("PREFS", "Default", "The device set in the add-on preferences"),) + DEVICES)
    precision: bpy.props.EnumProperty(
        name="Precision", default="float32",
        items=(("float32", "Float32", "Full precision"),
               ("float16", "Float16", "Half precision (GPU)"),
               ("bfloat16", "BFloat16", "Brain float (recent GPUs and CPUs)")))
    foreground_source: bpy.props.EnumProperty(
        name="Foreground", default="edge",
        items=(("edge", "Edge", "The plate where the subject is solid, RVM's decontaminated colour in the soft edges"),
               ("model", "Model", "RVM's decontaminated foreground colour everywhere"),
               ("plate", "Plate", "The plate multiplied by the matte")))
    output_dir: bpy.props.StringProperty(
        name="Output", subtype="DIR_PATH",
        description="Folder of the EXR passes. Empty: //rvmatte/<source>/ next to the .blend file")


classes = (RVMatteSettings,)


def register_properties():
    bpy.types.Scene.rvmatte = bpy.props.PointerProperty(type=RVMatteSettings)


def unregister_properties():
    del bpy.types.Scene.rvmatte
