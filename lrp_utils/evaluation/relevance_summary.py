"""Numbers that summarise relevance maps: the share of positive relevance and the mean relevance
per frequency row (paper sections 4.1 and 5: which evidence a heatmap shows, and where in
frequency the decision lies)."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from lrp_utils.evaluation._checks import check_input

#: The frequency band of the book's summaries: everything below 1 kHz (f0 and the first harmonics).
BELOW_1KHZ = {"below 1 kHz": (0.0, 1000.0)}


def positive_share(relevance: torch.Tensor) -> float:
    """Share of the relevance mass that is positive: ``sum(max(R, 0)) / sum(|R|)``, in [0, 1].

    1 means all evidence speaks for the explained class, 0 all against it; LRP-γ is meant to raise
    it (Montavon et al. 2019, *Layer-wise relevance propagation: an overview*).  ``relevance`` is one map (or several, summed
    together).  NaN when the relevance is zero everywhere (the share is undefined).
    """
    if not isinstance(relevance, torch.Tensor):
        raise TypeError(f"relevance must be a torch.Tensor, got {type(relevance).__name__}")
    total = float(relevance.abs().sum(dtype=torch.float64))
    if total == 0.0:
        return math.nan
    return float(relevance.clamp(min=0).sum(dtype=torch.float64)) / total


def relevance_per_frequency(relevance: torch.Tensor,
                            groups: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Mean relevance of every frequency row, per group of samples.

    ``relevance`` is ``(N, C, H, W)`` (rows ``H`` are frequencies, columns ``W`` time frames);
    ``groups`` maps a name to a boolean mask of ``N`` samples.  For each group the result is the
    ``H`` means over the group's samples, the channels and time,
    ``r_h = mean_{n in group, c, w} R[n, c, h, w]``, as float64 numpy, keyed like ``groups``.
    """
    check_input(relevance, "relevance")
    profiles = {}
    for name, mask in groups.items():
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != relevance.shape[:1]:
            raise ValueError(f"groups[{name!r}] must be a boolean mask of shape ({relevance.shape[0]},), "
                             f"one entry per sample of relevance, e.g. (y == 1) & correct")
        if not bool(mask.any()):
            raise ValueError(f"groups[{name!r}] selects no sample; a mean relevance needs at least one")
        selected = relevance[mask.to(relevance.device)].to(torch.float64)
        rows = selected.movedim(-2, 0).reshape(relevance.shape[-2], -1)
        profiles[name] = rows.mean(dim=1).cpu().numpy()
    return profiles


def class_groups(labels: torch.Tensor, correct: torch.Tensor, names: Mapping[int, str]) -> dict[str, torch.Tensor]:
    """Boolean masks of the samples whose relevance is averaged per class: for every class ``k``
    of ``names`` (class -> group name), its correctly classified samples, ``correct & (labels == k)``,
    or, when the model got none of them right, all its samples ``labels == k`` (a mean over the
    misclassified ones rather than no curve at all). For :func:`relevance_per_frequency`.

    Raises
    ------
    ValueError
        If ``labels`` and ``correct`` differ in shape, or a class of ``names`` has no sample.
    """
    if labels.shape != correct.shape or correct.dtype != torch.bool:
        raise ValueError(f"class_groups: labels {tuple(labels.shape)} and a boolean correct mask of the same "
                         f"shape are needed, got correct {tuple(correct.shape)} of {correct.dtype}")
    groups = {}
    for label, name in names.items():
        of_class = labels == label
        if not bool(of_class.any()):
            raise ValueError(f"class_groups: no sample of class {label} ({name!r}) among the {len(labels)} given")
        right = of_class & correct
        groups[name] = right if bool(right.any()) else of_class
    return groups


def class_relevance_profiles(relevance: torch.Tensor, labels: torch.Tensor, correct: torch.Tensor,
                             names: Mapping[int, str]) -> dict[str, np.ndarray]:
    """Mean relevance per frequency row of each class's correctly classified samples (all of the
    class when none is correct): :func:`relevance_per_frequency` over :func:`class_groups`."""
    return relevance_per_frequency(relevance, class_groups(labels, correct, names))


def summarize_frequency_profiles(profiles: Mapping[str, np.ndarray], frequencies: np.ndarray,
                                 bands: Mapping[str, tuple[float, float]] = BELOW_1KHZ) -> pd.DataFrame:
    """Where the mean relevance of each group lies in frequency.

    One row per group (the keys of ``profiles``, e.g. from :func:`relevance_per_frequency`), with
    ``"peak (Hz)"``, the frequency of the largest mean relevance, and for every named band
    ``[low, high)`` Hz of ``bands`` the column ``"share of |mean relevance| <band>"``:
    ``sum_{low <= f_h < high} |r_h| / sum_h |r_h|`` (NaN for an all-zero profile).  Read the
    values by name (``table.loc[group, "peak (Hz)"]``).
    """
    frequencies = np.asarray(frequencies, dtype=float)
    rows = {}
    for name, profile in profiles.items():
        profile = checked_profile(name, profile, frequencies)
        shares = band_shares(np.abs(profile), frequencies, bands)
        rows[name] = {"peak (Hz)": float(frequencies[int(profile.argmax())]),
                      **{f"share of |mean relevance| {band}": share for band, share in shares.items()}}
    return pd.DataFrame.from_dict(rows, orient="index")


def checked_profile(name: str, profile, frequencies: np.ndarray) -> np.ndarray:
    """``profile`` (one value per frequency row) as a float array, checked against ``frequencies``."""
    profile = np.asarray(profile, dtype=float)
    if profile.shape != frequencies.shape:
        raise ValueError(f"profiles[{name!r}] has {profile.shape} values but there are "
                         f"{frequencies.shape} frequencies; pass one frequency per row")
    return profile


def band_shares(weights: np.ndarray, frequencies: np.ndarray,
                bands: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """``sum_{low <= f_h < high} w_h / sum_h w_h`` for every band ``[low, high)`` of ``bands``
    (non-negative weights ``w_h`` per frequency row; NaN when they are all zero)."""
    total = float(weights.sum())
    return {band: float(weights[(frequencies >= low) & (frequencies < high)].sum() / total) if total > 0
            else math.nan for band, (low, high) in bands.items()}
