"""The worker command built from a Movie Clip, an Image sequence or an Image node (sources.py, operators.plan_matte).

Frames are the source's own numbers: a movie's frames count from the clip's (or
node's) Start Frame, a sequence keeps its file numbers; scene frames map to them through the clip's or node's
Start Frame and Offset.
"""

import os
import shutil

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
def test_movie_clip_command_reads_the_movie_numbered_from_its_start_frame(addon, worker, tmp_path):
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


@needs_movie
def test_passes_are_named_like_the_movie_without_its_extension(addon, worker, tmp_path):
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    bpy.context.scene.rvmatte.clip = clip
    argv = plan(addon).argv
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name)
    assert option(argv, "--alpha") == str(folder / "nuke_person_short.alpha.####.exr")
    assert option(argv, "--foreground") == str(folder / "nuke_person_short.fgr.####.exr")


def test_passes_of_a_sequence_are_named_like_the_sequence(addon, worker, tmp_path):
    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "sh010_plate", range(1001, 1004))
    bpy.context.scene.rvmatte.clip = clip = bpy.data.movieclips.load(str(first))
    argv = plan(addon).argv
    folder = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name)
    assert option(argv, "--alpha") == str(folder / "sh010_plate.alpha.####.exr")
    assert option(argv, "--foreground") == str(folder / "sh010_plate.fgr.####.exr")


def test_generate_writes_versions_of_the_output_folder_and_keep_versions_passes_the_option(addon, worker, tmp_path):
    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "sh010_plate", range(1001, 1004))
    bpy.context.scene.rvmatte.clip = clip = bpy.data.movieclips.load(str(first))
    argv = plan(addon).argv
    assert option(argv, "-o") == str(tmp_path / "rvmatte" / bpy.path.clean_name(clip.name))
    assert "--versions" in argv and "--keep-versions" not in argv          # 0, the default: keep all
    addon.preferences.preferences().keep_versions = 3
    assert option(plan(addon).argv, "--keep-versions") == "3"


@needs_movie
def test_movie_clip_placed_at_1001_gives_passes_numbered_from_1001(addon, worker, tmp_path):
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(MECHANIC))
    clip.frame_start = 1001
    bpy.context.scene.rvmatte.clip = clip
    result = plan(addon)
    assert option(result.argv, "--start-frame") == "1001"
    assert option(result.argv, "--frames") == "1001-1050"
    assert result.source.frame_map.scene_frame(1001) == 1001
    assert result.source.frame_map.source_frame(1050) == 1050


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
    # scene frame 105 shows movie frame 105 - 101 + 2 + 1 = 7, numbered 101 + 7 - 1 = 107
    assert option(result.argv, "--start-frame") == "101"
    assert option(result.argv, "--frames") == "107-112"
    assert result.source.frame_map.scene_frame(107) == 105


@needs_movie
def test_movie_in_an_image_node_is_numbered_from_the_nodes_start_frame(addon, worker, tmp_path):
    save_blend(tmp_path)
    scene = bpy.context.scene
    tree = addon.compositor.compositor_tree(scene, create=True)
    node = tree.nodes.new("CompositorNodeImage")
    node.image = bpy.data.images.load(str(MECHANIC))
    node.image.source = "MOVIE"
    node.frame_start, node.frame_offset, node.frame_duration = 1001, 4, 10
    scene.rvmatte.source_type = "NODE"
    scene.rvmatte.node_name = node.name
    result = plan(addon)
    # scene frames 1001..1010 show movie frames 5..14, numbered 1005..1014
    assert option(result.argv, "--start-frame") == "1001"
    assert option(result.argv, "--frames") == "1005-1014"
    assert result.source.scene_range() == (1001, 1010)


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


# ------------------------------------------------ holdout and garbage mattes (sources.matte_input)

def sequence_source(tmp_path, frames=range(1001, 1011)):
    """The panel set to matte a Movie Clip of `plate.####.exr` (files `frames`, shown from scene frame 1)."""
    save_blend(tmp_path)
    clip = bpy.data.movieclips.load(str(write_sequence(tmp_path / "plates", "plate", frames)))
    bpy.context.scene.rvmatte.clip = clip
    return clip


def matte_image(path, sequence=False):
    image = bpy.data.images.load(str(path))
    if sequence:
        image.source = "SEQUENCE"
    return image


def still(path):
    """A flat still image at `path`, written like the sequences."""
    return write_sequence(path.parent, path.stem, [1]).rename(path)


def test_no_mattes_leave_both_flags_out(addon, worker, tmp_path):
    sequence_source(tmp_path)
    argv = plan(addon).argv
    assert "--holdout" not in argv and "--garbage" not in argv


def test_garbage_sequence_is_read_by_the_sources_frame_numbers(addon, worker, tmp_path):
    sequence_source(tmp_path)
    garbage = write_sequence(tmp_path / "roto", "box", range(1001, 1011))
    bpy.context.scene.rvmatte.garbage = matte_image(garbage, sequence=True)
    argv = plan(addon).argv
    assert option(argv, "--garbage") == str(tmp_path / "roto" / "box.####.exr")
    assert option(argv, "--frames") == "1001-1010"
    assert "--holdout" not in argv


def test_holdout_still_is_passed_as_its_file(addon, worker, tmp_path):
    sequence_source(tmp_path)
    bpy.context.scene.rvmatte.holdout = matte_image(still(tmp_path / "roto" / "person.exr"))
    result = plan(addon)
    assert option(result.argv, "--holdout") == str(tmp_path / "roto" / "person.exr")
    assert "--garbage" not in result.argv
    assert not result.mattes["holdout"].copy_from


