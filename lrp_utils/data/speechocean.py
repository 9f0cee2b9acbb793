"""speechocean762 (Zhang et al., Interspeech 2021; OpenSLR 101, Apache-2.0) in its two layouts.

- **prepared** (what ``python -m data_scripts.speechocean762`` writes, and the shared copy
  ``speechocean762-adults``): ``ROOT/metadata.csv`` (``file``, ``speaker``, ``gender``, ``age``,
  ``original_split``, ``text``, ``seconds``, ``original_seconds``, ``trim_start_s``) and
  ``ROOT/SPEAKERxxxx/<utterance>.flac``;
- **original** (the OpenSLR 101 tarball and the GitHub repository jimbozhang/speechocean762):
  ``ROOT/WAVE/SPEAKERxxxx/<utterance>.WAV`` and, in ``ROOT/train`` and ``ROOT/test``, the Kaldi
  tables ``wav.scp`` (utterance -> ``WAVE/...`` path), ``utt2spk``, ``spk2gender`` (``m``/``f``),
  ``spk2age`` and ``text``.

The corpus has 250 speakers with 20 read English sentences each (5000 utterances, 16 kHz): 122
children aged 5-15 and 128 adults aged 19-43 (72 female, 56 male).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from lrp_utils.data.corpus import Recording
from lrp_utils.data.errors import CorpusError
from lrp_utils.data.manifest import number_takes, read_manifest

METADATA_NAME = "metadata.csv"
#: The corpus' own train/test halves, each a folder of Kaldi tables in the original layout.
ORIGINAL_SPLITS = ("train", "test")
#: Speakers this old or older count as adults (the corpus' children are 5-15, its adults 19-43).
ADULT_AGE = 18
KALDI_GENDERS = {"m": "male", "f": "female"}
HOW_TO_GET = ("get it with `python -m data_scripts.speechocean762 --dest DIR` (online) or `--source PATH` "
              "(a clone or tarball of the corpus, or a prepared copy)")


def is_prepared_layout(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds a prepared copy (``metadata.csv`` with a ``file`` column)."""
    metadata = Path(root) / METADATA_NAME
    if not metadata.is_file():
        return False
    with open(metadata, encoding="utf-8-sig") as handle:
        return "file" in handle.readline().strip().split(",")


def is_original_layout(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds the original layout (``WAVE/`` and a ``train/`` or ``test/`` ``wav.scp``)."""
    root = Path(root)
    return (root / "WAVE").is_dir() and any((root / s / "wav.scp").is_file() for s in ORIGINAL_SPLITS)


def read_kaldi_table(path: Path) -> dict[str, str]:
    """A Kaldi table (``key value...`` per line, whitespace-separated) as a dict; ``{}`` if absent."""
    if not path.is_file():
        return {}
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(maxsplit=1)
        if parts:
            table[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    return table


def speaker_id(name: str) -> str:
    """``"SPEAKER0036"`` or ``"0036"`` -> ``"0036"`` (older tables prefix the id)."""
    return name[len("SPEAKER"):] if name.startswith("SPEAKER") else name


def original_utterances(root: str | os.PathLike) -> list[dict]:
    """Every utterance of an original-layout corpus, in the order of ``train`` then ``test`` ``wav.scp``.

    Each is a dict with ``utterance``, ``path`` (absolute), ``speaker``, ``gender`` (``male``/
    ``female``), ``age`` (int), ``original_split`` and ``text``.

    Raises
    ------
    CorpusError
        If a listed file is missing or a speaker has no gender or age in the tables.
    """
    root = Path(root)
    if not is_original_layout(root):
        raise CorpusError(f"{root}: not speechocean762's original layout (WAVE/ and train/wav.scp or "
                          f"test/wav.scp); {HOW_TO_GET}.")
    utterances = []
    for split in ORIGINAL_SPLITS:
        folder = root / split
        tables = {name: read_kaldi_table(folder / name) for name in ("wav.scp", "utt2spk", "spk2gender", "spk2age",
                                                                      "text")}
        genders = {speaker_id(k): v for k, v in tables["spk2gender"].items()}
        ages = {speaker_id(k): v for k, v in tables["spk2age"].items()}
        for utterance, relative in tables["wav.scp"].items():
            path = root / relative
            speaker = speaker_id(tables["utt2spk"].get(utterance) or path.parent.name)
            if not path.is_file():
                raise CorpusError(f"{folder / 'wav.scp'}: {utterance}'s file {path} is missing; the copy is "
                                  f"incomplete, {HOW_TO_GET}.")
            gender = KALDI_GENDERS.get(genders.get(speaker, "").lower())
            if gender is None:
                raise CorpusError(f"{folder / 'spk2gender'}: speaker {speaker} has no gender m/f "
                                  f"(found {genders.get(speaker)!r}); the copy is incomplete, {HOW_TO_GET}.")
            try:
                age = int(ages[speaker])
            except (KeyError, ValueError) as error:
                raise CorpusError(f"{folder / 'spk2age'}: speaker {speaker} has no age; the copy is incomplete, "
                                  f"{HOW_TO_GET}.") from error
            utterances.append({"utterance": utterance, "path": path, "speaker": speaker, "gender": gender,
                               "age": age, "original_split": split, "text": tables["text"].get(utterance, "")})
    return utterances


def load_speechocean762(root: str | os.PathLike, min_age: int = ADULT_AGE) -> list[Recording]:
    """The recordings of a speechocean762 folder in either layout (module docstring), sorted.

    A prepared folder gives every recording its ``metadata.csv`` lists (the adults, or everyone
    when prepared with ``--all``). The original layout gives the speakers aged ``min_age`` or more
    (default: the 128 adults, as in the prepared copy; ``min_age=0`` keeps the children).
    ``utterance`` is the corpus' utterance id; ``repetition`` numbers each speaker's utterances.

    Raises
    ------
    CorpusError
        If ``root`` is in neither layout, or a file or a speaker's gender is missing.
    """
    root = Path(root)
    if is_prepared_layout(root):
        return [dataclasses.replace(r, utterance=r.path.stem)
                for r in read_manifest(root / METADATA_NAME, path_column="file")]
    if not is_original_layout(root):
        raise CorpusError(f"{root}: no speechocean762 here (neither {METADATA_NAME} nor WAVE/ with Kaldi tables); "
                          f"{HOW_TO_GET}.")
    kept = [u for u in original_utterances(root) if u["age"] >= min_age]
    if not kept:
        raise CorpusError(f"{root}: no speaker aged {min_age} or more; pass a lower min_age.")
    return number_takes([(u["speaker"], u["utterance"], u["path"], None) for u in kept],
                        {u["speaker"]: u["gender"] for u in kept})
