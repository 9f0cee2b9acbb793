r"""Listen to an explanation: a recording resynthesised from only its most (or least) relevant
time-frequency bins.

A heatmap shows *where* in the spectrogram the evidence lies; resynthesising the recording from
just those bins lets a reader *hear* it (the "sonification" of relevance maps; cf. Becker et al.
2018, who listened to relevance-masked AudioMNIST digits).  For a relevance map :math:`R` and a
fraction :math:`p`, the mask keeps the :math:`k = \lfloor p \cdot HW + \tfrac12 \rfloor` bins of
highest relevance (:func:`lrp_utils.evaluation.selection.top_fraction_mask`, the bins pixel
flipping flips first) -- or, as a control, the :math:`k` bins of lowest relevance:

.. math::  M_b = [\operatorname{rank}_R(b) < k], \qquad \hat x = \operatorname{resynth}(M \odot Z).

- **Becker spectrogram** (the AlexNet's input, chapter 2): the STFT is invertible, so the masked
  complex STFT :math:`M \odot Z` of the recording's 8 kHz frame keeps the recording's own phase
  and is inverted exactly by the least-squares inverse STFT (Griffin & Lim 1984) that
  ``scipy.signal.istft`` implements for ``scipy.signal.stft`` (the transform the spectrogram is
  defined by).  The bins the 227 x 227 spectrogram does not show (the 4 kHz row and three edge
  frames) take the mask of their nearest shown bin, so that with every bin kept the resynthesis
  reproduces the frame to within :data:`BECKER_FULL_MASK_TOLERANCE` of its peak
  (:func:`becker_resynthesis`).
- **Kaldi filterbank** (the speaker ResNet's input, chapter 5): 64 mel bands of 25 ms frames are
  not invertible.  The mel-band mask is spread over the linear frequencies each band's triangle
  covers (weighted by the triangles), applied to the magnitude of a 25 ms / 10 ms STFT aligned
  with Kaldi's frames, and a waveform is estimated from that magnitude alone by Griffin-Lim
  (``torchaudio.transforms.GriffinLim``, deterministic start) -- :func:`fbank_resynthesis`.
"""

from __future__ import annotations

import html
from typing import Callable, Mapping, Sequence

import numpy as np
import scipy.signal
import torch
import torchaudio

from lrp_utils.data.audio import read_wav
from lrp_utils.data.features import (BECKER_NOVERLAP, BECKER_NPERSEG, BECKER_RATE, BECKER_SIZE,
                                     BeckerFeature, amplitude_to_db, becker_stft_magnitude, fbank,
                                     highpass, resample)
from lrp_utils.evaluation.selection import top_fraction_mask

#: Largest error of the full-mask Becker resynthesis, relative to the frame's peak (the inverse
#: STFT is exact up to floating-point rounding).
BECKER_FULL_MASK_TOLERANCE = 1e-9
#: Kaldi framing of :func:`lrp_utils.data.features.fbank` at 16 kHz: 25 ms windows every 10 ms.
FBANK_RATE, FBANK_WINDOW, FBANK_HOP, FBANK_NFFT = 16000, 400, 160, 512
#: Kaldi's lowest mel-filter edge (``low_freq``), in Hz.
FBANK_LOW_HZ = 20.0


def relevance_mask(relevance: torch.Tensor | np.ndarray, fraction: float,
                   most_relevant: bool = True) -> np.ndarray:
    """Boolean mask of the ``fraction`` most (``most_relevant=True``) or least relevant bins of one
    relevance map (any shape, e.g. ``(1, 227, 227)``; returned squeezed to 2-D).

    The same bins pixel flipping flips first (:func:`~lrp_utils.evaluation.selection.top_fraction_mask`);
    the least relevant are the most relevant of ``-relevance``.
    """
    r = torch.as_tensor(np.asarray(relevance, dtype=np.float64)).squeeze()
    if r.ndim != 2:
        raise ValueError(f"relevance must be one 2-D map (frequency x time), got shape {tuple(r.shape)}")
    if not torch.isfinite(r).all():
        raise ValueError("relevance contains NaN or infinite values; explain the input again")
    r = r if most_relevant else -r
    return top_fraction_mask(r[None], fraction)[0].numpy()


