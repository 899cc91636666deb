"""Exports keep the original's interface and the eager model's numbers, state fed back."""
import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from rvmatte.cli import main
from rvmatte.weights import load_model
from shots import composite_frame

TOLERANCE = 1e-4
FRAMES = 4


@pytest.fixture(scope="module")
def frames():
    """Four consecutive real frames at two sizes (the exports must not be tied to one)."""
    return {size: [torch.from_numpy(composite_frame(i, size)).permute(2, 0, 1)[None].contiguous()
                   for i in range(FRAMES)] for size in ((256, 144), (160, 120))}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, weights_path):
    folder = tmp_path_factory.mktemp("export")
    paths = {"torchscript": folder / "rvm.torchscript", "onnx": folder / "rvm.onnx"}
    for kind, path in paths.items():
        assert main(["export", kind, str(path), "--weights", str(weights_path)]) == 0
    return paths


def eager(model, clip, ratio):
    rec, outputs = [None] * 4, []
    with torch.no_grad():
        for src in clip:
            fgr, pha, *rec = model(src, *rec, downsample_ratio=ratio)
            outputs.append([fgr, pha, *rec])
    return outputs


def assert_close(actual, expected, tolerance=TOLERANCE):
    for a, e, name in zip(actual, expected, ["fgr", "pha", "r1", "r2", "r3", "r4"]):
        a = a.numpy() if isinstance(a, torch.Tensor) else a
        assert a.shape == tuple(e.shape), name
        assert np.abs(a - e.numpy()).max() < tolerance, name


@pytest.mark.parametrize("size,ratio", [((256, 144), 0.5), ((160, 120), 0.25)])
def test_torchscript_matches_eager_over_frames_with_state_fed_back(model, frames, exported, size, ratio):
    scripted = torch.jit.load(str(exported["torchscript"]))
    rec = [None] * 4
    with torch.no_grad():
        for src, expected in zip(frames[size], eager(model, frames[size], ratio)):
            fgr, pha, *rec = scripted(src, *rec, ratio)
            assert_close([fgr, pha, *rec], expected)


def test_torchscript_accepts_zero_tensors_as_the_first_state(model, frames, exported):
    scripted = torch.jit.load(str(exported["torchscript"]))
    zeros = [torch.zeros(1, 1, 1, 1)] * 4
    with torch.no_grad():
        first = scripted(frames[(256, 144)][0], *zeros, 0.5)
    assert_close(first, eager(model, frames[(256, 144)][:1], 0.5)[0])


def test_onnx_has_the_originals_inputs_outputs_and_dynamic_sizes(exported):
    graph = onnx.load(str(exported["onnx"])).graph
    assert [i.name for i in graph.input] == ["src", "r1i", "r2i", "r3i", "r4i", "downsample_ratio"]
    assert [o.name for o in graph.output] == ["fgr", "pha", "r1o", "r2o", "r3o", "r4o"]
    src = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert src == ["batch", "", "height", "width"]


@pytest.mark.parametrize("size,ratio", [((256, 144), 0.5), ((160, 120), 0.25)])
def test_onnx_runtime_matches_eager_over_frames_with_state_fed_back(model, frames, exported, size, ratio):
    session = onnxruntime.InferenceSession(str(exported["onnx"]), providers=["CPUExecutionProvider"])
    rec = [np.zeros((1, 1, 1, 1), dtype=np.float32)] * 4
    for src, expected in zip(frames[size], eager(model, frames[size], ratio)):
        feed = {"src": src.numpy(), "downsample_ratio": np.array([ratio], dtype=np.float32)}
        feed.update({f"r{i + 1}i": r for i, r in enumerate(rec)})
        fgr, pha, *rec = session.run(None, feed)
        assert_close([fgr, pha, *rec], expected)


def test_export_without_weights_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RVMATTE_OFFLINE", "1")
    monkeypatch.delenv("RVMATTE_WEIGHTS", raising=False)
    code = main(["export", "onnx", str(tmp_path / "m.onnx"), "--weights", str(tmp_path / "missing.pth")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == [f"rvmatte: error: weights file not found: {tmp_path / 'missing.pth'}"]
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_export_of_the_fast_guided_filter_refiner_matches_eager(weights_path, frames, tmp_path):
    """The closed-form filter divides by a local variance (+1e-5), which magnifies float
    rounding differences between runtimes: 1e-3 here."""
    from rvmatte.export import export_onnx

    model = load_model("mobilenetv3", weights_path, device="cpu", refiner="fast_guided_filter")
    export_onnx(model, str(tmp_path / "fast.onnx"), example_size=(72, 128))
    session = onnxruntime.InferenceSession(str(tmp_path / "fast.onnx"), providers=["CPUExecutionProvider"])
    rec = [np.zeros((1, 1, 1, 1), dtype=np.float32)] * 4
    for src, expected in zip(frames[(160, 120)], eager(model, frames[(160, 120)], 0.5)):
        feed = {"src": src.numpy(), "downsample_ratio": np.array([0.5], dtype=np.float32)}
        feed.update({f"r{i + 1}i": r for i, r in enumerate(rec)})
        fgr, pha, *rec = session.run(None, feed)
        assert_close([fgr, pha, *rec], expected, tolerance=1e-3)
