"""Train/validation/test splits: Becker's gender folds and speaker-ID splits by repetition.

Gender (Becker et al. 2018, sec. 4; ``audiomnist/train/splits.py`` of their repository): four folds
over the 12 female speakers and 12 of the 48 male speakers of AudioMNIST; each fold trains on 12
speakers and validates and tests on 6 others, half of them female in every split (6000 / 3000 /
3000 recordings on the full corpus). The other 36 male speakers are not used, as in Becker's folds.
The ids are AudioMNIST's, which the synthetic corpus shares (it marks the same ids as female).

Speaker ID: every speaker appears in every split; recordings are split by their repetition index,
so no recording crosses splits and the splits differ only in the take.
"""

from __future__ import annotations

from collections.abc import Sequence

from lrp_utils.data.corpus import Recording
from lrp_utils.data.errors import CorpusError

#: Becker's gender folds: (train, validation, test) speaker ids per fold.
GENDER_FOLDS: tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...] = (
    ((36, 47, 56, 26, 12, 57, 2, 44, 50, 25, 37, 45), (43, 28, 52, 48, 53, 41), (58, 59, 60, 7, 23, 38)),
    ((26, 12, 57, 43, 28, 52, 25, 37, 45, 48, 53, 41), (58, 59, 60, 7, 23, 38), (36, 47, 56, 2, 44, 50)),
    ((43, 28, 52, 58, 59, 60, 48, 53, 41, 7, 23, 38), (36, 47, 56, 2, 44, 50), (26, 12, 57, 25, 37, 45)),
    ((58, 59, 60, 36, 47, 56, 7, 23, 38, 2, 44, 50), (26, 12, 57, 25, 37, 45), (43, 28, 52, 48, 53, 41)),
)

SPLITS = ("train", "validation", "test")


def gender_split(recordings: Sequence[Recording], fold: int = 0) -> dict[str, list[Recording]]:
    """Becker's gender split ``fold`` (0-3) of AudioMNIST-format recordings, keyed by :data:`SPLITS`.

    Raises
    ------
    CorpusError
        If a speaker of the fold is missing from ``recordings`` or has the wrong gender balance
        (e.g. a corpus that is not AudioMNIST-format, such as FSDD).
    """
    if not 0 <= fold < len(GENDER_FOLDS):
        raise ValueError(f"fold={fold}: Becker's gender folds are numbered 0..{len(GENDER_FOLDS) - 1}.")
    by_speaker: dict[str, list[Recording]] = {}
    for recording in recordings:
        by_speaker.setdefault(recording.speaker, []).append(recording)
    result = {}
    for name, ids in zip(SPLITS, GENDER_FOLDS[fold]):
        speakers = [f"{i:02d}" for i in ids]
        missing = [s for s in speakers if s not in by_speaker]
        if missing:
            raise CorpusError(f"gender fold {fold}: speakers {missing} of the {name} split are not in the corpus; "
                              "Becker's folds need AudioMNIST's 60 speaker ids (real or synthetic, 60 speakers).")
        females = sum(by_speaker[s][0].gender == "female" for s in speakers)
        if 2 * females != len(speakers):
            raise CorpusError(f"gender fold {fold}: the {name} split has {females} female speakers of "
                              f"{len(speakers)}; the meta file's genders do not match AudioMNIST's.")
        result[name] = sorted((r for s in speakers for r in by_speaker[s]), key=Recording.sort_key)
    return result


def repetition_split(repetitions: Sequence[int], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                     ) -> dict[str, list[int]]:
    """Split sorted distinct repetition indices into consecutive blocks of the given ``fractions``.

    Validation and test get ``round(fraction * n)`` repetitions, at least one each when their fraction
    is positive; train gets the rest. With 50 repetitions and the default fractions: train 0-39,
    validation 40-44, test 45-49; with 5: train 0-2, validation 3, test 4.
    """
    reps = sorted(set(repetitions))
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions={fractions} must be three non-negative numbers summing to 1.")
    n_validation = max(1, round(fractions[1] * len(reps))) if fractions[1] > 0 else 0
    n_test = max(1, round(fractions[2] * len(reps))) if fractions[2] > 0 else 0
    n_train = len(reps) - n_validation - n_test
    if n_train < 1:
        raise ValueError(f"{len(reps)} repetitions are too few to split by fractions={fractions}.")
    return {"train": reps[:n_train], "validation": reps[n_train : n_train + n_validation],
            "test": reps[n_train + n_validation :]}


def speaker_split(recordings: Sequence[Recording], train_reps: Sequence[int] | None = None,
                  validation_reps: Sequence[int] | None = None, test_reps: Sequence[int] | None = None,
                  fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[Recording]]:
    """Speaker-ID split by repetition index across all speakers, keyed by :data:`SPLITS`.

    Give the three lists of repetition indices explicitly, or none of them to use
    :func:`repetition_split` with ``fractions``. The lists must not overlap.
    """
    given = [train_reps, validation_reps, test_reps]
    if all(g is None for g in given):
        reps = repetition_split([r.repetition for r in recordings], fractions)
    elif any(g is None for g in given):
        raise ValueError("speaker_split: give all of train_reps, validation_reps and test_reps, or none.")
    else:
        reps = dict(zip(SPLITS, (sorted(set(g)) for g in given)))
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1 :]:
                if set(reps[a]) & set(reps[b]):
                    raise ValueError(f"speaker_split: repetitions {sorted(set(reps[a]) & set(reps[b]))} "
                                     f"are in both {a} and {b}.")
    lookup = {rep: name for name, values in reps.items() for rep in values}
    result: dict[str, list[Recording]] = {name: [] for name in SPLITS}
    for recording in recordings:
        name = lookup.get(recording.repetition)
        if name is not None:
            result[name].append(recording)
    return {name: sorted(values, key=Recording.sort_key) for name, values in result.items()}
