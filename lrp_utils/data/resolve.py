"""A profile's corpus and the train/validation/test datasets each model trains on.

- :func:`ensure_corpus` finds the corpus a profile names (a kind or a path), generating the
  synthetic one when that is what it names or what ``auto`` falls back to;
- :func:`resolve_corpus` does that for a profile and says which kind the corpus turned out to be;
- :func:`corpus_version` identifies the data of a corpus whose content can change (a generated
  corpus, a manifest, a prepared speechocean762 copy), so that models trained on other data are
  never reused;
- :func:`profile_datasets` builds the datasets of the gender AlexNet (``alexnet``) or the
  speaker ResNet (``resnet``) from the profile's sizes.

The profile is taken as an argument, never imported, so that the data layer depends on nothing
above it; the two architecture names appear here only because the profile's fields carry them
(``alexnet_train_limit``, ``resnet_frames``, ...), see :data:`TASKS`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch.utils.data import Dataset

from lrp_utils.data.corpus import (FSDD_SHARED, HOW_TO_GET_AUDIOMNIST, CorpusReport, audiomnist_data_dir,
                                   verify_audiomnist)
from lrp_utils.data.datasets import FeatureDataset, gender_datasets, speaker_datasets
from lrp_utils.data.errors import CorpusError
from lrp_utils.data.sources import corpus_kind
from lrp_utils.data.speechocean import HOW_TO_GET as HOW_TO_GET_SPEECHOCEAN
from lrp_utils.data.speechocean import METADATA_NAME, is_prepared_layout
from lrp_utils.data.synthetic import synthesize_corpus
from lrp_utils.io import ARTIFACTS_DIR, REPO_ROOT
from lrp_utils.seeding import derive_seed

if TYPE_CHECKING:  # the profile is passed in; importing it would pull in the model layer
    from lrp_utils.profiles import Profile

#: The record :func:`lrp_utils.data.synthesize_corpus` writes beside a generated corpus.
SYNTHESIS_RECORD = "synthesis.json"

#: The corpora a profile can name (besides a path): ``auto`` picks one at run time.
CORPUS_NAMES = ("auto", "audiomnist", "speechocean762", "synthetic", "fsdd")

#: Where ``make data`` puts the downloadable corpora (a profile's ``data_dir`` overrides it).
DATA_DIR = REPO_ROOT / "data"
AUDIOMNIST_HOME = DATA_DIR / "audiomnist"
SPEECHOCEAN_HOME = DATA_DIR / "speechocean762"
#: The read-only copy of speechocean762's adults beside the repository (tests, CI, our book).
SPEECHOCEAN_SHARED = REPO_ROOT.parent / "shared" / "datasets" / "speechocean762-adults"

#: The task each architecture is trained for, keyed by the prefix of its profile fields.
TASKS = {"alexnet": "gender", "resnet": "speaker"}

#: What a corpus can turn out to be (:attr:`ResolvedCorpus.kind`).
CORPUS_KINDS = ("audiomnist", "synthetic", "speechocean762", "fsdd", "manifest")
#: Corpus kinds that can hold speakers of both genders (a manifest needs its ``gender`` column).
GENDER_KINDS = ("audiomnist", "synthetic", "speechocean762", "manifest")


class ResolvedCorpus(NamedTuple):
    """A corpus found on disk: its ``root`` (a folder, or a manifest CSV) and its ``kind`` (one of
    :data:`CORPUS_KINDS`; never ``auto``)."""

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


def synthetic_corpus_dir(repetitions: int = 50, seed: int = 0) -> Path:
    """Where :func:`ensure_corpus` keeps the synthetic corpus: ``artifacts/data/synthetic-r<reps>-s<seed>``."""
    return ARTIFACTS_DIR / "data" / f"synthetic-r{repetitions}-s{seed}"


def _audiomnist(data_dir: Path | None, report: CorpusReport | None = None) -> Path:
    """The complete AudioMNIST at ``data_dir`` (default ``data/audiomnist``); ``report`` is its
    :func:`verify_audiomnist` report when the caller has it already."""
    root = data_dir if data_dir is not None else AUDIOMNIST_HOME
    report = report or verify_audiomnist(root, speakers=60, repetitions=50)
    if not report.ok:
        raise CorpusError(f"{report}\nAudioMNIST at {root} is not usable; {HOW_TO_GET_AUDIOMNIST}.")
    return audiomnist_data_dir(root).parent


def _first_holding(kind: str, roots: tuple[Path, ...]) -> Path | None:
    """The first of ``roots`` that holds a corpus of ``kind`` (``None`` if none does)."""
    return next((root for root in roots if root.exists() and corpus_kind(root) == kind), None)


def _recorded(kind: str, data_dir: Path | None, homes: tuple[Path, ...], how_to_get: str) -> Path:
    """The corpus of ``kind`` at ``data_dir`` (when given), else in the first of ``homes`` holding one."""
    root = _first_holding(kind, (data_dir,) if data_dir is not None else homes)
    if root is None:
        where = data_dir if data_dir is not None else " or ".join(map(str, homes))
        raise CorpusError(f"no {kind} corpus at {where}; {how_to_get}.")
    return root


def _source(path: Path) -> Path:
    """A corpus folder or manifest the user named; :func:`corpus_kind` says what is wrong with it."""
    corpus_kind(path)
    return path


def ensure_corpus(corpus: str, data_dir: str | os.PathLike | None = None, repetitions: int = 50,
                  seed: int = 0, progress: bool = True) -> Path:
    """The root of a usable corpus, generating the synthetic one if that is what is asked for.

    ``corpus`` is a name of :data:`CORPUS_NAMES` or the path of a corpus folder or manifest CSV
    (any source of :func:`~lrp_utils.data.load_corpus`):

    - ``"audiomnist"``: the complete AudioMNIST (60 speakers x 500 files) at ``data_dir``, default
      ``data/audiomnist``;
    - ``"speechocean762"``: ``data_dir``, else ``data/speechocean762``, else the shared copy of the
      adults beside the repository (``../shared/datasets/speechocean762-adults``);
    - ``"synthetic"``: generated into :func:`synthetic_corpus_dir` (``data_dir`` overrides it) once,
      60 speakers (12 female), ``repetitions`` per digit, ``seed``; a corpus in the default location
      made by an older model version is regenerated;
    - ``"fsdd"``: ``data_dir`` or the shared copy ``../shared/datasets/fsdd``;
    - ``"auto"``: ``data_dir`` when given (any kind of source); else AudioMNIST under ``data/`` if it
      is complete, else speechocean762 (under ``data/``, else the shared copy), else the synthetic
      corpus -- real voices wherever they are available;
    - a path: that corpus (``data_dir`` must then be unset).

    Raises
    ------
    CorpusError
        If the requested corpus is missing, incomplete or not a corpus, saying how to get one.
    """
    folder = Path(data_dir) if data_dir is not None else None
    if corpus == "synthetic":
        dest = folder if folder is not None else synthetic_corpus_dir(repetitions, seed)
        return synthesize_corpus(dest, repetitions=repetitions, seed=seed, progress=progress,
                                 replace=folder is None)
    if corpus == "audiomnist":
        return _audiomnist(folder)
    if corpus == "speechocean762":
        return _recorded("speechocean762", folder, (SPEECHOCEAN_HOME, SPEECHOCEAN_SHARED), HOW_TO_GET_SPEECHOCEAN)
    if corpus == "fsdd":
        return _recorded("fsdd", folder, (FSDD_SHARED,), "get FSDD with `python -m data_scripts.fsdd --dest DIR`")
    if corpus == "auto":
        if folder is not None:
            return _source(folder)
        report = verify_audiomnist(AUDIOMNIST_HOME, speakers=60, repetitions=50)
        if report.ok:
            return _audiomnist(None, report)
        return (_first_holding("speechocean762", (SPEECHOCEAN_HOME, SPEECHOCEAN_SHARED))
                or ensure_corpus("synthetic", None, repetitions, seed, progress))
    if folder is not None:
        raise ValueError(f"corpus={corpus!r} is a path and data_dir={str(folder)!r} another; give the "
                         "corpus once (corpus='auto' with data_dir, or the path as corpus)")
    return _source(Path(corpus))


def _resolved_kind(root: Path) -> str:
    """The kind of the corpus at ``root``: a generated corpus carries a synthesis record (in
    AudioMNIST's layout), every other kind is recognised by :func:`corpus_kind`."""
    if root.is_dir() and (root / SYNTHESIS_RECORD).is_file():
        return "synthetic"
    return corpus_kind(root)


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
    kind = _resolved_kind(root)
    profile.check_corpus(kind)
    return ResolvedCorpus(root, kind)


def _content_record(root: Path) -> Path | None:
    """The file whose bytes define the corpus at ``root``, where its content can change."""
    if root.is_file():  # a manifest, or speechocean762's metadata.csv
        return root
    if (root / SYNTHESIS_RECORD).is_file():
        return root / SYNTHESIS_RECORD
    return root / METADATA_NAME if is_prepared_layout(root) else None


def corpus_version(root: str | Path) -> str | None:
    """A short hash of the file that defines a corpus whose content can change -- a generated
    corpus' synthesis record (generator version, parameters, speaker table), a manifest CSV, a
    prepared speechocean762 copy's ``metadata.csv`` -- so that models trained on other data are
    never reused; ``None`` for a corpus that is fixed (AudioMNIST, FSDD, speechocean762's
    original layout). Editing the audio behind an unchanged manifest is not detected."""
    record = _content_record(Path(root))
    return None if record is None else hashlib.sha256(record.read_bytes()).hexdigest()[:12]


def _limit(dataset: FeatureDataset, limit: int | None, seed: int, split: str) -> FeatureDataset:
    """A random subset of ``limit`` items of the ``split`` split (in their original order), seeded by
    ``seed`` and the split's name (all of them when ``limit`` is None or larger)."""
    if limit is None or limit >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(
        derive_seed(seed, f"{split}_limit")))
    return dataset.subset(sorted(order[:limit].tolist()))


