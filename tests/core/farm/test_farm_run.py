"""Farm jobs run for real: `openjd run` on a generated bundle, killed and retried tasks.

Short shot: the 12 decoded frames of the mechanic clip in ../shared/data, at a
low downsample ratio, one CPU thread per run.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from paths import TEST_WEIGHTS

from rvmatte.cli import main
from rvmatte.farm.status import check

RVMATTE = Path(sys.executable).with_name("rvmatte")
OPENJD = Path(sys.executable).with_name("openjd")
RUN_OPTIONS = ["--downsample-ratio", "0.25", "--device", "cpu", "--threads", "1", "--weights", str(TEST_WEIGHTS)]
#: Half-float EXR round-off: frames computed from the same state agree to this.
SAME = 2e-3
#: Mean |Δα| allowed on a frame whose chunk warmed up on 4 frames instead of its
#: whole history: bench/chunk_continuity.py measures 2.4e-2 on average and 3.6e-2
#: at worst for a preroll of 4 on this clip at this ratio (docs/farm.md).
PREROLL_4_TOLERANCE = 4e-2


@pytest.fixture(scope="module")
def shot(shared_dir) -> str:
    return str(shared_dir / "data/real_video/rvmnuke_person_short_360x640/frames/####.png")


@pytest.fixture(scope="module")
def whole(shot, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole")
    subprocess.run([str(RVMATTE), "run", shot, "-o", str(out), *RUN_OPTIONS, "--progress", "none"], check=True)
    return out


def alpha(folder: Path, frame: int) -> np.ndarray:
    image = oiio.ImageBuf(str(folder / f"frames.alpha.{frame:04d}.exr"))
    return image.get_pixels(oiio.FLOAT)


def mean_difference(a: Path, b: Path, frame: int) -> float:
    return float(np.abs(alpha(a, frame) - alpha(b, frame)).mean())


def run_chunk(shot, out, frames, preroll, **popen):
    command = [str(RVMATTE), "run", shot, "-o", str(out), "--frames", frames, "--preroll", str(preroll),
               "--resume", "--progress", "openjd", *RUN_OPTIONS]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_openjd_run_of_a_generated_job_matches_a_whole_shot_run(shot, whole, tmp_path, capsys):
    job = tmp_path / "job"
    assert main(["farm", "openjd", shot, "-o", str(job), "--output-root", str(tmp_path / "out"),
                 "--chunk-size", "4", "--preroll", "4", "--device", "cpu", "--threads", "1",
                 "--rvmatte-command", str(RVMATTE), "--run-args", "--downsample-ratio 0.25"]) == 0
    ran = subprocess.run([str(OPENJD), "run", str(job / "template.json"), "-p", f"file://{job}/openjd_params.json"],
                         capture_output=True, text=True, timeout=600)
    log = ran.stdout + ran.stderr
    assert ran.returncode == 0, log[-3000:]
    assert "openjd_env: OMP_NUM_THREADS=1" in log
    assert "rvmatte 0.1.0 | weights" in log and "sha256" in log and "| device cpu" in log
    (status,) = check(str(job))
    assert status.complete and status.done == list(range(12))
    out = tmp_path / "out" / "frames"
    # Chunks 0-3 and 4-7 see the whole history (the preroll is clamped at the shot start).
    for frame in range(8):
        assert mean_difference(out, whole, frame) < SAME / 10, frame
        assert np.abs(alpha(out, frame) - alpha(whole, frame)).max() < SAME, frame
    # Chunk 8-11 warmed up on frames 4-7 only.
    for frame in range(8, 12):
        assert mean_difference(out, whole, frame) < PREROLL_4_TOLERANCE, frame


def test_a_task_killed_mid_chunk_and_rerun_completes_with_no_damaged_frame_and_no_seam(shot, tmp_path):
    reference, retried = tmp_path / "reference", tmp_path / "retried"
    assert run_chunk(shot, reference, "4-11", 4).wait(timeout=300) == 0
    task = run_chunk(shot, retried, "4-11", 4)
    written = 0
    for line in task.stdout:
        written += line.startswith("openjd_progress:")
        if written == 3:
            task.send_signal(signal.SIGKILL)
            break
    task.wait(timeout=60)
    assert task.returncode == -signal.SIGKILL
    (killed,) = check(str(retried))
    assert not killed.damaged, "a killed task leaves only whole frames behind"
    assert 3 <= len(killed.done) < 8
    assert run_chunk(shot, retried, "4-11", 4).wait(timeout=300) == 0
    (status,) = check(str(retried))
    assert status.done == list(range(4, 12)) and not status.damaged
    for frame in range(4, 12):
        assert np.abs(alpha(retried, frame) - alpha(reference, frame)).max() < SAME, frame


def test_a_retried_chunk_redoes_a_damaged_frame(shot, tmp_path):
    out = tmp_path / "out"
    assert run_chunk(shot, out, "0-3", 0).wait(timeout=300) == 0
    before = alpha(out, 3)
    path = out / "frames.alpha.0002.exr"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert check(str(out))[0].damaged == [2]
    rerun = run_chunk(shot, out, "0-3", 0)
    stdout, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0
    assert "1 written, 3 kept" in stdout
    assert check(str(out))[0].complete
    assert np.array_equal(alpha(out, 3), before)


def test_two_tasks_writing_the_same_chunk_leave_no_corrupt_file(shot, whole, tmp_path):
    out = tmp_path / "out"
    tasks = [run_chunk(shot, out, "0-3", 0) for _ in range(2)]
    assert [t.wait(timeout=300) for t in tasks] == [0, 0]
    (status,) = check(str(out))
    assert status.complete and status.stale_temp_files == 0
    for frame in range(4):
        assert np.abs(alpha(out, frame) - alpha(whole, frame)).max() < SAME
