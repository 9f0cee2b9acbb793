"""Get speechocean762 (Zhang et al., Interspeech 2021; OpenSLR 101, Apache-2.0) into ``DEST``, prepared.

    python -m data_scripts.speechocean762 --dest data/speechocean762                # download (521 MB)
    python -m data_scripts.speechocean762 --dest data/speechocean762 --source PATH  # a local copy
    python -m data_scripts.speechocean762 --dest data/speechocean762-all --all      # children too

``--source`` is a clone of github.com/jimbozhang/speechocean762, the OpenSLR tarball
``speechocean762.tar.gz``, or an already prepared copy (such as ``shared/datasets/speechocean762-adults``,
which is validated and copied). The original corpus (``WAVE/SPEAKERxxxx/*.WAV`` and the Kaldi tables
of ``train/`` and ``test/``) is converted into the prepared layout of the shared copy:

- the 128 adult speakers (aged 18 or more; ``--all`` keeps the 122 children too), 20 utterances each;
- each recording trimmed to its speech: 10 ms frames, kept from the first to the last frame whose
  energy is within 35 dB of the loudest frame, plus 0.15 s either side; then cut to at most 4.0 s;
- stored as 16 kHz mono 16-bit FLAC, ``DEST/SPEAKERxxxx/<utterance>.flac``, with ``DEST/metadata.csv``
  (``file``, ``speaker``, ``gender``, ``age``, ``original_split``, ``text``, ``seconds``,
  ``original_seconds``, ``trim_start_s``).

The download resumes when re-run and is checked against the archive's size (520 810 923 bytes, as
published by the corpus' Kaldi recipe; OpenSLR publishes no checksum); the extracted corpus is
checked by its structure (every listed file present, every speaker with a gender and an age) and
the result by its counts. The conversion happens in a staging folder, and ``DEST`` appears only once
everything is verified (exit code 1 and nothing installed otherwise).
"""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

import numpy as np
import soundfile as sf

from data_scripts._fetch import FetchError, find_folder, install, parse_fetch_arguments
from lrp_utils.data.audio import read_wav, write_wav
from lrp_utils.data.corpus import CorpusReport
from lrp_utils.data.errors import AudioFileError, CorpusError
from lrp_utils.data.features import resample
from lrp_utils.data.speechocean import (
    ADULT_AGE,
    METADATA_NAME,
    is_original_layout,
    is_prepared_layout,
    load_speechocean762,
    original_utterances,
)
from lrp_utils.io import atomic_write

URL = "https://www.openslr.org/resources/101/speechocean762.tar.gz"
ARCHIVE_NAME = "speechocean762.tar.gz"
#: Size of the OpenSLR archive in bytes (``ref_size`` of the corpus' Kaldi recipe download script).
ARCHIVE_SIZE = 520_810_923
#: (speakers, recordings) of a complete prepared copy: adults only, and with ``--all``.
EXPECTED = {"adults": (128, 2560), "all": (250, 5000)}
METADATA_COLUMNS = ("file", "speaker", "gender", "age", "original_split", "text", "seconds", "original_seconds",
                    "trim_start_s")
SAMPLE_RATE = 16000
FRAME_SECONDS = 0.01
TOP_DB = 35.0
PAD_SECONDS = 0.15
MAX_SECONDS = 4.0


