"""Corpora described by a manifest CSV: one row per recording.

Columns (header required, order free, other columns ignored):

- ``path`` (required): the audio file, absolute or relative to the CSV's folder; any format and
  sample rate libsndfile reads, any length;
- ``speaker`` (required): the speaker id;
- ``gender`` (optional): ``male`` or ``female`` (any case); empty for unknown. A speaker's rows
  must not disagree; rows left empty take the gender given in the speaker's other rows;
- ``label`` (optional): a class label (e.g. the spoken word);
- ``utterance`` (optional): an id of the take.

Every problem is a :class:`~lrp_utils.data.errors.CorpusError` that names the CSV, the row
(``row 1`` is the first line after the header) and what to fix.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from lrp_utils.data.corpus import Recording
from lrp_utils.data.errors import CorpusError

GENDERS = ("male", "female")
FORMAT_HINT = "one row per recording with columns path,speaker[,gender,label,utterance]"


def _read_rows(csv_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of ``csv_path`` (UTF-8, with or without a byte-order mark)."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = [name.strip() for name in (reader.fieldnames or [])]
    except FileNotFoundError as error:
        raise CorpusError(f"{csv_path}: no such manifest file.") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise CorpusError(f"{csv_path}: not a readable UTF-8 CSV ({error}); write {FORMAT_HINT}.") from error
    if not header:
        raise CorpusError(f"{csv_path}: the CSV is empty; write a header and {FORMAT_HINT}.")
    if not rows:
        raise CorpusError(f"{csv_path}: the CSV has a header but no rows; add {FORMAT_HINT}.")
    cleaned = [{(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str) or v is None}
               for row in rows]
    return header, cleaned


def read_manifest(csv_path: str | os.PathLike, path_column: str = "path") -> list[Recording]:
    """The recordings listed by a manifest CSV (format in the module docstring), sorted.

    ``path_column`` names the column with the file paths (``"file"`` for speechocean762's
    ``metadata.csv``). ``digit`` is ``None``; ``repetition`` numbers each speaker's recordings
    0, 1, ... in the order of (utterance, path).

    Raises
    ------
    CorpusError
        If the CSV is empty or lacks a required column, or a row has an empty path or speaker,
        a file that does not exist, a path already given by an earlier row, or a gender other than
        ``male``/``female``, or a speaker has rows with two genders.
    """
    csv_path = Path(csv_path)
    header, rows = _read_rows(csv_path)
    missing = [c for c in (path_column, "speaker") if c not in header]
    if missing:
        raise CorpusError(f"{csv_path}: missing column(s) {', '.join(missing)} (header: {','.join(header)}); "
                          f"write {FORMAT_HINT}.")
    base = csv_path.resolve().parent
    first_row_of: dict[Path, int] = {}
    gender_of: dict[str, tuple[str, int]] = {}
    entries = []
    for number, row in enumerate(rows, start=1):
        where = f"{csv_path}, row {number}"
        if not row.get(path_column):
            raise CorpusError(f"{where}: empty {path_column}; give the audio file, absolute or relative to the CSV.")
        if not row.get("speaker"):
            raise CorpusError(f"{where}: empty speaker; give every recording's speaker id.")
        path = Path(row[path_column]).expanduser()
        path = Path(os.path.normpath(path if path.is_absolute() else base / path))
        if not path.is_file():
            raise CorpusError(f"{where}: file {path} does not exist; fix the {path_column} "
                              "(absolute, or relative to the CSV's folder) or remove the row.")
        if path in first_row_of:
            raise CorpusError(f"{where}: {path} is already row {first_row_of[path]}; remove the duplicate row.")
        first_row_of[path] = number
        gender = row.get("gender", "").lower() or None
        if gender is not None and gender not in GENDERS:
            raise CorpusError(f"{where}: unknown gender {row['gender']!r}; write 'male' or 'female' "
                              "(or leave it empty if unknown).")
        speaker = row["speaker"]
        if gender is not None:
            known = gender_of.setdefault(speaker, (gender, number))
            if known[0] != gender:
                raise CorpusError(f"{where}: speaker {speaker!r} is {gender!r} here but {known[0]!r} in row "
                                  f"{known[1]}; give each speaker one gender.")
        entries.append((speaker, row.get("utterance") or None, path, row.get("label") or None))
    return number_takes(entries, {s: g for s, (g, _) in gender_of.items()})


def number_takes(entries: list[tuple[str, str | None, Path, str | None]],
                 gender_of: dict[str, str]) -> list[Recording]:
    """Recordings of ``(speaker, utterance, path, label)`` entries, with each speaker's takes numbered
    0, 1, ... in the order of (utterance, path) as their ``repetition``, sorted."""
    entries = sorted(entries, key=lambda e: (e[0], e[1] or "", str(e[2])))
    recordings, take, previous = [], 0, None
    for speaker, utterance, path, label in entries:
        take = take + 1 if speaker == previous else 0
        previous = speaker
        recordings.append(Recording(path, None, speaker, gender_of.get(speaker), take, label=label,
                                    utterance=utterance))
    return sorted(recordings, key=Recording.sort_key)
