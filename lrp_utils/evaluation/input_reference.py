r"""Where the explanation measures a bin from: the reference point of LRP's input layer (chapter 7).

LRP-0 and LRP-ε hand bin :math:`i` of the input a share of each first-layer neuron's relevance in
proportion to its contribution :math:`x_i w_{ik}`:

.. math:: R_i = \sum_k \frac{x_i w_{ik}}{\epsilon + \sum_{i'} x_{i'} w_{i'k} + b_k} R_k .

The contribution is measured from :math:`x_i = 0` -- in deep Taylor terms the rule's root point
(Montavon et al. 2017, *Explaining nonlinear classification decisions with deep Taylor
decomposition*, Pattern Recognit. 65, sec. 4). For an image in [0, 1] that is black; for Becker's
spectrogram in dB relative to its maximum (values in [-80, 0]) it is the *loudest* value. Every bin
is scored by how far it lies below 0 dB, so the quietest bins, up to 80 dB away, receive the
largest relevance of either sign whatever the network does with them, and a bin whose positive
relevance comes from being quiet (:math:`x_i < 0` and a negative weight path) speaks *more* for the
class the quieter it gets: flipping it to the spectrogram's minimum strengthens the decision.

:func:`referenced_to` moves the root point without changing the network's function: the copy
takes :math:`x' = x - c` and its first layer's bias absorbs the shift,

.. math:: W (x' + c) + b = W x' + (b + c \textstyle\sum W),

exact for a first layer that sees no padding (every receptive field lies inside the input). LRP of
the copy at :math:`x - c` measures every bin from :math:`c` (e.g. :math:`c = -80` dB, silence).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from lrp_utils.lrp.units import LINEAR_TYPES


def input_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """The first ``Conv``/``Linear`` layer of ``model`` in module order (the one that must consume
    the input: :func:`referenced_to` checks the result numerically)."""
    for name, module in model.named_modules():
        if isinstance(module, LINEAR_TYPES):
            return name, module
    raise ValueError("model has no Conv or Linear layer; referenced_to needs one that consumes the input")


def referenced_to(model: nn.Module, reference: float, probe: torch.Tensor | None = None) -> nn.Module:
    """A copy of ``model`` that computes ``model(x)`` from ``x - reference`` (module docstring).

    ``probe`` (a batch of inputs of the model; optional) checks that the copy agrees with the model
    on it: a ``ValueError`` if not (e.g. the first layer is not the one that sees the input).

    Raises
    ------
    ValueError
        If the first layer pads its input (the padding would stand for another value after the
        shift) or the copy disagrees with the model on ``probe``.
    """
    name, layer = input_layer(model)
    padding = getattr(layer, "padding", 0)
    if padding not in (0, (0,), (0, 0), (0, 0, 0), "valid"):
        raise ValueError(f"the input layer {name!r} pads its input ({padding!r}); shifting the input would "
                         "shift the padding too, so the copy would compute another function")
    shifted = copy.deepcopy(model)
    first = dict(shifted.named_modules())[name]
    with torch.no_grad():
        total = first.weight.sum(dim=tuple(range(1, first.weight.ndim)))
        if first.bias is None:
            first.bias = nn.Parameter(torch.zeros_like(total))
        first.bias += float(reference) * total
    if probe is not None:
        with torch.no_grad():
            expected, got = model(probe), shifted(probe - reference)
        if not torch.allclose(expected, got, rtol=1e-4, atol=1e-4 * float(expected.abs().max())):
            raise ValueError(f"the copy disagrees with the model on the probe (largest difference "
                             f"{float((expected - got).abs().max()):.3g}); is {name!r} the layer that "
                             "consumes the input?")
    return shifted
