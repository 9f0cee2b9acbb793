"""Figures of the report: spectrograms, LRP heatmaps, overlays, flipping curves, training curves.

One style everywhere (:func:`use_style`). Heatmaps use the paper's convention: red for positive
relevance (evidence for the explained class), blue for negative, white for zero, on a colour scale
symmetric around zero (Sarvaš, Figures 1, 8, 9, 11). Every function draws into a given matplotlib
``Axes`` and returns what it drew, so notebooks compose figures freely.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from lrp_utils.data.features import BECKER_NOVERLAP, BECKER_NPERSEG, BECKER_RATE

#: Colour map of relevance heatmaps: blue (negative) - white (0) - red (positive).
RELEVANCE_CMAP = "bwr"
#: Colour map of spectrograms and filter banks.
SPECTROGRAM_CMAP = "magma"
#: Fundamental-frequency ranges of adult voices (Traunmüller & Eriksson 1995), Hz.
F0_RANGES = {"male": (85.0, 155.0), "female": (165.0, 255.0)}
#: One colour per gender in every figure.
GENDER_COLOURS = {"male": "tab:blue", "female": "tab:red"}


def use_style() -> None:
    """The report's matplotlib/seaborn style (call once per notebook)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="white", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "image.interpolation": "nearest"})


def _array(values) -> np.ndarray:
    """A 2-D numpy array from a tensor/array with optional leading singleton dimensions."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=float)
    while values.ndim > 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"expected one 2-D map (frequency x time), got shape {values.shape}")
    return values


def becker_extent() -> tuple[float, float, float, float]:
    """``(t0, t1, f0, f1)`` of a 227 x 227 Becker spectrogram in seconds and Hz.

    Rows are STFT bins ``k · 8000 / 455`` Hz (k = 0..226); columns are frames 2..228 of
    ``scipy.signal.stft`` with hop ``455 - 420 = 35`` samples, centred at ``j · 35 / 8000`` s.
    """
    hop = BECKER_NPERSEG - BECKER_NOVERLAP
    bin_hz = BECKER_RATE / BECKER_NPERSEG
    return (2 - 0.5) * hop / BECKER_RATE, (228 + 0.5) * hop / BECKER_RATE, -0.5 * bin_hz, 226.5 * bin_hz


def becker_frequencies() -> np.ndarray:
    """Centre frequency (Hz) of each of the 227 rows of a Becker spectrogram."""
    return np.arange(227) * BECKER_RATE / BECKER_NPERSEG


def _image(ax: Axes, values: np.ndarray, kind: str, **kwargs):
    if kind == "becker":
        image = ax.imshow(values, origin="lower", aspect="auto", extent=becker_extent(), **kwargs)
        ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    elif kind == "fbank":
        image = ax.imshow(values, origin="lower", aspect="auto",
                          extent=(0, values.shape[1] * 0.01, -0.5, values.shape[0] - 0.5), **kwargs)
        ax.set(xlabel="time (s)", ylabel="mel filter")
    else:
        raise ValueError(f"kind must be 'becker' or 'fbank', got {kind!r}")
    return image


def plot_spectrogram(ax: Axes, spectrogram, kind: str = "becker", title: str | None = None, colorbar: bool = True):
    """A Becker spectrogram (dB re max) or a Kaldi filter bank."""
    values = _array(spectrogram)
    image = _image(ax, values, kind, cmap=SPECTROGRAM_CMAP)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="dB re max" if kind == "becker" else "log energy (mean-normalised)")
    if title:
        ax.set_title(title)
    return image


def symmetric_norm(relevance, quantile: float = 1.0) -> Normalize:
    """A colour scale symmetric around zero, up to the ``quantile`` of |relevance| (1 = max)."""
    values = np.abs(_array(relevance))
    limit = float(np.quantile(values, quantile)) if values.size else 0.0
    limit = limit if limit > 0 else 1.0
    return Normalize(vmin=-limit, vmax=limit)


def plot_relevance(ax: Axes, relevance, kind: str = "becker", title: str | None = None,
                   colorbar: bool = True, quantile: float = 1.0):
    """An LRP heatmap: red positive, blue negative, symmetric scale (Figure 1)."""
    values = _array(relevance)
    image = _image(ax, values, kind, cmap=RELEVANCE_CMAP, norm=symmetric_norm(values, quantile))
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="relevance")
    if title:
        ax.set_title(title)
    return image


def plot_overlay(ax: Axes, spectrogram, relevance, kind: str = "becker", title: str | None = None,
                 quantile: float = 0.999):
    """Relevance over the grey spectrogram; transparency grows towards zero relevance (Figure 2)."""
    background = _array(spectrogram)
    values = _array(relevance)
    _image(ax, background, kind, cmap="Greys_r")
    norm = symmetric_norm(values, quantile)
    colours = plt.get_cmap(RELEVANCE_CMAP)(norm(values))
    colours[..., 3] = np.clip(np.abs(values) / norm.vmax, 0, 1)
    image = _image(ax, colours, kind)
    if title:
        ax.set_title(title)
    return image


def plot_flipping_curves(ax: Axes, curves: Mapping[str, object], metric: str = "accuracy", title: str | None = None,
                         chance: float | None = None):
    """Accuracy (or mean target logit) against the percentage of bins flipped (Figures 3, 4, 6).

    ``curves`` maps a legend label to a :class:`~lrp_utils.evaluation.FlippingCurve`.
    """
    for label, curve in curves.items():
        ax.plot(100 * np.asarray(curve.fractions), getattr(curve, metric), marker="o", markersize=3, label=label)
    if chance is not None and metric == "accuracy":
        ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel="bins flipped (%)", ylabel="test accuracy" if metric == "accuracy" else "mean target logit")
    ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    return ax


def plot_band_relevance(ax: Axes, mean_relevance: Mapping[str, Sequence[float]], title: str | None = None,
                        max_hz: float | None = 1000.0):
    """Mean relevance per frequency row of Becker spectrograms, one line per group, with the
    typical f0 ranges of male and female voices shaded. A group whose label names a gender
    ("female", "male recordings", ...) gets that gender's colour."""
    frequencies = becker_frequencies()
    for label, values in mean_relevance.items():
        gender = next((g for g in ("female", "male") if g in label.lower()), None)
        ax.plot(frequencies, np.asarray(values, dtype=float), label=label, color=GENDER_COLOURS.get(gender))
    for group, (low, high) in F0_RANGES.items():
        ax.axvspan(low, high, color=GENDER_COLOURS[group], alpha=0.12, label=f"typical {group} f0")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set(xlabel="frequency (Hz)", ylabel="mean relevance", xlim=(0, max_hz or frequencies[-1]))
    ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    return ax


