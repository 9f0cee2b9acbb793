"""Torch datasets of cached features, and the two experiments' train/validation/test sets.

- :func:`gender_datasets`: Becker spectrograms (1x227x227) of a gender fold (:func:`gender_folds`:
  Becker's on AudioMNIST), label 0 = male, 1 = female (Becker's convention:
  ``0 if gender == "male" else 1``).
- :func:`speaker_datasets`: Kaldi filterbanks (1x64xframes) split by repetition index (each speaker's
  take), label = index of the speaker in the returned sorted list of speaker names.

Both take any source :func:`~lrp_utils.data.sources.load_corpus` accepts: a corpus folder, a
manifest CSV, or recordings already loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from lrp_utils.data.cache import cached_features
from lrp_utils.data.corpus import Recording, load_audiomnist, load_fsdd
from lrp_utils.data.features import BeckerFeature, FbankFeature
from lrp_utils.data.sources import Source, load_corpus
from lrp_utils.data.splits import SPLITS, gender_folds, speaker_split

#: Gender labels of the gender experiment.
GENDER_LABELS = {"male": 0, "female": 1}


class FeatureDataset(Dataset):
    """Serves ``(feature, label)``: a ``float32`` tensor with a leading channel axis of 1, and an
    ``int64`` scalar tensor.

    ``features`` is any array indexable along its first axis (typically a cache's memory map);
    ``recordings[i]`` tells where item ``i`` came from.
    """

    def __init__(self, features: np.ndarray, labels: Sequence[int], recordings: Sequence[Recording] = ()):
        if len(features) != len(labels) or (recordings and len(recordings) != len(labels)):
            raise ValueError(f"FeatureDataset: {len(features)} features, {len(labels)} labels and "
                             f"{len(recordings)} recordings must agree.")
        self.features = features
        self.labels = np.asarray(labels, dtype=np.int64)
        self.recordings = list(recordings)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        feature = torch.from_numpy(np.array(self.features[index], dtype=np.float32))[None]
        return feature, torch.tensor(self.labels[index], dtype=torch.int64)

    def subset(self, indices: Sequence[int]) -> "FeatureDataset":
        """Items ``indices`` (in that order) as a dataset of their own, with their labels and
        recordings; their features are read into memory."""
        indices = [int(i) for i in indices]
        return FeatureDataset(np.asarray(self.features[indices]), self.labels[indices],
                              [self.recordings[i] for i in indices] if self.recordings else ())


def balanced_subset(recordings: Sequence[Recording], limit: int | None, seed: int, by: str) -> list[Recording]:
    """At most ``limit`` recordings, drawn evenly (round robin) from the groups of attribute ``by``.

    Each group is shuffled by ``numpy.random.default_rng(seed)``; the result is sorted. ``None``
    or a limit at least the size returns all recordings.
    """
    if limit is None or limit >= len(recordings):
        return sorted(recordings, key=Recording.sort_key)
    if limit < 1:
        raise ValueError(f"limit={limit} must be a positive number of recordings.")
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Recording]] = {}
    for recording in sorted(recordings, key=Recording.sort_key):
        groups.setdefault(getattr(recording, by), []).append(recording)
    queues = [[group[i] for i in rng.permutation(len(group))] for _, group in sorted(groups.items())]
    chosen: list[Recording] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop())
    return sorted(chosen, key=Recording.sort_key)


def gender_datasets(corpus_root: Source, fold: int = 0, seed: int = 0,
                    cache_dir: str | os.PathLike | None = None, limit_per_split: int | None = None,
                    progress: bool = True, workers: int = 2, folds: int = 4, fold_seed: int = 0,
                    highpass_hz: float | None = None) -> dict[str, FeatureDataset]:
    """Becker-spectrogram datasets of gender fold ``fold`` of any gendered corpus.

    ``corpus_root`` is any source of :func:`~lrp_utils.data.sources.load_corpus`. The splits are
    ``gender_folds(recordings, folds, fold_seed)[fold]`` (Becker's folds on AudioMNIST); the fold
    seed is separate so that changing ``seed`` keeps the speakers of each split. ``seed`` draws the
    embedding offsets (and the subset when ``limit_per_split`` is given: at most that many
    recordings per split, half of each gender). ``highpass_hz`` high-passes every recording before
    its spectrogram (:func:`~lrp_utils.data.features.highpass`; ``None``: none). Labels: 0 = male,
    1 = female.
    """
    if not 0 <= fold < folds:
        raise ValueError(f"fold={fold}: the gender folds are numbered 0..{folds - 1}.")
    splits = gender_folds(load_corpus(corpus_root), folds, fold_seed)[fold]
    extractor = BeckerFeature(seed=seed, highpass_hz=highpass_hz)
    datasets = {}
    for name in SPLITS:
        recordings = balanced_subset(splits[name], limit_per_split, seed, by="gender")
        features = cached_features(recordings, extractor, cache_dir, progress, workers)
        datasets[name] = FeatureDataset(features, [GENDER_LABELS[r.gender] for r in recordings], recordings)
    return datasets


def speaker_datasets(corpus_root: Source | None, frames: int, seed: int = 0,
                     cache_dir: str | os.PathLike | None = None, loader: str | None = None,
                     fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), num_mel_bins: int = 64,
                     limit_per_split: int | None = None, progress: bool = True, workers: int = 2,
                     highpass_hz: float | None = None, train_windows: int = 1,
                     ) -> tuple[dict[str, FeatureDataset], list[str]]:
    """Filterbank datasets for speaker identification, split by repetition index (``fractions``).

    ``corpus_root`` is any source of :func:`~lrp_utils.data.sources.load_corpus` (``loader=None``,
    the default, recognises its kind); ``loader="audiomnist"`` or ``"fsdd"`` forces that loader
    (with ``"fsdd"``, ``corpus_root=None`` means the shared copy). Every speaker is in every split;
    its takes are split by ``fractions`` (e.g. speechocean762's 20 sentences: 16 / 2 / 2). ``seed``
    draws the subset when ``limit_per_split`` is given (spread evenly over speakers); ``highpass_hz``
    high-passes every recording before its filterbank (``None``: none). With ``train_windows = k``
    the training split serves ``k`` consecutive windows of ``frames`` from the centre of each
    training recording (:func:`split_windows`: more examples per speaker, the same recordings),
    validation and test one centred window. Returns the
    datasets and the sorted speaker names; label ``i`` means ``speaker_names[i]``.
    """
    if loader is None:
        recordings = load_corpus(corpus_root)
    elif loader == "audiomnist":
        recordings = load_audiomnist(corpus_root)
    elif loader == "fsdd":
        recordings = load_fsdd(corpus_root)
    else:
        raise ValueError(f"speaker_datasets: loader={loader!r}; use None (recognise the source), "
                         "'audiomnist' or 'fsdd'.")
    speaker_names = sorted({r.speaker for r in recordings})
    label_of = {name: i for i, name in enumerate(speaker_names)}
    splits = speaker_split(recordings, fractions=fractions)
    if not isinstance(train_windows, int) or isinstance(train_windows, bool) or train_windows < 1:
        raise ValueError(f"speaker_datasets: train_windows={train_windows!r}; use a positive integer")
    datasets = {}
    for name in SPLITS:
        chosen = balanced_subset(splits[name], limit_per_split, seed, by="speaker")
        windows = train_windows if name == "train" else 1
        extractor = FbankFeature(frames=frames * windows, num_mel_bins=num_mel_bins, highpass_hz=highpass_hz)
        features = cached_features(chosen, extractor, cache_dir, progress, workers)
        if windows > 1:
            features, chosen = split_windows(features, chosen, frames)
        datasets[name] = FeatureDataset(features, [label_of[r.speaker] for r in chosen], chosen)
    return datasets, speaker_names


def split_windows(features: np.ndarray, recordings: Sequence[Recording], frames: int
                  ) -> tuple[np.ndarray, list[Recording]]:
    """Cut each ``(bins, k * frames)`` filterbank into ``k`` consecutive windows of ``frames``.

    A window more than half of whose frames are padding (all-zero frames, which :func:`fbank`
    appends to a recording shorter than ``k * frames``) is left out. Returns the windows
    ``(M, bins, frames)`` and the recording of each.
    """
    count, bins, total = features.shape
    if total % frames:
        raise ValueError(f"split_windows: {total} frames do not divide into windows of {frames}")
    windows = np.ascontiguousarray(np.asarray(features).reshape(count, bins, total // frames, frames)
                                   .transpose(0, 2, 1, 3)).reshape(-1, bins, frames)
    padding = (np.abs(windows).sum(axis=1) == 0).mean(axis=1)
    keep = np.flatnonzero(padding <= 0.5)
    per_window = [recording for recording in recordings for _ in range(total // frames)]
    return windows[keep], [per_window[i] for i in keep]
