"""Gender folds (Becker's and any corpus') and speaker-ID splits by repetition."""

from functools import lru_cache
from pathlib import Path

import pytest

from lrp_utils.data import (AUDIOMNIST_FEMALE_SPEAKERS, GENDER_FOLDS, CorpusError, Recording, gender_folds,
                            gender_split, speaker_split)
from lrp_utils.data.splits import SPLITS, repetition_split


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


def fake_corpus(female: int, male: int, takes: int = 3):
    """Recordings (no files) of ``female`` + ``male`` speakers named like speechocean762's."""
    return [Recording(Path(f"S{s:04d}/{t}.flac"), None, f"{s:04d}", "female" if s < female else "male", t)
            for s in range(female + male) for t in range(takes)]


@pytest.mark.parametrize("female, male, folds", [(72, 56, 4), (5, 9, 4), (3, 3, 3), (10, 10, 5)])
def test_gender_folds_disjoint_balanced_rotating(female, male, folds):
    recordings = fake_corpus(female, male)
    result = gender_folds(recordings, folds=folds, seed=3)
    per_group = min(female, male) // folds
    assert len(result) == folds
    tests = []
    for fold in result:
        speakers = {name: {r.speaker for r in split} for name, split in fold.items()}
        assert not (speakers["train"] & speakers["validation"] or speakers["train"] & speakers["test"]
                    or speakers["validation"] & speakers["test"])
        for name, split in fold.items():
            genders = [r.gender for r in {r.speaker: r for r in split}.values()]
            assert genders.count("female") == genders.count("male")  # balanced speakers ...
            assert len(split) == 3 * len(genders)  # ... with all their recordings
        assert [len(speakers[n]) for n in SPLITS] == [2 * per_group * (folds - 2), 2 * per_group, 2 * per_group]
        tests.append(speakers["test"])
    used = set().union(*tests)
    assert all(not (a & b) for i, a in enumerate(tests) for b in tests[i + 1:])  # each speaker tested once
    assert len(used) == 2 * per_group * folds  # the surplus is left out of every split
    for i, fold in enumerate(result):  # validation of fold i is the test group of fold i-1
        assert {r.speaker for r in fold["validation"]} == tests[(i - 1) % folds]


def test_gender_folds_deterministic_for_a_seed():
    recordings = fake_corpus(72, 56)
    assert gender_folds(recordings, seed=0) == gender_folds(list(reversed(recordings)), seed=0)
    assert gender_folds(recordings, seed=0)[0]["test"] != gender_folds(recordings, seed=1)[0]["test"]


def test_gender_folds_are_beckers_on_audiomnist_ids():
    recordings = fake_audiomnist(1)
    result = gender_folds(recordings, seed=123)  # the seed does not matter for AudioMNIST
    for fold, expected in enumerate(GENDER_FOLDS):
        for name, ids in zip(SPLITS, expected):
            assert {r.speaker for r in result[fold][name]} == {f"{i:02d}" for i in ids}
        assert result[fold] == gender_split(recordings, fold)
    # other fold counts on AudioMNIST ids use the general rule over all 60 speakers (12 per gender)
    assert len({r.speaker for r in gender_folds(recordings, folds=3)[0]["test"]}) == 8


def test_gender_folds_too_few_speakers_give_the_counts():
    with pytest.raises(CorpusError, match="need at least 4 female and 4 male .* has 3 female and 40 male"):
        gender_folds(fake_corpus(3, 40))
    with pytest.raises(ValueError, match="folds=2"):
        gender_folds(fake_corpus(10, 10), folds=2)
