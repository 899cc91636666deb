"""The matting losses of the RVM paper, written from its description.

Alpha: L1, a Laplacian-pyramid loss (L1 between the levels of the two mattes'
Laplacian pyramids, level i weighted 2^i / levels, see ``laplacian_loss``)
and a temporal-coherence loss (L2 between the frame-to-frame derivatives).
Foreground: L1 and temporal coherence, both only where the ground-truth alpha is
above 0 (elsewhere the foreground colour is undefined).

Tensors are ``[B, T, C, H, W]``; every loss returns a 0-d tensor.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

PYRAMID_LEVELS = 5


def _gauss_kernel(channels: int, device, dtype) -> torch.Tensor:
    """The 5x5 binomial kernel (1 4 6 4 1)² / 256 used to build Gaussian/Laplacian pyramids."""
    row = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=device, dtype=dtype)
    kernel = torch.outer(row, row) / 256.0
    return kernel.expand(channels, 1, 5, 5).contiguous()


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int = PYRAMID_LEVELS):
    """``[N, C, H, W]`` → ``levels`` band-pass images (the last is the low-pass residual).

    Each level: blur, take every second pixel, upsample back by zero insertion ×4 and blur,
    and keep the difference. Odd sizes are handled by cropping the upsampled image.
    """
    kernel = _gauss_kernel(x.shape[1], x.device, x.dtype)
    bands = []
    current = x
    for _ in range(levels - 1):
        if min(current.shape[-2:]) < 3:
            break
        down = _blur(current, kernel)[..., ::2, ::2]
        up = torch.zeros_like(current)
        up[..., ::2, ::2] = down * 4.0
        up = _blur(up, kernel)
        bands.append(current - up)
        current = down
    bands.append(current)
    return bands


def laplacian_loss(pred: torch.Tensor, true: torch.Tensor, levels: int = PYRAMID_LEVELS) -> torch.Tensor:
    """Σ_i 2^i / levels · mean|L_i(pred) − L_i(true)| over the pyramid levels i = 0..levels−1
    (the finest level is i = 0 and counts least)."""
    pred = pred.flatten(0, 1)
    true = true.flatten(0, 1)
    total = pred.new_zeros(())
    for i, (a, b) in enumerate(zip(laplacian_pyramid(pred, levels), laplacian_pyramid(true, levels))):
        total = total + (2 ** i / levels) * (a - b).abs().mean()
    return total


def l1_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    return (pred - true).abs().mean()


def temporal_coherence_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """mean ((pred_t − pred_{t−1}) − (true_t − true_{t−1}))²; 0 for single frames."""
    if pred.shape[1] < 2:
        return pred.new_zeros(())
    return ((pred.diff(dim=1) - true.diff(dim=1)) ** 2).mean()


def alpha_loss(pred: torch.Tensor, true: torch.Tensor, coherence: bool = True) -> torch.Tensor:
    """The paper's alpha loss: L1 + Laplacian pyramid + (for clips) temporal coherence."""
    loss = l1_loss(pred, true) + laplacian_loss(pred, true)
    if coherence:
        loss = loss + temporal_coherence_loss(pred, true)
    return loss


def foreground_loss(pred: torch.Tensor, true: torch.Tensor, true_alpha: torch.Tensor,
                    coherence: bool = True) -> torch.Tensor:
    """The paper's foreground loss, only where the ground-truth alpha is above 0:
    L1 and temporal coherence, each a mean over the selected pixels of one clip, then
    averaged over the clips of the batch ([B,T,C,H,W]). Per-clip means make the loss of a
    batch the mean of its clips' losses, so a batch split across processes (DDP averages
    their gradients) gives the gradient of the whole batch."""
    mask = (true_alpha > 0).to(pred.dtype).expand_as(pred)
    dims = tuple(range(1, pred.dim()))
    loss = ((pred - true).abs() * mask).sum(dims) / mask.sum(dims).clamp(min=1.0)
    if coherence and pred.shape[1] > 1:
        both = mask[:, 1:] * mask[:, :-1]
        loss = loss + (((pred.diff(dim=1) - true.diff(dim=1)) ** 2) * both).sum(dims) / both.sum(dims).clamp(min=1.0)
    return loss.mean()


def matting_loss(pred_alpha, true_alpha, pred_fgr: Optional[torch.Tensor] = None,
                 true_fgr: Optional[torch.Tensor] = None) -> torch.Tensor:
    loss = alpha_loss(pred_alpha, true_alpha)
    if pred_fgr is not None and true_fgr is not None:
        loss = loss + foreground_loss(pred_fgr, true_fgr, true_alpha)
    return loss