def profile_datasets(profile: Profile, architecture: str, corpus: ResolvedCorpus | None = None,
                     progress: bool = True,
                     cache_dir: str | Path | None = None) -> dict[str, Dataset]:
    """The train/validation/test datasets ``architecture`` trains on under ``profile``.

    ``alexnet``: gender fold ``profile.fold`` (:func:`~lrp_utils.data.gender_folds`: Becker's on
    AudioMNIST), the training split cut to ``alexnet_train_limit`` and the validation and test
    splits to ``alexnet_eval_limit`` by seeded random subsets;
    ``resnet``: speaker ID split by repetition, at most ``resnet_limit_per_split`` utterances per
    split. Recordings are high-passed at ``highpass_hz`` when it is set, and the sizes are the
    profile's for the corpus' kind (``Profile.for_corpus``). ``corpus`` is what
    :func:`resolve_corpus` returned (resolved here when ``None``). Features are cached in
    ``cache_dir`` (default: ``artifacts/cache``).
    """
    if isinstance(profile, str):
        raise TypeError(f"profile_datasets: pass a Profile, not the name {profile!r} "
                        f"(lrp_utils.profiles.get_profile({profile!r}) makes one)")
    task = task_of(architecture)
    root, kind = corpus or resolve_corpus(profile, progress)
    profile = profile.for_corpus(kind)
    if task == "gender":
        if kind not in GENDER_KINDS:
            raise ValueError(f"the gender AlexNet cannot train on the {kind!r} corpus (it has no "
                             f"female speakers); use corpus='auto', 'audiomnist', 'speechocean762', "
                             f"'synthetic' or a manifest with a gender column")
        splits = gender_datasets(root, fold=profile.fold, seed=profile.seed, cache_dir=cache_dir,
                                 progress=progress, highpass_hz=profile.highpass_hz)
        for split, limit in (("train", profile.alexnet_train_limit), ("validation", profile.alexnet_eval_limit),
                             ("test", profile.alexnet_eval_limit)):
            splits[split] = _limit(splits[split], limit, profile.seed, split)
        return splits
    # Limiting inside the data layer also spares computing the unused filterbanks.
    splits, _ = speaker_datasets(root, profile.resnet_frames, seed=profile.seed,
                                 limit_per_split=profile.resnet_limit_per_split,
                                 cache_dir=cache_dir, progress=progress, highpass_hz=profile.highpass_hz,
                                 train_windows=profile.resnet_train_windows)
    return splits
