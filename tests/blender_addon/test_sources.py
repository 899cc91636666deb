"""The worker command built from a Movie Clip, an Image sequence or an Image node (sources.py, operators.plan_matte).

Frames are the source's own numbers: a movie's frames count from 1, a sequence
keeps its file numbers; scene frames map to them through the clip's or node's
Start Frame and Offset.
"""

import os

import bpy
import pytest

from conftest import CORE_PYTHON, MECHANIC, save_blend, write_sequence

needs_movie = pytest.mark.skipif(not MECHANIC.is_file(), reason=f"test footage missing: {MECHANIC}")


@pytest.fixture
def worker(prefs, tmp_path):
    """Any executable file stands in for the interpreter here: the command is built, not run."""
    prefs.worker = str(CORE_PYTHON) if CORE_PYTHON.is_file() else "/usr/bin/python3"
    return prefs.worker


def option(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def plan(addon):
    return addon.operators.plan_matte(bpy.context.scene)


@needs_movie
def test_movie_clip_command_reads_the_movie_numbered_from_1(addon, worker, tmp_path):
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    settings = bpy.context.scene.rvmatte
    settings.clip = clip
    argv = plan(addon).argv
    assert argv[:4] == [worker, "-m", "rvmatte", "run"]
    assert argv[4] == str(MECHANIC)
    assert option(argv, "--start-frame") == "1"
    assert option(argv, "--frames") == "1-50"
    assert option(argv, "--progress") == "json"
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name)
    assert option(argv, "--alpha") == str(folder / f"{bpy.path.clean_name(clip.name)}.alpha.####.exr")
    assert option(argv, "--foreground") == str(folder / f"{bpy.path.clean_name(clip.name)}.fgr.####.exr")


@needs_movie
def test_movie_clip_start_and_offset_map_scene_frames_to_movie_frames(addon, worker, tmp_path):
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    clip.frame_start, clip.frame_offset = 101, 2
    scene = bpy.context.scene
    scene.rvmatte.clip = clip
    scene.rvmatte.frame_range = "CUSTOM"
    scene.rvmatte.frame_start, scene.rvmatte.frame_end = 105, 110
    result = plan(addon)
    # scene frame 105 shows movie frame 105 - 101 + 2 + 1 = 7
    assert option(result.argv, "--frames") == "7-12"
    assert result.source.frame_map.scene_frame(7) == 105


@needs_movie
def test_scene_range_is_limited_to_the_clip(addon, worker, tmp_path):
    save_blend(tmp_path)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 40, 90
    scene.rvmatte.clip = bpy.data.movieclips.load(str(MECHANIC))
    scene.rvmatte.frame_range = "SCENE"
    assert option(plan(addon).argv, "--frames") == "40-50"


def test_clip_of_an_image_sequence_reads_the_files_by_number(addon, worker, tmp_path):
    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "plate", range(1001, 1011))
    scene = bpy.context.scene
    scene.rvmatte.clip = bpy.data.movieclips.load(str(first))
    result = plan(addon)
    assert result.argv[4] == str(tmp_path / "plates" / "plate.####.exr")
    assert option(result.argv, "--frames") == "1001-1010"
    assert option(result.argv, "--start-frame") is None
    # the clip shows file 1001 at its start frame 1
    assert result.source.frame_map.source_frame(1) == 1001
    scene.rvmatte.frame_range = "CUSTOM"
    scene.rvmatte.frame_start, scene.rvmatte.frame_end = 3, 5
    assert option(plan(addon).argv, "--frames") == "1003-1005"


def test_image_sequence_uses_file_numbers_as_scene_frames(addon, worker, tmp_path):
    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "plate", range(1001, 1011))
    image = bpy.data.images.load(str(first))
    image.source = "SEQUENCE"
    scene = bpy.context.scene
    scene.rvmatte.source_type = "IMAGE"
    scene.rvmatte.image = image
    scene.rvmatte.frame_range = "CUSTOM"
    scene.rvmatte.frame_start, scene.rvmatte.frame_end = 1003, 1004
    result = plan(addon)
    assert result.argv[4] == str(tmp_path / "plates" / "plate.####.exr")
    assert option(result.argv, "--frames") == "1003-1004"


def test_image_node_start_and_offset_map_scene_frames(addon, worker, tmp_path):
    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "plate", range(1001, 1011))
    scene = bpy.context.scene
    tree = addon.compositor.compositor_tree(scene, create=True)
    node = tree.nodes.new("CompositorNodeImage")
    node.image = bpy.data.images.load(str(first))
    node.image.source = "SEQUENCE"
    node.frame_start, node.frame_offset, node.frame_duration = 21, 1000, 6
    scene.rvmatte.source_type = "NODE"
    scene.rvmatte.node_name = node.name
    result = plan(addon)
    # the node shows files 1001..1006 at scene frames 21..26: only those are matted
    assert option(result.argv, "--frames") == "1001-1006"
    assert result.source.scene_range() == (21, 26)


