"""Our MoRF curve against an independent implementation: Quantus 0.6.0's ``PixelFlipping``.

Quantus flips ``features_in_step`` bins per step, most relevant first (``argsort(-a)``), and
records the model's softmax probability of the target class after each step.  Settings that make
it compute exactly our curve:

- ``softmax=True`` (its default): our curves score the softmax probability of the true class;
- ``abs=False`` (its default) and ``normalise=False`` (default ``True``, which divides the
  attributions by their maximum -- order-preserving, switched off so the ranking is untouched);
- ``perturb_baseline="black"`` is each sample's minimum, our ``"min"``; a number is that number
  (our ``0.0``, the 0 dB baseline);
- the relevance maps have no ties: Quantus' ``np.argsort`` is not stable, ours breaks ties by the
  lower row-major index;
- Quantus' curve starts after the first step and has no clean point: it is compared with ours at
  fractions ``k / M`` for ``k = s, 2s, ..., M`` (``s = features_in_step``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lrp_utils.evaluation.faithfulness import faithfulness_curves

quantus = pytest.importorskip("quantus")

SIDE, STEP = 4, 2  # 16 bins, two per step: 8 points per curve


def _case():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 3 * 3, 3)).eval()
    generator = torch.Generator().manual_seed(1)
    x = -80 * torch.rand((4, 1, SIDE, SIDE), generator=generator)
    y = torch.tensor([0, 1, 2, 1])
    # distinct values per sample (no ties), of both signs
    relevance = torch.stack([torch.randperm(SIDE * SIDE, generator=generator).float() - 7.5
                             for _ in range(4)]).view_as(x)
    return model, x, y, relevance


def _quantus_curves(model, x, y, relevance, baseline) -> np.ndarray:
    metric = quantus.PixelFlipping(features_in_step=STEP, abs=False, normalise=False,
                                   perturb_baseline=baseline, disable_warnings=True)
    scores = metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=relevance.numpy(),
                    softmax=True, device="cpu", channel_first=True)
    return np.asarray(scores, dtype=np.float64)


@pytest.mark.parametrize("ours, theirs", [("min", "black"), (0.0, 0.0)])
def test_morf_curve_equals_quantus_pixel_flipping(ours, theirs):
    model, x, y, relevance = _case()
    fractions = [k / SIDE ** 2 for k in range(0, SIDE ** 2 + 1, STEP)]
    curves = faithfulness_curves(model, x, y, relevance, fractions, baseline=ours)
    assert curves.n_flipped == tuple(range(0, SIDE ** 2 + 1, STEP))
    expected = _quantus_curves(model, x, y, relevance, theirs)
    assert expected.shape == (4, SIDE ** 2 // STEP)
    np.testing.assert_allclose(curves.morf[:, 1:], expected, rtol=1e-5, atol=1e-6)
    # the oracle tells the orders apart: our least-relevant-first curve is not Quantus' curve
    assert not np.allclose(curves.lerf[:, 1:-1], expected[:, :-1], rtol=1e-3, atol=1e-4)


def test_quantus_lerf_is_pixel_flipping_of_the_negated_map():
    model, x, y, relevance = _case()
    fractions = [k / SIDE ** 2 for k in range(0, SIDE ** 2 + 1, STEP)]
    curves = faithfulness_curves(model, x, y, relevance, fractions, baseline="min")
    np.testing.assert_allclose(curves.lerf[:, 1:], _quantus_curves(model, x, y, -relevance, "black"),
                               rtol=1e-5, atol=1e-6)
