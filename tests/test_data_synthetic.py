"""The synthetic AudioMNIST-format corpus: layout, determinism, resumption, and its gender cues."""

import hashlib
import json

import numpy as np
import pytest
import scipy.signal

from data_scripts import synthesize as synthesize_cli
from lrp_utils.data import AUDIOMNIST_FEMALE_SPEAKERS, CorpusError, becker_spectrogram, load_audiomnist, read_wav
from lrp_utils.data import synthetic
from lrp_utils.data.synthetic import female_speaker_ids, speaker_params, synthesize_corpus, synthesize_recording

META_KEYS = {"accent", "age", "gender", "native speaker", "origin", "recordingdate", "recordingroom"}
SMALL = dict(speakers=4, female=2, repetitions=5, sample_rate=16000, seed=1, progress=False)


def digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_meta_like_audiomnist(data_synthetic_small):
    data = data_synthetic_small / "data"
    assert sorted(p.name for p in data.iterdir()) == ["01", "02", "03", "04", "audioMNIST_meta.txt"]
    assert sorted(p.name for p in (data / "03").iterdir())[:3] == ["0_03_0.wav", "0_03_1.wav", "0_03_2.wav"]
    assert len(list(data.rglob("*.wav"))) == 4 * 10 * 5
    meta = json.loads((data / "audioMNIST_meta.txt").read_text())
    assert list(meta) == ["01", "02", "03", "04"] and all(set(v) == META_KEYS for v in meta.values())
    assert [meta[s]["gender"] for s in meta] == ["male", "male", "female", "female"]
    assert not (data_synthetic_small / ".data.partial").exists()


def test_female_ids_are_audiomnists():
    assert female_speaker_ids(60, 12) == list(AUDIOMNIST_FEMALE_SPEAKERS)
    assert female_speaker_ids(30, 4) == [12, 26, 28, 30]  # AudioMNIST's first, then the highest ids
    with pytest.raises(ValueError, match="female=5"):
        female_speaker_ids(4, 5)


def test_same_seed_same_bytes_any_workers_any_subset(data_synthetic_small, tmp_path):
    again = synthesize_corpus(tmp_path / "again", workers=2, **SMALL)
    assert digests(again) == digests(data_synthetic_small)
    # One recording on its own, from its (seed, speaker, digit, repetition), gives the file's samples.
    wave = synthesize_recording(speaker_params(1, 3, "female"), 7, 4, seed=1, sample_rate=16000)
    stored, rate = read_wav(data_synthetic_small / "data" / "03" / "7_03_4.wav")
    assert rate == 16000 and np.max(np.abs(stored - wave)) <= 1.0 / 32768 + 1e-6
    other = synthesize_recording(speaker_params(2, 3, "female"), 7, 4, seed=2, sample_rate=16000)
    assert other.shape != wave.shape or not np.allclose(other, wave)


def test_resumes_after_interruption_and_guards_existing_data(data_synthetic_small, tmp_path, monkeypatch):
    real = synthetic._write_speaker_digit
    done = []

    def flaky(job):
        if len(done) == 13:
            raise KeyboardInterrupt
        done.append(job)
        return real(job)

    monkeypatch.setattr(synthetic, "_write_speaker_digit", flaky)
    with pytest.raises(KeyboardInterrupt):
        synthesize_corpus(tmp_path / "c", workers=1, **SMALL)
    assert not (tmp_path / "c" / "data").exists()  # an interrupted corpus never looks complete
    assert len(list((tmp_path / "c" / ".data.partial").rglob("*.wav"))) == 13 * 5
    monkeypatch.setattr(synthetic, "_write_speaker_digit", real)
    synthesize_corpus(tmp_path / "c", workers=1, **SMALL)
    assert digests(tmp_path / "c") == digests(data_synthetic_small)
    synthesize_corpus(tmp_path / "c", workers=1, **SMALL)  # complete: nothing to do
    with pytest.raises(CorpusError, match="already exists"):
        synthesize_corpus(tmp_path / "c", workers=1, **{**SMALL, "seed": 2})
    synthesize_corpus(tmp_path / "c", workers=1, replace=True, **{**SMALL, "repetitions": 1})  # regenerated
    assert len(load_audiomnist(tmp_path / "c")) == 40