def test_colour_space_of_the_source_is_passed_with_blenders_ocio_config(addon, worker, tmp_path):
    save_blend(tmp_path)
    image = bpy.data.images.load(str(write_sequence(tmp_path / "plates", "plate", range(1, 4))))
    image.source = "SEQUENCE"
    image.colorspace_settings.name = "ACEScg"
    scene = bpy.context.scene
    scene.rvmatte.source_type = "IMAGE"
    scene.rvmatte.image = image
    argv = plan(addon).argv
    assert option(argv, "--input-colorspace") == "ACEScg"
    config = option(argv, "--ocio-config")
    assert os.path.isfile(config) and config.endswith("config.ocio")
    assert option(argv, "--output-colorspace") == "Linear Rec.709"


def test_preferences_weights_and_panel_choices_reach_the_command(addon, worker, prefs, tmp_path):
    save_blend(tmp_path)
    (tmp_path / "w.pth").write_bytes(b"")
    prefs.weights, prefs.device = str(tmp_path / "w.pth"), "cpu"
    settings = bpy.context.scene.rvmatte
    settings.source_type = "IMAGE"
    settings.image = bpy.data.images.load(str(write_sequence(tmp_path / "plates", "plate", range(1, 4))))
    settings.image.source = "SEQUENCE"
    settings.auto_ratio = False
    settings.downsample_ratio = 0.125
    settings.variant, settings.precision, settings.preroll = "resnet50", "float16", 5
    settings.output_dir = str(tmp_path / "mattes")
    argv = plan(addon).argv
    assert option(argv, "--weights") == str(tmp_path / "w.pth")
    assert (option(argv, "--device"), option(argv, "--variant"), option(argv, "--precision")) == \
        ("cpu", "resnet50", "float16")
    assert (option(argv, "--downsample-ratio"), option(argv, "--preroll")) == ("0.125", "5")
    assert option(argv, "--alpha").startswith(str(tmp_path / "mattes") + os.sep)


def test_linked_clip_path_is_resolved_relative_to_its_library(addon, worker, tmp_path):
    library_dir = tmp_path / "library"
    write_sequence(library_dir / "media", "plate", range(1, 4))
    bpy.ops.wm.save_as_mainfile(filepath=str(library_dir / "lib.blend"))
    clip = bpy.data.movieclips.load(str(library_dir / "media" / "plate.0001.exr"))
    clip.name = "LinkedPlate"
    clip.filepath = "//media/plate.0001.exr"
    clip.use_fake_user = True
    bpy.ops.wm.save_as_mainfile(filepath=str(library_dir / "lib.blend"))

    bpy.ops.wm.read_homefile(use_empty=True)
    save_blend(tmp_path / "shot")
    with bpy.data.libraries.load(str(library_dir / "lib.blend"), link=True, relative=True) as (src, dst):
        dst.movieclips = ["LinkedPlate"]
    settings = bpy.context.scene.rvmatte
    settings.clip = bpy.data.movieclips["LinkedPlate"]
    assert settings.clip.library is not None
    assert plan(addon).argv[4] == str(library_dir / "media" / "plate.####.exr")


def test_unsaved_file_asks_for_an_output_folder(addon, worker, tmp_path):
    settings = bpy.context.scene.rvmatte
    settings.source_type = "IMAGE"
    settings.image = bpy.data.images.load(str(write_sequence(tmp_path / "plates", "plate", range(1, 3))))
    settings.image.source = "SEQUENCE"
    with pytest.raises(addon.sources.SourceError, match="save the .blend file first, or choose an Output folder"):
        plan(addon)
    settings.output_dir = str(tmp_path / "out")
    assert plan(addon).folder == str(tmp_path / "out")


def test_range_outside_the_source_names_the_source_and_its_frames(addon, worker, tmp_path):
    save_blend(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.source_type = "IMAGE"
    settings.image = bpy.data.images.load(str(write_sequence(tmp_path / "plates", "plate", range(1, 4))))
    settings.image.source = "SEQUENCE"
    settings.frame_range = "CUSTOM"
    settings.frame_start, settings.frame_end = 50, 60
    with pytest.raises(addon.sources.SourceError, match=r"scene frames 50-60 show no frame of 'plate.0001.exr' "
                                                        r"\(it covers scene frames 1-3\)"):
        plan(addon)


def test_single_still_image_is_refused(addon, worker, tmp_path):
    save_blend(tmp_path)
    still = bpy.data.images.load(str(write_sequence(tmp_path, "still", [1])))
    with pytest.raises(addon.sources.SourceError, match="single image"):
        addon.sources.from_image(still)


def test_missing_clip_choice_is_reported(addon, worker, tmp_path):
    save_blend(tmp_path)
    with pytest.raises(addon.sources.SourceError, match="choose a Movie Clip"):
        plan(addon)


@needs_movie
def test_missing_movie_file_is_named(addon, worker, tmp_path):
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    clip.filepath = str(tmp_path / "moved_away.mp4")
    bpy.context.scene.rvmatte.clip = clip
    with pytest.raises(addon.sources.SourceError, match=r"movie file not found: .*moved_away.mp4"):
        plan(addon)
