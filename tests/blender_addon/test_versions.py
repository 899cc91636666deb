"""Versions (docs/blender.md): Generate writes the shot's output folder's v001, v002 … with the real
worker (`rvmatte run -o OUT --versions`); the nodes move to a version only when its job succeeds,
and Resume continues the unfinished one.

The settings changed between two Generates are the downsample ratio (part of the result key, cheap);
three frames of the 360x640 clip keep each run to seconds on a CPU.
"""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import bpy
import numpy as np

from conftest import MECHANIC, finish, needs_core, save_blend
from panel_rows import draw
from test_end_to_end import SHOT, exr_pixels, mechanic_clip

pytestmark = needs_core


def output_root(clip):
    return Path(bpy.path.abspath("//rvmatte")) / bpy.path.clean_name(clip.name)


def generate(addon, **options):
    assert bpy.ops.rvmatte.generate(**options) == {"FINISHED"}
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.DONE, job.error
    return job


def shown(node):
    """The folder an Image node's sequence is read from."""
    return Path(os.path.normpath(bpy.path.abspath(node.image.filepath))).parent


def state(folder):
    return json.loads((folder / "rvmatte-version.json").read_text())


def version_names(root):
    return sorted(n for n in os.listdir(root) if n.startswith("v"))


def stamps(folder):
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.exr"))}


def labels(addon):
    return [r["label"] for r in draw(addon)]


def start_and_wait(addon, frames):
    """Generate, returning once the worker wrote `frames` frames."""
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = addon.operators.job_of(bpy.context.scene)
    deadline = time.monotonic() + 120
    while job.running and job.done < frames and time.monotonic() < deadline:
        addon.operators.tick()
        time.sleep(0.05)
    assert job.running and job.done >= frames, job.message
    return job



def write_as_before_versions(addon, core_worker, plan, root):
    """The worker run as the add-on ran it before versions: into the output folder itself (no -o,
    --versions or --input-id). Returns that request."""
    old = dataclasses.replace(plan.request, output_dir="", versions=False, keep_versions=0, input_id="")
    argv = addon.command.worker_prefix(str(core_worker.worker)) + addon.command.run_arguments(old)
    os.makedirs(root, exist_ok=True)
    done = subprocess.run(argv, capture_output=True, text=True,
                          env=addon.command.worker_environment(os.environ), timeout=240)
    assert done.returncode == 0, done.stderr
    return old

