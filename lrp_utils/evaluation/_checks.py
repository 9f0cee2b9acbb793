"""Input checks shared by the evaluation functions.

Each check raises a :class:`ValueError` (or :class:`TypeError` for a wrong type) whose message
names the argument, says what was received and what to pass instead.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch


def check_input(x: torch.Tensor, name: str = "x") -> None:
    """``x`` must be a floating-point tensor of shape ``(N, ..., H, W)`` (at least 3-D)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim < 3:
        raise ValueError(
            f"{name} must be a batch of spectrograms of shape (N, C, H, W) or (N, H, W), got shape "
            f"{tuple(x.shape)}; add the batch dimension with {name}.unsqueeze(0) for one spectrogram"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
                        f"convert it with {name}.float()")


def check_relevance(x: torch.Tensor, relevance: torch.Tensor) -> None:
    """``relevance`` must have ``x``'s shape and contain only finite values."""
    check_input(x)
    if not isinstance(relevance, torch.Tensor):
        raise TypeError(f"relevance must be a torch.Tensor with x's shape {tuple(x.shape)}, "
                        f"got {type(relevance).__name__}")
    if relevance.shape != x.shape:
        raise ValueError(
            f"relevance has shape {tuple(relevance.shape)} but x has shape {tuple(x.shape)}; pass "
            f"one relevance map per input bin (lrp_utils.lrp.explain returns relevance with x's shape)"
        )
    if not bool(torch.isfinite(relevance).all()):
        bad = int((~torch.isfinite(relevance)).sum())
        raise ValueError(
            f"relevance contains {bad} non-finite value(s) (NaN or inf); the bins cannot be ranked. "
            f"Check the explanation (e.g. use an LRP-epsilon rule with a larger epsilon) or replace "
            f"them with torch.nan_to_num(relevance) if that is what you mean"
        )


def check_labels(x: torch.Tensor, y: torch.Tensor, name: str = "y") -> None:
    """``y`` must be a 1-D integer tensor with one label per sample of ``x``."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{name} must have shape ({x.shape[0]},) -- one class index per sample of "
                         f"x -- got shape {tuple(y.shape)}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}; "
                        f"convert it with {name}.long()")


def check_fraction(fraction: float, name: str = "fraction") -> float:
    """A fraction of all bins: a finite number in ``[0, 1]``; returned as ``float``."""
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in [0, 1], got {fraction!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (a fraction of all bins of a spectrogram), got {fraction!r}; "
            f"for 0.5 % of the bins pass 0.005"
        )
    return value


def check_fractions(fractions: Iterable[float]) -> tuple[float, ...]:
    """A non-empty collection of fractions in ``[0, 1]``; returned sorted and without repeats."""
    if isinstance(fractions, (int, float)):
        fractions = [fractions]
    values = [check_fraction(f, "fractions") for f in fractions]
    if not values:
        raise ValueError("fractions is empty; pass e.g. [0.0, 0.005, 0.01]")
    return tuple(sorted(set(values)))


def check_batch_size(batch_size: int) -> int:
    """A positive integer."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size
