"""The exported model is cached on disk: reused by the next run, rebuilt for other weights or when corrupt."""
import copy
import os

import numpy as np
import torch

from conftest import alphas, require
from rvmatte.backends import cache, select


def _ort(model):
    require("onnxruntime")
    return select("onnxruntime", model, precision="float32", threads=1, warn=print)


def _entries():
    return sorted(name for name in os.listdir(cache.cache_dir()) if name.endswith(".onnx"))


def test_a_second_run_exports_nothing(model, frames):
    first = _ort(model)
    alphas(first, frames[:2])
    second = _ort(model)
    got = alphas(second, frames[:2])
    assert (first.exports, second.exports) == (1, 0)
    assert second.graph_frames == 2
    assert np.abs(got[1] - alphas(model, frames[:2])[1]).max() <= 1e-4


def test_the_entry_is_written_atomically_under_rvmatte_cache_dir(model, frames, tmp_path):
    alphas(_ort(model), frames[:1])
    assert cache.cache_dir() == str(tmp_path / "compiled")
    assert len(_entries()) == 1
    assert not [n for n in os.listdir(cache.cache_dir()) if ".tmp-" in n]


def test_other_weights_export_again(model, frames):
    alphas(_ort(model), frames[:1])
    other = copy.deepcopy(model)
    other.weights_sha256 = "0" * 64
    with torch.no_grad():
        other.project_mat.conv.bias.add_(0.5)
    network = _ort(other)
    got = alphas(network, frames[:1])
    assert network.exports == 1 and len(_entries()) == 2
    assert np.abs(got[0] - alphas(other, frames[:1])[0]).max() <= 1e-4


def test_another_frame_size_is_another_entry(model, frames):
    network = _ort(model)
    alphas(network, frames[:1])
    alphas(network, [f[..., :128] for f in frames[:1]])
    assert network.exports == 2 and len(_entries()) == 2


def test_a_corrupt_entry_is_rebuilt(model, frames):
    alphas(_ort(model), frames[:1])
    (entry,) = _entries()
    with open(os.path.join(cache.cache_dir(), entry), "wb") as f:
        f.write(b"not an onnx model")
    network = _ort(model)
    got = alphas(network, frames[:2])
    assert network.exports == 1
    assert np.abs(got[1] - alphas(model, frames[:2])[1]).max() <= 1e-4


def test_a_new_export_version_exports_again(model, frames, monkeypatch):
    from rvmatte.backends import network as backend_network

    alphas(_ort(model), frames[:1])
    monkeypatch.setattr(backend_network, "EXPORT_VERSION", backend_network.EXPORT_VERSION + 1)
    network = _ort(model)
    alphas(network, frames[:1])
    assert network.exports == 1 and len(_entries()) == 2
