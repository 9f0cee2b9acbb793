"""f0 on synthetic pulse trains; recording conditions and AUC against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
import scipy.signal

from lrp_utils.data import Recording, write_wav
from lrp_utils.data.acoustics import (
    CONDITION_COLUMNS,
    fundamental_frequency,
    recording_acoustics,
    recording_conditions,
    separability,
    speaker_acoustics,
)

RATE = 16000


def glottal_pulses(f0, seconds=1.0, noise=0.05, seed=0, rate=RATE):
    """A glottal-like source: a pulse train with 1 % period jitter through a 2-pole 800 Hz low-pass
    (the source's spectral tilt), peak 1, plus white noise of standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(rate * seconds))
    t = 0.0
    while t < x.size:
        x[int(t)] = 1.0
        t += rate / f0 * (1.0 + 0.01 * rng.standard_normal())
    x = scipy.signal.lfilter(*scipy.signal.butter(2, 800.0, fs=rate), x)
    return x / np.abs(x).max() + noise * rng.standard_normal(x.size)


@pytest.mark.parametrize("f0", [85.0, 110.0, 165.0, 220.0, 300.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_f0_of_pulse_trains_within_5_percent(f0, seed):
    assert fundamental_frequency(glottal_pulses(f0, seed=seed), RATE) == pytest.approx(f0, rel=0.05)


def test_f0_voicing_and_errors():
    rng = np.random.default_rng(0)
    assert np.isnan(fundamental_frequency(rng.standard_normal(RATE), RATE))  # noise: no voiced frame
    # a voiced second between loud noise and near-silence with 100 Hz hum: only the voice counts
    hum = 1e-3 * np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE)
    speech = np.concatenate([hum, glottal_pulses(220.0), hum])
    assert fundamental_frequency(speech, RATE) == pytest.approx(220.0, rel=0.05)
    assert fundamental_frequency(glottal_pulses(110.0, rate=8000), 8000) == pytest.approx(110.0, rel=0.05)
    with pytest.raises(ValueError, match="fmin=400"):
        fundamental_frequency(speech, RATE, fmin=400.0, fmax=60.0)
    with pytest.raises(ValueError, match="1-D"):
        fundamental_frequency(np.zeros((2, 100)), RATE)


def test_dc_offset_of_offset_sine():
    # c + A sin over whole periods: mean c, RMS sqrt(c^2 + A^2 / 2)
    c, amplitude = 0.01, 0.5
    x = c + amplitude * np.sin(2 * np.pi * 200 * np.arange(2 * RATE) / RATE)
    expected = 20 * np.log10(c / np.sqrt(c**2 + amplitude**2 / 2))  # -37.0 dB
    assert recording_conditions(x, RATE)["dc_offset_db"] == pytest.approx(expected, abs=1e-6)
    assert recording_conditions(-x, RATE)["dc_offset_db"] == pytest.approx(expected, abs=1e-6)


def test_hum_and_sub40_on_white_noise():
    # White noise of variance s^2 has a one-sided PSD of 2 s^2 / fs per Hz. A tone of amplitude A on
    # a 1 Hz bin adds A^2/2 * (sum w)^2 / (sum w^2) / fs = A^2 / 3 to its bin (Hann, N = fs), and a DC
    # offset c adds 2 c^2 / 3 to bin 0 (not doubled) and c^2 / 3 to bin 1 (the Hann window's leak):
    # c^2 in all, its power. Bin 0 holds half the noise density (it is not doubled either).
    rng = np.random.default_rng(0)
    sigma, amplitude, c = 0.01, 2e-3, 3e-3
    t = np.arange(20 * RATE) / RATE
    x = c + sigma * rng.standard_normal(t.size) + amplitude * np.sin(2 * np.pi * 50 * t)
    noise_psd = 2 * sigma**2 / RATE
    conditions = recording_conditions(x, RATE)
    assert conditions["hum50_db"] == pytest.approx(10 * np.log10(1 + amplitude**2 / 3 / noise_psd), abs=0.5)
    assert abs(conditions["hum60_db"]) < 1.5 and abs(conditions["hum100_db"]) < 1.5  # no hum there
    # sub-40: mean of bins 0..39 over the noise level; the 50 Hz tone is outside
    sub40 = (39.5 * noise_psd + c**2) / 40 / noise_psd
    assert conditions["sub40_db"] == pytest.approx(10 * np.log10(sub40), abs=0.5)  # 12.8 dB
    assert recording_conditions(x - c, RATE)["sub40_db"] == pytest.approx(10 * np.log10(39.5 / 40), abs=0.5)
    silence = recording_conditions(np.zeros(RATE), RATE)
    assert list(silence) == list(CONDITION_COLUMNS) and all(np.isnan(v) for v in silence.values())


def test_separability_hand_computed():
    table = pd.DataFrame({"x": [3.0, 1.0, 2.0, 2.0, np.nan], "gender": ["female", "female", "male", "male", "male"]})
    # pairs (female, male): 3>2, 3>2, 1<2, 1<2 -> 2 of 4
    assert separability(table, "x") == 0.5
    table.loc[1, "x"] = 2.0  # now 3>2, 3>2, tie, tie -> (2 + 0.5 * 2) / 4
    assert separability(table, "x") == 0.75
    assert separability(table, "x", positive="male") == 0.25
    with pytest.raises(ValueError, match="'y'"):
        separability(table, "y")
    with pytest.raises(ValueError, match="both groups"):
        separability(table, "x", positive="child")


def test_speaker_acoustics_medians_and_cache(tmp_path):
    recordings = []
    for speaker, gender, f0s in [("a", "female", (200.0, 220.0, 240.0)), ("b", "male", (100.0, 120.0))]:
        for i, f0 in enumerate(f0s):
            path = tmp_path / f"{speaker}{i}.wav"
            write_wav(path, 0.5 * glottal_pulses(f0, seed=i) + 0.01 * (i + 1), RATE)
            recordings.append(Recording(path, None, speaker, gender, i))
    per_recording = recording_acoustics(recordings, progress=False, cache_dir=tmp_path / "cache")
    assert list(per_recording.path) == [str(r.path) for r in recordings]
    table = speaker_acoustics(recordings, progress=False, cache_dir=tmp_path / "cache")
    assert list(table.index) == ["a", "b"] and list(table.gender) == ["female", "male"]
    assert list(table.recordings) == [3, 2]
    assert table.loc["a", "f0_hz"] == pytest.approx(220.0, rel=0.05)
    assert table.loc["b", "f0_hz"] == pytest.approx(110.0, rel=0.05)
    for column in ("f0_hz", "dc_offset_db", "hum50_db", "sub40_db"):
        values = per_recording.loc[per_recording.speaker == "b", column]
        assert table.loc["b", column] == pytest.approx(values.mean())  # median of two = their mean
    assert len(list((tmp_path / "cache").glob("acoustics-*.csv"))) == 1
    fresh = speaker_acoustics(recordings, progress=False, cache=False)
    pd.testing.assert_frame_equal(table, fresh, check_exact=True)  # the cached table reads back exactly
    write_wav(recordings[0].path, 0.5 * glottal_pulses(250.0), RATE)  # a changed file: new key
    speaker_acoustics(recordings, progress=False, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("acoustics-*.csv"))) == 2


def test_recording_acoustics_in_two_processes_equals_one(tmp_path):
    recordings = []
    for i, f0 in enumerate((110.0, 230.0)):
        path = tmp_path / f"r{i}.wav"
        write_wav(path, 0.5 * glottal_pulses(f0, seed=i) + 0.01 * i, RATE)
        recordings.append(Recording(path, None, f"s{i}", ("male", "female")[i], i))
    many = recordings * 40  # 80 rows: enough for parallel_map to start its worker processes
    serial = recording_acoustics(many, progress=False, cache=False, workers=1)
    parallel = recording_acoustics(many, progress=False, cache=False, workers=2)
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert serial.f0_hz.iloc[0] == pytest.approx(110.0, rel=0.05) and serial.f0_hz.iloc[1] == pytest.approx(230.0, rel=0.05)
