"""Evenly spaced test selections, batched predictions and the first correctly classified item."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lrp_utils.evaluation import evenly_spaced, first_correct, predict, probabilities


def test_evenly_spaced_takes_both_ends_and_all_when_asked():
    data = TensorDataset(torch.arange(10.0)[:, None], torch.arange(10) % 2)
    x, y, indices = evenly_spaced(data, 4)
    assert indices.tolist() == [0, 3, 6, 9] and x[:, 0].tolist() == [0.0, 3.0, 6.0, 9.0]
    assert y.tolist() == [0, 1, 0, 1]
    assert evenly_spaced(data, None)[2].tolist() == list(range(10))
    assert evenly_spaced(data, 50)[2].tolist() == list(range(10))
    with pytest.raises(ValueError, match="positive number of items"):
        evenly_spaced(data, 0)


def test_predict_matches_the_argmax_in_batches_and_restores_the_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)).train()
    x = torch.randn(11, 3)
    expected = model.eval()(x).argmax(1)
    model.train()
    assert torch.equal(predict(model, x, batch_size=4), expected)
    assert model.training


def test_first_correct_by_hand():
    y = torch.tensor([0, 1, 1, 0, 1])
    predicted = torch.tensor([1, 0, 1, 0, 1])
    assert first_correct(predicted, y) == 2
    assert first_correct(predicted, y, label=1) == 2
    assert first_correct(predicted, y, label=0) == 3


def test_first_correct_says_when_the_model_gets_no_item_of_the_class_right():
    y = torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match=r"no item of class 1 \(2 given\) of these 3 correctly"):
        first_correct(torch.tensor([0, 0, 0]), y, label=1)
    with pytest.raises(ValueError, match="one class index per sample"):
        first_correct(torch.tensor([0, 0]), y)


def test_probabilities_are_the_softmax_of_the_logits_in_batches():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    x = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0], [0.0, math.log(4.0)]])
    # logits (a, b) -> p = (e^a, e^b) / (e^a + e^b): 1/2, 3/4, 1/5
    expected = torch.tensor([[0.5, 0.5], [0.75, 0.25], [0.2, 0.8]])
    assert torch.allclose(probabilities(model, x, batch_size=2), expected)
