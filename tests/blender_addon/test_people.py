"""Who is matted, from the panel (people.py): the target mask, a point from the Clip Editor, People N,
and the Cryptomatte node wired on the people EXR, read by real bpy's compositor."""

import subprocess
import textwrap

import bpy
import numpy as np
import pytest

from conftest import CORE_PYTHON, MECHANIC, ROOT, finish, needs_core, save_blend, write_sequence


@pytest.fixture
def core_worker(prefs):
    from conftest import WEIGHTS
    prefs.worker, prefs.weights, prefs.device = str(CORE_PYTHON), str(WEIGHTS), "cpu"
    return prefs


@pytest.fixture
def worker(prefs):
    prefs.worker = str(CORE_PYTHON) if CORE_PYTHON.is_file() else "/usr/bin/python3"
    return prefs.worker


def option(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def options(argv, flag):
    return [b for a, b in zip(argv, argv[1:]) if a == flag]


def plan(addon):
    return addon.operators.plan_matte(bpy.context.scene)


def sequence_source(tmp_path, frames=range(1001, 1011), start=1):
    """A Movie Clip of `plate.####.exr` (32x18), shown from scene frame `start`."""
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(write_sequence(tmp_path / "plates", "plate", frames)))
    clip.frame_start = start
    bpy.context.scene.rvmatte.clip = clip
    return clip


def image(path, sequence=False):
    loaded = bpy.data.images.load(str(path))
    if sequence:
        loaded.source = "SEQUENCE"
    return loaded


def test_a_target_sequence_on_a_few_frames_is_passed_with_its_name(addon, worker, tmp_path):
    sequence_source(tmp_path)
    people = bpy.context.scene.rvmatte.people
    people.target = image(write_sequence(tmp_path / "roto", "hero", [1003, 1008]), sequence=True)
    people.target_name = "hero"
    argv = plan(addon).argv
    assert options(argv, "--target") == ["hero=" + str(tmp_path / "roto" / "hero.####.exr")]
    assert "--target-point" not in argv and "--people" not in argv


def test_a_numbered_still_target_is_the_one_frame_of_its_sequence(addon, worker, tmp_path):
    sequence_source(tmp_path)
    bpy.context.scene.rvmatte.people.target = image(write_sequence(tmp_path / "roto", "hero", [1004]))
    assert options(plan(addon).argv, "--target") == [str(tmp_path / "roto" / "hero.####.exr")]


def test_the_masks_go_to_the_worker_together(addon, worker, tmp_path):
    sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.garbage = image(write_sequence(tmp_path / "roto", "box", range(1001, 1011)), sequence=True)
    settings.holdout = image(write_sequence(tmp_path / "roto", "held", range(1001, 1011)), sequence=True)
    settings.people.target = image(write_sequence(tmp_path / "roto", "hero", [1001]), sequence=True)
    argv = plan(addon).argv
    assert [option(argv, f) for f in ("--garbage", "--holdout", "--target")] == \
        [str(tmp_path / "roto" / f"{n}.####.exr") for n in ("box", "held", "hero")]


def test_the_point_is_the_source_pixel_on_the_source_frame(addon, worker, tmp_path):
    sequence_source(tmp_path, start=10)          # scene frame 12 shows file 1003
    people = bpy.context.scene.rvmatte.people
    addon.people.set_point(bpy.context.scene, (0.25, 0.0), 12)
    people.point_name = "extra"
    assert people.use_point
    assert options(plan(addon).argv, "--target-point") == ["extra=8,17@1003"]   # 32x18, y from the top


def test_a_point_off_the_matted_frames_is_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    addon.people.set_point(bpy.context.scene, (0.5, 0.5), 40)
    with pytest.raises(addon.sources.SourceError, match="point's scene frame 40 is not among the frames"):
        plan(addon)


def test_a_point_outside_the_frame_is_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    addon.people.set_point(bpy.context.scene, (1.2, 0.5), 1)
    with pytest.raises(addon.sources.SourceError, match="outside the 32x18 frame"):
        plan(addon)


def test_people_count_goes_to_the_worker(addon, worker, tmp_path):
    sequence_source(tmp_path)
    bpy.context.scene.rvmatte.people.people = 3
    assert option(plan(addon).argv, "--people") == "3"


