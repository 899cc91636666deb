"""People on the farm: matte chunks, one labelling task, chunk writes — run for real with ``openjd run``
(the step dependencies decide the order) and compared with the whole-shot ``rvmatte run --target``."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from composites import make_shot, rough_mask, write_mask
from paths import TEST_WEIGHTS
from rvmatte.cli import main
from rvmatte.farm.status import check

pytest.importorskip("cv2", reason="the people pass needs opencv-python-headless")

RVMATTE = Path(sys.executable).with_name("rvmatte")
OPENJD = Path(sys.executable).with_name("openjd")
FRAMES = 6
#: Frames 4-6 warm up on frames 1-3, their whole history: the same matte as the whole-shot run but for
#: float round-off of another batch of frames.
SAME = 2e-3


def _read(path):
    buf = oiio.ImageBuf(str(path))
    pixels = buf.get_pixels(oiio.FLOAT)
    return {name: pixels[:, :, i] for i, name in enumerate(buf.spec().channelnames)}


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people_farm")
    made = make_shot(str(folder), "apart", 256, 144, FRAMES)
    # The mask is on the last frame only: the labelling tracks back through both chunks.
    write_mask(str(folder / f"hero.{FRAMES:04d}.png"), rough_mask(made["arrays"][FRAMES][0]))
    options = ["--float", "--threads", "1", "--target", f"hero={folder}/hero.####.png"]
    whole = folder / "whole"
    assert main(["run", made["plate"], "-o", str(whole), "--progress", "none", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), *options]) == 0
    return folder, made, options, whole


def _farm_job(shot, job, out):
    folder, made, options, _ = shot
    assert main(["farm", "openjd", made["plate"], "-o", str(job), "--output-root", str(out), "--chunk-size", "3",
                 "--preroll", "3", "--device", "cpu", "--threads", "1", "--weights", str(TEST_WEIGHTS),
                 "--rvmatte-command", str(RVMATTE), "--run-args", " ".join(options)]) == 0
    return json.loads((job / "template.json").read_text())


def test_openjd_runs_the_people_steps_in_order_and_gives_the_whole_shot_runs_outputs(shot, tmp_path):
    _, made, _, whole = shot
    job, out = tmp_path / "job", tmp_path / "out"
    template = _farm_job(shot, job, out)
    write_step = template["steps"][-1]["name"]
    ran = subprocess.run([str(OPENJD), "run", str(job / "template.json"), "-p", f"file://{job}/openjd_params.json",
                          "--step", write_step, "--run-dependencies"], capture_output=True, text=True, timeout=900)
    log = ran.stdout + ran.stderr
    assert ran.returncode == 0, log[-3000:]
    (status,) = check(str(job))
    assert status.complete and status.done == list(range(1, FRAMES + 1))
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    for frame in range(1, FRAMES + 1):
        farm = _read(folder / f"shot.people.{frame:04d}.exr")
        local = _read(whole / f"shot.people.{frame:04d}.exr")
        assert set(farm) == set(local) and "hero.A" in farm
        assert np.abs(farm["hero.A"] - local["hero.A"]).max() < SAME, frame
        picked_farm, picked_local = farm["hero.A"] > 0, local["hero.A"] > 0
        assert (picked_farm != picked_local).mean() < 1e-3, frame          # the same pixels are the hero's
        farm_alpha = _read(folder / f"shot.alpha.{frame:04d}.exr")["A"]
        assert np.abs(farm_alpha - _read(whole / f"shot.alpha.{frame:04d}.exr")["A"]).max() < SAME, frame
        assert np.all(farm_alpha[made["arrays"][frame][1] > 0.5] == 0)        # the other person is gone



def _label(shot, out, capsys):
    folder, made, options, _ = shot
    command = ["run", made["plate"], "-o", str(out), "--frames", f"1-{FRAMES}", "--people-step", "label",
               "--progress", "none", *options]
    assert main(command) == 0
    return capsys.readouterr().err


def test_a_requeued_labelling_task_carries_on_after_its_last_labelled_frame(shot, tmp_path, capsys):
    folder, made, options, whole = shot
    out = tmp_path / "out"
    assert main(["run", made["plate"], "-o", str(out), "--people-step", "matte", "--progress", "none",
                 "--device", "cpu", "--weights", str(TEST_WEIGHTS), *options]) == 0
    assert "6 now" in _label(shot, out, capsys)
    work = out / ".rvmatte-people"
    first = {f: _read(work / f"shot.labels.{f:04d}.exr")["label"] for f in range(1, FRAMES + 1)}
    # An interrupted try: the backward pass from the mask (frame 6) had reached frame 3.
    for frame in (2, 1):
        (work / f"shot.labels.{frame:04d}.exr").unlink()
    assert "2 now" in _label(shot, out, capsys)
    for frame, labels in first.items():
        np.testing.assert_array_equal(_read(work / f"shot.labels.{frame:04d}.exr")["label"], labels)
    assert "0 now" in _label(shot, out, capsys)                    # nothing left: a rerun is idempotent


def test_label_maps_of_another_mask_are_redone_and_writes_refuse_missing_labels(shot, tmp_path, capsys):
    folder, made, options, _ = shot
    out = tmp_path / "out"
    assert main(["run", made["plate"], "-o", str(out), "--people-step", "matte", "--progress", "none",
                 "--device", "cpu", "--weights", str(TEST_WEIGHTS), *options]) == 0
    write = ["run", made["plate"], "-o", str(out), "--frames", "1-3", "--people-step", "write", "--progress", "none",
             *options]
    assert main(write) == 1
    assert "frame 1 has no label map" in capsys.readouterr().err
    _label(shot, out, capsys)
    mask = folder / "other_mask"
    mask.mkdir()
    write_mask(str(mask / f"m.{FRAMES:04d}.png"), rough_mask(made["arrays"][FRAMES][1]))
    other = [*options[:-1], f"hero={mask}/m.####.png"]
    assert main(["run", made["plate"], "-o", str(out), "--frames", "1-3", "--people-step", "write",
                 "--progress", "none", *other]) == 1
    assert "made with other settings" in capsys.readouterr().err
    assert main(["run", made["plate"], "-o", str(out), "--frames", f"1-{FRAMES}", "--people-step", "label",
                 "--progress", "none", *other]) == 0
    assert f"{FRAMES} now" in capsys.readouterr().err


def test_a_matte_chunk_refuses_a_mask_of_another_size_before_any_work(shot, tmp_path, capsys):
    folder, made, _, _ = shot
    write_mask(str(tmp_path / "small.0001.png"), np.ones((50, 60), bool))
    assert main(["run", made["plate"], "-o", str(tmp_path / "out"), "--frames", "1-3", "--people-step", "matte",
                 "--progress", "none", "--target", str(tmp_path / "small.####.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "60x50" in err[0] and "256x144" in err[0]
    assert not (tmp_path / "out").exists()
