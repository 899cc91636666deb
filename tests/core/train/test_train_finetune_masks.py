"""``rvmatte finetune --holdout / --garbage``: what the masks decide plays no part in training."""
import json

import numpy as np
import pytest

from paths import TEST_WEIGHTS
from tiny_shot import errors_on_other_frames, held_object, write_held_object_shot, write_png
from rvmatte.cli import main
from rvmatte.train.finetune import FinetuneConfig, finetune, read_shot
from rvmatte.weights import load_model

KEYS = (2, 6)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The held-object shot, its truth at frames 2 and 6 as keyframes, and per-frame mattes of the
    object: ``hold.####.png`` (1 on the object) and ``keep.####.png`` (its complement)."""
    folder = tmp_path_factory.mktemp("planted_masks")
    plate, truth = write_held_object_shot(folder)
    for k in KEYS:
        write_png(folder / f"key.{k:04d}.png", truth[k])
    for frame in truth:
        bar = held_object(frame - 1).astype(np.float32)
        write_png(folder / f"hold.{frame:04d}.png", bar)
        write_png(folder / f"keep.{frame:04d}.png", 1 - bar)
    return plate, str(folder / "key.####.png"), truth, folder


def object_error(plate, keys, truth, **masks):
    config = FinetuneConfig(steps=12, lr=1e-3)
    model = load_model("mobilenetv3", TEST_WEIGHTS, device="cpu")
    data = read_shot(plate, keys, config, **masks)
    base = errors_on_other_frames(model, data, truth, KEYS, lambda f: held_object(f - 1))[1]
    finetune(model, data, config)
    return base, errors_on_other_frames(model, data, truth, KEYS, lambda f: held_object(f - 1))[1]


@pytest.mark.parametrize("mask", ["holdout", "garbage"])
def test_a_region_the_masks_decide_is_not_learned_from_the_keyframes(planted, mask):
    # The keyframes say the object is foreground; a holdout over it (or a garbage matte leaving it
    # out) forces its alpha to 0 in every run, so training must not learn it: its error stays as in
    # the base. Without the mask the same fine-tune learns it (test_train_finetune: error < 0.6 x base).
    plate, keys, truth, folder = planted
    path = str(folder / ("hold.####.png" if mask == "holdout" else "keep.####.png"))
    base, tuned = object_error(plate, keys, truth, **{mask: path})
    assert base > 0.9
    assert tuned > 0.85 * base


def _finetune(planted, out, *extra):
    plate, keys, _, _ = planted
    return main(["finetune", plate, "--keyframes", keys, "-o", str(out), "--steps", "1", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), "--progress", "json", *extra])


def _done(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [e for e in lines if e["event"] == "done"][-1]


def test_the_sidecar_names_the_mask_files_and_a_changed_mask_redoes_the_finetune(planted, tmp_path, capsys):
    import shutil

    from rvmatte.weights import sha256_of

    folder = tmp_path / "hold"
    shutil.copytree(planted[3], folder, ignore=shutil.ignore_patterns("plate.*", "key.*", "keep.*"))
    out = tmp_path / "tuned.pth"
    assert _finetune(planted, out, "--holdout", str(folder / "hold.####.png")) == 0
    lineage = json.loads((tmp_path / "tuned.pth.rvmatte.json").read_text())
    held = lineage["masks"]["holdout"]
    assert held["pattern"] == str(folder / "hold.####.png") and "garbage" not in lineage["masks"]
    assert held["sha256"]["6"] == sha256_of(folder / "hold.0006.png")
    capsys.readouterr()
    assert _finetune(planted, out, "--holdout", str(folder / "hold.####.png")) == 0
    assert _done(capsys).get("skipped") is True                  # same masks: skipped
    write_png(folder / "hold.0006.png", np.zeros(held_object(0).shape, np.float32))
    assert _finetune(planted, out, "--holdout", str(folder / "hold.####.png")) == 0
    assert not _done(capsys).get("skipped")                       # another matte at a keyframe: redone
    assert _finetune(planted, out) == 0
    assert not _done(capsys).get("skipped")                       # no masks now: redone


def test_a_mask_of_another_size_is_one_line_and_writes_nothing(planted, tmp_path, capsys):
    for frame in range(1, 9):
        write_png(tmp_path / f"small.{frame:04d}.png", np.zeros((36, 64), np.float32))
    out = tmp_path / "tuned.pth"
    assert _finetune(planted, out, "--garbage", str(tmp_path / "small.####.png")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--garbage" in err[0] and "64x36, the plate is 128x72" in err[0], err
    assert not out.exists()


def test_a_still_mask_serves_every_frame(planted, tmp_path):
    plate, keys, _, folder = planted
    write_png(tmp_path / "hold.png", held_object(3).astype(np.float32))
    data = read_shot(plate, keys, FinetuneConfig(), holdout=str(tmp_path / "hold.png"))
    assert set(data.keep) == set(data.supervised_frames()) >= set(KEYS)
    assert all(np.array_equal(k[0, 0].numpy(), 1 - held_object(3)) for k in data.keep.values())
