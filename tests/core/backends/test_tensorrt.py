"""``--backend tensorrt``: ONNX Runtime's TensorRT provider on a CUDA GPU, tensors bound where they are.

What runs here (no GPU): the refusal where the provider is missing, the device check, the engine
cache's place, and the I/O-binding runner the backend uses, on the CPU provider with CPU tensors
(the same binding code, device "cpu"). The GPU run itself is skipped with its reason.
"""
import types

import numpy as np
import pytest
import torch

from conftest import alphas, require
from rvmatte import backends
from rvmatte.backends import cache, tensorrt_backend
from rvmatte.backends.network import BackendNetwork
from rvmatte.backends.static_export import export_static_onnx, float32_copy, state_shapes
from rvmatte.cli import main
from rvmatte.errors import RvmatteError
from paths import TEST_WEIGHTS
from shots import make_png_shot

RATIO = 0.25


def _trt_available():
    try:
        tensorrt_backend.version()
        return True
    except ImportError:
        return False


def _cpu_bound_runtime():
    """The tensorrt backend's runner on ONNX Runtime's CPU provider: the binding code with device "cpu"."""
    onnxruntime = require("onnxruntime")

    def load(path, precision, threads, device=None):
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return tensorrt_backend.BoundRunner(session, device)

    return types.SimpleNamespace(NAME="onnxruntime-bound", PRECISIONS=("float32",), DEVICES=("cpu",),
                                 version=lambda: onnxruntime.__version__, load=load)


@pytest.mark.skipif(_trt_available(), reason="this machine has the TensorRT provider")
def test_tensorrt_named_without_its_provider_is_a_one_line_error_and_writes_nothing(tmp_path, capsys):
    shot = make_png_shot(tmp_path / "in", count=2)
    out = tmp_path / "out"
    code = main(["run", shot, "-o", str(out), "--weights", str(TEST_WEIGHTS), "--backend", "tensorrt",
                 "--device", "cpu", "--progress", "none"])
    error = capsys.readouterr().err.strip()
    assert code != 0
    assert "rvmatte: error: --backend tensorrt: tensorrt is not installed" in error
    assert "TensorrtExecutionProvider" in error and "onnxruntime-gpu" in error and "\n" not in error
    assert not out.exists() or not list(out.glob("*.exr"))


def test_a_cuda_only_backend_is_refused_on_the_cpu_naming_both_devices(model, monkeypatch):
    monkeypatch.setattr(tensorrt_backend, "version", lambda: "1.0-trt10")   # as if the provider were there
    with pytest.raises(RvmatteError, match=r"--backend tensorrt: tensorrt runs on cuda, not on cpu"):
        backends.select("tensorrt", model, precision="float32", threads=1, warn=print)


def test_the_bound_runner_follows_pytorch_with_the_state_fed_back(model, frames, tmp_path):
    onnxruntime = require("onnxruntime")
    network = float32_copy(model)
    path = str(tmp_path / "static.onnx")
    height, width = frames[0].shape[-2:]
    export_static_onnx(network, path, height, width, RATIO)
    runner = tensorrt_backend.BoundRunner(onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]),
                                          torch.device("cpu"))
    assert runner.state_shapes == state_shapes(network, height, width, RATIO)
    state = [torch.zeros(s) for s in runner.state_shapes]
    for want, src in zip(alphas(model, frames), frames):
        fgr, pha, *state = runner.run_tensors(src, state)
        assert isinstance(pha, torch.Tensor) and pha.dtype == torch.float32 and fgr.shape == src.shape
        assert float(np.abs(pha.numpy() - want).max()) <= 1e-4


def test_a_backend_whose_runner_takes_tensors_runs_every_frame_through_its_graph(model, frames):
    network = BackendNetwork(model, _cpu_bound_runtime(), "float32", 1)
    got = alphas(network, frames)
    assert network.graph_frames == len(frames) and network.exports == 1
    for want, have in zip(alphas(model, frames), got):
        assert np.abs(have - want).max() <= 1e-4
    clip = torch.stack([f[0] for f in frames])[None]                # [1,T,3,H,W]: frame by frame, state carried
    with torch.inference_mode():
        _, pha, *_ = network(clip, downsample_ratio=RATIO)
    assert np.abs(pha[0, -1].numpy() - got[-1][0]).max() <= 1e-4


def test_each_export_gets_its_own_engine_folder_in_the_writable_cache(model, monkeypatch, tmp_path):
    monkeypatch.setenv("RVMATTE_SHARED_CACHE_DIR", str(tmp_path / "shared"))
    network = BackendNetwork(model, _cpu_bound_runtime(), "float16", 1)
    names = [f"tensorrt-{cache.entry_key(network.entry_fields(1080, 1920, ratio))}.onnx" for ratio in (0.25, 0.5)]
    folders = [tensorrt_backend.engine_folder(str(tmp_path / "shared" / name)) for name in names]
    assert folders[0] != folders[1]                                 # the ratio is baked into each engine
    assert all(f.startswith(cache.cache_dir() + "/") and f.endswith(".engines") for f in folders)
    trt, cuda = tensorrt_backend.providers("float16", 1, folders[0])
    assert trt[0] == "TensorrtExecutionProvider" and cuda[0] == "CUDAExecutionProvider"
    assert trt[1]["trt_fp16_enable"] and trt[1]["trt_engine_cache_path"] == folders[0] and trt[1]["device_id"] == 1
    assert not tensorrt_backend.providers("float32", 0, folders[0])[0][1]["trt_fp16_enable"]


def test_cuda_graphs_with_another_backend_warn_and_run_that_backend(tmp_path, capsys):
    require("onnxruntime")
    shot = make_png_shot(tmp_path / "in", count=2)
    code = main(["run", shot, "-o", str(tmp_path / "out"), "--weights", str(TEST_WEIGHTS), "--backend", "onnxruntime",
                 "--cuda-graphs", "--device", "cpu", "--downsample-ratio", "0.25", "--no-foreground",
                 "--progress", "none"])
    assert code == 0
    assert "--cuda-graphs: --backend onnxruntime runs its own graph, which is not captured" in capsys.readouterr().err
    assert len(list((tmp_path / "out").glob("plate.alpha.*.exr"))) == 2


@pytest.mark.skipif(not (torch.cuda.is_available() and _trt_available()),
                    reason="needs a CUDA GPU and onnxruntime-gpu with TensorRT (bench/gpu_bench.py's tensorrt rows)")
def test_on_a_gpu_the_tensorrt_alpha_follows_pytorch(model, frames):
    import copy

    reference = copy.deepcopy(model).float().cuda()
    network = backends.select("tensorrt", reference, precision="float32", threads=1, warn=print)
    with torch.inference_mode():
        want_state, have_state = [None] * 4, [None] * 4
        for src in (f.cuda() for f in frames):
            _, want, *want_state = reference(src, *want_state, downsample_ratio=RATIO)
            _, have, *have_state = network(src, *have_state, downsample_ratio=RATIO)
            assert have.device.type == "cuda" and float((have - want).abs().max()) <= 1e-3
    assert network.graph_frames == len(frames)
