"""LRP relevance for a whole data set, in batches (used by section 4.2, 4.3 and Table 1).

The relevance is always explained for the *true* class ``y`` (as the paper does for its heatmaps,
pixel flipping and augmentation), by :func:`lrp_utils.lrp.explain` unless an ``explain_fn`` is
given.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from lrp_utils.evaluation._batching import batch_slices, compute_device
from lrp_utils.evaluation._checks import check_batch_size, check_input, check_labels
from lrp_utils.lrp import Composite, Explainer, explain, paper_composite
from lrp_utils.modes import eval_mode

#: ``explain_fn(model, x, target, composite) -> relevance with x's shape``.
ExplainFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, Any], torch.Tensor]


def default_composite() -> Composite:
    """The composite of the AlexNet experiments when none is given: the paper's section-5
    "LRP-0 + ε" configuration (ε = 0.5 on the conv layers, LRP-0 on the dense head), which keeps
    the heatmaps readable where pure LRP-0 is noisy (:func:`lrp_utils.lrp.paper_composite`)."""
    return paper_composite("epsilon")


def resolve_explainer(composite: Any = None,
                      explain_fn: ExplainFn | None = None) -> tuple[Any, ExplainFn]:
    """Fill in the defaults: ``explain_fn`` -> :func:`lrp_utils.lrp.explain` and, only then,
    ``composite`` -> :func:`default_composite` (a custom ``explain_fn`` gets ``composite`` as is)."""
    if explain_fn is None:
        explain_fn = explain
        if composite is None:
            composite = default_composite()
    return composite, explain_fn


def batch_explainer(model: nn.Module, composite: Any = None,
                    explain_fn: ExplainFn | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``explainer(x, y)``: the checked relevance of batch after batch of one ``model``.

    With the default ``explain_fn`` (:func:`lrp_utils.lrp.explain`) one
    :class:`lrp_utils.lrp.Explainer` probes the model once and every batch reuses the probe; a
    custom ``explain_fn`` is called as ``explain_fn(model, x, y, composite)``.  Defaults as in
    :func:`resolve_explainer`.  Each batch must already be on the model's device; the relevance
    comes back detached, with ``x``'s shape (anything else is a ``ValueError``).
    """
    composite, explain_fn = resolve_explainer(composite, explain_fn)
    if explain_fn is explain:
        explainer = Explainer(model, composite)
    else:
        def explainer(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return explain_fn(model, x, y, composite)

    def explain_checked(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        relevance = explainer(x, y)
        if not isinstance(relevance, torch.Tensor) or relevance.shape != x.shape:
            shape = tuple(relevance.shape) if isinstance(relevance, torch.Tensor) else type(relevance)
            raise ValueError(f"explain_fn returned relevance of shape {shape} for x of shape "
                             f"{tuple(x.shape)}; it must return one relevance value per input bin")
        return relevance.detach()

    return explain_checked


def explain_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, composite: Any = None,
                  explain_fn: ExplainFn | None = None) -> torch.Tensor:
    """Relevance of one batch ``x`` for the classes ``y``, on ``x``'s device; checked.

    Defaults as in :func:`resolve_explainer`.  The model must already be on the device of ``x``.
    For many batches of one model use :func:`batch_explainer` (one probe for all of them).
    """
    return batch_explainer(model, composite, explain_fn)(x, y)


def explain_batched(model: nn.Module, x: torch.Tensor, y: torch.Tensor, composite: Any = None,
                    batch_size: int = 64, explain_fn: ExplainFn | None = None,
                    progress: bool | None = None) -> torch.Tensor:
    """Relevance maps for all of ``x`` (target: the true labels ``y``), batch by batch.

    Each batch is moved to the model's device (:func:`compute_device`) and explained there by one
    :func:`batch_explainer` with the model in ``eval`` mode (restored afterwards); the result has
    ``x``'s shape, dtype and device.  See :func:`resolve_explainer` for ``composite`` and
    ``explain_fn``.
    """
    check_input(x)
    check_labels(x, y)
    batch_size = check_batch_size(batch_size)
    explainer = batch_explainer(model, composite, explain_fn)
    device = compute_device(model, x)
    relevance = torch.empty_like(x)
    with eval_mode(model):
        for batch in batch_slices(x.shape[0], batch_size, "explaining", progress):
            rel = explainer(x[batch].to(device), y[batch].to(device))
            relevance[batch] = rel.to(relevance.device, relevance.dtype)
    return relevance
