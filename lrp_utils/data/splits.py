"""Train/validation/test splits: gender folds for any corpus and speaker-ID splits by repetition.

Gender (Becker et al. 2018, sec. 4; ``audiomnist/train/splits.py`` of their repository): four folds
over the 12 female speakers and 12 of the 48 male speakers of AudioMNIST; each fold trains on 12
speakers and validates and tests on 6 others, half of them female in every split (6000 / 3000 /
3000 recordings on the full corpus). The other 36 male speakers are not used, as in Becker's folds.
The ids are AudioMNIST's, which the synthetic corpus shares (it marks the same ids as female).
:func:`gender_folds` builds folds of the same shape for any corpus with gendered speakers.

Speaker ID: every speaker appears in every split; recordings are split by their repetition index,
so no recording crosses splits and the splits differ only in the take.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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


def _speakers_by_gender(recordings: Sequence[Recording]) -> dict[str, list[str]]:
    """Sorted speaker ids of each gender; every recording must have a gender."""
    unknown = sorted({r.speaker for r in recordings if r.gender not in ("male", "female")})
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise CorpusError(f"gender folds: {len(unknown)} speaker(s) have no gender ({shown}); give every "
                          "speaker 'male' or 'female' (a manifest's gender column) or leave them out.")
    genders = {"female": set(), "male": set()}
    for recording in recordings:
        genders[recording.gender].add(recording.speaker)
    return {gender: sorted(speakers) for gender, speakers in genders.items()}


def _is_becker_corpus(recordings: Sequence[Recording]) -> bool:
    """Whether every speaker of Becker's folds is present under its AudioMNIST id."""
    becker_speakers = {f"{i:02d}" for split in GENDER_FOLDS[0] for i in split}  # fold 0 uses all 24
    return becker_speakers <= {r.speaker for r in recordings}


def gender_folds(recordings: Sequence[Recording], folds: int = 4, seed: int = 0) -> list[dict[str, list[Recording]]]:
    """Speaker-disjoint, gender-balanced train/validation/test splits of any corpus, one per fold.

    The rule, Becker's generalised (Becker et al. 2018, sec. 4): with ``n`` the number of speakers
    of the rarer gender, ``k = n // folds`` speakers of each gender are drawn for each of ``folds``
    groups (``numpy.random.default_rng(seed)`` shuffles each gender's sorted speaker ids; group
    ``g`` takes places ``g*k .. g*k+k-1``). Fold ``i`` tests on group ``i``, validates on group
    ``i-1`` (mod ``folds``) and trains on the other groups, so each split has as many female as
    male speakers, no speaker is in two splits of a fold, and each group is tested exactly once.
    The **surplus speakers** (the ``F - folds*k`` women and ``M - folds*k`` men beyond the groups,
    e.g. 16 of speechocean762's 72 women) are left out of every split, as Becker left out 36 of
    AudioMNIST's 48 men. When ``folds`` is 4 and the corpus holds the 24 speakers of Becker's folds
    under AudioMNIST's ids (the real or the synthetic corpus), the result is exactly Becker's folds
    (:data:`GENDER_FOLDS`, via :func:`gender_split`) and ``seed`` is not used.

    Returns
    -------
    list of dict
        ``folds`` dicts keyed by :data:`SPLITS`, each a sorted list of recordings.

    Raises
    ------
    CorpusError
        If a recording has no gender, or a gender has fewer than ``max(folds, 3)`` speakers (the
        message gives the counts).
    """
    if folds < 3:
        raise ValueError(f"folds={folds}: need at least 3 (train, validation and test take a group each).")
    if folds == 4 and _is_becker_corpus(recordings):
        return [gender_split(recordings, fold) for fold in range(folds)]
    speakers = _speakers_by_gender(recordings)
    counts = {gender: len(ids) for gender, ids in speakers.items()}
    per_group = min(counts.values()) // folds
    if per_group == 0:
        raise CorpusError(f"gender folds: {folds} folds need at least {folds} female and {folds} male speakers "
                          f"(one of each per fold); the corpus has {counts['female']} female and {counts['male']} "
                          "male speakers. Add speakers of the rarer gender or use fewer folds.")
    rng = np.random.default_rng(seed)
    groups: list[set[str]] = [set() for _ in range(folds)]
    for gender in ("female", "male"):
        shuffled = [speakers[gender][i] for i in rng.permutation(counts[gender])]
        for g in range(folds):
            groups[g].update(shuffled[g * per_group : (g + 1) * per_group])
    by_speaker: dict[str, list[Recording]] = {}
    for recording in recordings:
        by_speaker.setdefault(recording.speaker, []).append(recording)
    result = []
    for fold in range(folds):
        test, validation = groups[fold], groups[(fold - 1) % folds]
        train = set().union(*(groups[g] for g in range(folds) if g not in (fold, (fold - 1) % folds)))
        result.append({name: sorted((r for s in ids for r in by_speaker[s]), key=Recording.sort_key)
                       for name, ids in zip(SPLITS, (train, validation, test))})
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
