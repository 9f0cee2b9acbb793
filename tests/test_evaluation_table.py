"""Table 1 (paper section 4.3): accuracy at 0 % and at a fraction of relevant bins flipped."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lrp_utils.evaluation import FlippingCurve, flip_each_model, table1, table1_from_curves
from lrp_utils.evaluation.table import (
    BEATS,
    NO_DIFFERENCE,
    WORSE,
    compare_with_control,
    spread_verdict,
)

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



# --- does the augmentation beat a control beyond the seed spread? ---------------------------------

def three_seed_table(control_clean, control_flipped, augmented_clean, augmented_flipped):
    """A Table 1 of a control and the augmented row over three seeds (clean accuracy at 0,
    flipped at 0.01)."""
    return table1_from_curves({
        "control": [curve((c, f, 0.0)) for c, f in zip(control_clean, control_flipped)],
        "AlexNet_augmented": [curve((c, f, 0.0)) for c, f in zip(augmented_clean, augmented_flipped)],
    }, fraction=0.01)


def test_spread_verdict_by_hand():
    assert spread_verdict(0.25, 0.125) == BEATS            # 0.25 - 0.125 > 0
    assert spread_verdict(-0.25, 0.125) == WORSE           # -0.25 + 0.125 < 0
    assert spread_verdict(0.125, 0.25) == NO_DIFFERENCE    # |0.125| <= 0.25
    assert spread_verdict(-0.125, 0.25) == NO_DIFFERENCE
    assert spread_verdict(0.25, 0.25) == NO_DIFFERENCE     # the boundary: not beyond the spread
    assert spread_verdict(0.0, 0.0) == NO_DIFFERENCE
    assert spread_verdict(0.125, 0.0) == BEATS             # identical gain on every seed
    for mean, sd in ((0.1, math.nan), (math.nan, 0.1), (0.1, -0.1)):
        with pytest.raises(ValueError, match="at least two seeds"):
            spread_verdict(mean, sd)


def test_compare_with_control_pairs_the_seeds_by_hand():
    # clean: d = (1 - 0.75, 0.75 - 0.5, 1 - 0.5) = (0.25, 0.25, 0.5): mean 1/3,
    #   sd = sqrt(((1/12)^2 + (1/12)^2 + (1/6)^2) / 2) = sqrt(1/48) ~ 0.1443 -> beats
    # flipped: d = (0.5 - 0.75, 0.25 - 0.5, 0.5 - 0.5) = (-0.25, -0.25, 0): mean -1/6,
    #   sd = sqrt(((1/12)^2 + (1/12)^2 + (1/6)^2) / 2) ~ 0.1443 -> worse
    table = three_seed_table(control_clean=(0.75, 0.5, 0.5), control_flipped=(0.75, 0.5, 0.5),
                             augmented_clean=(1.0, 0.75, 1.0), augmented_flipped=(0.5, 0.25, 0.5))
    result = compare_with_control(table, "control")
    assert list(result.index) == ["clean", "flipped"]
    assert result.loc["clean", "differences"] == (0.25, 0.25, 0.5)
    assert result.loc["clean", "mean"] == pytest.approx(1 / 3)
    assert result.loc["clean", "sd"] == pytest.approx(math.sqrt(1 / 48))
    assert result.loc["clean", "verdict"] == BEATS
    assert result.loc["flipped", "differences"] == (-0.25, -0.25, 0.0)
    assert result.loc["flipped", "mean"] == pytest.approx(-1 / 6)
    assert result.loc["flipped", "sd"] == pytest.approx(math.sqrt(1 / 48))
    assert result.loc["flipped", "verdict"] == WORSE
    assert result["n_seeds"].tolist() == [3, 3]
    assert result.attrs == {"treatment": "AlexNet_augmented", "control": "control"}


def test_compare_with_control_pairs_rather_than_comparing_row_means():
    # Unpaired, the rows overlap (means 0.75 vs 0.7 with spreads 0.25); paired, the augmented
    # model wins by 0.05 on every seed: d = (0.05, 0.05, 0.05), sd 0 -> beats.  A gain smaller
    # than its own spread on the flipped column: d = (0.25, -0.25, 0.25), mean 1/12, sd
    # sqrt(((1/6)^2 * 2 + (1/3)^2) / 2) = sqrt(1/12) ~ 0.289 -> no difference.
    table = three_seed_table(control_clean=(0.45, 0.7, 0.95), control_flipped=(0.5, 0.75, 0.5),
                             augmented_clean=(0.5, 0.75, 1.0), augmented_flipped=(0.75, 0.5, 0.75))
    result = compare_with_control(table, "control")
    assert result.loc["clean", "mean"] == pytest.approx(0.05)
    assert result.loc["clean", "sd"] == pytest.approx(0.0, abs=1e-12)
    assert result.loc["clean", "verdict"] == BEATS
    assert result.loc["flipped", "mean"] == pytest.approx(1 / 12)
    assert result.loc["flipped", "sd"] == pytest.approx(math.sqrt(1 / 12))
    assert result.loc["flipped", "verdict"] == NO_DIFFERENCE
    # the other way round the clean gain is a loss
    reverse = compare_with_control(table, "AlexNet_augmented", treatment="control")
    assert reverse.loc["clean", "verdict"] == WORSE
    assert reverse.loc["flipped", "verdict"] == NO_DIFFERENCE


@pytest.mark.parametrize("rows, control, treatment, match", [
    ({"AlexNet_augmented": 2, "control": 2}, "missing", "AlexNet_augmented", "control='missing' is not a row"),
    ({"AlexNet_augmented": 2, "control": 2}, "control", "missing", "treatment='missing' is not a row"),
    ({"AlexNet_augmented": 2, "control": 2}, "control", "control", "both 'control'"),
    ({"AlexNet_augmented": 1, "control": 1}, "control", "AlexNet_augmented", "at least 2"),
    ({"AlexNet_augmented": 3, "control": 2}, "control", "AlexNet_augmented", "same number"),
])
def test_compare_with_control_bad_input(rows, control, treatment, match):
    table = table1_from_curves({name: [curve((1.0, 0.5, 0.0))] * n for name, n in rows.items()},
                               fraction=0.01)
    with pytest.raises(ValueError, match=match):
        compare_with_control(table, control, treatment)


def test_compare_with_control_needs_the_runs():
    with pytest.raises(ValueError, match="no per-seed runs"):
        compare_with_control(pd.DataFrame(), "control")
