"""Becker et al.'s spectrogram AlexNet, as their Caffe definition has it.

Becker, Ackermann, Lapuschkin, Müller, Samek (2018), *Interpreting and Explaining Deep Neural
Networks for Classification of Audio Signals*, arXiv:1807.03418 -- the network the paper (Sarvaš,
section 4) explains.  The layout follows ``models/AlexNet/alexnet_train.prototxt`` of the public
``soerenab/AudioMNIST`` repository, **not** the repository's later Keras port (which adds
BatchNorm and drops the grouped convolutions):

======  ==========================================  ===============
layer   Caffe definition                            output (1x227²)
======  ==========================================  ===============
conv1   96 @ 11x11, stride 4; ReLU                  96 x 55 x 55
pool1   max 3x3, stride 2                           96 x 27 x 27
conv2   256 @ 5x5, pad 2, groups 2; ReLU            256 x 27 x 27
pool2   max 3x3, stride 2                           256 x 13 x 13
conv3   384 @ 3x3, pad 1; ReLU                      384 x 13 x 13
conv4   384 @ 3x3, pad 1, groups 2; ReLU            384 x 13 x 13
conv5   256 @ 3x3, pad 1, groups 2; ReLU            256 x 13 x 13
pool5   max 3x3, stride 2                           256 x 6 x 6 = 9216
fc6     1024; ReLU; dropout 0.5
fc7     1024; ReLU; dropout 0.5
fc8     ``num_classes`` (logits; Caffe's SoftmaxWithLoss = our cross-entropy)
======  ==========================================  ===============

About 12.8 M parameters.  Becker's prototxt has **no** local response normalisation (unlike the
original ImageNet AlexNet), so nothing is omitted.  Caffe pools with ``ceil`` rounding; for a
227x227 input every pooling window fits exactly, so PyTorch's default ``floor`` gives the same
shapes.

Every operation is its own ``nn.Module`` (one ``nn.ReLU`` instance per use, an ``nn.Flatten``
before ``fc6``) so that :mod:`lrp_utils.lrp` can explain the network layer by layer, and the
module names (``conv1`` ... ``fc8``) are readable in a heatmap legend.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

#: Weight initialisations :class:`AlexNet` offers (see :meth:`AlexNet.reset_parameters`).
ALEXNET_INITS = ("caffe", "torch")

#: Caffe's fillers from Becker's prototxt: (weight Gaussian std, bias constant) per layer.
CAFFE_FILLERS = {
    "conv1": (0.01, 0.0),
    "conv2": (0.01, 0.1),
    "conv3": (0.01, 0.0),
    "conv4": (0.01, 0.1),
    "conv5": (0.01, 0.1),
    "fc6": (0.005, 0.1),
    "fc7": (0.005, 0.1),
    "fc8": (0.01, 0.0),
}

#: Input shape (channels, frequency bins, time frames) of the Becker spectrogram.
ALEXNET_INPUT_SHAPE = (1, 227, 227)


class AlexNet(nn.Sequential):
    """Becker et al.'s Caffe AlexNet for 1x227x227 dB spectrograms (see the module docstring).

    Parameters
    ----------
    num_classes:
        Outputs of ``fc8``: 2 for gender (0 = male, 1 = female), 10 for digits.
    init:
        ``"caffe"`` (default) applies the Gaussian fillers of Becker's prototxt (std 0.01 for the
        convs and ``fc8``, 0.005 for ``fc6``/``fc7``; biases 0 or 0.1 per layer, see
        :data:`CAFFE_FILLERS`); ``"torch"`` keeps PyTorch's default (Kaiming-uniform) one.
        Becker's own initialisation is the default (README, "Why these sizes", compares the two).
    dropout:
        Dropout probability after ``fc6`` and ``fc7`` (Caffe: 0.5).
    seed:
        If given, the initialisation draws from a generator seeded with it (so the weights do
        not depend on the global RNG state); otherwise from the global torch RNG.
    """

    def __init__(self, num_classes: int = 2, init: str = "caffe", dropout: float = 0.5,
                 seed: int | None = None) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"AlexNet: num_classes must be a positive int, got {num_classes!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"AlexNet: dropout must be in [0, 1), got {dropout!r}")
        layers = OrderedDict(
            conv1=nn.Conv2d(1, 96, kernel_size=11, stride=4),
            relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(kernel_size=3, stride=2),
            conv2=nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),
            relu2=nn.ReLU(),
            pool2=nn.MaxPool2d(kernel_size=3, stride=2),
            conv3=nn.Conv2d(256, 384, kernel_size=3, padding=1),
            relu3=nn.ReLU(),
            conv4=nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
            relu4=nn.ReLU(),
            conv5=nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
            relu5=nn.ReLU(),
            pool5=nn.MaxPool2d(kernel_size=3, stride=2),
            flatten=nn.Flatten(),
            fc6=nn.Linear(256 * 6 * 6, 1024),
            relu6=nn.ReLU(),
            drop6=nn.Dropout(dropout),
            fc7=nn.Linear(1024, 1024),
            relu7=nn.ReLU(),
            drop7=nn.Dropout(dropout),
            fc8=nn.Linear(1024, num_classes),
        )
        super().__init__(layers)
        self.num_classes = num_classes
        self.init = init
        self.reset_parameters(init, seed=seed)

    def reset_parameters(self, init: str = "caffe", seed: int | None = None) -> None:
        """(Re-)initialise all weights with ``init`` (one of :data:`ALEXNET_INITS`)."""
        if init not in ALEXNET_INITS:
            raise ValueError(f"AlexNet: unknown init {init!r}; valid: {', '.join(ALEXNET_INITS)}")
        generator = None if seed is None else torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for name, (std, bias) in CAFFE_FILLERS.items():
                layer = getattr(self, name)
                if init == "caffe":
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)
                    layer.bias.fill_(bias)
                else:
                    _torch_default_init(layer, generator)


def _torch_default_init(layer: nn.Conv2d | nn.Linear, generator: torch.Generator | None) -> None:
    """PyTorch's default Conv/Linear initialisation (Kaiming-uniform, a=√5), optionally seeded.

    Same distribution as ``layer.reset_parameters()``: weights and biases uniform in
    ``±1/√fan_in``.
    """
    fan_in = layer.weight[0].numel()
    bound = 1.0 / fan_in ** 0.5
    layer.weight.copy_((torch.rand(layer.weight.shape, generator=generator) * 2 - 1) * bound)
    layer.bias.copy_((torch.rand(layer.bias.shape, generator=generator) * 2 - 1) * bound)
