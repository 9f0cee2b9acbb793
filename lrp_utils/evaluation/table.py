"""Table 1 of the paper (section 4.3): test accuracy before and after flipping 0.5 % of the bins,
for the original AlexNet and the one fine-tuned on relevance-augmented data -- and the two
controls that make the comparison fair (:data:`TABLE1_ROWS`) with the paired per-seed comparison
that says whether the augmentation beats a control beyond the seed spread
(:func:`compare_with_control`)."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from lrp_utils.evaluation._checks import check_fraction, check_input, check_labels
from lrp_utils.evaluation.pixel_flipping import FlippingCurve, check_baseline, pixel_flipping
from lrp_utils.evaluation.relevance import ExplainFn, explain_batched, resolve_explainer

#: Table 1's rows: the trained AlexNet; fine-tuned on the clean training set (more training, no
#: augmentation); fine-tuned on the training set with random bins replaced by their Moore mean
#: (augmentation without relevance); fine-tuned on the relevance-augmented set (the paper's).
ORIGINAL, FINETUNED, RANDOM_AUGMENTED, AUGMENTED = (
    "AlexNet", "AlexNet_finetuned", "AlexNet_random_augmented", "AlexNet_augmented")
TABLE1_ROWS = (ORIGINAL, FINETUNED, RANDOM_AUGMENTED, AUGMENTED)

#: The verdicts of :func:`spread_verdict`.
BEATS, NO_DIFFERENCE, WORSE = "beats", "no difference beyond the spread", "worse"


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; NaN for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _format(mean: float, std: float) -> str:
    """``"97.30 %"`` or ``"97.30 ± 0.41 %"`` (accuracies given as fractions)."""
    if math.isnan(std):
        return f"{100 * mean:.2f} %"
    return f"{100 * mean:.2f} ± {100 * std:.2f} %"


def flip_each_model(models: Mapping[str, nn.Module | Sequence[nn.Module]], x_test: torch.Tensor,
                    y_test: torch.Tensor, fractions: Sequence[float], composite: Any = None,
                    baseline: float | str = 0.0, batch_size: int = 64,
                    explain_fn: ExplainFn | None = None,
                    progress: bool | None = None) -> dict[str, list[FlippingCurve]]:
    """Pixel-flipping curve of every model, each flipped in the order of **its own** relevance.

    Each model explains the test set for the true class
    (:func:`~lrp_utils.evaluation.relevance.explain_batched` with ``composite`` / ``explain_fn``)
    and :func:`~lrp_utils.evaluation.pixel_flipping.pixel_flipping` flips the top
    ``k = floor(p * M + 1/2)`` bins of each spectrogram to ``baseline``, for every ``p`` of
    ``fractions``.  ``models`` maps a row name to a model or a sequence of models (one per seed);
    the result maps the same names to the curves, in the same order.
    """
    check_input(x_test, "x_test")
    check_labels(x_test, y_test, "y_test")
    baseline = check_baseline(baseline)
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping of row name -> model or list of "
                         "models, e.g. {'AlexNet': model, 'AlexNet_augmented': tuned}")
    groups = {}
    for name, entry in models.items():
        group = [entry] if isinstance(entry, nn.Module) else list(entry)
        if not group or not all(isinstance(m, nn.Module) for m in group):
            raise ValueError(f"models[{name!r}] must be an nn.Module or a non-empty list of them")
        groups[name] = group
    composite, explain_fn = resolve_explainer(composite, explain_fn)
    return {name: [pixel_flipping(model, x_test, y_test,
                                  explain_batched(model, x_test, y_test, composite, batch_size,
                                                  explain_fn, progress),
                                  fractions, baseline=baseline, batch_size=batch_size,
                                  progress=progress)
                   for model in group]
            for name, group in groups.items()}


def table1_from_curves(curves: Mapping[str, Sequence[FlippingCurve]],
                       fraction: float = 0.005) -> pd.DataFrame:
    """Table 1 (paper section 4.3) from flipping curves: accuracy at 0 % and at ``fraction``.

    ``curves`` maps a row name to the curves of its models (one per seed, e.g. from
    :func:`flip_each_model`); every curve must contain the fractions 0 and ``fraction``.  With
    several curves a row reports the mean and the sample standard deviation (``ddof=1``).

    Returns
    -------
    pandas.DataFrame
        Indexed by row name, with numeric columns ``n_models``, ``clean_mean``, ``clean_std``,
        ``flipped_mean``, ``flipped_std`` (accuracies as fractions; std NaN for one model), and
        the formatted columns ``"0 %"`` and e.g. ``"0.5 %"`` (``"97.30 ± 0.41 %"``).  Per-model
        accuracies are in ``df.attrs["runs"]``, the number of test items in
        ``df.attrs["n_samples"]``, the settings in ``df.attrs["fraction"]`` and ``["baseline"]``.
    """
    fraction = check_fraction(fraction)
    flipped_label = f"{100 * fraction:g} %"
    rows, runs = {}, []
    for name, group in curves.items():
        clean, flipped = [], []
        for index, curve in enumerate(group):
            clean.append(_accuracy_at(curve, 0.0, name))
            flipped.append(_accuracy_at(curve, fraction, name))
            runs.append({"model": name, "index": index, "clean": clean[-1], "flipped": flipped[-1]})
        clean_mean, clean_std = _mean_std(clean)
        flipped_mean, flipped_std = _mean_std(flipped)
        rows[name] = {
            "n_models": len(group), "clean_mean": clean_mean, "clean_std": clean_std,
            "flipped_mean": flipped_mean, "flipped_std": flipped_std,
            "0 %": _format(clean_mean, clean_std), flipped_label: _format(flipped_mean, flipped_std),
        }
    first = next(iter(curves.values()))[0]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    table.attrs.update(runs=runs, fraction=fraction, baseline=first.baseline, n_samples=first.n_samples)
    return table


def _accuracy_at(curve: FlippingCurve, fraction: float, name: str) -> float:
    if fraction not in curve.fractions:
        raise ValueError(f"the curve of {name!r} has no point at fraction {fraction}; flip with "
                         f"fractions that include 0 and the table's fraction")
    return curve.accuracy[curve.fractions.index(fraction)]


def table1(models: Mapping[str, nn.Module | Sequence[nn.Module]], x_test: torch.Tensor,
           y_test: torch.Tensor, composite: Any = None, fraction: float = 0.005,
           baseline: float | str = 0.0, batch_size: int = 64,
           explain_fn: ExplainFn | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Test accuracy at 0 % and at ``fraction`` of the most relevant bins flipped, per model.

    Paper section 4.3, Table 1 (rows "AlexNet" and "AlexNet_augmented"): :func:`flip_each_model`
    at the fractions 0 and ``fraction``, tabulated by :func:`table1_from_curves` (see there for the
    columns).  ``models`` maps a row name to a model or a sequence of models (one per seed).
    """
    fraction = check_fraction(fraction)
    curves = flip_each_model(models, x_test, y_test, [0.0, fraction], composite, baseline,
                             batch_size, explain_fn, progress)
    return table1_from_curves(curves, fraction)


