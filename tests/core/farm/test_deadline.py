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


def test_the_plugin_runs_rvmatte_on_each_tasks_frames_with_its_arguments_file(written):
    folder, stems, shots = written
    plugin = deadline.read_key_values(str(folder / f"{stems[0]}.plugin_info.job"))
    assert plugin["Executable"] == "rvmatte"
    args_file = folder / f"{stems[0]}.args"
    assert plugin["Arguments"] == f"run <QUOTE>@{args_file}<QUOTE> --frames <STARTFRAME>-<ENDFRAME>"
    assert args_file.read_text().splitlines() == [
        shots[0].input, "-o", shots[0].output_dir, "--preroll", "8", "--resume", "--progress", "openjd",
        "--device", "cuda", "--weights", WEIGHTS]


def test_a_shot_with_a_hole_becomes_jobs_that_never_cross_it(written):
    folder, stems, _ = written
    parts = [s for s in stems if s.startswith("plate_2")]
    jobs = [deadline.read_key_values(str(folder / f"{s}.job_info.job")) for s in parts]
    task_args = [(folder / f"{s}.args").read_text().splitlines() for s in parts]
    assert [j["Frames"] for j in jobs] == ["1001-1050", "1060-1079", "1080-1100"]
    assert [a[a.index("--preroll") + 1] for a in task_args] == ["8", "0", "8"]
    assert jobs[1]["ChunkSize"] == "20"


def test_submit_scripts_submit_every_job_pair(written):
    folder, stems, _ = written
    script = (folder / "submit.sh").read_text()
    for stem in stems:
        assert f'deadlinecommand "{stem}.job_info.job" "{stem}.plugin_info.job"' in script
    assert (folder / "submit.bat").read_text().count("deadlinecommand") == len(stems)


def _task_command(folder, stem, first, last):
    """What a Deadline worker runs for frames first..last: the plugin's Arguments with its tokens
    replaced and split as a command line."""
    import shlex

    plugin = deadline.read_key_values(str(folder / f"{stem}.plugin_info.job"))
    text = plugin["Arguments"].replace("<QUOTE>", '"').replace("<STARTFRAME>", str(first))
    return shlex.split(text.replace("<ENDFRAME>", str(last)))


def test_a_value_with_spaces_and_quotes_reaches_the_task_whole(plate, tmp_path):
    from rvmatte.cli import build_parser

    colour = 'Linear Rec.709 (sRGB) "x"'
    shots = load_shots([plate], output_root=str(tmp_path / "out dir"), run_args=["--input-colorspace", colour])
    folder = tmp_path / "dead line"
    (stem,) = deadline.write_jobs(str(folder), shots, weights=WEIGHTS, batch_name="b")
    args = build_parser().parse_args(_task_command(folder, stem, 1001, 1020))
    assert args.input_colorspace == colour and args.input == shots[0].input
    assert (args.output_dir, args.weights, args.frames) == (shots[0].output_dir, WEIGHTS, "1001-1020")


def test_each_task_reads_its_arguments_from_a_file_the_job_ships_one_per_line(written):
    folder, stems, shots = written
    command = _task_command(folder, stems[0], 1001, 1020)
    assert command[0] == "run" and command[1].startswith("@")
    lines = open(command[1][1:], encoding="utf-8").read().splitlines()
    assert lines[0] == shots[0].input and lines[lines.index("--weights") + 1] == WEIGHTS


@pytest.mark.parametrize("value", ["a\nExecutable=/bin/evil", "a\rb", "a\x00b"])
def test_control_characters_in_any_value_of_a_job_are_refused(plate, tmp_path, value):
    from rvmatte.errors import InputError

    with pytest.raises(InputError, match="control character"):
        load_shots([plate], output_root=str(tmp_path), run_args=["--input-colorspace", value])
    with pytest.raises(InputError, match="control character"):
        load_shots([plate], output_root=str(tmp_path / value))


def test_a_checkpoint_that_does_not_load_fails_the_submission_not_every_task(plate, tmp_path, capsys):
    from rvmatte.cli import main

    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    for farm in ("deadline", "openjd"):
        assert main(["farm", farm, plate, "--output-root", str(tmp_path / "o"), "-o", str(tmp_path / farm),
                     "--weights", str(bad)]) != 0
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("rvmatte: error: ") and str(bad) in line
        assert not (tmp_path / farm).exists()


def test_a_shot_with_targets_gets_a_labelling_job_and_write_jobs_that_wait(plate, tmp_path):
    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=20, preroll=8,
                       run_args=["--target-point", "40,30@1001"])
    folder = tmp_path / "deadline"
    assert deadline.write_jobs(str(folder), shots, weights=WEIGHTS, batch_name="b") == \
        ["plate", "plate_label", "plate_write"]
    label = deadline.read_key_values(str(folder / "plate_label.job_info.job"))
    assert label["Frames"] == "1001" and label["ChunkSize"] == "1"
    assert "--frames" not in deadline.read_key_values(str(folder / "plate_label.plugin_info.job"))["Arguments"]
    args = (folder / "plate_label.args").read_text().splitlines()
    assert args[args.index("--frames") + 1] == "1001-1100" and args[-2:] == ["--people-step", "label"]
    assert (folder / "plate_write.args").read_text().splitlines()[-2:] == ["--people-step", "write"]
    script = (folder / "submit.sh").read_text().splitlines()
    submitted = [i for i, line in enumerate(script) if "deadlinecommand" in line]
    assert len(submitted) == 3 and all("JobID=" in script[i] for i in submitted)
    assert 'echo "JobDependencies=$id0"; } > "plate_label.dependent.job_info.job"' in script[submitted[1] - 1]
    assert 'echo "JobDependencies=$id1"; } > "plate_write.dependent.job_info.job"' in script[submitted[2] - 1]
    assert 'deadlinecommand "plate_write.dependent.job_info.job" "plate_write.plugin_info.job"' in script[submitted[2]]
    bat = (folder / "submit.bat").read_text()
    assert "echo JobDependencies=%ID0%" in bat and "echo JobDependencies=%ID1%" in bat


def test_the_submit_script_passes_each_job_id_to_the_jobs_that_wait(plate, tmp_path):
    """submit.sh run with a stand-in deadlinecommand that prints a JobID, as Deadline's does."""
    import os
    import subprocess

    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=20, preroll=8,
                       run_args=["--target-point", "40,30@1001"])
    folder = tmp_path / "deadline"
    deadline.write_jobs(str(folder), shots, weights=WEIGHTS, batch_name="b")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "deadlinecommand"
    stand_in.write_text('#!/bin/sh\necho "$1" >> "$(dirname "$0")/submitted"\n'
                        'echo "Result=Success"\necho "JobID=id-$(basename "$1" .job)"\n')
    stand_in.chmod(0o755)
    subprocess.run(["sh", str(folder / "submit.sh")], check=True,
                   env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert (bin_dir / "submitted").read_text().split() == [
        "plate.job_info.job", "plate_label.dependent.job_info.job", "plate_write.dependent.job_info.job"]
    assert deadline.read_key_values(str(folder / "plate_label.dependent.job_info.job"))["JobDependencies"] == \
        "id-plate.job_info"
    assert deadline.read_key_values(str(folder / "plate_write.dependent.job_info.job"))["JobDependencies"] == \
        "id-plate_label.dependent.job_info"
