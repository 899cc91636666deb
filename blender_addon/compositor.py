"""Compositor wiring: the pass Image nodes, the RVMatte node group, their links.

Blender 5.x keeps the scene's compositor in a node-group data-block
(`scene.compositing_node_group`) that ends in a Group Output; 4.2–4.5 keep it in
`scene.node_tree` and end in a Composite node. `compositor_tree` and
`compositor_output` are the only places that know.
"""

import os

import bpy

from .rvmatte_hostkit.sequences import numbered_file
from .rvmatte_hostkit.sparse import SparseSequence

GROUP_NAME = "RVMatte"
TAG = "rvmatte_role"
SOURCE_TAG = "rvmatte_source"


def compositor_tree(scene, create=False):
    """The scene's compositor node tree (None if it has none and `create` is false)."""
    if hasattr(scene, "compositing_node_group"):
        tree = scene.compositing_node_group
        if tree is None and create:
            tree = bpy.data.node_groups.new(f"{scene.name} Compositing", "CompositorNodeTree")
            scene.compositing_node_group = tree
        return tree
    if scene.node_tree is None and create:
        scene.use_nodes = True
        scene.node_tree.nodes.clear()  # same start as 5.x: an empty tree
    elif create:
        scene.use_nodes = True
    return scene.node_tree


def compositor_output(tree):
    """The input socket whose image is the render result; the output node is created if missing."""
    if tree.bl_idname == "CompositorNodeTree" and not hasattr(bpy.types, "CompositorNodeComposite"):
        if not any(item.in_out == "OUTPUT" for item in tree.interface.items_tree if item.item_type == "SOCKET"):
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        node = next((n for n in tree.nodes if n.bl_idname == "NodeGroupOutput" and n.is_active_output), None)
        node = node or next((n for n in tree.nodes if n.bl_idname == "NodeGroupOutput"), None)
        if node is None:
            node = tree.nodes.new("NodeGroupOutput")
            node.location = (600, 0)
        return node.inputs[0]
    node = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeComposite"), None)
    if node is None:
        node = tree.nodes.new("CompositorNodeComposite")
        node.location = (600, 0)
    return node.inputs["Image"]


def _alpha_over_inputs(node):
    """(background, foreground) sockets of an Alpha Over node (named in 5.x, positional before)."""
    if "Background" in node.inputs:
        return node.inputs["Background"], node.inputs["Foreground"]
    return node.inputs[1], node.inputs[2]


def matte_group():
    """The shared "RVMatte" group: plate, background and the passes in; foreground, alpha, composite out."""
    group = bpy.data.node_groups.get(GROUP_NAME)
    if group is not None and group.bl_idname == "CompositorNodeTree":
        return group
    group = bpy.data.node_groups.new(GROUP_NAME, "CompositorNodeTree")
    group.description = "Applies an RVMatte matte: premultiplied foreground, alpha, and the foreground over a background"
    iface = group.interface
    iface.new_socket("Plate", in_out="INPUT", socket_type="NodeSocketColor")
    background = iface.new_socket("Background", in_out="INPUT", socket_type="NodeSocketColor")
    background.default_value = (0.0, 0.0, 0.0, 0.0)
    iface.new_socket("Alpha", in_out="INPUT", socket_type="NodeSocketFloat")
    iface.new_socket("Foreground", in_out="INPUT", socket_type="NodeSocketColor")
    iface.new_socket("Foreground", in_out="OUTPUT", socket_type="NodeSocketColor")
    iface.new_socket("Alpha", in_out="OUTPUT", socket_type="NodeSocketFloat")
    iface.new_socket("Composite", in_out="OUTPUT", socket_type="NodeSocketColor")
    iface.new_socket("Plate Premultiplied", in_out="OUTPUT", socket_type="NodeSocketColor")

    nodes, links = group.nodes, group.links
    inputs = nodes.new("NodeGroupInput")
    inputs.location = (-400, 0)
    outputs = nodes.new("NodeGroupOutput")
    outputs.location = (300, 0)
    over = nodes.new("CompositorNodeAlphaOver")
    over.location = (0, 100)
    over_bg, over_fg = _alpha_over_inputs(over)
    premultiply = nodes.new("CompositorNodeSetAlpha")  # default mode: Apply Mask, i.e. premultiply
    premultiply.location = (0, -150)

    links.new(inputs.outputs["Foreground"], outputs.inputs["Foreground"])
    links.new(inputs.outputs["Alpha"], outputs.inputs["Alpha"])
    links.new(inputs.outputs["Background"], over_bg)
    links.new(inputs.outputs["Foreground"], over_fg)
    links.new(over.outputs[0], outputs.inputs["Composite"])
    links.new(inputs.outputs["Plate"], premultiply.inputs["Image"])
    links.new(inputs.outputs["Alpha"], premultiply.inputs["Alpha"])
    links.new(premultiply.outputs[0], outputs.inputs["Plate Premultiplied"])
    return group


