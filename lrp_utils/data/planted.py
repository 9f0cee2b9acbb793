"""Chapter 7's corpora and test sets with a planted cue, and where the cue lies in each spectrogram.

- :func:`synthetic_profile`: a profile's sizes on the synthetic corpus of ``artifact_repetitions``
  (the clean corpus chapter 7 compares with);
- :func:`planted_corpus`: that corpus with :class:`~lrp_utils.data.artifact.Artifact` planted into
  a fraction (``artifact_fraction``) of the recordings of the fold's female *training* speakers
  (:func:`female_training_speakers`), generated once under ``artifacts/data``;
- :func:`planted_keys`: which recordings of a planted corpus carry the cue (its ``artifact.json``);
- :func:`planted_dataset`: any gender dataset with the same tone added to *every* recording before
  its spectrogram (test recordings of both genders with the cue), through the generator's own
  :meth:`~lrp_utils.data.artifact.Tone.plant`; features cached like the others;
- :func:`region_masks`: the boolean region of the tone in each item's spectrogram
  (:meth:`~lrp_utils.data.artifact.Tone.region` at the item's Becker offset), the ground truth of
  the localisation metrics (:mod:`lrp_utils.evaluation.localisation`);
- :func:`tone_effects`: a planted spectrogram split into the tone's own bins and the drop of every
  other bin that a tone louder than the recording causes (Becker's dB are relative to the maximum).

The profile is taken as an argument, never imported (as in :mod:`lrp_utils.data.resolve`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset, Subset

from lrp_utils.data.artifact import ARTIFACT_RECORD, Artifact, Tone
from lrp_utils.data.audio import read_wav
from lrp_utils.data.cache import cached_features
from lrp_utils.data.corpus import Recording
from lrp_utils.data.datasets import FeatureDataset
from lrp_utils.data.features import BECKER_SIZE, becker_offset, becker_spectrogram, check_highpass, resampled_length
from lrp_utils.data.resolve import ResolvedCorpus, ensure_corpus, synthetic_corpus_dir
from lrp_utils.data.splits import GENDER_FOLDS
from lrp_utils.data.synthetic import AUDIOMNIST_FEMALE_SPEAKERS, synthesize_corpus

if TYPE_CHECKING:
    from lrp_utils.profiles import Profile


def female_training_speakers(fold: int, female: Sequence[int] = AUDIOMNIST_FEMALE_SPEAKERS) -> tuple[int, ...]:
    """The training speakers of Becker's gender fold ``fold``
    (:data:`~lrp_utils.data.splits.GENDER_FOLDS`) that are among ``female`` (default: the female
    ids of AudioMNIST and of the synthetic corpus), sorted."""
    if not 0 <= fold < len(GENDER_FOLDS):
        raise ValueError(f"fold={fold}: Becker's gender folds are numbered 0..{len(GENDER_FOLDS) - 1}")
    return tuple(sorted(s for s in GENDER_FOLDS[fold][0] if s in set(female)))


def synthetic_profile(profile: Profile) -> Profile:
    """``profile`` on the synthetic corpus of ``profile.artifact_repetitions`` repetitions (its
    default location), whatever corpus the profile names otherwise, with ``artifact_epochs`` as its
    AlexNet epochs (the profile's ``alexnet_epochs`` when ``None``): the sizes of chapter 7's clean
    network and, on :func:`planted_corpus`, of its planted one."""
    epochs = profile.alexnet_epochs if profile.artifact_epochs is None else profile.artifact_epochs
    return profile.with_overrides(corpus="synthetic", data_dir=None, alexnet_epochs=epochs,
                                  synthetic_repetitions=profile.artifact_repetitions)


def profile_artifact(profile: Profile, tone: Tone = Tone()) -> Artifact:
    """The artefact chapter 7 plants under ``profile``: ``tone`` in ``artifact_fraction`` of the
    recordings of the female training speakers of ``profile.fold``, chosen with ``profile.seed``."""
    return Artifact(speakers=female_training_speakers(profile.fold), fraction=profile.artifact_fraction,
                    tone=tone, seed=profile.seed)


def planted_corpus_dir(repetitions: int, seed: int, artifact: Artifact) -> Path:
    """``artifacts/data/synthetic-r<reps>-s<seed>-artifact-<key>``, ``key`` a hash of the artefact."""
    key = hashlib.sha256(json.dumps(asdict(artifact), sort_keys=True).encode()).hexdigest()[:10]
    clean = synthetic_corpus_dir(repetitions, seed)
    return clean.with_name(f"{clean.name}-artifact-{key}")


def planted_corpus(profile: Profile, tone: Tone = Tone(), progress: bool = True) -> ResolvedCorpus:
    """The synthetic corpus of :func:`synthetic_profile` with :func:`profile_artifact` planted,
    generated into :func:`planted_corpus_dir` unless it is there already: the clean corpus (made
    first where it is missing) with the planted recordings synthesised again with the tone and
    the others hard-linked from it."""
    artifact = profile_artifact(profile, tone)
    reps = profile.artifact_repetitions
    clean = ensure_corpus("synthetic", repetitions=reps, seed=profile.seed, progress=progress)
    root = synthesize_corpus(planted_corpus_dir(reps, profile.seed, artifact), repetitions=reps,
                             seed=profile.seed, progress=progress, replace=True, artifact=artifact,
                             unplanted_from=clean)
    return ResolvedCorpus(Path(root), "synthetic")


def planted_keys(root: str | os.PathLike) -> frozenset[str]:
    """File names (:attr:`Recording.key`) of the recordings that carry the planted cue in the corpus
    at ``root`` (read from its ``artifact.json``); empty for a corpus without one."""
    record = Path(root) / ARTIFACT_RECORD
    if not record.is_file():
        return frozenset()
    return frozenset(Path(name).name for name in json.loads(record.read_text())["planted"])


@dataclass(frozen=True)
class PlantedBeckerFeature:
    """Recording -> Becker spectrogram of the recording with ``tone`` planted
    (:meth:`Tone.plant`), at the offset :class:`~lrp_utils.data.features.BeckerFeature` uses for the
    same ``seed``; a picklable extractor for :func:`~lrp_utils.data.cache.cached_features`."""

    tone: Tone
    seed: int = 0
    highpass_hz: float | None = None
    name: str = "becker-planted"

    def __post_init__(self) -> None:
        check_highpass(self.highpass_hz)

    def __call__(self, recording: Recording) -> np.ndarray:
        wave, sample_rate = read_wav(recording.path)
        offset = becker_offset(resampled_length(wave.size, sample_rate), self.seed, recording.key)
        return becker_spectrogram(self.tone.plant(wave, sample_rate), sample_rate, offset, self.highpass_hz)


def _feature_dataset(dataset: Dataset) -> tuple[FeatureDataset, list[int]]:
    """The :class:`FeatureDataset` under ``dataset`` (itself or a Subset of it) and the indices."""
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, FeatureDataset):
        return dataset.dataset, list(dataset.indices)
    if isinstance(dataset, FeatureDataset) and dataset.recordings:
        return dataset, list(range(len(dataset)))
    raise TypeError(f"dataset must be a FeatureDataset with recordings (or a Subset of one), as "
                    f"lrp_utils.data.profile_datasets returns, not {type(dataset).__name__}")


def planted_dataset(dataset: Dataset, tone: Tone, seed: int, highpass_hz: float | None = None,
                    cache_dir: str | os.PathLike | None = None, progress: bool = True,
                    workers: int = 2) -> FeatureDataset:
    """``dataset``'s recordings with ``tone`` planted into every one of them, labels unchanged
    (meant for recordings without the cue, e.g. the test split of a planted corpus).

    ``seed`` and ``highpass_hz`` must be those the dataset's features were made with (the profile's
    ``seed`` and ``highpass_hz``), so that each planted spectrogram differs from the clean one only
    by the tone. Features are cached in ``cache_dir`` (default ``artifacts/cache``).
    """
    base, indices = _feature_dataset(dataset)
    recordings = [base.recordings[i] for i in indices]
    features = cached_features(recordings, PlantedBeckerFeature(tone, seed, highpass_hz), cache_dir, progress,
                               workers)
    return FeatureDataset(features, base.labels[indices], recordings)


def region_masks(recordings: Sequence[Recording], tone: Tone, seed: int) -> torch.Tensor:
    """``(N, 1, 227, 227)`` boolean masks of the tone's region (:meth:`Tone.region`) in the Becker
    spectrogram of each recording, with the offsets of feature seed ``seed``; only the files'
    headers are read (their length and rate)."""
    masks = np.empty((len(recordings), 1, BECKER_SIZE, BECKER_SIZE), dtype=bool)
    for i, recording in enumerate(recordings):
        info = sf.info(str(recording.path))
        n_samples = resampled_length(info.frames, info.samplerate)
        masks[i, 0] = tone.region(n_samples, becker_offset(n_samples, seed, recording.key))
    return torch.from_numpy(masks)


def tone_effects(clean: torch.Tensor, planted: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""Split what a planted tone does to Becker spectrograms (dB relative to each one's maximum).

    Outside the tone's region the magnitudes do not change, so there the planted spectrogram is the
    clean one shifted by :math:`s_n = 20 \log_{10}(\max |Z_n| / \max |Z'_n|) \le 0` (0 while the
    tone stays below the recording's loudest bin) and floored at -80 dB. ``s_n`` is measured as the
    median of ``planted - clean`` over the bins outside the region above the floor in both. Returns

    - ``"shift"``: :math:`s_n`, shape ``(N,)``;
    - ``"tone only"``: the clean spectrogram with the region's bins of the planted one moved back by
      :math:`-s_n` (the tone relative to the clean maximum), capped at 0 dB, the most a Becker
      spectrogram holds -- the tone without the drop;
    - ``"level only"``: the planted spectrogram with the region's bins of the clean one moved by
      :math:`s_n` (floored at -80 dB) -- the drop without the tone.

    ``clean``, ``planted`` and the boolean ``masks`` (:func:`region_masks`) share one shape
    ``(N, ..., H, W)``.
    """
    if clean.shape != planted.shape or masks.shape != clean.shape or masks.dtype != torch.bool:
        raise ValueError(f"clean {tuple(clean.shape)}, planted {tuple(planted.shape)} and a boolean masks "
                         f"{tuple(masks.shape)} must have one shape (masks: region_masks of the recordings)")
    floor = -80.0 + 1e-3
    shifts = []
    for n in range(clean.shape[0]):
        usable = ~masks[n] & (clean[n] > floor) & (planted[n] > floor)
        shifts.append((planted[n] - clean[n])[usable].median() if bool(usable.any()) else clean.new_zeros(()))
    shift = torch.stack(shifts).to(clean.dtype)
    offset = shift.view(-1, *([1] * (clean.ndim - 1)))
    return {"shift": shift,
            "tone only": torch.where(masks, (planted - offset).clamp(max=0.0), clean),
            "level only": torch.where(masks, (clean + offset).clamp(min=-80.0), planted)}
