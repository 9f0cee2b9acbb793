"""Corpora, features, splits and caches: everything the experiments eat.

- :mod:`~lrp_utils.data.audio`      -- :func:`read_wav`, :func:`write_wav`
- :mod:`~lrp_utils.data.synthetic`  -- the synthetic AudioMNIST-format corpus (source-filter model)
- :mod:`~lrp_utils.data.corpus`     -- :class:`Recording`, AudioMNIST-format and FSDD loaders, verification
- :mod:`~lrp_utils.data.features`   -- Becker spectrogram, Kaldi filterbank, optional :func:`highpass`
- :mod:`~lrp_utils.data.acoustics`  -- f0 and recording conditions per recording and speaker, :func:`separability`
- :mod:`~lrp_utils.data.manifest`   -- corpora described by a manifest CSV (:func:`read_manifest`)
- :mod:`~lrp_utils.data.speechocean` -- speechocean762, prepared or original layout (:func:`load_speechocean762`)
- :mod:`~lrp_utils.data.sources`    -- :func:`load_corpus`: any folder, manifest or recordings
- :mod:`~lrp_utils.data.splits`     -- gender folds for any corpus (Becker's on AudioMNIST), speaker-ID splits
- :mod:`~lrp_utils.data.cache`      -- feature caches under ``artifacts/cache``
- :mod:`~lrp_utils.data.datasets`   -- :class:`FeatureDataset`, :func:`gender_datasets`, :func:`speaker_datasets`
- :mod:`~lrp_utils.data.resolve`    -- finding a corpus (:func:`ensure_corpus`), a profile's corpus (:func:`resolve_corpus`) and datasets (:func:`profile_datasets`)
"""

from lrp_utils.data.acoustics import (
    fundamental_frequency,
    recording_acoustics,
    recording_conditions,
    separability,
    speaker_acoustics,
)
from lrp_utils.data.audio import read_wav, write_wav
from lrp_utils.data.cache import cached_features, corpus_fingerprint
from lrp_utils.data.corpus import (
    CorpusReport,
    Recording,
    load_audiomnist,
    load_fsdd,
    read_meta,
    verify_audiomnist,
    verify_fsdd,
)
from lrp_utils.data.datasets import FeatureDataset, GENDER_LABELS, balanced_subset, gender_datasets, speaker_datasets
from lrp_utils.data.errors import AudioFileError, CorpusError
from lrp_utils.data.features import (
    BeckerFeature,
    FbankFeature,
    amplitude_to_db,
    becker_offset,
    becker_spectrogram,
    fbank,
    highpass,
    random_offsets,
    resampled_length,
)
from lrp_utils.data.resolve import (
    CORPUS_NAMES,
    ResolvedCorpus,
    corpus_version,
    ensure_corpus,
    profile_datasets,
    resolve_corpus,
)
from lrp_utils.data.manifest import read_manifest
from lrp_utils.data.sources import corpus_kind, load_corpus
from lrp_utils.data.speechocean import load_speechocean762
from lrp_utils.data.splits import GENDER_FOLDS, gender_folds, gender_split, repetition_split, speaker_split
from lrp_utils.data.synthetic import AUDIOMNIST_FEMALE_SPEAKERS, synthesize_corpus

__all__ = [
    "fundamental_frequency", "highpass", "recording_acoustics", "recording_conditions", "separability",
    "speaker_acoustics",
    "corpus_kind", "gender_folds", "load_corpus", "load_speechocean762", "read_manifest",
    "CORPUS_NAMES", "ResolvedCorpus", "corpus_version", "profile_datasets", "resolve_corpus",
    "AUDIOMNIST_FEMALE_SPEAKERS", "AudioFileError", "BeckerFeature", "CorpusError", "CorpusReport",
    "FbankFeature", "FeatureDataset", "GENDER_FOLDS", "GENDER_LABELS", "Recording", "amplitude_to_db",
    "balanced_subset", "becker_offset", "becker_spectrogram", "cached_features", "corpus_fingerprint",
    "ensure_corpus", "fbank", "gender_datasets", "gender_split", "load_audiomnist", "load_fsdd",
    "random_offsets", "read_meta", "read_wav", "repetition_split", "resampled_length", "speaker_datasets",
    "speaker_split", "synthesize_corpus", "verify_audiomnist", "verify_fsdd", "write_wav",
]
