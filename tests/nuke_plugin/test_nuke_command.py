"""The worker's command line follows docs/cli.md."""
import sys

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte
from rvmatte_nuke import command, jobs, settings


@pytest.fixture
def job(saved_script):
    nuke.root()["OCIOConfigPath"].setValue("/nuke/config.ocio")
    prefs = settings.Preferences(python=sys.executable, weights="/w/rvm.pth")
    return jobs.collect(make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010)), prefs)


def option(argv, name):
    return argv[argv.index(name) + 1]


def test_runs_the_module_with_the_configured_interpreter(job):
    argv = command.worker_command(job, job.views[0])
    assert argv[:5] == [sys.executable, "-m", "rvmatte", "run", "/p/plate.%04d.exr"]


def test_asks_for_json_progress_and_the_frame_range(job):
    argv = command.worker_command(job, job.views[0])
    assert option(argv, "--progress") == "json"
    assert option(argv, "--frames") == "1001-1010"


def test_passes_colour_spaces_and_the_scripts_ocio_config(job):
    argv = command.worker_command(job, job.views[0])
    assert option(argv, "--input-colorspace") == "linear"
    assert option(argv, "--output-colorspace") == "linear"
    assert option(argv, "--ocio-config") == "/nuke/config.ocio"


def test_names_both_passes(job):
    argv = command.worker_command(job, job.views[0])
    assert option(argv, "--alpha") == job.views[0].alpha
    assert option(argv, "--foreground") == job.views[0].foreground
    assert option(argv, "--foreground-source") == "edge"


def test_passes_model_settings(job):
    argv = command.worker_command(job, job.views[0])
    assert option(argv, "--variant") == "mobilenetv3"
    assert option(argv, "--precision") == "float32"
    assert option(argv, "--downsample-ratio") == "auto"
    assert option(argv, "--device") == "auto"
    assert option(argv, "--weights") == "/w/rvm.pth"


def test_leaves_out_weights_when_none_are_set(saved_script):
    prefs = settings.Preferences(python=sys.executable)
    job = jobs.collect(make_rvmatte(make_read("/p/plate.####.exr", 1, 2)), prefs)
    assert "--weights" not in command.worker_command(job, job.views[0])


def test_quoted_command_can_be_pasted_into_a_shell():
    assert command.quoted(["python", "-m", "rvmatte", "/a b/c.####.exr"]) == "python -m rvmatte '/a b/c.####.exr'"
