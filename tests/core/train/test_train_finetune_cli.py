"""``rvmatte finetune`` on the command line, and ``rvmatte run`` with what it wrote."""
import json
import os

import numpy as np
import pytest
import torch

from paths import TEST_WEIGHTS
from shots import read, spec_of
from tiny_shot import SMALL, write_png
from rvmatte.cli import main


def events(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def keys(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    for frame in (3, 6):
        write_png(folder / f"key.{frame:04d}.png", tiny[1][frame])
    return str(folder / "key.####.png")


@pytest.fixture(scope="module")
def untrained(tiny, keys, tmp_path_factory):
    """A 0-step fine-tune of the tiny shot: tuned weights (with their sidecar) equal to the base."""
    path = tmp_path_factory.mktemp("tuned") / "tuned.pth"
    assert main(["finetune", tiny[0], "--keyframes", keys, "-o", str(path), "--steps", "0", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS)]) == 0
    return str(path)


def run(shot, out, weights, capsys=None):
    code = main(["run", shot, "--alpha", str(out / "a.####.exr"), "--weights", weights, "--device", "cpu",
                 "--progress", "json"])
    assert code == 0
    return events(capsys.readouterr().out) if capsys else None


def test_finetune_reports_json_steps_and_writes_the_checkpoint(tiny, keys, tmp_path, capsys):
    out = tmp_path / "tuned.pth"
    code = main(["finetune", tiny[0], "--keyframes", keys, "-o", str(out), "--steps", "1", "--device", "cpu",
                 "--progress", "json", "--weights", str(TEST_WEIGHTS)])
    assert code == 0
    got = events(capsys.readouterr().out)
    assert [e["event"] for e in got] == ["start", "step", "done"]
    assert got[0]["keyframes"] == [3, 6] and got[1]["total"] == 1
    assert os.path.isfile(out) and os.path.isfile(str(out) + ".rvmatte.json")


def test_a_zero_step_finetune_gives_the_base_alpha_bit_for_bit(tiny, untrained, tmp_path):
    run(tiny[0], tmp_path / "base", str(TEST_WEIGHTS))
    run(tiny[0], tmp_path / "tuned", untrained)
    for frame in range(1, 9):
        name = f"a.{frame:04d}.exr"
        assert np.array_equal(read(tmp_path / "base" / name), read(tmp_path / "tuned" / name))


def test_the_exr_header_names_the_base_weights_beside_the_tuned_ones(tiny, untrained, tmp_path, capsys):
    from rvmatte.weights import sha256_of

    got = run(tiny[0], tmp_path, untrained, capsys)
    spec = spec_of(tmp_path / "a.0001.exr")
    assert spec.getattribute("rvmatte/weights_sha256") == sha256_of(untrained)
    assert spec.getattribute("rvmatte/base_weights_sha256") == sha256_of(TEST_WEIGHTS)
    assert got[0]["base_weights_sha256"] == sha256_of(TEST_WEIGHTS)
    assert not [e for e in got if e["event"] == "warning"]          # its own shot: no warning


def test_the_base_weights_record_no_base(tiny, tmp_path):
    run(tiny[0], tmp_path, str(TEST_WEIGHTS))
    assert spec_of(tmp_path / "a.0001.exr").getattribute("rvmatte/base_weights_sha256") is None


def test_tuned_weights_on_another_shot_warn_once(tmp_path, untrained, capsys):
    from shots import make_png_shot

    other = make_png_shot(tmp_path / "other", count=3)
    got = run(other, tmp_path / "out", untrained, capsys)
    warnings = [e["message"] for e in got if e["event"] == "warning"]
    assert len(warnings) == 1 and "fine-tuned for the shot" in warnings[0] and "other" in warnings[0]


def test_a_moved_shot_is_still_its_shot(tiny, untrained, tmp_path, capsys):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(os.path.dirname(tiny[0]), moved)
    got = run(str(moved / "plate.####.png"), tmp_path / "out", untrained, capsys)
    assert not [e for e in got if e["event"] == "warning"]


def _bad_key(folder, kind, truth):
    width, height = SMALL
    if kind == "size":
        write_png(folder / "key.0003.png", np.zeros((height // 2, width // 2), np.float32))
        return r"key\.0003\.png is 64x36, the shot is 128x72"
    if kind == "outside":
        write_png(folder / "key.0003.png", truth[3])
        write_png(folder / "key.0040.png", truth[3])
        return r"key\.0040\.png: frame 40 is not a frame of the shot \(1-8\)"
    ramp = np.tile(np.linspace(0, 1, width, dtype=np.float32), (height, 1))
    write_png(folder / "key.0003.png", np.dstack([ramp, ramp[:, ::-1], ramp]))
    return r"key\.0003\.png is not a matte"


@pytest.mark.parametrize("kind", ["size", "outside", "colour"])
def test_bad_keyframes_are_one_line_and_write_nothing(tiny, tmp_path, capsys, kind):
    import re

    pattern = _bad_key(tmp_path, kind, tiny[1])
    out = tmp_path / "tuned.pth"
    code = main(["finetune", tiny[0], "--keyframes", str(tmp_path / "key.####.png"), "-o", str(out),
                 "--device", "cpu", "--weights", str(TEST_WEIGHTS)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and re.search(pattern, err[0]), err
    assert not out.exists()


def test_out_of_memory_on_the_gpu_is_one_line_and_keeps_the_previous_checkpoint(tiny, keys, tmp_path, capsys,
                                                                                  monkeypatch):
    import rvmatte.train.finetune as ft

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(ft, "train_forward", oom)
    out = tmp_path / "tuned.pth"
    out.write_bytes(b"previous")
    code = main(["finetune", tiny[0], "--keyframes", keys, "-o", str(out), "--steps", "2", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), "--progress", "json"])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "out of memory" in err[0] and "tuned.pth was not written" in err[0]
    assert events(captured.out)[-1]["event"] == "error"
    assert out.read_bytes() == b"previous" and os.listdir(tmp_path) == ["tuned.pth"]


def test_the_output_may_not_be_the_base_weights(tiny, keys, tmp_path, capsys):
    import shutil

    base = tmp_path / "base.pth"
    shutil.copy(TEST_WEIGHTS, base)
    code = main(["finetune", tiny[0], "--keyframes", keys, "-o", str(base), "--weights", str(base),
                 "--device", "cpu"])
    assert code == 1 and "is the base weights file" in capsys.readouterr().err


def test_every_finetune_option_is_classified():
    import argparse

    from rvmatte.cli import build_parser
    from rvmatte.result_key import FINETUNE_OPTIONS

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    dests = {a.dest for a in sub.choices["finetune"]._actions if not isinstance(a, argparse._HelpAction)}
    assert dests == set(FINETUNE_OPTIONS)


def _finetune(tiny, keys, out, *extra):
    return main(["finetune", tiny[0], "--keyframes", keys, "-o", str(out), "--steps", "1", "--device", "cpu",
                 "--weights", str(TEST_WEIGHTS), "--progress", "json", *extra])


def test_a_rerun_with_the_same_inputs_is_skipped_and_keeps_the_file(tiny, keys, tmp_path, capsys):
    out = tmp_path / "tuned.pth"
    assert _finetune(tiny, keys, out) == 0
    made, stamp = out.read_bytes(), out.stat().st_mtime_ns
    capsys.readouterr()
    assert _finetune(tiny, keys, out) == 0
    done = [e for e in events(capsys.readouterr().out) if e.get("event") == "done"]
    assert done and done[-1].get("skipped") is True
    assert out.read_bytes() == made and out.stat().st_mtime_ns == stamp


def test_other_settings_or_force_redo_the_finetune(tiny, keys, tmp_path, capsys):
    out = tmp_path / "tuned.pth"
    assert _finetune(tiny, keys, out) == 0
    for extra in (["--seed", "7"], ["--force"]):
        capsys.readouterr()
        assert _finetune(tiny, keys, out, *extra) == 0
        done = [e for e in events(capsys.readouterr().out) if e.get("event") == "done"]
        assert done and not done[-1].get("skipped") and done[-1].get("steps") == 1
