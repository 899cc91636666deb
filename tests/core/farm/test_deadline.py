"""Deadline 10 CommandLine job files, checked against the manual-submission format."""

import pytest

from rvmatte.farm import deadline
from rvmatte.farm.shots import load_shots

WEIGHTS = "/farm/weights/rvm mobilenetv3.pth"


@pytest.fixture
def written(plate, holed_plate, tmp_path):
    shots = load_shots([plate, holed_plate], output_root=str(tmp_path / "out"), chunk_size=20, preroll=8)
    folder = tmp_path / "deadline"
    stems = deadline.write_jobs(str(folder), shots, weights=WEIGHTS, batch_name="night 22", group="gpu")
    return folder, stems, shots


def test_a_whole_plate_shot_is_one_commandline_job_chunked_by_deadline(written):
    folder, stems, shots = written
    job = deadline.read_key_values(str(folder / f"{stems[0]}.job_info.job"))
    assert job["Plugin"] == "CommandLine"
    assert (job["Frames"], job["ChunkSize"], job["BatchName"], job["Group"]) == ("1001-1100", "20", "night 22", "gpu")
    assert job["OutputDirectory0"] == shots[0].output_dir
    assert job["OutputFilename0"] == "plate.alpha.####.exr"


def test_the_plugin_runs_rvmatte_on_each_tasks_frames_with_quoted_paths(written):
    folder, stems, shots = written
    plugin = deadline.read_key_values(str(folder / f"{stems[0]}.plugin_info.job"))
    assert plugin["Executable"] == "rvmatte"
    arguments = plugin["Arguments"]
    assert arguments.startswith(f"run <QUOTE>{shots[0].input}<QUOTE> -o <QUOTE>{shots[0].output_dir}<QUOTE>")
    assert "--frames <STARTFRAME>-<ENDFRAME> --preroll 8 --resume --progress openjd --device cuda" in arguments
    assert f"--weights <QUOTE>{WEIGHTS}<QUOTE>" in arguments


def test_a_shot_with_a_hole_becomes_jobs_that_never_cross_it(written):
    folder, stems, _ = written
    parts = [s for s in stems if s.startswith("plate_2")]
    jobs = [deadline.read_key_values(str(folder / f"{s}.job_info.job")) for s in parts]
    plugins = [deadline.read_key_values(str(folder / f"{s}.plugin_info.job")) for s in parts]
    assert [j["Frames"] for j in jobs] == ["1001-1050", "1060-1079", "1080-1100"]
    assert ["--preroll 0 " in p["Arguments"] for p in plugins] == [False, True, False]
    assert jobs[1]["ChunkSize"] == "20"


def test_submit_scripts_submit_every_job_pair(written):
    folder, stems, _ = written
    script = (folder / "submit.sh").read_text()
    for stem in stems:
        assert f'deadlinecommand "{stem}.job_info.job" "{stem}.plugin_info.job"' in script
    assert (folder / "submit.bat").read_text().count("deadlinecommand") == len(stems)
