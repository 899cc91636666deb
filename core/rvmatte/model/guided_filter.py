"""Refiners that lift the low-resolution prediction to full resolution.

Both fit a local linear model ``y ≈ A·x + b`` between the downsampled image and
the downsampled prediction, upsample ``A`` and ``b`` bilinearly and apply them
to the full-resolution image (He et al., guided filter; Wu et al. 2018, Deep
Guided Filter). The image gets a fourth, grey channel so alpha can be guided too.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _with_grey(x: Tensor) -> Tensor:
    return torch.cat([x, x.mean(1, keepdim=True)], dim=1)


def _apply_upsampled(a: Tensor, b: Tensor, fine_x: Tensor) -> Tuple[Tensor, Tensor]:
    """Upsample the per-pixel linear model (a, b) to ``fine_x`` and apply it → (fgr, pha)."""
    size = (fine_x.shape[2], fine_x.shape[3])
    a = F.interpolate(a, size, mode="bilinear", align_corners=False)
    b = F.interpolate(b, size, mode="bilinear", align_corners=False)
    fgr, pha = (a * fine_x + b).split([3, 1], dim=1)
    return fgr, pha


class DeepGuidedFilterRefiner(nn.Module):
    """``A`` predicted by a small 1x1 network from the local statistics and the decoder's features."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.box_filter = nn.Conv2d(4, 4, 3, padding=1, bias=False, groups=4)
        self.box_filter.weight.data.fill_(1 / 9)
        self.conv = nn.Sequential(
            nn.Conv2d(4 * 2 + hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True),
            nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True),
            nn.Conv2d(hidden, 4, 1, bias=True))

    def forward(self, fine_src: Tensor, base_src: Tensor, base_fgr: Tensor, base_pha: Tensor,
                base_hid: Tensor) -> Tuple[Tensor, Tensor]:
        fine_x = _with_grey(fine_src)                       # [N,4,H,W]
        base_x = _with_grey(base_src)                       # [N,4,h,w]
        base_y = torch.cat([base_fgr, base_pha], dim=1)     # [N,4,h,w]
        mean_x = self.box_filter(base_x)
        mean_y = self.box_filter(base_y)
        cov_xy = self.box_filter(base_x * base_y) - mean_x * mean_y
        var_x = self.box_filter(base_x * base_x) - mean_x * mean_x
        a = self.conv(torch.cat([cov_xy, var_x, base_hid], dim=1))
        return _apply_upsampled(a, mean_y - a * mean_x, fine_x)


def _box_filter(x: Tensor, radius: int) -> Tensor:
    """Mean filter with zero padding (so edges darken, as in the original); an average pool
    rather than a convolution so exports need no kernel shaped by the input."""
    k = 2 * radius + 1
    return F.avg_pool2d(x, k, stride=1, padding=radius, count_include_pad=True)


class FastGuidedFilterRefiner(nn.Module):
    """The closed-form guided filter: ``A = cov(x, y) / (var(x) + eps)``; no weights."""

    def __init__(self, radius: int = 1, eps: float = 1e-5):
        super().__init__()
        self.radius = radius
        self.eps = eps

    def forward(self, fine_src: Tensor, base_src: Tensor, base_fgr: Tensor, base_pha: Tensor,
                base_hid: Tensor) -> Tuple[Tensor, Tensor]:
        lr_x = _with_grey(base_src)
        lr_y = torch.cat([base_fgr, base_pha], dim=1)
        hr_x = _with_grey(fine_src)
        mean_x = _box_filter(lr_x, self.radius)
        mean_y = _box_filter(lr_y, self.radius)
        cov_xy = _box_filter(lr_x * lr_y, self.radius) - mean_x * mean_y
        var_x = _box_filter(lr_x * lr_x, self.radius) - mean_x * mean_x
        a = cov_xy / (var_x + self.eps)
        return _apply_upsampled(a, mean_y - a * mean_x, hr_x)
