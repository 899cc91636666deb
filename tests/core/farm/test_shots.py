"""Shots from typed inputs and shot lists (text and JSON)."""

import json
import os

import pytest
from farm_plates import make_plate

from rvmatte.errors import InputError
from rvmatte.farm.shots import DEFAULT_PREROLL, load_shots


def test_a_typed_sequence_covers_every_frame_on_disk(plate, tmp_path):
    (shot,) = load_shots([plate], output_root=str(tmp_path / "out"))
    assert shot.frames == list(range(1001, 1101))
    assert shot.input_first == 1001 and shot.kind == "sequence"
    assert shot.output_dir == str(tmp_path / "out" / "plate")
    assert shot.preroll == DEFAULT_PREROLL


def test_one_file_of_a_sequence_stands_for_the_whole_sequence(plate, tmp_path):
    (shot,) = load_shots([plate.replace("####", "1050")], output_root=str(tmp_path))
    assert shot.input == plate and shot.frames[0] == 1001


def test_a_hole_on_disk_is_a_hole_in_the_frame_list(holed_plate, tmp_path):
    (shot,) = load_shots([holed_plate], output_root=str(tmp_path))
    assert 1055 not in shot.frames and len(shot.frames) == 91


def test_frames_option_picks_part_of_the_plate(plate, tmp_path):
    (shot,) = load_shots([plate], output_root=str(tmp_path), frames="1010-1019")
    assert shot.frames == list(range(1010, 1020)) and shot.input_first == 1001


def test_frames_not_on_disk_are_a_user_error_naming_the_frame(holed_plate, tmp_path):
    with pytest.raises(InputError, match="frame 1051 is not on disk"):
        load_shots([holed_plate], output_root=str(tmp_path), frames="1040-1060")


def test_a_text_shot_list_holds_one_input_per_line(plate, holed_plate, tmp_path):
    listing = tmp_path / "shots.txt"
    listing.write_text(f"# tonight\n{plate}\n\n{holed_plate}\n")
    shots = load_shots([str(listing)], output_root=str(tmp_path / "out"), chunk_size=10, preroll=4)
    assert [s.input for s in shots] == [plate, holed_plate]
    assert {(s.chunk_size, s.preroll) for s in shots} == {(10, 4)}


def test_a_json_shot_list_carries_per_shot_options(plate, holed_plate, tmp_path):
    listing = tmp_path / "shots.json"
    listing.write_text(json.dumps({
        "defaults": {"output_root": "renders", "chunk_size": 40, "run_args": ["--downsample-ratio", "0.25"]},
        "shots": [
            {"input": os.path.relpath(plate, tmp_path), "name": "sh010", "frames": "1001-1020", "preroll": 8},
            {"input": holed_plate, "output_dir": "/mnt/out/sh020", "chunk_size": 10, "run_args": []},
        ],
    }))
    first, second = load_shots([str(listing)])
    assert (first.name, first.frames[-1], first.preroll, first.chunk_size) == ("sh010", 1020, 8, 40)
    assert first.output_dir == str(tmp_path / "renders" / "sh010")
    assert first.run_args == ["--downsample-ratio", "0.25"]
    assert (second.output_dir, second.chunk_size, second.run_args) == ("/mnt/out/sh020", 10, [])


def test_a_json_shot_list_may_be_a_bare_list_of_inputs(plate, tmp_path):
    listing = tmp_path / "shots.json"
    listing.write_text(json.dumps([plate]))
    assert load_shots([str(listing)], output_root=str(tmp_path))[0].input == plate


@pytest.mark.parametrize(
    "shot, message",
    [
        ({"input": "PLATE", "chunk": 4}, "unknown key 'chunk'"),
        ({"input": "PLATE", "preroll": -2}, "'preroll' must be at least 0"),
        ({"input": "PLATE", "chunk_size": "ten"}, "'chunk_size' must be a whole number"),
        ({"input": "PLATE", "run_args": ["--frames", "1-2"]}, "must not set --frames"),
        ({"name": "x"}, "'input' must be a path"),
    ],
)
def test_json_shot_list_mistakes_are_one_line_errors_naming_the_shot(plate, tmp_path, shot, message):
    listing = tmp_path / "shots.json"
    shot = {k: (plate if v == "PLATE" else v) for k, v in shot.items()}
    listing.write_text(json.dumps({"shots": [shot]}))
    with pytest.raises(InputError, match=message) as caught:
        load_shots([str(listing)], output_root=str(tmp_path))
    assert "shots.json shot 1" in str(caught.value)


def test_invalid_json_is_an_error_naming_the_line(tmp_path):
    listing = tmp_path / "shots.json"
    listing.write_text('{"shots": [\n  "a",\n  oops]}')
    with pytest.raises(InputError, match="line 3"):
        load_shots([str(listing)], output_root=str(tmp_path))


def test_a_missing_input_in_a_text_list_names_the_line(tmp_path):
    listing = tmp_path / "shots.txt"
    listing.write_text(f"{tmp_path}/nowhere/plate.####.exr\n")
    with pytest.raises(InputError, match="does not exist"):
        load_shots([str(listing)], output_root=str(tmp_path))


def test_shots_without_an_output_folder_are_a_user_error(plate):
    with pytest.raises(InputError, match="--output-root"):
        load_shots([plate])


def test_shots_with_the_same_name_get_distinct_names_and_folders(tmp_path):
    a = make_plate(tmp_path / "a", range(1, 4))
    b = make_plate(tmp_path / "b", range(1, 4))
    shots = load_shots([a, b], output_root=str(tmp_path / "out"))
    assert [s.name for s in shots] == ["plate", "plate_2"]
    assert len({s.output_dir for s in shots}) == 2


def test_two_shots_writing_the_same_files_are_refused(tmp_path):
    a = make_plate(tmp_path / "a", range(1, 4))
    b = make_plate(tmp_path / "b", range(1, 4))
    listing = tmp_path / "shots.json"
    listing.write_text(json.dumps([{"input": a, "output_dir": "o"}, {"input": b, "output_dir": "o"}]))
    with pytest.raises(InputError, match="would both write"):
        load_shots([str(listing)])


def test_a_movie_is_a_shot_numbered_from_its_start_frame(shared_dir, tmp_path):
    movie = shared_dir / "data/real_video/rvmnuke_person_short_360x640/nuke_person_short.mp4"
    listing = tmp_path / "shots.json"
    listing.write_text(json.dumps([{"input": str(movie), "start_frame": 1001}]))
    (shot,) = load_shots([str(listing)], output_root=str(tmp_path))
    assert shot.kind == "movie" and shot.frames[0] == 1001 and len(shot.frames) == 50


@pytest.mark.parametrize("run_args, reads_postroll", [
    (["--ensemble", "mirror,reverse"], True), (["--ensemble=reverse"], True), (["--ensemble", "mirror"], False),
    ([], False)])
def test_a_shot_whose_runs_have_a_reverse_stream_plans_a_postroll(tmp_path, run_args, reads_postroll):
    from rvmatte.farm.shots import Shot

    shot = Shot("sh", "p.####.exr", "sequence", list(range(1, 101)), str(tmp_path), chunk_size=30, run_args=run_args)
    assert any(c.postroll for c in shot.chunks()) == reads_postroll
