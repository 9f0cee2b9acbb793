"""Becker spectrogram against scipy.signal.stft + librosa's dB formula; offsets; Kaldi fbank; high-pass."""

import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio

from lrp_utils.data import BeckerFeature, FbankFeature, highpass
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


def tone_gain_db(before, after, frequency, rate):
    """Change of the FFT magnitude at ``frequency`` (on a bin: whole seconds) from ``before`` to ``after``."""
    k = round(frequency * len(before) / rate)
    return 20 * np.log10(np.abs(np.fft.rfft(after)[k]) / np.abs(np.fft.rfft(before)[k]))


@pytest.mark.parametrize("rate", [16000, 44100])
def test_highpass_removes_dc_and_hum_and_keeps_the_voice_band(rate):
    t = np.arange(2 * rate) / rate
    components = {0.0: np.full(t.size, 0.3), 50.0: 0.2 * np.sin(2 * np.pi * 50 * t),
                  200.0: 0.5 * np.sin(2 * np.pi * 200 * t + 1.0)}
    x = sum(components.values())
    y = highpass(x, rate, 70.0)
    assert y.dtype == np.float64 and y.shape == x.shape
    assert tone_gain_db(x, y, 0.0, rate) < -30 and tone_gain_db(x, y, 50.0, rate) < -30
    assert abs(tone_gain_db(x, y, 200.0, rate)) < 0.5
    # zero phase: what is left is the 200 Hz tone itself, not a shifted copy
    assert np.max(np.abs(y - components[200.0])[rate // 4 : -rate // 4]) < 0.01


def test_highpass_is_applied_at_the_native_rate_before_the_features():
    rate = 16000
    rng = np.random.default_rng(0)
    x = 0.05 + 0.1 * np.sin(2 * np.pi * 50 * np.arange(12000) / rate) + 0.1 * rng.standard_normal(12000)
    # the filter as documented: order-8 Butterworth, forwards and backwards (scipy directly)
    filtered = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 100.0, "highpass", fs=rate, output="sos"), x)
    np.testing.assert_array_equal(becker_spectrogram(x, rate, 500, highpass_hz=100.0),
                                  becker_spectrogram(filtered, rate, 500))
    np.testing.assert_array_equal(fbank(x, rate, frames=50, highpass_hz=100.0), fbank(filtered, rate, frames=50))
    # None is today's feature: the same array as without the argument
    np.testing.assert_array_equal(becker_spectrogram(x, rate, 500, highpass_hz=None), becker_spectrogram(x, rate, 500))
    plain, cleaned = becker_spectrogram(x, rate, 500), becker_spectrogram(x, rate, 500, highpass_hz=100.0)
    assert cleaned[0:3, 30:150].mean() < plain[0:3, 30:150].mean() - 20  # rows 0-2 (0-53 Hz) emptied


@pytest.mark.parametrize("bad", [0, -50.0, float("nan"), float("inf"), "60", True, 4000.0, 9000.0])
def test_bad_highpass_values(bad):
    with pytest.raises(ValueError, match=r"highpass_hz=.*0 < highpass_hz < 4000 Hz"):
        highpass(np.zeros(1000), 8000, bad)
    with pytest.raises(ValueError, match="highpass_hz"):
        becker_spectrogram(np.zeros(1000), 8000, 0, highpass_hz=bad)
    if bad not in (4000.0, 9000.0):  # the extractors cannot know the Nyquist frequency yet
        with pytest.raises(ValueError, match="highpass_hz"):
            BeckerFeature(highpass_hz=bad)
        with pytest.raises(ValueError, match="highpass_hz"):
            FbankFeature(frames=10, highpass_hz=bad)
