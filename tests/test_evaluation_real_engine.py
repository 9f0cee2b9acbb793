"""The evaluation functions with the real LRP engine (:func:`lrp_utils.lrp.explain`) instead of
the gradient x input stand-in of the other evaluation tests."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from lrp_utils.evaluation import (
    default_composite,
    explain_batched,
    pixel_flipping,
    relevance_augmented_dataset,
    table1,
)
from lrp_utils.lrp import Epsilon, Zero, paper_composite
from lrp_utils.models import AlexNet

KEY_BINS = [(0, 1), (3, 3), (5, 0)]


@pytest.fixture
def key_bin_setup(eval_device, eval_key_bin_model, eval_key_bin_data):
    model = eval_key_bin_model(KEY_BINS, 6, 6).to(eval_device)
    x, y = eval_key_bin_data(12, KEY_BINS, 6, 6)
    return model, x.to(eval_device), y.to(eval_device)


def test_default_composite_gives_the_alexnet_convs_epsilon_and_its_dense_head_lrp0():
    # the paper's "LRP-0 + ε" (section 5): ε = 0.5 on all five convolutions, LRP-0 on fc6-fc8
    rules = default_composite().resolve(AlexNet(num_classes=2, seed=0))
    assert rules == {**{f"conv{i}": Epsilon(0.5) for i in range(1, 6)},
                     **{f"fc{i}": Zero() for i in range(6, 9)}}


def test_engine_relevance_of_a_linear_model_is_gradient_times_input(key_bin_setup,
                                                                    eval_grad_x_input):
    model, x, y = key_bin_setup
    relevance = explain_batched(model, x, y, batch_size=5)
    assert relevance.device == x.device
    assert torch.allclose(relevance, eval_grad_x_input(model, x, y), atol=1e-5)


def test_engine_relevance_flips_the_key_bins_first(key_bin_setup):
    model, x, y = key_bin_setup
    relevance = explain_batched(model, x, y)
    curve = pixel_flipping(model, x, y, relevance, [0.0, 3 / 36])
    assert curve.accuracy == (1.0, 0.5)
    table = table1({"AlexNet": model}, x, y, fraction=3 / 36)
    assert table.loc["AlexNet", "flipped_mean"] == 0.5


def test_engine_augments_the_key_bins(key_bin_setup):
    model, x, y = key_bin_setup
    augmented = relevance_augmented_dataset(model, TensorDataset(x.cpu(), y.cpu()), fraction=3 / 36)
    changed = augmented.tensors[0] != x.cpu()
    assert changed.flatten(1).sum(1).tolist() == [3] * 12
    assert all(changed[:, 0, i, j].all() for i, j in KEY_BINS)


def test_becker_alexnet_augmentation_changes_258_bins_per_spectrogram(eval_device):
    model = AlexNet(num_classes=2, seed=0).to(eval_device)
    x = torch.rand((2, 1, 227, 227), generator=torch.Generator().manual_seed(0)) * -80.0
    y = torch.tensor([0, 1])
    augmented = relevance_augmented_dataset(model, TensorDataset(x, y),
                                            composite=paper_composite("epsilon"))
    changed = augmented.tensors[0] != x
    assert changed.flatten(1).sum(1).tolist() == [258, 258]
