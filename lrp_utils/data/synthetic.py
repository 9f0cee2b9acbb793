r"""A synthetic spoken-digit corpus in AudioMNIST's exact layout (the offline default).

Real users train on AudioMNIST (Becker et al. 2018); this module makes every experiment runnable
without a download, from a corpus whose gender cues are known: fundamental frequency (f0) and
formant frequencies, both at low frequencies, as in real speech.

Model (source-filter; Fant 1960, *Acoustic Theory of Speech Production*)
-----------------------------------------------------------------------
Each recording is :math:`y = s + n`, built in the short-time Fourier domain (Hann window of about
21 ms, a quarter of it as hop, windowed overlap-add for the inverse):

.. math::

    S(f, t) = g_v(t)\, E_v(f, t)\, T(f)\, H(f, t)
            + E_n(f, t)\,\bigl[g_a(t)\, H(f, t) + g_f(t)\, R_{c(t), b(t)}(f)\bigr]

- **Voice source** :math:`E_v`: STFT of a glottal pulse train whose instantaneous rate is
  :math:`f_0(t) = \bar f_0\, c(t)`, each pulse of height :math:`\sqrt{f_s/f_0}` (unit power per
  sample, like the noise source), moved by *jitter* (Gaussian, 0.5-1.5 % of the period) and scaled by
  *shimmer* (Gaussian, 3-6 %), typical normal-voice values (Baken & Orlikoff 2000, *Clinical
  Measurement of Speech and Voice*, ch. 5).
- **Speaker f0** :math:`\bar f_0`: log-normal per speaker, median 115 Hz (sd 0.15 in log, clipped to
  85-155 Hz) for men and 205 Hz (sd 0.12, clipped to 165-255 Hz) for women, the adult ranges of
  Traunmüller & Eriksson (1995), *The frequency range of the voice fundamental in the speech of
  male and female adults*. Each recording scales it by :math:`e^{\mathcal N(0, 0.05^2)}`.
- **Intonation** :math:`c(t)`: the rise-fall of an isolated statement word, piecewise linear through
  :math:`1 + r_0` at the start, :math:`1 + r_1` at 30 % of the word and :math:`1 - r_2` at its
  end, :math:`r_0 \sim U(-0.02, 0.05)`, :math:`r_1 \sim U(0.02, 0.12)`, :math:`r_2 \sim U(0.05, 0.20)`
  ('t Hart, Collier & Cohen 1990, declination). Male and female instantaneous f0 thus overlap a
  little (high male ~ 170 Hz, low female ~ 150 Hz) while their means differ by almost an octave.
- **Glottal tilt and lip radiation** :math:`T(f) = (1 + (f/200)^2)^{-\tau/12}`, a net slope of
  :math:`-\tau` dB/octave, :math:`\tau \sim \mathcal N(6, 1.5^2)` per speaker for both genders.
- **Vocal tract** :math:`H`: a cascade of five formant resonators (Klatt 1980, *Software for a
  cascade/parallel formant synthesizer*, JASA 67), each the magnitude of an analogue pole pair
  normalised to 1 at 0 Hz, :math:`|R_{F,b}(f)| = (F^2 + b^2) / \sqrt{(F^2 + b^2 - f^2)^2 + (2bf)^2}`
  with :math:`b = B/2` (half the bandwidth), bandwidths 80, 100, 150, 200, 250 Hz (Hawks & Miller
  1995). Formant targets are adult-male values of Peterson & Barney (1952) and Hillenbrand et al.
  (1995) per phone of the English digit words (``DIGIT_PHONES``), reached at each phone's centre and
  linearly interpolated in between (coarticulation); F4 = 3500 Hz, F5 = 4500 Hz.
- **Vocal-tract length** scales every formant by a per-speaker factor :math:`k`, Gaussian with mean
  1.00 for men and 1.16 for women (sd 0.05 each): women's formants lie 15-20 % above men's
  (Peterson & Barney 1952; Fant 1966, *A note on vocal tract size factors*), and each recording's
  by :math:`e^{\mathcal N(0, 0.02^2)}`.
- **Speaker individuality** beyond f0 and vocal-tract length: each formant of a speaker is moved by
  :math:`e^{\mathcal N(0, 0.07^2)}` (vowel formants of speakers of one gender spread by 5-10 %
  after length normalisation, Peterson & Barney 1952; the higher formants, shaped by the
  speaker's anatomy rather than the phone, carry speaker identity, Kitamura & Akagi 1995,
  *Speaker individualities in speech spectral envelopes*), all formant bandwidths are scaled by
  :math:`e^{\mathcal N(0, 0.25^2)}` (damping: breathier or more pressed voices), and the
  source slope :math:`\tau` below varies with sd 1.5 dB/octave. Real speakers differ in far more
  ways; these keep 60 synthetic speakers as tellable apart as AudioMNIST's for a speaker-ID
  network, while the gender cues stay those of the previous items.
- **Noise source** :math:`E_n`: white Gaussian noise, drawn directly in the STFT domain (complex
  Gaussian bins with the variance of the STFT of unit-variance white noise), through the vocal tract
  as aspiration (gain :math:`g_a`, after stop releases and weakly in vowels) and through a band
  resonance :math:`R_{c,b}` for frication (/s z f v θ/ and the /t k/ bursts, centre ``c`` scaled by
  :math:`k`).
- **Gains** :math:`g_v, g_a, g_f` per phone (vowels and glides voiced, nasals weakly voiced,
  fricatives noisy, closures silent), smoothed over about 15 ms.
- **Timing**: each recording lasts :math:`D = \mathrm{clip}(d_s e^{\mathcal N(0, 0.2^2)}, 0.3, 0.9)` s
  around a per-speaker duration :math:`d_s \sim U(0.45, 0.75)` s (speaking rate), with 10-60 ms
  of room noise before and after the word; phone durations are the table's
  weights times :math:`e^{\mathcal N(0, 0.15^2)}`, normalised to fill the word.
- **Background** :math:`n`: room noise, the noise source through
  :math:`P(f) = \sqrt{0.1 + 1/(1 + (f/300)^2)}` (low-frequency rumble over a white floor), over the
  whole recording, at a signal-to-noise ratio :math:`U(15, 40)` dB relative to the word's mean power
  (both powers measured in the STFT domain); finally the recording is peak-normalised to
  :math:`U(0.3, 0.9)`. The recording chain is a second-order Butterworth high-pass at 50 Hz
  (:math:`1/\sqrt{1 + (50/f)^4}`; a microphone passes no DC, and the glottal pulse train's mean
  would otherwise dominate the lowest bins). These distributions are the same for both genders, so loudness, noise and
  duration carry no gender information.

Everything random is drawn from :class:`numpy.random.SeedSequence` ``(seed, 0, speaker)`` for a
speaker's parameters and ``(seed, 1, speaker, digit, repetition)`` for a recording, so any subset of
the corpus is reproducible on its own and the bytes do not depend on the order or the number of
worker processes.

On-disk format
--------------
Exactly AudioMNIST's: ``DEST/data/NN/<digit>_<NN>_<rep>.wav`` (16-bit PCM, mono) and
``DEST/data/audioMNIST_meta.txt`` (JSON keyed by ``"01".."60"`` with AudioMNIST's keys ``accent,
age, gender, native speaker, origin, recordingdate, recordingroom``). Female speakers get the ids
that are female in real AudioMNIST (:data:`AUDIOMNIST_FEMALE_SPEAKERS`), so Becker's gender folds
apply unchanged. ``DEST/synthesis.json`` records the parameters and every speaker's f0 and
vocal-tract factor. With the option ``artifact`` (off by default) a planted cue, a short tone in a
seeded fraction of some speakers' recordings (:class:`lrp_utils.data.artifact.Artifact`), is added
to the finished waveforms; ``synthesis.json`` then describes it too (so the corpus gets another
version id) and ``DEST/artifact.json`` lists the planted files. Files are generated into
``DEST/.data.partial`` (each written atomically; a re-run resumes there) and the folder is renamed
to ``DEST/data`` only once complete.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.signal

from lrp_utils.data.artifact import ARTIFACT_RECORD, Artifact
from lrp_utils.data.audio import write_wav
from lrp_utils.data.errors import CorpusError
from lrp_utils.io import atomic_write, write_json

#: Speaker ids that are female in the real AudioMNIST meta file (Becker et al. 2018).
AUDIOMNIST_FEMALE_SPEAKERS = (12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60)

#: Bump when the model changes its output; stored in ``synthesis.json`` so old corpora are detected.
MODEL_VERSION = 3  # 2: recording-chain high-pass (1 had a DC growing with f0); 3: wider speaker individuality

#: Spread (sd in log) of a speaker's formant offsets, and of its bandwidth scale.
FORMANT_OFFSET_SD = 0.07
BANDWIDTH_SCALE_SD = 0.25

#: Cut-off of the recording chain's second-order high-pass (no DC, as with a real microphone).
HIGHPASS_HZ = 50.0

#: Name of AudioMNIST's meta file inside ``data/``.
META_NAME = "audioMNIST_meta.txt"

#: Formant bandwidths B1..B5 in Hz (Hawks & Miller 1995).
BANDWIDTHS = (80.0, 100.0, 150.0, 200.0, 250.0)
#: Fixed adult-male F4 and F5 in Hz.
HIGH_FORMANTS = (3500.0, 4500.0)

# Phone classes: (voicing gain, aspiration gain, frication gain).
_VOWEL, _GLIDE, _NASAL = (1.0, 0.03, 0.0), (0.7, 0.02, 0.0), (0.3, 0.0, 0.0)
_CLOSURE, _ASPIRATION = (0.0, 0.0, 0.0), (0.0, 0.5, 0.0)
_S, _F = (0.0, 0.0, 0.35), (0.0, 0.0, 0.12)
_Z, _V = (0.25, 0.0, 0.22), (0.3, 0.0, 0.08)
_BURST = (0.0, 0.3, 1.0)

# Frication bands (centre, bandwidth) in Hz for an adult male.
_SIBILANT, _LABIODENTAL, _ALVEOLAR_BURST, _VELAR_BURST = (5500, 2500), (4500, 6000), (4000, 2500), (2200, 1200)
_NONE = (1000, 1000)


def _phone(weight, formants, gains, band=_NONE):
    return (weight, formants, gains, band)


#: Phones of the ten English digit words: (duration weight, (F1, F2, F3) target in Hz for an adult
#: male, (voicing, aspiration, frication) gains, frication band (centre, bandwidth) in Hz).
#: Vowel targets: Peterson & Barney (1952) and Hillenbrand et al. (1995); consonants approximate.
DIGIT_PHONES: dict[int, tuple] = {
    0: (_phone(0.20, (300, 1800, 2600), _Z, _SIBILANT), _phone(0.18, (400, 1950, 2550), _VOWEL),
        _phone(0.15, (350, 1150, 1450), _GLIDE), _phone(0.25, (520, 950, 2450), _VOWEL),
        _phone(0.22, (400, 800, 2300), _VOWEL)),                                    # z ɪ r oʊ
    1: (_phone(0.18, (300, 650, 2200), _GLIDE), _phone(0.45, (620, 1150, 2400), _VOWEL),
        _phone(0.37, (260, 1600, 2500), _NASAL)),                                   # w ʌ n
    2: (_phone(0.10, (340, 1500, 2400), _CLOSURE), _phone(0.04, (340, 1500, 2400), _BURST, _ALVEOLAR_BURST),
        _phone(0.08, (340, 1450, 2350), _ASPIRATION), _phone(0.30, (340, 1350, 2300), _VOWEL),
        _phone(0.48, (310, 1000, 2250), _VOWEL)),                                   # t uː
    3: (_phone(0.22, (350, 1500, 2500), _F, _LABIODENTAL), _phone(0.18, (350, 1150, 1500), _GLIDE),
        _phone(0.30, (300, 2100, 2800), _VOWEL), _phone(0.30, (270, 2290, 3010), _VOWEL)),  # θ r iː
    4: (_phone(0.22, (450, 1000, 2400), _F, _LABIODENTAL), _phone(0.45, (570, 850, 2400), _VOWEL),
        _phone(0.33, (480, 1250, 1650), _GLIDE)),                                   # f ɔː r
    5: (_phone(0.18, (600, 1100, 2450), _F, _LABIODENTAL), _phone(0.32, (730, 1100, 2450), _VOWEL),
        _phone(0.25, (420, 1900, 2550), _VOWEL), _phone(0.25, (300, 1500, 2400), _V, _LABIODENTAL)),  # f aɪ v
    6: (_phone(0.25, (400, 1800, 2600), _S, _SIBILANT), _phone(0.30, (390, 1990, 2550), _VOWEL),
        _phone(0.10, (350, 2000, 2600), _CLOSURE), _phone(0.05, (350, 2000, 2600), _BURST, _VELAR_BURST),
        _phone(0.30, (400, 1800, 2600), _S, _SIBILANT)),                            # s ɪ k s
    7: (_phone(0.22, (450, 1800, 2500), _S, _SIBILANT), _phone(0.25, (530, 1840, 2480), _VOWEL),
        _phone(0.12, (350, 1500, 2400), _V, _LABIODENTAL), _phone(0.16, (500, 1400, 2450), _VOWEL),
        _phone(0.25, (260, 1600, 2500), _NASAL)),                                   # s ɛ v ə n
    8: (_phone(0.35, (480, 2000, 2650), _VOWEL), _phone(0.30, (330, 2200, 2900), _VOWEL),
        _phone(0.17, (330, 2100, 2800), _CLOSURE), _phone(0.08, (330, 2100, 2800), _BURST, _ALVEOLAR_BURST),
        _phone(0.10, (330, 2000, 2700), _ASPIRATION)),                              # eɪ t
    9: (_phone(0.18, (260, 1600, 2500), _NASAL), _phone(0.32, (730, 1100, 2450), _VOWEL),
        _phone(0.28, (400, 1950, 2550), _VOWEL), _phone(0.22, (260, 1600, 2500), _NASAL)),  # n aɪ n
}


@dataclass(frozen=True)
class SpeakerParams:
    """Per-speaker parameters of the source-filter model (see the module docstring)."""

    speaker: int
    gender: str
    f0: float  #: median fundamental frequency in Hz
    vocal_tract: float  #: formant scaling factor k
    formant_offsets: tuple[float, ...]  #: per-formant multiplicative deviations (F1..F5)
    bandwidth_scale: float  #: factor on every formant bandwidth
    tilt: float  #: net source spectral slope in dB/octave
    jitter: float  #: pulse-period jitter, fraction of the period
    shimmer: float  #: pulse-amplitude shimmer, fraction
    duration: float  #: mean recording duration in s (speaking rate)
    age: int


def female_speaker_ids(speakers: int, female: int) -> list[int]:
    """Ids (1-based) of the female speakers of a corpus of ``speakers`` speakers.

    AudioMNIST's own female ids come first (those ``<= speakers``), so the 60-speaker corpus marks
    exactly the real corpus's women; when a smaller corpus has too few of them, the highest remaining
    ids are used.
    """
    if not 0 <= female <= speakers:
        raise ValueError(f"female={female} must lie between 0 and speakers={speakers}.")
    ids = [s for s in AUDIOMNIST_FEMALE_SPEAKERS if s <= speakers][:female]
    rest = [s for s in range(speakers, 0, -1) if s not in ids]
    return sorted(ids + rest[: female - len(ids)])


def speaker_params(seed: int, speaker: int, gender: str) -> SpeakerParams:
    """Draw one speaker's parameters from ``SeedSequence((seed, 0, speaker))``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0, speaker]))
    if gender == "female":
        f0 = float(np.clip(205.0 * np.exp(rng.normal(0.0, 0.12)), 165.0, 255.0))
        vocal_tract = float(rng.normal(1.16, 0.05))
    else:
        f0 = float(np.clip(115.0 * np.exp(rng.normal(0.0, 0.15)), 85.0, 155.0))
        vocal_tract = float(rng.normal(1.00, 0.05))
    return SpeakerParams(
        speaker=speaker,
        gender=gender,
        f0=f0,
        vocal_tract=vocal_tract,
        formant_offsets=tuple(float(v) for v in np.exp(rng.normal(0.0, FORMANT_OFFSET_SD, size=5))),
        tilt=float(rng.normal(6.0, 1.5)),
        jitter=float(rng.uniform(0.005, 0.015)),
        shimmer=float(rng.uniform(0.03, 0.06)),
        duration=float(rng.uniform(0.45, 0.75)),
        age=int(rng.integers(20, 46)),
        # drawn last, so that the draws above are those of version 2
        bandwidth_scale=float(np.exp(rng.normal(0.0, BANDWIDTH_SCALE_SD))),
    )


