"""Becker spectrogram against scipy.signal.stft + librosa's dB formula; offsets; Kaldi fbank."""

import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio

from lrp_utils.data import amplitude_to_db, becker_offset, becker_spectrogram, fbank, random_offsets, resampled_length


def oracle_db(magnitude, amin=1e-5, top_db=80.0):
    """librosa.amplitude_to_db(S, ref=np.max, amin=1e-5, top_db=80), written out independently."""
    power = 10.0 * np.log10(np.maximum(amin**2, magnitude**2)) - 10.0 * np.log10(max(amin**2, magnitude.max() ** 2))
    return np.maximum(power, power.max() - top_db)


def oracle_becker(x_8k, offset):
    """Becker's preprocess_data.py steps with scipy, for an 8 kHz signal."""
    embedded = np.zeros(8000)
    embedded[offset : offset + len(x_8k)] = x_8k
    _, _, zxx = scipy.signal.stft(embedded, 8000, nperseg=455, noverlap=420, window="hann")
    return oracle_db(np.abs(zxx[0:227, 2:-1]))


@pytest.mark.parametrize("length, offset", [(6000, 1000), (5000, 0), (7999, 1), (1200, 6800)])
def test_becker_matches_scipy_on_8k_signal(length, offset):
    rng = np.random.default_rng(length)
    t = np.arange(length) / 8000
    x = np.sin(2 * np.pi * 180 * t) * np.hanning(length) + 0.1 * rng.standard_normal(length)
    ours = becker_spectrogram(x, 8000, offset)
    assert ours.shape == (227, 227) and ours.dtype == np.float32
    assert np.max(np.abs(ours - oracle_becker(x, offset))) < 1e-3
    assert ours.max() == 0.0 and ours.min() >= -80.0


def test_amplitude_to_db_formula():
    magnitude = np.array([[1e-7, 1e-3], [0.5, 2.0]])
    expected = np.maximum(20 * np.log10(np.maximum(magnitude, 1e-5) / 2.0), -80.0)
    np.testing.assert_allclose(amplitude_to_db(magnitude), expected)
    assert amplitude_to_db(np.zeros((2, 2))).max() == 0.0  # silence: everything at the reference amin


def test_48k_sine_lands_in_its_bin():
    rate, freq = 48000, 1000.0
    x = np.sin(2 * np.pi * freq * np.arange(24000) / rate)
    spec = becker_spectrogram(x, rate, 2000)
    n = resampled_length(24000, rate)
    assert n == len(torchaudio.functional.resample(torch.zeros(24000), rate, 8000)) == 4000
    frames = slice(2000 // 35 + 8, (2000 + n) // 35 - 8)  # columns well inside the tone
    assert np.all(spec[:, frames].argmax(axis=0) == round(freq / (8000 / 455)))


def test_resampled_length_matches_torchaudio():
    for n, rate in [(44100, 44100), (12345, 48000), (999, 16000), (8000, 8000), (1001, 22050)]:
        assert resampled_length(n, rate) == len(torchaudio.functional.resample(torch.zeros(n), rate, 8000))


def test_long_recordings_are_centre_cropped():
    x = np.zeros(9000)
    x[500:8500] = np.sin(np.arange(8000))
    np.testing.assert_allclose(becker_spectrogram(x, 8000, 0), oracle_becker(x[500:8500], 0), atol=1e-3)


def test_bad_offset_and_input():
    with pytest.raises(ValueError, match="offset=3000"):
        becker_spectrogram(np.ones(6000), 8000, 3000)
    with pytest.raises(ValueError, match="1-D"):
        becker_spectrogram(np.ones((2, 10)), 8000, 0)


def test_offsets_are_seeded_uniform_and_per_recording():
    keys = [f"{d}_01_{r}.wav" for d in range(10) for r in range(50)]
    a = random_offsets([5000] * 500, seed=0, keys=keys)
    assert a == random_offsets([5000] * 500, seed=0, keys=keys)
    assert a != random_offsets([5000] * 500, seed=1, keys=keys)
    assert min(a) >= 0 and max(a) <= 2999 and len(set(a)) > 300  # Becker: randint(0, 8000 - n)
    assert becker_offset(5000, 0, keys[7]) == a[7]  # independent of the other recordings
    assert becker_offset(8000, 0, "x") == 0 and becker_offset(9000, 0, "x") == 0


def test_fbank_shape_normalisation_and_frames():
    rate = 16000
    x = np.sin(2 * np.pi * 1000 * np.arange(rate) / rate) + 0.01 * np.random.default_rng(0).standard_normal(rate)
    full = fbank(x, rate)
    assert full.shape == (64, 1 + (rate - 400) // 160)  # Kaldi snip_edges: 25 ms window, 10 ms shift
    np.testing.assert_allclose(full.mean(axis=1), 0.0, atol=1e-4)
    # The tone's mel bin, from the mel scale 1127 ln(1 + f/700) with 64 bins between 20 Hz and 8 kHz.
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    edges = np.linspace(mel(20.0), mel(8000.0), 66)
    expected = int(np.argmin(np.abs(edges[1:-1] - mel(1000.0))))
    onset = x * (np.arange(rate) >= rate // 2)  # the tone starts half-way: its bin rises most
    onset += 0.01 * np.random.default_rng(1).standard_normal(rate)
    feats = fbank(onset, rate)
    rise = feats[:, 60:].mean(axis=1) - feats[:, :40].mean(axis=1)
    assert abs(int(rise.argmax()) - expected) <= 1
    cropped = fbank(x, rate, frames=50)
    start = (full.shape[1] - 50) // 2
    np.testing.assert_allclose(cropped, full[:, start : start + 50], atol=1e-5)
    padded = fbank(x, rate, frames=150)
    assert padded.shape == (64, 150) and np.all(padded[:, full.shape[1]:] == 0)
    np.testing.assert_allclose(padded[:, : full.shape[1]], full, atol=1e-5)
    assert fbank(x[:8000:2], 8000, frames=40).shape == (64, 40)  # any rate: resampled to 16 kHz
