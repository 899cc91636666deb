"""The add-on driving the real worker (`.venv/bin/python -m rvmatte`) on real footage.

The add-on is the one installed from the built zip into a clean bpy (conftest).
`finish()` calls the add-on's timer callback until the job ends, because
timers and modal operators do not tick in bpy's module mode.
"""

import os
import subprocess
import time

import bpy
import numpy as np
import pytest

from conftest import CORE_PYTHON, JUGGLE, MECHANIC, finish, needs_core, save_blend, write_image
from panel_rows import draw

pytestmark = needs_core
SHOT = "nuke_person_short"   # the passes are named like the movie, without its extension


def exr_pixels(path):
    """Pixels of an EXR as bpy reads it (H, W, 4; row 0 at the bottom)."""
    image = bpy.data.images.load(str(path))
    width, height = image.size
    pixels = np.array(image.pixels[:], np.float32).reshape(height, width, 4)
    bpy.data.images.remove(image)
    return pixels


def mechanic_clip(tmp_path, *, start=11, scene_frames=(12, 16)):
    """The 360x640 clip starting at scene frame `start`; the panel set to matte `scene_frames`."""
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    clip.frame_start = start
    settings = bpy.context.scene.rvmatte
    settings.clip = clip
    settings.frame_range = "CUSTOM"
    settings.frame_start, settings.frame_end = scene_frames
    settings.auto_ratio = False
    settings.downsample_ratio = 0.25
    return clip


@pytest.fixture(scope="module")
def matted(_install, tmp_path_factory):
    """One real run shared by the checks below: scene frames 12-16 of a clip starting at 11 → movie frames 2-6,
    numbered from the clip's start: 12-16."""
    import sys
    from conftest import PACKAGE, WEIGHTS

    tmp_path = tmp_path_factory.mktemp("matted")
    bpy.ops.wm.read_homefile(use_empty=True)
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.worker, prefs.weights, prefs.device = str(CORE_PYTHON), str(WEIGHTS), "cpu"
    clip = mechanic_clip(tmp_path)
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    addon = sys.modules[PACKAGE]
    job = finish(addon.operators.job_of(bpy.context.scene))
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name) / "v001"     # the first version (--versions)
    return addon, job, folder, clip


def test_generate_writes_passes_named_like_the_clip_with_the_shots_frame_numbers(matted):
    addon, job, folder, clip = matted
    assert job.state is addon.jobs.JobState.DONE, job.error
    assert sorted(n for n in os.listdir(folder) if not n.startswith(".")) == sorted(
        [f"{SHOT}.alpha.{n:04d}.exr" for n in range(12, 17)] + [f"{SHOT}.fgr.{n:04d}.exr" for n in range(12, 17)]
        + ["rvmatte-version.json"])


def test_alpha_pass_holds_a_real_matte(matted):
    _, _, folder, clip = matted
    alpha = exr_pixels(folder / f"{SHOT}.alpha.0014.exr")[..., 3]
    assert alpha.shape == (640, 360)
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert (alpha > 0.9).mean() > 0.05 and (alpha < 0.1).mean() > 0.2   # a person, and background


def test_nodes_show_the_passes_at_the_clips_scene_frames(matted):
    addon, job, _, _ = matted
    nodes = job.nodes
    for role in ("alpha", "foreground"):
        node = nodes[role]
        assert node.image.source == "SEQUENCE"
        # movie frames 2..6, files 12..16, are shown at scene frames 12..16
        assert (node.frame_start, node.frame_offset, node.frame_duration) == (12, 11, 5), role
    assert nodes["alpha"].image.colorspace_settings.name == "Non-Color"
    assert nodes["foreground"].image.alpha_mode == "PREMUL"
    assert nodes["source"].bl_idname == "CompositorNodeMovieClip"
    group = nodes["group"]
    assert group.inputs["Plate"].links[0].from_node == nodes["source"]
    assert group.inputs["Alpha"].links[0].from_socket.name == "Alpha"
    output = addon.compositor.compositor_output(addon.compositor.compositor_tree(bpy.context.scene))
    assert output.links[0].from_node == group


