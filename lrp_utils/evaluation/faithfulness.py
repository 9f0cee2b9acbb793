r"""How faithful is an explanation? Most- and least-relevant-first flipping, per spectrogram.

Pixel flipping (Samek et al. 2017, *Evaluating the visualization of what a deep neural network has
learned*) in both directions, scored by the model's probability of the true class: for a test
spectrogram :math:`x` with label :math:`y` and relevance map :math:`R`, flip the :math:`k(p)` bins
ranked first to a baseline :math:`\beta` (0 dB, the spectrogram's minimum or the Moore mean,
:func:`~lrp_utils.evaluation.pixel_flipping.baseline_values`),

.. math:: \tilde x^{(p)}_b = \begin{cases} \beta_b & \text{rank}(b) < k(p) \\ x_b & \text{otherwise}
          \end{cases}, \qquad k(p) = \lfloor p \cdot M + \tfrac12 \rfloor,
          \qquad s(p) = \operatorname{softmax}\big(f(\tilde x^{(p)})\big)_y,

where the rank orders the :math:`M` bins by *descending* relevance for **MoRF** (most relevant
first) and by *ascending* relevance for **LeRF** (least relevant first; ties by the lower
row-major index, :func:`~lrp_utils.evaluation.selection.bin_ranks`).  A faithful explanation
makes the MoRF curve fall fast (the bins it calls relevant carry the decision) and the LeRF curve
stay high (the bins it calls irrelevant do not).  Each curve is summarised by its normalised area
(:func:`~lrp_utils.evaluation.pixel_flipping.curve_area`),

.. math:: \text{AUC} = \frac{1}{p_{\max} - p_{\min}} \sum_i (p_{i+1} - p_i) \frac{s(p_i) + s(p_{i+1})}{2},

and the two by their **gap** :math:`\text{AUC}_\text{LeRF} - \text{AUC}_\text{MoRF}` (larger = more
faithful), the symmetric relevance gain of Blücher et al. 2024 (*Decoupling pixel flipping and
occlusion strategy for consistent XAI benchmarks*), which cancels what both directions share --
the damage the baseline itself does, whichever bins it lands on.  All three are per spectrogram;
tables give their mean ± std over the test spectrograms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from lrp_utils.evaluation._batching import batch_slices, compute_device
from lrp_utils.evaluation.pixel_flipping import (_logits, baseline_values, check_baseline, check_flipping,
                                                 curve_area)
from lrp_utils.evaluation.selection import bin_ranks, flip_count
from lrp_utils.evaluation.table import spread_verdict
from lrp_utils.modes import eval_mode

#: The two flipping orders: most relevant first, least relevant first.
FLIP_ORDERS = ("MoRF", "LeRF")

#: The baselines of chapter 6: the paper's 0 dB (the loudest value), the minimum (-80 dB,
#: silence) and the Moore-neighbourhood mean (the augmentation's value).
FAITHFULNESS_BASELINES = (0.0, "min", "moore")


def baseline_label(baseline: float | str) -> str:
    """A reader's name for a baseline: ``"0 dB"``, ``"min"``, ``"Moore mean"``."""
    baseline = check_baseline(baseline)
    if baseline == "moore":
        return "Moore mean"
    return baseline if isinstance(baseline, str) else f"{baseline:g} dB"