def becker_stft(frame: np.ndarray) -> np.ndarray:
    """Complex STFT of an 8 kHz frame exactly as Becker's spectrogram computes it
    (``scipy.signal.stft(x, 8000, nperseg=455, noverlap=420, window='hann')``): 228 rows, whose
    rows ``0:227`` and columns ``2:-1`` are the spectrogram's 227 x 227 bins."""
    frame = _check_wave(frame, "frame")
    return scipy.signal.stft(frame, BECKER_RATE, window="hann", nperseg=BECKER_NPERSEG,
                             noverlap=BECKER_NOVERLAP)[2]


def becker_resynthesis(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    r"""The 8 kHz ``frame`` resynthesised from the spectrogram bins ``mask`` selects, with its own phase.

    ``mask`` is ``(227, 227)`` (boolean or weights in [0, 1]) over the Becker spectrogram's bins;
    bins the spectrogram does not show (row 227, columns 0, 1 and the last) take the mask of the
    nearest shown bin.  :math:`\hat x = \mathrm{ISTFT}(M \odot Z)`
    with ``scipy.signal.istft`` (least-squares overlap-add).  Returns ``len(frame)`` samples.
    """
    z = becker_stft(frame)
    mask = np.asarray(mask, dtype=np.float64)
    if mask.shape != (BECKER_SIZE, BECKER_SIZE):
        raise ValueError(f"mask must cover the {BECKER_SIZE} x {BECKER_SIZE} Becker spectrogram, got "
                         f"shape {mask.shape}")
    full = np.pad(mask, ((0, z.shape[0] - BECKER_SIZE), (2, z.shape[1] - BECKER_SIZE - 2)), mode="edge")
    wave = scipy.signal.istft(z * full, BECKER_RATE, window="hann", nperseg=BECKER_NPERSEG,
                              noverlap=BECKER_NOVERLAP)[1]
    return wave[: len(frame)]


def fbank_resynthesis(wave: np.ndarray, sample_rate: int, mask: np.ndarray, n_iter: int = 32) -> np.ndarray:
    r"""A 16 kHz waveform whose spectrum keeps only the filterbank bins ``mask`` selects (Griffin-Lim).

    ``wave`` is the recording at ``sample_rate`` (as :func:`lrp_utils.data.features.fbank` reads it);
    ``mask`` is ``(mel bands, frames)`` over the filterbank's *centre-cropped* frames (fbank step 4:
    the crop starts at frame ``(T - frames) // 2``).  Each linear frequency :math:`f` of frame
    :math:`t` gets :math:`m(f, t) = \sum_j W_{fj} M_{jt} / \sum_j W_{fj}` (``W``: the HTK mel
    triangles of Kaldi's filterbank, 0 below 20 Hz); frames outside the crop get 0.  The masked
    magnitude of a 25 ms (Hann) / 10 ms STFT, centred on Kaldi's frames, goes through ``n_iter``
    Griffin-Lim iterations from a zero phase (deterministic).  Returns the waveform at 16 kHz.
    """
    audio = torch.as_tensor(resample(_check_wave(wave, "wave"), sample_rate, FBANK_RATE), dtype=torch.float64)
    mask = np.asarray(mask, dtype=np.float64)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (mel bands, frames), got shape {mask.shape}")
    total = 1 + (audio.numel() - FBANK_WINDOW) // FBANK_HOP
    if total < 1:
        raise ValueError(f"wave is shorter than one 25 ms frame ({audio.numel()} samples at 16 kHz)")
    start = max(0, (total - mask.shape[1]) // 2)
    mel_mask = torch.zeros(mask.shape[0], total, dtype=torch.float64)
    shown = min(mask.shape[1], total)
    mel_mask[:, start:start + shown] = torch.as_tensor(mask[:, :shown])

    weights = torchaudio.functional.melscale_fbanks(FBANK_NFFT // 2 + 1, FBANK_LOW_HZ, FBANK_RATE / 2,
                                                    mask.shape[0], FBANK_RATE, mel_scale="htk").double()
    covered = weights.sum(dim=1, keepdim=True)
    linear_mask = (weights @ mel_mask) / covered.clamp_min(1e-12)

    # Kaldi's frame t spans samples [160 t, 160 t + 400): centred at 160 t + 200.
    centred = audio[FBANK_WINDOW // 2:]
    window = torch.hann_window(FBANK_WINDOW, dtype=torch.float64)
    spectrum = torch.stft(centred, FBANK_NFFT, FBANK_HOP, FBANK_WINDOW, window, center=True,
                          return_complex=True).abs()
    frames = min(spectrum.shape[1], total)
    target = torch.zeros_like(spectrum)
    target[:, :frames] = spectrum[:, :frames] * linear_mask[:, :frames]
    griffin_lim = torchaudio.transforms.GriffinLim(n_fft=FBANK_NFFT, n_iter=n_iter, win_length=FBANK_WINDOW,
                                                   hop_length=FBANK_HOP, power=1.0, rand_init=False,
                                                   length=centred.numel(), window_fn=torch.hann_window,
                                                   wkwargs={"dtype": torch.float64})
    estimate = griffin_lim(target)
    return torch.cat([torch.zeros(FBANK_WINDOW // 2, dtype=torch.float64), estimate]).numpy()


def sonified_relevance(resynthesize: Callable[[np.ndarray], np.ndarray],
                       relevance: torch.Tensor | np.ndarray,
                       fractions: Sequence[float] = (0.05, 0.1, 0.2)) -> dict[str, np.ndarray]:
    """What to listen to for one explained input: the resynthesis from every bin (the recording as
    the model hears it), from the ``fractions`` most relevant bins, and -- the control -- from as
    many of the *least* relevant bins as the largest fraction.

    ``resynthesize(mask) -> waveform`` is e.g. ``functools.partial(becker_resynthesis, frame)``;
    the masks come from :func:`relevance_mask`.  Keys: ``"every bin"``, ``"most relevant 5 %"``,
    ..., ``"least relevant 20 %"``.
    """
    if not fractions:
        raise ValueError("fractions is empty; give e.g. (0.05, 0.1, 0.2)")
    shape = np.asarray(relevance).squeeze().shape
    sounds = {"every bin": resynthesize(np.ones(shape))}
    for fraction in fractions:
        sounds[f"most relevant {100 * fraction:g} %"] = resynthesize(relevance_mask(relevance, fraction))
    largest = max(fractions)
    sounds[f"least relevant {100 * largest:g} %"] = resynthesize(relevance_mask(relevance, largest, False))
    return sounds


def becker_listening(recording, spectrogram: torch.Tensor | np.ndarray, relevance: torch.Tensor | np.ndarray,
                     seed: int = 0, highpass_hz: float | None = None,
                     fractions: Sequence[float] = (0.05, 0.1, 0.2)) -> tuple[dict[str, np.ndarray], int]:
    """The sounds of :func:`sonified_relevance` for one explained Becker spectrogram, at 8 kHz.

    ``recording`` is the dataset item's :class:`~lrp_utils.data.Recording`; ``seed`` and
    ``highpass_hz`` the feature settings of its dataset (the profile's ``seed`` and
    ``highpass_hz``).  The recording's 8 kHz frame is rebuilt and checked against ``spectrogram``
    (a ValueError if they differ by more than 0.01 dB: wrong recording or settings) and comes first,
    as ``"recording"``.  Returns the sounds and their sample rate.
    """
    frame = BeckerFeature(seed=seed, highpass_hz=highpass_hz).frame(recording)
    rebuilt = amplitude_to_db(becker_stft_magnitude(frame)[:BECKER_SIZE, 2:-1])
    _check_same(rebuilt, spectrogram, recording, "seed and highpass_hz")
    return {"recording": frame, **sonified_relevance(lambda mask: becker_resynthesis(frame, mask), relevance,
                                                     fractions)}, BECKER_RATE


def fbank_listening(recording, features: torch.Tensor | np.ndarray, relevance: torch.Tensor | np.ndarray,
                    highpass_hz: float | None = None, fractions: Sequence[float] = (0.05, 0.1, 0.2),
                    n_iter: int = 32) -> tuple[dict[str, np.ndarray], int]:
    """The sounds of :func:`sonified_relevance` for one explained filterbank input, at 16 kHz.

    ``features`` is the ``(mel bands, frames)`` input (a centre crop of the recording, as
    :func:`lrp_utils.data.features.fbank` computes it with ``frames``), checked against the
    recording (ValueError if it differs by more than 1e-3); every sound, ``"recording"`` first, is
    cut to the samples the cropped frames cover.  Griffin-Lim: :func:`fbank_resynthesis`.
    """
    features = np.asarray(features, dtype=np.float64).squeeze()
    wave, rate = read_wav(recording.path)
    if highpass_hz is not None:
        wave = highpass(wave, rate, highpass_hz)
    _check_same(fbank(wave, rate, features.shape[0], features.shape[1]), features, recording, "highpass_hz")
    audio = resample(np.asarray(wave, dtype=np.float64), rate, FBANK_RATE)
    total = 1 + (audio.size - FBANK_WINDOW) // FBANK_HOP
    first = max(0, (total - features.shape[1]) // 2) * FBANK_HOP
    shown = slice(first, first + (features.shape[1] - 1) * FBANK_HOP + FBANK_WINDOW)
    sounds = sonified_relevance(lambda mask: fbank_resynthesis(wave, rate, mask, n_iter), relevance, fractions)
    return {"recording": audio[shown], **{label: sound[shown] for label, sound in sounds.items()}}, FBANK_RATE


def _check_same(rebuilt: np.ndarray, given, recording, settings: str) -> None:
    given = np.asarray(given, dtype=np.float64).squeeze()
    if given.shape != rebuilt.shape or np.abs(given - rebuilt).max() > 1e-2:
        raise ValueError(f"the input does not come from {recording.path} with these feature settings "
                         f"({settings}): pass the recording of the same dataset item and its profile's "
                         "settings")


def audio_table(sounds: Mapping[str, np.ndarray], rate: int, reference: str | None = None) -> str:
    """An HTML table of embedded audio players (WAV as ``data:`` URIs: works offline), one per sound.

    All sounds are scaled by one factor -- the peak of ``sounds[reference]`` (default: the
    loudest) -- so that their loudness stays comparable: resynthesis from 5 % of the bins *is*
    quieter than the recording.  Display it with ``IPython.display.HTML``.
    """
    if not sounds:
        raise ValueError("sounds is empty; give at least one label -> waveform")
    if reference is not None and reference not in sounds:
        raise ValueError(f"reference {reference!r} is not one of the sounds {list(sounds)}")
    peak = max(float(np.abs(w).max()) for w in sounds.values()) if reference is None \
        else float(np.abs(sounds[reference]).max())
    from IPython.display import Audio

    rows = []
    for label, wave in sounds.items():
        scaled = np.clip(np.asarray(wave, dtype=np.float64) / max(peak, 1e-12), -1.0, 1.0)
        player = Audio(scaled, rate=rate, normalize=False)._repr_html_()
        rows.append(f"<tr><td>{html.escape(label)}</td><td>{player}</td></tr>")
    return '<table class="sonified-relevance">' + "".join(rows) + "</table>"


def _check_wave(wave: np.ndarray, name: str) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D waveform, got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise ValueError(f"{name} contains NaN or infinite samples")
    return wave