def plot_f0_distribution(ax: Axes, f0_hz: Mapping[str, Sequence[float]], max_hz: float = 1000.0,
                         bin_hz: float | None = None, title: str | None = None):
    """Histogram of measured f0 (Hz) per group, e.g. one value per test speaker and gender, on a
    frequency axis from 0 to ``max_hz`` (to share with :func:`plot_band_relevance`). Bins are
    ``bin_hz`` wide (default: one Becker row, ``8000 / 455`` Hz); NaN values are left out. A
    group whose label names a gender gets that gender's colour. Returns the bar containers."""
    width = BECKER_RATE / BECKER_NPERSEG if bin_hz is None else float(bin_hz)
    if not width > 0 or not max_hz > 0:
        raise ValueError(f"plot_f0_distribution: bin_hz and max_hz must be positive, got {bin_hz}, {max_hz}")
    edges = np.arange(0.0, max_hz + width, width)
    drawn = {}
    for label, values in f0_hz.items():
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        gender = next((g for g in ("female", "male") if g in label.lower()), None)
        _, _, drawn[label] = ax.hist(values, bins=edges, alpha=0.6, color=GENDER_COLOURS.get(gender),
                                     label=f"{label} ({values.size})")
    ax.set(xlabel="frequency (Hz)", ylabel="speakers", xlim=(0, max_hz))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    return drawn