def _tagged(tree, role, source_key):
    for node in tree.nodes:
        if node.get(TAG) == role and node.get(SOURCE_TAG) == source_key:
            return node
    return None


def _node(tree, bl_idname, role, source_key, label, location):
    node = _tagged(tree, role, source_key)
    if node is None or node.bl_idname != bl_idname:
        node = tree.nodes.new(bl_idname)
        node[TAG] = role
        node[SOURCE_TAG] = source_key
        node.location = location
    node.label = label
    return node


def _stored_path(path):
    """Relative to the .blend when it is saved and the preferences ask for relative paths."""
    if bpy.data.filepath and bpy.context.preferences.filepaths.use_relative_paths:
        try:
            return bpy.path.relpath(path)
        except ValueError:  # another drive on Windows
            return path
    return path


def _sequence_key(path):
    found = numbered_file(os.path.normpath(path))
    return found[0].hashes if found else None


def pass_image(path, name, *, colorspace=None, alpha_mode="STRAIGHT", previous=None):
    """An Image sequence data-block on the pass file `path`, reused and reloaded on a re-run.

    `previous` is the image the node showed before: when no image reads `path` yet (the passes got
    new names, as those of scenes made before the passes were named like the shot), it is moved onto
    `path`, so the node and anything else using that image follow the new passes."""
    key = _sequence_key(path)
    image = next((im for im in bpy.data.images if im.source == "SEQUENCE"
                  and _sequence_key(bpy.path.abspath(im.filepath, library=im.library)) == key), None)
    if image is None and previous is not None and previous.source == "SEQUENCE" and previous.library is None:
        image = previous
    if image is None:
        image = bpy.data.images.load(path, check_existing=False)
        image.name = name
    image.filepath = _stored_path(path)
    image.source = "SEQUENCE"
    if colorspace:
        image.colorspace_settings.name = colorspace
    image.alpha_mode = alpha_mode
    image.reload()
    return image


def _show_frames(node, frame_map, first, last):
    node.frame_start = frame_map.scene_frame(first)
    node.frame_offset = first - 1
    node.frame_duration = last - first + 1


def source_node(tree, source):
    """The node that shows the source: the chosen Image node, or one found/created for the data-block."""
    if source.kind == "NODE":
        return tree.nodes[source.name]
    if source.kind == "CLIP":
        clip = bpy.data.movieclips[source.name]
        node = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeMovieClip" and n.clip == clip), None)
        if node is None:
            node = _node(tree, "CompositorNodeMovieClip", "source", source.key, "", (-600, 0))
            node.clip = clip
        return node
    image = bpy.data.images[source.name]
    node = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeImage" and n.image == image), None)
    if node is None:
        node = _node(tree, "CompositorNodeImage", "source", source.key, "", (-600, 0))
        node.image = image
        _show_frames(node, source.frame_map, source.first, source.last)
    return node


def wire_matte(scene, source, alpha_path, foreground_path, first, last, *, foreground_colorspace=None):
    """Add (or update) the pass nodes and the RVMatte group for `source`; returns the nodes by role.

    `alpha_path`/`foreground_path` are files of the written sequences; the frames
    shown are those on disk (`first`..`last` when the folder cannot be read).
    """
    tree = compositor_tree(scene, create=True)
    plate = source_node(tree, source)
    x, y = plate.location
    alpha_seq = numbered_file(alpha_path)[0]
    fgr_seq = numbered_file(foreground_path)[0]
    on_disk = SparseSequence.scan(alpha_seq)
    if on_disk:
        first, last = on_disk.first, on_disk.last
    label = source.name

    alpha_node = _node(tree, "CompositorNodeImage", "alpha", source.key, f"{label} alpha", (x, y - 320))
    alpha_node.image = pass_image(alpha_seq.path(first), f"{label}.alpha", colorspace="Non-Color",
                                  previous=alpha_node.image)
    _show_frames(alpha_node, source.frame_map, first, last)

    fgr_node = _node(tree, "CompositorNodeImage", "foreground", source.key, f"{label} foreground", (x, y - 620))
    fgr_node.image = pass_image(fgr_seq.path(first), f"{label}.fgr", colorspace=foreground_colorspace,
                                alpha_mode="PREMUL", previous=fgr_node.image)
    _show_frames(fgr_node, source.frame_map, first, last)

    group_node = _node(tree, "CompositorNodeGroup", "group", source.key, f"RVMatte {label}", (x + 350, y - 150))
    group_node.node_tree = matte_group()
    group_node.width = 200

    links = tree.links
    links.new(plate.outputs["Image"], group_node.inputs["Plate"])
    links.new(alpha_node.outputs["Alpha"], group_node.inputs["Alpha"])
    links.new(fgr_node.outputs["Image"], group_node.inputs["Foreground"])
    output = compositor_output(tree)
    if not output.is_linked:
        links.new(group_node.outputs["Composite"], output)
    return {"source": plate, "alpha": alpha_node, "foreground": fgr_node, "group": group_node}