def test_rendered_frame_has_the_matte_at_an_edge_pixel(matted, tmp_path):
    addon, job, folder, clip = matted
    scene = bpy.context.scene
    tree = addon.compositor.compositor_tree(scene)
    background = tree.nodes.new("CompositorNodeRGB")
    background.outputs[0].default_value = (0.0, 0.0, 1.0, 1.0)
    tree.links.new(background.outputs[0], job.nodes["group"].inputs["Background"])
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 360, 640, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.filepath = str(tmp_path / "composite.exr")
    scene.frame_set(14)  # movie frame 4, file 14
    bpy.ops.render.render(write_still=True)
    rendered = exr_pixels(tmp_path / "composite.exr")
    alpha = exr_pixels(folder / f"{SHOT}.alpha.0014.exr")[..., 3]
    fgr = exr_pixels(folder / f"{SHOT}.fgr.0014.exr")
    edges = np.argwhere((alpha > 0.35) & (alpha < 0.65))
    assert len(edges) > 0
    y, x = edges[len(edges) // 2]
    expected = fgr[y, x, :3] + (1 - alpha[y, x]) * np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(rendered[y, x, :3], expected, atol=5e-3)
    assert 0.3 < rendered[y, x, 2] - fgr[y, x, 2] < 0.7   # half of the blue background shows through


def test_rerun_updates_the_nodes_instead_of_duplicating_them(matted):
    addon, job, _, _ = matted
    tree = addon.compositor.compositor_tree(bpy.context.scene)
    before = (len(tree.nodes), len(tree.links), len(bpy.data.images), len(bpy.data.node_groups))
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    again = finish(addon.operators.job_of(bpy.context.scene))
    assert again.state is addon.jobs.JobState.DONE, again.error
    assert (len(tree.nodes), len(tree.links), len(bpy.data.images), len(bpy.data.node_groups)) == before
    assert all(again.nodes[role] == job.nodes[role] for role in ("alpha", "foreground", "group", "source"))


def test_garbage_matte_still_zeroes_the_alpha_outside_its_box(matted, addon, core_worker, tmp_path):
    _, _, unmasked_folder, _ = matted
    box = np.zeros((640, 360, 4), np.float32)
    box[220:420, 130:230] = 1.0
    # a number in the name: the add-on hands the worker an unnumbered copy
    garbage = write_image(tmp_path / "roto" / "box_v3.exr", box)
    clip = mechanic_clip(tmp_path, scene_frames=(12, 13))
    bpy.context.scene.rvmatte.garbage = bpy.data.images.load(str(garbage))
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.DONE, job.error
    name = bpy.path.clean_name(clip.name)
    outside = box[..., 3] == 0
    for number in (12, 13):
        alpha = exr_pixels(tmp_path / "rvmatte" / name / "v001" / f"{SHOT}.alpha.{number:04d}.exr")[..., 3]
        unmasked = exr_pixels(unmasked_folder / f"{SHOT}.alpha.{number:04d}.exr")[..., 3]
        assert unmasked[outside].max() > 0.9        # the person reaches outside the box
        assert alpha[outside].max() == 0.0
        np.testing.assert_allclose(alpha[~outside], unmasked[~outside], atol=2e-3)


def test_bad_interpreter_path_is_reported_before_anything_starts(core_worker, tmp_path):
    core_worker.worker = str(tmp_path / "no" / "python3")
    mechanic_clip(tmp_path)
    with pytest.raises(RuntimeError, match=r"worker not found: .*no/python3"):
        bpy.ops.rvmatte.generate()


def test_missing_weights_fail_with_the_workers_own_message(addon, core_worker, tmp_path):
    core_worker.weights = str(tmp_path / "missing.pth")
    mechanic_clip(tmp_path)
    bpy.ops.rvmatte.generate()
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.FAILED
    assert job.error == f"weights file not found: {tmp_path / 'missing.pth'}"
    assert not hasattr(job, "nodes")
    tree = addon.compositor.compositor_tree(bpy.context.scene)
    assert tree is None or not any(n.get("rvmatte_role") for n in tree.nodes)


def test_without_online_access_the_worker_does_not_download(addon, core_worker, tmp_path, monkeypatch):
    assert not bpy.app.online_access  # bpy as a module runs offline
    core_worker.weights = ""
    monkeypatch.delenv("RVMATTE_WEIGHTS", raising=False)
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path / "empty_cache"))
    mechanic_clip(tmp_path)
    bpy.ops.rvmatte.generate()
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.FAILED
    assert job.error.startswith("no mobilenetv3 weights found (offline)")
    assert not (tmp_path / "empty_cache").exists() or not any((tmp_path / "empty_cache").iterdir())


def _wait_for_frames(addon, job, count, timeout=120):
    deadline = time.monotonic() + timeout
    while job.running and job.done < count and time.monotonic() < deadline:
        addon.operators.tick()
        time.sleep(0.05)


def test_cancel_leaves_only_complete_frames(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 40))
    bpy.ops.rvmatte.generate()
    job = addon.operators.job_of(bpy.context.scene)
    _wait_for_frames(addon, job, 1)
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    assert job.state is addon.jobs.JobState.CANCELLED
    assert job.process.poll() is not None
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name) / "v001"
    files = sorted(n for n in os.listdir(folder) if n != "rvmatte-version.json")
    assert all(f.endswith(".exr") and (".alpha." in f or ".fgr." in f) for f in files), files
    assert 1 <= len(files) < 80
    for name in files:
        assert exr_pixels(folder / name).shape == (640, 360, 4)


