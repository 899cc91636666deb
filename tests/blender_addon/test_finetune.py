"""Fine-tune from keyframes, from the panel (finetune.py): the `rvmatte finetune` command it builds, the
keyframes it refuses, Use Tuned Weights in Generate, and a real worker fine-tuning then matting."""

import json
import os
import subprocess
import time

import bpy
import numpy as np
import pytest

from conftest import CORE_PYTHON, MECHANIC, WEIGHTS, finish, needs_core, save_blend, write_image, write_sequence


@pytest.fixture
def worker(prefs):
    prefs.worker = str(CORE_PYTHON) if CORE_PYTHON.is_file() else "/usr/bin/python3"
    prefs.weights = str(WEIGHTS)
    return prefs


def option(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def sequence_source(tmp_path, frames=range(1001, 1011), start=1):
    """A Movie Clip of `plate.####.exr` (32x18), shown from scene frame `start`."""
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(write_sequence(tmp_path / "plates", "plate", frames)))
    clip.frame_start = start
    bpy.context.scene.rvmatte.clip = clip
    return clip


def keyframes_image(folder, frames, **size):
    image = bpy.data.images.load(str(write_sequence(folder, "fix", frames, **size)))
    image.source = "SEQUENCE"
    return image


def finetune_settings():
    return bpy.context.scene.rvmatte.finetune


def panel_labels(addon):
    from test_panels import RecordingLayout

    rows = []
    addon.panels.draw_settings(RecordingLayout(rows), bpy.context)
    return [row["label"] for row in rows]


# ------------------------------------------------------------------ the command

def test_finetune_command_is_built_from_the_panel(addon, worker, tmp_path):
    clip = sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.finetune.keyframes = keyframes_image(tmp_path / "roto", [1003, 1008])
    settings.finetune.steps = 7
    settings.auto_ratio, settings.downsample_ratio = False, 0.5
    settings.device = "cpu"
    plan = addon.finetune.plan_finetune(bpy.context.scene)
    argv = plan.argv
    assert argv[:3] == [str(CORE_PYTHON) if CORE_PYTHON.is_file() else "/usr/bin/python3", "-m", "rvmatte"]
    assert argv[3:5] == ["finetune", str(tmp_path / "plates" / "plate.####.exr")]
    assert option(argv, "--keyframes") == str(tmp_path / "roto" / "fix.####.exr")
    name = bpy.path.clean_name(clip.name)
    assert option(argv, "-o") == str(tmp_path / "rvmatte" / name / "tuned" / f"{name}.pth")
    assert (option(argv, "--steps"), option(argv, "--downsample-ratio"), option(argv, "--device")) == \
        ("7", "0.5", "cpu")
    assert option(argv, "--weights") == str(WEIGHTS)
    assert argv[-2:] == ["--progress", "json"]


def test_finetune_takes_no_holdout_or_garbage(addon, worker, tmp_path):
    """`rvmatte finetune` has no --holdout/--garbage (docs/training.md): the panel's mattes stay with Generate."""
    sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.garbage = keyframes_image(tmp_path / "garbage", list(range(1001, 1011)))
    settings.finetune.keyframes = keyframes_image(tmp_path / "roto", [1003])
    argv = addon.finetune.plan_finetune(bpy.context.scene).argv
    assert "--garbage" not in argv and "--holdout" not in argv


def test_keyframes_path_pattern_is_used_without_an_image(addon, worker, tmp_path):
    sequence_source(tmp_path)
    write_sequence(tmp_path / "roto", "fix", [1002, 1009])
    finetune_settings().keyframes_path = "//roto/fix.####.exr"
    plan = addon.finetune.plan_finetune(bpy.context.scene)
    assert option(plan.argv, "--keyframes") == str(tmp_path / "roto" / "fix.####.exr")
    assert list(plan.keyframes.frames) == [1002, 1009]


def test_one_file_of_the_keyframes_stands_for_its_sequence(addon, worker, tmp_path):
    sequence_source(tmp_path)
    write_sequence(tmp_path / "roto", "fix", [1002, 1009])
    finetune_settings().keyframes_path = str(tmp_path / "roto" / "fix.1009.exr")
    assert list(addon.finetune.plan_finetune(bpy.context.scene).keyframes.frames) == [1002, 1009]


