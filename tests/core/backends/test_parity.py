"""Each backend's alpha follows the PyTorch model's over several frames with the state fed back.

Bounds: float32 graphs within 1e-4 of PyTorch's float32 alpha at every pixel (oneDNN and
MLAS reorder the sums, nothing more); OpenVINO's bfloat16 within a mean |Δα| of 5e-3 at
this test's 256x144 frames (measured 2.05e-3 on an AVX512-BF16 CPU: the network sees only
64x36 pixels here; at 1080p/0.25 bench/speed.py reports it against the 2e-3 target).
"""
import numpy as np
import pytest
import torch

from conftest import RATIO, alphas, require
from rvmatte.backends import select


def _warn(message):
    raise AssertionError(f"unexpected warning: {message}")


@pytest.mark.parametrize("name", ["onnxruntime", "openvino"])
def test_float32_alpha_matches_pytorch_within_1e_4(name, model, frames):
    require(name)
    network = select(name, model, precision="float32", threads=1, warn=_warn)
    reference, got = alphas(model, frames), alphas(network, frames)
    assert network.graph_frames == len(frames)                # every frame ran through the backend's graph
    for want, have in zip(reference, got):
        assert have.shape == want.shape
        assert np.abs(have - want).max() <= 1e-4
    assert max(float(a.max()) for a in reference) > 0.5       # real frames: there is a person to matte


def test_openvino_bfloat16_alpha_stays_within_its_bound(model, frames):
    require("openvino")
    network = select("openvino", model, precision="bfloat16", threads=1, warn=_warn)
    for want, have in zip(alphas(model, frames), alphas(network, frames)):
        assert np.abs(have - want).mean() <= 5e-3


def test_the_state_goes_out_and_in_like_pytorchs(model, frames):
    require("onnxruntime")
    network = select("onnxruntime", model, precision="float32", threads=1, warn=_warn)
    import torch

    with torch.inference_mode():
        _, _, *want = model(frames[0], downsample_ratio=0.25)
        _, _, *have = network(frames[0], downsample_ratio=0.25)
    assert [tuple(r.shape) for r in have] == [tuple(r.shape) for r in want]
    for w, h in zip(want, have):
        assert float((w - h).abs().max()) <= 1e-4


def test_a_clip_of_several_frames_in_one_call_matches_frame_by_frame(model, frames):
    require("onnxruntime")
    import torch

    network = select("onnxruntime", model, precision="float32", threads=1, warn=_warn)
    clip = torch.stack([f[0] for f in frames])[None]          # [1,T,3,H,W]
    with torch.inference_mode():
        _, pha, *_ = network(clip, downsample_ratio=0.25)
    for t, want in enumerate(alphas(model, frames)):
        assert np.abs(pha[0, t].numpy() - want[0]).max() <= 1e-4


def test_bfloat16_is_refused_by_onnxruntime(model):
    require("onnxruntime")
    from rvmatte.errors import RvmatteError

    with pytest.raises(RvmatteError, match="onnxruntime runs float32"):
        select("onnxruntime", model, precision="bfloat16", threads=1, warn=_warn)


@pytest.mark.parametrize("name", ["onnxruntime", "openvino"])
@torch.inference_mode()
def test_the_foreground_comes_back_laid_out_as_the_writers_take_it(name, model, frames):
    """The CPU runtimes' graph gives fgr [1,H,W,3]: the [1,3,H,W] tensor handed on is a view of it,
    so its channels-last view (rvmatte.transfer's download) is contiguous, and its values are the model's."""
    require(name)
    network = select(name, model, precision="float32", threads=1, warn=_warn)
    plate = frames[1].permute(0, 2, 3, 1).contiguous()             # a plate as read: [1,H,W,3]
    fgr, pha, *_ = network(plate.permute(0, 3, 1, 2), downsample_ratio=RATIO)
    want_fgr, want_pha, *_ = model(frames[1], downsample_ratio=RATIO)
    assert fgr.shape == want_fgr.shape and fgr.permute(0, 2, 3, 1).is_contiguous()
    assert float((fgr - want_fgr).abs().max()) <= 1e-4 and float((pha - want_pha).abs().max()) <= 1e-4
