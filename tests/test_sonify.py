"""Sonified relevance (lrp_utils.sonify): the resynthesis inverts the Becker STFT, keeps what the
mask selects and nothing else; Griffin-Lim reproduces a filterbank recording's spectrum."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from lrp_utils import sonify
from lrp_utils.data.audio import read_wav
from lrp_utils.data.features import (becker_frame, becker_offset, becker_spectrogram, becker_stft_magnitude,
                                     embed, fbank, resampled_length)
from tests.conftest import require_shared_dataset

RATE = 8000


def _tones(freqs, n=5000, rate=RATE, noise=0.01, seed=0):
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    return sum(np.sin(2 * np.pi * f * t) for f in freqs) * np.hanning(n) + noise * rng.standard_normal(n)


def _band_energy(wave, low, high, rate=RATE):
    spectrum = np.abs(np.fft.rfft(wave)) ** 2
    freqs = np.fft.rfftfreq(wave.size, 1 / rate)
    return spectrum[(freqs >= low) & (freqs < high)].sum() / spectrum.sum()


def test_becker_stft_is_the_spectrogram_transform():
    frame = embed(_tones([220, 1300]), 1500)
    assert np.allclose(np.abs(sonify.becker_stft(frame)), becker_stft_magnitude(frame), atol=1e-14)


def test_full_mask_reproduces_the_frame_within_the_stated_tolerance():
    frame = embed(_tones([220, 1300]), 1500)
    full = sonify.becker_resynthesis(frame, np.ones((227, 227)))
    assert full.shape == frame.shape
    assert np.abs(full - frame).max() / np.abs(frame).max() < sonify.BECKER_FULL_MASK_TOLERANCE


def test_full_mask_reproduces_real_recordings_longer_and_shorter_than_the_frame():
    # speechocean762 sentences are centre-cropped to 1 s (speech up to the frame's edges);
    # AudioMNIST digits are embedded at a random offset.
    root = require_shared_dataset("speechocean762-adults", "metadata.csv")
    paths = sorted(root.glob("SPEAKER*/*.flac"))[:2]
    paths += sorted(require_shared_dataset("audiomnist-sample", "data").rglob("*.wav"))[:2]
    assert len(paths) == 4
    for path in paths:
        wave, rate = read_wav(path)
        n = resampled_length(wave.size, rate)
        frame = becker_frame(wave, rate, becker_offset(n, 0, path.name) if n < 8000 else 0)
        full = sonify.becker_resynthesis(frame, np.ones((227, 227)))
        assert np.abs(full - frame).max() / np.abs(frame).max() < sonify.BECKER_FULL_MASK_TOLERANCE, path


def test_resynthesis_is_linear_in_the_mask_and_empty_mask_is_silence():
    frame = embed(_tones([220, 1300]), 800)
    rng = np.random.default_rng(1)
    mask = rng.random((227, 227)) < 0.3
    part = sonify.becker_resynthesis(frame, mask)
    rest = sonify.becker_resynthesis(frame, ~mask)
    assert np.allclose(part + rest, sonify.becker_resynthesis(frame, np.ones((227, 227))), atol=1e-12)
    assert np.abs(sonify.becker_resynthesis(frame, np.zeros((227, 227)))).max() == 0


def test_the_most_relevant_bins_are_what_you_hear():
    frame = embed(_tones([300, 2000], noise=0.0), 1000)
    spectrogram = becker_spectrogram(frame, RATE, 0)
    rows = np.arange(227)[:, None] * RATE / 455  # bin centre frequencies
    relevance = np.where(np.abs(rows - 2000) < 40, spectrogram + 80, 0.0) * np.ones((1, 227))
    sounds = sonify.sonified_relevance(functools.partial(sonify.becker_resynthesis, frame), relevance, (0.05,))
    assert list(sounds) == ["every bin", "most relevant 5 %", "least relevant 5 %"]
    assert _band_energy(sounds["most relevant 5 %"], 1900, 2100) > 0.95
    assert _band_energy(sounds["every bin"], 1900, 2100) < 0.6
    assert _band_energy(sounds["least relevant 5 %"], 1900, 2100) < 0.05


def test_relevance_mask_selects_k_bins_most_and_least_disjoint():
    relevance = torch.arange(100.0).reshape(1, 10, 10)
    most = sonify.relevance_mask(relevance, 0.1)
    least = sonify.relevance_mask(relevance, 0.1, most_relevant=False)
    assert most.shape == (10, 10) and most.sum() == 10 and least.sum() == 10
    assert most[9].all() and least[0].all() and not (most & least).any()
    with pytest.raises(ValueError, match="one 2-D map"):
        sonify.relevance_mask(torch.zeros(2, 3, 3), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        sonify.relevance_mask(torch.full((3, 3), float("nan")), 0.1)


def test_becker_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="227 x 227"):
        sonify.becker_resynthesis(np.zeros(8000), np.ones((64, 100)))


def _stft_magnitude(wave):
    return torch.stft(torch.as_tensor(wave[200:]), 512, 160, 400, torch.hann_window(400, dtype=torch.float64),
                      return_complex=True).abs()


def test_griffin_lim_with_the_full_mask_reproduces_the_spectrum():
    rate = 16000
    wave = _tones([300, 2500], n=rate, rate=rate)
    frames = 1 + (wave.size - 400) // 160  # every frame: no crop
    estimate = sonify.fbank_resynthesis(wave, rate, np.ones((64, frames)))
    assert estimate.shape == wave.shape
    target, found = _stft_magnitude(wave), _stft_magnitude(estimate)
    inner = slice(5, target.shape[1] - 5)
    convergence = torch.linalg.norm(target[:, inner] - found[:, inner]) / torch.linalg.norm(target[:, inner])
    assert convergence < 0.1


def test_griffin_lim_keeps_only_the_masked_mel_bands():
    rate = 16000
    wave = _tones([300, 2500], n=rate, rate=rate, noise=0.0)
    features = fbank(wave, rate, 64, 80)
    mask = np.zeros_like(features)
    high_bands = features[:, 40].argsort()[-3:]  # the loudest bands of a middle frame
    mask[high_bands[np.abs(high_bands - 40) < 20]] = 1.0  # those near 2.5 kHz (bands ~35-45)
    assert mask.any()
    estimate = sonify.fbank_resynthesis(wave, rate, mask)
    assert _band_energy(estimate, 2200, 2800, rate) > 0.9
    silent = sonify.fbank_resynthesis(wave, rate, np.zeros_like(features))
    assert np.abs(silent).max() < 1e-9


def test_audio_table_embeds_one_player_per_sound_offline():
    sounds = {"recording": np.sin(np.arange(800) / 5.0), "quiet <part>": 0.1 * np.sin(np.arange(800) / 5.0)}
    table = sonify.audio_table(sounds, RATE, reference="recording")
    assert table.count("<audio") == 2 and table.count("data:audio/wav;base64,") == 2
    assert "quiet &lt;part&gt;" in table and "http" not in table
    with pytest.raises(ValueError, match="reference"):
        sonify.audio_table(sounds, RATE, reference="missing")


class _Recording:
    """What the listening functions read of a dataset item's recording."""

    def __init__(self, path):
        self.path, self.key = path, path.name


