"""Tests of lrp_utils.evaluation.sharded (and evaluate(sharded=True)) under a 2-process gloo group.

A module fixture spawns two CPU processes that explain, pixel-flip and evaluate a small float64
network on 23 inputs in batches of 5 (5 batches: 2 on rank 0, 3 on rank 1) and of 32 (one batch:
rank 1 idle); the tests compare what each rank got with one process's functions.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lrp_utils.evaluation.pixel_flipping import FlippingCurve, pixel_flipping
from lrp_utils.evaluation.relevance import explain_batched
from lrp_utils.evaluation.sharded import combine_curves, explain_sharded, pixel_flipping_sharded
from lrp_utils.training import distributed
from lrp_utils.training.loop import evaluate
from tests.test_distributed_training import _free_port, _join_group, _spawn

FRACTIONS = (0.0, 0.05, 0.2, 0.5)


def _model() -> nn.Module:
    """A small conv net in float64 (seeded), layers named as in the AlexNet."""
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, 4, 3), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2), flatten=nn.Flatten(),
        fc6=nn.Linear(4 * 5 * 5, 16), relu6=nn.ReLU(), fc8=nn.Linear(16, 3),
    )).double().eval()


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(23, 1, 12, 12, generator=generator, dtype=torch.float64)
    y = torch.arange(23) % 3
    return x, y


def _fails_on_rank_1(model, x, y, composite):
    if distributed.get_rank() == 1:
        raise ValueError("rank 1 cannot explain")
    return x.clone()


def _worker(rank: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    _join_group(rank, 2, port)
    model, (x, y) = _model(), _data()
    report = {}
    for batch in (5, 32):
        relevance = explain_sharded(model, x, y, batch_size=batch)
        report[batch] = {
            "relevance": relevance,
            "relevance_order": pixel_flipping_sharded(model, x, y, relevance, FRACTIONS,
                                                      batch_size=batch, baseline="min"),
            "random_order": pixel_flipping_sharded(model, x, y, relevance, FRACTIONS, seed=3,
                                                   batch_size=batch, order="random"),
            "metrics": evaluate(model, TensorDataset(x, y), batch_size=batch, sharded=True),
        }
    try:
        explain_sharded(model, x, y, batch_size=5, explain_fn=_fails_on_rank_1)
    except ValueError as error:
        report["error"] = str(error)
    torch.save(report, Path(out) / f"rank{rank}.pt")
    distributed.shutdown()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    """What each of the two ranks got."""
    out = tmp_path_factory.mktemp("sharded")
    _spawn(_worker, (_free_port(), str(out)))
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


@pytest.fixture(scope="module")
def one_process() -> dict:
    torch.set_num_threads(1)
    model, (x, y) = _model(), _data()
    return {"model": model, "x": x, "y": y,
            **{batch: explain_batched(model, x, y, batch_size=batch) for batch in (5, 32)}}


# --- 2 processes against 1 --------------------------------------------------------------------

@pytest.mark.parametrize("batch", [5, 32])
def test_sharded_relevance_equals_one_process_exactly(two_ranks, one_process, batch):
    for rank in (0, 1):
        relevance = two_ranks[rank][batch]["relevance"]
        assert relevance.dtype == torch.float64
        assert torch.equal(relevance, one_process[batch])  # same order, same bits


@pytest.mark.parametrize("batch", [5, 32])
def test_sharded_flipping_curve_equals_one_process(two_ranks, one_process, batch):
    model, x, y = one_process["model"], one_process["x"], one_process["y"]
    single = pixel_flipping(model, x, y, one_process[batch], FRACTIONS, baseline="min",
                            batch_size=batch)
    for rank in (0, 1):
        curve = two_ranks[rank][batch]["relevance_order"]
        assert curve.accuracy == single.accuracy  # exact: counts of correct predictions
        assert curve.auc() == single.auc() and curve.n_samples == 23
        assert curve.mean_logit == pytest.approx(single.mean_logit, rel=1e-12, abs=1e-15)
        assert (curve.fractions, curve.n_flipped, curve.baseline) == (
            single.fractions, single.n_flipped, single.baseline)


@pytest.mark.parametrize("batch", [5, 32])
def test_sharded_random_order_is_the_same_for_any_world_size(two_ranks, one_process, batch):
    model, x, y = one_process["model"], one_process["x"], one_process["y"]
    alone = pixel_flipping_sharded(model, x, y, one_process[batch], FRACTIONS, seed=3,
                                   batch_size=batch, order="random")
    assert two_ranks[0][batch]["random_order"] == alone == two_ranks[1][batch]["random_order"]


@pytest.mark.parametrize("batch", [5, 32])
def test_sharded_evaluation_equals_one_process_exactly(two_ranks, one_process, batch):
    single = evaluate(one_process["model"], TensorDataset(one_process["x"], one_process["y"]),
                      batch_size=batch)
    assert two_ranks[0][batch]["metrics"] == single == two_ranks[1][batch]["metrics"]


def test_an_error_on_one_rank_is_raised_on_every_rank(two_ranks):
    assert two_ranks[0]["error"] == two_ranks[1]["error"] == "rank 1 cannot explain"


# --- one process --------------------------------------------------------------------------------

def test_without_torchrun_sharded_explanation_is_explain_batched(one_process):
    model, x, y = one_process["model"], one_process["x"], one_process["y"]
    assert torch.equal(explain_sharded(model, x, y, batch_size=5), one_process[5])
    relevance_order = pixel_flipping_sharded(model, x, y, one_process[5], FRACTIONS, batch_size=5)
    assert relevance_order.accuracy == pixel_flipping(model, x, y, one_process[5], FRACTIONS,
                                                      batch_size=5).accuracy


def _curve(accuracy, mean_logit, n, fractions=(0.0, 0.5)) -> FlippingCurve:
    return FlippingCurve(fractions=fractions, n_flipped=(0, 2), accuracy=accuracy,
                         mean_logit=mean_logit, order="relevance", baseline=0.0, n_samples=n)


def test_combine_curves_by_hand():
    # batch 1: 3 items, 3 then 1 correct, logit sums 6 and 3; batch 2: 1 item, 1 then 0 correct,
    # logit 2 then -1  ->  4/4 and 1/4 correct, mean logits 8/4 and 2/4
    combined = combine_curves([_curve((1.0, 1 / 3), (2.0, 1.0), 3),
                               _curve((1.0, 0.0), (2.0, -1.0), 1)])
    assert combined.accuracy == (1.0, 0.25) and combined.mean_logit == (2.0, 0.5)
    assert combined.n_samples == 4 and combined.n_flipped == (0, 2)


def test_combine_curves_refuses_curves_of_different_runs():
    with pytest.raises(ValueError, match="differ in fractions, order or baseline"):
        combine_curves([_curve((1.0, 1.0), (0.0, 0.0), 1),
                        _curve((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), 1, fractions=(0.0, 0.1, 0.5))])
    with pytest.raises(ValueError, match="at least one curve"):
        combine_curves([])


def test_sharded_flipping_of_nothing_is_a_clear_error(one_process):
    model = one_process["model"]
    x = torch.empty(0, 1, 12, 12, dtype=torch.float64)
    with pytest.raises(ValueError, match="x is empty"):
        pixel_flipping_sharded(model, x, torch.empty(0, dtype=torch.long), x, FRACTIONS)
