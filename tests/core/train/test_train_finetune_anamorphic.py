"""``rvmatte finetune`` on an anamorphic plate (pixel aspect 2): it trains through the forward
``rvmatte run`` uses there, at the plate's stored size."""
import numpy as np
import pytest
import torch

from paths import TEST_WEIGHTS
from shots import read
from tiny_shot import errors_on_other_frames, held_object, model_inputs, write_anamorphic_shot, write_png
from rvmatte.cli import main
from rvmatte.session import Session
from rvmatte.train.finetune import FinetuneConfig, finetune, forward_clip, read_shot
from rvmatte.weights import load_model

KEYS = (2, 6)


def fresh():
    return load_model("mobilenetv3", TEST_WEIGHTS, device="cpu")


@pytest.fixture(scope="module")
def squeezed(tmp_path_factory):
    """(plate pattern, keyframe pattern, {frame: truth at the stored 64x72}) of the 2:1 shot."""
    folder = tmp_path_factory.mktemp("anamorphic")
    plate, truth = write_anamorphic_shot(folder)
    for k in KEYS:
        write_png(folder / f"key.{k:04d}.png", truth[k])
    return plate, str(folder / "key.####.png"), truth


def in_object(frame):
    return held_object(frame - 1)[:, ::2]


def test_the_shot_is_read_with_its_pixel_aspect(squeezed):
    plate, keys, _ = squeezed
    data = read_shot(plate, keys, FinetuneConfig(steps=1))
    assert data.pixel_aspect == 2.0


def test_the_training_forward_matches_the_session_on_an_anamorphic_plate(squeezed):
    plate, _, truth = squeezed
    model = fresh()
    frames = sorted(truth)[:4]
    inputs = model_inputs(plate)
    clip = torch.stack([inputs[f] for f in frames])
    session = Session(model, downsample_ratio=1.0, pixel_aspect=2.0)
    ref = torch.cat([session.infer(f[None])[0] for f in clip])
    with torch.no_grad():
        _, pha = forward_clip(model, clip[None], 1.0, pixel_aspect=2.0)
    assert pha.shape[-2:] == (72, 64)
    assert float((pha[0] - ref).abs().max()) < 1e-4


def test_a_few_steps_learn_the_planted_object_on_frames_without_keyframes(squeezed):
    # On this 64x72 shot, 12 steps through the refiner vary much with the seed (object error 0.08-0.9
    # for seeds 0-3, square plates at ratio 0.5 alike), so only the object is asserted, not the whole frame.
    plate, keys, truth = squeezed
    config = FinetuneConfig(steps=12, lr=1e-3)
    data = read_shot(plate, keys, config)
    base_all, base_object = errors_on_other_frames(fresh(), data, truth, KEYS, in_object)
    model = fresh()
    finetune(model, data, config)
    tuned_all, tuned_object = errors_on_other_frames(model, data, truth, KEYS, in_object)
    assert base_object > 0.5                          # the planted mistake survives the squeeze
    assert tuned_object < 0.6 * base_object and tuned_all < 1.5 * base_all


def test_a_zero_step_finetune_gives_the_base_alpha_bit_for_bit(squeezed, tmp_path):
    plate, keys, _ = squeezed
    tuned = tmp_path / "tuned.pth"
    assert main(["finetune", plate, "--keyframes", keys, "-o", str(tuned), "--steps", "0", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), "--progress", "none"]) == 0
    for name, weights in (("base", TEST_WEIGHTS), ("tuned", tuned)):
        assert main(["run", plate, "--alpha", str(tmp_path / name / "a.####.exr"), "--weights", str(weights),
                     "--device", "cpu", "--progress", "none"]) == 0
    for frame in range(1, 9):
        base, tuned_alpha = (read(tmp_path / n / f"a.{frame:04d}.exr") for n in ("base", "tuned"))
        assert base.shape[:2] == (72, 64) and np.array_equal(base, tuned_alpha)
