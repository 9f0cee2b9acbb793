r"""Input features: Becker's 227x227 dB spectrogram and 64-dim Kaldi filterbanks.

Becker spectrogram (Becker et al. 2018, *Interpreting and explaining deep neural networks for
the classification of audio signals*, sec. 3; their ``preprocess_data.py``):

1. resample to 8 kHz (here :func:`torchaudio.functional.resample`, windowed sinc; Becker used
   ``librosa.resample(res_type="scipy")``, an FFT resampler — the two agree to well below the 80 dB
   floor except near 4 kHz);
2. embed the :math:`n \le 8000` samples in 8000 zeros starting at ``offset``, drawn uniformly from
   :math:`\{0, \dots, 8000 - n - 1\}` (Becker's ``np.random.randint(0, 8000 - n)``) by a seeded
   generator, one per recording (:func:`becker_offset`). Recordings longer than 1 s at 8 kHz
   (AudioMNIST has none; 20 of FSDD's 3000 do) are **centre-cropped** to 8000 samples, where Becker
   raised an error;
3. :math:`Z = \mathrm{STFT}(x)` exactly as ``scipy.signal.stft(x, 8000, nperseg=455, noverlap=420,
   window='hann')`` computes it: periodic Hann window :math:`w`, 227 zeros padded on each side, zeros
   appended to complete the last hop, one-sided FFT, scaled by :math:`1/\sum w`;
4. keep :math:`|Z|` rows 0..226 (0-3982 Hz) and columns ``2:-1`` (227 frames);
5. decibels relative to the maximum with an 80 dB floor, as ``librosa.amplitude_to_db(S, ref=np.max,
   amin=1e-5, top_db=80)``: :math:`D = 20 \log_{10}(\max(S, a) / \max(\max S, a))`, then
   :math:`D \leftarrow \max(D, \max D - 80)`. Values lie in :math:`[-80, 0]`.

Optional high-pass (both features, ``highpass_hz``; off by default): before step 1, the recording is
filtered at its native rate by a zero-phase Butterworth high-pass, :func:`highpass`. It removes the
recording channel's DC offset, mains hum (50/60 Hz) and rumble, which in a real corpus can correlate
with the labels and so offer a shortcut below any voice's f0.

Kaldi filterbank (speaker model; Povey et al. 2011, *The Kaldi speech recognition toolkit*): 64
log-mel energies of 25 ms windows every 10 ms via ``torchaudio.compliance.kaldi.fbank``, mean
normalised per bin, padded or cropped to a fixed number of frames — see :func:`fbank`.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import math
import numbers

import numpy as np
import scipy.signal
import torch
import torchaudio

from lrp_utils.data.audio import read_wav

#: Becker's sample rate, segment length and STFT parameters.
BECKER_RATE = 8000
BECKER_LENGTH = 8000
BECKER_NPERSEG = 455
BECKER_NOVERLAP = 420
BECKER_SIZE = 227
#: ``librosa.amplitude_to_db`` defaults used by Becker.
DB_AMIN = 1e-5
DB_TOP = 80.0
#: Order of the Butterworth high-pass of :func:`highpass` (applied forwards and backwards).
HIGHPASS_ORDER = 8


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one thread inside the block (restored after).

    One recording's resampling and STFT are too small to gain from intra-op threads, and on a busy
    machine their spinning threads made them ten times slower; corpora are parallelised over
    recordings instead (:mod:`lrp_utils.data.cache`).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def resampled_length(n_samples: int, sample_rate: int, target_rate: int = BECKER_RATE) -> int:
    """Length of ``n_samples`` at ``sample_rate`` after :func:`torchaudio.functional.resample` to ``target_rate``.

    ``ceil(n * new / orig)`` with the two rates divided by their gcd, as torchaudio computes it.
    """
    from math import gcd

    g = gcd(sample_rate, target_rate)
    orig, new = sample_rate // g, target_rate // g
    return -(-n_samples * new // orig)


def resample(wave: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Resample a 1-D waveform with :func:`torchaudio.functional.resample` (float64 throughout)."""
    tensor = torch.as_tensor(np.ascontiguousarray(wave, dtype=np.float64))
    if sample_rate != target_rate:
        tensor = torchaudio.functional.resample(tensor, sample_rate, target_rate)
    return tensor.numpy()


