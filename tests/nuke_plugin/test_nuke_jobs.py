"""What a Generate will do, read from the node and the script."""
import os
import sys

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte
from rvmatte_nuke import jobs, settings


@pytest.fixture
def prefs():
    return settings.Preferences(python=sys.executable, weights="/w/rvm.pth", device="cuda")


def test_a_node_without_input_asks_for_the_plate(prefs):
    with pytest.raises(jobs.JobError, match="connect the plate"):
        jobs.collect(make_rvmatte(), prefs)


def test_no_worker_interpreter_says_where_to_set_it(saved_script):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    with pytest.raises(jobs.JobError, match="Preferences"):
        jobs.collect(group)


def test_unsaved_script_with_relative_output_dir_is_refused(prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    with pytest.raises(jobs.JobError, match="save the script"):
        jobs.collect(group, prefs)


def test_input_range_is_the_default_frame_range(saved_script, prefs):
    job = jobs.collect(make_rvmatte(make_read("/p/plate.####.exr", 1001, 1024)), prefs)
    assert (job.first, job.last) == (1001, 1024)


def test_custom_range_is_used_when_chosen(saved_script, prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1024))
    group["range_mode"].setValue("custom")
    group["range_first"].setValue(1005)
    group["range_last"].setValue(1010)
    job = jobs.collect(group, prefs)
    assert (job.first, job.last) == (1005, 1010)


def test_an_empty_custom_range_is_refused(saved_script, prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    group["range_mode"].setValue("custom")
    group["range_first"].setValue(9)
    group["range_last"].setValue(3)
    with pytest.raises(jobs.JobError, match="9-3 is empty"):
        jobs.collect(group, prefs)


def test_usable_read_is_the_plate_without_precomp(saved_script, prefs):
    job = jobs.collect(make_rvmatte(make_read("/p/plate.####.exr", 1, 10)), prefs)
    (view,) = job.views
    assert view.precomp is False
    assert view.plate == "/p/plate.%04d.exr"
    assert view.input_colorspace == "linear"


def test_other_inputs_get_a_precomp_in_the_working_space(saved_script, prefs):
    grade = nuke.nodes.Grade()
    grade.setInput(0, make_read("/p/plate.####.exr", 1, 10))
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    job = jobs.collect(make_rvmatte(grade), prefs)
    (view,) = job.views
    assert view.precomp is True
    assert view.plate == str(saved_script / "rvmatte" / "RVMatte1" / "precomp" / "RVMatte1.####.exr")
    assert view.input_colorspace == "ACES - ACEScg"
    assert job.shortcut_reason == "the input is not a Read"


def test_explicit_input_colorspace_wins(saved_script, prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    group["input_colorspace"].setValue("ACES - ACEScct")
    assert jobs.collect(group, prefs).views[0].input_colorspace == "ACES - ACEScct"


def test_outputs_are_named_after_the_node_in_the_output_dir(saved_script, prefs):
    job = jobs.collect(make_rvmatte(make_read("/p/plate.####.exr", 1, 10)), prefs)
    folder = saved_script / "rvmatte" / "RVMatte1"
    assert job.alpha_read == str(folder / "RVMatte1.alpha.####.exr")
    assert job.fgr_read == str(folder / "RVMatte1.fgr.####.exr")


def test_output_dir_evaluates_tcl(saved_script, prefs, tmp_path):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    group["output_dir"].setValue(str(tmp_path) + "/mattes/[file rootname [file tail [value root.name]]]")
    assert jobs.collect(group, prefs).output_dir == str(tmp_path / "mattes" / "comp")


def test_stereo_views_are_separate_shots(saved_script, prefs):
    nuke.addView("left")
    nuke.addView("right")
    job = jobs.collect(make_rvmatte(make_read("/p/plate.%V.####.exr", 1, 10)), prefs)
    assert [v.view for v in job.views] == ["left", "right"]
    assert [v.plate for v in job.views] == ["/p/plate.left.%04d.exr", "/p/plate.right.%04d.exr"]
    assert job.views[1].alpha.endswith("RVMatte1.right.alpha.####.exr")
    assert job.alpha_read.endswith("RVMatte1.%V.alpha.####.exr")


def test_views_knob_picks_views(saved_script, prefs):
    nuke.addView("left")
    nuke.addView("right")
    group = make_rvmatte(make_read("/p/plate.%V.####.exr", 1, 10))
    group["views"].setValue("right")
    assert [v.view for v in jobs.collect(group, prefs).views] == ["right"]


def test_unknown_view_is_named(saved_script, prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    group["views"].setValue("left")
    with pytest.raises(jobs.JobError, match="view left is not in the script"):
        jobs.collect(group, prefs)


def test_device_and_weights_come_from_preferences_by_default(saved_script, prefs):
    options = jobs.collect(make_rvmatte(make_read("/p/plate.####.exr", 1, 10)), prefs).options
    assert options["device"] == "cuda"
    assert options["weights"] == "/w/rvm.pth"
    assert options["downsample_ratio"] == "auto"


def test_node_knobs_override_preferences(saved_script, prefs):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 10))
    group["device"].setValue("cpu")
    group["weights"].setValue("/w/other.pth")
    group["ratio_mode"].setValue("value")
    group["ratio"].setValue(0.4)
    options = jobs.collect(group, prefs).options
    assert (options["device"], options["weights"], options["downsample_ratio"]) == ("cpu", "/w/other.pth", "0.4")


def test_ocio_config_prefers_the_environment(monkeypatch):
    monkeypatch.setenv("OCIO", "/env/config.ocio")
    nuke.root()["OCIOConfigPath"].setValue("/nuke/stock.ocio")
    assert jobs.ocio_config() == "/env/config.ocio"


def test_ocio_config_uses_a_custom_config():
    root = nuke.root()
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"].setValue("custom")
    root["customOCIOConfigPath"].setValue("/show/config.ocio")
    root["OCIOConfigPath"].setValue("/nuke/stock.ocio")
    assert jobs.ocio_config() == "/show/config.ocio"


def test_ocio_config_falls_back_to_nukes_stock_config():
    nuke.root()["OCIOConfigPath"].setValue("/nuke/stock.ocio")
    assert jobs.ocio_config() == "/nuke/stock.ocio"
