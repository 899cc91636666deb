"""``rvmatte run --backend``: the chosen runtime writes the frames torch would, says so in the
header, and ``auto`` falls back to torch with one warning where its runtime is missing or fails."""
import json
import sys

import numpy as np
import pytest

from conftest import require
from rvmatte import backends
from rvmatte.backends import onnxruntime_backend
from rvmatte.cli import main
from paths import TEST_WEIGHTS
from shots import make_png_shot, read, spec_of

COMMON = ["--weights", str(TEST_WEIGHTS), "--no-foreground", "--downsample-ratio", "0.25", "--device", "cpu", "--float"]


def _events(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip().startswith("{")]


@pytest.fixture(scope="module")
def torch_alphas(tmp_path_factory):
    """The shot, the torch backend's output folder and the alpha it wrote (frames 1..3)."""
    folder = tmp_path_factory.mktemp("torch")
    shot = make_png_shot(folder / "in", count=3)
    assert main(["run", shot, "-o", str(folder / "out"), *COMMON, "--progress", "none"]) == 0
    return shot, [read(folder / "out" / f"plate.alpha.{f:04d}.exr") for f in range(1, 4)], folder / "out"


def _assert_same_alpha(folder, want):
    for frame, alpha in enumerate(want, start=1):
        np.testing.assert_allclose(read(folder / f"plate.alpha.{frame:04d}.exr"), alpha, rtol=0, atol=1e-4)


def test_onnxruntime_writes_the_torch_alpha_and_names_itself_in_the_header(torch_alphas, tmp_path, capsys):
    require("onnxruntime")
    shot, want, _ = torch_alphas
    assert main(["run", shot, "-o", str(tmp_path), *COMMON, "--backend", "onnxruntime", "--progress", "json"]) == 0
    start = next(e for e in _events(capsys) if e["event"] == "start")
    assert start["backend"].startswith("onnxruntime ")
    _assert_same_alpha(tmp_path, want)
    header = spec_of(tmp_path / "plate.alpha.0001.exr").get_string_attribute("rvmatte/backend")
    assert header == f"onnxruntime {onnxruntime_backend.version()} float32"


def test_the_torch_backend_is_recorded_too(torch_alphas):
    import torch

    out = torch_alphas[2] / "plate.alpha.0001.exr"
    assert spec_of(out).get_string_attribute("rvmatte/backend") == f"torch {torch.__version__} float32"


def test_auto_falls_back_to_torch_with_one_warning_when_its_runtime_is_missing(torch_alphas, tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.setitem(backends.AUTO_PREFERENCE, "cpu", ("openvino",))
    monkeypatch.setitem(sys.modules, "openvino", None)               # import openvino → ImportError
    shot, want, _ = torch_alphas
    assert main(["run", shot, "-o", str(tmp_path), *COMMON, "--backend", "auto", "--progress", "json"]) == 0
    events = _events(capsys)
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and "openvino is not installed" in warnings[0] and "running torch" in warnings[0]
    assert next(e for e in events if e["event"] == "start")["backend"].startswith("torch ")
    _assert_same_alpha(tmp_path, want)


def test_auto_falls_back_to_torch_with_one_warning_when_the_export_fails(torch_alphas, tmp_path, capsys,
                                                                       monkeypatch):
    require("onnxruntime")
    monkeypatch.setitem(backends.AUTO_PREFERENCE, "cpu", ("onnxruntime",))

    def broken(path, precision, threads, device=None):
        raise RuntimeError("no kernel for this CPU")

    monkeypatch.setattr(onnxruntime_backend, "load", broken)
    shot, want, _ = torch_alphas
    assert main(["run", shot, "-o", str(tmp_path), *COMMON, "--backend", "auto", "--progress", "json"]) == 0
    warnings = [e["message"] for e in _events(capsys) if e["event"] == "warning"]
    assert len(warnings) == 1 and "onnxruntime failed (no kernel for this CPU)" in warnings[0]
    _assert_same_alpha(tmp_path, want)


def test_an_explicit_backend_that_is_missing_is_an_error(torch_alphas, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    shot = torch_alphas[0]
    assert main(["run", shot, "-o", str(tmp_path), *COMMON, "--backend", "openvino", "--progress", "none"]) != 0
    error = capsys.readouterr().err
    assert "rvmatte: error: --backend openvino: openvino is not installed" in error
    assert not list(tmp_path.glob("*.exr"))


def test_backend_defaults_to_torch(torch_alphas, tmp_path):
    from rvmatte.cli import _options_from, build_parser

    parse = build_parser().parse_args
    assert _options_from(parse(["run", torch_alphas[0], "-o", str(tmp_path)])).backend == "torch"
    assert _options_from(parse(["run", torch_alphas[0], "-o", str(tmp_path), "--backend", "auto"])).backend == "auto"
