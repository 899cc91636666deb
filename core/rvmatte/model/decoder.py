"""The recurrent decoder (RVM paper, section 3.2).

Every block works on frames flattened into the batch, ``[B*T,C,H,W]``; only the
ConvGRUs unflatten to ``[B,T,C,H,W]`` to walk through time, carrying the hidden
state ``r`` from frame to frame. Only half of each block's channels go through
the GRU (the paper's split), the other half pass straight on.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvGRU(nn.Module):
    """Convolutional GRU: reset/update gates from ``ih``, candidate from ``hh``."""

    def __init__(self, channels: int, kernel: int = 3):
        super().__init__()
        self.channels = channels
        self.ih = nn.Sequential(nn.Conv2d(channels * 2, channels * 2, kernel, padding=kernel // 2), nn.Sigmoid())
        self.hh = nn.Sequential(nn.Conv2d(channels * 2, channels, kernel, padding=kernel // 2), nn.Tanh())

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        reset, update = self.ih(torch.cat([x, h], dim=1)).split(self.channels, dim=1)
        candidate = self.hh(torch.cat([x, reset * h], dim=1))
        return (1 - update) * h + update * candidate

    def forward(self, x: Tensor, h: Optional[Tensor], frames: int) -> Tuple[Tensor, Tensor]:
        """x: [B*T,C,H,W], h: [B,C,H,W], None or a zero tensor that broadcasts to it (the
        exported models' first-frame [1,1,1,1] state) → ([B*T,C,H,W], [B,C,H,W])."""
        x = x.unflatten(0, (-1, frames))
        state = torch.zeros_like(x[:, 0]) if h is None else h.expand_as(x[:, 0])
        outputs: List[Tensor] = []
        for t in range(frames):
            state = self.step(x[:, t], state)
            outputs.append(state)
        return torch.stack(outputs, dim=1).flatten(0, 1), state


class BottleneckBlock(nn.Module):
    """At 1/16: the LR-ASPP features, half of them through a ConvGRU."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.gru = ConvGRU(channels // 2)

    def forward(self, x: Tensor, r: Optional[Tensor], frames: int) -> Tuple[Tensor, Tensor]:
        a, b = x.split(self.channels // 2, dim=1)
        b, r = self.gru(b, r, frames)
        return torch.cat([a, b], dim=1), r


def _upsample_to(x: Tensor, like: Tensor) -> Tensor:
    """2x bilinear upsampling cropped to ``like``'s size (odd sizes round up on the way down)."""
    x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    return x[:, :, :like.shape[2], :like.shape[3]]


class UpsamplingBlock(nn.Module):
    """Upsample ×2, concatenate the encoder skip and the pooled image, conv, then ConvGRU."""

    def __init__(self, cin: int, skip: int, src: int, cout: int):
        super().__init__()
        self.out_channels = cout
        self.conv = nn.Sequential(nn.Conv2d(cin + skip + src, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout), nn.ReLU(True))
        self.gru = ConvGRU(cout // 2)

    def forward(self, x: Tensor, f: Tensor, s: Tensor, r: Optional[Tensor], frames: int) -> Tuple[Tensor, Tensor]:
        x = self.conv(torch.cat([_upsample_to(x, s), f, s], dim=1))
        a, b = x.split(self.out_channels // 2, dim=1)
        b, r = self.gru(b, r, frames)
        return torch.cat([a, b], dim=1), r


class OutputBlock(nn.Module):
    """Back to full (input) resolution: upsample, add the image, two convs."""

    def __init__(self, cin: int, src: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin + src, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        return self.conv(torch.cat([_upsample_to(x, s), s], dim=1))


class RecurrentDecoder(nn.Module):
    def __init__(self, feature_channels: List[int], decoder_channels: List[int]):
        super().__init__()
        self.avgpool = nn.AvgPool2d(2, 2, count_include_pad=False, ceil_mode=True)
        self.decode4 = BottleneckBlock(feature_channels[3])
        self.decode3 = UpsamplingBlock(feature_channels[3], feature_channels[2], 3, decoder_channels[0])
        self.decode2 = UpsamplingBlock(decoder_channels[0], feature_channels[1], 3, decoder_channels[1])
        self.decode1 = UpsamplingBlock(decoder_channels[1], feature_channels[0], 3, decoder_channels[2])
        self.decode0 = OutputBlock(decoder_channels[2], 3, decoder_channels[3])

    def forward(self, s0: Tensor, f1: Tensor, f2: Tensor, f3: Tensor, f4: Tensor,
                r1: Optional[Tensor], r2: Optional[Tensor], r3: Optional[Tensor], r4: Optional[Tensor],
                frames: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        s1 = self.avgpool(s0)                               # [N,3,H/2,W/2]
        s2 = self.avgpool(s1)                               # [N,3,H/4,W/4]
        s3 = self.avgpool(s2)                               # [N,3,H/8,W/8]
        x4, r4 = self.decode4(f4, r4, frames)               # [N,128,H/16,W/16]
        x3, r3 = self.decode3(x4, f3, s3, r3, frames)       # [N,80,H/8,W/8]
        x2, r2 = self.decode2(x3, f2, s2, r2, frames)       # [N,40,H/4,W/4]
        x1, r1 = self.decode1(x2, f1, s1, r1, frames)       # [N,32,H/2,W/2]
        x0 = self.decode0(x1, s0)                           # [N,16,H,W]
        return x0, r1, r2, r3, r4
