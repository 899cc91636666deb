"""--resume keeps a frame only if it was made with the same result key; other frames are redone and
the run says how many and why."""
import json
import os

import pytest

from paths import TEST_WEIGHTS
from rvmatte.cli import main
from rvmatte.io.stamp import sidecar_path, stored_result
from shots import make_exr_shot, make_png_shot

FAST = ["--device", "cpu", "--progress", "json"]


@pytest.fixture
def shot(tmp_path):
    return make_exr_shot(tmp_path / "in", frames=range(1, 4))


def _run(capsys, *args):
    capsys.readouterr()
    assert main([str(a) for a in ("run", *args, *FAST)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


def _warnings(events):
    return [e["message"] for e in events if e["event"] == "warning"]


def _done(events):
    return next(e for e in events if e["event"] == "done")


def test_resume_keeps_frames_made_with_the_same_settings(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5")
    before = _mtimes(out)
    events = _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--resume")
    assert _mtimes(out) == before
    assert _done(events)["written"] == 0
    assert not [w for w in _warnings(events) if "other settings" in w]


def test_resume_redoes_frames_made_with_another_downsample_ratio(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5")
    events = _run(capsys, shot, "-o", out, "--downsample-ratio", "0.25", "--resume")
    assert _done(events)["written"] == 3
    assert "--resume: 3 frames were made with other settings (downsample_ratio 0.5 → 0.25) and are redone" \
        in _warnings(events)
    assert stored_result(str(out / "plate.alpha.0002.exr"))[1]["downsample_ratio"] == 0.25


def test_resume_redoes_float_frames_for_a_half_run(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--float")
    events = _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--half", "--resume")
    assert _done(events)["written"] == 3
    assert any("bit_depth float → half" in w for w in _warnings(events))


def test_resume_redoes_frames_made_with_another_foreground_source(shot, tmp_path, capsys):
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--foreground-source", "plate")
    events = _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--resume")
    assert _done(events)["written"] == 3
    assert any("foreground_source plate → edge" in w for w in _warnings(events))       # edge: the default


def test_resume_redoes_frames_made_with_other_weights_contents_but_not_with_a_copy(shot, tmp_path, capsys):
    import torch

    state = torch.load(TEST_WEIGHTS, map_location="cpu", weights_only=True)
    copy, other = tmp_path / "copy.pth", tmp_path / "other.pth"
    copy.write_bytes(open(TEST_WEIGHTS, "rb").read())
    name = next(k for k, v in state.items() if v.dtype.is_floating_point and "bias" in k)
    state[name] = state[name] + 0.01
    torch.save(state, other)
    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--weights", TEST_WEIGHTS)
    assert _done(_run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--weights", copy,
                      "--resume"))["written"] == 0
    events = _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--weights", other, "--resume")
    assert _done(events)["written"] == 3
    assert any("weights_sha256" in w for w in _warnings(events))


def test_frames_without_a_result_key_are_redone(shot, tmp_path, capsys):
    import OpenImageIO as oiio

    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5")
    path = str(out / "plate.alpha.0001.exr")
    buf = oiio.ImageBuf(path)
    buf.specmod().erase_attribute("rvmatte/result_key")
    assert buf.write(path + ".tmp.exr")
    os.replace(path + ".tmp.exr", path)
    events = _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5", "--resume")
    assert _done(events)["written"] == 1
    assert any("1 frame was made with other settings (no result key recorded)" in w for w in _warnings(events))


def test_png_outputs_carry_their_key_in_a_sidecar_per_frame(tmp_path, capsys):
    plate = make_png_shot(tmp_path / "in", count=3)
    out = tmp_path / "out"
    pattern = str(out / "a.####.png")
    _run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.5")
    sidecar = sidecar_path(str(out / "a.0002.png"))
    assert sidecar == str(out / ".rvmatte" / "a.0002.png.json")
    with open(sidecar) as stream:
        recorded = json.load(stream)
    assert recorded["file"] == "a.0002.png" and recorded["fields"]["downsample_ratio"] == 0.5
    before = _mtimes(out)
    assert _done(_run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.5", "--resume"))["written"] == 0
    assert _mtimes(out) == before
    events = _run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.25", "--resume")
    assert _done(events)["written"] == 3
    assert any("downsample_ratio 0.5 → 0.25" in w for w in _warnings(events))
    assert stored_result(str(out / "a.0002.png"))[1]["downsample_ratio"] == 0.25


def test_a_png_frame_without_its_sidecar_is_redone(tmp_path, capsys):
    plate = make_png_shot(tmp_path / "in", count=3)
    out = tmp_path / "out"
    pattern = str(out / "a.####.png")
    _run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.5")
    os.remove(sidecar_path(str(out / "a.0003.png")))
    events = _run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.5", "--resume")
    assert _done(events)["written"] == 1
    assert os.path.isfile(sidecar_path(str(out / "a.0003.png")))


def test_resume_redoes_frames_when_a_holdout_matte_changed_under_the_same_name(shot, tmp_path, capsys):
    import numpy as np

    from rvmatte.io import write_frame
    from shots import spec_of

    spec = spec_of(shot.replace("####", "0001"))
    holdout = tmp_path / "hold"

    def write_holdout(value):
        for frame in (1, 2, 3):
            write_frame(str(holdout / f"h.{frame:04d}.exr"), np.full((spec.full_height, spec.full_width, 1), value,
                                                                    np.float32), ["A"])

    write_holdout(0.0)
    args = [shot, "-o", tmp_path / "out", "--downsample-ratio", "0.5", "--holdout", holdout / "h.####.exr"]
    _run(capsys, *args)
    assert _done(_run(capsys, *args, "--resume"))["written"] == 0
    write_holdout(1.0)
    events = _run(capsys, *args, "--resume")
    assert _done(events)["written"] == 3
    assert any("holdout_sha256" in w for w in _warnings(events))


def test_farm_status_flags_the_frames_a_later_run_with_other_settings_did_not_redo(shot, tmp_path, capsys):
    from rvmatte.farm.status import check

    out = tmp_path / "out"
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.5")
    _run(capsys, shot, "-o", out, "--downsample-ratio", "0.25", "--frames", "3")
    (status,) = check(str(out))
    assert status.done == [3] and status.other_settings == [1, 2]
    assert not status.complete


def test_a_sidecar_temp_left_by_a_killed_writer_is_removed(tmp_path, capsys):
    plate = make_png_shot(tmp_path / "in", count=2)
    out = tmp_path / "out"
    pattern = str(out / "a.####.png")
    _run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.5")
    leftover = out / ".rvmatte" / ".a.0001.png.json.tmp-999999999-00ff00ff.json"
    leftover.write_text("{")
    _run(capsys, plate, "--alpha", pattern, "--downsample-ratio", "0.5", "--resume")
    assert not leftover.exists()
    assert sorted(os.listdir(out / ".rvmatte")) == ["a.0001.png.json", "a.0002.png.json"]
