"""The Moore-neighbourhood mean of every bin (paper section 4.3).

The Moore neighbourhood of bin ``(i, j)`` is the 8 bins around it,
``N(i, j) = {(i+a, j+b) : a, b in {-1, 0, 1}, (a, b) != (0, 0)}``, clipped to the spectrogram:
a corner bin has 3 neighbours, an edge bin 5, an interior bin 8.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Offsets (a, b) of the 8 Moore neighbours.
_MOORE_OFFSETS = tuple((a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0))


def _neighbour_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over the existing Moore neighbours of every bin of ``x`` (``(..., H, W)``).

    This is the 3x3 convolution with kernel ``[[1, 1, 1], [1, 0, 1], [1, 1, 1]]`` and zero
    padding, written as 8 shifted additions of a zero-padded copy: exactly the same numbers, but
    computed in the tensor's own precision on every device (cuDNN may run a float32 convolution
    in TF32, which would round dB values to about 3 significant digits).
    """
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    total = torch.zeros_like(x)
    for a, b in _MOORE_OFFSETS:
        total = total + padded[..., 1 + a: 1 + a + height, 1 + b: 1 + b + width]
    return total


def moore_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of the Moore neighbourhood of every bin, over the last two dimensions of ``x``.

    .. math::  \\bar x_{ij} = \\frac{1}{|N(i,j)|} \\sum_{(k,l) \\in N(i,j)} x_{kl}

    where ``N(i, j)`` holds only neighbours that exist (3 at a corner, 5 on an edge, 8 inside).
    Every mean uses the original values of ``x``.  Vectorised (see :func:`_neighbour_sum`);
    returns a tensor of ``x``'s shape, dtype and device.
    """
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height * width < 2:
        raise ValueError(f"x must have at least 2 bins in its last two dimensions to have a Moore "
                         f"neighbourhood, got (H, W) = ({height}, {width})")
    counts = _neighbour_sum(torch.ones((height, width), dtype=x.dtype, device=x.device))
    return _neighbour_sum(x) / counts
