"""MobileNetV3-Large encoder (Howard et al. 2019) as RVM uses it.

The last stage is dilated instead of strided, so the deepest features stay at
1/16 of the input. Module names follow torchvision's layout (``features.N``),
which is what the official RVM checkpoints were saved from.
"""
from typing import List, Optional

import torch
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BN_EPS = 1e-3  # torchvision's MobileNetV3 BatchNorm setting, kept by the checkpoints


def _divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """Conv (no bias) → BatchNorm → optional activation; keys ``0`` and ``1``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 dilation: int = 1, act: Optional[nn.Module] = None):
        padding = (kernel - 1) // 2 * dilation
        layers: List[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=BN_EPS, momentum=0.01),
        ]
        if act is not None:
            layers.append(act)
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeezed: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(squeezed, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(self.fc2(self.relu(self.fc1(self.avgpool(x)))))


class InvertedResidual(nn.Module):
    """Expand (1x1) → depthwise (k×k) → squeeze-excite → project (1x1)."""

    def __init__(self, cin: int, kernel: int, expanded: int, cout: int, use_se: bool,
                 hardswish: bool, stride: int, dilation: int):
        super().__init__()
        self.use_residual = stride == 1 and cin == cout

        def act() -> nn.Module:
            return nn.Hardswish() if hardswish else nn.ReLU()

        layers: List[nn.Module] = []
        if expanded != cin:
            layers.append(ConvBNAct(cin, expanded, 1, act=act()))
        layers.append(ConvBNAct(expanded, expanded, kernel, stride=1 if dilation > 1 else stride,
                                groups=expanded, dilation=dilation, act=act()))
        if use_se:
            layers.append(SqueezeExcite(expanded, _divisible(expanded // 4)))
        layers.append(ConvBNAct(expanded, cout, 1))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


# (in, kernel, expanded, out, squeeze-excite, hardswish, stride, dilation)
_LARGE = [
    (16, 3, 16, 16, False, False, 1, 1),
    (16, 3, 64, 24, False, False, 2, 1),
    (24, 3, 72, 24, False, False, 1, 1),
    (24, 5, 72, 40, True, False, 2, 1),
    (40, 5, 120, 40, True, False, 1, 1),
    (40, 5, 120, 40, True, False, 1, 1),
    (40, 3, 240, 80, False, True, 2, 1),
    (80, 3, 200, 80, False, True, 1, 1),
    (80, 3, 184, 80, False, True, 1, 1),
    (80, 3, 184, 80, False, True, 1, 1),
    (80, 3, 480, 112, True, True, 1, 1),
    (112, 3, 672, 112, True, True, 1, 1),
    (112, 5, 672, 160, True, True, 2, 2),
    (160, 5, 960, 160, True, True, 1, 2),
    (160, 5, 960, 160, True, True, 1, 2),
]


class MobileNetV3LargeEncoder(nn.Module):
    """Image [N,3,H,W] in 0..1 → features at 1/2 (16), 1/4 (24), 1/8 (40), 1/16 (960)."""

    channels = (16, 24, 40, 960)

    def __init__(self):
        super().__init__()
        blocks: List[nn.Module] = [ConvBNAct(3, 16, 3, stride=2, act=nn.Hardswish())]
        blocks += [InvertedResidual(*cfg) for cfg in _LARGE]
        blocks.append(ConvBNAct(160, 960, 1, act=nn.Hardswish()))
        self.features = nn.Sequential(*blocks)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> List[Tensor]:
        x = (x - self.mean) / self.std
        features: List[Tensor] = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i == 1 or i == 3 or i == 6 or i == 16:
                features.append(x)
        # [N,16,H/2,W/2], [N,24,H/4,W/4], [N,40,H/8,W/8], [N,960,H/16,W/16]
        return features