def test_a_changed_setting_writes_v002_and_the_nodes_switch_to_it(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    first = generate(addon)
    assert shown(first.nodes["alpha"]) == root / "v001"
    before = stamps(root / "v001")
    bpy.context.scene.rvmatte.downsample_ratio = 0.5
    second = generate(addon)
    assert "--versions" in second.argv and second.message == "3 frames written, 0 kept, in v002"
    assert version_names(root) == ["v001", "v002"]
    for role in ("alpha", "foreground"):
        assert second.nodes[role] == first.nodes[role]               # the same node and Image, moved on
        assert shown(second.nodes[role]) == root / "v002"
    assert stamps(root / "v001") == before and state(root / "v001")["state"] == "complete"
    assert "Showing v002" in labels(addon)


def test_the_same_settings_go_back_into_v001_and_keep_its_frames(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    generate(addon)
    before = stamps(root / "v001")
    again = generate(addon)
    assert (again.finished.written, again.finished.skipped) == (0, 3)
    assert again.message == "0 frames written, 3 kept, in v001 (reused)"
    assert version_names(root) == ["v001"] and stamps(root / "v001") == before
    assert shown(again.nodes["alpha"]) == root / "v001"


def test_a_cancelled_generate_leaves_v001_shown_and_whole(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    first = generate(addon)
    before = stamps(root / "v001")
    settings = bpy.context.scene.rvmatte
    settings.downsample_ratio, settings.frame_end = 0.5, 40
    job = start_and_wait(addon, 1)
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    assert job.state is addon.jobs.JobState.CANCELLED
    cancelled = state(root / "v002")
    assert cancelled["state"] == "cancelled"
    alpha = first.nodes["alpha"]
    assert shown(alpha) == root / "v001" and alpha.frame_duration == 3
    assert stamps(root / "v001") == before and state(root / "v001")["state"] == "complete"
    count = len(addon.rvmatte_hostkit.sparse.parse_ranges(cancelled["frames"]))
    assert job.message.endswith(f"; v002 has {count} of 40 frames: Resume does the rest; still showing v001")
    rows = labels(addon)
    assert "Showing v001" in rows and "Resume" in rows
    assert "Resume continues v002 (cancelled)" in rows


def test_after_a_worker_crash_and_a_reload_resume_continues_the_interrupted_version(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    generate(addon)
    settings = bpy.context.scene.rvmatte
    settings.downsample_ratio, settings.frame_end = 0.5, 12
    job = start_and_wait(addon, 2)
    os.kill(job.process.pid, signal.SIGKILL)                       # the worker dies: its version says running
    finish(job, timeout=30)
    assert job.state is addon.jobs.JobState.FAILED
    kept = [n for n in range(1, 13) if all((root / "v002" / f"{SHOT}.{p}.{n:04d}.exr").is_file()
                                           for p in ("alpha", "fgr"))]
    assert 2 <= len(kept) < 12 and state(root / "v002")["state"] == "running"
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)          # the job is gone; the folder still knows
    assert addon.operators.job_of(bpy.context.scene) is None
    rows = labels(addon)
    assert "Showing v001" in rows and "Resume continues v002 (interrupted)" in rows and "Resume" in rows

    resumed = generate(addon, resume=True)
    assert (resumed.finished.skipped, resumed.finished.written) == (len(kept), 12 - len(kept))
    assert resumed.message == f"{12 - len(kept)} frames written, {len(kept)} kept, in v002"
    assert version_names(root) == ["v001", "v002"] and state(root / "v002")["state"] == "complete"
    alpha = resumed.nodes["alpha"]
    assert shown(alpha) == root / "v002" and (alpha.frame_start, alpha.frame_duration) == (1, 12)
    assert "Resume" not in labels(addon)


def test_keep_versions_removes_the_older_complete_versions_after_a_success(addon, core_worker, tmp_path):
    core_worker.keep_versions = 1
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 2))
    root = output_root(clip)
    generate(addon)
    bpy.context.scene.rvmatte.downsample_ratio = 0.5
    second = generate(addon)
    assert second.argv[second.argv.index("--keep-versions") + 1] == "1"
    assert version_names(root) == ["v002"]
    assert second.message == "2 frames written, 0 kept, in v002; Keep Versions removed v001"
    assert shown(second.nodes["alpha"]) == root / "v002"


def _render_alpha(scene, frame, path):
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 360, 640, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.image_settings.color_depth = "32"
    scene.render.filepath = str(path)
    scene.frame_set(frame)
    bpy.ops.render.render(write_still=True)
    return exr_pixels(path)[..., 3]


def test_a_scene_generated_before_versions_still_shows_its_passes_and_generate_starts_v001(addon, core_worker,
                                                                                           tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 2))
    root = output_root(clip)
    scene = bpy.context.scene
    # What the add-on did before versions: the worker writes into the output folder itself, the nodes
    # are wired to those files, the file is saved.
    plan = addon.operators.plan_matte(scene)
    write_as_before_versions(addon, core_worker, plan, root)
    alpha_file, fgr_file = (root / f"{SHOT}.{p}.0001.exr" for p in ("alpha", "fgr"))
    addon.compositor.wire_matte(scene, plan.source, str(alpha_file), str(fgr_file), 1, 2)
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    scene = bpy.context.scene

    assert "Showing the unversioned passes" in labels(addon)
    rendered = _render_alpha(scene, 1, tmp_path / "before.exr")
    np.testing.assert_allclose(rendered, exr_pixels(alpha_file)[..., 3], atol=1e-3)
    assert rendered.max() > 0.9                                    # a matte, not an empty frame

    old_files = stamps(root)
    again = generate(addon)
    assert version_names(root) == ["v001"] and stamps(root) == old_files     # beside them, untouched
    assert shown(again.nodes["alpha"]) == root / "v001"
    assert "Showing v001" in labels(addon)


def test_resume_with_changed_settings_makes_a_new_version_and_says_it_did_not_continue(addon, core_worker,
                                                                                        tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 40))
    root = output_root(clip)
    job = start_and_wait(addon, 1)
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    settings = bpy.context.scene.rvmatte
    settings.downsample_ratio, settings.frame_end = 0.5, 2      # another key: v001 cannot be continued
    resumed = generate(addon, resume=True)
    assert resumed.message == "2 frames written, 0 kept, in v002 (not v001: its settings differ from the panel's)"
    assert state(root / "v001")["state"] == "cancelled" and shown(resumed.nodes["alpha"]) == root / "v002"


