"""Becker's gender folds and speaker-ID splits by repetition."""

from functools import lru_cache
from pathlib import Path

import pytest

from lrp_utils.data import AUDIOMNIST_FEMALE_SPEAKERS, GENDER_FOLDS, CorpusError, Recording, gender_split, speaker_split
from lrp_utils.data.splits import repetition_split


@lru_cache
def fake_audiomnist(repetitions=50):
    """Recordings (no files) of the full AudioMNIST: 60 speakers, 10 digits, ``repetitions`` each."""
    female = {f"{s:02d}" for s in AUDIOMNIST_FEMALE_SPEAKERS}
    return tuple(Recording(Path(f"data/{s:02d}/{d}_{s:02d}_{r}.wav"), d, f"{s:02d}",
                      "female" if f"{s:02d}" in female else "male", r)
            for s in range(1, 61) for d in range(10) for r in range(repetitions))


@pytest.mark.parametrize("fold", range(4))
def test_gender_fold_sizes_balance_and_disjointness(fold):
    splits = gender_split(fake_audiomnist(), fold)
    assert {k: len(v) for k, v in splits.items()} == {"train": 6000, "validation": 3000, "test": 3000}
    speakers = {}
    for name, recordings in splits.items():
        genders = [r.gender for r in recordings]
        assert genders.count("female") == genders.count("male")  # half female in every split
        speakers[name] = {r.speaker for r in recordings}
    assert [len(speakers[n]) for n in ("train", "validation", "test")] == [12, 6, 6]
    assert not (speakers["train"] & speakers["validation"] or speakers["train"] & speakers["test"]
                or speakers["validation"] & speakers["test"])


def test_folds_use_all_women_and_rotate_test_sets():
    tests = [set(fold[2]) for fold in GENDER_FOLDS]
    assert set().union(*tests) == set(AUDIOMNIST_FEMALE_SPEAKERS) | {2, 7, 23, 25, 37, 38, 41, 44, 45, 48, 50, 53}
    assert all(len(a & b) == 0 for i, a in enumerate(tests) for b in tests[i + 1:])  # each speaker tested once


def test_gender_split_rejects_other_corpora():
    fsdd_like = [Recording(Path(f"{d}_theo_{r}.wav"), d, "theo", "male", r) for d in range(10) for r in range(50)]
    with pytest.raises(CorpusError, match="not in the corpus"):
        gender_split(fsdd_like)
    wrong_gender = [Recording(r.path, r.digit, r.speaker, "male", r.repetition) for r in fake_audiomnist(1)]
    with pytest.raises(CorpusError, match="0 female"):
        gender_split(wrong_gender)
    with pytest.raises(ValueError, match="fold=4"):
        gender_split(fake_audiomnist(1), fold=4)


def test_speaker_split_by_repetition():
    recordings = fake_audiomnist(50)
    splits = speaker_split(recordings)
    assert {k: len(v) for k, v in splits.items()} == {"train": 24000, "validation": 3000, "test": 3000}
    keys = {name: {r.path for r in split} for name, split in splits.items()}
    assert sum(map(len, keys.values())) == len(set().union(*keys.values())) == len(recordings)  # no crossing
    for name, split in splits.items():
        assert {r.speaker for r in split} == {f"{s:02d}" for s in range(1, 61)}  # every speaker everywhere
    assert {r.repetition for r in splits["test"]} == set(range(45, 50))
    explicit = speaker_split(recordings, train_reps=[0, 1], validation_reps=[2], test_reps=[3])
    assert [len(explicit[n]) for n in ("train", "validation", "test")] == [1200, 600, 600]
    with pytest.raises(ValueError, match="both train and test"):
        speaker_split(recordings, train_reps=[0, 1], validation_reps=[2], test_reps=[1])
    with pytest.raises(ValueError, match="or none"):
        speaker_split(recordings, train_reps=[0])


def test_repetition_split_fractions():
    assert repetition_split(range(10), (0.6, 0.2, 0.2)) == {"train": [0, 1, 2, 3, 4, 5], "validation": [6, 7],
                                                            "test": [8, 9]}
    assert repetition_split(range(5)) == {"train": [0, 1, 2], "validation": [3], "test": [4]}
    with pytest.raises(ValueError, match="too few"):
        repetition_split(range(2))
    with pytest.raises(ValueError, match="summing to 1"):
        repetition_split(range(10), (0.5, 0.2, 0.2))
