"""The network in the form the original's ONNX models have: every input a tensor.

``forward(src, r1i, r2i, r3i, r4i, downsample_ratio) → fgr, pha, r1o, r2o, r3o, r4o``
with ``src`` [B,3,H,W], ``downsample_ratio`` a float32 tensor of shape [1] read at
run time, and first-frame states given as zero tensors of shape [1,1,1,1] (they
broadcast to the real state shapes). The refiner always runs, so at a ratio of
exactly 1 the result differs slightly from the eager model's (which skips it), as
with the original's ONNX models.
"""
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ResizeByRuntimeFactor(torch.autograd.Function):
    """Bilinear resize by a scale held in a tensor; exported as one ONNX ``Resize`` whose
    scales come from that tensor (torch's own export would bake the scale in as a constant)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=float(scale.reshape(-1)[0]), mode="bilinear",
                             align_corners=False, recompute_scale_factor=False)

    @staticmethod
    def symbolic(g, x, scale):
        ones = g.op("Constant", value_t=torch.tensor([1.0, 1.0], dtype=torch.float32))
        scale = g.op("Cast", g.op("Reshape", scale, g.op("Constant", value_t=torch.tensor([-1]))), to_i=1)
        scales = g.op("Concat", ones, scale, scale, axis_i=0)
        no_roi = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
        return g.op("Resize", x, no_roi, scales, coordinate_transformation_mode_s="pytorch_half_pixel",
                    mode_s="linear", nearest_mode_s="floor", cubic_coeff_a_f=-0.75)


class TensorInputMatting(nn.Module):
    """Wraps a ``MattingNetwork`` (sharing its weights) with tensor-only inputs."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, src: Tensor, r1i: Tensor, r2i: Tensor, r3i: Tensor, r4i: Tensor,
                downsample_ratio: Tensor) -> List[Tensor]:
        net = self.network
        src_sm = ResizeByRuntimeFactor.apply(src, downsample_ratio)
        f1, f2, f3, f4 = net.backbone(src_sm)
        hid, r1, r2, r3, r4 = net.decoder(src_sm, f1, f2, f3, net.aspp(f4), r1i, r2i, r3i, r4i, 1)
        fgr_residual, pha = net.project_mat(hid).split([3, 1], dim=1)
        fgr_residual, pha = net.refiner(src, src_sm, fgr_residual, pha, hid)
        return [(fgr_residual + src).clamp(0.0, 1.0), pha.clamp(0.0, 1.0), r1, r2, r3, r4]
