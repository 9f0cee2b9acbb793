r"""Acoustic measurements shown next to relevance: a voice's f0 and the recording channel.

- :func:`fundamental_frequency`: median f0 over voiced frames (YIN, de Cheveigné & Kawahara 2002).
- :func:`recording_conditions`: DC offset, mains-hum prominence at 50, 60 and 100 Hz and the level
  below 40 Hz, from a Welch power spectral density with 1 Hz resolution (:func:`welch_psd`).
- :func:`recording_acoustics` / :func:`speaker_acoustics`: both for every recording of a corpus, and
  their medians per speaker (cached under ``artifacts/cache`` like the features).
- :func:`separability`: how well one column separates two groups, as an AUC (Mann-Whitney U).

The f0 estimator is YIN rather than :func:`torchaudio.functional.detect_pitch_frequency`, whose
normalised cross-correlation (divided by the product of the two energies, not its square root)
favours multiples of the period, i.e. sub-octave errors, and which loops over every lag in Python.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft
import scipy.signal
import scipy.stats
from tqdm import tqdm  # text bars: notebooks render them without ipywidgets

from lrp_utils.data.audio import read_wav
from lrp_utils.data.cache import cache_key, default_cache_dir, parallel_map
from lrp_utils.data.corpus import Recording
from lrp_utils.io import atomic_write, write_json

#: Columns of :func:`recording_conditions`.
CONDITION_COLUMNS = ("dc_offset_db", "hum50_db", "hum60_db", "hum100_db", "sub40_db")
#: Bump when a measurement changes (a new cache key).
ACOUSTICS_VERSION = 1


def fundamental_frequency(wave: np.ndarray, sample_rate: int, fmin: float = 60.0, fmax: float = 400.0,
                          threshold: float = 0.1, hop_seconds: float = 0.01, energy_range_db: float = 30.0,
                          ) -> float:
    r"""Median fundamental frequency (Hz) over the voiced frames of a recording; NaN if none is voiced.

    YIN (de Cheveigné & Kawahara 2002, *YIN, a fundamental frequency estimator for speech and
    music*, JASA 111(4), sec. II), with lags
    :math:`\tau_{\min} = \lfloor f_s / f_{\max} \rfloor` to :math:`\tau_{\max} = \lceil f_s / f_{\min} \rceil`
    and an integration window of :math:`W = \tau_{\max}` samples, one frame every ``hop_seconds``:

    1. difference function :math:`d_t(\tau) = \sum_{j=t}^{t+W-1} (x_j - x_{j+\tau})^2` (eq. 6), via
       the FFT cross-correlation and running energies;
    2. cumulative mean normalised difference :math:`d'_t(0) = 1`,
       :math:`d'_t(\tau) = d_t(\tau) \big/ \big(\frac{1}{\tau} \sum_{k=1}^{\tau} d_t(k)\big)` (eq. 8);
    3. the period is the first local minimum of :math:`d'_t` in :math:`[\tau_{\min}, \tau_{\max}]`
       below ``threshold`` (the absolute threshold of step 4), refined by a parabola through it and
       its neighbours (step 5); f0 = :math:`f_s / \tau`.

    A frame is **voiced** when step 3 finds a period and its power (the variance of
    :math:`x_t, \dots, x_{t+W-1}`) is within ``energy_range_db`` of the 95th percentile of the
    recording's frame powers, which excludes low-level periodic noise such as 100 Hz hum in pauses.
    Neither step depends on a DC offset (:math:`d_t` is a difference of samples).

    Raises
    ------
    ValueError
        If ``0 < fmin < fmax < sample_rate / 2`` does not hold or ``wave`` is not a non-empty 1-D array.
    """
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"fundamental_frequency expects a non-empty 1-D waveform, got shape {x.shape}.")
    if not 0 < fmin < fmax < sample_rate / 2:
        raise ValueError(f"fundamental_frequency: fmin={fmin}, fmax={fmax}; use 0 < fmin < fmax < "
                         f"{sample_rate / 2:g} Hz (half the sample rate).")
    tau_max = int(np.ceil(sample_rate / fmin))
    tau_min = max(2, int(np.floor(sample_rate / fmax)))
    window = tau_max
    length = window + tau_max + 1
    x = np.pad(x, (0, max(0, length - x.size)))
    frames = np.lib.stride_tricks.sliding_window_view(x, length)[:: max(1, round(sample_rate * hop_seconds))]
    n_fft = scipy.fft.next_fast_len(length)
    correlation = scipy.fft.irfft(np.conj(scipy.fft.rfft(frames[:, :window], n_fft)) * scipy.fft.rfft(frames, n_fft),
                                  n_fft)[:, : tau_max + 1]
    cumulative = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    lags = np.arange(tau_max + 1)
    energy = cumulative[:, lags + window] - cumulative[:, lags]
    difference = np.maximum(energy[:, :1] + energy - 2.0 * correlation, 0.0)
    normalised = np.ones_like(difference)
    running = np.cumsum(difference[:, 1:], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised[:, 1:] = np.where(running > 0, difference[:, 1:] * lags[1:] / running, 1.0)
    span = normalised[:, tau_min : tau_max + 1]
    dips = (span[:, :-1] < threshold) & (span[:, :-1] <= span[:, 1:])
    period = np.argmax(dips, axis=1) + tau_min
    rows = np.arange(len(frames))
    before, at, after = (normalised[rows, period + k] for k in (-1, 0, 1))
    curvature = before - 2.0 * at + after
    shift = np.clip(0.5 * (before - after) / np.where(curvature > 0, curvature, 1.0), -1.0, 1.0)
    f0 = sample_rate / (period + np.where(curvature > 0, shift, 0.0))
    frame_db = 10.0 * np.log10(np.maximum(frames[:, :window].var(axis=1), 1e-300))
    voiced = dips.any(axis=1) & (frame_db >= np.percentile(frame_db, 95) - energy_range_db)
    return float(np.median(f0[voiced])) if voiced.any() else float("nan")


def welch_psd(wave: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided power spectral density (per Hz) on a 1 Hz grid, **without** detrending.

    ``scipy.signal.welch`` with periodic Hann windows of 1 s (the whole recording when shorter),
    half overlapping, an FFT of ``sample_rate`` points (bin ``k`` is ``k`` Hz) and
    ``detrend=False``, so that a DC offset stays in bin 0. Returns ``(frequencies, psd)``.
    """
    x = np.asarray(wave, dtype=np.float64)
    return scipy.signal.welch(x, fs=sample_rate, window="hann", nperseg=min(x.size, int(sample_rate)),
                              nfft=int(sample_rate), detrend=False, scaling="density")


