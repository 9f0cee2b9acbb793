"""Building blocks shared by the models and the explainer (a neutral module: it imports neither).

An operation written as plain Python inside ``forward`` (``a + b``) has no module, so nothing that
works layer by layer (module hooks, :mod:`lrp_utils.lrp`) can see it. Models therefore write
residual sums with :class:`Add`.
"""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    r"""Element-wise sum of two tensors, ``forward(a, b) = a + b`` (a residual connection).

    LRP splits the relevance of the sum between its inputs in proportion to their contributions
    (Zennit's ``Norm`` rule, ε-stabilised):

    .. math:: R_a = \frac{a}{a + b + \varepsilon\,\mathrm{sign}(a + b)} R_{a+b}, \qquad
              R_b = \frac{b}{a + b + \varepsilon\,\mathrm{sign}(a + b)} R_{a+b}.
    """

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return a + b