def check_highpass(highpass_hz, sample_rate: float | None = None) -> None:
    """Raise a ValueError unless ``highpass_hz`` is ``None`` or a number in ``(0, sample_rate / 2)``.

    Without ``sample_rate`` only positivity and finiteness are checked (the recording's Nyquist
    frequency is not known yet).
    """
    if highpass_hz is None:
        return
    upper = "the Nyquist frequency" if sample_rate is None else f"{sample_rate / 2:g} Hz (half the sample rate)"
    valid = f"use None (no high-pass) or a cut-off in Hz with 0 < highpass_hz < {upper}"
    if isinstance(highpass_hz, bool) or not isinstance(highpass_hz, numbers.Real) or not math.isfinite(highpass_hz):
        raise ValueError(f"highpass_hz={highpass_hz!r} is not a number; {valid}.")
    if highpass_hz <= 0 or (sample_rate is not None and highpass_hz >= sample_rate / 2):
        raise ValueError(f"highpass_hz={highpass_hz!r} is out of range; {valid}.")


def highpass(wave: np.ndarray, sample_rate: int, highpass_hz: float) -> np.ndarray:
    r"""Zero-phase Butterworth high-pass of a 1-D waveform (``float64``).

    An order-:data:`HIGHPASS_ORDER` Butterworth high-pass with cut-off :math:`f_c`
    (``scipy.signal.butter(8, f_c, 'highpass', fs=sample_rate, output='sos')``) run forwards and
    backwards (``scipy.signal.sosfiltfilt``, odd extension at the ends). The phase cancels and the
    magnitude is squared:

    .. math:: |H(f)| = \frac{1}{1 + (f_c / f)^{16}},

    i.e. -6 dB at :math:`f_c`, -0.13 dB at :math:`1.3 f_c` (a 60 Hz high-pass keeps an 80 Hz f0), about
    -47 dB at :math:`f_c / 1.4` (50 Hz hum under a 70 Hz high-pass) and infinite attenuation of DC.

    Raises
    ------
    ValueError
        If ``highpass_hz`` is not a number in ``(0, sample_rate / 2)``.
    """
    check_highpass(highpass_hz, sample_rate)
    sos = scipy.signal.butter(HIGHPASS_ORDER, float(highpass_hz), btype="highpass", fs=sample_rate, output="sos")
    return np.ascontiguousarray(scipy.signal.sosfiltfilt(sos, np.asarray(wave, dtype=np.float64)))


def becker_offset(n_samples: int, seed: int, key: str) -> int:
    """Becker's random embedding offset for a recording of ``n_samples`` samples at 8 kHz.

    Uniform on ``{0, ..., 8000 - n - 1}`` (0 when ``n >= 8000``), drawn from
    ``SeedSequence((seed, crc32(key)))``: one independent draw per recording ``key`` (e.g. its file
    name), so an offset does not depend on which other recordings are processed.
    """
    if n_samples >= BECKER_LENGTH:
        return 0
    rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(key.encode("utf-8"))]))
    return int(rng.integers(0, BECKER_LENGTH - n_samples))


def random_offsets(lengths: list[int], seed: int, keys: list[str] | None = None) -> list[int]:
    """:func:`becker_offset` for many recordings (8 kHz lengths); ``keys`` default to the indices."""
    keys = [str(i) for i in range(len(lengths))] if keys is None else list(keys)
    if len(keys) != len(lengths):
        raise ValueError(f"random_offsets: {len(lengths)} lengths but {len(keys)} keys.")
    return [becker_offset(n, seed, key) for n, key in zip(lengths, keys)]


def amplitude_to_db(magnitude: np.ndarray, amin: float = DB_AMIN, top_db: float = DB_TOP) -> np.ndarray:
    """``20 log10(max(S, amin) / max(max S, amin))`` floored at ``max - top_db`` (librosa's formula)."""
    magnitude = np.asarray(magnitude, dtype=np.float64)
    ref = max(float(magnitude.max()), amin)
    db = 20.0 * np.log10(np.maximum(magnitude, amin)) - 20.0 * np.log10(ref)
    return np.maximum(db, db.max() - top_db)


