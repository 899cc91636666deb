"""A shot with keyframes on the farm: one fine-tune task first, the matte tasks waiting for it and loading
its tuned checkpoint, on all three farms; run for real with ``openjd run``."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from paths import TEST_WEIGHTS
from rvmatte.cli import main
from rvmatte.errors import InputError
from rvmatte.farm import deadline, opencue
from rvmatte.farm.openjd import job_template
from rvmatte.farm.shots import attach_finetune, load_shots
from shots import make_png_shot, read, spec_of

RVMATTE = Path(sys.executable).with_name("rvmatte")
OPENJD = Path(sys.executable).with_name("openjd")


@pytest.fixture
def shot(tmp_path):
    plate = make_png_shot(tmp_path / "plate", count=4)
    keys = tmp_path / "keys"
    keys.mkdir()
    alpha = np.zeros((144, 256), np.float32)
    alpha[40:120, 90:170] = 1
    for frame in (2, 4):
        out = oiio.ImageOutput.create(str(keys / f"key.{frame:04d}.png"))
        assert out.open(str(keys / f"key.{frame:04d}.png"), oiio.ImageSpec(256, 144, 1, oiio.UINT8))
        assert out.write_image(alpha)
        out.close()
    return plate, str(keys / "key.####.png")


def _shots(tmp_path, plate, keys, **extra):
    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=2, preroll=1, keyframes=keys, **extra)
    attach_finetune(shots, str(TEST_WEIGHTS))
    return shots


def test_the_tuned_checkpoint_is_named_for_the_shot_and_its_inputs(tmp_path, shot):
    plate, keys = shot
    (one,) = _shots(tmp_path, plate, keys)
    assert one.tuned_weights.startswith(str(tmp_path / "out" / one.name / "tuned" / f"{one.name}.ft"))
    assert one.tuned_weights.endswith(".pth")
    (same,) = _shots(tmp_path, plate, keys)
    assert same.tuned_weights == one.tuned_weights
    Path(keys.replace("####", "0004")).write_bytes(Path(keys.replace("####", "0002")).read_bytes() + b"\0")
    (changed,) = _shots(tmp_path, plate, keys)
    assert changed.tuned_weights != one.tuned_weights
    (other_args,) = _shots(tmp_path, plate, keys, finetune_args=["--steps", "3"])
    assert other_args.tuned_weights not in (one.tuned_weights, changed.tuned_weights)


def test_openjd_runs_the_finetune_step_first_and_the_matte_step_loads_its_output(tmp_path, shot):
    plate, keys = shot
    (one,) = _shots(tmp_path, plate, keys)
    finetune, matte = job_template([one], device="cpu")["steps"]
    args = finetune["script"]["actions"]["onRun"]["args"]
    assert args[0] == "finetune" and args[args.index("-o") + 1] == one.tuned_weights
    assert args[args.index("--keyframes") + 1] == keys and "parameterSpace" not in finetune
    assert matte["dependencies"] == [{"dependsOn": finetune["name"]}]
    matte_args = matte["script"]["actions"]["onRun"]["args"]
    assert matte_args[matte_args.index("--weights") + 1] == one.tuned_weights


def test_deadline_matte_jobs_wait_for_the_finetune_job(tmp_path, shot):
    plate, keys = shot
    (one,) = _shots(tmp_path, plate, keys)
    found = deadline.jobs([one], weights=str(TEST_WEIGHTS), batch_name="b", device="cpu", args_dir=str(tmp_path))
    (stem, _, plugin, task_args, after), *mattes = found
    assert stem.endswith("_finetune") and after == [] and plugin["Arguments"].startswith("finetune <QUOTE>@")
    assert task_args[0] == plate and task_args[task_args.index("-o") + 1] == one.tuned_weights
    assert mattes and all(m[4] == [stem] for m in mattes)
    assert all(m[3][m[3].index("--weights") + 1] == one.tuned_weights for m in mattes)


def test_opencue_matte_layers_wait_for_the_finetune_layer(tmp_path, shot):
    plate, keys = shot
    (one,) = _shots(tmp_path, plate, keys)
    job = opencue.job_description([one], weights=str(TEST_WEIGHTS), job_name="j", show="s", device="cpu")
    first, *rest = job["layers"]
    assert first["name"].endswith("_finetune") and first["chunk"] == 1 and "after" not in first
    assert "rvmatte finetune" in first["command"] and one.tuned_weights in first["command"]
    assert rest and all(layer["after"] == [first["name"]] for layer in rest)


def _finetune_task_args(shot_):
    (finetune, _) = job_template([shot_], device="cpu")["steps"]
    return finetune["script"]["actions"]["onRun"]["args"]


def test_the_finetune_task_takes_the_shots_masks_and_plate_options_from_its_run_args(tmp_path, shot):
    plate, keys = shot
    run_args = ["--holdout", "/masks/hold.####.exr", "--garbage=/masks/garb.####.exr",
                "--input-colorspace", "ACEScg", "--downsample-ratio", "0.5", "--precision", "float16"]
    (one,) = _shots(tmp_path, plate, keys, run_args=run_args)
    args = _finetune_task_args(one)
    assert args[args.index("--holdout") + 1] == "/masks/hold.####.exr"
    assert args[args.index("--garbage") + 1] == "/masks/garb.####.exr"
    assert args[args.index("--input-colorspace") + 1] == "ACEScg"
    assert args[args.index("--downsample-ratio") + 1] == "0.5"
    assert "--precision" not in args          # training precision is the fine-tune's own choice


def test_finetune_args_given_for_the_shot_win_over_what_it_inherits(tmp_path, shot):
    plate, keys = shot
    (one,) = _shots(tmp_path, plate, keys, run_args=["--downsample-ratio", "0.5"],
                    finetune_args=["--downsample-ratio", "0.25"])
    from rvmatte.cli import build_parser

    parsed = build_parser().parse_args(_finetune_task_args(one))
    assert parsed.command == "finetune" and str(parsed.downsample_ratio) == "0.25"


def test_another_mask_makes_another_tuned_checkpoint(tmp_path, shot):
    plate, keys = shot
    (plain,) = _shots(tmp_path, plate, keys)
    (masked,) = _shots(tmp_path, plate, keys, run_args=["--holdout", "/masks/hold.####.exr"])
    (other,) = _shots(tmp_path, plate, keys, run_args=["--holdout", "/masks/other.####.exr"])
    assert len({plain.tuned_weights, masked.tuned_weights, other.tuned_weights}) == 3


@pytest.mark.parametrize("extra, words", [
    ({"finetune_args": ["-o", "x.pth"]}, "must not set -o/--output: the farm job sets it"),
    ({"finetune_args": ["--stepz", "3"]}, "finetune_args:"),
])
def test_bad_finetune_args_are_one_line(tmp_path, shot, extra, words):
    plate, keys = shot
    with pytest.raises(InputError) as error:
        _shots(tmp_path, plate, keys, **extra)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_a_keyframe_outside_the_shot_is_refused_at_submission(tmp_path, shot):
    plate, keys = shot
    with pytest.raises(InputError, match="keyframe 4 is not one of the shot's frames"):
        load_shots([plate], output_root=str(tmp_path / "out"), frames="1-3", keyframes=keys)


def test_finetune_args_without_keyframes_are_refused(tmp_path, shot):
    plate, _ = shot
    listing = tmp_path / "shots.json"
    listing.write_text(json.dumps([{"input": plate, "finetune_args": ["--steps", "3"]}]))
    with pytest.raises(InputError, match="'finetune_args' without 'keyframes'"):
        load_shots([str(listing)], output_root=str(tmp_path / "out"))


def test_openjd_job_finetunes_then_mattes_with_the_tuned_weights_and_a_requeue_skips(tmp_path, shot):
    plate, keys = shot
    job, out = tmp_path / "job", tmp_path / "out"
    assert main(["farm", "openjd", plate, "-o", str(job), "--output-root", str(out), "--chunk-size", "2",
                 "--preroll", "1", "--device", "cpu", "--threads", "1", "--weights", str(TEST_WEIGHTS),
                 "--rvmatte-command", str(RVMATTE), "--keyframes", keys,
                 "--finetune-args", "--steps 1 --threads 1"]) == 0
    template = json.loads((job / "template.json").read_text())
    finetune_step, matte_step = (s["name"] for s in template["steps"])

    def openjd(step):
        ran = subprocess.run([str(OPENJD), "run", str(job / "template.json"), "-p",
                              f"file://{job}/openjd_params.json", "--step", step, "--run-dependencies"],
                             capture_output=True, text=True, timeout=900)
        assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
        return ran.stdout + ran.stderr

    openjd(matte_step)
    (tuned,) = (out / "plate" / "tuned").glob("*.pth")
    sidecar = json.loads(Path(str(tuned) + ".rvmatte.json").read_text())
    assert sidecar["keyframes"]["frames"] == [2, 4] and sidecar["steps"] == 1
    alphas = sorted((out / "plate").glob("plate.alpha.*.exr"))
    assert len(alphas) == 4
    header = spec_of(alphas[0])
    assert header.getattribute("rvmatte/base_weights_sha256") == sidecar["base_weights_sha256"]
    assert header.getattribute("rvmatte/weights_sha256") == sidecar["tuned_weights_sha256"]
    stamp = tuned.stat().st_mtime_ns
    log = openjd(finetune_step)
    assert "already fine-tuned" in log and tuned.stat().st_mtime_ns == stamp