def test_after_a_cancel_the_frames_on_disk_are_wired_and_resume_does_the_rest(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 24))
    bpy.ops.rvmatte.generate()
    job = next(iter(addon.operators.scene_jobs.values()))
    _wait_for_frames(addon, job, 2)
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    assert job.state is addon.jobs.JobState.CANCELLED
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name) / "v001"
    kept = [n for n in range(1, 25) if (folder / f"{SHOT}.alpha.{n:04d}.exr").is_file()
            and (folder / f"{SHOT}.fgr.{n:04d}.exr").is_file()]
    assert 2 <= len(kept) < 24
    alpha = job.nodes["alpha"]                         # what exists is wired
    assert (alpha.frame_start, alpha.frame_duration) == (kept[0], kept[-1] - kept[0] + 1)
    assert job.message.endswith(f"{len(kept)} of 24 frames of v001 are wired: Resume does the rest")
    resume = next(r for r in draw(addon) if r["label"] == "Resume")
    assert resume["properties"] == {"resume": True} and resume["active"]
    stamps = {n: os.stat(folder / f"{SHOT}.alpha.{n:04d}.exr").st_mtime_ns for n in kept}

    assert bpy.ops.rvmatte.generate(resume=True) == {"FINISHED"}
    again = finish(next(iter(addon.operators.scene_jobs.values())))
    assert again.state is addon.jobs.JobState.DONE, again.error
    assert "--resume" in again.argv and "--versions" in again.argv
    assert (again.finished.skipped, again.finished.written) == (len(kept), 24 - len(kept))
    assert {n: os.stat(folder / f"{SHOT}.alpha.{n:04d}.exr").st_mtime_ns for n in kept} == stamps
    assert again.nodes["alpha"] == alpha and (alpha.frame_start, alpha.frame_duration) == (1, 24)


def test_loading_another_file_mid_job_leaves_no_worker(addon, core_worker, tmp_path):
    mechanic_clip(tmp_path, start=1, scene_frames=(1, 40))
    bpy.ops.rvmatte.generate()
    job = addon.operators.job_of(bpy.context.scene)
    _wait_for_frames(addon, job, 1)
    pid = job.process.pid
    bpy.ops.wm.read_homefile(use_empty=True)
    assert job.process.poll() is not None
    assert addon.jobs.active_jobs() == []
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0


def test_check_runs_doctor_and_shows_every_check(addon, core_worker):
    assert bpy.ops.rvmatte.check_worker() == {"FINISHED"}
    finish(addon.operators.check_job)
    lines = core_worker.check_result.splitlines()
    assert [line.split(":")[0] for line in lines] == ["ok python", "ok torch", "ok device", "ok colour", "ok weights"]
    assert lines[-1].startswith(f"ok weights: {core_worker.weights} loads and runs (sha256 49ee1c84e473")


def test_check_names_missing_weights_with_the_fix(addon, core_worker, tmp_path):
    core_worker.weights = str(tmp_path / "gone.pth")
    bpy.ops.rvmatte.check_worker()
    finish(addon.operators.check_job)
    lines = core_worker.check_result.splitlines()
    assert lines[-2] == f"FAILED weights: weights file not found: {tmp_path / 'gone.pth'}"
    assert lines[-1].startswith("    fix: choose the weights file")


def test_check_shows_damaged_weights_with_the_fix(addon, core_worker, tmp_path):
    damaged = tmp_path / "rvm_mobilenetv3.pth"
    damaged.write_bytes(b"PK\x03\x04 not a checkpoint")
    core_worker.weights = str(damaged)
    bpy.ops.rvmatte.check_worker()
    finish(addon.operators.check_job)
    lines = core_worker.check_result.splitlines()
    assert lines[-2].startswith(f"FAILED weights: {damaged} does not load or run")
    assert "download rvm_mobilenetv3.pth again" in lines[-1]