def embed(wave_8k: np.ndarray, offset: int) -> np.ndarray:
    """Place an 8 kHz waveform in 8000 zeros at ``offset`` (centre-crop it if longer than 8000)."""
    n = wave_8k.shape[0]
    if n >= BECKER_LENGTH:
        start = (n - BECKER_LENGTH) // 2
        return np.asarray(wave_8k[start : start + BECKER_LENGTH], dtype=np.float64)
    if not 0 <= offset <= BECKER_LENGTH - n:
        raise ValueError(f"offset={offset} does not fit a recording of {n} samples into {BECKER_LENGTH}; "
                         f"use 0 <= offset <= {BECKER_LENGTH - n} (see becker_offset).")
    out = np.zeros(BECKER_LENGTH)
    out[offset : offset + n] = wave_8k
    return out


def becker_stft_magnitude(x: np.ndarray) -> np.ndarray:
    """``|scipy.signal.stft(x, 8000, nperseg=455, noverlap=420, window='hann')[2]|`` via :func:`torch.stft`.

    Reproduces scipy's boundary padding (``nperseg // 2`` zeros each side), its end padding to a
    whole number of hops, its periodic Hann window and its ``1 / sum(window)`` scaling, in float64.
    Returns the full (228, frames) magnitude.
    """
    hop = BECKER_NPERSEG - BECKER_NOVERLAP
    half = BECKER_NPERSEG // 2
    signal = torch.as_tensor(np.asarray(x, dtype=np.float64))
    padded_length = signal.shape[-1] + 2 * half
    extra = (-(padded_length - BECKER_NPERSEG)) % hop
    signal = torch.nn.functional.pad(signal, (half, half + extra))
    window = torch.hann_window(BECKER_NPERSEG, periodic=True, dtype=torch.float64)
    z = torch.stft(signal, n_fft=BECKER_NPERSEG, hop_length=hop, win_length=BECKER_NPERSEG, window=window,
                   center=False, onesided=True, return_complex=True)
    return (z.abs() / window.sum()).numpy()


def becker_frame(wave: np.ndarray, sample_rate: int, offset: int, highpass_hz: float | None = None,
                 ) -> np.ndarray:
    """The 8000-sample, 8 kHz frame a Becker spectrogram is computed from (steps 1-2 of the module
    docstring, after the optional :func:`highpass`): what the spectrogram *sounds* like, ``float64``.
    Arguments as for :func:`becker_spectrogram`."""
    wave = np.asarray(wave)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"becker_spectrogram expects a non-empty 1-D waveform, got shape {wave.shape}.")
    if highpass_hz is not None:
        wave = highpass(wave, sample_rate, highpass_hz)
    with single_threaded():
        return embed(resample(wave, sample_rate, BECKER_RATE), offset)


def becker_spectrogram(wave: np.ndarray, sample_rate: int, offset: int, highpass_hz: float | None = None,
                       ) -> np.ndarray:
    """Becker's 227x227 dB spectrogram of a mono waveform (steps 1-5 of the module docstring).

    Parameters
    ----------
    wave:
        1-D waveform at ``sample_rate``.
    offset:
        Start of the recording inside the 8000-sample frame, in 8 kHz samples; must satisfy
        ``0 <= offset <= 8000 - n`` for the resampled length ``n`` (see :func:`resampled_length`,
        :func:`becker_offset`); ignored for recordings of 8000 samples or more (centre crop).
    highpass_hz:
        Cut-off of the :func:`highpass` applied at ``sample_rate`` before step 1; ``None`` (default)
        applies none.

    Returns
    -------
    numpy.ndarray
        ``float32`` array (227 frequencies 0-3982 Hz, 227 frames), values in [-80, 0] dB.
    """
    x = becker_frame(wave, sample_rate, offset, highpass_hz)
    with single_threaded():
        magnitude = becker_stft_magnitude(x)[0:BECKER_SIZE, 2:-1]
    return amplitude_to_db(magnitude).astype(np.float32)


