"""Pixel flipping: how fast does accuracy fall when the most relevant bins are destroyed?

Paper section 4.2 (after Samek et al., 2017, *Evaluating the visualization of what a deep neural
network has learned*): for every test spectrogram ``x`` with relevance map ``R`` (from LRP, for
the true class), sort the bins by relevance, set the top fraction ``p`` of them to a baseline value
and measure the test accuracy of the *unchanged* model on the perturbed inputs,

.. math::  \\tilde x^{(p)}_b = \\begin{cases} \\beta_b & \\text{rank}_R(b) < k(p) \\\\ x_b & \\text{otherwise}
           \\end{cases}, \\qquad k(p) = \\lfloor p \\cdot HW + \\tfrac12 \\rfloor,

.. math::  \\text{acc}(p) = \\frac{1}{N} \\sum_n [\\arg\\max_c f_c(\\tilde x^{(p)}_n) = y_n].

A good explanation makes ``acc(p)`` fall faster than flipping the same number of bins chosen at
random (``order="random"``).  The paper plots ``acc(p)`` against ``p`` for both orders (Figures 3-5,
10 and 12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

import pandas as pd
import torch
from torch import nn

from lrp_utils.evaluation._batching import batch_slices, compute_device
from lrp_utils.evaluation._checks import (
    check_batch_size,
    check_fraction,
    check_fractions,
    check_labels,
    check_relevance,
)
from lrp_utils.evaluation.neighbourhood import moore_mean
from lrp_utils.evaluation.selection import bin_ranks, check_order, flip_count, top_fraction_mask
from lrp_utils.modes import eval_mode

#: Named baselines (besides any finite number).
BASELINES = ("min", "moore")


@dataclass(frozen=True)
class FlippingCurve:
    """Result of :func:`pixel_flipping`: one accuracy (and mean target logit) per fraction.

    Attributes
    ----------
    fractions:   the fractions ``p`` of bins flipped, ascending.
    n_flipped:   ``k(p)``, the exact number of bins flipped per sample at each fraction.
    accuracy:    test accuracy on the flipped inputs at each fraction.
    mean_logit:  mean over samples of the model output (logit) of the true class.
    order:       ``"relevance"`` or ``"random"``.
    baseline:    the value flipped bins were set to (a number, ``"min"`` or ``"moore"``).
    n_samples:   number of spectrograms evaluated.
    """

    fractions: tuple[float, ...]
    n_flipped: tuple[int, ...]
    accuracy: tuple[float, ...]
    mean_logit: tuple[float, ...]
    order: str
    baseline: float | str
    n_samples: int

    def auc(self, normalize: bool = True) -> float:
        """Area under the accuracy curve, by the trapezoidal rule over :attr:`fractions`
        (:func:`curve_area`): normalised (default), the mean accuracy over the flipped range, in
        [0, 1] and comparable between fraction grids.  Lower means the order destroys the decision
        faster.  A curve with a single fraction returns that accuracy (normalised) or 0.
        """
        return float(curve_area(self.fractions, self.accuracy, normalize))

    def first_below(self, threshold: float) -> float | None:
        """The smallest fraction at which accuracy is strictly below ``threshold``; ``None`` if never."""
        for fraction, accuracy in zip(self.fractions, self.accuracy):
            if accuracy < threshold:
                return fraction
        return None

    def to_frame(self) -> pd.DataFrame:
        """The curve as a long table (one row per fraction), ready for plotting."""
        return pd.DataFrame({
            "fraction": self.fractions, "n_flipped": self.n_flipped, "accuracy": self.accuracy,
            "mean_logit": self.mean_logit, "order": self.order, "baseline": str(self.baseline),
        })


def curve_area(fractions: Sequence[float], values, normalize: bool = True) -> np.ndarray:
    """Area under curves sampled at ``fractions``, by the trapezoidal rule,

    .. math:: A = \\sum_i (p_{i+1} - p_i) \\frac{v_i + v_{i+1}}{2},
              \\qquad \\bar A = \\frac{A}{p_{\\max} - p_{\\min}} \\; (\\text{normalize}),

    over the last axis of ``values`` (one value per fraction; any leading axes, e.g. one curve per
    sample).  Normalised, it is the curve's mean over the range, comparable between fraction grids;
    with a single fraction it is that value (normalised) or 0.  Returns a float64 array (0-d for
    one curve).
    """
    p = np.asarray(fractions, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if p.ndim != 1 or v.ndim < 1 or v.shape[-1] != p.size or p.size == 0:
        raise ValueError(f"values must hold one value per fraction along its last axis: "
                         f"{p.size} fractions, values of shape {v.shape}")
    area = ((p[1:] - p[:-1]) * (v[..., 1:] + v[..., :-1]) / 2).sum(axis=-1)
    if not normalize:
        return area
    span = p[-1] - p[0]
    return area / span if span > 0 else v[..., 0]


def check_baseline(baseline: float | str) -> float | str:
    """A finite number or one of :data:`BASELINES`; returned normalised (``float`` or ``str``)."""
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be a number or one of {', '.join(map(repr, BASELINES))}, "
                             f"got {baseline!r}")
        return baseline
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) \
            or not math.isfinite(baseline):
        raise ValueError(f"baseline must be a finite number or one of "
                         f"{', '.join(map(repr, BASELINES))}, got {baseline!r}")
    return float(baseline)


def baseline_values(x: torch.Tensor, baseline: float | str) -> torch.Tensor:
    """The values flipped bins of ``x`` (``(N, ...)``) are set to, broadcastable to ``x``.

    - a number ``b``: every flipped bin becomes ``b``.  The paper's literal choice is ``0``;
      note that on Becker's dB spectrograms (``amplitude_to_db(ref=max)``, values in [-80, 0])
      ``0`` is the *loudest* value of the spectrogram, not silence.
    - ``"min"``: each sample's own minimum (its quietest bin, -80 dB after the floor).
    - ``"moore"``: the mean of the bin's Moore neighbourhood in the original spectrogram
      (:func:`~lrp_utils.evaluation.neighbourhood.moore_mean`), the value the augmentation of
      section 4.3 uses.
    """
    baseline = check_baseline(baseline)
    if baseline == "min":
        return x.amin(dim=tuple(range(1, x.ndim)), keepdim=True)
    if baseline == "moore":
        return moore_mean(x)
    return torch.tensor(baseline, dtype=x.dtype, device=x.device)


def check_flipping(x: torch.Tensor, y: torch.Tensor, relevance: torch.Tensor, fractions: Iterable[float],
                   baseline: float | str, batch_size: int) -> tuple[tuple[float, ...], float | str, int]:
    """Check the arguments every flipping curve takes; return the normalised fractions (sorted,
    unique), baseline and batch size.  A ValueError names the argument at fault (also for an empty
    ``x``)."""
    check_relevance(x, relevance)
    check_labels(x, y)
    fractions = check_fractions(fractions)
    baseline = check_baseline(baseline)
    batch_size = check_batch_size(batch_size)
    if x.shape[0] == 0:
        raise ValueError("x is empty; flipping needs at least one sample")
    return fractions, baseline, batch_size


def flip_top(x: torch.Tensor, relevance: torch.Tensor, fraction: float, baseline: float | str = 0.0) -> torch.Tensor:
    """``x`` with its top ``fraction`` most relevant bins per sample set to ``baseline``
    (:func:`baseline_values`); the bins are chosen as :func:`pixel_flipping` chooses them
    (:func:`~lrp_utils.evaluation.selection.top_fraction_mask`). Figure 5 of the paper shows one.
    Returns a new tensor on ``x``'s device; ``x`` is unchanged.
    """
    check_relevance(x, relevance)
    fraction = check_fraction(fraction)
    mask = top_fraction_mask(relevance.to(x.device), fraction)
    return torch.where(mask, baseline_values(x, baseline), x)


def pixel_flipping(model: nn.Module, x: torch.Tensor, y: torch.Tensor, relevance: torch.Tensor,
                   fractions: Iterable[float], order: str = "relevance",
                   baseline: float | str = 0.0, seed: int = 0, batch_size: int = 64,
                   progress: bool | None = None) -> FlippingCurve:
    """Accuracy of ``model`` when the top ``fractions`` of bins of each input are flipped.

    Paper section 4.2; see the module docstring for the equations.

    Parameters
    ----------
    model:
        A classifier returning ``(N, classes)`` logits.  Evaluated in ``eval`` mode under
        ``torch.no_grad``; its training/eval mode is restored afterwards.
    x, y:
        Inputs ``(N, C, H, W)`` (or ``(N, H, W)`` if the model takes that) and integer labels
        ``(N,)``.  They may live on any device; each batch is moved to the model's device
        (:func:`compute_device`), so a CPU test set can be evaluated by a GPU model.
    relevance:
        Relevance maps with ``x``'s shape, finite; usually ``lrp_utils.lrp.explain`` for the true
        class.  Ignored (except for its shape) when ``order="random"``.
    fractions:
        Fractions ``p`` of all bins of a sample, each in [0, 1]; sorted and de-duplicated.  The
        number flipped is ``k(p) = floor(p * M + 1/2)`` with ``M`` the bins per sample
        (:func:`~lrp_utils.evaluation.selection.flip_count`), the same for both orders.
        Including 0 gives the clean accuracy.
    order:
        ``"relevance"``: the ``k`` bins with the highest relevance *value*, positive first, then
        (if ``k`` exceeds the number of positive bins) zero and negative ones; ties go to the lower
        row-major index.  ``"random"``: ``k`` bins chosen uniformly at random per sample.  In
        both orders the flipped sets are nested: the bins flipped at ``p`` stay flipped at every
        larger ``p``.
    baseline:
        The value flipped bins get: a number (the paper's ``0``, which on dB spectrograms
        referenced to their maximum is the *loudest* value), ``"min"`` or ``"moore"``; see
        :func:`baseline_values`.
    seed:
        Seeds a ``torch.Generator`` on the compute device for ``order="random"``.  The same
        ``seed``, ``batch_size`` and device reproduce the same bins.
    batch_size:
        Samples per batch.  Per batch the bins are ranked once (one sort) and each fraction costs
        one masked copy and one forward pass -- no Python loop over bins or samples.
    progress:
        Show a tqdm bar over batches (``None``: only on a terminal).

    Returns
    -------
    FlippingCurve
    """
    check_order(order)
    fractions, baseline, batch_size = check_flipping(x, y, relevance, fractions, baseline, batch_size)

    device = compute_device(model, x)
    counts = [flip_count(f, x[0].numel()) for f in fractions]
    generator = torch.Generator(device=device).manual_seed(int(seed)) if order == "random" else None
    correct = torch.zeros(len(counts), dtype=torch.int64, device=device)
    logit_sum = torch.zeros(len(counts), dtype=torch.float64, device=device)

    with eval_mode(model):
        with torch.no_grad():
            for batch in batch_slices(x.shape[0], batch_size, f"pixel flipping ({order})", progress):
                xb, yb = x[batch].to(device), y[batch].to(device)
                ranks = bin_ranks(relevance[batch].to(device), order, generator).view(xb.shape)
                base = baseline_values(xb, baseline)
                for i, k in enumerate(counts):
                    flipped = xb if k == 0 else torch.where(ranks < k, base, xb)
                    logits = _logits(model, flipped)
                    correct[i] += (logits.argmax(dim=1) == yb).sum()
                    logit_sum[i] += logits.gather(1, yb[:, None]).sum(dtype=torch.float64)

    n = x.shape[0]
    return FlippingCurve(
        fractions=fractions, n_flipped=tuple(counts),
        accuracy=tuple(c / n for c in correct.tolist()),
        mean_logit=tuple(s / n for s in logit_sum.tolist()),
        order=order, baseline=baseline, n_samples=n,
    )


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    logits = model(x)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != x.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"model must return (batch, classes) logits, got {shape} for a batch of "
                         f"{x.shape[0]}")
    return logits


def summarize_curves(curves: Mapping[str, FlippingCurve] | Iterable[FlippingCurve],
                     threshold: float) -> pd.DataFrame:
    """One row per curve: clean accuracy, normalised AUC and the first fraction below ``threshold``.

    ``curves`` is a mapping ``label -> FlippingCurve`` (labels become the index) or a sequence
    (labelled ``"<order>, baseline <baseline>"``).  ``first_below`` is NaN where accuracy never
    falls below ``threshold``; ``accuracy_clean`` is NaN if the curve has no fraction 0.
    """
    if not isinstance(curves, Mapping):
        curves = {f"{c.order}, baseline {c.baseline}": c for c in curves}
    rows = {}
    for label, curve in curves.items():
        below = curve.first_below(threshold)
        rows[label] = {
            "order": curve.order, "baseline": str(curve.baseline), "n_samples": curve.n_samples,
            "accuracy_clean": curve.accuracy[0] if curve.fractions[0] == 0 else math.nan,
            "auc": curve.auc(), "first_below": math.nan if below is None else below,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def curves_table(curves: Mapping[str, FlippingCurve], metric: str = "accuracy") -> pd.DataFrame:
    """The curves side by side: one row per percentage of bins flipped, one column per label.

    Built from :meth:`FlippingCurve.to_frame`; ``metric`` is ``"accuracy"`` or ``"mean_logit"``.
    The index ``"% of bins flipped"`` is ``100 * fraction`` rounded to 6 decimals (so that 0.3 %
    reads as 0.3, not 0.30000000000000004); a fraction one curve lacks is NaN in its column.
    """
    if metric not in ("accuracy", "mean_logit"):
        raise ValueError(f"metric must be 'accuracy' or 'mean_logit', got {metric!r}")
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping of label -> FlippingCurve")
    columns = {}
    for label, curve in curves.items():
        frame = curve.to_frame()
        percent = (100 * frame["fraction"]).round(6).rename("% of bins flipped")
        columns[label] = frame[metric].set_axis(pd.Index(percent))
    return pd.DataFrame(columns)

