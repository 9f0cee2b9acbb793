"""Which bins to flip or augment: the count, the ranking and the mask.

Shared by pixel flipping (paper section 4.2) and the relevance-guided augmentation (section 4.3),
so that "the top 0.5 % most relevant bins" means exactly the same bins in both.

A *bin* is one element of a sample ``x[n]``: for a ``(N, 1, H, W)`` spectrogram batch there are
``H * W`` bins per sample; with several channels all ``C * H * W`` elements are ranked together.
"""

from __future__ import annotations

import math

import torch

from lrp_utils.evaluation._checks import check_fraction

#: Orders in which bins can be flipped.
ORDERS = ("relevance", "random")


def check_order(order: str) -> None:
    """``order`` must be one of :data:`ORDERS`."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(map(repr, ORDERS))}, got {order!r}")


def flip_count(fraction: float, n_bins: int) -> int:
    """Number of bins a ``fraction`` of ``n_bins`` stands for: ``k = floor(fraction * n_bins + 1/2)``.

    Rounding is half-up (not Python's round-half-to-even), computed in float64; for the paper's
    0.5 % of a 227x227 spectrogram, ``k = floor(0.005 * 51529 + 0.5) = 258``.  The same ``k`` is
    used for every sample and for both orders.
    """
    fraction = check_fraction(fraction)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 0:
        raise ValueError(f"n_bins must be a non-negative int, got {n_bins!r}")
    return min(n_bins, math.floor(fraction * n_bins + 0.5))


def bin_ranks(relevance: torch.Tensor, order: str = "relevance",
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Rank of every bin of every sample: 0 for the bin flipped first.

    Parameters
    ----------
    relevance:
        ``(N, ...)`` relevance maps; only the values matter for ``order="relevance"`` and only the
        shape and device for ``order="random"``.
    order:
        ``"relevance"``: descending relevance value, *regardless of sign* -- once every positive
        bin is flipped, the zero and then the negative bins follow, least negative first.  Ties
        are broken by the flat (row-major) index, lower first (a stable sort), so the result is
        deterministic.  ``"random"``: a uniformly random permutation per sample, drawn from
        ``generator`` (which must live on ``relevance.device``).

    Returns
    -------
    ``(N, M)`` int64 tensor on ``relevance.device`` with ``M = relevance[0].numel()``; each row is a
    permutation of ``0 .. M-1``.  The bins flipped at a count ``k`` are those with ``rank < k``;
    the sets are nested, so one ranking serves every fraction (a single sort per batch).
    """
    check_order(order)
    flat = relevance.reshape(relevance.shape[0], -1)
    if order == "relevance":
        sorted_idx = torch.argsort(flat, dim=1, descending=True, stable=True)
    else:
        keys = torch.rand(flat.shape, generator=generator, device=flat.device)
        sorted_idx = torch.argsort(keys, dim=1, stable=True)
    positions = torch.arange(flat.shape[1], device=flat.device).expand_as(sorted_idx)
    return torch.empty_like(sorted_idx).scatter_(1, sorted_idx, positions)


def top_fraction_mask(relevance: torch.Tensor, fraction: float) -> torch.Tensor:
    """Boolean mask (``relevance``'s shape) of the ``flip_count(fraction, M)`` most relevant bins
    of each sample (ranked as :func:`bin_ranks` with ``order="relevance"``)."""
    k = flip_count(fraction, relevance[0].numel())
    return (bin_ranks(relevance, "relevance") < k).reshape(relevance.shape)
