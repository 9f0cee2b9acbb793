"""Explaining and pixel-flipping a whole test set over several processes (torchrun).

Every rank calls the same function with the same arguments; each computes a contiguous run of
whole batches (:func:`~lrp_utils.training.distributed.batch_shard`) with the single-process
function -- :func:`~lrp_utils.evaluation.relevance.explain_batched`,
:func:`~lrp_utils.evaluation.pixel_flipping.pixel_flipping` -- and every rank gets the whole
result back, in the original order.  Because a shard starts at a multiple of the batch size,
each rank forms exactly the batches one process forms, so it computes the same numbers:

- the gathered relevance is bit-for-bit the single-process relevance (values are copied, never
  combined);
- a flipping curve's accuracies are exactly the single-process ones (per batch the number of
  correct predictions is recovered exactly, ``round(acc_b * n_b)``, and the counts are added),
  and so is anything computed from them (area under the curve, first fraction below a
  threshold); the mean target logit agrees to float64 rounding (``mean_b * n_b`` recovers a
  batch's sum to within an ulp).

Without torchrun (no process group) these are the single-process functions, with one exception
for random flipping order: each batch draws its bins from its own generator, seeded with
``derive_seed(seed, "pixel flipping batch", b)`` for batch ``b``, so that the curve is the same
for every world size -- but it is another random draw than :func:`pixel_flipping`'s, which
continues one generator from batch to batch.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import torch
from torch import nn

from lrp_utils.evaluation._batching import batch_slices
from lrp_utils.evaluation._checks import (check_batch_size, check_fractions, check_input,
                                          check_labels, check_relevance)
from lrp_utils.evaluation.pixel_flipping import FlippingCurve, pixel_flipping
from lrp_utils.evaluation.relevance import ExplainFn, explain_batched
from lrp_utils.seeding import derive_seed
from lrp_utils.training import distributed


def explain_sharded(model: nn.Module, x: torch.Tensor, y: torch.Tensor, composite: Any = None,
                    batch_size: int = 64, explain_fn: ExplainFn | None = None,
                    progress: bool | None = None) -> torch.Tensor:
    """:func:`~lrp_utils.evaluation.relevance.explain_batched` of all of ``x``, split over the
    ranks.

    Every rank passes the whole ``x`` and ``y`` (the model on its own device), explains its
    shard of whole batches and returns the relevance of all items, equal bit for bit to
    ``explain_batched(model, x, y, composite, batch_size, explain_fn)`` in one process.  A rank
    whose shard is empty (fewer batches than ranks) only waits.  An error on any rank is raised
    on every rank.
    """
    check_input(x)
    check_labels(x, y)
    batch_size = check_batch_size(batch_size)
    shard = distributed.batch_shard(x.shape[0], batch_size)

    def explain_shard() -> torch.Tensor:
        part = slice(shard.start, shard.stop)
        if not shard:
            return torch.empty_like(x[part])
        return explain_batched(model, x[part], y[part], composite, batch_size, explain_fn,
                               progress if distributed.is_main_process() else False)

    return distributed.gather_rows(distributed.run_everywhere(explain_shard))


def pixel_flipping_sharded(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                           relevance: torch.Tensor, fractions: Iterable[float], *,
                           seed: int = 0, batch_size: int = 64, progress: bool | None = None,
                           **options: Any) -> FlippingCurve:
    """:func:`~lrp_utils.evaluation.pixel_flipping.pixel_flipping` of all of ``x``, split over
    the ranks; every rank returns the curve of all items.

    Each rank flips its shard batch by batch, one :func:`pixel_flipping` call per batch
    (``options``: its other keywords, e.g. ``order`` and ``baseline``), and the per-batch curves
    of all ranks are combined in the original order: the accuracies equal the single-process
    ones exactly, the mean logits to float64 rounding.  For ``order="random"`` batch ``b`` uses
    ``seed=derive_seed(seed, "pixel flipping batch", b)``: the same curve for every world size,
    not the draw of a single :func:`pixel_flipping` call (see the module docstring).
    """
    check_relevance(x, relevance)
    check_labels(x, y)
    fractions = check_fractions(fractions)
    batch_size = check_batch_size(batch_size)
    if x.shape[0] == 0:
        raise ValueError("x is empty; pixel flipping needs at least one sample")
    shard = distributed.batch_shard(x.shape[0], batch_size)

    def flip_shard() -> list[FlippingCurve]:
        curves = []
        show = progress if distributed.is_main_process() else False
        for local in batch_slices(len(shard), batch_size, "pixel flipping", show):
            batch = slice(shard.start + local.start, min(shard.start + local.stop, shard.stop))
            curves.append(pixel_flipping(
                model, x[batch], y[batch], relevance[batch], fractions,
                seed=derive_seed(seed, "pixel flipping batch", batch.start // batch_size),
                batch_size=batch_size, progress=False, **options))
        return curves

    per_batch = distributed.run_everywhere(flip_shard)
    return combine_curves([c for rank in distributed.gather_objects(per_batch) for c in rank])


def combine_curves(curves: list[FlippingCurve]) -> FlippingCurve:
    """One curve over the items of ``curves`` (curves of consecutive batches, same fractions).

    ``acc = sum_b round(acc_b n_b) / sum_b n_b`` (exact: the correct counts are integers) and
    ``mean_logit = sum_b (mean_b n_b) / sum_b n_b`` (the batches' float64 sums, added in order).
    """
    if not curves:
        raise ValueError("combine_curves needs at least one curve")
    first = curves[0]
    if any(c.fractions != first.fractions or c.order != first.order
           or c.baseline != first.baseline for c in curves):
        raise ValueError("combine_curves: the curves differ in fractions, order or baseline; "
                         "combine only curves of one pixel-flipping run")
    n = sum(c.n_samples for c in curves)
    correct = [sum(round(c.accuracy[i] * c.n_samples) for c in curves)
               for i in range(len(first.fractions))]
    logit_sums = [0.0] * len(first.fractions)
    for curve in curves:
        for i, mean in enumerate(curve.mean_logit):
            logit_sums[i] += mean * curve.n_samples
    return dataclasses.replace(first, accuracy=tuple(c / n for c in correct),
                               mean_logit=tuple(s / n for s in logit_sums), n_samples=n)
