"""Table 1 (paper section 4.3): accuracy at 0 % and at a fraction of relevant bins flipped."""

from __future__ import annotations

import math

import pytest

from lrp_utils.evaluation import FlippingCurve, flip_each_model, table1, table1_from_curves

SIGNAL_BINS = [(0, 1), (1, 3), (2, 2), (3, 0), (4, 4), (5, 1)]   # all carry the label
H = W = 6   # 36 bins; fraction 3/36 flips k = 3 bins


@pytest.fixture
def models_and_data(eval_device, eval_key_bin_model, eval_key_bin_data):
    # "narrow" decides from 3 signal bins: flipping its 3 most relevant bins leaves chance (0.5).
    # "wide" decides from all 6: after 3 flips the other 3 still carry the sign (accuracy 1).
    narrow = eval_key_bin_model(SIGNAL_BINS[:3], H, W).to(eval_device)
    wide = eval_key_bin_model(SIGNAL_BINS, H, W).to(eval_device)
    x, y = eval_key_bin_data(20, SIGNAL_BINS, H, W)
    return narrow, wide, x.to(eval_device), y.to(eval_device)


def test_table1_by_hand(models_and_data, eval_grad_x_input):
    narrow, wide, x, y = models_and_data
    table = table1({"AlexNet": narrow, "AlexNet_augmented": [narrow, wide]}, x, y,
                   fraction=3 / 36, explain_fn=eval_grad_x_input, batch_size=8)
    assert list(table.index) == ["AlexNet", "AlexNet_augmented"]
    assert table.loc["AlexNet", "n_models"] == 1
    assert table.loc["AlexNet", "clean_mean"] == 1.0
    assert math.isnan(table.loc["AlexNet", "clean_std"])
    assert table.loc["AlexNet", "flipped_mean"] == 0.5
    assert table.loc["AlexNet", "0 %"] == "100.00 %"
    assert table.loc["AlexNet", "8.33333 %"] == "50.00 %"
    # each model flipped with its own relevance: narrow -> 0.5, wide -> 1.0
    assert table.loc["AlexNet_augmented", "flipped_mean"] == pytest.approx(0.75)
    assert table.loc["AlexNet_augmented", "flipped_std"] == pytest.approx(math.sqrt(2 * 0.25 ** 2))
    assert table.loc["AlexNet_augmented", "clean_std"] == 0.0
    assert table.loc["AlexNet_augmented", "8.33333 %"] == "75.00 ± 35.36 %"
    assert [run["flipped"] for run in table.attrs["runs"]] == [0.5, 0.5, 1.0]
    assert table.attrs["fraction"] == pytest.approx(3 / 36)
    assert table.attrs["n_samples"] == len(y)


def test_table1_paper_fraction_column_name(models_and_data, eval_grad_x_input):
    narrow, _, x, y = models_and_data
    table = table1({"AlexNet": narrow}, x, y, explain_fn=eval_grad_x_input)  # 0.005 -> k = 0
    assert list(table.columns[-2:]) == ["0 %", "0.5 %"]
    assert table.loc["AlexNet", "flipped_mean"] == 1.0


@pytest.mark.parametrize("models, match", [
    ({}, "non-empty mapping"),
    ({"AlexNet": []}, "non-empty list"),
    ({"AlexNet": ["not a model"]}, "nn.Module"),
])
def test_table1_bad_models(models_and_data, eval_grad_x_input, models, match):
    _, _, x, y = models_and_data
    with pytest.raises(ValueError, match=match):
        table1(models, x, y, explain_fn=eval_grad_x_input)


def test_table1_bad_fraction(models_and_data, eval_grad_x_input):
    narrow, _, x, y = models_and_data
    with pytest.raises(ValueError, match=r"fraction must lie in \[0, 1\]"):
        table1({"AlexNet": narrow}, x, y, fraction=0.5 * 100, explain_fn=eval_grad_x_input)


def curve(accuracy: tuple[float, ...], fractions=(0.0, 0.01, 0.1)) -> FlippingCurve:
    return FlippingCurve(fractions, (0,) * len(fractions), accuracy, (0.0,) * len(fractions),
                         "relevance", "moore", 8)


def test_table1_from_curves_reads_the_accuracy_at_0_and_at_the_fraction():
    curves = {"AlexNet": [curve((1.0, 0.5, 0.25)), curve((0.75, 0.25, 0.0))],
              "AlexNet_augmented": [curve((1.0, 0.75, 0.5))]}
    table = table1_from_curves(curves, fraction=0.01)
    # AlexNet: clean (1 + 0.75) / 2, flipped (0.5 + 0.25) / 2, both with std sqrt(2 * 0.125^2)
    assert table.loc["AlexNet", "clean_mean"] == pytest.approx(0.875)
    assert table.loc["AlexNet", "flipped_mean"] == pytest.approx(0.375)
    assert table.loc["AlexNet", "flipped_std"] == pytest.approx(math.sqrt(2 * 0.125 ** 2))
    assert table.loc["AlexNet", "1 %"] == "37.50 ± 17.68 %"
    assert table.loc["AlexNet_augmented", "flipped_mean"] == 0.75
    assert table.attrs["baseline"] == "moore" and table.attrs["n_samples"] == 8
    with pytest.raises(ValueError, match="no point at fraction 0.005"):
        table1_from_curves(curves, fraction=0.005)


def test_flip_each_model_gives_every_model_its_own_curve(models_and_data, eval_grad_x_input):
    narrow, wide, x, y = models_and_data
    curves = flip_each_model({"AlexNet": narrow, "AlexNet_augmented": [narrow, wide]}, x, y,
                             [0.0, 1 / 36, 3 / 36, 6 / 36], explain_fn=eval_grad_x_input, batch_size=8)
    assert [len(group) for group in curves.values()] == [1, 2]
    # narrow decides from 3 bins: chance once they are flipped; wide needs all 6 flipped
    assert curves["AlexNet"][0].accuracy == (1.0, 1.0, 0.5, 0.5)
    assert curves["AlexNet_augmented"][1].accuracy == (1.0, 1.0, 1.0, 0.5)
    assert curves["AlexNet"][0].n_flipped == (0, 1, 3, 6)

