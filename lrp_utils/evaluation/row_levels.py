r"""Which frequency rows of the spectrograms tell the genders apart, from the data alone (chapter 7).

Before asking where a network's relevance lies, measure where the *data* differ: for every
frequency row :math:`h` and recording :math:`n`, the mean level over the recording's own frames,

.. math:: L_{n,h} = \frac{1}{|T_n|} \sum_{t \in T_n} x_{n,h,t}, \qquad
          T_n = \{t : \max_h x_{n,h,t} > \min_{h,t} x_{n,h,t}\},

(the frames above the spectrogram's floor: Becker's features embed a recording in one second of
zeros, and how much of that padding a spectrogram holds depends on the recording's duration, not on
its frequency content), then per row the mean of :math:`L_{n,h}` over each class and the AUC of
:math:`L_{\cdot,h}` for telling the classes apart (:func:`lrp_utils.data.separability`: 0.5 = not
at all, 1 or 0 = perfectly).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from torch.utils.data import Dataset, Subset

from lrp_utils.data import separability


def recording_row_levels(features: np.ndarray) -> np.ndarray:
    """:math:`L_{n,h}` of the module docstring for ``(N, H, W)`` (or ``(N, 1, H, W)``) spectrograms:
    ``(N, H)`` float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"features must be spectrograms of shape (N, H, W) or (N, 1, H, W), got {x.shape}")
    frames = x.max(axis=1) > x.min(axis=(1, 2))[:, None]  # (N, W)
    frames[~frames.any(axis=1)] = True  # a spectrogram that is all floor: all its frames
    return (x * frames[:, None, :]).sum(axis=2) / frames.sum(axis=1)[:, None]


def _features_and_labels(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(dataset, Subset):
        indices = list(dataset.indices)
        return np.asarray(dataset.dataset.features)[indices], np.asarray(dataset.dataset.labels)[indices]
    return np.asarray(dataset.features), np.asarray(dataset.labels)


def row_levels(dataset: Dataset, frequencies: np.ndarray,
               names: Mapping[int, str] = {0: "male", 1: "female"}) -> pd.DataFrame:
    """Per frequency row (index: ``frequency (Hz)``) the mean level of each class's recordings,
    ``"<name> (dB)"``, and ``"AUC <second> > <first>"`` over the recordings (module docstring).

    ``dataset`` is a :class:`~lrp_utils.data.FeatureDataset` (or a Subset of one) of two classes,
    keyed in ``names`` (default: Becker's gender labels, 0 male, 1 female).
    """
    if len(names) != 2:
        raise ValueError(f"names must name exactly two classes, e.g. {{0: 'male', 1: 'female'}}, got {dict(names)}")
    features, labels = _features_and_labels(dataset)
    levels = recording_row_levels(features)
    frequencies = np.asarray(frequencies, dtype=float)
    if levels.shape[1] != frequencies.size:
        raise ValueError(f"{levels.shape[1]} rows but {frequencies.size} frequencies; pass one per row")
    (first, first_name), (second, second_name) = sorted(names.items())
    groups = np.where(labels == second, second_name, np.where(labels == first, first_name, ""))
    if not ((groups == first_name).any() and (groups == second_name).any()):
        raise ValueError(f"the dataset needs recordings of both classes {first} and {second}")
    table = {f"{first_name} (dB)": levels[groups == first_name].mean(axis=0),
             f"{second_name} (dB)": levels[groups == second_name].mean(axis=0)}
    auc = [separability(pd.DataFrame({"level": levels[groups != "", h], "group": groups[groups != ""]}),
                        "level", by="group", positive=second_name) for h in range(levels.shape[1])]
    table[f"AUC {second_name} > {first_name}"] = auc
    return pd.DataFrame(table, index=pd.Index(frequencies, name="frequency (Hz)"))
