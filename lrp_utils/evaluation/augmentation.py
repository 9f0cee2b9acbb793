"""Relevance-guided augmentation (paper section 4.3), and its control without relevance.

The most relevant bins of each training spectrogram -- the evidence the trained model relies on
most -- are replaced by the mean of their Moore neighbourhood, and the model is fine-tuned on
the result (fine-tuning itself lives in :mod:`lrp_utils.training`):

.. math::  x'_b = \\begin{cases} \\bar x_b = \\frac{1}{|N(b)|}\\sum_{c \\in N(b)} x_c
           & \\text{rank}(b) < k(p) \\\\ x_b & \\text{otherwise} \\end{cases},
           \\qquad k(p) = \\lfloor p \\cdot HW + \\tfrac12 \\rfloor,

with ``N(b)`` the existing Moore neighbours of bin ``b`` and ``p = 0.005`` (0.5 %) in the paper.
The rank orders the bins by the LRP relevance ``R`` of the true class (``order="relevance"``, the
paper), or by a seeded uniformly random permutation per spectrogram (``order="random"``: the
same number of bins replaced the same way, without relevance -- the control that asks whether
the relevance is what helps).  The means use the *original* values, so two adjacent selected
bins do not see each other's replacement.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from lrp_utils.evaluation._batching import batch_slices, compute_device, dataset_tensors
from lrp_utils.evaluation._checks import check_batch_size, check_fraction, check_relevance
from lrp_utils.evaluation._hashing import content_key
from lrp_utils.evaluation.neighbourhood import moore_mean
from lrp_utils.evaluation.relevance import ExplainFn, batch_explainer, resolve_explainer
from lrp_utils.evaluation.selection import bin_ranks, check_order, flip_count
from lrp_utils.io import save_torch
from lrp_utils.modes import eval_mode

#: Bumped whenever the cached content would change for the same inputs.
CACHE_VERSION = 1


def moore_augment(x: torch.Tensor, relevance: torch.Tensor, fraction: float = 0.005,
                  order: str = "relevance", generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace ``k = floor(fraction * M + 1/2)`` bins of each sample by their Moore mean.

    Paper section 4.3; equation in the module docstring.  ``x`` is ``(N, ..., H, W)``, ``relevance``
    has its shape.  The bins are ranked by
    :func:`~lrp_utils.evaluation.selection.bin_ranks` exactly as pixel flipping ranks them:
    ``order="relevance"`` takes the most relevant bins (highest value first, ties to the lower
    row-major index; the same bins as
    :func:`~lrp_utils.evaluation.selection.top_fraction_mask`), ``order="random"`` a uniformly
    random set per sample drawn from ``generator`` (on ``x``'s device; only ``relevance``'s shape
    counts then).  The Moore mean is taken over the last two dimensions
    (:func:`~lrp_utils.evaluation.neighbourhood.moore_mean`: 3 neighbours at a corner, 5 on an
    edge, 8 inside), always from the original ``x``.  Returns a new tensor; ``x`` is unchanged.
    """
    check_relevance(x, relevance)
    fraction = check_fraction(fraction)
    check_order(order)
    k = flip_count(fraction, x[0].numel())
    ranks = bin_ranks(relevance.to(x.device), order, generator).view(x.shape)
    return torch.where(ranks < k, moore_mean(x), x)


