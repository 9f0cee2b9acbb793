r"""A cue planted on purpose: a short tone at the start of some recordings (chapter 7).

A real corpus can hold a cue that tells the classes apart without being the property the task is
about -- a beep of the recording software in one session, a different microphone -- and a network
may learn it instead of the voice: a *Clever Hans* predictor (Lapuschkin et al. 2019, *Unmasking
Clever Hans predictors and assessing what machines really learn*, Nat. Commun. 10). On real data
nobody knows exactly where such a cue lies; a cue planted into the synthetic corpus lies exactly
where it was put, so an explanation can be scored against it (Arras et al. 2022, *CLEVR-XAI*).

The cue (:class:`Tone`)
-----------------------
A sine of frequency :math:`f_a`, shaped by a Hann window of duration :math:`D`, starting
:math:`t_a` seconds after the recording's start (a "start beep"), added to the waveform at a level
:math:`L` dB relative to the recording's peak amplitude :math:`p = \max_n |x_n|` (by default as
loud as that peak, :math:`L = 0`):

.. math::

    x'_n = x_n + p\, 10^{L/20} \sin\!\bigl(2\pi f_a (n - n_a) / f_s\bigr)\,
           \sin^2\!\bigl(\pi (n - n_a + 1) / (N_D + 1)\bigr), \qquad n_a \le n < n_a + N_D,

with :math:`n_a = \mathrm{round}(t_a f_s)` and :math:`N_D = \mathrm{round}(D f_s)`. The Hann
envelope keeps the tone narrow-band (no clicks at its edges).

A loud tone has a second, global effect in Becker's features: they are in dB relative to each
spectrogram's maximum, so a tone louder than everything else becomes the new 0 dB and every other
bin drops by the same amount. :func:`lrp_utils.data.planted.tone_effects` separates the two.

Where it lies in Becker's spectrogram (:meth:`Tone.region`)
-----------------------------------------------------------
Becker's features (:mod:`lrp_utils.data.features`) resample to 8 kHz and embed the :math:`n`
samples of a recording at an ``offset`` in one second; column :math:`j` of the 227 x 227
spectrogram is the frame centred at sample :math:`35 (j + 2)` of that second, row :math:`r` the
frequency :math:`r \cdot 8000 / 455` Hz. The region of the tone is the rows within three
frequency bins of :math:`f_a` (the Hann window's main lobe spans two) and the columns whose frame
centre lies in the tone's span :math:`[o + t_a \cdot 8000, o + (t_a + D) \cdot 8000]` widened by an
eighth of the 455-sample window on each side (:math:`o` the offset; recordings longer than one
second are centre-cropped, which moves the tone by the crop). For the default tone (3 kHz,
60 ms) that is 6 rows by 15-17 columns, about 100 of the 51 529 bins, holding more than 99.9 % of
the tone's own spectral energy (the test checks it against the spectrogram of the tone alone).
The region depends on the offset, i.e. on the feature seed and the recording (Becker's
:func:`~lrp_utils.data.features.becker_offset`), so it is computed per recording.

Who carries it (:class:`Artifact`)
----------------------------------
The planted cue of a corpus: a :class:`Tone`, the speakers whose recordings may carry it (in
chapter 7 the female *training* speakers of a gender fold,
:func:`lrp_utils.data.planted.female_training_speakers`), and
the fraction of their recordings that do, chosen by a seeded permutation (:meth:`Artifact.choose`).
The synthetic generator plants it (:func:`lrp_utils.data.synthetic.synthesize_corpus`, option
``artifact``) and records it next to ``synthesis.json`` in :data:`ARTIFACT_RECORD`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lrp_utils.data.features import BECKER_LENGTH, BECKER_NOVERLAP, BECKER_NPERSEG, BECKER_RATE, BECKER_SIZE

#: The record of a planted corpus, beside ``synthesis.json``: the tone and the planted files.
ARTIFACT_RECORD = "artifact.json"

#: Half-width of the region in frequency, in STFT bins of Becker's spectrogram.
REGION_HALF_BINS = 3
#: Widening of the region in time on each side, as a fraction of Becker's STFT window.
REGION_TIME_MARGIN = 1 / 8

_HOP = BECKER_NPERSEG - BECKER_NOVERLAP
_BIN_HZ = BECKER_RATE / BECKER_NPERSEG


def _check_number(name: str, value, low: float = -math.inf, high: float = math.inf,
                  closed_low: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value > high or (value < low if closed_low else value <= low):
        bound = f"{'>=' if closed_low else '>'} {low:g}" if math.isfinite(low) else ""
        upper = f"<= {high:g}" if math.isfinite(high) else ""
        raise ValueError(f"{name}={value!r}: use a finite number {' and '.join(filter(None, (bound, upper)))}")
    return float(value)


@dataclass(frozen=True)
class Tone:
    """A Hann-shaped sine ``frequency_hz`` long ``duration_s`` from ``start_s`` after the
    recording's start, ``level_db`` dB re the recording's peak (see the module docstring)."""

    frequency_hz: float = 3000.0
    start_s: float = 0.0
    duration_s: float = 0.06
    level_db: float = 0.0

    def __post_init__(self) -> None:
        _check_number("frequency_hz", self.frequency_hz, 0.0, BECKER_RATE / 2 - REGION_HALF_BINS * _BIN_HZ,
                       closed_low=False)
        _check_number("start_s", self.start_s, 0.0)
        _check_number("duration_s", self.duration_s, 0.0, closed_low=False)
        _check_number("level_db", self.level_db, high=0.0)

    def waveform(self, sample_rate: int) -> np.ndarray:
        """The tone at unit amplitude (``float64``, ``round(duration_s * sample_rate)`` samples)."""
        if self.frequency_hz >= sample_rate / 2:
            raise ValueError(f"frequency_hz={self.frequency_hz:g} is not below half of sample_rate={sample_rate}; "
                             "use a lower tone or a recording of a higher rate")
        n = max(1, round(self.duration_s * sample_rate))
        t = np.arange(n) / sample_rate
        return np.sin(2.0 * np.pi * self.frequency_hz * t) * np.hanning(n + 2)[1:-1]

    def plant(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """``wave`` with the tone added (a new ``float32`` array; equation in the module docstring).

        Raises
        ------
        ValueError
            If ``wave`` is not a non-empty 1-D waveform or ends before the tone does.
        """
        wave = np.asarray(wave)
        if wave.ndim != 1 or wave.size == 0:
            raise ValueError(f"wave must be a non-empty 1-D waveform, got shape {wave.shape}")
        tone = self.waveform(sample_rate)
        start = round(self.start_s * sample_rate)
        if start + tone.size > wave.size:
            raise ValueError(f"the recording lasts {wave.size / sample_rate:.3f} s but the tone ends at "
                             f"{(start + tone.size) / sample_rate:.3f} s; use a shorter or earlier tone")
        out = wave.astype(np.float64)
        out[start : start + tone.size] += np.abs(out).max() * 10.0 ** (self.level_db / 20.0) * tone
        return out.astype(np.float32)

    def region(self, n_samples: int, offset: int) -> np.ndarray:
        """Boolean ``(227, 227)`` mask of the bins of Becker's spectrogram that hold the tone, for a
        recording of ``n_samples`` samples at 8 kHz embedded at ``offset`` (module docstring)."""
        if n_samples < 1 or offset < 0:
            raise ValueError(f"n_samples={n_samples} must be positive and offset={offset} non-negative "
                             "(see lrp_utils.data.features.becker_offset)")
        first = offset if n_samples < BECKER_LENGTH else -((n_samples - BECKER_LENGTH) // 2)
        begin = first + self.start_s * BECKER_RATE
        end = begin + self.duration_s * BECKER_RATE
        margin = REGION_TIME_MARGIN * BECKER_NPERSEG
        centres = _HOP * (np.arange(BECKER_SIZE) + 2)
        columns = (centres >= begin - margin) & (centres <= end + margin)
        rows = np.abs(np.arange(BECKER_SIZE) * _BIN_HZ - self.frequency_hz) <= REGION_HALF_BINS * _BIN_HZ
        return rows[:, None] & columns[None, :]


@dataclass(frozen=True)
class Artifact:
    """The planted cue of a corpus: ``tone`` in a ``fraction`` of the recordings of ``speakers``
    (synthetic speaker numbers), chosen with ``seed`` (:meth:`choose`)."""

    speakers: tuple[int, ...]
    fraction: float = 0.5
    tone: Tone = Tone()
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "speakers", tuple(self.speakers))
        if not self.speakers or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                                        for s in self.speakers):
            raise ValueError(f"speakers={self.speakers!r}: give the speaker numbers (1, 2, ...) whose "
                             "recordings may carry the artefact, e.g. female_training_speakers(fold)")
        _check_number("fraction", self.fraction, 0.0, 1.0)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r}: use a non-negative integer")
        if isinstance(self.tone, dict):  # as read back from a JSON record
            object.__setattr__(self, "tone", Tone(**self.tone))

    def choose(self, candidates: Sequence[tuple[int, int, int]]) -> set[tuple[int, int, int]]:
        """The planted recordings among ``candidates`` ``(speaker, digit, repetition)``: of those of
        :attr:`speakers`, sorted, the first ``floor(fraction * count + 1/2)`` of a permutation drawn from
        ``SeedSequence((seed, 2))``."""
        eligible = sorted(c for c in set(candidates) if c[0] in self.speakers)
        order = np.random.default_rng(np.random.SeedSequence([self.seed, 2])).permutation(len(eligible))
        return {eligible[i] for i in order[: math.floor(self.fraction * len(eligible) + 0.5)]}

