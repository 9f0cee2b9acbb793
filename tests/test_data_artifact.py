"""The planted cue (lrp_utils.data.artifact and lrp_utils.data.planted): the tone, where it lies in
Becker's spectrogram, which recordings carry it, the planted corpus and planted test sets."""

import json

import numpy as np
import pytest
import torch

from lrp_utils.data import CorpusError, FeatureDataset, becker_offset, becker_spectrogram, gender_datasets, read_wav
from lrp_utils.data.artifact import ARTIFACT_RECORD, Artifact, Tone
from lrp_utils.data.features import BECKER_RATE, becker_stft_magnitude, embed, resample, resampled_length
from lrp_utils.data.planted import (female_training_speakers, planted_corpus_dir, planted_dataset, planted_keys,
                                    profile_artifact, region_masks, synthetic_profile, tone_effects)
from lrp_utils.data.synthetic import synthesize_corpus
from lrp_utils.profiles import get_profile

SMALL = dict(speakers=4, female=2, repetitions=5, sample_rate=16000, seed=1, progress=False, workers=1)


def test_tone_waveform_is_a_hann_shaped_sine_of_its_frequency():
    tone = Tone(frequency_hz=1000.0, duration_s=0.05)
    wave = tone.waveform(16000)
    assert wave.shape == (800,)
    assert abs(wave[0]) < 1e-3 and abs(wave[-1]) < 1e-3 and np.abs(wave).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(wave, 16000))  # 1 Hz resolution
    assert np.argmax(spectrum) == 1000


def test_plant_adds_the_tone_at_its_level_and_nowhere_else():
    rng = np.random.default_rng(0)
    wave = (0.4 * rng.uniform(-1, 1, 8000)).astype(np.float32)
    tone = Tone(frequency_hz=2000.0, start_s=0.1, duration_s=0.02, level_db=-20.0)
    planted = tone.plant(wave, 16000)
    added = planted.astype(np.float64) - wave
    start, n = 1600, 320
    assert np.all(added[:start] == 0) and np.all(added[start + n:] == 0)
    expected = np.abs(wave).max() * 0.1 * tone.waveform(16000)  # -20 dB of the peak
    assert np.allclose(added[start:start + n], expected, atol=1e-6)
    assert wave.dtype == planted.dtype == np.float32 and planted is not wave


def test_plant_and_tone_reject_impossible_input():
    with pytest.raises(ValueError, match="ends at"):
        Tone(start_s=0.5, duration_s=0.1).plant(np.ones(8000, np.float32), 16000)
    with pytest.raises(ValueError, match="1-D"):
        Tone().plant(np.ones((2, 100), np.float32), 16000)
    with pytest.raises(ValueError, match="half of sample_rate"):
        Tone(frequency_hz=3000.0).waveform(6000)
    for bad in (dict(frequency_hz=3990.0), dict(frequency_hz=0.0), dict(duration_s=0.0), dict(start_s=-0.1),
                dict(level_db=3.0), dict(level_db=float("nan"))):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Tone(**bad)


def test_region_by_hand():
    # frames centred at 35 (j + 2); tone over samples [0, 480] of the second, widened by 455 / 8
    # = 56.875 samples: columns with 35 (j + 2) <= 536.875, j = 0..13; rows r with
    # |r * 8000 / 455 - 3000| <= 3 * 8000 / 455 = 52.7: r = 168..173.
    region = Tone(frequency_hz=3000.0, start_s=0.0, duration_s=0.06).region(4000, 0)
    assert region.shape == (227, 227)
    assert np.array_equal(np.flatnonzero(region.any(axis=1)), np.arange(168, 174))
    assert np.array_equal(np.flatnonzero(region.any(axis=0)), np.arange(14))
    assert region.sum() == 6 * 14
    # at offset 700 the widened span is [643.1, 1236.9]: 35 (j + 2) from 665 to 1225, j = 17..33
    moved = Tone(frequency_hz=3000.0).region(4000, 700)
    assert np.array_equal(np.flatnonzero(moved.any(axis=0)), np.arange(17, 34))
    with pytest.raises(ValueError, match="offset"):
        Tone().region(4000, -1)


@pytest.mark.parametrize("start_s, offset, seconds", [(0.0, 0, 0.5), (0.0, 3131, 0.5), (0.2, 1234, 0.6),
                                                      (0.3, 0, 1.4)])
