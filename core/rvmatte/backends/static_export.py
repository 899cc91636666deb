"""A static-shape ONNX export of the network: one frame size and downsample ratio baked in.

Inputs ``src`` [1,3,H,W] and the four recurrent states at their real shapes (zeros at a
shot's first frame, which is what the PyTorch model uses for a missing state); outputs
``fgr, pha, r1o..r4o``. The Deep Guided Filter is part of the graph, exactly as the
eager forward runs it at a ratio below 1, with its two full-resolution upsamplings (A and b)
made one 8-channel resize: the same values, and OpenVINO's bf16 graph 1.2x faster at 1080p
(its resize costs per call; bench/int8_study.py, docs/performance.md). Static shapes let OpenVINO and ONNX Runtime
plan every buffer ahead (OpenVINO ran 1.5x slower on the dynamic-shape export).

``channels_last``: ``src`` is [1,H,W,3] and ``fgr`` [1,H,W,3] (``pha`` and the states keep
their shapes), the layout the plates are read in and the writers want; the graph's own
transposes replace two host copies (rvmatte.backends.network): the plate's transpose, 11 ms on
the network's thread, and a strided foreground that made the writers' blend 30 ms instead of 16
per 1080p frame (docs/performance.md).
"""
from __future__ import annotations

import copy
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

INPUTS = ["src", "r1i", "r2i", "r3i", "r4i"]
OUTPUTS = ["fgr", "pha", "r1o", "r2o", "r3o", "r4o"]
OPSET = 17
#: what the graph is made of; part of the cache key, so a change here rebuilds older entries
EXPORT_VERSION = 2                  # 2: one 8-channel full-resolution resize in the refiner


class StaticMatting(nn.Module):
    """The network's single-frame forward with the ratio fixed (as a Python constant). Sets the
    refiner of ``network`` (a copy: ``float32_copy``) to upsample A and b in one resize."""

    def __init__(self, network: nn.Module, ratio: float, merged_upsampling: bool = True,
                 channels_last: bool = False):
        super().__init__()
        self.network = network
        self.ratio = float(ratio)
        self.channels_last = channels_last
        network.refiner.merged_upsampling = merged_upsampling

    def forward(self, src: Tensor, r1: Tensor, r2: Tensor, r3: Tensor, r4: Tensor) -> List[Tensor]:
        net = self.network
        if self.channels_last:
            src = src.permute(0, 3, 1, 2)                   # [1,H,W,3] -> [1,3,H,W]
        src_sm = F.interpolate(src, scale_factor=self.ratio, mode="bilinear", align_corners=False,
                               recompute_scale_factor=False)
        f1, f2, f3, f4 = net.backbone(src_sm)
        hid, r1, r2, r3, r4 = net.decoder(src_sm, f1, f2, f3, net.aspp(f4), r1, r2, r3, r4, 1)
        fgr_residual, pha = net.project_mat(hid).split([3, 1], dim=1)
        fgr_residual, pha = net.refiner(src, src_sm, fgr_residual, pha, hid)
        fgr = (fgr_residual + src).clamp(0.0, 1.0)
        if self.channels_last:
            fgr = fgr.permute(0, 2, 3, 1)                   # [1,3,H,W] -> [1,H,W,3]
        return [fgr, pha.clamp(0.0, 1.0), r1, r2, r3, r4]


def float32_copy(model: nn.Module) -> nn.Module:
    """A float32 CPU copy of the eager network (the export never alters the model it is given)."""
    network = getattr(model, "network", model)          # a CompiledNetwork wraps the eager one
    return copy.deepcopy(network).float().cpu().eval()


@torch.inference_mode()
def state_shapes(network: nn.Module, height: int, width: int, ratio: float) -> List[Tuple[int, ...]]:
    src = torch.zeros(1, 3, height, width)
    _, _, *state = network(src, downsample_ratio=ratio)
    return [tuple(r.shape) for r in state]


def export_static_onnx(network: nn.Module, path: str, height: int, width: int, ratio: float,
                       merged_upsampling: bool = True, channels_last: bool = False) -> None:
    """Trace ``network`` (a float32 CPU copy, which this alters) at this size and ratio and write the
    ONNX graph to ``path``."""
    import warnings

    shapes = state_shapes(network, height, width, ratio)
    wrapper = StaticMatting(network, ratio, merged_upsampling, channels_last).eval()
    src = torch.zeros((1, height, width, 3) if channels_last else (1, 3, height, width))
    state = tuple(torch.zeros(shape) for shape in shapes)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")                  # tracer chatter about shapes read as Python ints
        torch.onnx.export(wrapper, (src, *state), path, dynamo=False, opset_version=OPSET,
                          input_names=INPUTS, output_names=OUTPUTS, do_constant_folding=True,
                          export_params=True)