FRAMES = MECHANIC.parent / "frames"     # the same clip as PNG files 0000.png …


def copied_movie(tmp_path):
    """The 360x640 movie copied to `tmp_path/plates/plate.mp4` (a plate the test may touch), as the panel's
    clip, scene frames 1-3; its mtime set to a known second."""
    save_blend(tmp_path)
    movie = tmp_path / "plates" / "plate.mp4"
    movie.parent.mkdir()
    shutil.copyfile(MECHANIC, movie)
    os.utime(movie, (1_700_000_000, 1_700_000_000))
    clip = bpy.data.movieclips.load(str(movie))
    settings = bpy.context.scene.rvmatte
    settings.clip, settings.frame_range = clip, "CUSTOM"
    settings.frame_start, settings.frame_end = 1, 3
    settings.auto_ratio, settings.downsample_ratio = False, 0.25
    return clip, movie


def option(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_a_re_rendered_plate_file_of_the_same_name_and_frame_size_makes_a_new_version(addon, core_worker, tmp_path):
    """The worker's key knows the plate by its size only: without --input-id the second Generate went back
    into v001 and kept its three frames of the old plate."""
    save_blend(tmp_path)
    plates = tmp_path / "plates"
    plates.mkdir()
    for frame in (1, 2, 3):
        shutil.copyfile(FRAMES / f"{frame:04d}.png", plates / f"plate.{frame:04d}.png")
    clip = bpy.data.movieclips.load(str(plates / "plate.0001.png"))
    assert clip.source == "SEQUENCE"
    settings = bpy.context.scene.rvmatte
    settings.clip, settings.auto_ratio, settings.downsample_ratio = clip, False, 0.25
    root = output_root(clip)
    first = generate(addon)
    assert first.message == "3 frames written, 0 kept, in v001"
    before = stamps(root / "v001")
    shutil.copyfile(FRAMES / "0004.png", plates / "plate.0003.png")     # frame 3 re-rendered: same name, 360x640
    second = generate(addon)
    assert second.message == "3 frames written, 0 kept, in v002"
    assert option(second.argv, "--input-id") != option(first.argv, "--input-id")
    assert version_names(root) == ["v001", "v002"] and stamps(root / "v001") == before
    assert shown(second.nodes["alpha"]) == root / "v002"
    assert state(root / "v002")["fields"]["input_id"] == option(second.argv, "--input-id")


def test_the_same_plate_files_go_back_into_their_version(addon, core_worker, tmp_path):
    """A touched movie (new mtime) is a new version; the same file again (its mtime back: the old render
    restored) is v001's plate: its frames are kept, the nodes move back to it."""
    clip, movie = copied_movie(tmp_path)
    root = output_root(clip)
    first = generate(addon)
    before = stamps(root / "v001")
    os.utime(movie, (1_700_000_100, 1_700_000_100))
    touched = generate(addon)
    assert touched.message == "3 frames written, 0 kept, in v002"
    os.utime(movie, (1_700_000_000, 1_700_000_000))
    again = generate(addon)
    assert option(again.argv, "--input-id") == option(first.argv, "--input-id")
    assert (again.finished.written, again.finished.skipped) == (0, 3)
    assert again.message == "0 frames written, 3 kept, in v001 (reused)"
    assert stamps(root / "v001") == before and shown(again.nodes["alpha"]) == root / "v001"


def test_the_worker_command_carries_the_plates_id_resume_the_same_and_the_frame_range_none(addon, core_worker,
                                                                                           tmp_path):
    clip, movie = copied_movie(tmp_path)
    scene = bpy.context.scene
    plan = addon.operators.plan_matte(scene)
    sent = option(plan.argv, "--input-id")
    assert re.fullmatch(r"[0-9a-f]{16}", sent or "")
    assert "--versions" in plan.argv
    assert option(addon.operators.plan_matte(scene, resume=True).argv, "--input-id") == sent
    scene.rvmatte.frame_end = 30                                    # a longer range continues its version
    assert option(addon.operators.plan_matte(scene).argv, "--input-id") == sent
    with open(movie, "ab") as stream:                               # the movie file rewritten, mtime kept
        stream.write(b"\0")
    os.utime(movie, (1_700_000_000, 1_700_000_000))
    assert option(addon.operators.plan_matte(scene).argv, "--input-id") not in (None, sent)
    changed = option(addon.operators.plan_matte(scene).argv, "--input-id")
    scene.rvmatte.people.people = 2                                 # the people pass is versioned too
    assert option(addon.operators.plan_matte(scene).argv, "--input-id") == changed


def test_resume_after_the_plate_changed_makes_a_new_version_and_says_why(addon, core_worker, tmp_path):
    """Resume computes the id from the files as they are: frames of the old plate are never kept with the
    new one's."""
    clip, movie = copied_movie(tmp_path)
    root = output_root(clip)
    bpy.context.scene.rvmatte.frame_end = 40
    job = start_and_wait(addon, 1)
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    assert "Resume continues v001 (cancelled)" in labels(addon)
    os.utime(movie, (1_700_000_100, 1_700_000_100))                 # the plate re-rendered meanwhile
    rows = labels(addon)
    assert "Resume" not in rows and not any(r.startswith("Resume continues") for r in rows)
    said = " ".join(rows)                                           # the label wraps to the panel's width
    assert "v001 cancelled, but the plate's files changed since: Generate Matte makes a new version" in said
    bpy.context.scene.rvmatte.frame_end = 2
    resumed = generate(addon, resume=True)
    assert resumed.message == "2 frames written, 0 kept, in v002 (not v001: the plate's files changed since)"
    assert state(root / "v001")["state"] == "cancelled" and shown(resumed.nodes["alpha"]) == root / "v002"


# --- the people pass (a target, a point, People N): versioned by the people key, never resumed ---

def people_generate(addon, **people):
    """Generate with the panel's people settings set to `people` (the others cleared)."""
    settings = bpy.context.scene.rvmatte.people
    settings.people, settings.use_point = 0, False
    for name, value in people.items():
        setattr(settings, name, value)
    return generate(addon)


def image_folder(image):
    return Path(os.path.normpath(bpy.path.abspath(image.filepath))).parent


def test_a_people_generate_writes_v001_and_wires_its_passes_and_cryptomatte_there(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    job = people_generate(addon, people=2)
    assert {"--versions", "--people", "--input-id"} <= set(job.argv) and option(job.argv, "-o") == str(root)
    assert job.message.endswith(", in v001")
    assert version_names(root) == ["v001"] and not list(root.glob("*.exr"))     # nothing beside the versions
    made = state(root / "v001")
    assert made["state"] == "complete" and "people" in made["fields"]
    assert made["fields"]["input_id"] == option(job.argv, "--input-id")
    assert sorted(p.name for p in (root / "v001").glob("*.people.*.exr")) == [
        f"{SHOT}.people.{f:04d}.exr" for f in (1, 2, 3)]
    for role in ("alpha", "foreground"):
        assert shown(job.nodes[role]) == root / "v001"
    crypto = job.nodes["cryptomatte"]
    assert image_folder(crypto.image) == root / "v001" and crypto.matte_id == "person1"
    assert "Showing v001" in labels(addon)


def test_a_second_people_generate_with_a_target_writes_v002_and_wires_it_v001_untouched(addon, core_worker,
                                                                                          tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    first = people_generate(addon, people=2)
    before = stamps(root / "v001")
    people_image = first.nodes["cryptomatte"].image
    addon.people.set_point(bpy.context.scene, (0.5, 0.5), 1)      # the mechanic, picked by a point
    second = people_generate(addon, use_point=True, point_name="hero")
    assert option(second.argv, "--target-point") is not None and second.message.endswith(", in v002")
    assert version_names(root) == ["v001", "v002"]
    assert stamps(root / "v001") == before and state(root / "v001")["state"] == "complete"
    assert state(root / "v002")["state"] == "complete"
    for role in ("alpha", "foreground"):
        assert second.nodes[role] == first.nodes[role] and shown(second.nodes[role]) == root / "v002"
    # The Cryptomatte node of v001's two people follows onto v002's people EXR (one person now).
    crypto = first.nodes["cryptomatte"]
    assert second.nodes["cryptomatte"] == crypto and crypto.image == people_image   # its Image moved on
    assert image_folder(crypto.image) == root / "v002"
    assert crypto.matte_id == "hero"
    assert "Showing v002" in labels(addon)
    third = people_generate(addon, people=2)                      # back to People 2: v001 again, re-split
    assert third.message.endswith(", in v001 (reused)") and version_names(root) == ["v001", "v002"]
    assert shown(third.nodes["alpha"]) == root / "v001" and image_folder(crypto.image) == root / "v001"


def test_a_cancelled_people_generate_leaves_the_previous_version_wired_and_offers_no_resume(addon, core_worker,
                                                                                            tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    first = people_generate(addon, people=2)
    before = stamps(root / "v001")
    crypto_image = first.nodes["cryptomatte"].image.filepath
    settings = bpy.context.scene.rvmatte
    settings.frame_end, settings.people.people = 40, 3
    job = start_and_wait(addon, 1)
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    assert job.state is addon.jobs.JobState.CANCELLED
    assert state(root / "v002")["state"] == "cancelled" and "people" in state(root / "v002")["fields"]
    assert not list((root / "v002").glob("*.exr"))                 # stopped in the matte: nothing split yet
    alpha = first.nodes["alpha"]
    assert shown(alpha) == root / "v001" and alpha.frame_duration == 3
    assert first.nodes["cryptomatte"].image.filepath == crypto_image
    assert stamps(root / "v001") == before and state(root / "v001")["state"] == "complete"
    assert not job.resumable
    rows = labels(addon)
    assert "Showing v001" in rows and "Resume" not in rows
    assert "v002 cancelled: a people run has no Resume, Generate Matte redoes every frame" in " ".join(rows)
    settings.people.people = 0                                     # plain settings: still not that version's Resume
    assert "Resume" not in labels(addon)


def test_a_failed_people_generate_leaves_the_previous_version_wired(addon, core_worker, tmp_path):
    """A point on no one fails in the split, after the matte: its version says failed, v001 stays shown."""
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 3))
    root = output_root(clip)
    first = people_generate(addon, people=2)
    before = stamps(root / "v001")
    bpy.context.scene.rvmatte.people.people = 0
    addon.people.set_point(bpy.context.scene, (0.02, 0.98), 1)     # the top left corner: background
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.FAILED
    assert state(root / "v002")["state"] == "failed"
    for role in ("alpha", "foreground"):
        assert shown(first.nodes[role]) == root / "v001"
    assert image_folder(first.nodes["cryptomatte"].image) == root / "v001"
    assert stamps(root / "v001") == before
    rows = labels(addon)
    assert "Showing v001" in rows and "Resume" not in rows
    assert "v002 failed: a people run has no Resume, Generate Matte redoes every frame" in " ".join(rows)


def test_a_scene_whose_people_passes_were_written_unversioned_still_shows_them_then_moves_to_v001(
        addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path, start=1, scene_frames=(1, 2))
    root = output_root(clip)
    scene = bpy.context.scene
    scene.rvmatte.people.people = 2
    # What the add-on did before people runs were versioned: the passes and the Cryptomatte node are
    # wired to files in the output folder itself, the file saved.
    plan = addon.operators.plan_matte(scene)
    old = write_as_before_versions(addon, core_worker, plan, root)
    alpha_file, fgr_file = (root / f"{SHOT}.{p}.0001.exr" for p in ("alpha", "fgr"))
    assert (root / f"{SHOT}.people.0001.exr").is_file()
    addon.compositor.wire_matte(scene, plan.source, str(alpha_file), str(fgr_file), 1, 2)
    assert addon.people.wire_people(scene, plan.source, old, 1, 2) is not None
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    scene = bpy.context.scene

    assert "Showing the unversioned passes" in labels(addon)
    tree = addon.compositor.compositor_tree(scene)
    (crypto,) = [n for n in tree.nodes if n.get(addon.compositor.TAG) == "cryptomatte"]
    assert image_folder(crypto.image) == root
    tree.links.new(crypto.outputs["Matte"], addon.compositor.compositor_output(tree))
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 360, 640, 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.filepath = str(tmp_path / "person1.exr")
    scene.frame_set(1)
    bpy.ops.render.render(write_still=True)
    matte, alpha = exr_pixels(tmp_path / "person1.exr")[..., 0], exr_pixels(alpha_file)[..., 3]
    solid = alpha > 0.9
    assert solid.mean() > 0.02                                     # the old people EXR is read: person1's matte
    np.testing.assert_allclose(matte[solid], alpha[solid], atol=2.5e-4)

    old_files = stamps(root)
    again = generate(addon)
    assert version_names(root) == ["v001"] and stamps(root) == old_files     # beside them, untouched
    assert shown(again.nodes["alpha"]) == root / "v001" and again.nodes["cryptomatte"] == crypto
    assert image_folder(crypto.image) == root / "v001"
    assert "Showing v001" in labels(addon)
