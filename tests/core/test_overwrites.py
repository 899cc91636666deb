"""No output ever lands on an input: plate frames, --background, --holdout/--garbage files."""
import os

import pytest

from rvmatte import overwrites
from rvmatte.cli import main
from shots import make_png_shot

FAST = ["--downsample-ratio", "0.5", "--device", "cpu", "--progress", "none"]


@pytest.fixture
def shot(tmp_path):
    return make_png_shot(tmp_path / "in", count=3)


def frame_bytes(pattern, frame):
    with open(pattern.replace("####", f"{frame:04d}"), "rb") as stream:
        return stream.read()


def assert_refused(capsys, *fragments):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rvmatte: error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_contact_sheet_onto_a_plate_frame_is_refused_and_the_plate_kept(shot, tmp_path, capsys):
    target = shot.replace("####", "0002")
    before = frame_bytes(shot, 2)
    assert main(["run", shot, "-o", str(tmp_path / "out"), "--contact-sheet", target, *FAST]) != 0
    assert_refused(capsys, "--contact-sheet", "input frame 2")
    assert frame_bytes(shot, 2) == before
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_alpha_pass_onto_the_holdout_matte_is_refused(shot, tmp_path, capsys):
    holdout = make_png_shot(tmp_path / "mattes", count=3, name="hold")
    before = frame_bytes(holdout, 1)
    assert main(["run", shot, "--alpha", holdout, "--holdout", holdout, *FAST]) != 0
    assert_refused(capsys, "--alpha", "--holdout frame 1")
    assert frame_bytes(holdout, 1) == before


def test_composite_onto_the_background_is_refused(shot, tmp_path, capsys):
    background = make_png_shot(tmp_path / "bg", count=3, name="bg")
    assert main(["run", shot, "--composite", background, "--background", background, *FAST]) != 0
    assert_refused(capsys, "--composite", "--background frame")


def test_an_output_reaching_the_plate_through_a_link_is_refused(shot, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "in", target_is_directory=True)
    before = frame_bytes(shot, 3)
    assert main(["run", shot, "--foreground", str(link / "plate.####.png"), *FAST]) != 0
    assert_refused(capsys, "overwrite")
    assert frame_bytes(shot, 3) == before


def test_on_a_case_insensitive_file_system_case_does_not_hide_a_collision(shot, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(overwrites, "case_insensitive", lambda folder: True)
    upper = str(tmp_path / "in" / "PLATE.####.png")
    assert main(["run", shot, "--alpha", upper, *FAST]) != 0
    assert_refused(capsys, "--alpha", "would overwrite the input frame 1")


def test_on_a_case_sensitive_file_system_another_case_is_another_file(shot, tmp_path, monkeypatch):
    monkeypatch.setattr(overwrites, "case_insensitive", lambda folder: False)
    overwrites.check_no_input_overwritten([("--alpha", str(tmp_path / "in" / "PLATE.0001.png"))],
                                          [("input frame 1", shot.replace("####", "0001"))])


def test_case_sensitivity_is_found_by_probing_the_folder(tmp_path):
    probe = tmp_path / "probe"
    probe.write_text("")
    expected = (tmp_path / "PROBE").exists()
    overwrites.case_insensitive.cache_clear()
    assert overwrites.case_insensitive(str(tmp_path)) == expected
    folder = tmp_path / "123"          # no letters in its name: a probe file is written and removed
    folder.mkdir()
    assert overwrites.case_insensitive(str(folder)) == expected
    assert list(folder.iterdir()) == []
