"""Every FSDD recording through the loader and the Becker spectrogram (real speech, 8 kHz)."""

from dataclasses import dataclass

import numpy as np
import scipy.signal

from lrp_utils.data import BeckerFeature, becker_offset, cached_features, load_fsdd, read_wav


@dataclass(frozen=True)
class BeckerCheck:
    """Becker spectrogram of a recording, summarised with its distance to a scipy oracle."""

    seed: int = 0
    name: str = "becker-check"

    def __call__(self, recording):
        spec = BeckerFeature(self.seed)(recording)
        wave, rate = read_wav(recording.path)
        assert rate == 8000  # no resampling, so scipy is an exact oracle
        if wave.size > 8000:
            start = (wave.size - 8000) // 2
            embedded = wave[start : start + 8000].astype(np.float64)
        else:
            offset = becker_offset(wave.size, self.seed, recording.key)
            embedded = np.zeros(8000)
            embedded[offset : offset + wave.size] = wave
        _, _, zxx = scipy.signal.stft(embedded, 8000, nperseg=455, noverlap=420, window="hann")
        magnitude = np.abs(zxx[0:227, 2:-1])
        oracle = 20 * np.log10(np.maximum(magnitude, 1e-5) / max(magnitude.max(), 1e-5))
        oracle = np.maximum(oracle, oracle.max() - 80)
        return np.array([spec.shape[0], spec.shape[1], spec.min(), spec.max(), np.abs(spec - oracle).max(),
                         wave.size], dtype=np.float32)


def test_every_fsdd_recording(data_fsdd_root, tmp_path):
    recordings = load_fsdd(data_fsdd_root)
    assert len(recordings) == 3000
    summary = np.asarray(cached_features(recordings, BeckerCheck(), tmp_path, progress=False, workers=2))
    assert np.all(summary[:, 0:2] == 227)
    assert np.all(summary[:, 2] >= -80.0) and np.all(summary[:, 3] == 0.0)
    assert summary[:, 4].max() < 1e-3  # dB, against scipy.signal.stft + librosa's formula
    assert (summary[:, 5] > 8000).sum() == 20  # the recordings longer than 1 s were centre-cropped
