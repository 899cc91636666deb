"""MattingNetwork: encoder → LR-ASPP → recurrent decoder → projection → refiner.

Same module names, state_dict keys and ``forward`` signature as the original
RVM implementation, so its official checkpoints load strictly and scripts
written for it keep working.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .decoder import RecurrentDecoder
from .guided_filter import DeepGuidedFilterRefiner, FastGuidedFilterRefiner
from .lraspp import LRASPP
from .mobilenetv3 import MobileNetV3LargeEncoder
from .resnet import ResNet50Encoder

from . import REFINERS, VARIANTS  # noqa: F401 - still importable from here


class Projection(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class MattingNetwork(nn.Module):
    def __init__(self, variant: str = "mobilenetv3", refiner: str = "deep_guided_filter",
                 pretrained_backbone: bool = False):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        if refiner not in REFINERS:
            raise ValueError(f"unknown refiner {refiner!r}; expected one of {', '.join(REFINERS)}")
        if pretrained_backbone:
            raise ValueError("pretrained_backbone is not supported: load a full RVM checkpoint instead")
        self.variant = variant
        self.refiner_name = refiner
        if variant == "mobilenetv3":
            self.backbone = MobileNetV3LargeEncoder()
            self.aspp = LRASPP(960, 128)
            self.decoder = RecurrentDecoder([16, 24, 40, 128], [80, 40, 32, 16])
        else:
            self.backbone = ResNet50Encoder()
            self.aspp = LRASPP(2048, 256)
            self.decoder = RecurrentDecoder([64, 256, 512, 256], [128, 64, 32, 16])
        self.project_mat = Projection(16, 4)
        self.project_seg = Projection(16, 1)
        self.refiner = DeepGuidedFilterRefiner() if refiner == "deep_guided_filter" else FastGuidedFilterRefiner()

    def forward(self, src: Tensor, r1: Optional[Tensor] = None, r2: Optional[Tensor] = None,
                r3: Optional[Tensor] = None, r4: Optional[Tensor] = None,
                downsample_ratio: float = 1.0, segmentation_pass: bool = False) -> List[Tensor]:
        """src: [B,3,H,W] or [B,T,3,H,W], sRGB-encoded RGB in 0..1.

        Returns ``[fgr, pha, r1, r2, r3, r4]`` (``[seg, r1..r4]`` with
        ``segmentation_pass``); fgr/pha/seg keep src's layout, the states are [B,C,h,w].
        """
        time_series = src.dim() == 5
        frames = src.shape[1] if time_series else 1
        batch = src.shape[0]
        x = src.flatten(0, 1) if time_series else src            # [N=B*T,3,H,W]
        x_sm = x if downsample_ratio == 1 else F.interpolate(
            x, scale_factor=downsample_ratio, mode="bilinear", align_corners=False, recompute_scale_factor=False)
        f1, f2, f3, f4 = self.backbone(x_sm)
        f4 = self.aspp(f4)                                       # [N,128,h/16,w/16]
        hid, r1, r2, r3, r4 = self.decoder(x_sm, f1, f2, f3, f4, r1, r2, r3, r4, frames)   # hid [N,16,h,w]

        if segmentation_pass:
            out = [self.project_seg(hid)]
        else:
            fgr_residual, pha = self.project_mat(hid).split([3, 1], dim=1)
            if downsample_ratio != 1:
                fgr_residual, pha = self.refiner(x, x_sm, fgr_residual, pha, hid)
            # x first: the sum takes src's memory layout, so a plate read as [H,W,3] gets its foreground
            # back as [H,W,3] in memory (the writers' layout; the same values, and half the time)
            out = [(x + fgr_residual).clamp_(0.0, 1.0), pha.clamp(0.0, 1.0)]
        if time_series:
            out = [o.unflatten(0, (batch, frames)) for o in out]
        return out + [r1, r2, r3, r4]