def test_holdout_and_garbage_together(addon, worker, tmp_path):
    sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.holdout = matte_image(write_sequence(tmp_path / "roto", "person", range(1001, 1011)), sequence=True)
    settings.garbage = matte_image(still(tmp_path / "roto" / "box.exr"))
    argv = plan(addon).argv
    assert option(argv, "--holdout") == str(tmp_path / "roto" / "person.####.exr")
    assert option(argv, "--garbage") == str(tmp_path / "roto" / "box.exr")


def test_unsetting_a_matte_removes_its_flag(addon, worker, tmp_path):
    sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.garbage = matte_image(still(tmp_path / "roto" / "box.exr"))
    assert option(plan(addon).argv, "--garbage") is not None
    settings.garbage = None
    assert "--garbage" not in plan(addon).argv


def test_still_with_a_number_in_its_name_is_copied_to_an_unnumbered_file(addon, prefs, tmp_path):
    prefs.worker = shutil.which("true")  # starts and ends at once: only the copy is looked at
    clip = sequence_source(tmp_path)
    box = still(tmp_path / "roto" / "box_v2.exr")
    bpy.context.scene.rvmatte.garbage = matte_image(box)
    result = plan(addon)
    # the worker would take box_v2.exr for frame 2 of a sequence box_v#.exr
    staged = tmp_path / "rvmatte" / bpy.path.clean_name(clip.name) / "garbage_matte.exr"
    assert option(result.argv, "--garbage") == str(staged)
    assert result.mattes["garbage"].copy_from == str(box)
    addon.operators.start_matte(bpy.context.scene).wait(20)
    assert staged.read_bytes() == box.read_bytes()


def test_matte_sequence_must_cover_the_source_frames(addon, worker, tmp_path):
    sequence_source(tmp_path)
    bpy.context.scene.rvmatte.holdout = matte_image(
        write_sequence(tmp_path / "roto", "person", range(1, 11)), sequence=True)
    with pytest.raises(addon.sources.SourceError, match=r"Holdout matte 'person.0001.exr' has frames 1-10; "
                                                        r"the source frames 1001-1010 need a matte each"):
        plan(addon)


def test_a_gap_in_a_matte_sequence_is_named_before_the_worker_starts(addon, worker, tmp_path):
    """Ends that cover the range are not enough: a missing frame inside it is found here."""
    sequence_source(tmp_path)
    frames = [f for f in range(1001, 1011) if f not in (1004, 1005)]
    bpy.context.scene.rvmatte.holdout = matte_image(
        write_sequence(tmp_path / "roto", "person", frames), sequence=True)
    with pytest.raises(addon.sources.SourceError, match=r"has frames 1001-1003, 1006-1010; .* missing 1004-1005"):
        plan(addon)


def test_matte_range_follows_the_frames_being_matted(addon, worker, tmp_path):
    sequence_source(tmp_path)
    settings = bpy.context.scene.rvmatte
    settings.garbage = matte_image(write_sequence(tmp_path / "roto", "box", range(1003, 1006)), sequence=True)
    settings.frame_range = "CUSTOM"
    settings.frame_start, settings.frame_end = 3, 5   # files 1003-1005
    assert option(plan(addon).argv, "--garbage") == str(tmp_path / "roto" / "box.####.exr")


def test_generated_image_is_refused_as_a_matte(addon, worker, tmp_path):
    generated = bpy.data.images.new("Painted", 8, 8)
    with pytest.raises(addon.sources.SourceError, match="Garbage matte 'Painted' is a generated image"):
        addon.sources.matte_input(generated, "Garbage matte", 1, 1, str(tmp_path / "garbage_matte"))


def test_packed_matte_asks_to_be_unpacked(addon, worker, tmp_path):
    image = matte_image(still(tmp_path / "box.exr"))
    image.pack()
    with pytest.raises(addon.sources.SourceError, match="'box.exr' is packed into the .blend file"):
        addon.sources.matte_input(image, "Garbage matte", 1, 1, str(tmp_path / "garbage_matte"))


def test_missing_matte_file_is_named(addon, worker, tmp_path):
    image = matte_image(still(tmp_path / "box.exr"))
    image.filepath = str(tmp_path / "moved" / "box.exr")
    with pytest.raises(addon.sources.SourceError, match=r"Holdout matte 'box.exr': file not found: .*moved/box.exr"):
        addon.sources.matte_input(image, "Holdout matte", 1, 1, str(tmp_path / "holdout_matte"))


def test_linked_matte_path_is_resolved_relative_to_its_library(addon, worker, tmp_path):
    library_dir = tmp_path / "library"
    still(library_dir / "roto" / "box.exr")
    bpy.ops.wm.save_as_mainfile(filepath=str(library_dir / "lib.blend"))
    image = matte_image(library_dir / "roto" / "box.exr")
    image.name = "LinkedBox"
    image.filepath = "//roto/box.exr"
    image.use_fake_user = True
    bpy.ops.wm.save_as_mainfile(filepath=str(library_dir / "lib.blend"))

    bpy.ops.wm.read_homefile(use_empty=True)
    sequence_source(tmp_path / "shot")
    with bpy.data.libraries.load(str(library_dir / "lib.blend"), link=True, relative=True) as (src, dst):
        dst.images = ["LinkedBox"]
    settings = bpy.context.scene.rvmatte
    settings.garbage = bpy.data.images["LinkedBox"]
    assert settings.garbage.library is not None
    assert option(plan(addon).argv, "--garbage") == str(library_dir / "roto" / "box.exr")
