"""Compositor wiring of the passes (blender_addon/compositor.py), on passes written here with bpy.

The matte in these passes is synthetic and exact: alpha 1 left of an edge
column, 0.5 on it, 0 right of it, and the edge column moves with the frame
number, so a render shows both the matte and which frame was read.
"""

import bpy
import numpy as np
import pytest

from conftest import save_blend, write_image, write_sequence

W, H = 40, 8
COLOUR = np.array([0.8, 0.3, 0.1])
BLUE = (0.0, 0.0, 1.0, 1.0)


def edge_column(frame):
    return 4 + frame % 30


def write_passes(folder, frames, stem="plate"):
    """alpha (RGBA, matte in A) and premultiplied foreground sequences `stem.alpha/fgr.####.exr` for `frames`."""
    for frame in frames:
        alpha = np.zeros(W, np.float32)
        alpha[:edge_column(frame)] = 1.0
        alpha[edge_column(frame)] = 0.5
        a = np.broadcast_to(alpha, (H, W))
        matte = np.zeros((H, W, 4), np.float32)
        matte[..., 3] = a
        write_image(folder / f"{stem}.alpha.{frame:04d}.exr", matte)
        fgr = np.empty((H, W, 4), np.float32)
        fgr[..., :3] = COLOUR * a[..., None]
        fgr[..., 3] = a
        write_image(folder / f"{stem}.fgr.{frame:04d}.exr", fgr)
    return folder / f"{stem}.alpha.{frames[0]:04d}.exr", folder / f"{stem}.fgr.{frames[0]:04d}.exr"


@pytest.fixture
def shot(addon, tmp_path):
    """A saved file, a plate sequence 1001-1004 shown by an Image node at scene frames 21-24, and its passes."""
    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "plate", range(1001, 1005), width=W, height=H)
    scene = bpy.context.scene
    tree = addon.compositor.compositor_tree(scene, create=True)
    node = tree.nodes.new("CompositorNodeImage")
    node.image = bpy.data.images.load(str(first))
    node.image.source = "SEQUENCE"
    node.frame_start, node.frame_offset, node.frame_duration = 21, 1000, 4
    source = addon.sources.from_node(scene, node.name)
    alpha, fgr = write_passes(tmp_path / "rvmatte", range(1001, 1005))
    return source, str(alpha), str(fgr)


def wire(addon, shot):
    source, alpha, fgr = shot
    return addon.compositor.wire_matte(bpy.context.scene, source, alpha, fgr, 1001, 1004)


def test_compositor_tree_is_the_version_specific_data(addon):
    scene = bpy.context.scene
    tree = addon.compositor.compositor_tree(scene, create=True)
    if bpy.app.version >= (5, 0, 0):
        assert scene.compositing_node_group == tree
    else:
        assert scene.node_tree == tree and scene.use_nodes
    assert addon.compositor.compositor_tree(scene) == tree


def test_output_is_a_group_output_on_5x_and_a_composite_node_before(addon):
    tree = addon.compositor.compositor_tree(bpy.context.scene, create=True)
    socket = addon.compositor.compositor_output(tree)
    expected = "NodeGroupOutput" if bpy.app.version >= (5, 0, 0) else "CompositorNodeComposite"
    assert socket.node.bl_idname == expected
    assert addon.compositor.compositor_output(tree) == socket


def test_alpha_pass_is_a_non_color_sequence_read_through_its_alpha_socket(addon, shot):
    nodes = wire(addon, shot)
    image = nodes["alpha"].image
    assert image.source == "SEQUENCE"
    assert image.colorspace_settings.name == "Non-Color"
    assert bpy.path.abspath(image.filepath) == shot[1]
    link = next(l for l in nodes["group"].inputs["Alpha"].links)
    assert (link.from_node, link.from_socket.name) == (nodes["alpha"], "Alpha")


def test_foreground_pass_is_marked_premultiplied(addon, shot):
    nodes = wire(addon, shot)
    assert nodes["foreground"].image.alpha_mode == "PREMUL"
    assert nodes["group"].inputs["Foreground"].links[0].from_node == nodes["foreground"]


def test_pass_nodes_use_the_sources_frame_mapping(addon, shot):
    nodes = wire(addon, shot)
    for role in ("alpha", "foreground"):
        node = nodes[role]
        assert (node.frame_start, node.frame_offset, node.frame_duration) == (21, 1000, 4), role


