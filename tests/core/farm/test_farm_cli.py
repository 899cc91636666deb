"""`rvmatte farm …` through the real command-line entry point."""

import json
from pathlib import Path

from rvmatte.cli import main


def test_plan_json_lists_every_chunk_with_its_preroll(plate, capsys):
    assert main(["farm", "plan", plate, "--chunk-size", "40", "--preroll", "8", "--json"]) == 0
    (shot,) = json.loads(capsys.readouterr().out)["shots"]
    assert [(c["frames"], c["preroll"]) for c in shot["chunks"]] == [
        ("1001-1034", 0), ("1035-1067", 8), ("1068-1100", 8)
    ]


def test_plan_for_deadline_shows_fixed_chunks_and_its_jobs(holed_plate, capsys):
    assert main(["farm", "plan", holed_plate, "--chunk-size", "40", "--farm", "deadline"]) == 0
    out = capsys.readouterr().out
    assert "1001-1040  cold start" in out and "1041-1050  preroll 32 from 1009" in out
    assert "1060-1099  cold start" in out and "1100-1100  preroll 32 from 1068" in out
    assert "via 3 job(s)/layer(s)" in out


def test_every_writer_runs_from_the_command_line(plate, tmp_path, capsys, weights_path):
    common = [plate, "--output-root", str(tmp_path / "out"), "--weights", str(weights_path)]
    assert main(["farm", "openjd", *common, "-o", str(tmp_path / "oj")]) == 0
    assert main(["farm", "deadline", *common, "-o", str(tmp_path / "dl"), "--group", "gpu"]) == 0
    assert main(["farm", "opencue", *common, "-o", str(tmp_path / "cue"), "--show", "s"]) == 0
    assert (tmp_path / "oj" / "template.json").is_file()
    assert "Group=gpu" in (tmp_path / "dl" / "plate.job_info.job").read_text()
    assert (tmp_path / "cue" / "submit_opencue.py").is_file()


def test_a_device_farms_cannot_ask_for_is_a_one_line_error(plate, tmp_path, capsys):
    assert main(["farm", "openjd", plate, "--output-root", str(tmp_path), "-o", str(tmp_path / "j"),
                 "--device", "mps"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rvmatte: error: --device mps: a farm job asks for cuda, cuda:N or cpu"]


def test_no_weights_anywhere_is_a_one_line_error_asking_for_weights(plate, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RVMATTE_WEIGHTS")
    assert main(["farm", "deadline", plate, "--output-root", str(tmp_path), "-o", str(tmp_path / "d")]) != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rvmatte: error: ") and "--weights FILE" in line
    assert not Path(tmp_path / "d").exists()


def test_worker_env_prints_openjd_env_lines(capsys):
    assert main(["farm", "worker-env", "--threads", "2"]) == 0
    assert "openjd_env: OMP_NUM_THREADS=2" in capsys.readouterr().out.splitlines()
