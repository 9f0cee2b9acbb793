"""Frequency bands of the relevance next to the voices' f0 and the recording channel, checked
against values computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from torch.utils.data import Subset

from lrp_utils.data import FeatureDataset
from lrp_utils.data.corpus import Recording
from lrp_utils.evaluation import (
    band_level,
    band_level_per_split,
    positive_share_per_band,
    speaker_counts,
    voice_bands,
)


def test_voice_bands_edges_from_the_extreme_f0():
    bands = voice_bands([120.0, float("nan"), 95.0, 230.0], top_hz=4000.0)
    assert list(bands) == ["below every f0", "f0 range", "f0 to formants", "formants", "above formants"]
    assert bands["below every f0"] == (0.0, 95.0)
    assert bands["f0 range"] == (95.0, 230.0)
    assert bands["f0 to formants"] == (230.0, 300.0)
    assert bands["formants"] == (300.0, 3000.0)
    low, high = bands["above formants"]
    assert low == 3000.0 and 4000.0 < high < 4000.001  # top_hz itself is inside


def test_voice_bands_an_f0_above_the_first_formant_empties_the_harmonics_band():
    bands = voice_bands([100.0, 320.0], top_hz=4000.0)
    assert bands["f0 to formants"] == (320.0, 320.0)
    assert bands["formants"] == (320.0, 3000.0)


@pytest.mark.parametrize("f0, top, match", [
    ([float("nan")], 4000.0, "no measured f0"),
    ([], 4000.0, "no measured f0"),
    ([-5.0, 100.0], 4000.0, "positive and finite"),
    ([100.0], 2000.0, "must lie above 3000"),
])
def test_voice_bands_rejects_bad_input(f0, top, match):
    with pytest.raises(ValueError, match=match):
        voice_bands(f0, top_hz=top)


def test_positive_share_per_band_by_hand():
    frequencies = np.array([0.0, 50.0, 100.0, 200.0])
    profiles = {"a": np.array([3.0, -10.0, 1.0, 0.0]), "b": np.array([-1.0, -2.0, -3.0, -4.0]),
                "c": np.array([0.0, 0.0, 2.0, 6.0])}
    table = positive_share_per_band(profiles, frequencies, {"low": (0.0, 60.0), "high": (60.0, 250.0)})
    assert list(table.columns) == ["low", "high"] and list(table.index) == ["a", "b", "c"]
    # a: positive parts 3, 0, 1, 0 -> low 3/4, high 1/4 (the -10 does not count)
    assert table.loc["a", "low"] == pytest.approx(0.75)
    assert table.loc["a", "high"] == pytest.approx(0.25)
    assert math.isnan(table.loc["b", "low"])  # no positive relevance at all
    assert table.loc["c", "low"] == 0.0 and table.loc["c", "high"] == 1.0


def test_positive_share_per_band_needs_one_frequency_per_row():
    with pytest.raises(ValueError, match="one frequency per row"):
        positive_share_per_band({"a": np.ones(3)}, np.arange(4.0), {"all": (0.0, 10.0)})


def test_band_level_means_the_rows_of_the_band():
    # two items, H = 3 rows at 0, 20, 40 Hz, W = 2 frames; band [0, 30) = rows 0 and 1
    features = np.array([[[-10.0, -20.0], [-30.0, -40.0], [0.0, 0.0]],
                         [[-1.0, -1.0], [-3.0, -3.0], [-99.0, -99.0]]])
    frequencies = np.array([0.0, 20.0, 40.0])
    np.testing.assert_allclose(band_level(features, frequencies, (0.0, 30.0)), [-25.0, -2.0])
    np.testing.assert_allclose(band_level(features[:, None], frequencies, (30.0, 50.0)), [0.0, -99.0])
    with pytest.raises(ValueError, match="no row lies in"):
        band_level(features, frequencies, (50.0, 60.0))
    with pytest.raises(ValueError, match="H = 3 rows"):
        band_level(features[:, :2], frequencies, (0.0, 30.0))


def _recording(speaker: str, gender: str, repetition: int) -> Recording:
    return Recording(Path(f"/nowhere/{speaker}_{repetition}.wav"), None, speaker, gender, repetition)


def test_band_level_per_split_medians_per_speaker_then_per_gender():
    frequencies = np.array([0.0, 100.0])
    # row 0 holds the level; row 1 is outside the band [0, 50)
    levels = {("f1", 0): -40.0, ("f1", 1): -44.0, ("f1", 2): -60.0,  # speaker median -44
              ("f2", 0): -50.0,                                      # -50
              ("m1", 0): -70.0, ("m1", 1): -72.0,                    # -71
              ("m2", 0): -30.0}                                      # -30
    gender = {"f1": "female", "f2": "female", "m1": "male", "m2": "male"}
    recordings = [_recording(s, gender[s], r) for (s, r) in levels]
    features = np.stack([[[level] * 2, [0.0] * 2] for level in levels.values()])
    dataset = FeatureDataset(features, [1 if gender[s] == "female" else 0 for s, _ in levels], recordings)
    only_f1_m1 = Subset(dataset, [0, 1, 2, 4, 5])
    table = band_level_per_split({"train": dataset, "test": only_f1_m1}, frequencies, (0.0, 50.0))
    # train: female median of (-44, -50) = -47; male median of (-71, -30) = -50.5
    assert table.loc["train", "female (dB)"] == pytest.approx(-47.0)
    assert table.loc["train", "male (dB)"] == pytest.approx(-50.5)
    assert table.loc["train", "female speakers"] == 2 and table.loc["train", "male speakers"] == 2
    # pairs (female > male): -44 > -71, -44 < -30, -50 > -71, -50 < -30 -> 2 of 4
    assert table.loc["train", "AUC female > male"] == pytest.approx(0.5)
    assert table.loc["test", "female (dB)"] == pytest.approx(-44.0)
    assert table.loc["test", "male (dB)"] == pytest.approx(-71.0)
    assert table.loc["test", "AUC female > male"] == pytest.approx(1.0)


def test_band_level_per_split_needs_recordings():
    with pytest.raises(TypeError, match="FeatureDataset with recordings"):
        band_level_per_split({"train": FeatureDataset(np.zeros((1, 2, 2)), [0])}, np.array([0.0, 1.0]), (0.0, 1.0))


def test_speaker_counts_count_each_speaker_once_per_split():
    recordings = [_recording("f1", "female", 0), _recording("f1", "female", 1), _recording("m1", "male", 0),
                  _recording("m2", "male", 0)]
    dataset = FeatureDataset(np.zeros((4, 1, 1)), [1, 1, 0, 0], recordings)
    table = speaker_counts({"all": dataset, "part": Subset(dataset, [1, 3])})
    assert table.loc["all"].to_dict() == {"female speakers": 1, "male speakers": 2, "recordings": 4}
    assert table.loc["part"].to_dict() == {"female speakers": 1, "male speakers": 1, "recordings": 2}
