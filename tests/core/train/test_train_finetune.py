"""``rvmatte finetune`` as a function: it learns from keyframes, stays reproducible, and saves safely."""
import json
import os

import numpy as np
import pytest
import torch

from paths import TEST_WEIGHTS
from tiny_shot import held_object, write_held_object_shot, write_png
from rvmatte.errors import OutputError
from rvmatte.train.finetune import FinetuneConfig, finetune, forward_clip, read_shot, save_tuned, state_dict_bytes
from rvmatte.weights import load_model

KEYS = (2, 6)


def fresh():
    return load_model("mobilenetv3", TEST_WEIGHTS, device="cpu")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A tiny shot with a held object the base network leaves out, and its truth at frames 2 and 6."""
    folder = tmp_path_factory.mktemp("planted")
    plate, truth = write_held_object_shot(folder)
    for k in KEYS:
        write_png(folder / f"key.{k:04d}.png", truth[k])
    return plate, str(folder / "key.####.png"), truth


def errors(model, plate, truth):
    """(MAD on the frames that are not keyframes, MAD inside the held object there)."""
    from rvmatte.io import open_input

    frames = sorted(truth)
    clip = torch.stack([torch.from_numpy(p.rgb).permute(2, 0, 1) for p in open_input(plate).read(frames)])
    with torch.no_grad():
        _, pha = forward_clip(model, clip[None], 1.0)
    others = [f for f in frames if f not in KEYS]
    diff = {f: np.abs(pha[0, frames.index(f), 0].numpy() - truth[f]) for f in others}
    return (float(np.mean([d.mean() for d in diff.values()])),
            float(np.mean([diff[f][held_object(f - 1)].mean() for f in others])))


def tune(plate, keys, **settings):
    config = FinetuneConfig(**{"steps": 12, "lr": 1e-3, **settings})
    model = fresh()
    summary = finetune(model, read_shot(plate, keys, config), config)
    return model, summary


def test_a_few_steps_lower_the_error_on_frames_without_keyframes(planted):
    plate, keys, truth = planted
    base_all, base_object = errors(fresh(), plate, truth)
    assert base_object > 0.9                      # the planted mistake: the base leaves the object out
    model, _ = tune(plate, keys)
    tuned_all, tuned_object = errors(model, plate, truth)
    assert tuned_object < 0.6 * base_object
    assert tuned_all < 0.75 * base_all


def test_without_the_keyframe_loss_nothing_is_learned(planted, monkeypatch):
    # the check above must be able to fail: with the supervised losses cut off it sees no gain
    import rvmatte.train.finetune as ft

    monkeypatch.setattr(ft, "alpha_loss", lambda pred, true, coherence=True: (pred * 0).sum())
    monkeypatch.setattr(ft, "l1_loss", lambda pred, true: (pred * 0).sum())
    plate, keys, truth = planted
    model, _ = tune(plate, keys, steps=3)
    assert errors(model, plate, truth) == errors(fresh(), plate, truth)


def test_batchnorm_stays_in_eval_mode_and_keeps_its_statistics(planted):
    plate, keys, _ = planted
    base = fresh()
    model, _ = tune(plate, keys, steps=2, train="all")
    batchnorms = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert batchnorms and not any(m.training for _, m in batchnorms)
    reference = dict(base.named_buffers())
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, reference[name]), name


def test_the_encoder_stays_as_it_was_by_default(planted):
    plate, keys, _ = planted
    base = dict(fresh().named_parameters())
    model, _ = tune(plate, keys, steps=2)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(p, base[n])}
    assert changed and changed <= {"decoder", "project_mat", "refiner"}


def test_zero_steps_keep_the_base_weights_exactly(planted):
    plate, keys, _ = planted
    model, summary = tune(plate, keys, steps=0)
    assert summary["steps"] == 0
    base = fresh().state_dict()
    assert all(torch.equal(v, base[k]) for k, v in model.state_dict().items())


def test_the_same_inputs_and_seed_give_the_same_bytes(planted):
    plate, keys, _ = planted
    first = state_dict_bytes(tune(plate, keys, steps=2)[0])
    assert state_dict_bytes(tune(plate, keys, steps=2)[0]) == first
    assert state_dict_bytes(tune(plate, keys, steps=2, seed=1)[0]) != first


def test_the_tuned_file_loads_strictly_and_holds_the_tuned_weights(planted, tmp_path):
    plate, keys, _ = planted
    model, _ = tune(plate, keys, steps=2)
    path = tmp_path / "tuned.pth"
    save_tuned(str(path), model, {"format": "x"})
    state = torch.load(path, weights_only=True)
    assert list(state) == list(fresh().state_dict())           # the official keys, in order
    loaded = load_model("mobilenetv3", path, device="cpu")      # strict
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_a_failure_while_saving_keeps_the_previous_file_and_leaves_no_temp(planted, tmp_path, monkeypatch):
    plate, keys, _ = planted
    model = fresh()
    path = tmp_path / "tuned.pth"
    path.write_bytes(b"previous checkpoint")
    (tmp_path / "tuned.pth.rvmatte.json").write_text("previous sidecar")
    import rvmatte.io.writing as writing

    real_replace = os.replace

    def full_disk(temp, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing.os, "replace", full_disk)
    with pytest.raises(OutputError, match=r"tuned\.pth.*No space left"):
        save_tuned(str(path), model, {"format": "x"})
    monkeypatch.setattr(writing.os, "replace", real_replace)
    assert path.read_bytes() == b"previous checkpoint"
    assert (tmp_path / "tuned.pth.rvmatte.json").read_text() == "previous sidecar"
    assert sorted(os.listdir(tmp_path)) == ["tuned.pth", "tuned.pth.rvmatte.json"]


def test_the_sidecar_names_what_the_weights_were_made_from(planted, tmp_path):
    from rvmatte.train.finetune import lineage_of
    from rvmatte.train.lineage import read_lineage, sidecar_path
    from rvmatte.weights import sha256_of

    plate, keys, _ = planted
    config = FinetuneConfig(steps=1, lr=1e-3, seed=5)
    model = fresh()
    data = read_shot(plate, keys, config)
    summary = finetune(model, data, config)
    path = str(tmp_path / "tuned.pth")
    sha = save_tuned(path, model, lineage_of(data, config, model, summary, precision="float32", device="cpu"))
    lineage = json.loads(open(sidecar_path(path)).read())
    assert lineage["tuned_weights_sha256"] == sha == sha256_of(path)
    assert lineage["base_weights_sha256"] == sha256_of(TEST_WEIGHTS)
    assert lineage["keyframes"]["frames"] == list(KEYS)
    assert lineage["keyframes"]["sha256"]["6"] == sha256_of(keys.replace("####", "0006"))
    assert lineage["shot"]["path"] == os.path.abspath(plate)
    assert lineage["config"]["lr"] == 1e-3 and lineage["seed"] == 5 and lineage["steps"] == 1
    assert lineage["rvmatte_version"]
    assert read_lineage(path, sha) == lineage
    assert read_lineage(path, "0" * 64) is None                 # a sidecar beside another file is not believed
