"""The report's figures: axes, colour scales and errors (rendered with the Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from lrp_utils import plotting  # noqa: E402


def test_becker_axes_follow_the_stft_grid():
    t0, t1, f0, f1 = plotting.becker_extent()
    assert t0 == pytest.approx(1.5 * 35 / 8000) and t1 == pytest.approx(228.5 * 35 / 8000)
    frequencies = plotting.becker_frequencies()
    assert len(frequencies) == 227 and frequencies[1] == pytest.approx(8000 / 455)
    assert f0 == pytest.approx(-0.5 * 8000 / 455) and f1 == pytest.approx(226.5 * 8000 / 455)


def test_relevance_scale_is_symmetric_and_red_means_positive():
    relevance = torch.zeros(1, 227, 227)
    relevance[0, 10, 10], relevance[0, 20, 20] = 3.0, -1.0
    fig, ax = plt.subplots()
    image = plotting.plot_relevance(ax, relevance)
    assert image.norm.vmin == -3.0 and image.norm.vmax == 3.0
    red = image.cmap(image.norm(3.0))
    assert red[0] > 0.9 and red[2] < 0.1  # bwr: the maximum is red
    plt.close(fig)


def test_overlay_is_transparent_where_relevance_is_zero():
    spectrogram = -80 * np.random.default_rng(0).random((227, 227))
    relevance = np.zeros((227, 227))
    relevance[5, 5] = 1.0
    fig, ax = plt.subplots()
    image = plotting.plot_overlay(ax, spectrogram, relevance, quantile=1.0)
    alpha = image.get_array()[..., 3]
    assert alpha[5, 5] == 1.0 and alpha.sum() == 1.0
    plt.close(fig)


def test_curves_band_and_history_plots_draw_their_data():
    class Curve:
        fractions, accuracy, mean_logit = (0.0, 0.01), (0.9, 0.5), (2.0, 1.0)

    fig, axes = plt.subplots(1, 4)
    plotting.plot_flipping_curves(axes[0], {"LRP": Curve()}, chance=0.5)
    assert list(axes[0].lines[0].get_xdata()) == [0.0, 1.0]
    plotting.plot_band_relevance(axes[1], {"male recordings": np.zeros(227), "female recordings": np.ones(227)})
    assert len(axes[1].lines[0].get_xdata()) == 227
    assert [line.get_color() for line in axes[1].lines[:2]] == ["tab:blue", "tab:red"]
    history = [{"epoch": e, "train": {"loss": 1 / e, "accuracy": 0.5}, "validation": {"loss": 1.0, "accuracy": 0.6}}
               for e in (1, 2)]
    plotting.plot_training_history(axes[2:], history)
    assert list(axes[3].lines[1].get_ydata()) == [0.6, 0.6]
    plt.close(fig)


def test_bad_shapes_and_kinds_are_named():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one 2-D map"):
        plotting.plot_relevance(ax, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="kind must be 'becker' or 'fbank'"):
        plotting.plot_spectrogram(ax, np.zeros((4, 4)), kind="mel")
    plt.close(fig)


def test_f0_distribution_counts_each_speaker_in_its_bin():
    fig, ax = plt.subplots()
    drawn = plotting.plot_f0_distribution(ax, {"female": [210.0, 215.0, np.nan, 405.0], "male": [120.0]},
                                          max_hz=500.0, bin_hz=100.0)
    heights = {label: [patch.get_height() for patch in bars] for label, bars in drawn.items()}
    # bins [0, 100), [100, 200), ..., [400, 500]: 210 and 215 share a bin; NaN is left out
    assert heights["female"] == [0, 0, 2, 0, 1]
    assert heights["male"] == [0, 1, 0, 0, 0]
    assert drawn["female"][2].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb("tab:red"))
    assert ax.get_xlim() == (0.0, 500.0)
    with pytest.raises(ValueError, match="must be positive"):
        plotting.plot_f0_distribution(ax, {"male": [100.0]}, bin_hz=0.0)
    plt.close(fig)
