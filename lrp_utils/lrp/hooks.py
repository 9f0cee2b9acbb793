"""The forward hooks of one explanation pass, built from a probed :class:`~.structure.Structure`.

Each explained layer gets a forward hook that installs its rule (:mod:`lrp_utils.lrp.rules`); a
conv/linear layer merged with the BatchNorm after it hands its input on to the BatchNorm, whose
hook applies the layer's rule to the merged unit; every ReLU runs what a rule deferred to it.

The structure may be stale (the model's forward path changed since the probe). The only hook that
could then compute something inconsistent during the forward pass is a merged BatchNorm's, and it
checks that it reads the output of its layer's call in this very pass; everything else a stale
structure gets wrong lives in the backward pass, which the caller starts only after a
:class:`~.structure.StructureRecorder` has confirmed the structure (:func:`structure_changed`).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from .rules import NORM_TYPES, Norm, Rule
from .structure import Structure
from .units import AffineUnit


def structure_changed(changes: list[str]) -> ValueError:
    """The error for a forward pass that contradicts the probed structure, saying what changed."""
    return ValueError(
        "the model's forward path has changed since this Explainer probed it: " + "; ".join(changes)
        + ". Build a new Explainer for the model (explain() probes on every call)"
    )


class PassContext:
    """State of one explanation pass, shared by the hooks."""

    def __init__(self, gated_input: torch.Tensor, gate: torch.Tensor):
        self.gated_input = gated_input
        self.gate = gate
        #: BatchNorm path -> (input, output, output version) of the layer merged into it
        self.merged_layer_calls: dict[str, tuple[torch.Tensor, torch.Tensor, int]] = {}
        self.deferred: dict[int, tuple[torch.Tensor, object]] = {}

    def defer_to_relu(self, z: torch.Tensor, install) -> None:
        """Let the ReLU that reads ``z`` call ``install(relu_output)``."""
        self.deferred[id(z)] = (z, install)

    def relu_output(self, z: torch.Tensor, y: torch.Tensor) -> None:
        """Called by every ReLU: run what was deferred to it."""
        pending = self.deferred.pop(id(z), None)
        if pending is not None and pending[0] is z:
            pending[1](y)

    def input_gate(self, a: torch.Tensor, rule: Rule) -> torch.Tensor:
        """The gate ``u``, for rules (z^B) that must see the model input itself."""
        if a is not self.gated_input:
            raise ValueError(
                f"{rule!r} is assigned to a layer that does not consume the model input; "
                "z^B is only defined for the input layer (select it with FirstLayers(1))"
            )
        return self.gate

    def merged_layer_input(self, bn: str, layer: str, bn_input: torch.Tensor) -> torch.Tensor:
        """The input of ``layer``, whose output the BatchNorm ``bn`` reads as ``bn_input``;
        ``ValueError`` (:func:`structure_changed`) if it reads anything else in this pass."""
        call = self.merged_layer_calls.pop(bn, None)
        if call is None or call[1] is not bn_input or call[2] != bn_input._version:
            raise structure_changed([f"BatchNorm '{bn}' no longer reads the output of '{layer}' (they were merged)"])
        return call[0]


@contextlib.contextmanager
def rule_hooks(model: nn.Module, rules: dict[str, Rule], structure: Structure, context: PassContext) -> Iterator[None]:
    """Install one forward hook per explained layer (``rules``: path -> rule) for the duration of
    the context; ``structure`` must name modules of ``model`` of the types it was probed with."""
    modules = dict(model.named_modules())
    merged_into = {layer: bn for bn, layer in structure.merges.items()}

    def layer_hook(rule: Rule, name: str):
        module, relu_fed = modules[name], name in structure.relu_fed

        def hook(_, inputs, output):
            if name in merged_into:  # the rule runs at the BatchNorm's output
                context.merged_layer_calls[merged_into[name]] = (inputs[0], output, output._version)
                return None
            if name in structure.merges:
                layer = structure.merges[name]
                unit = AffineUnit(modules[layer], module)
                a = context.merged_layer_input(name, layer, inputs[0])
            else:
                unit, a = AffineUnit(module), inputs[0]
            return rule.apply(unit, a, output, context, relu_fed)

        return hook

    def relu_hook(_, inputs, output):
        context.relu_output(inputs[0], output)

    handles = []
    try:
        for name, rule in rules.items():
            handles.append(modules[name].register_forward_hook(layer_hook(rule, name)))
        for bn, layer in structure.merges.items():
            handles.append(modules[bn].register_forward_hook(layer_hook(rules[layer], bn)))
        norm = Norm()
        for name, module in modules.items():
            if isinstance(module, NORM_TYPES):
                handles.append(module.register_forward_hook(layer_hook(norm, name)))
            elif type(module) is nn.ReLU:
                handles.append(module.register_forward_hook(relu_hook))
        yield
    finally:
        for handle in handles:
            handle.remove()