def test_panel_lists_the_keyframe_numbers(addon, worker, tmp_path):
    sequence_source(tmp_path)
    finetune_settings().keyframes = keyframes_image(tmp_path / "roto", [1003, 1005, 1010])
    shown = panel_labels(addon)
    assert "keyframes 1003, 1005, 1010" in shown
    assert shown.index("Fine-tune") < shown.index("Generate Matte")
    assert "Use Tuned Weights" in shown


def test_panel_lists_a_new_keyframe_once_its_file_is_written(addon, worker, tmp_path):
    sequence_source(tmp_path)
    write_sequence(tmp_path / "roto", "fix", [1003])
    finetune_settings().keyframes_path = str(tmp_path / "roto" / "fix.####.exr")
    assert "keyframes 1003" in panel_labels(addon)
    write_sequence(tmp_path / "roto", "fix", [1007])
    later = (tmp_path / "roto").stat().st_mtime + 5   # a coarse file system clock still sees a change
    os.utime(tmp_path / "roto", (later, later))
    assert "keyframes 1003, 1007" in panel_labels(addon)


# ------------------------------------------------------------------ refused keyframes

def test_no_keyframes_is_refused_before_a_worker_starts(addon, worker, tmp_path):
    sequence_source(tmp_path)
    with pytest.raises(RuntimeError, match="choose the Keyframes to fine-tune from"):
        bpy.ops.rvmatte.finetune()
    assert addon.operators.job_of(bpy.context.scene) is None


def test_a_keyframe_path_without_files_is_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    finetune_settings().keyframes_path = str(tmp_path / "roto" / "fix.####.exr")
    with pytest.raises(RuntimeError, match=r"no keyframe files found for .*roto/fix\.####\.exr"):
        bpy.ops.rvmatte.finetune()


def test_an_unnumbered_keyframe_is_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    still = write_image(tmp_path / "roto" / "fix.exr", np.ones((18, 32, 4), np.float32))
    finetune_settings().keyframes = bpy.data.images.load(str(still))
    with pytest.raises(RuntimeError, match="is one unnumbered image: keyframes are numbered like the source"):
        bpy.ops.rvmatte.finetune()


def test_keyframes_outside_the_frames_being_matted_are_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.frame_range = "CUSTOM"
    settings.frame_start, settings.frame_end = 1, 5            # plate frames 1001-1005
    settings.finetune.keyframes = keyframes_image(tmp_path / "roto", [1003, 1008, 1009])
    with pytest.raises(RuntimeError, match=r"has keyframes 1003, 1008-1009: 1008-1009 outside the frames being "
                                           r"matted \(1001-1005, scene frames 1-5\)"):
        bpy.ops.rvmatte.finetune()
    assert addon.operators.job_of(bpy.context.scene) is None


def test_keyframes_of_another_size_are_refused(addon, worker, tmp_path):
    sequence_source(tmp_path)
    finetune_settings().keyframes = keyframes_image(tmp_path / "roto", [1003, 1004], width=64, height=36)
    with pytest.raises(RuntimeError, match=r"keyframe 1003 \(.*fix\.1003\.exr\) is 64x36, 'plate\.1001\.exr' "
                                           r"is 32x18"):
        bpy.ops.rvmatte.finetune()


# ------------------------------------------------------------------ Use Tuned Weights in Generate

def test_use_tuned_weights_without_a_checkpoint_refuses_generate(addon, worker, tmp_path):
    sequence_source(tmp_path)
    finetune_settings().use_tuned = True
    with pytest.raises(RuntimeError, match=r"Use Tuned Weights is on, but there are no tuned weights at "
                                           r".*rvmatte/plate_1001_exr/tuned/plate_1001_exr\.pth: Fine-tune first"):
        bpy.ops.rvmatte.generate()
    assert "no tuned weights yet: Fine-tune first" in panel_labels(addon)


def tuned_file(addon, tmp_path, frames=(1003, 1008)):
    """A file at the scene's tuned path with a sidecar naming ``frames`` (what the panel reads of it)."""
    from pathlib import Path

    path = Path(addon.finetune.tuned_path(bpy.context.scene.rvmatte, bpy.context.scene.rvmatte.clip.name))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"checkpoint")
    (path.parent / (path.name + ".rvmatte.json")).write_text(json.dumps({"keyframes": {"frames": list(frames)}}))
    return path


