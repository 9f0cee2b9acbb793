"""Canonizers: put a model into the form LRP explains, and give it back exactly as it was.

- :func:`trace_structure` finds every BatchNorm that directly consumes the output of a
  conv/linear layer (by a probe forward pass that follows the tensors, so it works for
  ``nn.Sequential`` and for blocks written as ``self.bn1(self.conv1(x))``). Those BatchNorms are
  explained merged into their layer (Zennit's ``SequentialMergeBatchNorm`` and ResNet canonizer);
  the merge is computed functionally (:class:`~lrp_utils.lrp.units.AffineUnit`), so no parameter is
  ever modified.
- :func:`torchvision_residuals` temporarily gives torchvision's ``BasicBlock``/``Bottleneck`` a
  forward that writes the residual sum with :class:`~lrp_utils.layers.Add` (their own forward
  uses ``out += identity``, invisible to module hooks), like Zennit's ``ResNetCanonizer``.
"""

from __future__ import annotations

import contextlib
import types
import weakref
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import nn

from lrp_utils.layers import Add
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


class StructureRecorder:
    """Follows the tensors of the forward passes run while it is active, for :func:`trace_structure`.

    A tensor is identified by its object and its version, so an in-place ReLU's output counts as a
    new tensor; outputs are held by weak references (an id reused after a tensor was freed is not
    taken for it), so recording keeps no activation alive. :meth:`structure` pairs a BatchNorm with
    the conv/linear layer whose output it receives, provided both are called once and nothing else
    reads that output, and records which ``producers`` feed a single ReLU. (A functional consumer
    written inside some ``forward`` cannot be seen; keep such models built from modules.) Hooks
    registered on the model before the recorder run first, so it sees the outputs they substitute.
    """

    def __init__(self, model: nn.Module, producers: tuple[type, ...]):
        self.model = model
        self.producers = producers
        #: (reading module, the output it reads first: (producer, tensor key) or None)
        self.reads: list[tuple[nn.Module, tuple | None]] = []
        self.readers: dict[tuple, int] = {}  # (producer, tensor key) -> number of reads
        self.outputs: dict[tuple, tuple[nn.Module, weakref.ref]] = {}
        self.times_called: dict[int, int] = {}
        self._handles: list = []

    @staticmethod
    def _key(tensor: torch.Tensor) -> tuple:
        return id(tensor), tensor._version

    def _produced(self, tensor: torch.Tensor) -> tuple | None:
        """``(producer, key)`` if ``tensor`` is a recorded output, else ``None``."""
        key = self._key(tensor)
        entry = self.outputs.get(key)
        return (entry[0], key) if entry is not None and entry[1]() is tensor else None

    def _before(self, module, inputs):
        self.times_called[id(module)] = self.times_called.get(id(module), 0) + 1
        origins = [self._produced(t) for t in inputs if isinstance(t, torch.Tensor)]
        for origin in origins:
            if origin is not None:
                self.readers[origin] = self.readers.get(origin, 0) + 1
        self.reads.append((module, origins[0] if origins else None))

    def _after(self, module, inputs, output):
        if isinstance(output, torch.Tensor):
            self.outputs[self._key(output)] = (module, weakref.ref(output))

    def __enter__(self) -> "StructureRecorder":
        leaves = [m for m in self.model.modules() if not list(m.children())]
        self._handles = [m.register_forward_pre_hook(self._before) for m in leaves]
        self._handles += [m.register_forward_hook(self._after) for m in leaves if isinstance(m, self.producers)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    def structure(self) -> Structure:
        """What the recorded passes show (see the class docstring)."""
        structure = Structure()
        for module, origin in self.reads:
            if origin is None or self.readers[origin] != 1 or self.times_called[id(origin[0])] != 1:
                continue
            producer = origin[0]
            if type(module) is nn.ReLU:
                structure.relu_fed.add(id(producer))
            elif (
                isinstance(module, BATCHNORM_TYPES)
                and isinstance(producer, _MERGEABLE[type(module)])
                and self.times_called[id(module)] == 1
            ):
                structure.merges[module] = producer
        return structure


def trace_structure(model: nn.Module, sample: torch.Tensor, producers: tuple[type, ...]) -> Structure:
    """The :class:`Structure` of ``model``, from one probe forward pass on ``sample`` without
    gradient, followed by a :class:`StructureRecorder`."""
    with StructureRecorder(model, producers) as recorder, torch.no_grad():
        model(sample)
    return recorder.structure()


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