def _level_db(numerator: float, denominator: float) -> float:
    """``10 log10(numerator / denominator)``; NaN for a silent recording (0 / 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(10.0 * np.log10(np.float64(numerator) / np.float64(denominator)))


def hum_prominence_db(frequencies: np.ndarray, psd: np.ndarray, mains_hz: float) -> float:
    r"""Prominence of a spectral peak at ``mains_hz``: :math:`10 \log_{10}(\max_{|f - f_m| \le 1} P(f)
    \,/\, \mathrm{median}_{1 < |f - f_m| \le 10} P(f))` dB on the 1 Hz grid of :func:`welch_psd`.

    About 0 dB without hum; a tone of amplitude :math:`A` on white noise of variance :math:`\sigma^2`
    gives :math:`10 \log_{10}(1 + A^2 f_s / (6 \sigma^2))` (Hann window of :math:`f_s` samples).
    """
    distance = np.abs(frequencies - mains_hz)
    return _level_db(psd[distance <= 1.0].max(), np.median(psd[(distance > 1.0) & (distance <= 10.0)]))


def recording_conditions(wave: np.ndarray, sample_rate: int) -> dict[str, float]:
    r"""The recording channel's fingerprints below any voice's f0, in dB.

    - ``dc_offset_db``: :math:`20 \log_{10}(|\bar x| / \sqrt{\overline{x^2}})`, the mean relative to
      the RMS (the RMS includes the mean);
    - ``hum50_db``, ``hum60_db``, ``hum100_db``: :func:`hum_prominence_db` at 50 Hz and 60 Hz (the
      two mains frequencies) and 100 Hz (50 Hz mains' second harmonic, the hum of rectifiers);
    - ``sub40_db``: the mean PSD over :math:`0 \le f < 40` Hz (DC bin included) relative to the
      median PSD over :math:`300 \le f \le 3000` Hz (the voice band).

    All from :func:`welch_psd` (1 Hz bins, no detrending). A silent recording gives NaN.
    """
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"recording_conditions expects a non-empty 1-D waveform, got shape {x.shape}.")
    frequencies, psd = welch_psd(x, sample_rate)
    voice = psd[(frequencies >= 300.0) & (frequencies <= 3000.0)]
    return {
        "dc_offset_db": 2.0 * _level_db(abs(x.mean()), np.sqrt(np.mean(x**2))),
        "hum50_db": hum_prominence_db(frequencies, psd, 50.0),
        "hum60_db": hum_prominence_db(frequencies, psd, 60.0),
        "hum100_db": hum_prominence_db(frequencies, psd, 100.0),
        "sub40_db": _level_db(psd[frequencies < 40.0].mean(), np.median(voice)),
    }


@dataclass(frozen=True)
class RecordingAcoustics:
    """Recording -> ``{"f0_hz": ..., **recording_conditions}``, reading the file once.

    Its fields are everything that changes the result (the cache key of :func:`recording_acoustics`).
    """

    fmin: float = 60.0
    fmax: float = 400.0
    version: int = ACOUSTICS_VERSION
    name: str = "acoustics"

    def __call__(self, recording: Recording) -> dict[str, float]:
        wave, sample_rate = read_wav(recording.path)
        return {"f0_hz": fundamental_frequency(wave, sample_rate, self.fmin, self.fmax),
                **recording_conditions(wave, sample_rate)}


def recording_acoustics(recordings: Sequence[Recording], progress: bool = True, cache: bool = True,
                        cache_dir: str | os.PathLike | None = None, fmin: float = 60.0, fmax: float = 400.0,
                        workers: int = 2) -> pd.DataFrame:
    """:class:`RecordingAcoustics` of every recording: one row per recording, in the given order,
    measured by ``workers`` processes (the numbers do not depend on it).

    Columns: ``path`` (str), ``speaker``, ``gender``, ``f0_hz`` and :data:`CONDITION_COLUMNS`. With
    ``cache`` the table is stored as ``acoustics-<key>.csv`` (plus its ``.json`` key) in
    ``cache_dir`` (default ``artifacts/cache``), keyed like the features by the corpus fingerprint
    and ``fmin``/``fmax``, and reused while they are unchanged.
    """
    if not recordings:
        raise ValueError("recording_acoustics: no recordings given.")
    measure = RecordingAcoustics(fmin, fmax)
    if cache:
        ingredients = cache_key(recordings, measure)
        stem = Path(default_cache_dir() if cache_dir is None else cache_dir) / f"{measure.name}-{ingredients['key']}"
        table_path, index_path = stem.with_suffix(".csv"), stem.with_suffix(".json")
        if table_path.is_file() and index_path.is_file() and json.loads(index_path.read_text()) == ingredients:
            return pd.read_csv(table_path, dtype={"path": str, "speaker": str, "gender": str},
                               keep_default_na=False, na_values=[""])
    measured = parallel_map(measure, list(recordings), workers)
    rows = [{"path": str(r.path), "speaker": r.speaker, "gender": r.gender, **values}
            for r, values in zip(recordings, tqdm(measured, total=len(recordings), desc="acoustics", unit="rec",
                                                  disable=not progress))]
    table = pd.DataFrame(rows, columns=["path", "speaker", "gender", "f0_hz", *CONDITION_COLUMNS])
    if cache:
        with atomic_write(table_path, "w") as handle:
            table.to_csv(handle, index=False)
        write_json(index_path, ingredients)
    return table


def speaker_acoustics(recordings: Sequence[Recording], progress: bool = True, cache: bool = True,
                      cache_dir: str | os.PathLike | None = None, workers: int = 2) -> pd.DataFrame:
    """One row per speaker (index ``speaker``, sorted): the medians of :func:`recording_acoustics`.

    Columns ``gender``, ``f0_hz`` (the median over the recordings with a voiced frame),
    :data:`CONDITION_COLUMNS` and ``recordings`` (the count).
    """
    table = recording_acoustics(recordings, progress, cache, cache_dir, workers=workers)
    grouped = table.groupby("speaker", sort=True)
    speakers = grouped[["f0_hz", *CONDITION_COLUMNS]].median()
    speakers.insert(0, "gender", grouped["gender"].first())
    speakers["recordings"] = grouped.size()
    return speakers


def separability(table: pd.DataFrame, column: str, by: str = "gender", positive: str = "female") -> float:
    r"""AUC of ``column`` for telling the ``positive`` group of ``by`` from all other rows.

    :math:`P(X_+ > X_-) + \tfrac12 P(X_+ = X_-)` for a random row of each group, i.e. the
    Mann-Whitney :math:`U / (n_+ n_-)` (Hanley & McNeil 1982): 1 when every positive value is larger,
    0 when every one is smaller, 0.5 for no separation. Rows with NaN in ``column`` are left out.

    Raises
    ------
    ValueError
        If ``column`` or ``by`` is not a column of ``table``, or a group has no values.
    """
    for name in (column, by):
        if name not in table.columns:
            raise ValueError(f"separability: no column {name!r}; the table has {list(table.columns)}.")
    values = table[[column, by]].dropna(subset=[column])
    is_positive = (values[by] == positive).to_numpy()
    if is_positive.all() or not is_positive.any():
        raise ValueError(f"separability: {column!r} has {int(is_positive.sum())} values with {by} == "
                         f"{positive!r} and {int((~is_positive).sum())} others; both groups need values.")
    ranks = scipy.stats.rankdata(values[column].to_numpy(dtype=np.float64))  # ties: average ranks
    n_positive, n_other = int(is_positive.sum()), int((~is_positive).sum())
    u = ranks[is_positive].sum() - n_positive * (n_positive + 1) / 2.0
    return float(u / (n_positive * n_other))
