"""Small networks for the LRP tests (seeded, float64 by default)."""

from __future__ import annotations

import torch
from torch import nn

from lrp_utils.layers import Add


def randomize_batchnorms(model: nn.Module, generator: torch.Generator, eps: float = 0.0) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters.

    ``eps = 0`` because Zennit's merge turns a BatchNorm into ``x / sqrt(1 + eps)`` rather than the
    identity, which would add an error of order ``eps`` per BatchNorm to the oracle.
    """
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = module.num_features
            module.running_mean = torch.rand(n, generator=generator, dtype=module.running_mean.dtype) - 0.5
            module.running_var = torch.rand(n, generator=generator, dtype=module.running_var.dtype) + 0.5
            module.weight.data = torch.rand(n, generator=generator, dtype=module.weight.dtype) + 0.5
            module.bias.data = torch.rand(n, generator=generator, dtype=module.bias.dtype) - 0.5
            module.eps = eps
    return model


def becker_alexnet_like(width: int = 4, num_classes: int = 2) -> nn.Sequential:
    """Becker et al.'s spectrogram AlexNet layout (grouped conv2/4/5, pools after conv1, conv2 and
    conv5) for a 1x227x227 input, with channel counts divided by ``width`` to keep the test fast."""
    c = [96 // width, 256 // width, 384 // width, 384 // width, 256 // width]
    fc = 1024 // width
    return nn.Sequential(
        nn.Conv2d(1, c[0], 11, stride=4), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c[0], c[1], 5, padding=2, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
        nn.Conv2d(c[2], c[3], 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(c[3], c[4], 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(c[4] * 36, fc), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(fc, fc), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(fc, num_classes),
    )


def keras_alexnet_like() -> nn.Sequential:
    """The Keras port's pattern: BatchNorm *after pooling* (not mergeable), LeakyReLU, AvgPool."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, stride=2), nn.LeakyReLU(0.1), nn.MaxPool2d(2), nn.BatchNorm2d(6),
        nn.Conv2d(6, 8, 3, padding=1, dilation=1), nn.ReLU(), nn.AvgPool2d(2), nn.BatchNorm2d(8),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3),
    )


def random_sequential(generator: torch.Generator) -> tuple[nn.Sequential, tuple[int, ...]]:
    """A random conv net (stride, padding, dilation, groups, BN merged or not) and its input shape."""

    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=generator))]

    layers: list[nn.Module] = []
    channels, size = pick([1, 2]), 16
    input_shape = (channels, size, size)
    for _ in range(pick([2, 3])):
        groups = pick([1, 2]) if channels % 2 == 0 else 1
        out = 2 * pick([2, 3, 4])
        kernel, stride, dilation = pick([1, 3]), pick([1, 2]), pick([1, 2])
        padding = pick([0, 1])
        if dilation * (kernel - 1) + 1 > size + 2 * padding:
            kernel = 1
        layers.append(nn.Conv2d(channels, out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups))
        size = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
        if pick([True, False]):
            layers.append(nn.BatchNorm2d(out))
        layers.append(pick([nn.ReLU(), nn.LeakyReLU(0.2)]))
        if size >= 4 and pick([True, False]):
            layers.append(pick([nn.MaxPool2d(2), nn.AvgPool2d(2)]))
            size //= 2
        channels = out
    layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(channels * 4, 7)]
    if pick([True, False]):
        layers.append(nn.BatchNorm1d(7))
    layers += [nn.ReLU(), nn.Linear(7, 3)]
    return nn.Sequential(*layers), input_shape


class OwnBlock(nn.Module):
    """A ResNet basic block written for LRP (residual through :class:`Add`)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))
            if stride != 1 or channels_in != channels_out
            else nn.Identity()
        )
        self.add = Add()
        self.relu2 = nn.ReLU()

    def forward(self, x):  # noqa: D102
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(self.add(out, self.shortcut(x)))


def own_resnet() -> nn.Sequential:
    """A tiny ResNet of :class:`OwnBlock` with a dense head (Linear + BatchNorm1d)."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        OwnBlock(4, 4), OwnBlock(4, 8, stride=2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3),
    )
