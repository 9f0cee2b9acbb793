"""Relevance-mass accuracy, rank accuracy and the pointing game (lrp_utils.evaluation.localisation),
on hand-computed maps."""

import math

import pytest
import torch

from lrp_utils.evaluation.localisation import (LOCALISATION_METRICS, localisation_scores, relevance_mass,
                                               summarize_localisation, top_k_share)

# Two 1x2x3 maps and their regions, computed by hand below.
RELEVANCE = torch.tensor([[[[3.0, -1.0, 2.0], [0.0, 1.0, -2.0]]],
                          [[[1.0, 1.0, 0.0], [-3.0, 4.0, 0.0]]]])
MASK = torch.tensor([[[[True, False, True], [False, False, False]]],
                     [[[False, True, False], [False, False, True]]]])


def test_relevance_mass_by_hand(eval_device):
    # sample 0: positive relevance 3 + 2 + 1 = 6, inside 3 + 2 = 5; sample 1: 1 + 1 + 4 = 6, inside 1
    mass = relevance_mass(RELEVANCE.to(eval_device), MASK.to(eval_device))
    assert mass.dtype == torch.float64
    assert torch.allclose(mass.cpu(), torch.tensor([5 / 6, 1 / 6], dtype=torch.float64))
    negative = relevance_mass(-RELEVANCE.abs(), MASK)
    assert torch.isnan(negative).all()  # no positive relevance: undefined


def test_top_k_share_by_hand(eval_device):
    relevance, mask = RELEVANCE.to(eval_device), MASK.to(eval_device)
    # sample 0 ranks 3 (bin 0), 2 (bin 2), 1, 0, -1, -2: its two best bins are its region
    # sample 1 ranks 4 (bin 4), then the tie 1, 1 lower index first (bin 0, then bin 1)
    assert top_k_share(relevance, mask).tolist() == [1.0, 0.0]  # k = region size = 2
    assert top_k_share(relevance, mask, k=1).tolist() == [1.0, 0.0]  # pointing game
    assert top_k_share(relevance, mask, k=3).tolist() == pytest.approx([2 / 3, 1 / 3])
    for bad in (0, 7, 1.5, True):
        with pytest.raises(ValueError, match="k must be"):
            top_k_share(relevance, mask, k=bad)


def test_scores_and_summary_by_hand():
    scores = localisation_scores(RELEVANCE, MASK)
    assert list(scores.columns) == list(LOCALISATION_METRICS)
    assert scores["relevance mass"].tolist() == pytest.approx([5 / 6, 1 / 6])
    assert scores["rank accuracy"].tolist() == [1.0, 0.0]
    assert scores["pointing game"].tolist() == [1.0, 0.0]
    summary = summarize_localisation(scores)
    assert summary["relevance mass mean"] == pytest.approx(0.5)
    assert summary["relevance mass std"] == pytest.approx(math.sqrt(2 * (1 / 3) ** 2))  # ddof 1
    assert summary["pointing game mean"] == pytest.approx(0.5)


def test_the_region_itself_scores_one_and_noise_its_size():
    generator = torch.Generator().manual_seed(0)
    mask = torch.zeros(400, 1, 20, 20, dtype=torch.bool)
    mask[..., 5:9, 2:12] = True  # 40 of 400 bins
    perfect = localisation_scores(mask.float() + 0.01 * torch.rand(mask.shape, generator=generator), mask)
    assert (perfect[["relevance mass", "rank accuracy", "pointing game"]] > 0.9).all().all()
    noise = summarize_localisation(localisation_scores(torch.rand(mask.shape, generator=generator), mask))
    for metric in LOCALISATION_METRICS:
        assert noise[f"{metric} mean"] == pytest.approx(0.1, abs=0.04)


def test_bad_masks_are_named():
    with pytest.raises(ValueError, match="boolean tensor of the relevance's shape"):
        relevance_mass(RELEVANCE, MASK.float())
    with pytest.raises(ValueError, match="boolean tensor of the relevance's shape"):
        top_k_share(RELEVANCE, MASK[:, 0])
    empty = MASK.clone()
    empty[1] = False
    with pytest.raises(ValueError, match=r"no bin for sample\(s\) \[1\]"):
        localisation_scores(RELEVANCE, empty)