def test_a_people_run_is_versioned_with_the_plates_id_like_any_other(addon, worker, prefs, tmp_path):
    """`rvmatte run --versions` chooses a people run's version by the people key: the add-on sends it
    `-o`, `--versions`, Keep Versions and the plate's `--input-id` as for a plain run."""
    sequence_source(tmp_path)
    prefs.keep_versions = 2
    plain = plan(addon)
    bpy.context.scene.rvmatte.people.people = 2
    made = plan(addon)
    argv = made.argv
    assert "--people" in argv and "--versions" in argv and option(argv, "-o") == made.folder
    assert option(argv, "--keep-versions") == "2"
    assert option(argv, "--input-id") == option(plain.argv, "--input-id") is not None


def test_people_count_with_a_target_is_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    people = bpy.context.scene.rvmatte.people
    people.people = 2
    people.target = image(write_sequence(tmp_path / "roto", "hero", [1001]), sequence=True)
    with pytest.raises(addon.sources.SourceError, match="clear the target and the point"):
        plan(addon)


def test_resume_with_people_is_refused_before_the_worker_starts(addon, worker, tmp_path):
    """`rvmatte run --resume` takes no target, point or People; the add-on says so instead of the worker."""
    sequence_source(tmp_path)
    bpy.context.scene.rvmatte.people.people = 2
    with pytest.raises(addon.sources.SourceError, match="Resume is not available with a target, a point or People"):
        addon.operators.plan_matte(bpy.context.scene, resume=True)
    assert "--resume" not in plan(addon).argv


def test_a_bad_person_name_is_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    people = bpy.context.scene.rvmatte.people
    people.target = image(write_sequence(tmp_path / "roto", "hero", [1001]), sequence=True)
    people.target_name = "the hero"
    with pytest.raises(addon.sources.SourceError, match="person name 'the hero'"):
        plan(addon)


def test_the_cursor_operator_needs_the_clip_editor(addon):
    assert not bpy.ops.rvmatte.point_from_cursor.poll()


WRITE = textwrap.dedent("""
    import sys
    import numpy as np
    from rvmatte.people.cryptomatte import write_people_frame
    ys, xs = np.mgrid[0:18, 0:32].astype(np.float32)
    for frame in (1001, 1002):
        left = np.clip(1.0 - xs / 14.0, 0, 1) * (xs < 14) * (frame - 1000) / 2
        right = ((xs - 24) ** 2 + (ys - 9) ** 2 <= 25).astype(np.float32) * 0.75
        write_people_frame(sys.argv[1] % frame, [left, right], ["person1", "person2"])
        np.save(sys.argv[2] % frame, np.stack([left, right]))
""")


def _people_exrs(folder):
    """The people EXR of frames 1001-1002 of shot `plate` in `folder`, written by the core."""
    env = {"PYTHONPATH": str(ROOT / "core"), "PATH": "/usr/bin:/bin"}
    if not CORE_PYTHON.is_file() or subprocess.run([str(CORE_PYTHON), "-c", "import rvmatte.people.cryptomatte"],
                                                   env=env).returncode:
        pytest.skip(f"rvmatte.people is not importable by {CORE_PYTHON}")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(CORE_PYTHON), "-c", WRITE, str(folder / "plate.people.%04d.exr"),
                           str(folder / "truth.%04d.npy")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return {f: np.load(folder / f"truth.{f:04d}.npy") for f in (1001, 1002)}


def _render(scene, socket, out):
    tree = addon_tree(scene)
    tree.links.new(socket, output_socket(tree))
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 32, 18, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.filepath = str(out)
    bpy.ops.render.render(write_still=True)
    result = bpy.data.images.load(str(out))
    pixels = np.array(result.pixels[:], np.float32).reshape(18, 32, 4)[::-1]
    bpy.data.images.remove(result)
    return pixels[:, :, 0]


def addon_tree(scene):
    import sys
    return sys.modules["bl_ext.user_default.rvmatte"].compositor.compositor_tree(scene)


def output_socket(tree):
    import sys
    return sys.modules["bl_ext.user_default.rvmatte"].compositor.compositor_output(tree)


@pytest.fixture
def people_plan(addon, worker, tmp_path):
    sequence_source(tmp_path, frames=[1001, 1002])
    bpy.context.scene.rvmatte.people.people = 2
    made = plan(addon)
    truth = _people_exrs(tmp_path / "rvmatte" / bpy.path.clean_name(made.source.name))
    return made, truth


def test_several_people_wire_a_cryptomatte_node_on_the_people_exr(addon, people_plan):
    made, _ = people_plan
    node = addon.people.wire_people(bpy.context.scene, made.source, made.request, 1001, 1002)
    assert node.bl_idname == "CompositorNodeCryptomatteV2" and node.source == "IMAGE"
    assert (node.layer_name, node.matte_id) == ("CryptoPerson", "person1")
    assert bpy.path.abspath(node.image.filepath).endswith("plate.people.1001.exr")


