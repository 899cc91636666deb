"""The OpenCue PyOutline script, run for real to print its job spec (no Cuebot needed)."""

import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from rvmatte.farm import opencue
from rvmatte.farm.shots import load_shots


@pytest.fixture
def spec(plate, holed_plate, tmp_path):
    shots = load_shots([plate, holed_plate], output_root=str(tmp_path / "out dir"), chunk_size=20, preroll=8)
    script = opencue.write_script(
        str(tmp_path / "cue"), shots, weights="/w/rvm.pth", job_name="rvmatte_night", show="testing", user="td"
    )
    printed = subprocess.run([sys.executable, script, "--xml"], capture_output=True, text=True, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    return ET.fromstring(printed.stdout.split("?>", 2)[-1]), shots


def test_the_script_builds_one_job_with_a_layer_per_shot_run(spec):
    root, _ = spec
    assert root.findtext("show") == "testing" and root.findtext("user") == "td"
    assert root.find("job").get("name") == "rvmatte_night"
    layers = root.find("job/layers").findall("layer")
    assert [(l.get("name"), l.findtext("range"), l.findtext("chunk")) for l in layers] == [
        ("plate", "1001-1100", "20"),
        ("plate_2_part1", "1001-1050", "20"),
        ("plate_2_part2", "1060-1079", "20"),
        ("plate_2_part3", "1080-1100", "20"),
    ]


def test_each_layer_runs_rvmatte_on_its_chunk_with_shell_quoting(spec):
    root, shots = spec
    command = shlex.split(root.find("job/layers/layer").findtext("cmd"))
    assert command[:3] == ["rvmatte", "run", shots[0].input]
    assert command[command.index("-o") + 1] == shots[0].output_dir and " " in shots[0].output_dir
    assert command[command.index("--frames") + 1] == "#FRAME_START#-#FRAME_END#"
    assert command[command.index("--preroll") + 1] == "8" and "--resume" in command


def test_gpu_layers_ask_for_a_gpu(spec):
    root, _ = spec
    layer = root.find("job/layers/layer")
    assert layer.findtext("gpus") == "1" and layer.findtext("gpu_memory")


def test_a_shot_with_targets_labels_after_the_whole_matte_layer_and_writes_after_the_labelling(plate, tmp_path):
    shots = load_shots([plate], output_root=str(tmp_path / "out"), chunk_size=20, preroll=8,
                       run_args=["--target-point", "40,30@1001"])
    script = opencue.write_script(str(tmp_path / "cue"), shots, weights="/w/rvm.pth", job_name="j", show="s")
    printed = subprocess.run([sys.executable, script, "--xml"], capture_output=True, text=True, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    root = ET.fromstring(printed.stdout.split("?>", 2)[-1])
    layers = {l.get("name"): l for l in root.find("job/layers").findall("layer")}
    assert list(layers) == ["plate", "plate_label", "plate_write"]
    assert (layers["plate_label"].findtext("range"), layers["plate_label"].findtext("chunk")) == ("1001", "1")
    assert layers["plate"].findtext("gpus") == "1" and layers["plate_label"].find("gpus") is None
    label = shlex.split(layers["plate_label"].findtext("cmd"))
    assert label[label.index("--frames") + 1] == "1001-1100" and label[-2:] == ["--people-step", "label"]
    depends = [(d.get("type"), d.findtext("deplayer"), d.findtext("onlayer")) for d in root.find("depends")]
    assert depends == [("LAYER_ON_LAYER", "plate_label", "plate"), ("LAYER_ON_LAYER", "plate_write", "plate_label")]