def spread_verdict(mean: float, sd: float) -> str:
    """:data:`BEATS` if ``mean - sd > 0``, :data:`WORSE` if ``mean + sd < 0``, otherwise
    (``|mean| <= sd``) :data:`NO_DIFFERENCE`; ``mean`` and ``sd`` of paired differences."""
    if math.isnan(mean) or math.isnan(sd) or sd < 0:
        raise ValueError(f"mean and sd must be numbers and sd >= 0, got mean={mean!r}, sd={sd!r}; "
                         f"the spread needs at least two seeds")
    if mean - sd > 0:
        return BEATS
    if mean + sd < 0:
        return WORSE
    return NO_DIFFERENCE


def compare_with_control(table: pd.DataFrame, control: str,
                         treatment: str = AUGMENTED) -> pd.DataFrame:
    """Does ``treatment`` beat ``control`` beyond the seed spread?  Paired per seed, both columns.

    ``table`` comes from :func:`table1_from_curves` (or :func:`table1`): its ``attrs["runs"]``
    hold each model's accuracy per seed, in the order of the profile's seeds, and position ``s``
    of every row starts from the same base model (seed ``s``).  For each column (``clean``:
    nothing flipped; ``flipped``: the table's fraction flipped) and each of the ``S`` seeds,

    .. math::  d_s = \\text{acc}(\\text{treatment}, s) - \\text{acc}(\\text{control}, s),
               \\qquad \\bar d = \\frac1S \\sum_s d_s,
               \\qquad \\text{sd}(d) = \\sqrt{\\frac{1}{S-1} \\sum_s (d_s - \\bar d)^2},

    and the verdict (:func:`spread_verdict`) is "beats" iff :math:`\\bar d - \\text{sd}(d) > 0`,
    "worse" iff :math:`\\bar d + \\text{sd}(d) < 0`, otherwise "no difference beyond the
    spread".  Pairing removes what the seeds share (the base model, the test items); the rule
    is a reading aid, not a significance test (:math:`\\bar d > \\text{sd}` is a paired
    t statistic above :math:`\\sqrt S`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"clean"`` and ``"flipped"``, with columns ``n_seeds``, ``mean`` and ``sd``
        (of the differences, as fractions), ``verdict`` and ``differences`` (the tuple of
        ``d_s``).  ``attrs`` name the ``treatment`` and the ``control``.
    """
    runs = table.attrs.get("runs")
    if not runs:
        raise ValueError("table has no per-seed runs in table.attrs['runs']; build it with "
                         "table1_from_curves or table1")
    per_row = {}
    for run in runs:
        per_row.setdefault(run["model"], []).append(run)
    for argument, name in (("treatment", treatment), ("control", control)):
        if name not in per_row:
            raise ValueError(f"{argument}={name!r} is not a row of the table; its rows are "
                             f"{', '.join(map(repr, per_row))}")
    if treatment == control:
        raise ValueError(f"treatment and control are both {treatment!r}; compare two rows")
    treated, controls = per_row[treatment], per_row[control]
    if len(treated) != len(controls) or len(treated) < 2:
        raise ValueError(f"the paired comparison needs the same number (at least 2) of seeds in "
                         f"both rows; {treatment!r} has {len(treated)}, {control!r} "
                         f"{len(controls)}: run the experiment with two or more seeds")
    rows = {}
    for column in ("clean", "flipped"):
        differences = tuple(t[column] - c[column] for t, c in zip(treated, controls))
        mean, sd = _mean_std(list(differences))
        rows[column] = {"n_seeds": len(differences), "mean": mean, "sd": sd,
                        "verdict": spread_verdict(mean, sd), "differences": differences}
    result = pd.DataFrame.from_dict(rows, orient="index")
    result.attrs.update(treatment=treatment, control=control)
    return result