def fbank(wave: np.ndarray, sample_rate: int, num_mel_bins: int = 64, frames: int | None = None,
          target_rate: int = 16000, highpass_hz: float | None = None) -> np.ndarray:
    """Mean-normalised log-mel filterbank, shape ``(num_mel_bins, T)`` ``float32``.

    0. if ``highpass_hz`` is given, :func:`highpass` at ``sample_rate``;
    1. resample to ``target_rate`` (16 kHz, the rate of VoxCeleb speaker models; FSDD's 8 kHz
       recordings then have empty bins above 4 kHz, which step 3 sets to zero);
    2. ``torchaudio.compliance.kaldi.fbank`` on the waveform scaled to the 16-bit range (Kaldi's
       convention), 25 ms Povey windows every 10 ms, no dither, log mel energies;
    3. cepstral mean normalisation: subtract each bin's mean over time;
    4. if ``frames`` is given, crop the centre ``frames`` frames (start ``(T - frames) // 2``) or
       append zero frames (the mean after step 3) to reach exactly ``frames``.
    """
    wave = np.asarray(wave)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"fbank expects a non-empty 1-D waveform, got shape {wave.shape}.")
    if wave.size / sample_rate < 0.025:
        raise ValueError(f"fbank needs at least 25 ms of audio, got {wave.size} samples at {sample_rate} Hz.")
    if highpass_hz is not None:
        wave = highpass(wave, sample_rate, highpass_hz)
    with single_threaded():
        audio = torch.as_tensor(resample(wave, sample_rate, target_rate), dtype=torch.float32)[None] * 32768.0
        feats = torchaudio.compliance.kaldi.fbank(
            audio, sample_frequency=float(target_rate), num_mel_bins=num_mel_bins, frame_length=25.0,
            frame_shift=10.0, dither=0.0, energy_floor=0.0,
        ).T  # (bins, T)
    feats = feats - feats.mean(dim=1, keepdim=True)
    if frames is not None:
        total = feats.shape[1]
        if total >= frames:
            start = (total - frames) // 2
            feats = feats[:, start : start + frames]
        else:
            feats = torch.nn.functional.pad(feats, (0, frames - total))
    return feats.numpy().astype(np.float32)


@dataclass(frozen=True)
class BeckerFeature:
    """Recording -> Becker spectrogram, with the offset from :func:`becker_offset` ``(seed, file name)``
    and an optional :func:`highpass` at ``highpass_hz``.

    A picklable callable whose fields are every parameter that changes its output (cache key).
    """

    seed: int = 0
    highpass_hz: float | None = None
    name: str = "becker"

    def __post_init__(self) -> None:
        check_highpass(self.highpass_hz)

    def __call__(self, recording) -> np.ndarray:
        wave, sample_rate, offset = self._read(recording)
        return becker_spectrogram(wave, sample_rate, offset, self.highpass_hz)

    def frame(self, recording) -> np.ndarray:
        """The 8 kHz frame (:func:`becker_frame`) this feature's spectrogram of ``recording`` comes from."""
        wave, sample_rate, offset = self._read(recording)
        return becker_frame(wave, sample_rate, offset, self.highpass_hz)

    def _read(self, recording) -> tuple[np.ndarray, int, int]:
        wave, sample_rate = read_wav(recording.path)
        return wave, sample_rate, becker_offset(resampled_length(wave.size, sample_rate), self.seed, recording.key)


@dataclass(frozen=True)
class FbankFeature:
    """Recording -> :func:`fbank` with a fixed number of ``frames`` and an optional :func:`highpass`."""

    frames: int
    num_mel_bins: int = 64
    target_rate: int = 16000
    highpass_hz: float | None = None
    name: str = "fbank"

    def __post_init__(self) -> None:
        check_highpass(self.highpass_hz)

    def __call__(self, recording) -> np.ndarray:
        wave, sample_rate = read_wav(recording.path)
        return fbank(wave, sample_rate, self.num_mel_bins, self.frames, self.target_rate, self.highpass_hz)