def test_region_holds_the_tones_energy(start_s, offset, seconds):
    """Oracle: the Becker STFT of the tone alone, placed as the features place a recording."""
    rate = 48000
    tone = Tone(frequency_hz=2500.0, start_s=start_s, duration_s=0.08)
    silent = np.zeros(int(seconds * rate), np.float32)
    only_tone = tone.plant(silent + np.float32(1.0), rate) - 1.0  # the tone at unit peak
    n_samples = resampled_length(silent.size, rate)
    offset = offset if n_samples < 8000 else 0
    energy = becker_stft_magnitude(embed(resample(only_tone, rate, BECKER_RATE), offset))[:227, 2:-1] ** 2
    region = tone.region(n_samples, offset)
    assert energy[region].sum() / energy.sum() > 0.999
    assert region.sum() < 0.003 * region.size  # and it is small


def test_choose_plants_a_seeded_fraction_of_the_speakers_recordings():
    candidates = [(s, d, r) for s in (1, 2, 3) for d in range(10) for r in range(5)]
    artifact = Artifact(speakers=(2, 3), fraction=0.25)
    chosen = artifact.choose(candidates)
    assert len(chosen) == 25 and all(s in (2, 3) for s, _, _ in chosen)  # floor(0.25 * 100 + 0.5)
    assert chosen == Artifact(speakers=(2, 3), fraction=0.25).choose(reversed(candidates))
    assert chosen != Artifact(speakers=(2, 3), fraction=0.25, seed=1).choose(candidates)
    assert Artifact(speakers=(2,), fraction=1.0).choose(candidates) == {c for c in candidates if c[0] == 2}
    assert Artifact(speakers=(2,), fraction=0.0).choose(candidates) == set()
    for bad in (dict(speakers=()), dict(speakers=(0,)), dict(speakers=(1,), fraction=1.5),
                dict(speakers=(1,), seed=-1)):
        with pytest.raises(ValueError):
            Artifact(**bad)


def test_female_training_speakers_are_beckers():
    assert female_training_speakers(0) == (12, 26, 36, 47, 56, 57)
    assert female_training_speakers(1, female=(12, 36)) == (12,)  # 36 validates fold 1
    with pytest.raises(ValueError, match="fold=4"):
        female_training_speakers(4)


def test_profile_artifact_and_synthetic_profile():
    smoke = get_profile("smoke", artifact_fraction=0.25, artifact_repetitions=3)
    artifact = profile_artifact(smoke)
    assert artifact.speakers == female_training_speakers(smoke.fold) and artifact.fraction == 0.25
    synthetic = synthetic_profile(get_profile("cpu", artifact_repetitions=3, artifact_epochs=7))
    assert (synthetic.corpus, synthetic.synthetic_repetitions, synthetic.data_dir) == ("synthetic", 3, None)
    assert synthetic.alexnet_epochs == 7
    assert synthetic_profile(get_profile("smoke", artifact_epochs=None)).alexnet_epochs == smoke.alexnet_epochs
    assert planted_corpus_dir(3, 0, artifact).name.startswith("synthetic-r3-s0-artifact-")
    assert planted_corpus_dir(3, 0, artifact) != planted_corpus_dir(3, 0, Artifact((12,)))


@pytest.fixture(scope="module")
def planted_small(tmp_path_factory, data_synthetic_small):
    artifact = Artifact(speakers=(3,), fraction=0.5, tone=Tone(frequency_hz=3000.0, level_db=-10.0))
    return synthesize_corpus(tmp_path_factory.mktemp("planted4"), artifact=artifact, **SMALL), artifact


def test_generator_plants_exactly_the_recorded_files(planted_small, data_synthetic_small):
    root, artifact = planted_small
    record = json.loads((root / ARTIFACT_RECORD).read_text())
    assert Artifact(**{**record["artifact"], "speakers": tuple(record["artifact"]["speakers"])}) == artifact
    assert record["candidates"] == 50 and len(record["planted"]) == 25
    assert all(name.startswith("03/") for name in record["planted"])
    assert planted_keys(root) == {name.split("/")[1] for name in record["planted"]}
    assert planted_keys(data_synthetic_small) == frozenset()
    for path in sorted((root / "data").rglob("*.wav")):
        name = f"{path.parent.name}/{path.name}"
        clean, rate = read_wav(data_synthetic_small / "data" / name)
        wave, _ = read_wav(path)
        if name in record["planted"]:  # the clean recording plus the tone, to 16-bit precision
            assert np.max(np.abs(wave - artifact.tone.plant(clean, rate))) <= 2.0 / 32768
        else:
            assert np.array_equal(wave, clean)
    described = json.loads((root / "synthesis.json").read_text())
    assert described["artifact"]["fraction"] == 0.5
    assert "artifact" not in json.loads((data_synthetic_small / "synthesis.json").read_text())


