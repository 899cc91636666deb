"""`rvmatte run` end to end: EXR passes, frame numbers, headers, bad input, resume."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import OpenImageIO as oiio
import pytest

from rvmatte.cli import main
from shots import make_exr_shot, make_png_shot, read, spec_of, write_exr, composite_frame, srgb_to_linear

FAST = ["--downsample-ratio", "0.5", "--device", "cpu"]


def run_cli(*args, capsys=None):
    code = main([str(a) for a in args])
    return code


def json_events(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def exr_shot(tmp_path):
    return make_exr_shot(tmp_path / "in", data_window=(8, 4, 200, 130),
                         attributes={"smpte:TimeCode": (oiio.TypeTimeCode, (0x01000000, 0)),
                                     "Copyright": "comp dept", "studio/shot": "sq010_sh020"})


def test_linear_exr_shot_gives_numbered_alpha_and_premultiplied_foreground(exr_shot, tmp_path):
    out = tmp_path / "out"
    assert main(["run", exr_shot, "-o", str(out), *FAST, "--progress", "none"]) == 0
    alphas = sorted(p.name for p in out.glob("plate.alpha.*.exr"))
    fgrs = sorted(p.name for p in out.glob("plate.fgr.*.exr"))
    assert alphas == [f"plate.alpha.{f}.exr" for f in range(1001, 1007)]
    assert fgrs == [f"plate.fgr.{f}.exr" for f in range(1001, 1007)]
    assert spec_of(out / "plate.alpha.1003.exr").channelnames == ("A",)
    assert spec_of(out / "plate.fgr.1003.exr").channelnames == ("R", "G", "B", "A")


def test_foreground_is_premultiplied_by_the_alpha_pass(exr_shot, tmp_path):
    out = tmp_path / "out"
    assert main(["run", exr_shot, "-o", str(out), *FAST, "--foreground-source", "plate", "--float"]) == 0
    fgr = read(out / "plate.fgr.1002.exr")
    alpha = read(out / "plate.alpha.1002.exr")[..., 0]
    np.testing.assert_allclose(fgr[..., 3], alpha, atol=1e-6)
    plate = read(exr_shot.replace("####", "1002"))
    assert plate.shape[:2] == fgr.shape[:2] == (130, 200)     # both hold the input's data window
    np.testing.assert_allclose(fgr[..., :3], plate[..., :3] * alpha[..., None], atol=2e-3)
    assert alpha.max() > 0.9 and alpha.min() < 0.1


def test_outputs_keep_the_input_windows_and_metadata(exr_shot, tmp_path):
    out = tmp_path / "out"
    assert main(["run", exr_shot, "-o", str(out), *FAST]) == 0
    for name in ("plate.alpha.1001.exr", "plate.fgr.1001.exr"):
        spec = spec_of(out / name)
        assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 256, 144)
        assert (spec.x, spec.y, spec.width, spec.height) == (8, 4, 200, 130)
        assert spec.get_string_attribute("Copyright") == "comp dept"
        assert spec.get_string_attribute("studio/shot") == "sq010_sh020"
        assert tuple(spec.getattribute("smpte:TimeCode")) == (0x01000000, 0)
        assert spec.get_string_attribute("rvmatte/version")
        assert spec.get_string_attribute("rvmatte/colorspace") == "Linear Rec.709 (sRGB)"
        assert len(spec.get_string_attribute("rvmatte/weights_sha256")) == 64
        assert spec.get_float_attribute("rvmatte/downsample_ratio") == 0.5


def test_srgb_png_shot_gives_linear_exr_passes(tmp_path):
    shot = make_png_shot(tmp_path / "in", count=3)
    out = tmp_path / "out"
    assert main(["run", shot, "-o", str(out), *FAST, "--foreground-source", "plate", "--float"]) == 0
    fgr = read(out / "plate.fgr.0002.exr")
    alpha = fgr[..., 3]
    png = read(shot.replace("####", "0002"))[..., :3]
    opaque = alpha > 0.999
    assert opaque.sum() > 500
    np.testing.assert_allclose(fgr[opaque][:, :3], srgb_to_linear(png)[opaque], atol=2e-3)
    assert spec_of(out / "plate.fgr.0002.exr").get_string_attribute("rvmatte/input_colorspace") == \
        "sRGB Encoded Rec.709 (sRGB)"


def test_explicit_patterns_choose_names_and_png_format(exr_shot, tmp_path):
    alpha = tmp_path / "review" / "matte_%04d.png"
    assert main(["run", exr_shot, "--alpha", str(alpha), "--frames", "1002-1003", *FAST]) == 0
    files = sorted(p.name for p in (tmp_path / "review").iterdir() if not p.name.startswith("."))
    assert files == ["matte_1002.png", "matte_1003.png"]
    assert sorted(os.listdir(tmp_path / "review" / ".rvmatte")) == ["matte_1002.png.json", "matte_1003.png.json"]
    assert spec_of(tmp_path / "review" / "matte_1002.png").format == "uint8"
    assert read(tmp_path / "review" / "matte_1002.png").shape[2] == 1


def test_json_progress_reports_start_frames_in_order_and_done(exr_shot, tmp_path, capsys):
    assert main(["run", exr_shot, "-o", str(tmp_path / "o"), "--frames", "1002-1004", *FAST,
                 "--progress", "json"]) == 0
    events = json_events(capsys.readouterr().out)
    assert [e["event"] for e in events] == ["start", "frame", "frame", "frame", "done"]
    assert events[0]["frames"] == 3 and events[0]["first"] == 1002 and events[0]["device"] == "cpu"
    assert [e["frame"] for e in events[1:4]] == [1002, 1003, 1004]
    assert [e["done"] for e in events[1:4]] == [1, 2, 3]
    assert events[-1]["written"] == 3


def test_preroll_frames_warm_the_state_but_are_not_written(exr_shot, tmp_path):
    whole = tmp_path / "whole"
    chunk = tmp_path / "chunk"
    assert main(["run", exr_shot, "-o", str(whole), "--frames", "1002-1006", *FAST, "--float"]) == 0
    assert main(["run", exr_shot, "-o", str(chunk), "--frames", "1004-1006", "--preroll", "2", *FAST,
                 "--float"]) == 0
    assert sorted(p.name for p in chunk.glob("*.alpha.*")) == [f"plate.alpha.{f}.exr" for f in (1004, 1005, 1006)]
    for f in (1004, 1005, 1006):
        np.testing.assert_allclose(read(chunk / f"plate.alpha.{f}.exr"), read(whole / f"plate.alpha.{f}.exr"),
                                   atol=1e-4)


def test_nan_pixels_are_cleaned_with_a_warning_and_later_frames_stay_right(tmp_path, capsys):
    dirty_dir, clean_dir = tmp_path / "dirty", tmp_path / "clean"
    make_exr_shot(clean_dir, frames=range(1, 5))
    make_exr_shot(dirty_dir, frames=range(1, 5))
    rgb = srgb_to_linear(composite_frame(1))
    rgb[40:50, 60:90] = 0.0
    write_exr(clean_dir / "plate.0002.exr", rgb)
    rgb[40:45, 60:90] = np.nan
    rgb[45:50, 60:90] = np.inf
    write_exr(dirty_dir / "plate.0002.exr", rgb)
    for d in (clean_dir, dirty_dir):
        assert main(["run", str(d / "plate.####.exr"), "-o", str(d / "out"), *FAST, "--float",
                     "--progress", "json"]) == 0
    events = json_events(capsys.readouterr().out)
    warnings = [e for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["frame"] == 2 and "NaN" in warnings[0]["message"]
    for f in (3, 4):
        dirty = read(dirty_dir / "out" / f"plate.alpha.{f:04d}.exr")
        assert np.isfinite(dirty).all()
        np.testing.assert_allclose(dirty, read(clean_dir / "out" / f"plate.alpha.{f:04d}.exr"), atol=1e-4)


# --- bad input: one readable line naming the culprit, non-zero exit, nothing damaged ---

def assert_one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rvmatte: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_input_path_is_named(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.####.exr"), "-o", str(tmp_path / "o")]) != 0
    assert_one_line_error(capsys, "nope")


def test_missing_frame_is_named_and_earlier_frames_are_not_touched(exr_shot, tmp_path, capsys):
    os.remove(exr_shot.replace("####", "1004"))
    assert main(["run", exr_shot, "-o", str(tmp_path / "o"), *FAST]) != 0
    assert_one_line_error(capsys, "1004")


def test_frame_of_another_size_is_named_and_written_frames_stay_intact(exr_shot, tmp_path, capsys):
    write_exr(exr_shot.replace("####", "1005"), np.zeros((100, 100, 3), np.float32))
    out = tmp_path / "o"
    assert main(["run", exr_shot, "-o", str(out), *FAST]) != 0
    assert_one_line_error(capsys, "1005")
    from rvmatte.io import frame_is_complete
    written = sorted(out.glob("*.exr"))
    assert written, "frames before the bad one should have been written"
    assert all(frame_is_complete(str(p)) for p in written)
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_truncated_exr_is_named(exr_shot, tmp_path, capsys):
    path = exr_shot.replace("####", "1003")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    assert main(["run", exr_shot, "-o", str(tmp_path / "o"), *FAST]) != 0
    assert_one_line_error(capsys, "1003")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_output_folder_is_named(exr_shot, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    assert main(["run", exr_shot, "-o", str(locked / "out")]) != 0
    assert_one_line_error(capsys, "locked")


def test_output_folder_that_is_a_file_is_named(exr_shot, tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    assert main(["run", exr_shot, "-o", str(blocker / "out"), *FAST]) != 0
    assert_one_line_error(capsys, "taken")


def test_output_pattern_equal_to_input_is_refused_before_any_write(exr_shot, tmp_path, capsys):
    before = open(exr_shot.replace("####", "1001"), "rb").read()
    assert main(["run", exr_shot, "--foreground", exr_shot, *FAST]) != 0
    assert_one_line_error(capsys, "overwrite")
    assert open(exr_shot.replace("####", "1001"), "rb").read() == before


def test_missing_explicit_device_is_an_error_not_a_fallback(exr_shot, tmp_path, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["run", exr_shot, "-o", str(tmp_path / "o"), "--device", "cuda"]) != 0
    assert_one_line_error(capsys, "cuda")


def test_error_is_reported_as_a_json_event(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.####.exr"), "-o", str(tmp_path / "o"), "--progress", "json"]) != 0
    events = json_events(capsys.readouterr().out)
    assert events[-1]["event"] == "error" and "missing" in events[-1]["message"]


def test_info_describes_the_shot(exr_shot, capsys):
    assert main(["info", exr_shot, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["first"], info["last"], info["frames"]) == (1001, 1006, 6)
    assert (info["width"], info["height"]) == (256, 144)
    assert info["colorspace"] == "Linear Rec.709 (sRGB)"
    assert info["downsample_ratio"] == 1.0 and info["device"] == "cpu"


# --- a killed run leaves no damaged frame; --resume completes it exactly ---

def _spawn(args, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "rvmatte", "run", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_killed_run_leaves_no_damaged_frame_and_resume_matches_uninterrupted(tmp_path):
    from rvmatte.io import frame_is_complete

    shot = make_exr_shot(tmp_path / "in", frames=range(1, 11))
    reference, resumed = tmp_path / "ref", tmp_path / "res"
    common = [*FAST, "--float", "--progress", "json"]
    assert main(["run", shot, "-o", str(reference), *common]) == 0

    proc = _spawn([shot, "-o", resumed, *common])
    for line in proc.stdout:                      # kill hard once a few frames are on disk
        if '"event": "frame"' in line and json.loads(line)["done"] >= 3:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode != 0
    files = sorted(p for p in resumed.glob("*.exr") if not p.name.startswith("."))   # not temp files
    assert 0 < len(files) < 20
    assert all(frame_is_complete(str(p)) for p in files)

    before = {p.name: p.stat().st_mtime_ns for p in files if frame_is_complete(str(p))}
    assert main(["run", shot, "-o", str(resumed), *common, "--resume"]) == 0
    for name, mtime in before.items():
        assert (resumed / name).stat().st_mtime_ns == mtime, f"{name} was rewritten"
    for f in range(1, 11):
        for kind in ("alpha", "fgr"):
            name = f"plate.{kind}.{f:04d}.exr"
            np.testing.assert_allclose(read(resumed / name), read(reference / name), atol=1e-4)
    assert not [p for p in resumed.iterdir() if p.name.startswith(".")], "stale temp files were left"


def test_resume_redoes_a_damaged_frame(exr_shot, tmp_path):
    out = tmp_path / "o"
    assert main(["run", exr_shot, "-o", str(out), *FAST, "--float"]) == 0
    good = read(out / "plate.alpha.1003.exr")
    path = out / "plate.alpha.1003.exr"
    path.write_bytes(path.read_bytes()[:400])
    assert main(["run", exr_shot, "-o", str(out), *FAST, "--float", "--resume"]) == 0
    np.testing.assert_allclose(read(path), good, atol=1e-4)


def test_sigterm_cancels_with_nonzero_exit_and_complete_frames(tmp_path):
    from rvmatte.io import frame_is_complete

    shot = make_exr_shot(tmp_path / "in", frames=range(1, 11))
    proc = _spawn([shot, "-o", tmp_path / "o", *FAST, "--progress", "json"])
    for line in proc.stdout:
        if '"event": "frame"' in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert all(frame_is_complete(str(p)) for p in (tmp_path / "o").glob("*.exr"))
