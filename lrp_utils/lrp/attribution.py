r"""``explain``: LRP relevance for a whole batch from one forward and one backward pass.

The input is fed through a multiplicative *gate* ``x ⊙ u`` with ``u = 1``; every layer gets a
forward hook that installs its rule's modified local gradient (:mod:`lrp_utils.lrp.rules`); the
backward pass starts from the one-hot target. Then ``∂(onehot · f(x ⊙ u)) / ∂u = x ⊙ G_x`` is the
input relevance, and the relevance at the top is the target logit (the paper's section 3:
:math:`R^{(L)} = f_c(x)` for the explained class ``c``, zero for the others).

The data flow the rules need (which BatchNorms to merge, which layers feed a single ReLU) comes from
a probe forward pass on one sample. It is remembered per model, for the same modules and input
shape, and every later explanation checks it against the pass it actually runs (and starts over
with a fresh probe if a forward whose path depends on something else has changed it).
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Iterator

import torch
from torch import nn

from lrp_utils.modes import eval_mode

from .canonizers import Structure, StructureRecorder, torchvision_residuals, trace_structure
from .composites import Composite
from .rules import AFFINE_TYPES, MAXPOOL_TYPES, NORM_TYPES, PASS_TYPES, Norm, Rule, Zero
from .units import AffineUnit

#: Leaf layer types ``explain`` supports.
SUPPORTED_TYPES = AFFINE_TYPES + PASS_TYPES + MAXPOOL_TYPES + NORM_TYPES

#: Layers whose outputs the structure probe follows (candidates for merges and ReLU-fed rules).
_PRODUCERS = AFFINE_TYPES + NORM_TYPES

#: model -> (signature, Structure) of its last explanation (see the module docstring).
_STRUCTURES: "weakref.WeakKeyDictionary[nn.Module, tuple[tuple, Structure]]" = weakref.WeakKeyDictionary()


class _PassContext:
    """State of one explanation pass, shared by the hooks."""

    def __init__(self, gated_input: torch.Tensor, gate: torch.Tensor):
        self.gated_input = gated_input
        self.gate = gate
        self.pending_inputs: dict[int, torch.Tensor] = {}
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


def check_supported(model: nn.Module) -> None:
    """Raise ``ValueError`` naming the first layer ``explain`` cannot handle (before any computation)."""
    for name, module in model.named_modules():
        path = name or "<model>"
        if isinstance(module, (nn.Conv1d, nn.Conv2d)) and module.padding_mode != "zeros":
            raise ValueError(
                f"layer '{path}' ({type(module).__name__}) uses padding_mode={module.padding_mode!r}; "
                "LRP here supports zero padding only"
            )
        if isinstance(module, SUPPORTED_TYPES):
            continue
        has_own_parameters = any(True for _ in module.parameters(recurse=False))
        if has_own_parameters or not list(module.children()):
            raise ValueError(
                f"layer '{path}' of type {type(module).__name__} is not supported by lrp_utils.lrp.explain; "
                f"supported layers: {', '.join(sorted({t.__name__ for t in SUPPORTED_TYPES}))}. "
                "Rewrite it with supported modules (residual sums with lrp_utils.layers.Add)."
            )


def _resolve_target(target, logits: torch.Tensor) -> torch.Tensor:
    """Class index per sample, validated against the model's ``logits`` of shape (N, C)."""
    n, classes = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    if isinstance(target, bool) or not isinstance(target, (int, torch.Tensor)):
        raise TypeError(f"explain: target must be an int, a 1-D tensor of class indices or None, got {target!r}")
    index = torch.as_tensor(target, device=logits.device)
    if index.dtype.is_floating_point or index.dtype == torch.bool:
        raise TypeError(f"explain: target must hold integer class indices, got dtype {index.dtype}")
    index = index.long().expand(n) if index.ndim == 0 else index.long()
    if index.shape != (n,):
        raise ValueError(f"explain: target has shape {tuple(index.shape)}, expected ({n},): one class per sample")
    if bool(((index < 0) | (index >= classes)).any()):
        raise ValueError(f"explain: target {index.tolist()} out of range; the model has {classes} classes (0..{classes - 1})")
    return index


