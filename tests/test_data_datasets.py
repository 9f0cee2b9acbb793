"""FeatureDataset, gender_datasets and speaker_datasets on generated corpora (and FSDD)."""

import numpy as np
import pytest
import torch

from lrp_utils.data import FeatureDataset, balanced_subset, gender_datasets, load_audiomnist, speaker_datasets
from lrp_utils.data.datasets import split_windows


def test_gender_datasets_on_synthetic_fold(data_synthetic_60, tmp_path):
    datasets = gender_datasets(data_synthetic_60, fold=1, seed=0, cache_dir=tmp_path, limit_per_split=8,
                               progress=False, workers=1)
    assert {k: len(v) for k, v in datasets.items()} == {"train": 8, "validation": 8, "test": 8}
    x, y = datasets["train"][0]
    assert x.shape == (1, 227, 227) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert -80.0 <= float(x.min()) and float(x.max()) == 0.0
    for name, dataset in datasets.items():
        labels = dataset.labels.tolist()
        assert labels.count(1) == labels.count(0) == 4  # balanced
        assert all(label == (r.gender == "female") for label, r in zip(labels, dataset.recordings))
    test_speakers = {r.speaker for r in datasets["test"].recordings}
    assert test_speakers <= {"36", "47", "56", "02", "44", "50"}  # Becker's fold 1 test speakers
    full = gender_datasets(data_synthetic_60, fold=1, cache_dir=tmp_path, progress=False, workers=1)
    assert [len(full[n]) for n in ("train", "validation", "test")] == [120, 60, 60]  # 1 repetition


def test_speaker_datasets_labels_and_frames(data_synthetic_small, tmp_path):
    datasets, names = speaker_datasets(data_synthetic_small, frames=40, cache_dir=tmp_path, progress=False,
                                       workers=1)
    assert names == ["01", "02", "03", "04"]
    assert {k: len(v) for k, v in datasets.items()} == {"train": 120, "validation": 40, "test": 40}
    x, y = datasets["train"][0]
    assert x.shape == (1, 64, 40) and 0 <= int(y) < 4
    for dataset in datasets.values():
        assert all(names[label] == r.speaker for label, r in zip(dataset.labels, dataset.recordings))
    reps = {name: {r.repetition for r in d.recordings} for name, d in datasets.items()}
    assert not (reps["train"] & reps["validation"] or reps["train"] & reps["test"] or reps["validation"] & reps["test"])


def test_split_windows_cuts_consecutive_windows_and_drops_padding():
    features = np.arange(2 * 2 * 6, dtype=np.float32).reshape(2, 2, 6) + 1
    features[1, :, 3:] = 0  # the second recording ends in padding: window 2 is half padding (kept), window 3 all (left out)
    recordings = ["a", "b"]
    windows, sources = split_windows(features, recordings, frames=2)
    assert sources == ["a", "a", "a", "b", "b"]
    np.testing.assert_array_equal(windows[1], features[0, :, 2:4])
    np.testing.assert_array_equal(windows[3], features[1, :, 0:2])
    with pytest.raises(ValueError, match="do not divide"):
        split_windows(features, recordings, frames=4)


def test_speaker_datasets_train_windows(data_synthetic_small, tmp_path):
    one, _ = speaker_datasets(data_synthetic_small, frames=40, cache_dir=tmp_path, progress=False, workers=1)
    two, _ = speaker_datasets(data_synthetic_small, frames=20, cache_dir=tmp_path, progress=False, workers=1,
                              train_windows=2)
    assert len(one["train"]) < len(two["train"]) <= 2 * len(one["train"])
    assert len(two["validation"]) == len(one["validation"])
    # the windows of a recording are the two halves of its centred 40-frame filterbank
    first = two["train"].recordings[0]
    assert two["train"].recordings[1] == first
    whole = one["train"][one["train"].recordings.index(first)][0]
    np.testing.assert_array_equal(two["train"][0][0], whole[..., :20])
    np.testing.assert_array_equal(two["train"][1][0], whole[..., 20:])
    with pytest.raises(ValueError, match="train_windows"):
        speaker_datasets(data_synthetic_small, frames=20, cache_dir=tmp_path, progress=False, train_windows=0)


