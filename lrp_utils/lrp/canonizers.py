"""Canonizers: put a model into the form LRP explains, and give it back exactly as it was.

- :func:`find_batchnorm_merges` finds every BatchNorm that directly consumes the output of a
  conv/linear layer (by a probe forward pass that follows the tensors, so it works for
  ``nn.Sequential`` and for blocks written as ``self.bn1(self.conv1(x))``). Those BatchNorms are
  explained merged into their layer (Zennit's ``SequentialMergeBatchNorm`` and ResNet canonizer);
  the merge is computed functionally (:class:`~lrp_utils.lrp.units.AffineUnit`), so no parameter is
  ever modified.
- :func:`torchvision_residuals` temporarily gives torchvision's ``BasicBlock``/``Bottleneck`` a
  forward that writes the residual sum with :class:`~lrp_utils.lrp.layers.Add` (their own forward
  uses ``out += identity``, invisible to module hooks), like Zennit's ``ResNetCanonizer``.
- :func:`eval_mode` switches the model to evaluation mode and restores every module's flag.
"""

from __future__ import annotations

import contextlib
import types
from typing import Iterator

import torch
from torch import nn

from .layers import Add
from .units import BATCHNORM_TYPES, LINEAR_TYPES

_MERGEABLE = {nn.BatchNorm1d: (nn.Linear, nn.Conv1d), nn.BatchNorm2d: (nn.Conv2d,)}
_RESIDUAL_ADD = "lrp_residual_add"


def find_batchnorm_merges(model: nn.Module, sample: torch.Tensor) -> dict[nn.Module, nn.Module]:
    """Map each BatchNorm that directly follows a conv/linear layer to that layer.

    Runs ``model`` once on ``sample`` (one input, no gradient) and pairs a BatchNorm with the layer
    whose output tensor it receives, provided both are called once and no other module reads that
    output. (A functional consumer written inside some ``forward`` cannot be seen; keep such models
    built from modules.)
    """
    calls: list[tuple[nn.Module, tuple, torch.Tensor]] = []

    def record(module, inputs, output):
        calls.append((module, inputs, output))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        with torch.no_grad():
            model(sample)
    finally:
        for handle in handles:
            handle.remove()

    times_called: dict[int, int] = {}
    readers: dict[int, int] = {}
    for module, inputs, _ in calls:
        times_called[id(module)] = times_called.get(id(module), 0) + 1
        for tensor in inputs:
            if isinstance(tensor, torch.Tensor):
                readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    producer = {id(output): module for module, _, output in calls if isinstance(module, LINEAR_TYPES)}

    merges = {}
    for module, inputs, _ in calls:
        if not isinstance(module, BATCHNORM_TYPES) or not inputs:
            continue
        layer = producer.get(id(inputs[0]))
        if (
            layer is not None
            and isinstance(layer, _MERGEABLE[type(module)])
            and readers[id(inputs[0])] == 1
            and times_called[id(module)] == 1
            and times_called[id(layer)] == 1
        ):
            merges[module] = layer
    return merges


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


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Evaluate ``model`` in eval mode (no dropout, BatchNorm running statistics) and restore each
    module's ``training`` flag afterwards, also on error."""
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for module, flag in flags:
            module.training = flag
