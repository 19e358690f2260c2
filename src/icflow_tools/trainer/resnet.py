"""The algorithm's network: the pre-activation ResNet (v2, "Identity Mappings in Deep Residual Networks") of
MXNet's image-classification example, which the SageMaker algorithm is built on.

The depth picks the family, as the algorithm's documentation groups them: 18/34 basic and 50/101/152/200
bottleneck units on 4 stages, or 20/32/44/56/110 (and 164+ with bottlenecks) on 3 stages of (depth-2)/6
units. The stem follows the image height: a 3x3 convolution for images up to 32 pixels high, otherwise a
7x7/2 convolution and a 3x3/2 max pooling.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from icflow.algorithm.hyperparameters import LARGE_IMAGE_LAYERS
from icflow_tools.trainer.api import AlgorithmError
from icflow_tools.trainer.hyperparameters import ImageShape

# MXNet's BatchNorm: eps 2e-5, momentum 0.9 on the running mean, which is torch's momentum 0.1.
_BN_EPS = 2e-5
_BN_MOMENTUM = 0.1
_SMALL_STEM_MAX_HEIGHT = 32

_LARGE_UNITS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}


@dataclass(frozen=True)
class Architecture:
    units: tuple[int, ...]  # residual units per stage
    filters: tuple[int, ...]  # stem width, then each stage's output width
    bottleneck: bool


def architecture(num_layers: int) -> Architecture:
    if num_layers in LARGE_IMAGE_LAYERS:
        bottleneck = num_layers >= 50
        filters = (64, 256, 512, 1024, 2048) if bottleneck else (64, 64, 128, 256, 512)
        return Architecture(_LARGE_UNITS[num_layers], filters, bottleneck)
    if num_layers >= 164 and (num_layers - 2) % 9 == 0:
        return Architecture(((num_layers - 2) // 9,) * 3, (16, 64, 128, 256), True)
    if num_layers < 164 and (num_layers - 2) % 6 == 0:
        return Architecture(((num_layers - 2) // 6,) * 3, (16, 16, 32, 64), False)
    raise AlgorithmError(f"num_layers {num_layers} is not a ResNet depth the algorithm supports")


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class ResidualUnit(nn.Module):
    """BN-ReLU-conv units. As in MXNet's symbol, every stage's first unit projects its shortcut (a 1x1
    convolution of the first activation), even where the width does not change."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bottleneck: bool, project: bool) -> None:
        super().__init__()
        self.bn1 = _bn(in_channels)
        if bottleneck:
            mid = out_channels // 4
            self.body = nn.Sequential(
                nn.Conv2d(in_channels, mid, 1, bias=False),
                _bn(mid),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False),
                _bn(mid),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid, out_channels, 1, bias=False),
            )
        else:
            self.body = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
                _bn(out_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            )
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = torch.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(activated)
        return self.body(activated) + shortcut


class ResNet(nn.Module):
    def __init__(self, num_layers: int, num_classes: int, image_shape: ImageShape) -> None:
        super().__init__()
        arch = architecture(num_layers)
        # bn_data normalises raw 0-255 pixels; MXNet fixes its gamma at 1 and learns only beta.
        self.bn_data = _bn(image_shape.channels)
        self.bn_data.weight.requires_grad_(False)
        if image_shape.height <= _SMALL_STEM_MAX_HEIGHT:
            self.stem = nn.Conv2d(image_shape.channels, arch.filters[0], 3, padding=1, bias=False)
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(image_shape.channels, arch.filters[0], 7, stride=2, padding=3, bias=False),
                _bn(arch.filters[0]),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        units: list[nn.Module] = []
        in_channels = arch.filters[0]
        for stage, count in enumerate(arch.units):
            out_channels = arch.filters[stage + 1]
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                units.append(ResidualUnit(in_channels, out_channels, stride, arch.bottleneck, project=index == 0))
                in_channels = out_channels
        self.stages = nn.Sequential(*units)
        self.bn_out = _bn(in_channels)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(self.bn_data(x)))
        x = torch.relu(self.bn_out(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
