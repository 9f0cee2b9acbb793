"""Canonizer: torchvision's ResNet blocks, rewritten for the time of an explanation so that LRP sees
their residual sum.

torchvision's ``BasicBlock``/``Bottleneck`` add the residual with ``out += identity``, an operation
without a module that no module hook can see. :func:`torchvision_residuals` gives them, within a
``with`` block, a forward that writes the sum with :class:`~lrp_utils.layers.Add` (like Zennit's
``ResNetCanonizer``), and gives them back exactly as they were afterwards. (BatchNorms need no
canonizer here: they are merged functionally, see :mod:`lrp_utils.lrp.structure`.)
"""

from __future__ import annotations

import contextlib
import types
from typing import Iterator

from torch import nn

from lrp_utils.layers import Add

_RESIDUAL_ADD = "lrp_residual_add"


def _is_torchvision_block(module: nn.Module) -> bool:
    cls = type(module)
    return cls.__module__ == "torchvision.models.resnet" and cls.__name__ in ("BasicBlock", "Bottleneck")


def _torchvision_block_forward(self, x):
    """torchvision's BasicBlock/Bottleneck forward with the residual sum as a module."""
    out = self.relu(self.bn1(self.conv1(x)))
    if hasattr(self, "conv3"):
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
    else:
        out = self.bn2(self.conv2(out))
    identity = self.downsample(x) if self.downsample is not None else x
    return self.relu(getattr(self, _RESIDUAL_ADD)(out, identity))


@contextlib.contextmanager
def torchvision_residuals(model: nn.Module) -> Iterator[None]:
    """Within the context, torchvision ResNet blocks add their residual with an :class:`Add` module."""
    blocks = [m for m in model.modules() if _is_torchvision_block(m)]
    try:
        for block in blocks:
            block.add_module(_RESIDUAL_ADD, Add())
            block.forward = types.MethodType(_torchvision_block_forward, block)
        yield
    finally:
        for block in blocks:
            block.__dict__.pop("forward", None)
            block._modules.pop(_RESIDUAL_ADD, None)
