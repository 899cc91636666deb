"""`rvmatte farm status`: done, missing and damaged frames per shot, from real EXR files."""

import json
import os

import numpy as np
import pytest

from rvmatte.cli import main
from rvmatte.farm import openjd
from rvmatte.farm.shots import load_shots
from rvmatte.farm.status import check
from rvmatte.io import write_frame


def _write_passes(folder, name, frame):
    alpha = np.full((8, 8, 1), 0.5, np.float32)
    write_frame(os.path.join(folder, f"{name}.alpha.{frame:04d}.exr"), alpha, ["A"])
    write_frame(os.path.join(folder, f"{name}.fgr.{frame:04d}.exr"), np.full((8, 8, 4), 0.5, np.float32), list("RGBA"))


def _truncate(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)


@pytest.fixture
def job(plate, tmp_path):
    """A bundle for sh010 frames 1001-1010, where 1001-1006 were written, 1004's alpha cut in half."""
    (shot,) = load_shots([plate], output_root=str(tmp_path / "out"), frames="1001-1010")
    openjd.write_bundle(str(tmp_path / "job"), [shot], weights="/w.pth")
    for frame in range(1001, 1007):
        _write_passes(shot.output_dir, "plate", frame)
    _truncate(os.path.join(shot.output_dir, "plate.alpha.1004.exr"))
    os.remove(os.path.join(shot.output_dir, "plate.fgr.1006.exr"))
    return tmp_path / "job", shot


def test_a_job_folder_reports_done_missing_and_damaged_frames(job):
    folder, shot = job
    (status,) = check(str(folder))
    assert status.done == [1001, 1002, 1003, 1005]
    assert status.damaged == [1004]
    assert status.missing == [1006, 1007, 1008, 1009, 1010]
    assert not status.complete


def test_an_output_folder_without_a_plan_reports_the_found_sequences(job):
    _, shot = job
    (status,) = check(os.path.dirname(shot.output_dir))
    assert status.name == "plate/plate"
    assert status.frames == list(range(1001, 1007))
    assert status.damaged == [1004] and status.missing == [1006]


def test_a_leftover_temporary_file_is_counted(job):
    folder, shot = job
    open(os.path.join(shot.output_dir, ".plate.alpha.1007.exr.tmp-99-ab12cd34.exr"), "wb").close()
    assert check(str(folder))[0].stale_temp_files == 1


def test_the_command_prints_one_line_per_shot_and_fails_while_incomplete(job, capsys):
    folder, _ = job
    assert main(["farm", "status", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "plate: 4/10 done, missing 1006-1010, damaged 1004" in out
    assert "0/1 shots complete" in out


def test_the_command_succeeds_once_every_frame_reads_back(job, capsys):
    folder, shot = job
    for frame in range(1004, 1011):
        _write_passes(shot.output_dir, "plate", frame)
    assert main(["farm", "status", str(folder), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["shots"]
    assert report["complete"] and report["done"] == "1001-1010"


def test_nothing_to_check_is_a_one_line_error(tmp_path, capsys):
    assert main(["farm", "status", str(tmp_path)]) != 0
    assert "rvmatte: error: no rvmatte_plan.json" in capsys.readouterr().err


def _write_keyed_passes(folder, name, frame, key):
    attributes = {"rvmatte/result_key": key}
    alpha = np.full((8, 8, 1), 0.5, np.float32)
    write_frame(os.path.join(folder, f"{name}.alpha.{frame:04d}.exr"), alpha, ["A"], attributes=attributes)
    write_frame(os.path.join(folder, f"{name}.fgr.{frame:04d}.exr"), np.full((8, 8, 4), 0.5, np.float32),
                list("RGBA"), attributes=attributes)


def _set_mtime(folder, name, frame, seconds):
    for kind in ("alpha", "fgr"):
        os.utime(os.path.join(folder, f"{name}.{kind}.{frame:04d}.exr"), (seconds, seconds))


@pytest.fixture
def rerun_job(plate, tmp_path):
    """sh010 frames 1001-1004 made with settings 'old', then 1003-1004 rerun later with settings 'new'."""
    (shot,) = load_shots([plate], output_root=str(tmp_path / "out"), frames="1001-1004")
    openjd.write_bundle(str(tmp_path / "job"), [shot], weights="/w.pth")
    for frame in (1001, 1002):
        _write_keyed_passes(shot.output_dir, "plate", frame, "0ld0ld0ld0ld0ld0")
        _set_mtime(shot.output_dir, "plate", frame, 1_000_000)
    for frame in (1003, 1004):
        _write_keyed_passes(shot.output_dir, "plate", frame, "4e44e44e44e44e44")
        _set_mtime(shot.output_dir, "plate", frame, 2_000_000)
    return tmp_path / "job", shot


def test_frames_made_with_other_settings_than_the_last_run_are_not_done(rerun_job):
    folder, _ = rerun_job
    (status,) = check(str(folder))
    assert status.done == [1003, 1004]
    assert status.other_settings == [1001, 1002]
    assert not status.complete


def test_a_frame_whose_passes_disagree_on_their_settings_is_not_done(rerun_job):
    folder, shot = rerun_job
    write_frame(os.path.join(shot.output_dir, "plate.alpha.1004.exr"), np.zeros((8, 8, 1), np.float32), ["A"],
                attributes={"rvmatte/result_key": "0ld0ld0ld0ld0ld0"})
    _set_mtime(shot.output_dir, "plate", 1004, 1_000_000)
    (status,) = check(str(folder))
    assert status.done == [1003] and status.other_settings == [1001, 1002, 1004]


def test_the_command_reports_frames_made_with_other_settings(rerun_job, capsys):
    folder, _ = rerun_job
    assert main(["farm", "status", str(folder)]) == 1
    assert "plate: 2/4 done, made with other settings 1001-1002" in capsys.readouterr().out
    assert main(["farm", "status", str(folder), "--json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)["shots"]
    assert report["other_settings"] == "1001-1002" and report["other_settings_count"] == 2


def test_status_lists_the_done_frames_to_check_worst_first_from_their_qc_scores(tmp_path, capsys):
    folder = str(tmp_path)
    for frame, score in ((1, 0.01), (2, 0.2), (3, 0.05)):
        write_frame(os.path.join(folder, f"sh.alpha.{frame:04d}.exr"), np.full((8, 8, 1), 0.5, np.float32), ["A"],
                    attributes={"rvmatte/qc_score": score})
    (status,) = check(folder)
    assert [frame for frame, _ in status.to_check] == [2, 3, 1]
    assert status.to_check[0][1] == pytest.approx(0.2)
    main(["farm", "status", folder])
    assert "check first: 2 (0.2), 3 (0.05), 1 (0.01)" in capsys.readouterr().out
