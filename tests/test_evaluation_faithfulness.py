"""lrp_utils.evaluation.faithfulness (and pixel_flipping.curve_area): MoRF / LeRF curves, areas,
gap, summary table and paired comparison against hand-computed toy cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lrp_utils.evaluation.faithfulness import (
    FaithfulnessCurves,
    baseline_label,
    compare_gaps,
    faithfulness_curves,
    faithfulness_grid,
    faithfulness_summary,
    faithfulness_table,
)
from lrp_utils.evaluation.pixel_flipping import curve_area


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _sum_model() -> nn.Module:
    """logits = [sum of the 4 bins, 5.5]: p(class 0) = sigmoid(sum - 5.5)."""
    linear = nn.Linear(4, 2).double()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.0, 1, 1, 1], [0, 0, 0, 0]]))
        linear.bias.copy_(torch.tensor([0.0, 5.5]))
    return nn.Sequential(nn.Flatten(), linear)


X = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)  # sum 10
R = torch.tensor([[[[0.1, 0.4], [0.3, 0.2]]]], dtype=torch.float64)  # MoRF: 2, 3, 4, 1; LeRF: 1, 4, 3, 2
FRACTIONS = (0.0, 0.25, 0.5, 1.0)  # k = 0, 1, 2, 4 of 4 bins


def test_curves_on_a_hand_computed_2x2_case():
    curves = faithfulness_curves(_sum_model(), X, torch.tensor([0]), R, FRACTIONS, baseline=0.0)
    assert curves.n_flipped == (0, 1, 2, 4)
    # MoRF flips 2, then 3, then all: sums 10, 8, 5, 0; LeRF flips 1, then 4, then all: 10, 9, 5, 0
    morf = [_sigmoid(s - 5.5) for s in (10, 8, 5, 0)]
    lerf = [_sigmoid(s - 5.5) for s in (10, 9, 5, 0)]
    np.testing.assert_allclose(curves.morf[0], morf, rtol=1e-12)
    np.testing.assert_allclose(curves.lerf[0], lerf, rtol=1e-12)
    np.testing.assert_array_equal(curves.morf_correct[0], [True, True, False, False])
    np.testing.assert_array_equal(curves.accuracy("LeRF"), [1.0, 1.0, 0.0, 0.0])

    def area(v):  # trapezoid over (0, .25, .5, 1), divided by the range 1
        return 0.25 * (v[0] + v[1]) / 2 + 0.25 * (v[1] + v[2]) / 2 + 0.5 * (v[2] + v[3]) / 2

    assert curves.auc("MoRF")[0] == pytest.approx(area(morf), rel=1e-12)
    assert curves.auc("LeRF")[0] == pytest.approx(area(lerf), rel=1e-12)
    assert curves.gap[0] == pytest.approx(area(lerf) - area(morf), rel=1e-12)
    assert curves.gap[0] > 0  # the LeRF curve lies above the MoRF curve here


def test_probability_of_the_true_class_and_the_min_baseline():
    # class 1 is the true class; "min" sets flipped bins to 1 (the sample's minimum)
    curves = faithfulness_curves(_sum_model(), X, torch.tensor([1]), R, FRACTIONS, baseline="min")
    morf_sums = (10, 10 - 2 + 1, 10 - 2 - 3 + 2, 4)
    np.testing.assert_allclose(curves.morf[0], [1 - _sigmoid(s - 5.5) for s in morf_sums], rtol=1e-12)
    lerf_sums = (10, 10, 10 - 4 + 1, 4)
    np.testing.assert_allclose(curves.lerf[0], [1 - _sigmoid(s - 5.5) for s in lerf_sums], rtol=1e-12)
    np.testing.assert_array_equal(curves.morf_correct[0], [False, False, False, True])


def test_negative_relevance_is_least_relevant_and_ties_go_to_the_lower_index():
    relevance = torch.tensor([[[[-1.0, 0.0], [0.0, 2.0]]]], dtype=torch.float64)
    curves = faithfulness_curves(_sum_model(), X, torch.tensor([0]), relevance, (0.0, 0.25, 0.5))
    # MoRF: bin 4 (2.0), then the tie 2 / 3 -> 2; LeRF: bin 1 (-1.0), then the tie -> 2
    np.testing.assert_allclose(curves.morf[0], [_sigmoid(s - 5.5) for s in (10, 6, 4)], rtol=1e-12)
    np.testing.assert_allclose(curves.lerf[0], [_sigmoid(s - 5.5) for s in (10, 9, 7)], rtol=1e-12)


def test_batches_and_the_moore_baseline_match_one_by_one():
    generator = torch.Generator().manual_seed(0)
    x = -80 * torch.rand((5, 1, 3, 3), generator=generator, dtype=torch.float64)
    relevance = torch.randn((5, 1, 3, 3), generator=generator, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(9, 2)).double()
    together = faithfulness_curves(model, x, y, relevance, (0.0, 0.2, 0.6), "moore", batch_size=2)
    for n in range(5):
        alone = faithfulness_curves(model, x[n:n + 1], y[n:n + 1], relevance[n:n + 1], (0.0, 0.2, 0.6),
                                    "moore")
        np.testing.assert_allclose(together.morf[n], alone.morf[0], rtol=1e-12)
        np.testing.assert_allclose(together.lerf[n], alone.lerf[0], rtol=1e-12)


def test_curve_area_hand_cases():
    assert float(curve_area((0.0, 0.5, 1.0), (1.0, 0.5, 0.0))) == pytest.approx(0.5)
    assert float(curve_area((0.0, 0.5), (1.0, 0.0), normalize=False)) == pytest.approx(0.25)
    assert float(curve_area((0.0, 0.5), (1.0, 0.0))) == pytest.approx(0.5)
    np.testing.assert_allclose(curve_area((0.1, 0.3), [[1.0, 1.0], [0.0, 1.0]]), [1.0, 0.5])
    assert float(curve_area((0.2,), (0.7,))) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="one value per fraction"):
        curve_area((0.0, 1.0), (1.0, 0.5, 0.0))


def _curves(morf, lerf, baseline=0.0, fractions=(0.0, 1.0)) -> FaithfulnessCurves:
    morf, lerf = np.asarray(morf, float), np.asarray(lerf, float)
    return FaithfulnessCurves(fractions, tuple(range(len(fractions))), baseline, morf, lerf,
                              morf > 0.5, lerf > 0.5)


def test_summary_table_and_compare_gaps():
    # per spectrogram (fractions 0, 1): AUC = mean of the two ends
    a = _curves([[1.0, 0.0], [1.0, 0.2]], [[1.0, 1.0], [1.0, 0.8]])  # gaps 0.5, 0.3
    b = _curves([[1.0, 0.6], [1.0, 0.6]], [[1.0, 0.6], [1.0, 0.8]])  # gaps 0.0, 0.1
    np.testing.assert_allclose(a.gap, [0.5, 0.3])
    summary = faithfulness_summary({"A": {"0 dB": a}, "B": {"0 dB": b}}, families={"A": "LRP", "B": "control"})
    assert list(summary.index) == [("A", "0 dB"), ("B", "0 dB")]
    assert summary.loc[("A", "0 dB"), "gap mean"] == pytest.approx(0.4)
    assert summary.loc[("A", "0 dB"), "gap std"] == pytest.approx(math.sqrt(0.02))
    assert summary.loc[("A", "0 dB"), "MoRF AUC mean"] == pytest.approx(0.55)
    assert summary.loc[("B", "0 dB"), "family"] == "control"
    assert summary.loc[("A", "0 dB"), "MoRF accuracy AUC"] == pytest.approx(0.5)

    runtime = pd.DataFrame({"ratio to gradient": [1.25, 0.01]}, index=["A", "B"])
    table = faithfulness_table(summary, runtime, digits=2)
    assert table.loc["A", ("0 dB", "gap")] == "0.40 ± 0.14"
    assert table.loc["B", ("", "runtime ratio")] == "0.0"
    assert list(table.columns.get_level_values("metric")) == ["MoRF AUC", "LeRF AUC", "gap", "runtime ratio"]
    with pytest.raises(ValueError, match="runtime has no row"):
        faithfulness_table(summary, runtime.loc[["A"]])

    # paired differences d = (0.5, 0.2): mean 0.35, sd 0.212 -> beats
    result = compare_gaps(a, b)
    assert result["difference"] == pytest.approx(0.35)
    assert result["share a larger"] == 1.0
    assert result["verdict"] == "beats"
    assert compare_gaps(b, a)["verdict"] == "worse"
    c = _curves([[1.0, 0.0], [1.0, 0.6]], [[1.0, 1.0], [1.0, 0.4]])  # gaps 0.5, -0.1: d = 0, -0.2 vs a
    assert compare_gaps(c, b)["verdict"] == "no difference beyond the spread"
    with pytest.raises(ValueError, match="same spectrograms"):
        compare_gaps(a, _curves([[1.0, 0.0]], [[1.0, 1.0]]))


def test_grid_labels_and_bad_input():
    model, y = _sum_model(), torch.tensor([0])
    grid = faithfulness_grid(model, X, y, {"R": R, "-R": -R}, FRACTIONS, baselines=(0.0, "min", "moore"))
    assert list(grid) == ["R", "-R"] and list(grid["R"]) == ["0 dB", "min", "Moore mean"]
    # the reversed map swaps MoRF and LeRF
    np.testing.assert_allclose(grid["-R"]["min"].morf, grid["R"]["min"].lerf)
    assert baseline_label(-80) == "-80 dB"
    with pytest.raises(ValueError, match="baseline"):
        faithfulness_curves(model, X, y, R, FRACTIONS, baseline="mean")
    with pytest.raises(ValueError, match="relevance has shape"):
        faithfulness_curves(model, X, y, R[..., :1], FRACTIONS)
    with pytest.raises(ValueError, match="order"):
        grid["R"]["min"].auc("random")


def test_plot_faithfulness_curves_and_gallery():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from lrp_utils.plotting import plot_faithfulness_curves, plot_method_gallery

    grid = faithfulness_grid(_sum_model(), X, torch.tensor([0]), {"R": R, "-R": -R}, FRACTIONS,
                             baselines=(0.0, "min"))
    figure, axes = plt.subplots(1, 2)
    plot_faithfulness_curves(axes, grid, chance=0.5)
    lines = axes[1].get_lines()  # R MoRF, R LeRF, -R MoRF, -R LeRF, chance
    np.testing.assert_allclose(lines[0].get_ydata(), grid["R"]["min"].morf.mean(axis=0))
    np.testing.assert_allclose(lines[3].get_ydata(), grid["-R"]["min"].lerf.mean(axis=0))
    np.testing.assert_allclose(lines[1].get_xdata(), [0, 25, 50, 100])
    assert lines[3].get_linestyle() == "--" and axes[1].get_title() == "baseline: min"
    assert axes[0].get_xscale() == "symlog"
    with pytest.raises(ValueError, match="one axis per baseline"):
        plot_faithfulness_curves(axes[:1], grid)

    figure, axes = plt.subplots(2, 2)
    plot_method_gallery(axes, X[0], {"R": R[0], "-R": -R[0]}, kind="fbank")
    flat = axes.ravel()
    assert [ax.get_title() for ax in flat[:3]] == ["spectrogram", "R", "-R"]
    np.testing.assert_allclose(flat[2].get_images()[0].get_array(), -R[0, 0].numpy())
    assert not flat[3].axison
    with pytest.raises(ValueError, match="at least 3 axes"):
        plot_method_gallery(flat[:2], X[0], {"R": R[0], "-R": -R[0]})
    plt.close("all")
