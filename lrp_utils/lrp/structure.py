"""The data flow the rules need, found by following the tensors of a forward pass.

Two facts about a model are not visible from its modules alone, only from what its ``forward``
does with them:

- which BatchNorm directly consumes the output of a conv/linear layer (and nothing else does). Such
  a BatchNorm is explained merged into its layer (Zennit's ``SequentialMergeBatchNorm`` and
  ResNet canonizer); the merge is computed functionally (:class:`~lrp_utils.lrp.units.AffineUnit`),
  so no parameter is ever modified;
- which layers feed a single ReLU and nothing else, whose rule may then be applied at the ReLU's
  output (:mod:`lrp_utils.lrp.rules`).

:func:`trace_structure` learns both from a probe forward pass; a :class:`StructureRecorder` active
during a later pass shows whether that pass still has the same :class:`Structure`. Following the
tensors works for ``nn.Sequential`` and for blocks written as ``self.bn1(self.conv1(x))``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import torch
from torch import nn

from .units import BATCHNORM_TYPES

_MERGEABLE = {nn.BatchNorm1d: (nn.Linear, nn.Conv1d), nn.BatchNorm2d: (nn.Conv2d,)}


@dataclass
class Structure:
    """What a forward pass showed about the data flow of a model, by module path
    (``model.named_modules()``)."""

    #: BatchNorm -> the conv/linear layer whose output it alone reads (explained merged).
    merges: dict[str, str] = field(default_factory=dict)
    #: Modules whose output is read by exactly one ``nn.ReLU`` and nothing else. Their rule may be
    #: applied at the ReLU's output (the same relevance, computed from the tensor the ReLU saves
    #: for its own backward pass anyway, so it costs no memory).
    relu_fed: set[str] = field(default_factory=set)

    def changes_to(self, other: "Structure") -> list[str]:
        """What differs in ``other``, one phrase per module (empty if nothing does)."""
        changes = [f"BatchNorm '{bn}' no longer reads the output of '{layer}' alone (they were merged)"
                   for bn, layer in self.merges.items() if other.merges.get(bn) != layer]
        changes += [f"BatchNorm '{bn}' now reads the output of '{layer}' alone (they were not merged)"
                    for bn, layer in other.merges.items() if self.merges.get(bn) != layer]
        changes += [f"'{name}' is no longer read by a single ReLU" for name in sorted(self.relu_fed - other.relu_fed)]
        changes += [f"'{name}' is now read by a single ReLU" for name in sorted(other.relu_fed - self.relu_fed)]
        return changes


class StructureRecorder:
    """Follows the tensors of the forward passes run while it is active (a context manager).

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
        self.names: dict[int, str] = {}
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
        self.names = {id(module): name for name, module in self.model.named_modules()}
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
            producer = self.names[id(origin[0])]
            if type(module) is nn.ReLU:
                structure.relu_fed.add(producer)
            elif (
                isinstance(module, BATCHNORM_TYPES)
                and isinstance(origin[0], _MERGEABLE[type(module)])
                and self.times_called[id(module)] == 1
            ):
                structure.merges[self.names[id(module)]] = producer
        return structure


def trace_structure(model: nn.Module, sample: torch.Tensor, producers: tuple[type, ...]) -> Structure:
    """The :class:`Structure` of ``model``, from one probe forward pass on ``sample`` without
    gradient, followed by a :class:`StructureRecorder`."""
    with StructureRecorder(model, producers) as recorder, torch.no_grad():
        model(sample)
    return recorder.structure()