def plot_training_history(axes: Sequence[Axes], history: Sequence[Mapping], title: str | None = None):
    """Loss and accuracy per epoch for the training and validation splits (two axes)."""
    epochs = [record["epoch"] for record in history]
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for split in ("train", "validation"):
            ax.plot(epochs, [record[split][metric] for record in history], marker="o", markersize=3, label=split)
        ax.set(xlabel="epoch", ylabel=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(frameon=False)
    if title:
        axes[0].figure.suptitle(title)
    return axes


def plot_faithfulness_curves(axes: Sequence[Axes], curves: Mapping[str, Mapping[str, object]],
                             chance: float | None = None):
    """Most relevant first (solid) and least relevant first (dashed): the mean probability of the
    true class against the percentage of bins flipped, one panel per baseline, one colour per
    method (chapter 6); the percentage axis is linear up to the smallest fraction above 0 and
    logarithmic beyond (most fraction grids crowd near 0).

    ``curves`` maps a method to ``{baseline label: FaithfulnessCurves}``
    (:func:`lrp_utils.evaluation.faithfulness.faithfulness_grid`); ``axes`` has one entry per
    baseline, in the order of the first method's baselines.  The legend sits beside the last panel.
    """
    if not curves:
        raise ValueError("curves is empty; pass {method: {baseline: FaithfulnessCurves}}")
    baselines = list(next(iter(curves.values())))
    axes = list(np.ravel(axes))
    if len(axes) != len(baselines):
        raise ValueError(f"pass one axis per baseline: {len(baselines)} baselines "
                         f"({', '.join(baselines)}), {len(axes)} axes")
    colours = plt.get_cmap("tab10")
    for ax, baseline in zip(axes, baselines):
        for i, (method, per_baseline) in enumerate(curves.items()):
            curve = per_baseline[baseline]
            percent = 100 * np.asarray(curve.fractions)
            ax.plot(percent, curve.morf.mean(axis=0), color=colours(i % 10), label=method)
            ax.plot(percent, curve.lerf.mean(axis=0), color=colours(i % 10), linestyle="--")
        if chance is not None:
            ax.axhline(chance, color="grey", linestyle=":", linewidth=1)
        if (percent > 0).sum() > 1:  # linear up to the first fraction, logarithmic beyond
            ax.set_xscale("symlog", linthresh=float(percent[percent > 0].min()), linscale=0.5)
            ax.set_xticks(percent, [f"{p:g}" for p in percent])
            ax.minorticks_off()
        ax.set(xlabel="bins flipped (%)", title=f"baseline: {baseline}", ylim=(-0.02, 1.02))
    axes[0].set_ylabel("mean p(true class)")
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="black"), plt.Line2D([], [], color="black", linestyle="--")]
    labels += ["most relevant first", "least relevant first"]
    axes[-1].legend(handles, labels, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return axes


def plot_method_gallery(axes: Sequence[Axes], spectrogram, relevances: Mapping[str, object],
                        kind: str = "becker", quantile: float = 0.999):
    """One recording under every method: the spectrogram in the first axis, then one heatmap per
    method (:func:`plot_relevance`, each on its own symmetric scale up to the ``quantile`` of its
    |relevance|, titled with the method's name); axes left over are switched off."""
    axes = list(np.ravel(axes))
    if len(axes) < 1 + len(relevances):
        raise ValueError(f"pass at least {1 + len(relevances)} axes (the spectrogram and "
                         f"{len(relevances)} methods), got {len(axes)}")
    plot_spectrogram(axes[0], spectrogram, kind, title="spectrogram", colorbar=False)
    for ax, (method, relevance) in zip(axes[1:], relevances.items()):
        plot_relevance(ax, relevance, kind, title=method, colorbar=False, quantile=quantile)
    for ax in axes[1 + len(relevances):]:
        ax.axis("off")
    return axes