def test_generate_takes_the_tuned_checkpoint_as_weights_only_with_use_tuned(addon, worker, tmp_path):
    sequence_source(tmp_path)
    path = tuned_file(addon, tmp_path)
    assert option(addon.operators.plan_matte(bpy.context.scene).argv, "--weights") == str(WEIGHTS)
    finetune_settings().use_tuned = True
    assert option(addon.operators.plan_matte(bpy.context.scene).argv, "--weights") == str(path)


def test_panel_shows_the_tuned_checkpoint_and_its_keyframes(addon, worker, tmp_path):
    sequence_source(tmp_path)
    path = tuned_file(addon, tmp_path, frames=(1002, 1004, 1005))
    shown = panel_labels(addon)
    assert str(path) in shown
    assert "tuned from keyframes 1002, 1004-1005" in shown


def test_panel_says_when_the_keyframes_changed_since_the_finetune(addon, worker, tmp_path):
    sequence_source(tmp_path)
    tuned_file(addon, tmp_path, frames=(1003, 1008))
    finetune_settings().keyframes = keyframes_image(tmp_path / "roto", [1003, 1008])
    assert "the keyframes changed since: Fine-tune again" not in panel_labels(addon)
    finetune_settings().keyframes = keyframes_image(tmp_path / "roto2", [1003, 1008, 1009])
    assert "the keyframes changed since: Fine-tune again" in panel_labels(addon)


# ------------------------------------------------------------------ progress messages, fake worker

def test_progress_shows_the_training_text_and_the_outcome(addon, tmp_path):
    lines = [
        {"event": "start", "task": "finetune", "steps": 2, "keyframes": [3], "frames": 5, "device": "cpu"},
        {"event": "step", "step": 1, "total": 2, "loss": 0.25},
    ]
    script = "import json, sys, time\n" + "".join(
        f"print(json.dumps({line!r}), flush=True)\n" for line in lines) + "time.sleep(30)\n"
    job = addon.jobs.start([str(CORE_PYTHON) if CORE_PYTHON.is_file() else "/usr/bin/python3", "-c", script],
                           label="plate", task="finetune")
    deadline = time.monotonic() + 20
    while job.done < 1 and time.monotonic() < deadline:
        job.poll(wait=0.1)
    assert job.message == "fine-tune step 1/2, loss 0.25"
    assert job.progress == 0.5
    job.cancel()
    job.wait(10)
    assert job.message == "fine-tune cancelled after 1 of 2 steps"


# ------------------------------------------------------------------ a real worker

def mechanic_clip(tmp_path, scene_frames=(2, 4)):
    """The 360x640 clip from scene frame 1 (movie frame = scene frame), matting `scene_frames`."""
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    settings = bpy.context.scene.rvmatte
    settings.clip = clip
    settings.frame_range = "CUSTOM"
    settings.frame_start, settings.frame_end = scene_frames
    settings.auto_ratio = False
    settings.downsample_ratio = 0.25
    return clip


def blob_keyframes(folder, frames, channels="RGBA"):
    """Keyframe mattes of the clip's size: a standing figure's box, 1 inside."""
    pixels = np.zeros((640, 360, 4), np.float32)
    pixels[120:560, 100:260] = 1.0
    if channels == "RGB":                    # not a matte: colour
        pixels[..., 1] *= 0.5
    settings = bpy.context.scene.render.image_settings
    paths = []
    for frame in frames:
        path = folder / f"fix.{frame:04d}.exr"
        folder.mkdir(parents=True, exist_ok=True)
        image = bpy.data.images.new(path.name, 360, 640, alpha=True, float_buffer=True)
        image.pixels.foreach_set(pixels.ravel())
        settings.file_format, settings.color_mode, settings.color_depth = "OPEN_EXR", channels, "32"
        image.save_render(str(path), scene=bpy.context.scene)
        bpy.data.images.remove(image)
        paths.append(path)
    return paths


def alpha_of(path):
    image = bpy.data.images.load(str(path), check_existing=False)
    width, height = image.size
    alpha = np.array(image.pixels[:], np.float32).reshape(height, width, 4)[..., 3]
    bpy.data.images.remove(image)
    return alpha