def core_frames(movie, numbers, start_frame=1):
    """Frames `numbers` as the core decodes them, sRGB-encoded 0..1, rows top first."""
    script = ("import sys, numpy as np\n"
              "from rvmatte.io import open_input\n"
              "src = open_input(sys.argv[1], start_frame=int(sys.argv[2]))\n"
              "np.save(sys.argv[3], np.stack([p.rgb for p in src.read([int(n) for n in sys.argv[4:]])]))\n")
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rvmatte_core_frames_{os.getpid()}.npy")
    done = subprocess.run([str(CORE_PYTHON), "-c", script, str(movie), str(start_frame), out, *map(str, numbers)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    frames = np.load(out)
    os.remove(out)
    return frames


def blender_clip_frame(clip, scene_frame, path):
    """The clip as Blender's compositor shows it at `scene_frame`, display-encoded, rows top first."""
    scene = bpy.context.scene
    tree = bpy.data.node_groups.new("Check", "CompositorNodeTree") if hasattr(scene, "compositing_node_group") \
        else None
    if tree is not None:
        scene.compositing_node_group = tree
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        output = tree.nodes.new("NodeGroupOutput").inputs[0]
    else:
        scene.use_nodes = True
        tree = scene.node_tree
        tree.nodes.clear()
        output = tree.nodes.new("CompositorNodeComposite").inputs["Image"]
    node = tree.nodes.new("CompositorNodeMovieClip")
    node.clip = clip
    tree.links.new(node.outputs["Image"], output)
    width, height = clip.size
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = width, height, 100
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_depth = "8"  # a byte image: pixels read back as stored
    scene.render.filepath = str(path)
    scene.frame_set(scene_frame)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(path))
    pixels = np.array(image.pixels[:], np.float32).reshape(height, width, 4)[::-1, :, :3]
    bpy.data.images.remove(image)
    return pixels


@pytest.mark.parametrize("clip_start, clip_offset, scene_frame", [(1, 0, 9), (10, 3, 20)])
def test_core_frame_n_is_blenders_frame_n_of_the_clip(addon, tmp_path, clip_start, clip_offset, scene_frame):
    clip = bpy.data.movieclips.load(str(JUGGLE))
    clip.frame_start, clip.frame_offset = clip_start, clip_offset
    source = addon.sources.from_clip(clip)
    number = source.frame_map.source_frame(scene_frame)
    index = scene_frame - clip_start + clip_offset + 1          # the movie frame Blender shows, from 1
    assert (source.start_frame, number) == (clip_start, index + clip_start - 1)
    shown = blender_clip_frame(clip, scene_frame, tmp_path / "blender.png")
    before, same, after = core_frames(JUGGLE, [number - 1, number, number + 1], start_frame=source.start_frame)
    # share of pixels off by more than 0.05: the two decoders differ by a few 8-bit steps,
    # a neighbouring frame differs wherever the juggler moved
    differs = {name: (np.abs(shown - frame).max(axis=2) > 0.05).mean() for name, frame in
               (("previous", before), ("same", same), ("next", after))}
    assert differs["same"] < 0.001, differs
    assert min(differs["previous"], differs["next"]) > 0.005, differs


def test_a_worker_that_exits_0_without_writing_the_frames_is_a_failure(addon, core_worker, tmp_path):
    liar = tmp_path / "liar-python"
    liar.write_text('#!/bin/sh\necho \'{"event": "done", "frames": 5, "written": 5, "skipped": 0, '
                    '"seconds": 0.1, "fps": 50.0, "output_version": {"name": "v001"}}\'\nexit 0\n')
    liar.chmod(0o755)
    core_worker.worker = str(liar)
    mechanic_clip(tmp_path)
    bpy.ops.rvmatte.generate()
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.FAILED
    assert job.error.startswith("the worker ended without writing 10 of the requested files (first missing: ")
    assert job.error.endswith(f"v001/{SHOT}.alpha.0012.exr)")   # scene frame 12 of a clip starting at 11
    tree = addon.compositor.compositor_tree(bpy.context.scene)
    assert tree is None or not any(n.get("rvmatte_role") for n in tree.nodes)


def test_check_leaves_no_temp_folder_behind(addon, core_worker, tmp_path, monkeypatch):
    """Neither the add-on nor the doctor it runs (whose temp folder is TMPDIR's) leaves anything there."""
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    bpy.ops.rvmatte.check_worker()
    finish(addon.operators.check_job)
    assert core_worker.check_result.startswith("ok python")
    assert sorted(p.name for p in temp.iterdir()) == []


def test_a_failed_job_leaves_its_log_and_worker_log_shows_it_in_the_text_editor(addon, core_worker, tmp_path):
    core_worker.weights = str(tmp_path / "missing.pth")
    core_worker.debug = True
    mechanic_clip(tmp_path)
    bpy.ops.rvmatte.generate()
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.FAILED and "--debug" in job.argv
    assert job.log_written and os.path.dirname(job.log_path).endswith(os.path.join(".rvmatte", "logs"))
    assert bpy.ops.rvmatte.show_log() == {"FINISHED"}
    text = bpy.data.texts[addon.operators.LOG_TEXT].as_string()
    assert "state: failed" in text and f"weights file not found: {tmp_path / 'missing.pth'}" in text
    assert "--debug" in text.splitlines()[1]


def test_worker_log_before_any_job_says_there_is_none(addon, core_worker, tmp_path):
    mechanic_clip(tmp_path)
    with pytest.raises(RuntimeError, match="no worker log yet"):
        bpy.ops.rvmatte.show_log()