def test_speaker_datasets_on_fsdd(data_fsdd_root, tmp_path):
    datasets, names = speaker_datasets(data_fsdd_root, frames=50, loader="fsdd", cache_dir=tmp_path,
                                       limit_per_split=12, progress=False, workers=1)
    assert names == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert [len(d) for d in datasets.values()] == [12, 12, 12]
    assert sorted(np.bincount(datasets["test"].labels, minlength=6)) == [2] * 6  # spread over speakers
    with pytest.raises(ValueError, match="loader='timit'"):
        speaker_datasets(data_fsdd_root, frames=50, loader="timit")


def test_feature_dataset_and_subset(data_synthetic_small):
    with pytest.raises(ValueError, match="must agree"):
        FeatureDataset(np.zeros((3, 2, 2)), [0, 1])
    dataset = FeatureDataset(np.arange(12, dtype=np.float64).reshape(3, 2, 2), [0, 1, 1])
    x, y = dataset[2]
    assert x.dtype == torch.float32 and x.shape == (1, 2, 2) and float(x[0, 1, 1]) == 11.0 and int(y) == 1
    part = dataset.subset([2, 0])
    assert len(part) == 2 and part.labels.tolist() == [1, 0] and part.recordings == []
    assert float(part[0][0][0, 1, 1]) == 11.0 and float(part[1][0][0, 0, 0]) == 0.0
    recordings = load_audiomnist(data_synthetic_small)
    named = FeatureDataset(np.zeros((3, 2, 2)), [0, 1, 1], recordings[:3]).subset([1])
    assert named.recordings == [recordings[1]]
    a = balanced_subset(recordings, 10, seed=0, by="gender")
    assert a == balanced_subset(recordings, 10, seed=0, by="gender") != balanced_subset(recordings, 10, 1, "gender")
    assert sum(r.gender == "female" for r in a) == 5


def test_highpass_passes_through_and_gets_its_own_cache_entry(data_synthetic_small, data_synthetic_60, tmp_path):
    from lrp_utils.data import BeckerFeature, FbankFeature, cached_features, load_audiomnist
    from lrp_utils.data.cache import cache_key

    recordings = load_audiomnist(data_synthetic_small)[:6]
    plain = np.array(cached_features(recordings, BeckerFeature(seed=0), tmp_path, progress=False, workers=1))
    cleaned = np.array(cached_features(recordings, BeckerFeature(seed=0, highpass_hz=100.0), tmp_path,
                                       progress=False, workers=1))
    assert len(list(tmp_path.glob("becker-*.npy"))) == 2  # differing only in highpass_hz: two entries
    np.testing.assert_array_equal(cleaned[2], BeckerFeature(seed=0, highpass_hz=100.0)(recordings[2]))
    assert not np.array_equal(plain, cleaned)
    # highpass_hz=None leaves the key as it was before the field existed (caches stay valid)
    assert cache_key(recordings, BeckerFeature(seed=0))["params"] == {"seed": 0, "name": "becker"}

    datasets = gender_datasets(data_synthetic_60, fold=0, seed=0, cache_dir=tmp_path / "g", limit_per_split=2,
                               progress=False, workers=1, highpass_hz=100.0)
    first = datasets["train"]
    np.testing.assert_array_equal(first.features[0], BeckerFeature(seed=0, highpass_hz=100.0)(first.recordings[0]))
    speakers, _ = speaker_datasets(data_synthetic_small, frames=40, cache_dir=tmp_path / "s", limit_per_split=4,
                                   progress=False, workers=1, highpass_hz=100.0)
    test = speakers["test"]
    np.testing.assert_array_equal(test.features[1], FbankFeature(frames=40, highpass_hz=100.0)(test.recordings[1]))
