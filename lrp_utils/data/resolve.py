"""A profile's corpus and the train/validation/test datasets each model trains on.

- :func:`resolve_corpus` finds (or generates) the corpus a profile names and says which kind it
  turned out to be (``auto`` picks one at run time);
- :func:`corpus_version` identifies a generated corpus' version, so that models trained on an
  older synthetic corpus are never reused;
- :func:`profile_datasets` builds the datasets of the gender AlexNet (``alexnet``) or the
  speaker ResNet (``resnet``) from the profile's sizes.

The profile is taken as an argument, never imported, so that the data layer depends on nothing
above it; the two architecture names appear here only because the profile's fields carry them
(``alexnet_train_limit``, ``resnet_frames``, ...), see :data:`TASKS`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch.utils.data import Dataset, Subset

from lrp_utils.data.corpus import ensure_corpus
from lrp_utils.data.datasets import gender_datasets, speaker_datasets
from lrp_utils.seeding import derive_seed

if TYPE_CHECKING:  # the profile is passed in; importing it would pull in the model layer
    from lrp_utils.profiles import Profile

#: The record :func:`lrp_utils.data.synthesize_corpus` writes beside a generated corpus.
SYNTHESIS_RECORD = "synthesis.json"

#: The task each architecture is trained for, keyed by the prefix of its profile fields.
TASKS = {"alexnet": "gender", "resnet": "speaker"}

#: Corpus kinds whose speakers include women, so that the gender task can train on them.
GENDER_KINDS = ("audiomnist", "synthetic")
#: ``speaker_datasets`` loader of each corpus kind.
SPEAKER_LOADERS = {"audiomnist": "audiomnist", "synthetic": "audiomnist", "fsdd": "fsdd"}


class ResolvedCorpus(NamedTuple):
    """A corpus found on disk: its ``root`` and its ``kind`` (``audiomnist``, ``synthetic`` or
    ``fsdd``; never ``auto``)."""

    root: Path
    kind: str

    @property
    def version(self) -> str | None:
        """:func:`corpus_version` of :attr:`root`."""
        return corpus_version(self.root)


def task_of(architecture: str) -> str:
    """The task ``architecture`` is trained for (:data:`TASKS`); an unknown name is a
    ValueError listing the valid ones."""
    if architecture not in TASKS:
        raise ValueError(f"unknown architecture {architecture!r}; valid: {', '.join(TASKS)} "
                         f"(alexnet: gender, resnet: speaker ID)")
    return TASKS[architecture]


def _resolved_kind(requested: str, root: Path) -> str:
    """The kind of the corpus ``ensure_corpus(requested)`` returned at ``root``.

    ``auto`` takes AudioMNIST when present, else generates the synthetic corpus, which is the only
    one carrying a synthesis record.
    """
    if requested != "auto":
        return requested
    return "synthetic" if (root / SYNTHESIS_RECORD).is_file() else "audiomnist"


def resolve_corpus(profile: Profile, progress: bool = True) -> ResolvedCorpus:
    """Make sure ``profile``'s corpus exists (generating the synthetic one if needed) and return
    where it is and what it turned out to be.

    Raises
    ------
    CorpusError
        If the corpus is missing or incomplete (saying how to get it).
    ValueError
        If the profile refuses the resolved kind (``paper`` on the synthetic corpus).
    """
    root = Path(ensure_corpus(profile.corpus, data_dir=profile.data_dir,
                              repetitions=profile.synthetic_repetitions, seed=profile.seed,
                              progress=progress))
    kind = _resolved_kind(profile.corpus, root)
    profile.check_corpus(kind)
    return ResolvedCorpus(root, kind)


def corpus_version(root: str | Path) -> str | None:
    """A short hash of a generated corpus' synthesis record (its generator version, parameters and
    speaker table), so that a regenerated synthetic corpus never reuses models trained on an older
    one; ``None`` for a recorded corpus (AudioMNIST and FSDD are fixed)."""
    record = Path(root) / SYNTHESIS_RECORD
    if not record.is_file():
        return None
    return hashlib.sha256(record.read_bytes()).hexdigest()[:12]


def _limit(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    """A seeded random subset of ``limit`` items (all of them when ``limit`` is None or larger)."""
    if limit is None or limit >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(
        derive_seed(seed, "train_limit")))
    return Subset(dataset, sorted(order[:limit].tolist()))


def profile_datasets(profile: Profile, architecture: str, corpus: ResolvedCorpus | None = None,
                     progress: bool = True,
                     cache_dir: str | Path | None = None) -> dict[str, Dataset]:
    """The train/validation/test datasets ``architecture`` trains on under ``profile``.

    ``alexnet``: Becker's gender fold ``profile.fold`` (training split cut to
    ``alexnet_train_limit`` by a seeded random subset); ``resnet``: speaker ID split by
    repetition, at most ``resnet_limit_per_split`` utterances per split.  ``corpus`` is what
    :func:`resolve_corpus` returned (resolved here when ``None``).  Features are cached in
    ``cache_dir`` (default: ``artifacts/cache``).
    """
    if isinstance(profile, str):
        raise TypeError(f"profile_datasets: pass a Profile, not the name {profile!r} "
                        f"(lrp_utils.profiles.get_profile({profile!r}) makes one)")
    task = task_of(architecture)
    root, kind = corpus or resolve_corpus(profile, progress)
    if task == "gender":
        if kind not in GENDER_KINDS:
            raise ValueError(f"the gender AlexNet cannot train on the {kind!r} corpus (it has no "
                             f"female speakers); use corpus={' or '.join(map(repr, GENDER_KINDS))} "
                             f"or 'auto'")
        splits = gender_datasets(root, fold=profile.fold, seed=profile.seed, cache_dir=cache_dir,
                                 progress=progress)
        splits["train"] = _limit(splits["train"], profile.alexnet_train_limit, profile.seed)
        return splits
    # Limiting inside the data layer also spares computing the unused filterbanks.
    splits, _ = speaker_datasets(root, profile.resnet_frames, seed=profile.seed,
                                 loader=SPEAKER_LOADERS[kind],
                                 limit_per_split=profile.resnet_limit_per_split,
                                 cache_dir=cache_dir, progress=progress)
    return splits
