"""Reading and writing audio files.

All audio enters the project through :func:`read_wav` (any format ``soundfile``/libsndfile reads:
WAV, FLAC, OGG, ...) and leaves it through :func:`write_wav` (16-bit PCM WAV or FLAC, written
atomically with :func:`lrp_utils.io.atomic_write`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from lrp_utils.data.errors import AudioFileError
from lrp_utils.io import atomic_write

def read_wav(path: str | os.PathLike, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as a mono ``float32`` waveform in [-1, 1] and its sample rate.

    Any format libsndfile decodes (the name is historical), any sample rate and, by default, any
    length: the features crop long recordings. Multi-channel files are down-mixed by averaging the
    channels.

    Raises
    ------
    AudioFileError
        If the file does not exist, is empty, cannot be decoded, has no samples, or lasts longer
        than ``max_seconds`` (``None`` disables that check). The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such wav file; check the corpus folder (re-run its data_scripts command).")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty (0 bytes); delete it and re-fetch or re-generate the corpus.")
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioFileError(
            f"{path}: cannot be decoded as audio ({error}); the file is corrupt — re-fetch or re-generate it."
        ) from error
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: the recording has no samples; re-fetch or re-generate it.")
    duration = data.shape[0] / sample_rate
    if max_seconds is not None and duration > max_seconds:
        raise AudioFileError(
            f"{path}: lasts {duration:.2f} s, longer than max_seconds={max_seconds}; "
            "pass a larger max_seconds if this is intended."
        )
    wave = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return np.ascontiguousarray(wave, dtype=np.float32), int(sample_rate)


def write_wav(path: str | os.PathLike, wave: np.ndarray, sample_rate: int, audio_format: str = "WAV") -> None:
    """Write a mono waveform in [-1, 1] as a 16-bit PCM file, atomically.

    ``audio_format`` is ``"WAV"`` (default) or ``"FLAC"`` (lossless, about half the size). A WAV
    file's bytes depend only on ``wave`` and ``sample_rate`` (libsndfile writes no time stamp into a
    plain WAV header), which makes generated corpora reproducible byte for byte.
    """
    wave = np.asarray(wave)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"{path}: write_wav expects a non-empty 1-D waveform, got shape {wave.shape}.")
    with atomic_write(path, "wb") as handle:
        sf.write(handle, np.clip(wave, -1.0, 1.0), int(sample_rate), format=audio_format, subtype="PCM_16")
