"""The network is the original RVM: same state_dict, same numbers."""
import json

import numpy as np
import pytest
import torch

from rvmatte.model import MattingNetwork



@pytest.fixture(scope="module", autouse=True)
def _inference_only():
    """No autograd graph in this file's forwards, without switching it off for every later test
    (a module-level set_grad_enabled(False) did, and training tests then had no gradients)."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def official_keys(shared_dir):
    return json.loads((shared_dir / "models" / "official_keys.json").read_text())["state_dicts"]


@pytest.fixture(scope="module")
def model(weights_path):
    net = MattingNetwork("mobilenetv3").eval()
    net.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True), strict=True)
    return net


@pytest.mark.parametrize("variant,refiner", [
    ("mobilenetv3", "deep_guided_filter"), ("mobilenetv3", "fast_guided_filter"),
    ("resnet50", "deep_guided_filter"), ("resnet50", "fast_guided_filter")])
def test_state_dict_matches_official_keys_in_order(official_keys, variant, refiner):
    expected = [(k, shape, dtype) for k, shape, dtype in official_keys[f"{variant}/{refiner}"]]
    actual = [(k, list(t.shape), str(t.dtype).replace("torch.", ""))
              for k, t in MattingNetwork(variant, refiner).state_dict().items()]
    assert actual == expected


@pytest.mark.parametrize("variant,refiner", [("resnet50", "deep_guided_filter"), ("resnet50", "fast_guided_filter"),
                                             ("mobilenetv3", "fast_guided_filter")])
def test_official_layout_loads_strictly(official_keys, variant, refiner):
    """A state_dict with exactly the official names and shapes loads with strict=True."""
    fake = {k: torch.zeros(shape, dtype=getattr(torch, dtype)) for k, shape, dtype in official_keys[f"{variant}/{refiner}"]}
    MattingNetwork(variant, refiner).load_state_dict(fake, strict=True)


def test_fast_guided_filter_loads_checkpoint_without_refiner_keys(weights_path):
    sd = torch.load(weights_path, map_location="cpu", weights_only=True)
    MattingNetwork("mobilenetv3", "fast_guided_filter").load_state_dict(
        {k: v for k, v in sd.items() if not k.startswith("refiner.")}, strict=True)


def _run_golden(model, golden, ratio):
    src = torch.from_numpy(golden["src_u8"]).float() / 255
    rec = [None] * 4
    fgrs, phas = [], []
    for t in range(src.shape[0]):
        fgr, pha, *rec = model(src[t], *rec, downsample_ratio=ratio)
        fgrs.append(fgr.numpy())
        phas.append(pha.numpy())
    return np.stack(fgrs), np.stack(phas), [r.numpy() for r in rec]


def test_parity_with_original_at_ratio_1(model, shared_dir):
    golden = np.load(shared_dir / "models" / "golden" / "small_ratio1.npz")
    fgr, pha, rec = _run_golden(model, golden, 1.0)
    np.testing.assert_allclose(fgr, golden["fgr"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(pha, golden["pha"], rtol=0, atol=1e-4)
    for i, r in enumerate(rec, 1):
        np.testing.assert_allclose(r, golden[f"final_r{i}"], rtol=0, atol=1e-4)


def test_parity_with_original_through_deep_guided_filter(model, shared_dir):
    golden = np.load(shared_dir / "models" / "golden" / "large_ratio025.npz")
    fgr, pha, rec = _run_golden(model, golden, 0.25)
    np.testing.assert_allclose(fgr[..., ::4, ::4], golden["fgr_sub4"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(pha, golden["pha"], rtol=0, atol=1e-4)
    for i, r in enumerate(rec, 1):
        np.testing.assert_allclose(r, golden[f"final_r{i}"], rtol=0, atol=1e-4)


def test_time_series_call_matches_frame_by_frame(model, shared_dir):
    golden = np.load(shared_dir / "models" / "golden" / "small_ratio1.npz")
    src = torch.from_numpy(golden["src_u8"]).float().transpose(0, 1) / 255     # [1,T,3,H,W]
    fgr, pha, *rec = model(src, downsample_ratio=1.0)
    assert fgr.shape == (1, 4, 3, 144, 256) and pha.shape == (1, 4, 1, 144, 256)
    np.testing.assert_allclose(pha[0].numpy(), golden["pha"][:, 0], rtol=0, atol=1e-4)
    np.testing.assert_allclose(rec[3].numpy(), golden["final_r4"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("variant,refiner", [("resnet50", "deep_guided_filter"), ("resnet50", "fast_guided_filter")])
def test_output_and_state_shapes(variant, refiner):
    net = MattingNetwork(variant, refiner).eval()
    fgr, pha, r1, r2, r3, r4 = net(torch.rand(1, 3, 130, 250), downsample_ratio=0.5)
    assert fgr.shape == (1, 3, 130, 250) and pha.shape == (1, 1, 130, 250)
    assert r1.shape[2:] == (33, 63) and r4.shape[2:] == (5, 8)
    assert 0 <= float(pha.min()) and float(pha.max()) <= 1


def test_segmentation_pass_returns_one_channel_and_states(model):
    seg, *rec = model(torch.rand(1, 3, 64, 96), segmentation_pass=True)
    assert seg.shape == (1, 1, 64, 96) and len(rec) == 4


def test_model_is_torchscript_compatible(model):
    scripted = torch.jit.script(model)
    src = torch.rand(1, 3, 64, 96)
    expected = model(src, downsample_ratio=0.5)
    for a, b in zip(scripted(src, downsample_ratio=0.5), expected):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_a_plate_laid_out_channels_last_gets_its_foreground_channels_last_with_the_same_values(model, shared_dir,
                                                                                              ratio):
    """The pipeline hands the network [H,W,3] plates seen as [1,3,H,W]; the foreground keeps that layout
    (the writers' own), with the values a contiguous [1,3,H,W] plate gives (oneDNN's kernels for the
    two layouts round differently, within the parity bound)."""
    golden = np.load(shared_dir / "models" / "golden" / "small_ratio1.npz")
    plate = torch.from_numpy(np.ascontiguousarray(golden["src_u8"][0].transpose(0, 2, 3, 1))).float() / 255
    fgr, pha, *_ = model(plate.permute(0, 3, 1, 2), downsample_ratio=ratio)      # [1,H,W,3] as [1,3,H,W]
    want_fgr, want_pha, *_ = model(plate.permute(0, 3, 1, 2).contiguous(), downsample_ratio=ratio)
    assert fgr.permute(0, 2, 3, 1).is_contiguous() and want_fgr.is_contiguous()
    assert float((fgr - want_fgr).abs().max()) <= 1e-5 and float((pha - want_pha).abs().max()) <= 1e-5