def _check_input(model: nn.Module, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"explain: x must be a floating-point tensor, got {type(x).__name__}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"explain: x must be a non-empty batch (N, ...), got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("explain: x contains NaN or infinite values; clean the input before explaining it")
    parameter = next(model.parameters(), None)
    if parameter is not None and (parameter.device != x.device or parameter.dtype != x.dtype):
        raise ValueError(
            f"explain: x is {x.dtype} on {x.device} but the model's parameters are {parameter.dtype} on "
            f"{parameter.device}; move one of them (e.g. x.to(next(model.parameters())))"
        )


@contextlib.contextmanager
def _rule_hooks(model: nn.Module, rules: dict[str, Rule], structure: Structure, context: _PassContext) -> Iterator[None]:
    """Install one forward hook per explained layer for the duration of the context."""
    merges = structure.merges
    merged_into = {id(layer): bn for bn, layer in merges.items()}
    modules = dict(model.named_modules())
    names = {id(module): name for name, module in modules.items()}

    def layer_hook(rule, module):
        relu_fed = id(module) in structure.relu_fed

        def hook(_, inputs, output):
            if id(module) in merged_into:  # the rule runs at the BatchNorm's output
                context.pending_inputs[id(merged_into[id(module)])] = inputs[0]
                return None
            if module in merges:
                unit = AffineUnit(merges[module], module)
                a = context.pending_inputs.pop(id(module))
            else:
                unit, a = AffineUnit(module), inputs[0]
            return rule.apply(unit, a, output, context, relu_fed)

        return hook

    def relu_hook(_, inputs, output):
        context.relu_output(inputs[0], output)

    handles = []
    try:
        for name, rule in rules.items():
            handles.append(modules[name].register_forward_hook(layer_hook(rule, modules[name])))
        for bn, layer in merges.items():
            handles.append(bn.register_forward_hook(layer_hook(rules[names[id(layer)]], bn)))
        norm = Norm()
        for module in modules.values():
            if isinstance(module, NORM_TYPES):
                handles.append(module.register_forward_hook(layer_hook(norm, module)))
            elif type(module) is nn.ReLU:
                handles.append(module.register_forward_hook(relu_hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


def explain(model: nn.Module, x: torch.Tensor, target=None, composite: Composite | None = None) -> torch.Tensor:
    """LRP relevance of ``target`` for every sample of ``x``, with ``composite``'s rules.

    Parameters
    ----------
    model:
        A network of supported layers (see :data:`SUPPORTED_TYPES`) returning logits (N, C). It is
        evaluated in eval mode (each module's training flag is restored afterwards), never moved,
        and never modified: BatchNorms after conv/linear layers are merged functionally.
    x:
        Input batch (N, ...), on the model's device and dtype.
    target:
        Class to explain: an int (all samples), a 1-D tensor of N indices, or ``None`` for each
        sample's predicted class.
    composite:
        Rule assignment (:mod:`lrp_utils.lrp.composites`); ``None`` means LRP-0 everywhere.

    Returns
    -------
    torch.Tensor
        Relevance with the shape, device and dtype of ``x``; it sums (up to bias and ε
        absorption) to the target logit of each sample.
    """
    composite = composite if composite is not None else Composite.uniform(Zero())
    check_supported(model)
    _check_input(model, x)
    with eval_mode(model), torchvision_residuals(model):
        signature = _signature(model, x)
        known = _STRUCTURES.get(model)
        if known is not None and known[0] == signature:
            relevance = _relevance(model, x, target, composite, known[1], verify=True)
            if relevance is not None:
                return relevance
        structure = trace_structure(model, x[:1].detach(), producers=_PRODUCERS)
        relevance = _relevance(model, x, target, composite, structure, verify=False)
        _STRUCTURES[model] = (signature, structure)
    return relevance


def _signature(model: nn.Module, x: torch.Tensor) -> tuple:
    """What a remembered structure is valid for: the same module objects, input shape and type."""
    return tuple((name, id(module)) for name, module in model.named_modules()), tuple(x.shape[1:]), x.dtype, x.device


def _relevance(model: nn.Module, x: torch.Tensor, target, composite: Composite, structure: Structure,
               verify: bool) -> torch.Tensor | None:
    """One explanation pass with ``structure``; ``None`` (before the backward pass) if ``verify``
    and the forward pass shows another structure."""
    rules = composite.resolve(model, skip=structure.merges.keys())
    with torch.enable_grad():  # explain works inside torch.no_grad() blocks too
        gate = torch.ones_like(x, requires_grad=True)
        gated = x.detach() * gate
        context = _PassContext(gated, gate)
        with _rule_hooks(model, rules, structure, context):
            recorder = StructureRecorder(model, _PRODUCERS) if verify else contextlib.nullcontext()
            with recorder:
                logits = model(gated)
            if verify and recorder.structure() != structure:
                return None
            if logits.ndim != 2 or logits.shape[0] != x.shape[0]:
                raise ValueError(f"explain: the model must return logits (N, C); got shape {tuple(logits.shape)}")
            index = _resolve_target(target, logits)
            seed = torch.zeros_like(logits).scatter_(1, index[:, None], 1.0)
            # (a scalar root: with explicit grad_outputs, torch.autograd.grad imports sympy on its
            # first call, ~34 MiB of resident memory)
            (relevance,) = torch.autograd.grad((logits * seed).sum(), gate)
    return relevance