def exr_attribute(path, name):
    """One EXR header attribute, read by the core's OpenImageIO."""
    done = subprocess.run([str(CORE_PYTHON), "-c", "import sys, OpenImageIO as oiio; "
                           "print(oiio.ImageInput.open(sys.argv[1]).spec().get_string_attribute(sys.argv[2]))",
                           str(path), name], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tuned(_install, tmp_path_factory):
    """Base Generate, a 0-step Fine-tune from one keyframe, Generate with the tuned weights, on frames 2-4."""
    import shutil
    import sys
    from pathlib import Path

    from conftest import PACKAGE

    tmp_path = tmp_path_factory.mktemp("tuned")
    bpy.ops.wm.read_homefile(use_empty=True)
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.worker, prefs.weights, prefs.device = str(CORE_PYTHON), str(WEIGHTS), "cpu"
    addon = sys.modules[PACKAGE]
    addon.operators.scene_jobs.clear()
    clip = mechanic_clip(tmp_path)
    scene = bpy.context.scene
    name = bpy.path.clean_name(clip.name)
    folder = tmp_path / "rvmatte" / name

    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    base = finish(addon.operators.job_of(scene))
    assert base.state is addon.jobs.JobState.DONE, base.error
    shutil.copytree(folder / "v001", tmp_path / "base", ignore=shutil.ignore_patterns(".rvmatte"))

    blob_keyframes(tmp_path / "roto", [3])
    scene.rvmatte.finetune.keyframes_path = str(tmp_path / "roto" / "fix.####.exr")
    scene.rvmatte.finetune.steps = 0
    assert bpy.ops.rvmatte.finetune() == {"FINISHED"}
    tune = addon.operators.job_of(scene)
    use_tuned_while_running = scene.rvmatte.finetune.use_tuned
    finish(tune, timeout=400)

    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    matte = finish(addon.operators.job_of(scene))
    # other weights, another result key: the tuned matte is the output folder's second version
    return dict(addon=addon, base=base, tune=tune, matte=matte, folder=folder, passes=folder / "v002",
                name=name, tmp=tmp_path,
                shot="nuke_person_short",
                use_tuned_while_running=use_tuned_while_running,
                tuned=Path(addon.rvmatte_hostkit.command.tuned_weights_path(str(folder), name)))


@needs_core
def test_a_finetune_writes_the_tuned_weights_and_turns_use_tuned_on(tuned):
    addon, tune = tuned["addon"], tuned["tune"]
    assert tune.state is addon.jobs.JobState.DONE, tune.error
    assert tune.message == "fine-tuned 0 steps"
    assert tuned["tuned"].is_file()
    sidecar = json.loads((tuned["tuned"].parent / (tuned["tuned"].name + ".rvmatte.json")).read_text())
    assert sidecar["keyframes"]["frames"] == [3]
    assert not tuned["use_tuned_while_running"]
    assert bpy.context.scene.rvmatte.finetune.use_tuned


@needs_core
def test_generate_after_the_finetune_runs_with_the_tuned_weights(tuned):
    matte = tuned["matte"]
    assert matte.state is tuned["addon"].jobs.JobState.DONE, matte.error
    assert option(matte.argv, "--weights") == str(tuned["tuned"])
    exr = tuned["passes"] / f"{tuned['shot']}.alpha.0003.exr"
    assert exr_attribute(exr, "rvmatte/base_weights_sha256") == sha256(WEIGHTS)
    assert exr_attribute(exr, "rvmatte/weights_sha256") == sha256(tuned["tuned"])


@needs_core
def test_a_zero_step_finetune_gives_the_base_alpha_bit_for_bit(tuned):
    for frame in (2, 3, 4):
        file = f"{tuned['shot']}.alpha.{frame:04d}.exr"
        tuned_alpha, base_alpha = alpha_of(tuned["passes"] / file), alpha_of(tuned["tmp"] / "base" / file)
        assert (tuned_alpha > 0.5).mean() > 0.05
        np.testing.assert_array_equal(tuned_alpha, base_alpha)


@needs_core
def test_generate_on_its_own_shot_gives_no_other_shot_warning(tuned):
    assert not any("fine-tuned for the shot" in w for w in tuned["matte"].warnings)


@needs_core
def test_asking_again_with_the_same_keyframes_is_skipped_by_the_worker(tuned, capsys):
    """In the fixture's scene (its clip and keyframes still set)."""
    addon = tuned["addon"]
    scene = bpy.context.scene
    before = sha256(tuned["tuned"])
    assert bpy.ops.rvmatte.finetune() == {"FINISHED"}
    again = finish(addon.operators.job_of(scene), timeout=400)
    assert again.state is addon.jobs.JobState.DONE, again.error
    assert again.message == "already fine-tuned from these keyframes (skipped)"
    assert sha256(tuned["tuned"]) == before
    assert "RVMatte warning: RVMatte: " in capsys.readouterr().out


@needs_core
def test_tuned_weights_on_another_shot_warn_the_artist(core_worker_tuned, addon, tmp_path, capsys):
    """The studio's weights preference pointing at a checkpoint tuned on the mechanic clip, used on another
    plate: the worker's one warning reaches a Blender report and the panel."""
    sequence_source(tmp_path, frames=range(1, 3))
    bpy.ops.rvmatte.generate()
    job = finish(addon.operators.job_of(bpy.context.scene))
    assert job.state is addon.jobs.JobState.DONE, job.error
    warning = next(w for w in job.warnings if "fine-tuned for the shot" in w)
    assert f"RVMatte warning: RVMatte: {warning}" in capsys.readouterr().out
    lines = addon.labels.wrapped(warning, addon.labels.characters(bpy.context))   # wrapped to the panel
    shown = panel_labels(addon)
    assert any(shown[i:i + len(lines)] == lines for i in range(len(shown)))


@pytest.fixture
def core_worker_tuned(prefs, tuned):
    prefs.worker, prefs.weights, prefs.device = str(CORE_PYTHON), str(tuned["tuned"]), "cpu"
    return prefs


@pytest.fixture
def core_worker(prefs):
    prefs.worker, prefs.weights, prefs.device = str(CORE_PYTHON), str(WEIGHTS), "cpu"
    return prefs


@needs_core
def test_cancel_stops_the_finetune_and_writes_no_weights(addon, core_worker, tmp_path):
    clip = mechanic_clip(tmp_path)
    blob_keyframes(tmp_path / "roto", [3])
    settings = bpy.context.scene.rvmatte.finetune
    settings.keyframes_path = str(tmp_path / "roto" / "fix.####.exr")
    settings.steps = 500
    bpy.ops.rvmatte.finetune()
    job = addon.operators.job_of(bpy.context.scene)
    deadline = time.monotonic() + 300
    while job.running and job.done < 1 and time.monotonic() < deadline:
        addon.operators.tick()
        time.sleep(0.05)
    assert job.message.startswith("fine-tune step 1/500, loss ")
    with pytest.raises(RuntimeError, match="a fine-tune is running for this scene"):
        bpy.ops.rvmatte.generate()
    bpy.ops.rvmatte.cancel()
    finish(job, timeout=30)
    assert job.state is addon.jobs.JobState.CANCELLED
    assert job.message.startswith("fine-tune cancelled after ")
    assert not list((tmp_path / "rvmatte" / bpy.path.clean_name(clip.name) / "tuned").glob("*.pth*"))
    assert not settings.use_tuned


@needs_core
def test_a_failed_finetune_reports_the_workers_message_and_generate_does_not_fall_back(addon, core_worker,
                                                                                      tmp_path, capsys):
    mechanic_clip(tmp_path)
    blob_keyframes(tmp_path / "roto", [3], channels="RGB")
    settings = bpy.context.scene.rvmatte.finetune
    settings.keyframes_path = str(tmp_path / "roto" / "fix.####.exr")
    settings.steps = 1
    bpy.ops.rvmatte.finetune()
    job = finish(addon.operators.job_of(bpy.context.scene), timeout=300)
    assert job.state is addon.jobs.JobState.FAILED
    assert job.error.startswith("--keyframes: ") and "is not a matte" in job.error
    assert f"RVMatte error: RVMatte: fine-tune failed: {job.error}" in capsys.readouterr().out
    assert not settings.use_tuned
    settings.use_tuned = True
    with pytest.raises(RuntimeError, match="Use Tuned Weights is on, but there are no tuned weights"):
        bpy.ops.rvmatte.generate()
