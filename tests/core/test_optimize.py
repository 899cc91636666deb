"""Inference rewrites keep the network's numbers: folded BatchNorm within the parity tolerance,
bfloat16 within its documented bound on alpha."""
import copy

import numpy as np
import pytest
import torch

from paths import MODELS
from rvmatte.model import MattingNetwork
from rvmatte.optimize import CompiledNetwork, count_batchnorms, fold_batchnorm, prepare_model
from rvmatte.tuning import defaults_for



@pytest.fixture(scope="module", autouse=True)
def _inference_only():
    """No autograd graph in this file's forwards, without switching it off for every later test
    (a module-level set_grad_enabled(False) did, and training tests then had no gradients)."""
    with torch.no_grad():
        yield

BF16_MEAN_ALPHA_BOUND = 2e-3     # docs/performance.md: mean |Δα| of --precision bfloat16 against float32


@pytest.fixture(scope="module")
def golden():
    return np.load(MODELS / "golden" / "large_ratio025.npz")


def _run(model, golden, dtype=torch.float32):
    src = torch.from_numpy(golden["src_u8"]).float() / 255
    rec = [None] * 4
    fgrs, phas = [], []
    for t in range(src.shape[0]):
        fgr, pha, *rec = model(src[t].to(dtype), *rec, downsample_ratio=0.25)
        fgrs.append(fgr.float().numpy())
        phas.append(pha.float().numpy())
    return np.stack(fgrs), np.stack(phas), [r.float().numpy() for r in rec]


def _with_trained_statistics(model):
    """BatchNorms with non-trivial running statistics and affine terms, as after training."""
    generator = torch.Generator().manual_seed(0)
    for bn in model.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            bn.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            bn.weight.copy_(torch.rand(n, generator=generator) + 0.5)
            bn.bias.copy_(torch.randn(n, generator=generator) * 0.1)
    return model


@pytest.mark.parametrize("variant", ["mobilenetv3", "resnet50"])
def test_folding_removes_every_batchnorm(variant):
    model = MattingNetwork(variant).eval()
    assert count_batchnorms(model) > 0
    assert count_batchnorms(fold_batchnorm(model)) == 0


def test_folded_network_matches_the_original_golden_outputs(model, golden):
    fgr, pha, rec = _run(fold_batchnorm(model), golden)
    np.testing.assert_allclose(pha, golden["pha"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(fgr[..., ::4, ::4], golden["fgr_sub4"], rtol=0, atol=1e-4)
    for i, r in enumerate(rec, 1):
        np.testing.assert_allclose(r, golden[f"final_r{i}"], rtol=0, atol=1e-4)


def test_folded_resnet50_with_trained_statistics_matches_the_unfolded_network():
    torch.manual_seed(0)
    model = _with_trained_statistics(MattingNetwork("resnet50").eval())
    src = torch.rand(1, 2, 3, 96, 128)
    expected = model(src, downsample_ratio=0.5)
    folded = fold_batchnorm(model)(src, downsample_ratio=0.5)
    for a, b in zip(folded, expected):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-4)


def test_folding_leaves_the_given_model_untouched(model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fold_batchnorm(model)
    assert count_batchnorms(model) == 54
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_folding_refuses_a_model_in_training_mode():
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(MattingNetwork("mobilenetv3").train())


def test_prepared_model_keeps_the_weights_identity(model):
    prepared = prepare_model(model, defaults_for("cpu", cores=2))
    assert prepared is not model and count_batchnorms(prepared) == 0
    assert prepared.weights_sha256 == model.weights_sha256 and prepared.variant == "mobilenetv3"


def test_prepare_model_can_be_told_not_to_fold(model):
    assert prepare_model(model, defaults_for("cpu", cores=2), fold=False) is model


def test_bfloat16_alpha_stays_within_the_documented_bound(model, golden):
    _, pha32, _ = _run(fold_batchnorm(model), golden)
    bf16 = prepare_model(copy.deepcopy(model).to(torch.bfloat16), defaults_for("cpu", "bfloat16", cores=2))
    _, pha16, _ = _run(bf16, golden, torch.bfloat16)
    assert np.abs(pha16 - pha32).mean() <= BF16_MEAN_ALPHA_BOUND


def test_compiled_network_matches_the_original_golden_outputs(model, golden):
    fallbacks = []
    compiled = CompiledNetwork(fold_batchnorm(model), on_fallback=fallbacks.append)
    fgr, pha, rec = _run(compiled, golden)
    assert fallbacks == [] and compiled.compiled_calls == len(golden["src_u8"]) - 1     # first frame eager
    np.testing.assert_allclose(pha, golden["pha"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(fgr[..., ::4, ::4], golden["fgr_sub4"], rtol=0, atol=1e-4)
    for i, r in enumerate(rec, 1):
        np.testing.assert_allclose(r, golden[f"final_r{i}"], rtol=0, atol=1e-4)


def test_compiled_bfloat16_alpha_stays_within_the_documented_bound(model, golden):
    _, pha32, _ = _run(fold_batchnorm(model), golden)
    bf16 = prepare_model(copy.deepcopy(model).to(torch.bfloat16), defaults_for("cpu", "bfloat16", cores=2))
    compiled = CompiledNetwork(bf16)
    _, pha16, _ = _run(compiled, golden, torch.bfloat16)
    assert compiled.compiled_calls == len(golden["src_u8"]) - 1
    assert np.abs(pha16 - pha32).mean() <= BF16_MEAN_ALPHA_BOUND


def test_a_failed_compile_is_reported_and_the_network_runs_uncompiled(model, golden, monkeypatch):
    """No C++ compiler (a Windows workstation without one, a slim container): the run goes on."""
    import torch._inductor.config as inductor

    torch._dynamo.reset()
    monkeypatch.setattr(inductor, "fx_graph_cache", False)
    monkeypatch.setattr(inductor.cpp, "cxx", (None, "rvmatte-no-such-compiler"))
    fallbacks = []
    compiled = CompiledNetwork(fold_batchnorm(model), on_fallback=fallbacks.append)
    fgr, pha, _ = _run(compiled, golden)
    torch._dynamo.reset()
    assert len(fallbacks) == 1 and fallbacks[0].startswith("torch.compile failed, running the network uncompiled")
    assert compiled.compiled_calls == 0
    np.testing.assert_allclose(pha, golden["pha"], rtol=0, atol=1e-4)