def test_group_takes_the_plate_and_feeds_the_output(addon, shot):
    nodes = wire(addon, shot)
    group = nodes["group"]
    assert group.node_tree.name == "RVMatte"
    assert group.inputs["Plate"].links[0].from_node == nodes["source"]
    output = addon.compositor.compositor_output(addon.compositor.compositor_tree(bpy.context.scene))
    assert output.links[0].from_node == group and output.links[0].from_socket.name == "Composite"
    assert [s.name for s in group.outputs][:3] == ["Foreground", "Alpha", "Composite"]
    assert [s.name for s in group.inputs][:2] == ["Plate", "Background"]


def test_rerun_updates_the_nodes_instead_of_adding_more(addon, shot):
    tree = addon.compositor.compositor_tree(bpy.context.scene, create=True)
    first = wire(addon, shot)
    counts = (len(tree.nodes), len(tree.links), len(bpy.data.images), len(bpy.data.node_groups))
    second = wire(addon, shot)
    assert (len(tree.nodes), len(tree.links), len(bpy.data.images), len(bpy.data.node_groups)) == counts
    assert all(first[role] == second[role] for role in first)


def test_an_output_the_artist_connected_is_left_alone(addon, shot):
    tree = addon.compositor.compositor_tree(bpy.context.scene, create=True)
    rgb = tree.nodes.new("CompositorNodeRGB")
    output = addon.compositor.compositor_output(tree)
    tree.links.new(rgb.outputs[0], output)
    wire(addon, shot)
    assert output.links[0].from_node == rgb


def render(scene, frame, path):
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.filepath = str(path)
    scene.frame_set(frame)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(path))
    pixels = np.array(image.pixels[:], np.float32).reshape(H, W, 4)
    bpy.data.images.remove(image)
    return pixels


def test_rendered_frame_composites_the_matted_foreground_over_the_background(addon, shot, tmp_path):
    nodes = wire(addon, shot)
    tree = addon.compositor.compositor_tree(bpy.context.scene)
    background = tree.nodes.new("CompositorNodeRGB")
    background.outputs[0].default_value = BLUE
    tree.links.new(background.outputs[0], nodes["group"].inputs["Background"])
    # scene frame 23 shows source frame 1003
    row = render(bpy.context.scene, 23, tmp_path / "frame23.exr")[H // 2]
    edge = edge_column(1003)
    np.testing.assert_allclose(row[edge - 2, :3], COLOUR, atol=2e-3)
    np.testing.assert_allclose(row[edge, :3], COLOUR * 0.5 + np.array(BLUE[:3]) * 0.5, atol=2e-3)
    np.testing.assert_allclose(row[edge + 2, :3], BLUE[:3], atol=2e-3)


def test_each_scene_frame_renders_its_own_pass_frame(addon, shot, tmp_path):
    wire(addon, shot)
    for scene_frame in (21, 24):
        row = render(bpy.context.scene, scene_frame, tmp_path / f"f{scene_frame}.exr")[H // 2]
        edge = edge_column(scene_frame - 21 + 1001)
        assert row[edge - 1, 3] == pytest.approx(1.0, abs=2e-3)
        assert row[edge, 3] == pytest.approx(0.5, abs=2e-3)
        assert row[edge + 1, 3] == pytest.approx(0.0, abs=2e-3)


def test_an_old_scenes_passes_keep_loading_and_a_rerun_moves_the_same_images_to_the_new_names(addon, shot, tmp_path):
    """Scenes made before the passes were named like the shot have `<data-block name>.alpha.####.exr`: their
    nodes still read those files after reopening; the next Generate points the same nodes and images at the
    new names (the old files stay on disk)."""
    source, _, _ = shot
    old_alpha, old_fgr = write_passes(tmp_path / "rvmatte", range(1001, 1005), stem="Image")
    addon.compositor.wire_matte(bpy.context.scene, source, str(old_alpha), str(old_fgr), 1001, 1004)
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    scene = bpy.context.scene
    row = render(scene, 23, tmp_path / "old.exr")[H // 2]
    assert row[edge_column(1003), 3] == pytest.approx(0.5, abs=2e-3)
    tree = addon.compositor.compositor_tree(scene)
    old = {role: addon.compositor._tagged(tree, role, source.key) for role in ("alpha", "foreground")}
    assert bpy.path.abspath(old["alpha"].image.filepath) == str(old_alpha)
    images = len(bpy.data.images)

    source = addon.sources.from_node(scene, source.name)
    nodes = addon.compositor.wire_matte(scene, source, shot[1], shot[2], 1001, 1004)
    assert len(bpy.data.images) == images
    for role in ("alpha", "foreground"):
        assert nodes[role] == old[role]
    assert bpy.path.abspath(nodes["alpha"].image.filepath) == shot[1]
    assert bpy.path.abspath(nodes["foreground"].image.filepath) == shot[2]
    assert old_alpha.is_file()
