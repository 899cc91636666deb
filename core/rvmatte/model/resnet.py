"""ResNet-50 encoder (He et al. 2016) as RVM uses it: the last stage dilated, so
features stop at 1/16. Module names follow torchvision's ResNet layout."""
from typing import List

import torch
from torch import Tensor, nn

from .mobilenetv3 import IMAGENET_MEAN, IMAGENET_STD


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1, dilation: int = 1, downsample: bool = False):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if downsample else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + self.downsample(x))


def _stage(cin: int, width: int, blocks: int, stride: int, dilation: int, first_dilation: int) -> nn.Sequential:
    """A ResNet stage; with dilation > 1 its stride is traded for dilation."""
    if dilation > 1:
        stride = 1
    layers = [Bottleneck(cin, width, stride, first_dilation, downsample=True)]
    layers += [Bottleneck(width * 4, width, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet50Encoder(nn.Module):
    """Image [N,3,H,W] in 0..1 → features at 1/2 (64), 1/4 (256), 1/8 (512), 1/16 (2048)."""

    channels = (64, 256, 512, 2048)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(64, 64, 3, 1, 1, 1)
        self.layer2 = _stage(256, 128, 4, 2, 1, 1)
        self.layer3 = _stage(512, 256, 6, 2, 1, 1)
        self.layer4 = _stage(1024, 512, 3, 2, 2, 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> List[Tensor]:
        x = (x - self.mean) / self.std
        f1 = self.relu(self.bn1(self.conv1(x)))        # [N,64,H/2,W/2]
        f2 = self.layer1(self.maxpool(f1))             # [N,256,H/4,W/4]
        f3 = self.layer2(f2)                           # [N,512,H/8,W/8]
        f4 = self.layer4(self.layer3(f3))              # [N,2048,H/16,W/16]
        return [f1, f2, f3, f4]
