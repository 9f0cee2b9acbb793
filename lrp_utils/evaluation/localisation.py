r"""Does an explanation point at a region whose importance is known? (chapter 7)

With a ground-truth region :math:`G_n` per sample (e.g. the bins of a tone planted into the
recording, :func:`lrp_utils.data.planted.region_masks`) and a relevance map :math:`R_n`:

- **relevance-mass accuracy** (Arras, Osman & Samek 2022, *CLEVR-XAI: A benchmark dataset for the
  ground truth evaluation of neural network explanations*, Inf. Fusion 81, sec. 4.2): the share of
  the positive relevance that lies inside the region,

  .. math:: \mathrm{mass}_n = \frac{\sum_{b \in G_n} \max(R_{n,b}, 0)}{\sum_b \max(R_{n,b}, 0)}

  (NaN when no bin has positive relevance); a random map scores about :math:`|G_n| / M`.
- **top-k share**: the share of the :math:`k` most relevant bins (ranked as pixel flipping ranks
  them, :func:`~lrp_utils.evaluation.selection.bin_ranks`: descending value, ties to the lower
  index) that lie inside the region,

  .. math:: \mathrm{top}_k(n) = \frac{|\{b : \mathrm{rank}_n(b) < k\} \cap G_n|}{k};

  with :math:`k = |G_n|` it is Arras et al.'s **relevance-rank accuracy** (their sec. 4.2), with
  :math:`k = 1` the **pointing game** (Zhang et al. 2018, *Top-down neural attention by excitation
  backprop*, IJCV 126): a hit (1) when the single most relevant bin lies in the region, a miss (0)
  otherwise.

:func:`localisation_scores` gives the three per sample; :func:`summarize_localisation` their mean
and standard deviation.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from lrp_utils.evaluation._checks import check_relevance
from lrp_utils.evaluation.selection import bin_ranks

#: The metrics of :func:`localisation_scores`, in column order.
LOCALISATION_METRICS = ("relevance mass", "rank accuracy", "pointing game")


def _checked(relevance: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``relevance`` and ``mask`` flattened to ``(N, M)``; the mask must be boolean, of the
    relevance's shape, and select at least one bin of every sample."""
    check_relevance(relevance, relevance)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != relevance.shape:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a boolean tensor of the relevance's shape {tuple(relevance.shape)}, "
                         f"got {shape}; lrp_utils.data.planted.region_masks gives one per item")
    flat_mask = mask.reshape(mask.shape[0], -1).to(relevance.device)
    empty = (~flat_mask.any(dim=1)).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"mask selects no bin for sample(s) {empty[:10]}; every sample needs a region")
    return relevance.reshape(relevance.shape[0], -1), flat_mask


def relevance_mass(relevance: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Relevance-mass accuracy per sample (equation in the module docstring), float64, NaN for a
    sample without positive relevance."""
    flat, inside = _checked(relevance, mask)
    positive = flat.to(torch.float64).clamp(min=0)
    total = positive.sum(dim=1)
    return torch.where(total > 0, (positive * inside).sum(dim=1) / total, torch.full_like(total, math.nan))


def top_k_share(relevance: torch.Tensor, mask: torch.Tensor, k: int | None = None) -> torch.Tensor:
    """Share of each sample's ``k`` most relevant bins that lie in its region (module docstring),
    float64; ``k=None`` takes each sample's region size (rank accuracy), ``k=1`` is the pointing
    game."""
    flat, inside = _checked(relevance, mask)
    sizes = inside.sum(dim=1)
    if k is None:
        ks = sizes
    elif isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= flat.shape[1]:
        raise ValueError(f"k must be None (the region's size) or an int in 1..{flat.shape[1]}, got {k!r}")
    else:
        ks = torch.full_like(sizes, k)
    top = bin_ranks(flat, "relevance") < ks[:, None]
    return (top & inside).sum(dim=1).to(torch.float64) / ks.to(torch.float64)


def localisation_scores(relevance: torch.Tensor, mask: torch.Tensor) -> pd.DataFrame:
    """Per sample (rows) the :data:`LOCALISATION_METRICS`: relevance mass, rank accuracy
    (``k`` = region size) and pointing game (``k = 1``)."""
    return pd.DataFrame({
        "relevance mass": relevance_mass(relevance, mask).cpu().numpy(),
        "rank accuracy": top_k_share(relevance, mask).cpu().numpy(),
        "pointing game": top_k_share(relevance, mask, k=1).cpu().numpy(),
    })


def summarize_localisation(scores: pd.DataFrame) -> pd.Series:
    """``"<metric> mean"`` and ``"<metric> std"`` (sample standard deviation, ddof 1) of every
    column of :func:`localisation_scores`, NaN samples left out."""
    return pd.Series({f"{name} {stat}": getattr(scores[name], stat)() for name in scores.columns
                      for stat in ("mean", "std")})