def speech_span(wave: np.ndarray, sample_rate: int, top_db: float = TOP_DB, pad_seconds: float = PAD_SECONDS,
                max_seconds: float = MAX_SECONDS, frame_seconds: float = FRAME_SECONDS) -> tuple[int, int]:
    """``(start, stop)`` samples of the speech in ``wave``, as the prepared copy keeps it.

    Frames of ``frame_seconds`` (the last one may be shorter) are kept from the first to the last
    whose mean power is within ``top_db`` of the loudest frame's; the span is widened by
    ``pad_seconds`` on either side (within the recording) and cut to its first ``max_seconds``.
    """
    hop = round(frame_seconds * sample_rate)
    frames = -(-wave.size // hop)
    padded = np.zeros(frames * hop, dtype=np.float64)
    padded[: wave.size] = wave
    counts = np.full(frames, hop, dtype=np.float64)
    counts[-1] = wave.size - (frames - 1) * hop
    power = (padded.reshape(frames, hop) ** 2).sum(axis=1) / counts
    loud = np.flatnonzero(power >= power.max() * 10.0 ** (-top_db / 10.0))
    pad = round(pad_seconds * sample_rate)
    start = max(0, int(loud[0]) * hop - pad)
    stop = min(wave.size, (int(loud[-1]) + 1) * hop + pad, start + round(max_seconds * sample_rate))
    return start, stop


def prepare(corpus_root: Path, out: Path, keep_children: bool) -> None:
    """Convert the original layout at ``corpus_root`` into the prepared layout in ``out`` (docstring above)."""
    rows = []
    for utterance in original_utterances(corpus_root):
        if utterance["age"] < ADULT_AGE and not keep_children:
            continue
        wave, rate = read_wav(utterance["path"])
        if rate != SAMPLE_RATE:
            wave, rate = resample(wave, rate, SAMPLE_RATE), SAMPLE_RATE
        start, stop = speech_span(wave, rate)
        relative = f"SPEAKER{utterance['speaker']}/{utterance['utterance']}.flac"
        write_wav(out / relative, wave[start:stop], rate, audio_format="FLAC")
        rows.append({"file": relative, "speaker": utterance["speaker"], "gender": utterance["gender"],
                     "age": utterance["age"], "original_split": utterance["original_split"],
                     "text": utterance["text"], "seconds": f"{(stop - start) / rate:.3f}",
                     "original_seconds": f"{wave.size / rate:.6g}", "trim_start_s": f"{start / rate:.3f}"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METADATA_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(out / METADATA_NAME, "w") as handle:
        handle.write(buffer.getvalue())


def _make_writable(root: Path) -> None:
    """Give the owner write permission throughout ``root`` (a copy of a read-only shared folder)."""
    for folder, _, files in os.walk(root):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def locate(staging: Path, keep_children: bool) -> Path:
    """The prepared corpus to install: a prepared copy found in ``staging`` as it is, or the original
    layout found there converted into ``staging/.prepared``."""
    folder = find_folder(staging, lambda f: is_prepared_layout(f) or is_original_layout(f),
                         f"speechocean762 corpus ({METADATA_NAME}, or WAVE/ with train/ and test/ Kaldi tables)")
    if is_prepared_layout(folder):
        _make_writable(folder)
        return folder
    out = staging / ".prepared"
    try:
        prepare(folder, out, keep_children)
    except (CorpusError, AudioFileError) as error:
        raise FetchError(str(error)) from error
    return out


def verify(folder: Path, keep_children: bool) -> CorpusReport:
    """Check a prepared copy: it loads, has the expected numbers of speakers and recordings, and every
    file is 16 kHz mono audio of at most 4.0 s."""
    report = CorpusReport(root=folder)
    try:
        recordings = load_speechocean762(folder)
    except CorpusError as error:
        report.problems.append(str(error))
        return report
    report.speakers, report.files = len({r.speaker for r in recordings}), len(recordings)
    speakers, files = EXPECTED["all" if keep_children else "adults"]
    if (report.speakers, report.files) != (speakers, files):
        report.problems.append(f"{report.speakers} speakers and {report.files} recordings, expected {speakers} and "
                               f"{files}{' (--all)' if keep_children else ' (adults)'}")
    for recording in recordings:
        try:
            info = sf.info(str(recording.path))
        except (sf.LibsndfileError, RuntimeError) as error:
            report.problems.append(f"{recording.path}: unreadable ({error})")
            continue
        if info.samplerate != SAMPLE_RATE or info.channels != 1 or info.duration > MAX_SECONDS + 1e-9:
            report.problems.append(f"{recording.path}: {info.samplerate} Hz, {info.channels} channel(s), "
                                   f"{info.duration:.3f} s (expected {SAMPLE_RATE} Hz mono, at most {MAX_SECONDS} s)")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_fetch_arguments(argv, "python -m data_scripts.speechocean762", __doc__.split("\n")[0],
                                 "", "speechocean762", URL,
                                 flags={"--all": "keep the 122 children too (default: the 128 adults)"},
                                 dest_help="folder that will become the prepared corpus (metadata.csv, SPEAKERxxxx/)")
    dest = Path(args.dest)
    return install(
        dest.parent, dest.name, args.source, args.url, ARCHIVE_NAME,
        locate=lambda staging: locate(staging, args.all),
        verify=lambda folder: verify(folder, args.all),
        progress=not args.no_progress, keep_archive=args.keep_archive,
        archive_size=ARCHIVE_SIZE if args.url == URL else None,
    )

if __name__ == "__main__":
    raise SystemExit(main())