def _write(tmp_path, wave, rate):
    import soundfile

    path = tmp_path / "0_01_0.wav"
    soundfile.write(path, wave, rate, subtype="PCM_16")
    return _Recording(path)


def test_becker_listening_rebuilds_the_explained_frame_and_refuses_another(tmp_path):
    recording = _write(tmp_path, 0.5 * _tones([220, 1300], n=6000), RATE)
    wave, _ = read_wav(recording.path)
    offset = becker_offset(wave.size, 3, recording.key)
    spectrogram = becker_spectrogram(wave, RATE, offset)
    sounds, rate = sonify.becker_listening(recording, spectrogram[None], np.ones((227, 227)), seed=3)
    assert rate == RATE and list(sounds)[:2] == ["recording", "every bin"]
    assert np.allclose(sounds["recording"], becker_frame(wave, RATE, offset))
    assert np.allclose(sounds["every bin"], sounds["recording"], atol=1e-9)
    with pytest.raises(ValueError, match="0_01_0.wav"):
        sonify.becker_listening(recording, spectrogram, np.ones((227, 227)), seed=4)


def test_fbank_listening_cuts_every_sound_to_the_frames_the_model_saw(tmp_path):
    rate = 16000
    recording = _write(tmp_path, 0.5 * _tones([300, 2500], n=2 * rate, rate=rate), rate)
    wave, _ = read_wav(recording.path)
    features = fbank(wave, rate, 64, 50)
    sounds, out_rate = sonify.fbank_listening(recording, features, np.ones_like(features), n_iter=4)
    assert out_rate == rate
    assert {sound.size for sound in sounds.values()} == {49 * 160 + 400}
    with pytest.raises(ValueError, match="highpass_hz"):
        sonify.fbank_listening(recording, features, np.ones_like(features), highpass_hz=500.0)