@dataclass(frozen=True, eq=False)
class FaithfulnessCurves:
    """MoRF and LeRF curves of one relevance map per spectrogram, under one baseline
    (:func:`faithfulness_curves`; equations in the module docstring).

    Attributes
    ----------
    fractions:  the fractions ``p`` flipped, ascending.
    n_flipped:  ``k(p)``, bins flipped per spectrogram at each fraction.
    baseline:   the value flipped bins get (a number in dB, ``"min"`` or ``"moore"``).
    morf, lerf: ``(N, F)`` probability of the true class after flipping, per spectrogram and
                fraction.
    morf_correct, lerf_correct: ``(N, F)`` whether the flipped spectrogram is still classified
                correctly.
    """

    fractions: tuple[float, ...]
    n_flipped: tuple[int, ...]
    baseline: float | str
    morf: np.ndarray
    lerf: np.ndarray
    morf_correct: np.ndarray
    lerf_correct: np.ndarray

    @property
    def n_samples(self) -> int:
        """Number of spectrograms."""
        return self.morf.shape[0]

    def probability(self, order: str) -> np.ndarray:
        """``(N, F)`` probabilities of the true class for ``order`` (``"MoRF"`` or ``"LeRF"``)."""
        return {"MoRF": self.morf, "LeRF": self.lerf}[_check_order(order)]

    def accuracy(self, order: str) -> np.ndarray:
        """``(F,)`` accuracy over the spectrograms at each fraction, for ``order``."""
        correct = {"MoRF": self.morf_correct, "LeRF": self.lerf_correct}[_check_order(order)]
        return correct.mean(axis=0)

    def auc(self, order: str) -> np.ndarray:
        """``(N,)`` normalised area under each spectrogram's probability curve for ``order``."""
        return curve_area(self.fractions, self.probability(order))

    @property
    def gap(self) -> np.ndarray:
        """``(N,)`` per spectrogram: ``AUC(LeRF) - AUC(MoRF)``, larger = more faithful."""
        return self.auc("LeRF") - self.auc("MoRF")

    def summary(self) -> dict[str, float]:
        """Mean and sample std (``ddof=1``; NaN for one spectrogram) over spectrograms of the MoRF
        AUC, the LeRF AUC and the gap, plus the areas under the two accuracy curves."""
        row: dict[str, float] = {"n_samples": self.n_samples}
        for name, values in (("MoRF AUC", self.auc("MoRF")), ("LeRF AUC", self.auc("LeRF")),
                             ("gap", self.gap)):
            row[f"{name} mean"] = float(values.mean())
            row[f"{name} std"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
        for order in FLIP_ORDERS:
            row[f"{order} accuracy AUC"] = float(curve_area(self.fractions, self.accuracy(order)))
        return row

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per order and fraction: mean and std of the probability, accuracy."""
        rows = []
        for order in FLIP_ORDERS:
            probability, accuracy = self.probability(order), self.accuracy(order)
            for i, fraction in enumerate(self.fractions):
                rows.append({"order": order, "fraction": fraction, "n_flipped": self.n_flipped[i],
                             "probability mean": float(probability[:, i].mean()),
                             "probability std": float(probability[:, i].std(ddof=1))
                             if self.n_samples > 1 else math.nan,
                             "accuracy": float(accuracy[i]), "baseline": baseline_label(self.baseline)})
        return pd.DataFrame(rows)


def _check_order(order: str) -> str:
    if order not in FLIP_ORDERS:
        raise ValueError(f"order must be one of {', '.join(map(repr, FLIP_ORDERS))}, got {order!r}")
    return order


def faithfulness_curves(model: nn.Module, x: torch.Tensor, y: torch.Tensor, relevance: torch.Tensor,
                        fractions: Iterable[float], baseline: float | str = 0.0, batch_size: int = 64,
                        progress: bool | None = None) -> FaithfulnessCurves:
    """MoRF and LeRF curves of ``relevance`` for every spectrogram of ``x`` (class ``y``).

    Equations in the module docstring.  Per batch the bins are ranked twice (descending and
    ascending relevance; :func:`~lrp_utils.evaluation.selection.bin_ranks` of ``R`` and ``-R``)
    and every fraction costs one forward pass per order (fraction 0, the clean input, one for
    both), in ``eval`` mode without gradient, on the model's device.  ``baseline``: a number (dB),
    ``"min"`` or ``"moore"`` (:func:`~lrp_utils.evaluation.pixel_flipping.baseline_values`, from the
    unflipped spectrogram).  ``fractions`` are sorted and de-duplicated.
    """
    fractions, baseline, batch_size = check_flipping(x, y, relevance, fractions, baseline, batch_size)
    device = compute_device(model, x)
    counts = [flip_count(f, x[0].numel()) for f in fractions]
    outputs = {order: ([], []) for order in FLIP_ORDERS}  # probabilities, correct
    with eval_mode(model), torch.no_grad():
        for batch in batch_slices(x.shape[0], batch_size, "MoRF / LeRF", progress):
            xb, yb = x[batch].to(device), y[batch].to(device)
            rb = relevance[batch].to(device)
            base = baseline_values(xb, baseline)
            ranks = {"MoRF": bin_ranks(rb).view(xb.shape), "LeRF": bin_ranks(-rb).view(xb.shape)}
            clean = None
            for order in FLIP_ORDERS:
                columns = []
                for k in counts:
                    if k == 0:
                        clean = _logits(model, xb) if clean is None else clean
                        columns.append(clean)
                    else:
                        columns.append(_logits(model, torch.where(ranks[order] < k, base, xb)))
                logits = torch.stack(columns, dim=1)  # (B, F, classes)
                target = yb[:, None].expand(-1, len(counts))
                probabilities, correct = outputs[order]
                probabilities.append(logits.softmax(dim=2).gather(2, target[..., None])[..., 0].cpu())
                correct.append((logits.argmax(dim=2) == target).cpu())
    merged = {order: (torch.cat(p).double().numpy(), torch.cat(c).numpy())
              for order, (p, c) in outputs.items()}
    return FaithfulnessCurves(fractions=fractions, n_flipped=tuple(counts), baseline=baseline,
                              morf=merged["MoRF"][0], lerf=merged["LeRF"][0],
                              morf_correct=merged["MoRF"][1], lerf_correct=merged["LeRF"][1])


def faithfulness_grid(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                      relevances: Mapping[str, torch.Tensor], fractions: Iterable[float],
                      baselines: Iterable[float | str] = FAITHFULNESS_BASELINES, batch_size: int = 64,
                      progress: bool | None = None) -> dict[str, dict[str, FaithfulnessCurves]]:
    """:func:`faithfulness_curves` for every method's relevance and every baseline:
    ``{method: {baseline_label: curves}}`` in the order given."""
    if not isinstance(relevances, Mapping) or not relevances:
        raise ValueError("relevances must be a non-empty mapping {method name: relevance maps}")
    baselines = [check_baseline(b) for b in baselines]
    if not baselines:
        raise ValueError("baselines is empty; pass e.g. (0.0, 'min', 'moore')")
    return {name: {baseline_label(b): faithfulness_curves(model, x, y, relevance, fractions, b,
                                                          batch_size, progress)
                   for b in baselines}
            for name, relevance in relevances.items()}


def faithfulness_summary(curves: Mapping[str, Mapping[str, FaithfulnessCurves]],
                         families: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per method and baseline (a ``(method, baseline)`` index, in the given order) with
    :meth:`FaithfulnessCurves.summary`'s numbers; with ``families`` (method -> family) a
    ``family`` column too."""
    rows = {}
    for method, per_baseline in curves.items():
        for baseline, curve in per_baseline.items():
            row = curve.summary()
            if families is not None:
                row = {"family": families[method], **row}
            rows[(method, baseline)] = row
    if not rows:
        raise ValueError("curves is empty; build it with faithfulness_grid")
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index = pd.MultiIndex.from_tuples(summary.index, names=["method", "baseline"])
    return summary


def _mean_std_text(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def faithfulness_table(summary: pd.DataFrame, runtime: pd.DataFrame | None = None,
                       metrics: Iterable[str] = ("MoRF AUC", "LeRF AUC", "gap"),
                       digits: int = 3) -> pd.DataFrame:
    """The chapter's table: methods x (baseline, metric), each cell ``"mean ± std"`` over the
    spectrograms, from :func:`faithfulness_summary`; with ``runtime`` (from
    :func:`~lrp_utils.evaluation.methods.time_methods`) a last column ``("", "runtime ratio")``:
    seconds per batch relative to one plain gradient."""
    metrics = list(metrics)
    unknown = [m for m in metrics if f"{m} mean" not in summary.columns]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; the summary has MoRF AUC, LeRF AUC and gap")
    methods = list(dict.fromkeys(summary.index.get_level_values("method")))
    baselines = list(dict.fromkeys(summary.index.get_level_values("baseline")))
    columns = {}
    for baseline in baselines:
        for metric in metrics:
            columns[(baseline, metric)] = [
                _mean_std_text(summary.loc[(m, baseline), f"{metric} mean"],
                               summary.loc[(m, baseline), f"{metric} std"], digits) for m in methods]
    if runtime is not None:
        missing = [m for m in methods if m not in runtime.index]
        if missing:
            raise ValueError(f"runtime has no row for {missing}; time every method of the summary")
        columns[("", "runtime ratio")] = [f"{runtime.loc[m, 'ratio to gradient']:.1f}" for m in methods]
    table = pd.DataFrame(columns, index=pd.Index(methods, name="method"))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["baseline", "metric"])
    return table


def compare_gaps(a: FaithfulnessCurves, b: FaithfulnessCurves) -> dict[str, Any]:
    """Is ``a``'s gap larger than ``b``'s beyond the spread?  Paired per spectrogram.

    Both curves must come from the same spectrograms, fractions and baseline.  With the per
    spectrogram differences :math:`d_n = \\text{gap}_a(n) - \\text{gap}_b(n)`, their mean
    :math:`\\bar d` and sample std :math:`\\text{sd}(d)`, the verdict is that of
    :func:`lrp_utils.evaluation.table.spread_verdict` (the rule of Table 1's controls):
    "beats" iff :math:`\\bar d - \\text{sd}(d) > 0`.  Returns the means and stds of both gaps,
    ``difference`` (:math:`\\bar d`), ``difference std``, ``share a larger`` (the fraction of
    spectrograms with :math:`d_n > 0`) and ``verdict``.
    """
    if a.n_samples != b.n_samples or a.fractions != b.fractions or str(a.baseline) != str(b.baseline):
        raise ValueError("a and b must be curves of the same spectrograms, fractions and baseline "
                         f"(got {a.n_samples} vs {b.n_samples} spectrograms, baselines {a.baseline!r} "
                         f"vs {b.baseline!r})")
    if a.n_samples < 2:
        raise ValueError("compare_gaps needs at least two spectrograms (a spread)")
    d = a.gap - b.gap
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    return {"gap a": float(a.gap.mean()), "gap a std": float(a.gap.std(ddof=1)),
            "gap b": float(b.gap.mean()), "gap b std": float(b.gap.std(ddof=1)),
            "difference": mean, "difference std": sd, "share a larger": float((d > 0).mean()),
            "verdict": spread_verdict(mean, sd)}
