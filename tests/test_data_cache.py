"""Feature caches: keyed by corpus and parameters, reused, rebuilt, written atomically."""

import os
from dataclasses import dataclass

import numpy as np
import pytest

from lrp_utils.data import AudioFileError, BeckerFeature, cached_features, load_audiomnist, read_wav

CALLS = []


@dataclass(frozen=True)
class CountingFeature:
    """Mean and length of a recording, times ``scale``; counts its calls (in this process)."""

    scale: float = 1.0
    name: str = "counting"

    def __call__(self, recording):
        CALLS.append(recording.key)
        wave, _ = read_wav(recording.path)
        return np.array([wave.mean(), wave.size], dtype=np.float32) * self.scale


def test_reused_rebuilt_on_parameter_or_corpus_change(data_synthetic_small, tmp_path):
    recordings = load_audiomnist(data_synthetic_small)[:30]
    CALLS.clear()
    first = cached_features(recordings, CountingFeature(), tmp_path, progress=False, workers=1)
    assert first.shape == (30, 2) and len(CALLS) == 30
    assert isinstance(first, np.memmap) and not first.flags.writeable
    again = cached_features(recordings, CountingFeature(), tmp_path, progress=False, workers=1)
    assert len(CALLS) == 30 and np.array_equal(again, first)  # reused
    scaled = cached_features(recordings, CountingFeature(scale=2.0), tmp_path, progress=False, workers=1)
    assert len(CALLS) == 60 and np.allclose(scaled, 2 * first)  # a parameter changed: rebuilt
    os.utime(recordings[0].path, ns=(1, 1))  # the corpus changed
    cached_features(recordings, CountingFeature(), tmp_path, progress=False, workers=1)
    assert len(CALLS) == 90
    cached_features(recordings[:10], CountingFeature(), tmp_path, progress=False, workers=1)
    assert len(CALLS) == 100  # another list of recordings: its own entry
    assert len(list(tmp_path.glob("counting-*.npy"))) == len(list(tmp_path.glob("counting-*.json"))) == 4


def test_parallel_equals_serial_and_failure_leaves_nothing(data_synthetic_small, tmp_path):
    recordings = load_audiomnist(data_synthetic_small)[:80]
    serial = np.array(cached_features(recordings, BeckerFeature(seed=3), tmp_path / "a", progress=False, workers=1))
    parallel = cached_features(recordings, BeckerFeature(seed=3), tmp_path / "b", progress=False, workers=2)
    assert serial.shape == (80, 227, 227) and np.array_equal(serial, parallel)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"")
    bad = recordings[:5] + [type(recordings[0])(broken, 0, "01", "male", 9)]
    with pytest.raises(AudioFileError, match="broken.wav"):
        cached_features(bad, BeckerFeature(), tmp_path / "c", progress=False, workers=1)
    assert list((tmp_path / "c").iterdir()) == []  # no half-written cache entry
