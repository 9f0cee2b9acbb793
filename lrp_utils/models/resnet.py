"""A ResNet34-style speaker-identification network over 64-dim Kaldi fbanks.

The paper (Sarvaš, section 5) explains a VoxCeleb ResNet34 speaker-embedding network (5994
speakers) that is not obtainable, so we train our own network of the same kind on the corpus'
speakers.  What the paper's composites need from it is its *kind* of
layers -- "a Conv2d/BatchNorm2d body, linear and BatchNorm1d near the output" -- and the ResNet34
layout (He et al. 2016, *Deep Residual Learning for Image Recognition*; BasicBlocks [3, 4, 6, 3],
as in the VoxCeleb ``ResNetSE34`` recipes):

- stem: 3x3 conv (stride 1) + BatchNorm2d + ReLU over the 1 x 64 x T input;
- four stages of BasicBlocks with widths ``w, 2w, 4w, 8w`` (``w = base_width``), the first block of
  stages 2-4 halving frequency and time with stride 2 (and a 1x1 conv + BatchNorm2d shortcut);
- temporal (and frequency) average pooling: ``nn.AdaptiveAvgPool2d(1)`` -- an average over all
  positions, which LRP treats as a linear layer;
- a dense embedding: ``Linear(8w, embedding_dim)`` + ``BatchNorm1d`` + ``ReLU``;
- a linear classifier over the speakers.

Every operation is its own ``nn.Module`` (one ``nn.ReLU`` per use; the residual sum is the
:class:`lrp_utils.layers.Add` module) so that :mod:`lrp_utils.lrp` can explain it layer by layer; block modules
keep torchvision's names (``conv1``/``bn1``/``conv2``/``bn2``/``downsample``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

# The residual sum as a module, so that LRP finds it (owned by the LRP engine, which explains it).
from lrp_utils.layers import Add

#: Blocks per stage of ResNet34 (He et al. 2016, table 1).
RESNET34_LAYERS = (3, 4, 6, 3)

#: Number of mel filterbank channels of the input (64-dim Kaldi fbanks, 25 ms / 10 ms frames).
FBANK_BINS = 64


class BasicBlock(nn.Module):
    """ResNet BasicBlock (He et al. 2016, fig. 2): two 3x3 conv+BN, identity or 1x1 shortcut.

    ``out = relu2(add(bn2(conv2(relu1(bn1(conv1(x))))), downsample(x)))``.
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(channels),
            )
        else:
            self.downsample = nn.Identity()
        self.add = Add()
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(self.add(out, self.downsample(x)))


class SpeakerResNet(nn.Module):
    """ResNet34-layout speaker classifier for 1 x 64 x T fbank inputs (see the module docstring).

    Parameters
    ----------
    num_speakers:
        Number of output classes.
    base_width:
        Channels of the first stage (ResNet34 on ImageNet: 64; VoxCeleb's "ResNetSE34L": 16-32).
        Smaller widths train faster on CPU; the profiles choose it.
    embedding_dim:
        Size of the dense embedding layer (default ``4 * base_width``).
    layers:
        Blocks per stage (default ResNet34's ``(3, 4, 6, 3)``).
    """

    def __init__(self, num_speakers: int, base_width: int = 32, embedding_dim: int | None = None,
                 layers: tuple[int, ...] = RESNET34_LAYERS) -> None:
        super().__init__()
        for name, value in (("num_speakers", num_speakers), ("base_width", base_width)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SpeakerResNet: {name} must be a positive int, got {value!r}")
        if len(layers) < 1 or any(int(n) < 1 for n in layers):
            raise ValueError(f"SpeakerResNet: layers must be positive block counts, got {layers!r}")
        embedding_dim = embedding_dim or 4 * base_width
        self.num_speakers = num_speakers
        self.base_width = base_width
        self.conv1 = nn.Conv2d(1, base_width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu1 = nn.ReLU()
        in_channels = base_width
        for stage, blocks in enumerate(layers, start=1):
            channels = base_width * 2 ** (stage - 1)
            stride = 1 if stage == 1 else 2
            stage_blocks = []
            for index in range(int(blocks)):
                stage_blocks.append(BasicBlock(in_channels, channels, stride if index == 0 else 1))
                in_channels = channels
            self.add_module(f"layer{stage}", nn.Sequential(*stage_blocks))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.embedding = nn.Sequential(OrderedDict(
            fc=nn.Linear(in_channels, embedding_dim),
            bn=nn.BatchNorm1d(embedding_dim),
            relu=nn.ReLU(),
        ))
        self.classifier = nn.Linear(embedding_dim, num_speakers)
        self.num_stages = len(layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(
                f"SpeakerResNet expects a batch of shape (N, 1, {FBANK_BINS}, T), got "
                f"{tuple(x.shape)}; add the channel axis with x.unsqueeze(1)")
        x = self.relu1(self.bn1(self.conv1(x)))
        for stage in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{stage}")(x)
        x = self.flatten(self.pool(x))
        return self.classifier(self.embedding(x))
