"""Summaries of relevance maps: the share of positive relevance and the mean relevance per
frequency row, checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lrp_utils.evaluation import (
    class_relevance_profiles,
    BELOW_1KHZ,
    class_groups,
    positive_share,
    relevance_per_frequency,
    summarize_frequency_profiles,
)


def test_positive_share_by_hand():
    # positive mass 1 + 2 = 3, absolute mass 1 + 3 + 2 = 6
    assert positive_share(torch.tensor([[1.0, -3.0], [2.0, 0.0]])) == pytest.approx(0.5)
    assert positive_share(torch.tensor([0.25, 0.75])) == 1.0
    assert positive_share(torch.tensor([-0.25, -0.75])) == 0.0


def test_positive_share_of_zero_relevance_is_undefined():
    assert math.isnan(positive_share(torch.zeros(3, 3)))
    with pytest.raises(TypeError, match="relevance must be a torch.Tensor"):
        positive_share(np.ones(3))


def test_relevance_per_frequency_averages_samples_channels_and_time():
    # (N=3, C=1, H=2, W=2); sample 1 is left out of group "a"
    relevance = torch.tensor([[[[1.0, 3.0], [0.0, -2.0]]],
                              [[[100.0, 100.0], [100.0, 100.0]]],
                              [[[5.0, 7.0], [4.0, 2.0]]]])
    profiles = relevance_per_frequency(relevance, {"a": torch.tensor([True, False, True]),
                                                   "b": torch.tensor([False, True, False])})
    assert list(profiles) == ["a", "b"]
    # row 0: (1 + 3 + 5 + 7) / 4 = 4; row 1: (0 - 2 + 4 + 2) / 4 = 1
    np.testing.assert_allclose(profiles["a"], [4.0, 1.0])
    np.testing.assert_allclose(profiles["b"], [100.0, 100.0])


@pytest.mark.parametrize("mask, match", [
    (torch.tensor([False, False]), "selects no sample"),
    (torch.tensor([1, 0]), "boolean mask of shape \\(2,\\)"),
    (torch.tensor([True, False, True]), "boolean mask of shape \\(2,\\)"),
])
def test_relevance_per_frequency_bad_groups(mask, match):
    with pytest.raises(ValueError, match=match):
        relevance_per_frequency(torch.ones(2, 1, 3, 3), {"female": mask})


def test_summarize_frequency_profiles_by_hand():
    frequencies = np.array([0.0, 500.0, 1000.0, 1500.0])
    profiles = {"male": np.array([1.0, -3.0, 2.0, 2.0]), "female": np.array([0.0, 0.0, -1.0, 4.0])}
    table = summarize_frequency_profiles(profiles, frequencies,
                                         {**BELOW_1KHZ, "1 to 2 kHz": (1000.0, 2000.0)})
    assert list(table.index) == ["male", "female"]
    # male: the largest value 2 first occurs at 1000 Hz; |r| below 1 kHz: (1 + 3) / 8
    assert table.loc["male", "peak (Hz)"] == 1000.0
    assert table.loc["male", "share of |mean relevance| below 1 kHz"] == pytest.approx(0.5)
    assert table.loc["male", "share of |mean relevance| 1 to 2 kHz"] == pytest.approx(0.5)
    assert table.loc["female", "peak (Hz)"] == 1500.0
    assert table.loc["female", "share of |mean relevance| below 1 kHz"] == 0.0


def test_summarize_frequency_profiles_needs_one_frequency_per_row():
    with pytest.raises(ValueError, match="one frequency per row"):
        summarize_frequency_profiles({"male": np.zeros(3)}, np.arange(4.0))


def test_class_groups_take_the_correct_samples_or_all_of_a_class_the_model_missed():
    labels = torch.tensor([0, 0, 1, 1, 1])
    correct = torch.tensor([False, False, True, False, True])
    groups = class_groups(labels, correct, {0: "male", 1: "female"})
    assert groups["female"].tolist() == [False, False, True, False, True]
    assert groups["male"].tolist() == [True, True, False, False, False]  # none right: all of class 0
    with pytest.raises(ValueError, match="no sample of class 2"):
        class_groups(labels, correct, {2: "other"})
    with pytest.raises(ValueError, match="boolean correct mask"):
        class_groups(labels, correct.int(), {0: "male"})


def test_class_relevance_profiles_average_the_correct_samples_of_each_class():
    # 4 samples, 2 frequency rows x 2 frames; sample k has the value k + 1 in row 0, -(k + 1) in row 1
    relevance = torch.tensor([[[[k + 1.0, k + 1.0], [-(k + 1.0), -(k + 1.0)]]] for k in range(4)])
    labels = torch.tensor([0, 0, 1, 1])
    correct = torch.tensor([True, False, False, False])  # class 1: none right, so all of it
    profiles = class_relevance_profiles(relevance, labels, correct, {0: "a", 1: "b"})
    np.testing.assert_allclose(profiles["a"], [1.0, -1.0])  # sample 0 only
    np.testing.assert_allclose(profiles["b"], [3.5, -3.5])  # mean of samples 2 and 3
