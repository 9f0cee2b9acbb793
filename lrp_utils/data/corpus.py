"""Corpora on disk: listing the recordings of AudioMNIST-format folders and FSDD, and verifying them.

One loader serves every corpus in AudioMNIST's layout (the real one and the synthetic one),
``ROOT/data/NN/<digit>_<NN>_<rep>.wav`` plus ``ROOT/data/audioMNIST_meta.txt`` (JSON keyed by
speaker id, with a ``"gender"`` field), and one adapter serves the Free Spoken Digit Dataset,
``ROOT/recordings/<digit>_<name>_<index>.wav`` (six male speakers, 8 kHz).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lrp_utils.data.errors import CorpusError
from lrp_utils.data.synthetic import META_NAME
from lrp_utils.io import REPO_ROOT

#: Speakers of FSDD (Jackson et al., *Free Spoken Digit Dataset*, v1.0.10): all six are male.
FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
#: Where the test and CI copy of FSDD lives (a sibling ``shared`` folder of the repository).
FSDD_SHARED = REPO_ROOT.parent / "shared" / "datasets" / "fsdd"

_AUDIOMNIST_NAME = re.compile(r"^(\d)_(\d{2})_(\d+)\.wav$")
_FSDD_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")

HOW_TO_GET_AUDIOMNIST = (
    "get it with `python -m data_scripts.audiomnist --dest DIR` (online) or "
    "`--source PATH` (a clone, folder or zip of github.com/soerenab/AudioMNIST), "
    "or generate the synthetic stand-in with `python -m data_scripts.synthesize --dest DIR`"
)


@dataclass(frozen=True)
class Recording:
    """One audio file of a corpus.

    ``speaker`` is the corpus' speaker id (AudioMNIST's ``"01"``..``"60"``, FSDD's name,
    speechocean762's ``"0036"``, a manifest's ``speaker`` column); ``gender`` is ``"male"``,
    ``"female"`` or ``None`` (unknown); ``digit`` is the spoken digit of a digit corpus, ``None``
    elsewhere; ``repetition`` is the take of a digit corpus (the index in its file name) and, in
    other corpora, the index of the recording among its speaker's recordings sorted by utterance
    and path, so that splits by repetition work on every corpus. ``label`` is a class label
    (the digit of a digit corpus, a manifest's ``label`` column) and ``utterance`` an id of the
    take (speechocean762's utterance id, a manifest's ``utterance`` column), each ``None`` when
    unknown.
    """

    path: Path
    digit: int | None
    speaker: str
    gender: str | None
    repetition: int
    label: str | None = None
    utterance: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order of recordings everywhere in the project: speaker, digit, repetition (then path)."""
        return (self.speaker, -1 if self.digit is None else self.digit, self.repetition, str(self.path))

    @property
    def key(self) -> str:
        """A stable identifier, the file name (e.g. ``<digit>_<speaker>_<rep>.wav``)."""
        return self.path.name


@dataclass
class CorpusReport:
    """What :func:`verify_audiomnist` found; ``ok`` when ``problems`` is empty."""

    root: Path
    speakers: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.root}: {self.speakers} speaker folders, {self.files} wav files"
        if self.ok:
            return head + ", complete."
        shown = self.problems[:20]
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        return head + "; problems:\n  " + "\n  ".join(shown) + more


def audiomnist_data_dir(root: str | os.PathLike) -> Path:
    """The ``data`` folder of an AudioMNIST-format corpus: ``root/data`` or ``root`` itself."""
    root = Path(root)
    return root / "data" if (root / "data").is_dir() else root


