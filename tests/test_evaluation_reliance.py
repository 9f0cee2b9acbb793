"""A network's reliance on a planted cue beyond a reference network (lrp_utils.evaluation.reliance),
on hand-computed probabilities."""

import math

import pytest
import torch

from lrp_utils.evaluation.reliance import cue_reliance
from lrp_utils.evaluation.table import BEATS, NO_DIFFERENCE, WORSE


def p(*values):
    return torch.tensor(values, dtype=torch.float32)


def test_cue_reliance_by_hand():
    # network shifts 0.5, 0.4, 0.6 (mean 0.5); reference shifts 0.1, 0.0, 0.2 (mean 0.1)
    # d = 0.4, 0.4, 0.4: mean 0.4, sd 0 -> relies on the cue beyond the spread
    result = cue_reliance(p(0.1, 0.2, 0.3), p(0.6, 0.6, 0.9), p(0.1, 0.1, 0.1), p(0.2, 0.1, 0.3))
    assert result["shift"] == pytest.approx(0.5, abs=1e-6)
    assert result["reference shift"] == pytest.approx(0.1, abs=1e-6)
    assert result["reliance"] == pytest.approx(0.4, abs=1e-6)
    assert result["reliance std"] == pytest.approx(0.0, abs=1e-6)
    assert result["share relying"] == 1.0 and result["items"] == 3
    assert result["verdict"] == BEATS


def test_a_few_flipped_items_are_not_reliance_beyond_the_spread():
    # one item of four flips (d = 0.8), the others do not move: mean 0.2, sd 0.4 -> no difference
    result = cue_reliance(p(0.1, 0.1, 0.1, 0.1), p(0.9, 0.1, 0.1, 0.1), p(0.1, 0.1, 0.1, 0.1), p(0.1, 0.1, 0.1, 0.1))
    assert result["reliance"] == pytest.approx(0.2, abs=1e-6)
    assert result["reliance std"] == pytest.approx(0.4, abs=1e-6)
    assert result["share relying"] == 0.25
    assert result["verdict"] == NO_DIFFERENCE


def test_what_the_cue_does_to_any_network_is_not_reliance():
    # both networks move by the same 0.5 on every item (exact in binary): the network relies on nothing
    result = cue_reliance(p(0.0, 0.25), p(0.5, 0.75), p(0.25, 0.5), p(0.75, 1.0))
    assert result["shift"] == 0.5 and result["reference shift"] == 0.5
    assert result["reliance"] == 0.0
    assert result["verdict"] == NO_DIFFERENCE
    # the reference moving more than the network: "worse" (the network resists the cue)
    assert cue_reliance(p(0.1, 0.2), p(0.1, 0.2), p(0.1, 0.2), p(0.5, 0.7))["verdict"] == WORSE


@pytest.mark.parametrize("bad, message", [
    ((p(0.1, 0.2), p(0.1), p(0.1, 0.2), p(0.1, 0.2)), "same items"),
    ((p(0.1), p(0.1), p(0.1), p(0.1)), "at least two"),
    ((p(0.1, 2.0), p(0.1, 0.2), p(0.1, 0.2), p(0.1, 0.2)), "outside \\[0, 1\\]"),
    ((p(0.1, math.nan), p(0.1, 0.2), p(0.1, 0.2), p(0.1, 0.2)), "outside \\[0, 1\\]"),
    ((torch.tensor([1, 0]), p(0.1, 0.2), p(0.1, 0.2), p(0.1, 0.2)), "plain must be a 1-D float tensor"),
    ((p(0.1, 0.2), p(0.1, 0.2)[None], p(0.1, 0.2), p(0.1, 0.2)), "with_cue must be a 1-D float tensor"),
])
def test_bad_input_names_the_argument(bad, message):
    with pytest.raises(ValueError, match=message):
        cue_reliance(*bad)