def test_the_wired_cryptomatte_node_gives_the_picked_persons_matte_on_each_frame(addon, people_plan, tmp_path):
    made, truth = people_plan
    scene = bpy.context.scene
    node = addon.people.wire_people(scene, made.source, made.request, 1001, 1002)
    node.matte_id = "person2"
    assert addon.people.wire_people(scene, made.source, made.request, 1001, 1002) == node   # kept, not duplicated
    assert node.matte_id == "person2"
    scene.frame_set(2)
    np.testing.assert_allclose(_render(scene, node.outputs["Matte"], tmp_path / "p2.exr"), truth[1002][1], atol=1e-5)
    node.matte_id = "person1"
    np.testing.assert_allclose(_render(scene, node.outputs["Matte"], tmp_path / "p1.exr"), truth[1002][0], atol=1e-5)


def test_one_person_wires_no_cryptomatte_node(addon, worker, tmp_path):
    sequence_source(tmp_path, frames=[1001, 1002])
    addon.people.set_point(bpy.context.scene, (0.5, 0.5), 1)
    made = plan(addon)
    _people_exrs(tmp_path / "rvmatte" / bpy.path.clean_name(made.source.name))
    assert addon.people.wire_people(bpy.context.scene, made.source, made.request, 1001, 1002) is None


def _panel_labels(addon):
    import importlib.util
    spec = importlib.util.spec_from_file_location("docs_images", ROOT / "blender_addon" / "tools" / "docs_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = []
    addon.panels.draw_settings(module.RecordingLayout(rows), bpy.context)
    return [row["label"] for row in rows]


def test_the_panel_shows_target_point_and_people_after_the_mattes(addon):
    names = _panel_labels(addon)
    assert names[names.index("Garbage") + 1: names.index("Garbage") + 4] == ["Target", "Pick by Point", "People"]
    addon.people.set_point(bpy.context.scene, (0.5, 0.5), 1)
    names = _panel_labels(addon)
    assert names[names.index("Pick by Point") + 1: names.index("Pick by Point") + 4] == ["Point", "Frame", "Name"]


@needs_core
def test_generate_with_people_wires_cryptomatte_on_the_workers_people_exr(addon, core_worker, tmp_path):
    """The real worker on 3 frames of the one-person clip with People 2: person1 is the mechanic, and the
    Cryptomatte node, picking person1 from the people EXR, gives the alpha pass where it is solid."""
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    clip.frame_start = 11
    settings = bpy.context.scene.rvmatte
    settings.clip = clip
    settings.frame_range = "CUSTOM"
    settings.frame_start, settings.frame_end = 12, 14
    settings.auto_ratio, settings.downsample_ratio = False, 0.25
    settings.people.people = 2
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.DONE, job.error
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name) / "v001"
    assert sorted(p.name for p in folder.glob("*.people.*.exr")) == [
        f"nuke_person_short.people.{f:04d}.exr" for f in (12, 13, 14)]   # the clip's frames from its start, 11
    crypto = job.nodes["cryptomatte"]
    assert (crypto.layer_name, crypto.matte_id) == ("CryptoPerson", "person1")
    scene = bpy.context.scene
    width, height = clip.size
    scene.frame_set(13)                                  # movie frame 3, numbered 13
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = width, height, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    tree = addon.compositor.compositor_tree(scene)
    tree.links.new(crypto.outputs["Matte"], addon.compositor.compositor_output(tree))
    scene.render.filepath = str(tmp_path / "person1.exr")
    bpy.ops.render.render(write_still=True)
    rendered = bpy.data.images.load(str(tmp_path / "person1.exr"))
    matte = np.array(rendered.pixels[:], np.float32).reshape(height, width, 4)[:, :, 0]
    (alpha_file,) = folder.glob("*.alpha.0013.exr")
    alpha_image = bpy.data.images.load(str(alpha_file))
    alpha = np.array(alpha_image.pixels[:], np.float32).reshape(height, width, 4)[:, :, 3]   # an A-only EXR
    solid = alpha > 0.9
    assert solid.mean() > 0.02
    np.testing.assert_allclose(matte[solid], alpha[solid], atol=2.5e-4)    # the alpha pass is half float
    assert matte.sum() > 0.95 * alpha.sum()
