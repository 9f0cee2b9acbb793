"""Evenly spaced test selections and batched predictions."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lrp_utils.evaluation import evenly_spaced, predict


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
