"""Who is in a split: the recordings of a dataset and its speakers per gender."""

from __future__ import annotations

from typing import Mapping

import pandas as pd
from torch.utils.data import Dataset, Subset


def recordings_of(dataset: Dataset) -> list:
    """The recordings of a :class:`~lrp_utils.data.FeatureDataset` or of a ``Subset`` of one, in
    item order.

    Raises
    ------
    TypeError
        If the dataset carries no recordings.
    """
    if isinstance(dataset, Subset):
        recordings = recordings_of(dataset.dataset)
        return [recordings[i] for i in dataset.indices]
    recordings = getattr(dataset, "recordings", None)
    if not recordings:
        raise TypeError(f"expected a FeatureDataset with recordings (or a Subset of one), got "
                        f"{type(dataset).__name__} without recordings")
    return list(recordings)


def speaker_counts(datasets: Mapping[str, Dataset]) -> pd.DataFrame:
    """Per split (the keys of ``datasets``): ``female speakers``, ``male speakers`` and
    ``recordings``, counted from :func:`recordings_of` (a speaker counts once per split)."""
    rows = {}
    for split, dataset in datasets.items():
        recordings = recordings_of(dataset)
        speakers = {r.speaker: r.gender for r in recordings}
        rows[split] = {"female speakers": sum(g == "female" for g in speakers.values()),
                       "male speakers": sum(g == "male" for g in speakers.values()),
                       "recordings": len(recordings)}
    return pd.DataFrame.from_dict(rows, orient="index")
