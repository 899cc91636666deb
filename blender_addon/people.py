"""Who is matted (docs/blender.md, People): a target mask (an image sequence or a still holding
one person on some frames), a person picked by a point from the Clip Editor, or one matte per
person; and, with several people, a Cryptomatte node on the people EXR the worker writes.

The worker applies the mattes in the order garbage -> holdout -> target."""

import os

import bpy

from . import compositor
from .sources import is_still_or_sequence
from .rvmatte_hostkit import people as kit
from .rvmatte_hostkit.sequences import numbered_file


class RVMattePeopleSettings(bpy.types.PropertyGroup):
    target: bpy.props.PointerProperty(
        name="Target", type=bpy.types.Image, poll=is_still_or_sequence,
        description="Matte of the one person to keep (white = the person; a rough blob is enough) on one or more "
                    "frames, numbered like the source; frames without a file are tracked")
    target_name: bpy.props.StringProperty(
        name="Target Name", description="Name of the target person (empty: person1)")
    use_point: bpy.props.BoolProperty(
        name="Pick by Point", description="Keep only the person under the point on the point's frame")
    point: bpy.props.FloatVectorProperty(
        name="Point", size=2, default=(0.5, 0.5), soft_min=0.0, soft_max=1.0,
        description="Where the person is, in frame coordinates from the bottom left (0-1), as the Clip "
                    "Editor's 2D cursor")
    point_frame: bpy.props.IntProperty(name="Point Frame", default=1, description="Scene frame of the point")
    point_name: bpy.props.StringProperty(
        name="Point Name", description="Name of the picked person (empty: person1, or person2 beside a target)")
    people: bpy.props.IntProperty(
        name="People", default=0, min=0, soft_max=8,
        description="One matte per person for the N largest people of the first frame (0: off), with a "
                    "Cryptomatte node to pick them by name. Not with a target or a point")


class RVMATTE_OT_point_from_cursor(bpy.types.Operator):
    """Pick the person under the Clip Editor's 2D cursor on the current frame"""

    bl_idname = "rvmatte.point_from_cursor"
    bl_label = "Point from 2D Cursor"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return getattr(context.space_data, "type", "") == "CLIP_EDITOR"

    def execute(self, context):
        set_point(context.scene, context.space_data.cursor_location, context.scene.frame_current)
        return {"FINISHED"}


def set_point(scene, location, frame):
    """The point the artist picked: frame coordinates 0-1 from the bottom left, a scene frame."""
    settings = scene.rvmatte.people
    settings.point = (location[0], location[1])
    settings.point_frame = int(frame)
    settings.use_point = True


classes = (RVMattePeopleSettings, RVMATTE_OT_point_from_cursor)


def _source_size(source):
    if source.kind == "CLIP":
        return tuple(bpy.data.movieclips[source.name].size)
    if source.kind == "IMAGE":
        return tuple(bpy.data.images[source.name].size)
    tree = compositor.compositor_tree(bpy.context.scene)
    return tuple(tree.nodes[source.name].image.size)


def target_path(image):
    """The worker's --target path of a mask Image: a sequence's `#` pattern (its files, whatever frames
    they are), a numbered still as the one frame of its sequence, an unnumbered still for every frame."""
    from .sources import SourceError, existing_sequence, saved_image_path

    named = f"Target '{image.name}'"
    path = saved_image_path(image, named)
    if image.source == "SEQUENCE":
        return existing_sequence(path, named)[0].hashes
    if not os.path.isfile(path):
        raise SourceError(f"{named}: file not found: {path}")
    numbered = numbered_file(path)
    return numbered[0].hashes if numbered else path


def request_fields(scene, source, first, last):
    """targets, target_points and people for the worker (hostkit RunRequest fields)."""
    from .sources import SourceError

    settings = scene.rvmatte.people
    try:
        kit.check_name(settings.target_name.strip())
        targets = ()
        if settings.target is not None:
            targets = (kit.named(settings.target_name.strip(), target_path(settings.target)),)
        points = ()
        if settings.use_point:
            frame = source.frame_map.source_frame(settings.point_frame)
            if not first <= frame <= last:
                raise SourceError(f"the point's scene frame {settings.point_frame} is not among the frames "
                                  f"being matted (scene frames {source.frame_map.scene_frame(first)}-"
                                  f"{source.frame_map.scene_frame(last)})")
            width, height = _source_size(source)
            if not width or not height:
                raise SourceError(f"cannot tell the size of '{source.name}' to place the point")
            points = (kit.point_argument(settings.point[0], settings.point[1], frame, width, height,
                                         origin="bottom-left", normalized=True,
                                         name=settings.point_name.strip() or None),)
    except kit.PointError as exc:
        raise SourceError(str(exc)) from None
    if settings.people and (targets or points):
        raise SourceError(f"People {settings.people} gives every person a matte; clear the target and the point "
                          f"to use it")
    return {"targets": targets, "target_points": points, "people": settings.people}


def people_path(request, first):
    """The first file of the people EXR the request writes."""
    return kit.people_pattern(request.input_path, request.alpha_pattern).replace("####", f"{first:04d}")


def wire_people(scene, source, request, first, last):
    """With several people: an Image node of the people EXR and Blender's Cryptomatte node on it (source
    Image, layer CryptoPerson, the first person as matte id; an id the artist typed is kept). The people
    EXR is the one beside the request's alpha pattern (a version folder's, once versioned). Returns the
    Cryptomatte node, or None for one person; a node already there for the source is moved onto this
    run's people EXR even for one person, so it never shows another version than the passes."""
    names = kit.person_names(request.targets, request.target_points, request.people)
    path = people_path(request, first)
    tree = compositor.compositor_tree(scene)
    existing = compositor._tagged(tree, "cryptomatte", source.key) if tree is not None else None
    if not os.path.isfile(path) or (len(names) < 2 and existing is None):
        return None
    tree = compositor.compositor_tree(scene, create=True)
    plate = compositor.source_node(tree, source)
    x, y = plate.location
    crypto = compositor._node(tree, "CompositorNodeCryptomatteV2", "cryptomatte", source.key,
                              f"{source.name} people", (x + 350, y - 620))
    crypto.source = "IMAGE"
    crypto.image = compositor.pass_image(path, f"{source.name}.people", colorspace="Non-Color",
                                         previous=crypto.image)
    for key, value in (("frame_start", source.frame_map.scene_frame(first)), ("frame_offset", first - 1),
                       ("frame_duration", last - first + 1)):
        if hasattr(crypto, key):
            setattr(crypto, key, value)
    crypto.layer_name = kit.CRYPTO_LAYER
    picked = [n.strip() for n in crypto.matte_id.split(",") if n.strip()]
    if not picked or any(n not in names for n in picked):
        crypto.matte_id = names[0]
    return crypto


def draw(layout, context):
    """The People part of the Generate Matte panel."""
    settings = context.scene.rvmatte.people
    col = layout.column(heading="People")
    col.template_ID(settings, "target", open="image.open", text="Target")
    if settings.target is not None:
        col.prop(settings, "target_name", text="Name")
    col.prop(settings, "use_point")
    if settings.use_point:
        sub = col.column(align=True)
        sub.prop(settings, "point")
        sub.prop(settings, "point_frame", text="Frame")
        sub.prop(settings, "point_name", text="Name")
    if getattr(context.space_data, "type", "") == "CLIP_EDITOR":
        col.operator("rvmatte.point_from_cursor", icon="PIVOT_CURSOR")
    col.prop(settings, "people")
