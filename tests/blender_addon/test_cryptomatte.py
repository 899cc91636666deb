"""Blender's own Cryptomatte node picks a person by name from the people EXR that rvmatte writes.

The EXR is written by the core (its interpreter, as the worker would), then read
by real bpy's compositor: Cryptomatte node, source Image, the person's name as
the matte id; the rendered Matte must be that person's matte.
"""
import subprocess
import textwrap

import bpy
import numpy as np
import pytest

from conftest import CORE_PYTHON, ROOT

W, H = 64, 32

WRITE = textwrap.dedent("""
    import sys
    import numpy as np
    from rvmatte.people.cryptomatte import write_people_frame
    ys, xs = np.mgrid[0:{h}, 0:{w}].astype(np.float32)
    left = np.clip(1.0 - xs / 30.0, 0, 1) * (xs < 30)            # person1: a ramp on the left
    right = ((xs - 46) ** 2 + (ys - 16) ** 2 <= 100).astype(np.float32) * 0.75   # person2: a disk
    write_people_frame(sys.argv[1], [left, right], ["person1", "person2"])
    np.save(sys.argv[2], np.stack([left, right]))
""").format(w=W, h=H)


def _core_can_write():
    if not CORE_PYTHON.is_file():
        return f"core interpreter not found: {CORE_PYTHON}"
    probe = subprocess.run([str(CORE_PYTHON), "-c", "import rvmatte.people.cryptomatte"], capture_output=True,
                           text=True, env={"PYTHONPATH": str(ROOT / "core"), "PATH": "/usr/bin:/bin"})
    return None if probe.returncode == 0 else f"rvmatte.people is not importable by {CORE_PYTHON}"


@pytest.fixture
def people_exr(tmp_path):
    reason = _core_can_write()
    if reason:
        pytest.skip(reason)
    path, truth = tmp_path / "shot.people.0001.exr", tmp_path / "truth.npy"
    done = subprocess.run([str(CORE_PYTHON), "-c", WRITE, str(path), str(truth)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "core"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return path, np.load(truth)


def _tree(scene):
    if hasattr(scene, "compositing_node_group"):                    # Blender 5.x: a node group
        tree = bpy.data.node_groups.new("Crypto test", "CompositorNodeTree")
        scene.compositing_node_group = tree
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        return tree, tree.nodes.new("NodeGroupOutput").inputs[0]
    scene.use_nodes = True                                          # 4.x: the scene's tree, a Composite node
    tree = scene.node_tree
    tree.nodes.clear()
    return tree, tree.nodes.new("CompositorNodeComposite").inputs["Image"]


def _render_matte(exr, name, out):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.filepath = str(out)
    tree, output = _tree(scene)
    node = tree.nodes.new("CompositorNodeCryptomatteV2")
    node.source = "IMAGE"
    node.image = bpy.data.images.load(str(exr))
    assert node.layer_name == "CryptoPerson"
    node.matte_id = name
    tree.links.new(node.outputs["Matte"], output)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(out))
    pixels = np.array(image.pixels[:], np.float32).reshape(H, W, 4)[::-1]       # Blender's rows run bottom-up
    bpy.data.images.remove(image)
    return pixels[:, :, 0]


def test_the_cryptomatte_layer_is_listed_by_its_manifest(people_exr):
    exr, _ = people_exr
    bpy.ops.wm.read_homefile(use_empty=True)
    tree, _ = _tree(bpy.context.scene)
    node = tree.nodes.new("CompositorNodeCryptomatteV2")
    node.source = "IMAGE"
    node.image = bpy.data.images.load(str(exr))
    assert node.layer_name == "CryptoPerson"


@pytest.mark.parametrize("index, name", [(0, "person1"), (1, "person2")])
def test_blenders_cryptomatte_node_picks_a_person_by_name(people_exr, tmp_path, index, name):
    exr, truth = people_exr
    matte = _render_matte(exr, name, tmp_path / f"{name}.exr")
    np.testing.assert_allclose(matte, truth[index], atol=1e-5)