def read_meta(root: str | os.PathLike) -> dict[str, dict]:
    """AudioMNIST's meta file (speaker id -> fields) of the corpus at ``root``."""
    data = audiomnist_data_dir(root)
    meta_path = data / META_NAME
    if not meta_path.is_file():
        raise CorpusError(f"{meta_path}: meta file missing, so speakers' genders are unknown; "
                          f"{HOW_TO_GET_AUDIOMNIST}.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise CorpusError(f"{meta_path}: not valid JSON ({error}); re-fetch the corpus.") from error
    for speaker, fields in meta.items():
        if not isinstance(fields, dict) or fields.get("gender") not in ("male", "female"):
            raise CorpusError(f"{meta_path}: speaker {speaker!r} has no gender 'male'/'female'; re-fetch the corpus.")
    return meta


def verify_audiomnist(root: str | os.PathLike, speakers: int | None = None,
                      repetitions: int | None = None, complete: bool = True) -> CorpusReport:
    """Check an AudioMNIST-format folder and report every problem found.

    Always checks that the meta file exists and lists a gender for every speaker folder, that every
    ``.wav`` file in folder ``NN`` is named ``<digit>_<NN>_<rep>.wav``, and that none is empty.
    With ``complete`` (default) it also checks that every folder ``NN`` holds all digits 0-9 for
    repetitions ``0..repetitions-1`` and that every expected speaker has a folder: ``speakers``
    (e.g. 60) requires folders ``01..speakers``; by default the expected speakers are those of the
    meta file and the expected repetitions ``0..R-1`` with ``R`` the largest count found in any
    folder. ``complete=False`` accepts any subset of the corpus (e.g. one file per speaker).
    """
    data = audiomnist_data_dir(root)
    report = CorpusReport(root=data)
    if not data.is_dir():
        report.problems.append(f"{data}: folder missing")
        return report
    try:
        meta = read_meta(data)
    except CorpusError as error:
        report.problems.append(str(error))
        meta = {}
    folders = sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith("."))
    report.speakers = len(folders)
    expected_ids = [f"{i:02d}" for i in range(1, speakers + 1)] if speakers else sorted(meta)
    missing_speakers = sorted(set(expected_ids) - {p.name for p in folders})
    if missing_speakers and complete:
        report.problems.append(f"{len(missing_speakers)} speaker folders missing: {', '.join(missing_speakers)}")
    listing: dict[str, list[os.DirEntry]] = {}
    for folder in folders:
        if meta and folder.name not in meta:
            report.problems.append(f"{folder.name}/: speaker not in {META_NAME}")
        listing[folder.name] = [e for e in os.scandir(folder) if e.name.endswith(".wav")]
    reps = repetitions or max((len(v) // 10 for v in listing.values()), default=0)
    for name, entries in listing.items():
        report.files += len(entries)
        present = {e.name for e in entries}
        if complete:
            expected = {f"{d}_{name}_{r}.wav" for d in range(10) for r in range(reps)}
            missing = sorted(expected - present)
            if missing:
                report.problems.append(f"{name}/: {len(missing)} of {len(expected)} wav files missing, "
                                       f"e.g. {missing[0]}")
            unexpected, wanted = present - expected, f"<digit>_{name}_<rep 0..{reps - 1}>.wav"
        else:
            unexpected = {n for n in present if not (m := _AUDIOMNIST_NAME.match(n)) or m.group(2) != name}
            wanted = f"<digit>_{name}_<rep>.wav"
        for extra in sorted(unexpected):
            report.problems.append(f"{name}/{extra}: name inconsistent with folder {name}/ (expected {wanted})")
        for entry in entries:
            if entry.stat().st_size == 0:
                report.problems.append(f"{name}/{entry.name}: empty file")
    return report


def load_audiomnist(root: str | os.PathLike, verify: bool = True, complete: bool = False) -> list[Recording]:
    """All recordings of an AudioMNIST-format corpus, sorted by speaker, digit, repetition.

    ``root`` is the folder holding ``data/`` or ``data/`` itself. With ``verify`` (default) the
    folder must pass :func:`verify_audiomnist` with ``complete``: by default any consistent subset
    of the corpus loads (the meta file gives every present speaker's gender, file names match
    their folders, no file is empty), e.g. a sample with one file per speaker; ``complete=True``
    also requires every speaker of the meta file with all digits and repetitions. Without
    ``verify`` only the meta file must be present. The full download is checked by
    ``verify_audiomnist(root, speakers=60, repetitions=50)``.

    Raises
    ------
    CorpusError
        If the folder or its meta file is missing, or verification fails (the message lists why).
    """
    data = audiomnist_data_dir(root)
    if not data.is_dir():
        raise CorpusError(f"{data}: no such corpus folder; {HOW_TO_GET_AUDIOMNIST}.")
    meta = read_meta(data)
    if verify:
        report = verify_audiomnist(data, complete=complete)
        if not report.ok:
            raise CorpusError(f"{report}\nRe-fetch or re-generate the corpus ({HOW_TO_GET_AUDIOMNIST}).")
    recordings = []
    for speaker in sorted(meta):
        folder = data / speaker
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            match = _AUDIOMNIST_NAME.match(entry.name)
            if match and match.group(2) == speaker:
                recordings.append(Recording(Path(entry.path), int(match.group(1)), speaker,
                                            meta[speaker]["gender"], int(match.group(3)), label=match.group(1)))
    if not recordings:
        raise CorpusError(f"{data}: no wav files named <digit>_<NN>_<rep>.wav; {HOW_TO_GET_AUDIOMNIST}.")
    return sorted(recordings, key=Recording.sort_key)


def verify_fsdd(root: str | os.PathLike) -> CorpusReport:
    """Check an FSDD folder: ``recordings/`` with 50 files per digit for each of the six speakers."""
    root = Path(root)
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    report = CorpusReport(root=folder)
    if not folder.is_dir():
        report.problems.append(f"{folder}: folder missing")
        return report
    present = {e.name for e in os.scandir(folder) if e.name.endswith(".wav")}
    report.files = len(present)
    report.speakers = len({m.group(2) for m in map(_FSDD_NAME.match, present) if m})
    expected = {f"{d}_{s}_{i}.wav" for d in range(10) for s in FSDD_SPEAKERS for i in range(50)}
    missing = sorted(expected - present)
    if missing:
        report.problems.append(f"{len(missing)} of {len(expected)} wav files missing, e.g. {missing[0]}")
    return report


def load_fsdd(root: str | os.PathLike | None = None) -> list[Recording]:
    """All recordings of the Free Spoken Digit Dataset at ``root`` (default: the shared copy).

    ``root`` holds ``recordings/<digit>_<speaker>_<index>.wav`` (or is that folder). Every
    speaker is male; ``repetition`` is the index. Sorted by speaker, digit, repetition.
    """
    root = Path(root) if root is not None else FSDD_SHARED
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no FSDD folder; get it with `python -m data_scripts.fsdd --dest DIR`.")
    recordings = []
    for entry in os.scandir(folder):
        match = _FSDD_NAME.match(entry.name)
        if match:
            recordings.append(Recording(Path(entry.path), int(match.group(1)), match.group(2), "male",
                                        int(match.group(3)), label=match.group(1)))
    if not recordings:
        raise CorpusError(f"{folder}: no wav files named <digit>_<speaker>_<index>.wav; "
                          "get FSDD with `python -m data_scripts.fsdd --dest DIR`.")
    return sorted(recordings, key=Recording.sort_key)