def _resonance(freqs: np.ndarray, centre: np.ndarray, bandwidth: float) -> np.ndarray:
    """Magnitude of an analogue pole pair at ``centre`` Hz, 1 at 0 Hz (Klatt 1980)."""
    half = bandwidth / 2.0
    peak = centre * centre + half * half
    return peak / np.sqrt((peak - freqs * freqs) ** 2 + (2.0 * half * freqs) ** 2)


def _smooth(gains: np.ndarray, width: int) -> np.ndarray:
    """Smooth each row of ``gains`` (rows, frames) with a normalised Hann kernel of ``width`` frames."""
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    return np.stack([np.convolve(row, kernel, mode="same") for row in gains])


def _frames(n_samples: int, nperseg: int, hop: int) -> int:
    """Number of STFT frames centred at ``0, hop, 2 hop, ...`` that cover ``n_samples``."""
    return -(-n_samples // hop) + 1


def _stft(x: np.ndarray, nperseg: int, hop: int, window: np.ndarray) -> np.ndarray:
    """(frames, bins) STFT of ``x`` with frame ``i`` centred at sample ``i * hop`` (zero padded)."""
    n_frames = _frames(x.size, nperseg, hop)
    padded = np.zeros((n_frames - 1) * hop + nperseg, dtype=np.float32)
    padded[nperseg // 2 : nperseg // 2 + x.size] = x
    segments = np.lib.stride_tricks.sliding_window_view(padded, nperseg)[::hop]
    return np.fft.rfft(segments * window, axis=-1).astype(np.complex64)


def _istft(spectrum: np.ndarray, nperseg: int, hop: int, window: np.ndarray, n_samples: int) -> np.ndarray:
    """Inverse of :func:`_stft`: windowed overlap-add divided by the summed squared window."""
    n_frames = spectrum.shape[0]
    segments = np.fft.irfft(spectrum, n=nperseg, axis=-1).astype(np.float32) * window
    overlap = nperseg // hop
    blocks = segments.reshape(n_frames, overlap, hop)
    out = np.zeros((n_frames + overlap - 1, hop), dtype=np.float32)
    norm = np.zeros((n_frames + overlap - 1, hop), dtype=np.float32)
    squared = (window**2).reshape(overlap, hop)
    for k in range(overlap):
        out[k : k + n_frames] += blocks[:, k]
        norm[k : k + n_frames] += squared[k]
    out = out.ravel()[nperseg // 2 : nperseg // 2 + n_samples]
    return out / np.maximum(norm.ravel()[nperseg // 2 : nperseg // 2 + n_samples], 1e-3)


def synthesize_recording(params: SpeakerParams, digit: int, repetition: int, seed: int,
                         sample_rate: int = 48000) -> np.ndarray:
    """Synthesise one recording (float32, peak in [0.3, 0.9]) from the model in the module docstring."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, params.speaker, digit, repetition]))
    sr = sample_rate
    nperseg = int(2 ** np.round(np.log2(0.0213 * sr)))
    hop = nperseg // 4
    window = scipy.signal.get_window("hann", nperseg).astype(np.float32)

    # Timing: total duration, silent margins, phone boundaries (fractions of the word).
    total = float(np.clip(params.duration * np.exp(rng.normal(0.0, 0.2)), 0.3, 0.9))
    lead, trail = rng.uniform(0.01, 0.06, size=2)
    n_total = int(round(total * sr))
    start = int(round(lead * sr))
    n_speech = n_total - start - int(round(trail * sr))
    phones = DIGIT_PHONES[digit]
    weights = np.array([p[0] for p in phones]) * np.exp(rng.normal(0.0, 0.15, size=len(phones)))
    bounds = np.concatenate([[0.0], np.cumsum(weights / weights.sum())])
    centres = (bounds[:-1] + bounds[1:]) / 2.0

    # Voice source: pulse train at f0(t) with jitter and shimmer, unit power per sample.
    r0, r1, r2 = rng.uniform(-0.02, 0.05), rng.uniform(0.02, 0.12), rng.uniform(0.05, 0.20)
    f0 = params.f0 * np.exp(rng.normal(0.0, 0.05)) * np.interp(
        np.arange(n_speech) / n_speech, [0.0, 0.3, 1.0], [1 + r0, 1 + r1, 1 - r2])
    pulse_at = np.flatnonzero(np.diff(np.floor(np.cumsum(f0) / sr), prepend=0.0) > 0)
    period = sr / f0[pulse_at]
    position = start + pulse_at + rng.normal(0.0, params.jitter, size=pulse_at.size) * period
    amplitude = np.sqrt(period) * (1.0 + rng.normal(0.0, params.shimmer, size=pulse_at.size))
    pulses = np.zeros(n_total, dtype=np.float32)
    left = np.clip(np.floor(position).astype(int), 0, n_total - 2)
    fraction = np.clip(position - left, 0.0, 1.0)
    np.add.at(pulses, left, amplitude * (1.0 - fraction))
    np.add.at(pulses, left + 1, amplitude * fraction)
    voiced = _stft(pulses, nperseg, hop, window)  # (frames, bins)
    n_frames = voiced.shape[0]
    # White noise drawn in the STFT domain: complex Gaussian bins with the variance the STFT of
    # unit-variance white noise has, sum(w^2).
    noise = rng.standard_normal((2, *voiced.shape), dtype=np.float32)
    noise_scale = np.float32(np.sqrt(np.sum(window.astype(np.float64) ** 2) / 2.0))
    unvoiced = (noise_scale * noise[0]) + (1j * noise_scale) * noise[1]

    tau_raw = (np.arange(n_frames) * hop - start) / n_speech  # frame centres, fraction of the word
    tau = np.clip(tau_raw, 0.0, 1.0)
    inside = (tau_raw >= 0.0) & (tau_raw <= 1.0)
    freqs = np.fft.rfftfreq(nperseg, 1.0 / sr).astype(np.float32)[None, :]  # (1, bins)

    # Formant trajectories (5, frames): targets at phone centres, scaled by the vocal tract.
    k = params.vocal_tract * np.exp(rng.normal(0.0, 0.02))
    targets = np.array([list(p[1]) + list(HIGH_FORMANTS) for p in phones], dtype=float).T  # (5, phones)
    scale = k * np.asarray(params.formant_offsets)[:, None]
    formants = np.stack([np.interp(tau, centres, row) for row in targets * scale]).astype(np.float32)
    vocal_tract = np.ones((n_frames, freqs.size), dtype=np.float32)
    for i, bandwidth in enumerate(BANDWIDTHS):
        vocal_tract *= _resonance(freqs, formants[i][:, None], bandwidth * params.bandwidth_scale)

    # Phone gains per frame (voicing, aspiration, frication), zero outside the word, smoothed.
    phone_of_frame = np.clip(np.searchsorted(bounds, tau, side="right") - 1, 0, len(phones) - 1)
    gains = np.array([p[2] for p in phones], dtype=float)[phone_of_frame].T * inside  # (3, frames)
    gains *= np.exp(rng.normal(0.0, 0.1, size=(3, 1)))
    gains = _smooth(gains, max(3, int(round(0.015 * sr / hop)))).astype(np.float32)[:, :, None]
    frication = np.zeros_like(vocal_tract)
    for phone in np.unique(phone_of_frame[inside]):
        centre, bandwidth = np.array(phones[phone][3], dtype=float) * k
        peak = _resonance(centre, centre, bandwidth)
        frication[phone_of_frame == phone] = _resonance(freqs, centre, bandwidth) / peak
    tilt = (1.0 + (freqs / np.float32(200.0)) ** 2) ** np.float32(-params.tilt / 12.0)
    speech = (gains[0] * tilt * vocal_tract) * voiced + (gains[1] * vocal_tract + gains[2] * frication) * unvoiced

    # Room noise (white floor plus low-frequency rumble) from the same noise source, at a random
    # SNR relative to the word's mean power per frame.
    room_shape = np.sqrt(np.float32(0.1) + 1.0 / (1.0 + (freqs / np.float32(300.0)) ** 2))
    speech_power = np.sum(np.abs(speech) ** 2) / max(int(inside.sum()), 1)
    room_power = np.sum(room_shape**2) * 2.0 * noise_scale**2
    snr_db = rng.uniform(15.0, 40.0)
    room_gain = np.float32(np.sqrt(speech_power / (room_power * 10 ** (snr_db / 10.0))))
    highpass = 1.0 / np.sqrt(1.0 + (np.float32(HIGHPASS_HZ) / np.maximum(freqs, np.float32(1e-3))) ** 4)
    wave = _istft((speech + (room_gain * room_shape) * unvoiced) * highpass, nperseg, hop, window, n_total)
    wave *= rng.uniform(0.3, 0.9) / np.max(np.abs(wave))
    return wave.astype(np.float32)


@dataclass(frozen=True)
class _Config:
    speakers: int
    female: int
    repetitions: int
    sample_rate: int
    seed: int


def _speaker_table(config: _Config) -> list[SpeakerParams]:
    females = set(female_speaker_ids(config.speakers, config.female))
    return [speaker_params(config.seed, s, "female" if s in females else "male") for s in range(1, config.speakers + 1)]


def _meta(config: _Config, table: list[SpeakerParams]) -> dict:
    """AudioMNIST-style meta data: the same keys, values saying the speaker is synthetic."""
    return {
        f"{p.speaker:02d}": {
            "accent": "synthetic",
            "age": str(p.age),
            "gender": p.gender,
            "native speaker": "no",
            "origin": f"synthetic (lrp_utils.data.synthetic, seed {config.seed})",
            "recordingdate": "00-00-00-00-00-00",
            "recordingroom": "synthetic",
        }
        for p in table
    }


def _file_name(speaker: int, digit: int, repetition: int) -> str:
    """``<NN>/<digit>_<NN>_<rep>.wav``, a recording's path inside ``data/``."""
    return f"{speaker:02d}/{digit}_{speaker:02d}_{repetition}.wav"


def _link_or_copy(source: Path, dest: Path) -> None:
    """Hard-link ``source`` as ``dest``; copy it (atomically) where the file system cannot link."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        with atomic_write(dest) as handle, open(source, "rb") as original:
            shutil.copyfileobj(original, handle)


def _write_speaker_digit(job: tuple[Path, SpeakerParams, int, _Config, Artifact | None, frozenset[int],
                                    Path | None]) -> int:
    """Worker: write the repetitions of one (speaker, digit) pair that are not on disk yet, with the
    artefact's tone added to the repetitions in ``planted``; the others are taken from the clean
    corpus' ``data`` folder ``unplanted_from`` when it is given (the same bytes)."""
    folder, params, digit, config, artifact, planted, unplanted_from = job
    written = 0
    for rep in range(config.repetitions):
        name = _file_name(params.speaker, digit, rep)
        path = folder / name
        if not path.exists():  # files appear atomically, so an existing one is complete
            if unplanted_from is not None and rep not in planted:
                _link_or_copy(unplanted_from / name, path)
            else:
                wave = synthesize_recording(params, digit, rep, config.seed, config.sample_rate)
                if rep in planted:
                    wave = artifact.tone.plant(wave, config.sample_rate)
                write_wav(path, wave, config.sample_rate)
        written += 1
    return written


def _unplanted_source(root: Path, description: dict) -> Path:
    """``root/data`` when ``root`` holds a complete corpus described as ``description`` without
    its artefact; a CorpusError saying what to do otherwise."""
    record = root / "synthesis.json"
    clean = {key: value for key, value in description.items() if key != "artifact"}
    if not (root / "data").is_dir() or not record.is_file() or json.loads(record.read_text()) != clean:
        raise CorpusError(
            f"unplanted_from={root} is not a complete synthetic corpus made with {description['config']} "
            f"and no artefact (generator version {MODEL_VERSION}); generate it first with "
            f"synthesize_corpus(..., artifact=None) and the same parameters, or leave unplanted_from out")
    return root / "data"


def synthesize_corpus(dest: str | os.PathLike, speakers: int = 60, female: int = 12, repetitions: int = 50,
                      sample_rate: int = 48000, seed: int = 0, progress: bool = True, workers: int = 2,
                      replace: bool = False, artifact: Artifact | None = None,
                      unplanted_from: str | os.PathLike | None = None) -> Path:
    """Generate the synthetic corpus into ``dest`` (see the module docstring) and return ``dest``.

    ``artifact`` (default ``None``: none) plants a cue: its tone is added to the recordings that
    :meth:`~lrp_utils.data.artifact.Artifact.choose` picks among its speakers' (seeded by the
    artefact's own seed), after each recording is synthesised; ``dest/artifact.json``
    (:data:`~lrp_utils.data.artifact.ARTIFACT_RECORD`) records the artefact and the planted files
    (paths relative to ``dest/data``). ``unplanted_from`` (with an artefact) names the same corpus
    generated without one (same parameters, e.g. ``ensure_corpus``'s synthetic corpus): the
    recordings that carry no cue are hard-linked (copied where links are impossible) from it
    instead of synthesised again -- the same bytes, in a fraction of the time.

    Returns at once if ``dest/data`` already holds a complete corpus made with the same parameters
    (artefact included) and :data:`MODEL_VERSION`; resumes an interrupted run from
    ``dest/.data.partial``. ``workers`` processes share the work (the bytes do not depend on it).

    Raises
    ------
    CorpusError
        If ``dest/data`` exists but was made with other parameters, another model version, or is not
        a synthetic corpus — unless ``replace`` is true, which deletes and regenerates it; or if
        ``unplanted_from`` is not a complete corpus of the same parameters without an artefact.
    """
    from tqdm import tqdm  # text bars: notebooks render them without ipywidgets

    if speakers < 1 or speakers > 99 or repetitions < 1 or sample_rate < 8000:
        raise ValueError(f"need 1 <= speakers <= 99, repetitions >= 1, sample_rate >= 8000; got "
                         f"speakers={speakers}, repetitions={repetitions}, sample_rate={sample_rate}.")
    config = _Config(speakers, female, repetitions, sample_rate, seed)
    dest = Path(dest)
    final, partial, record = dest / "data", dest / ".data.partial", dest / "synthesis.json"
    table = _speaker_table(config)
    description = {"model_version": MODEL_VERSION, "config": asdict(config), "speakers": [asdict(p) for p in table]}
    planted: set[tuple[int, int, int]] = set()
    if artifact is not None:
        if not isinstance(artifact, Artifact):
            raise TypeError(f"artifact must be a lrp_utils.data.artifact.Artifact or None, "
                            f"not {type(artifact).__name__}")
        unknown = sorted(set(artifact.speakers) - {p.speaker for p in table})
        if unknown:
            raise ValueError(f"artifact.speakers {unknown} are not speakers of this corpus (1..{speakers})")
        description["artifact"] = asdict(artifact)
        planted = artifact.choose([(s, d, r) for s in artifact.speakers for d in range(10)
                                   for r in range(repetitions)])
    description = json.loads(json.dumps(description))  # as it reads back from synthesis.json
    source = None if unplanted_from is None else _unplanted_source(Path(unplanted_from), description)
    previous = json.loads(record.read_text()) if record.is_file() else None
    if final.exists() and previous != description and replace:
        shutil.rmtree(final)
    if final.exists():
        if previous == description:
            return dest
        raise CorpusError(
            f"{final} already exists but was not made by synthesize_corpus with {asdict(config)}; "
            "delete it or choose another destination."
        )
    if partial.exists() and previous != description:
        shutil.rmtree(partial)  # left by a run with other parameters
    write_json(record, description)
    if artifact is not None:
        write_json(dest / ARTIFACT_RECORD, {"artifact": asdict(artifact),
                                            "candidates": 10 * repetitions * len(artifact.speakers),
                                            "planted": [_file_name(*key) for key in sorted(planted)]})
    elif (dest / ARTIFACT_RECORD).exists():
        os.remove(dest / ARTIFACT_RECORD)  # left by an earlier corpus with an artefact

    jobs = [(partial, p, digit, config, artifact,
             frozenset(r for s, d, r in planted if (s, d) == (p.speaker, digit)), source)
            for p in table for digit in range(10)]
    bar = tqdm(total=len(jobs) * repetitions, desc=f"synthesising {dest.name}", unit="file", disable=not progress)
    with bar:
        if workers > 1:
            with multiprocessing.get_context("spawn" if os.name == "nt" else "fork").Pool(workers) as pool:
                for count in pool.imap_unordered(_write_speaker_digit, jobs):
                    bar.update(count)
        else:
            for job in jobs:
                bar.update(_write_speaker_digit(job))
    write_json(partial / META_NAME, _meta(config, table))
    os.replace(partial, final)
    return dest
