r"""``Explainer`` and ``explain``: LRP relevance for a whole batch from one forward and one backward pass.

The input is fed through a multiplicative *gate* ``x ⊙ u`` with ``u = 1``; every layer gets a
forward hook that installs its rule's modified local gradient (:mod:`lrp_utils.lrp.rules`,
:mod:`lrp_utils.lrp.hooks`); the backward pass starts from the one-hot target. Then
``∂(onehot · f(x ⊙ u)) / ∂u = x ⊙ G_x`` is the input relevance, and the relevance at the top is
the target logit (the paper's section 3: :math:`R^{(L)} = f_c(x)` for the explained class ``c``,
zero for the others).

The hooks need the model's data flow (which BatchNorms to merge, which layers feed a single ReLU),
which only a forward pass shows: a probe on one sample (:mod:`lrp_utils.lrp.structure`). An
:class:`Explainer` probes once and reuses the result for every batch, as Zennit's and Captum's
attributor objects keep their canonized model; :func:`explain` is the one-call form that builds an
``Explainer`` for a single batch (probe included).
"""

from __future__ import annotations

import torch
from torch import nn

from lrp_utils.modes import eval_mode

from .canonizers import torchvision_residuals
from .composites import Composite
from .hooks import PassContext, rule_hooks, structure_changed
from .rules import AFFINE_TYPES, MAXPOOL_TYPES, NORM_TYPES, PASS_TYPES, Zero
from .structure import Structure, StructureRecorder, trace_structure

#: Leaf layer types ``explain`` supports.
SUPPORTED_TYPES = AFFINE_TYPES + PASS_TYPES + MAXPOOL_TYPES + NORM_TYPES

#: Layers whose outputs the structure probe follows (candidates for merges and ReLU-fed rules).
_PRODUCERS = AFFINE_TYPES + NORM_TYPES


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


class Explainer:
    """LRP for many batches of one model with one composite: ``Explainer(model, composite)(x, target)``.

    The structure probe (one forward pass on one sample, without gradient) needs an input, so it
    runs on the first call; later calls reuse it while the input signature stays the same: the
    shape of one sample, the dtype and the device of ``x``, and the model's module paths and
    types. A call with another signature probes again (an input of another size, or a model
    moved with ``model.to(...)`` or given a new submodule, may have another data flow) and keeps
    the new probe.

    A forward pass whose path changes for the same signature (a flag that skips a layer,
    control flow that depends on the data) is checked against the probe during the pass: where
    it contradicts the probe, the call raises a ``ValueError`` that names the layers whose data
    flow changed, before its backward pass, and a new ``Explainer`` (or :func:`explain`) explains
    the changed model. The relevance of every call that returns equals that of :func:`explain`.

    Parameters
    ----------
    model:
        A network of supported layers (see :data:`SUPPORTED_TYPES`) returning logits (N, C). It is
        evaluated in eval mode (each module's training flag is restored after each call), never
        moved, and never modified: BatchNorms after conv/linear layers are merged functionally.
    composite:
        Rule assignment (:mod:`lrp_utils.lrp.composites`); ``None`` means LRP-0 everywhere.
    """

    def __init__(self, model: nn.Module, composite: Composite | None = None):
        if composite is not None and not isinstance(composite, Composite):
            raise TypeError(f"Explainer: composite must be a Composite or None, got {composite!r} "
                            "(for the paper's configurations use lrp_utils.lrp.paper_composite(name))")
        check_supported(model)
        self.model = model
        self.composite = composite if composite is not None else Composite.uniform(Zero())
        self._probe: tuple[tuple, Structure] | None = None  # (input signature, structure)

    def __repr__(self) -> str:
        return f"Explainer({type(self.model).__name__}, {self.composite!r})"

    def __call__(self, x: torch.Tensor, target=None) -> torch.Tensor:
        """LRP relevance of ``target`` for every sample of ``x``.

        Parameters
        ----------
        x:
            Input batch (N, ...), on the model's device and dtype.
        target:
            Class to explain: an int (all samples), a 1-D tensor of N indices, or ``None`` for
            each sample's predicted class.

        Returns
        -------
        torch.Tensor
            Relevance with the shape, device and dtype of ``x``; it sums (up to bias and ε
            absorption) to the target logit of each sample.
        """
        model = self.model
        check_supported(model)
        _check_input(model, x)
        with eval_mode(model), torchvision_residuals(model):
            signature = (tuple(x.shape[1:]), x.dtype, x.device,
                         tuple((name, type(module)) for name, module in model.named_modules()))
            if self._probe is None or self._probe[0] != signature:
                self._probe = signature, trace_structure(model, x[:1].detach(), producers=_PRODUCERS)
            return _relevance(model, x, target, self.composite, self._probe[1])


def explain(model: nn.Module, x: torch.Tensor, target=None, composite: Composite | None = None) -> torch.Tensor:
    """LRP relevance of ``target`` for every sample of ``x``, with ``composite``'s rules, in one
    call: ``Explainer(model, composite)(x, target)`` (see :class:`Explainer` for the parameters
    and the result). It probes the model on every call; to explain many batches of a model, build
    one :class:`Explainer` and call it for each batch.
    """
    return Explainer(model, composite)(x, target)


def _relevance(model: nn.Module, x: torch.Tensor, target, composite: Composite, structure: Structure) -> torch.Tensor:
    """One explanation pass with the probed ``structure``, confirmed by the forward pass before the
    backward pass starts (``ValueError`` from :func:`~.hooks.structure_changed` otherwise)."""
    rules = composite.resolve(model, skip=structure.merges.keys())
    with torch.enable_grad():  # explain works inside torch.no_grad() blocks too
        gate = torch.ones_like(x, requires_grad=True)
        gated = x.detach() * gate
        context = PassContext(gated, gate)
        with rule_hooks(model, rules, structure, context), StructureRecorder(model, _PRODUCERS) as recorder:
            logits = model(gated)
        changes = structure.changes_to(recorder.structure())
        if changes:
            raise structure_changed(changes)
        if logits.ndim != 2 or logits.shape[0] != x.shape[0]:
            raise ValueError(f"explain: the model must return logits (N, C); got shape {tuple(logits.shape)}")
        index = _resolve_target(target, logits)
        seed = torch.zeros_like(logits).scatter_(1, index[:, None], 1.0)
        # (a scalar root: with explicit grad_outputs, torch.autograd.grad imports sympy on its
        # first call, ~34 MiB of resident memory)
        (relevance,) = torch.autograd.grad((logits * seed).sum(), gate)
    return relevance
