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


def _apply_upsampled(a: Tensor, b: Tensor, fine_src: Tensor, merged: bool = False) -> Tuple[Tensor, Tensor]:
    """Upsample the per-pixel linear model (a, b) [N,4,h,w] to ``fine_src`` [N,3,H,W] and apply
    it to the image and its grey channel → (fgr [N,3,H,W], pha [N,1,H,W]).

    The same ``A·x + b`` as on the 4-channel guide, without building that guide or the
    product at full resolution: two fused multiply-adds instead of a concatenation, a
    product and a sum over four full-size channels. ``merged`` upsamples a and b as one
    8-channel tensor (bilinear upsampling is per channel, so the values are the same):
    the static export does, OpenVINO's resize costs per call (bench/int8_study.py).
    """
    size = (fine_src.shape[2], fine_src.shape[3])
    if merged:
        ab = F.interpolate(torch.cat([a, b], 1), size, mode="bilinear", align_corners=False)
        a, b = ab[:, :4], ab[:, 4:]
    else:
        # Few channels: the planar (NCHW) upsampling kernel is the faster one here.
        a = F.interpolate(a.contiguous(), size, mode="bilinear", align_corners=False)
        b = F.interpolate(b.contiguous(), size, mode="bilinear", align_corners=False)
    fgr = torch.addcmul(b[:, :3], a[:, :3], fine_src)
    pha = torch.addcmul(b[:, 3:], a[:, 3:], fine_src.mean(1, keepdim=True))
    return fgr, pha


class DeepGuidedFilterRefiner(nn.Module):
    """``A`` predicted by a small 1x1 network from the local statistics and the decoder's features."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.merged_upsampling = False      # the static export sets it on its copy (see _apply_upsampled)
        self.box_filter = nn.Conv2d(4, 4, 3, padding=1, bias=False, groups=4)
        self.box_filter.weight.data.fill_(1 / 9)
        self.conv = nn.Sequential(
            nn.Conv2d(4 * 2 + hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True),
            nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True),
            nn.Conv2d(hidden, 4, 1, bias=True))

    def forward(self, fine_src: Tensor, base_src: Tensor, base_fgr: Tensor, base_pha: Tensor,
                base_hid: Tensor) -> Tuple[Tensor, Tensor]:
        base_x = _with_grey(base_src)                       # [N,4,h,w]
        base_y = torch.cat([base_fgr, base_pha], dim=1)     # [N,4,h,w]
        # The four box filters as one grouped convolution over 16 channels.
        means = F.conv2d(torch.cat([base_x, base_y, base_x * base_y, base_x * base_x], dim=1),
                         self.box_filter.weight.repeat(4, 1, 1, 1), padding=1, groups=16)
        mean_x, mean_y, mean_xy, mean_xx = means.chunk(4, dim=1)
        cov_xy = mean_xy - mean_x * mean_y
        var_x = mean_xx - mean_x * mean_x
        a = self.conv(torch.cat([cov_xy, var_x, base_hid], dim=1))
        return _apply_upsampled(a, mean_y - a * mean_x, fine_src, self.merged_upsampling)


def _box_filter(x: Tensor, radius: int) -> Tensor:
    """Mean filter with zero padding (so edges darken, as in the original); an average pool
    rather than a convolution so exports need no kernel shaped by the input."""
    k = 2 * radius + 1
    return F.avg_pool2d(x, k, stride=1, padding=radius, count_include_pad=True)


class FastGuidedFilterRefiner(nn.Module):
    """The closed-form guided filter: ``A = cov(x, y) / (var(x) + eps)``; no weights."""

    def __init__(self, radius: int = 1, eps: float = 1e-5):
        super().__init__()
        self.merged_upsampling = False
        self.radius = radius
        self.eps = eps

    def forward(self, fine_src: Tensor, base_src: Tensor, base_fgr: Tensor, base_pha: Tensor,
                base_hid: Tensor) -> Tuple[Tensor, Tensor]:
        lr_x = _with_grey(base_src)
        lr_y = torch.cat([base_fgr, base_pha], dim=1)
        mean_x = _box_filter(lr_x, self.radius)
        mean_y = _box_filter(lr_y, self.radius)
        cov_xy = _box_filter(lr_x * lr_y, self.radius) - mean_x * mean_y
        var_x = _box_filter(lr_x * lr_x, self.radius) - mean_x * mean_x
        a = cov_xy / (var_x + self.eps)
        return _apply_upsampled(a, mean_y - a * mean_x, fine_src, self.merged_upsampling)
