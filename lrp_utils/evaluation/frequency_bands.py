"""Where in frequency the relevance lies, next to the voices' f0 and the recording channel.

- :func:`voice_bands`: contiguous frequency bands named after what a voice puts there (below
  every speaker's f0, the f0 range, the low harmonics, the formant region, above it), from the
  measured f0 of the speakers;
- :func:`positive_share_per_band`: the share of the positive mean relevance that falls in each
  band (section 4.1 of the paper: which frequencies carry the decision);
- :func:`band_level` and :func:`band_level_per_split`: the mean dB level of the spectrogram rows
  of a band, per recording and per split and gender (a recording-channel cue such as DC offset,
  mains hum or rumble shows up as a level difference in the lowest rows).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from torch.utils.data import Dataset, Subset

from lrp_utils.data import separability
from lrp_utils.evaluation.relevance_summary import band_shares, checked_profile
from lrp_utils.evaluation.speakers import recordings_of

#: The formant region of adult speech (F1 to F3), Hz: Peterson & Barney (1952), *Control methods
#: used in a study of the vowels*.
FORMANT_REGION_HZ = (300.0, 3000.0)


def voice_bands(f0_hz: Sequence[float], top_hz: float,
                formants: tuple[float, float] = FORMANT_REGION_HZ) -> dict[str, tuple[float, float]]:
    """Contiguous bands ``[low, high)`` Hz from 0 to ``top_hz``, named after what a voice puts there.

    With ``lo`` and ``hi`` the smallest and largest f0 of ``f0_hz`` (NaN values are left out), the
    edges are ``0, lo, hi, max(hi, formants[0]), max(hi, formants[1]), top_hz``:

    - ``"below every f0"``: ``[0, lo)`` -- no voiced sound of these speakers has energy there;
    - ``"f0 range"``: ``[lo, hi)`` -- the speakers' fundamentals;
    - ``"f0 to formants"``: ``[hi, max(hi, F_low))`` -- low harmonics below the first formant;
    - ``"formants"``: up to ``max(hi, F_high)`` -- F1 to F3;
    - ``"above formants"``: up to ``top_hz`` (made to include ``top_hz`` itself).

    A band may be empty (``low == high``), e.g. the third when the highest f0 lies above 300 Hz.

    Raises
    ------
    ValueError
        If no f0 is finite, an f0 is not positive, or ``top_hz`` is not above every other edge.
    """
    values = np.asarray(f0_hz, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("voice_bands: no measured f0 (all NaN or none given); pass the speakers' f0 in Hz")
    if (values <= 0).any() or not np.isfinite(values).all():
        raise ValueError(f"voice_bands: f0 values must be positive and finite, got {values.min()}..{values.max()} Hz")
    low, high = float(values.min()), float(values.max())
    edges = [0.0, low, high, max(high, formants[0]), max(high, formants[1])]
    if not top_hz > edges[-1]:
        raise ValueError(f"voice_bands: top_hz={top_hz} must lie above {edges[-1]} Hz (the formant region "
                         f"and every f0)")
    names = ("below every f0", "f0 range", "f0 to formants", "formants", "above formants")
    edges.append(math.nextafter(float(top_hz), math.inf))
    return {name: (edges[i], edges[i + 1]) for i, name in enumerate(names)}


def positive_share_per_band(profiles: Mapping[str, np.ndarray], frequencies: np.ndarray,
                            bands: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """Share of the positive mean relevance in each band, per group.

    ``profiles`` maps a group to its mean relevance per frequency row ``r_h``
    (:func:`~lrp_utils.evaluation.relevance_per_frequency`), ``frequencies`` gives ``f_h``. The
    entry of group ``g`` and band ``[low, high)`` is
    ``sum_{low <= f_h < high} max(r_h, 0) / sum_h max(r_h, 0)``: where the evidence *for* the
    explained class sits. Rows are the groups, columns the bands (in the order of ``bands``); a
    group without positive relevance gets NaN. Bands that overlap or leave gaps are allowed, so
    a row need not sum to 1.
    """
    frequencies = np.asarray(frequencies, dtype=float)
    rows = {}
    for name, profile in profiles.items():
        positive = np.clip(checked_profile(name, profile, frequencies), 0.0, None)
        rows[name] = band_shares(positive, frequencies, bands)
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(bands))


def band_level(features: np.ndarray, frequencies: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """Mean value (dB for Becker spectrograms) of the rows of ``band`` ``[low, high)`` Hz, per item.

    ``features`` is ``(N, H, W)`` (or ``(N, 1, H, W)``) with row ``h`` at ``frequencies[h]``.
    """
    shape = np.shape(features)
    frequencies = np.asarray(frequencies, dtype=float)
    if len(shape) == 4 and shape[1] == 1:
        shape = (shape[0], *shape[2:])
        features = features[:, 0]
    if len(shape) != 3 or shape[1] != frequencies.size:
        raise ValueError(f"band_level: features of shape {np.shape(features)} need the form (N, H, W) with "
                         f"H = {frequencies.size} rows, one per frequency")
    rows = np.flatnonzero((frequencies >= band[0]) & (frequencies < band[1]))
    if rows.size == 0:
        raise ValueError(f"band_level: no row lies in [{band[0]}, {band[1]}) Hz; rows span "
                         f"{frequencies.min()}..{frequencies.max()} Hz")
    # only the band's rows are read (features may be a memory map of the whole split)
    return np.asarray(features[:, rows, :], dtype=np.float64).mean(axis=(1, 2))


def band_level_per_split(datasets: Mapping[str, Dataset], frequencies: np.ndarray,
                         band: tuple[float, float]) -> pd.DataFrame:
    """The :func:`band_level` of each split's speakers, per gender, and how well it separates them.

    For every split (keys of ``datasets``: FeatureDatasets, or Subsets of them, whose recordings
    have ``speaker`` and ``gender``) each speaker's level is the median of :func:`band_level` over
    the speaker's recordings. Columns: ``female (dB)`` and ``male (dB)``, the median over each
    gender's speakers; ``female speakers``, ``male speakers``; ``AUC female > male``, the
    Mann-Whitney AUC of the speaker levels (:func:`lrp_utils.data.separability`; 0.5 = none).
    """
    rows = {}
    for split, dataset in datasets.items():
        recordings = recordings_of(dataset)
        if isinstance(dataset, Subset):
            level = band_level(dataset.dataset.features, frequencies, band)[list(dataset.indices)]
        else:
            level = band_level(dataset.features, frequencies, band)
        levels = pd.DataFrame({"speaker": [r.speaker for r in recordings], "gender": [r.gender for r in recordings],
                               "level": level})
        speakers = levels.groupby("speaker").agg(gender=("gender", "first"), level=("level", "median"))
        by_gender = speakers.groupby("gender")["level"]
        medians, counts = by_gender.median(), by_gender.size()
        rows[split] = {"female (dB)": medians.get("female", math.nan), "male (dB)": medians.get("male", math.nan),
                       "female speakers": int(counts.get("female", 0)), "male speakers": int(counts.get("male", 0)),
                       "AUC female > male": separability(speakers, "level")}
    return pd.DataFrame.from_dict(rows, orient="index")