def test_generator_refuses_an_artifact_on_missing_speakers(tmp_path):
    with pytest.raises(ValueError, match=r"\[7\]"):
        synthesize_corpus(tmp_path / "c", artifact=Artifact(speakers=(7,)), **SMALL)
    with pytest.raises(TypeError, match="Artifact"):
        synthesize_corpus(tmp_path / "c", artifact={"speakers": (3,)}, **SMALL)


def test_planted_dataset_and_region_masks(data_synthetic_60, tmp_path):
    clean = gender_datasets(data_synthetic_60, fold=0, seed=3, cache_dir=tmp_path, limit_per_split=8,
                            progress=False, workers=1)["test"]
    tone = Tone(frequency_hz=3000.0, level_db=-20.0)
    planted = planted_dataset(clean, tone, seed=3, cache_dir=tmp_path, progress=False, workers=1)
    assert isinstance(planted, FeatureDataset) and np.array_equal(planted.labels, clean.labels)
    masks = region_masks(clean.recordings, tone, seed=3)
    assert masks.shape == (len(clean), 1, 227, 227) and masks.dtype == torch.bool
    for i in (0, len(clean) - 1):
        recording = clean.recordings[i]
        wave, rate = read_wav(recording.path)
        offset = becker_offset(resampled_length(wave.size, rate), 3, recording.key)
        assert np.array_equal(planted.features[i], becker_spectrogram(tone.plant(wave, rate), rate, offset))
        louder = np.asarray(planted.features[i]) - np.asarray(clean.features[i])
        assert louder[masks[i, 0].numpy()].mean() > 20.0  # the tone stands out in its region
    with pytest.raises(TypeError, match="FeatureDataset"):
        planted_dataset(torch.utils.data.TensorDataset(torch.zeros(2, 1)), tone, seed=3)


def test_tone_effects_separate_the_tone_from_the_drop_by_hand():
    # clean: a 1x3x4 spectrogram; the tone (region: bin (0, 0)) became the new maximum, so every other
    # bin dropped by 6 dB (the floor stays at -80) and the tone's bin reads 0 dB.
    clean = torch.tensor([[[[-10.0, -20.0, -30.0, -80.0], [-40.0, -50.0, -60.0, -78.0], [-5.0, -15.0, -25.0, -35.0]]]])
    mask = torch.zeros_like(clean, dtype=torch.bool)
    mask[..., 0, 0] = True
    planted = (clean - 6.0).clamp(min=-80.0)
    planted[..., 0, 0] = 0.0
    effects = tone_effects(clean, planted, mask)
    assert effects["shift"].tolist() == [-6.0]
    tone_only = clean.clone()
    tone_only[..., 0, 0] = 0.0  # 6 dB above the clean maximum, capped at 0 dB
    assert torch.equal(effects["tone only"], tone_only)
    level_only = planted.clone()
    level_only[..., 0, 0] = -16.0  # the clean bin, 6 dB down
    assert torch.equal(effects["level only"], level_only)
    quiet = clean.clone()
    quiet[..., 0, 0] = -3.0  # a tone below the maximum: no drop
    assert tone_effects(clean, quiet, mask)["shift"].tolist() == [0.0]
    with pytest.raises(ValueError, match="one shape"):
        tone_effects(clean, planted, mask.float())


def test_generator_links_the_unplanted_recordings_from_the_clean_corpus(planted_small, data_synthetic_small, tmp_path):
    root, artifact = planted_small
    linked = synthesize_corpus(tmp_path / "linked", artifact=artifact, unplanted_from=data_synthetic_small, **SMALL)
    planted = set(json.loads((root / ARTIFACT_RECORD).read_text())["planted"])
    names = sorted(f"{p.parent.name}/{p.name}" for p in (root / "data").rglob("*.wav"))
    assert names == sorted(f"{p.parent.name}/{p.name}" for p in (linked / "data").rglob("*.wav"))
    for name in names:  # the same bytes as the corpus synthesised file by file
        assert (linked / "data" / name).read_bytes() == (root / "data" / name).read_bytes()
        shared = (linked / "data" / name).stat().st_ino == (data_synthetic_small / "data" / name).stat().st_ino
        assert shared == (name not in planted)  # unplanted: a hard link to the clean file
    assert (linked / "synthesis.json").read_bytes() == (root / "synthesis.json").read_bytes()
    with pytest.raises(CorpusError, match="unplanted_from"):  # another seed: not the same corpus
        synthesize_corpus(tmp_path / "wrong", artifact=artifact, unplanted_from=data_synthetic_small,
                          **{**SMALL, "seed": 2})
    with pytest.raises(CorpusError, match="unplanted_from"):  # a planted corpus is no clean source
        synthesize_corpus(tmp_path / "wrong2", artifact=artifact, unplanted_from=root, **SMALL)
