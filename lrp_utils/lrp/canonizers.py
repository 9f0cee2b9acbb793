"""Canonizers: put a model into the form LRP explains, and give it back exactly as it was.

- :func:`trace_structure` finds every BatchNorm that directly consumes the output of a
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
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import nn

from .layers import Add
from .units import BATCHNORM_TYPES

_MERGEABLE = {nn.BatchNorm1d: (nn.Linear, nn.Conv1d), nn.BatchNorm2d: (nn.Conv2d,)}
_RESIDUAL_ADD = "lrp_residual_add"


@dataclass
class Structure:
    """What a probe forward pass learned about the data flow of a model."""

    #: BatchNorm -> the conv/linear layer whose output it alone reads (explained merged).
    merges: dict[nn.Module, nn.Module] = field(default_factory=dict)
    #: Modules whose output is read by exactly one ``nn.ReLU`` and nothing else. Their rule may be
    #: applied at the ReLU's output (the same relevance, computed from the tensor the ReLU saves
    #: for its own backward pass anyway, so it costs no memory).
    relu_fed: set[int] = field(default_factory=set)


def trace_structure(model: nn.Module, sample: torch.Tensor, producers: tuple[type, ...]) -> Structure:
    """Follow the tensors of one forward pass of ``model`` on ``sample`` (no gradient).

    A tensor is identified by its object and its version, so an in-place ReLU's output counts as a
    new tensor. Pairs a BatchNorm with the conv/linear layer whose output it receives, provided both
    are called once and nothing else reads that output; records which ``producers`` feed a single
    ReLU. (A functional consumer written inside some ``forward`` cannot be seen; keep such models
    built from modules.)
    """
    reads: list[tuple[nn.Module, tuple]] = []
    outputs: dict[tuple, nn.Module] = {}
    keep_alive: list[torch.Tensor] = []
    times_called: dict[int, int] = {}

    def key(tensor: torch.Tensor) -> tuple:
        return id(tensor), tensor._version

    def before(module, inputs):
        times_called[id(module)] = times_called.get(id(module), 0) + 1
        reads.append((module, tuple(key(t) for t in inputs if isinstance(t, torch.Tensor))))
        keep_alive.extend(t for t in inputs if isinstance(t, torch.Tensor))

    def after(module, inputs, output):
        if isinstance(output, torch.Tensor):
            outputs[key(output)] = module
            keep_alive.append(output)

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_pre_hook(before) for m in leaves]
    handles += [m.register_forward_hook(after) for m in leaves if isinstance(m, producers)]
    try:
        with torch.no_grad():
            model(sample)
    finally:
        for handle in handles:
            handle.remove()

    readers: dict[tuple, int] = {}
    for _, keys in reads:
        for k in keys:
            readers[k] = readers.get(k, 0) + 1

    structure = Structure()
    for module, keys in reads:
        producer = outputs.get(keys[0]) if keys else None
        if producer is None or readers[keys[0]] != 1 or times_called[id(producer)] != 1:
            continue
        if type(module) is nn.ReLU:
            structure.relu_fed.add(id(producer))
        elif (
            isinstance(module, BATCHNORM_TYPES)
            and isinstance(producer, _MERGEABLE[type(module)])
            and times_called[id(module)] == 1
        ):
            structure.merges[module] = producer
    return structure


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
