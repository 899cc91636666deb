"""The paper's matting losses against values worked out by hand."""
import pytest
import torch

from rvmatte.train.losses import (alpha_loss, foreground_loss, l1_loss, laplacian_loss, laplacian_pyramid,
                                  temporal_coherence_loss)


def clip(values):
    """[T][pixels] → [1, T, 1, 1, pixels]."""
    return torch.tensor(values, dtype=torch.float32)[None, :, None, None, :]


def test_l1_is_the_mean_absolute_difference():
    assert float(l1_loss(clip([[0, 0.5, 1, 1]]), clip([[0, 0, 0, 1]]))) == pytest.approx(0.375)


def test_temporal_coherence_compares_the_frame_to_frame_change():
    # prediction rises by 1 and 0, truth by 0.5 and 0: ((1 - 0.5)² + 0²) / 2
    pred = clip([[0, 0], [1, 0]])
    true = clip([[0, 0], [0.5, 0]])
    assert float(temporal_coherence_loss(pred, true)) == pytest.approx(0.125)


def test_temporal_coherence_of_one_frame_is_zero():
    assert float(temporal_coherence_loss(clip([[1.0]]), clip([[0.0]]))) == 0.0


def test_a_constant_offset_lives_in_the_coarsest_level_only():
    # 32x32: four band-pass levels (32, 16, 8, 4) of a constant are 0; the 2x2 residual carries
    # the offset 0.1 with weight 2^4 / 5
    pred = torch.full((1, 1, 1, 32, 32), 0.1)
    true = torch.zeros(1, 1, 1, 32, 32)
    bands = laplacian_pyramid(pred[0])
    assert [b.shape[-1] for b in bands] == [32, 16, 8, 4, 2]
    assert all(float(b.abs().max()) < 1e-6 for b in bands[:-1])
    assert float(laplacian_loss(pred, true)) == pytest.approx(0.1 * 16 / 5, rel=1e-5)


def test_laplacian_of_one_level_is_l1():
    pred = torch.rand(1, 2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert float(laplacian_loss(pred, torch.zeros_like(pred), levels=1)) == pytest.approx(float(pred.mean()))


def test_alpha_loss_is_l1_plus_laplacian_plus_coherence():
    pred = torch.rand(1, 3, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    true = torch.rand(1, 3, 1, 16, 16, generator=torch.Generator().manual_seed(4))
    expected = l1_loss(pred, true) + laplacian_loss(pred, true) + temporal_coherence_loss(pred, true)
    assert float(alpha_loss(pred, true)) == pytest.approx(float(expected))
    assert float(alpha_loss(pred, true, coherence=False)) == pytest.approx(
        float(l1_loss(pred, true) + laplacian_loss(pred, true)))


def test_foreground_loss_counts_only_where_truth_alpha_is_above_zero():
    # pixel 0: alpha 0.5, colour off by 0.3 in each channel; pixel 1: alpha 0, off by 1 (ignored)
    pred = torch.tensor([[0.5, 1.0]] * 3).reshape(1, 1, 3, 1, 2)
    true = torch.tensor([[0.2, 0.0]] * 3).reshape(1, 1, 3, 1, 2)
    alpha = torch.tensor([0.5, 0.0]).reshape(1, 1, 1, 1, 2)
    assert float(foreground_loss(pred, true, alpha)) == pytest.approx(0.3)


def test_foreground_coherence_only_where_both_frames_have_alpha():
    # one pixel with alpha in both frames; its colour rises by 0.4 while the truth's stays: L1 0.2 + 0.4²
    pred = torch.tensor([0.0, 0.4]).reshape(1, 2, 1, 1, 1).expand(1, 2, 3, 1, 1)
    true = torch.tensor([0.0, 0.0]).reshape(1, 2, 1, 1, 1).expand(1, 2, 3, 1, 1)
    alpha = torch.ones(1, 2, 1, 1, 1)
    assert float(foreground_loss(pred, true, alpha)) == pytest.approx(0.2 + 0.16)


def test_foreground_loss_of_a_batch_is_the_mean_of_its_clips():
    # clip 0: one selected pixel off by 0.3; clip 1: four selected pixels off by 0.1 → (0.3 + 0.1) / 2
    pred = torch.zeros(2, 1, 3, 1, 4)
    pred[0, :, :, :, 0] = 0.3
    pred[1] = 0.1
    alpha = torch.zeros(2, 1, 1, 1, 4)
    alpha[0, :, :, :, 0] = 1
    alpha[1] = 1
    assert float(foreground_loss(pred, torch.zeros_like(pred), alpha)) == pytest.approx(0.2)