def test_cli(tmp_path, capsys):
    assert synthesize_cli.main(["--dest", str(tmp_path), "--speakers", "2", "--female", "1", "--repetitions", "1",
                                "--sample-rate", "8000", "--workers", "1", "--no-progress"]) == 0
    assert len(load_audiomnist(tmp_path)) == 20
    assert synthesize_cli.main(["--dest", str(tmp_path / "x"), "--female", "70", "--no-progress"]) == 1
    assert "female=70" in capsys.readouterr().err


@pytest.fixture(scope="module")
def spectra(data_synthetic_60):
    """Per recording: gender, speaker, duration, peak, and the time-averaged Becker power spectrum."""
    rows = []
    for recording in load_audiomnist(data_synthetic_60):
        wave, rate = read_wav(recording.path)
        db = becker_spectrogram(wave, rate, 0)
        power = 10 ** (db / 10)
        spectrum = power.mean(axis=1)
        rows.append((recording.gender, recording.speaker, wave.size / rate, np.abs(wave).max(),
                     spectrum / spectrum.sum()))
    return rows


def best_threshold_accuracy(values, is_female):
    values, is_female = np.asarray(values), np.asarray(is_female)
    return max(max(np.mean((values > t) == is_female), np.mean((values <= t) == is_female))
               for t in np.unique(values))


def f0_peak_hz(spectrum):
    """The lowest spectral peak above 60 Hz with at least 1 dB prominence (bins of 8000/455 Hz).

    The first harmonic: the strongest low peak is often the 2nd or 3rd harmonic near F1, as in speech.
    """
    peaks, _ = scipy.signal.find_peaks(10 * np.log10(spectrum), prominence=1.0)
    return next(p for p in peaks if p * 8000 / 455 >= 60) * 8000 / 455


def test_gender_signal_is_in_f0_and_formants_not_loudness_or_duration(spectra, data_synthetic_60):
    female = np.array([g == "female" for g, *_ in spectra])
    mean_female = np.mean([s for (g, *_, s) in spectra if g == "female"], axis=0)
    mean_male = np.mean([s for (g, *_, s) in spectra if g == "male"], axis=0)
    # The acceptance check: mean spectra of women have a higher f0 peak than men's.
    assert f0_peak_hz(mean_female) > f0_peak_hz(mean_male) + 50
    assert 85 <= f0_peak_hz(mean_male) <= 155 and 165 <= f0_peak_hz(mean_female) <= 255
    # Per speaker, the spectral peak follows the model's f0 (an independent check of the synthesis).
    synthesis = json.loads((data_synthetic_60 / "synthesis.json").read_text())
    params = {f"{p['speaker']:02d}": p for p in synthesis["speakers"]}
    for speaker in ("02", "07", "12", "26", "44", "58"):
        peak = f0_peak_hz(np.mean([s for (_, sp, *_, s) in spectra if sp == speaker], axis=0))
        assert abs(peak - params[speaker]["f0"]) < 0.15 * params[speaker]["f0"] + 8000 / 455, speaker
    tracts = [(p["gender"], p["vocal_tract"]) for p in params.values()]
    assert np.mean([k for g, k in tracts if g == "female"]) - np.mean([k for g, k in tracts if g == "male"]) > 0.1
    # Neither duration nor peak level separates the genders (best single threshold near chance).
    assert best_threshold_accuracy([d for _, _, d, _, _ in spectra], female) < 0.85
    assert best_threshold_accuracy([p for _, _, _, p, _ in spectra], female) < 0.85
    durations = [d for _, _, d, _, _ in spectra]
    assert 0.3 <= min(durations) and max(durations) <= 0.9 + 1e-9
