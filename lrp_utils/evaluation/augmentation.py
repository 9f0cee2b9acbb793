"""Relevance-guided augmentation (paper section 4.3).

The most relevant bins of each training spectrogram -- the evidence the trained model relies on
most -- are replaced by the mean of their Moore neighbourhood, and the model is fine-tuned on
the result (fine-tuning itself lives in :mod:`lrp_utils.training`):

.. math::  x'_b = \\begin{cases} \\bar x_b = \\frac{1}{|N(b)|}\\sum_{c \\in N(b)} x_c
           & \\text{rank}_R(b) < k(p) \\\\ x_b & \\text{otherwise} \\end{cases},
           \\qquad k(p) = \\lfloor p \\cdot HW + \\tfrac12 \\rfloor,

with ``R`` the LRP relevance of the true class, ``N(b)`` the existing Moore neighbours of bin ``b``
and ``p = 0.005`` (0.5 %) in the paper.  The means use the *original* values, so two adjacent
selected bins do not see each other's replacement.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from lrp_utils.evaluation._batching import batch_slices, compute_device, dataset_tensors
from lrp_utils.evaluation._checks import check_batch_size, check_fraction
from lrp_utils.evaluation._hashing import content_key
from lrp_utils.evaluation.pixel_flipping import flip_top
from lrp_utils.evaluation.relevance import ExplainFn, batch_explainer, resolve_explainer
from lrp_utils.io import save_torch
from lrp_utils.modes import eval_mode

#: Bumped whenever the cached content would change for the same inputs.
CACHE_VERSION = 1


def moore_augment(x: torch.Tensor, relevance: torch.Tensor, fraction: float = 0.005) -> torch.Tensor:
    """Replace the top ``fraction`` most relevant bins of each sample by their Moore mean.

    Paper section 4.3; equation in the module docstring.  ``x`` is ``(N, ..., H, W)``, ``relevance``
    has its shape; bins are selected exactly as pixel flipping selects them
    (:func:`~lrp_utils.evaluation.selection.top_fraction_mask`: ``k = floor(fraction * M + 1/2)``
    bins per sample, highest relevance value first, ties to the lower row-major index) and the
    Moore mean is taken over the last two dimensions
    (:func:`~lrp_utils.evaluation.neighbourhood.moore_mean`: 3 neighbours at a corner, 5 on an
    edge, 8 inside), always from the original ``x``.  Returns a new tensor; ``x`` is unchanged.
    """
    return flip_top(x, relevance, fraction, baseline="moore")


def relevance_augmented_dataset(model: nn.Module, dataset: Dataset, composite: Any = None,
                                fraction: float = 0.005, batch_size: int = 64,
                                cache_dir: str | os.PathLike | None = None,
                                explain_fn: ExplainFn | None = None,
                                progress: bool | None = None) -> TensorDataset:
    """The training set with its most relevant bins replaced by their Moore means (section 4.3).

    Every spectrogram of ``dataset`` (a map-style dataset of ``(x, y, ...)`` items, e.g. the
    training split) is explained by the trained ``model`` for its true class ``y`` -- in batches,
    on the model's device, in ``eval`` mode -- with ``explain_fn`` (default
    :func:`lrp_utils.lrp.explain`) and ``composite`` (default
    :func:`~lrp_utils.evaluation.relevance.default_composite`, uniform LRP-epsilon), and
    :func:`moore_augment` with ``fraction`` is applied.

    Parameters
    ----------
    cache_dir:
        If given, the augmented tensors are stored there as
        ``relevance_augmented-<key>.pt`` (written atomically), where ``key`` hashes the model's
        weights, the dataset's tensors, ``fraction``, the composite's ``repr`` and the explain
        function; a later call with the same inputs loads the file instead of explaining again.

    Returns
    -------
    TensorDataset
        ``(x_augmented, y)`` items on the CPU (or wherever the dataset's tensors were), ready
        for the fine-tuning of :mod:`lrp_utils.training`.
    """
    fraction = check_fraction(fraction)
    batch_size = check_batch_size(batch_size)
    x, y = dataset_tensors(dataset, batch_size)
    composite, explain_fn = resolve_explainer(composite, explain_fn)

    cache_path = None
    if cache_dir is not None:
        key = content_key(model, {"x": x, "y": y}, fraction=fraction, composite=repr(composite),
                          explain_fn=f"{explain_fn.__module__}.{explain_fn.__qualname__}",
                          version=CACHE_VERSION)
        cache_path = Path(cache_dir) / f"relevance_augmented-{key[:20]}.pt"
        if cache_path.exists():
            cached = torch.load(cache_path, map_location=x.device, weights_only=True)
            if cached.get("key") == key:
                return TensorDataset(cached["x"], cached["y"])

    device = compute_device(model, x)
    explainer = batch_explainer(model, composite, explain_fn)
    with eval_mode(model):
        # x is our own copy (dataset_tensors concatenates), so each batch is overwritten in place
        # once it has been explained and augmented from its original values.
        for batch in batch_slices(x.shape[0], batch_size, "augmenting", progress):
            xb, yb = x[batch].to(device), y[batch].to(device)
            relevance = explainer(xb, yb)
            x[batch] = moore_augment(xb, relevance, fraction).to(x.device)

    if cache_path is not None:
        save_torch(cache_path, {"key": key, "x": x, "y": y, "fraction": fraction})
    return TensorDataset(x, y)