def moore_augmented_dataset(dataset: Dataset, fraction: float = 0.005, order: str = "relevance", *,
                            model: nn.Module | None = None, composite: Any = None,
                            explain_fn: ExplainFn | None = None, seed: int = 0,
                            batch_size: int = 64, cache_dir: str | os.PathLike | None = None,
                            progress: bool | None = None) -> TensorDataset:
    """A training set with ``fraction`` of the bins of every spectrogram replaced by their Moore means.

    Every spectrogram of ``dataset`` (a map-style dataset of ``(x, y, ...)`` items, e.g. the
    training split) goes through :func:`moore_augment` with ``fraction`` and ``order``, in batches:

    - ``order="relevance"`` (paper section 4.3, :func:`relevance_augmented_dataset`): the trained
      ``model`` explains each spectrogram for its true class ``y`` -- on the model's device, in
      ``eval`` mode -- with ``explain_fn`` (default :func:`lrp_utils.lrp.explain`) and
      ``composite`` (default :func:`~lrp_utils.evaluation.relevance.default_composite`, uniform
      LRP-epsilon), and its most relevant bins are replaced.  ``model`` is required.
    - ``order="random"`` (the control): the same number of bins per spectrogram, chosen uniformly
      at random from a CPU ``torch.Generator`` seeded with ``seed`` (computed on the CPU); no model
      and no explanation (passing ``model``, ``composite`` or ``explain_fn`` is an error).  The
      bins do not depend on ``batch_size``.

    Parameters
    ----------
    cache_dir:
        If given, the augmented tensors are stored there as ``relevance_augmented-<key>.pt`` or
        ``random_augmented-<key>.pt`` (written atomically), where ``key`` hashes the dataset's
        tensors, ``fraction`` and, for ``"relevance"``, the model's weights, the composite's
        ``repr`` and the explain function, for ``"random"`` the ``seed``; a later call with the
        same inputs loads the file instead of computing it again.

    Returns
    -------
    TensorDataset
        ``(x_augmented, y)`` items on the CPU (or wherever the dataset's tensors were), ready
        for the fine-tuning of :mod:`lrp_utils.training`.
    """
    fraction = check_fraction(fraction)
    check_order(order)
    batch_size = check_batch_size(batch_size)
    if order == "relevance" and model is None:
        raise ValueError("order='relevance' needs the trained model whose relevance selects the "
                         "bins: pass model=...")
    if order == "random" and (model is not None or composite is not None or explain_fn is not None):
        raise ValueError("order='random' uses no relevance: leave model, composite and explain_fn "
                         "unset (the bins come from the seed)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    x, y = dataset_tensors(dataset, batch_size)
    if order == "relevance":
        composite, explain_fn = resolve_explainer(composite, explain_fn)
        settings = dict(composite=repr(composite),
                        explain_fn=f"{explain_fn.__module__}.{explain_fn.__qualname__}")
    else:
        settings = dict(order=order, seed=seed)

    cache_path = None
    if cache_dir is not None:
        key = content_key(model, {"x": x, "y": y}, fraction=fraction, **settings,
                          version=CACHE_VERSION)
        cache_path = Path(cache_dir) / f"{order}_augmented-{key[:20]}.pt"
        if cache_path.exists():
            cached = torch.load(cache_path, map_location=x.device, weights_only=True)
            if cached.get("key") == key:
                return TensorDataset(cached["x"], cached["y"])

    if order == "relevance":
        device = compute_device(model, x)
        relevance_of = batch_explainer(model, composite, explain_fn)
        generator, mode = None, eval_mode(model)
    else:
        # drawn on the CPU, whose generator yields the same stream in any batching
        device = torch.device("cpu")
        generator = torch.Generator(device=device).manual_seed(seed)
        relevance_of, mode = (lambda xb, yb: torch.zeros_like(xb)), contextlib.nullcontext()
    with mode:
        # x is our own copy (dataset_tensors concatenates), so each batch is overwritten in place
        # once it has been augmented from its original values.
        for batch in batch_slices(x.shape[0], batch_size, f"augmenting ({order})", progress):
            xb, yb = x[batch].to(device), y[batch].to(device)
            x[batch] = moore_augment(xb, relevance_of(xb, yb), fraction, order, generator).to(x.device)

    if cache_path is not None:
        save_torch(cache_path, {"key": key, "x": x, "y": y, "fraction": fraction})
    return TensorDataset(x, y)


def relevance_augmented_dataset(model: nn.Module, dataset: Dataset, composite: Any = None,
                                fraction: float = 0.005, batch_size: int = 64,
                                cache_dir: str | os.PathLike | None = None,
                                explain_fn: ExplainFn | None = None,
                                progress: bool | None = None) -> TensorDataset:
    """The paper's augmented training set (section 4.3): the ``fraction`` most relevant bins of
    each spectrogram, by ``model``'s relevance for the true class, replaced by their Moore means.

    :func:`moore_augmented_dataset` with ``order="relevance"``; see there for the parameters and
    the cache.
    """
    return moore_augmented_dataset(dataset, fraction, "relevance", model=model,
                                   composite=composite, explain_fn=explain_fn,
                                   batch_size=batch_size, cache_dir=cache_dir, progress=progress)
