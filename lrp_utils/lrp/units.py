"""The affine layers a rule explains: conv/linear (optionally with a merged BatchNorm) and BatchNorm.

A rule of :mod:`lrp_utils.lrp.rules` sees a layer as an affine map ``z = f(a; W, b)`` that it can
re-evaluate with modified parameters (the γ and z^B rules need ``f(a; W + γW⁺, b + γb⁺)`` and
friends). :class:`AffineUnit` provides exactly that, computed functionally from the module's
tensors, so the model's parameters are never modified (no ``param.data`` swapping, which would
silently corrupt the backward pass of autograd graphs that saved the old tensors).

A BatchNorm in eval mode is the per-channel affine map ``y = s·x + t`` with
``s = γ_BN / sqrt(σ² + ε_BN)`` and ``t = β − μ s``; when it is explained on its own, ``(s, t)`` are
its weight and bias. (Zennit 0.5.1 instead modifies ``γ_BN`` and ``β`` and keeps subtracting ``μ``
in every modified evaluation, so its γ rule on a BatchNorm counts ``μ`` twice; ours is the γ rule
of the affine map the layer computes.)

A BatchNorm that directly follows a conv/linear layer is *merged* into it (the canonisation of
Zennit's ``SequentialMergeBatchNorm``): the unit then computes

.. math:: W' = W\\,s, \\qquad b' = (b - \\mu)\\,s + \\beta, \\qquad s = \\frac{\\gamma_{BN}}{\\sqrt{\\sigma^2 + \\epsilon_{BN}}},

without touching either module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Conv/linear layer types an :class:`AffineUnit` can evaluate functionally.
LINEAR_TYPES = (nn.Conv1d, nn.Conv2d, nn.Linear)
#: BatchNorm types (explained as affine layers, or merged into the layer before them).
BATCHNORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)


def _channel_view(vector: torch.Tensor, ndim: int) -> torch.Tensor:
    """Reshape a per-output-channel vector so it broadcasts over a weight of ``ndim`` dims."""
    return vector.reshape(-1, *([1] * (ndim - 1)))


def _batchnorm_scale_shift(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm in eval mode as ``y = s·x + t``; returns ``(s, t)``."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale, shift


def _numeric_padding(module: nn.Module):
    """A conv layer's zero padding per side as numbers (``'valid'`` and ``'same'`` resolved; the
    latter only where it pads symmetrically, i.e. ``dilation · (kernel − 1)`` is even)."""
    if not isinstance(module.padding, str):
        return module.padding
    if module.padding == "valid":
        return 0
    total = [d * (k - 1) for d, k in zip(module.dilation, module.kernel_size)]
    if any(t % 2 for t in total):
        raise ValueError(
            f"{type(module).__name__} with padding='same' and kernel {module.kernel_size} pads asymmetrically, "
            "which the γ rule does not support; give the padding as numbers"
        )
    return tuple(t // 2 for t in total)


@dataclass(frozen=True)
class AffineUnit:
    """One explainable affine layer: ``module`` (conv, linear or BatchNorm) and, optionally, the
    BatchNorm ``merged`` into it."""

    module: nn.Module
    merged: nn.Module | None = None

    def parameters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Effective ``(weight, bias)`` of the unit, merged BatchNorm included; bias never None."""
        module = self.module
        if isinstance(module, BATCHNORM_TYPES):
            return _batchnorm_scale_shift(module)
        weight = module.weight
        bias = module.bias if module.bias is not None else weight.new_zeros(weight.shape[0])
        if self.merged is None:
            return weight, bias
        scale, shift = _batchnorm_scale_shift(self.merged)
        return weight * _channel_view(scale, weight.ndim), bias * scale + shift

    def forward(self, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """Evaluate the unit's layer function on ``a`` with the given parameters."""
        module = self.module
        if isinstance(module, nn.Linear):
            return F.linear(a, weight, bias)
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            conv = F.conv1d if isinstance(module, nn.Conv1d) else F.conv2d
            return conv(a, weight, bias, module.stride, module.padding, module.dilation, module.groups)
        shape = (1, -1) + (1,) * (a.ndim - 2)
        out = a * weight.reshape(shape)
        return out if bias is None else out + bias.reshape(shape)

    def input_grad(self, grad: torch.Tensor, a: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``(∂f(a; weight, b) / ∂a)ᵀ grad``: the layer's transposed linear map (the bias drops out)."""
        module = self.module
        if isinstance(module, nn.Linear):
            return grad @ weight
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            conv_input = torch.nn.grad.conv1d_input if isinstance(module, nn.Conv1d) else torch.nn.grad.conv2d_input
            padding = _numeric_padding(module)
            return conv_input(a.shape, weight, grad, module.stride, padding, module.dilation, module.groups)
        return grad * weight.reshape((1, -1) + (1,) * (a.ndim - 2))
