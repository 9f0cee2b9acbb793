r"""Does a network rely on a planted cue, beyond what the cue does to any network? (chapter 7)

Take the :math:`N` test items of a class the cue does *not* speak for (in chapter 7 the male
recordings; the tone was planted in female training recordings) and a network :math:`f`'s
probability :math:`p_f` of the class the cue *does* speak for, once as recorded (:math:`x_n`) and
once with the cue added (:math:`x_n^+`). The shift per item

.. math:: \Delta_f(n) = p_f(x_n^+) - p_f(x_n)

mixes two things: the network's reliance on the cue, and what adding the cue does to the input of
any network (a loud tone also lowers every other bin of Becker's spectrogram, which is in dB
relative to its own maximum). A reference network :math:`g` trained without the cue gives the
second part, so the reliance is the paired difference

.. math:: d_n = \Delta_f(n) - \Delta_g(n), \qquad
          \bar d = \frac1N \sum_n d_n, \qquad
          \mathrm{sd}(d) = \sqrt{\frac{1}{N-1} \sum_n (d_n - \bar d)^2},

judged by the rule of Table 1's controls and chapter 6's paired comparisons
(:func:`lrp_utils.evaluation.table.spread_verdict`): :math:`f` relies on the cue beyond the
spread of the items iff :math:`\bar d - \mathrm{sd}(d) > 0`, i.e. for a typical item and not only
for a few. :func:`cue_reliance` returns the numbers and the verdict.
"""

from __future__ import annotations

import torch

from lrp_utils.evaluation.table import spread_verdict


def _probabilities(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 1 or not value.is_floating_point():
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a 1-D float tensor of probabilities (one per test item), got {shape}")
    if not torch.isfinite(value).all() or (value < 0).any() or (value > 1).any():
        raise ValueError(f"{name} holds values outside [0, 1]: pass probabilities, not logits "
                         "(lrp_utils.evaluation.probabilities)")
    return value.detach().double().cpu()


def cue_reliance(plain: torch.Tensor, with_cue: torch.Tensor, reference_plain: torch.Tensor,
                 reference_with_cue: torch.Tensor) -> dict[str, float | str]:
    """How far the cue moves the network beyond a reference network (module docstring).

    Parameters are the probabilities of the cue's class for the same items, in the same order:
    the network as recorded and with the cue, then the reference network (never trained with the
    cue) as recorded and with the cue.

    Returns ``shift`` (:math:`\\overline{\\Delta_f}`), ``reference shift``
    (:math:`\\overline{\\Delta_g}`), ``reliance`` (:math:`\\bar d`), ``reliance std``
    (:math:`\\mathrm{sd}(d)`), ``share relying`` (the fraction of items with :math:`d_n > 0`),
    ``items`` and ``verdict`` (:func:`~lrp_utils.evaluation.table.spread_verdict`).
    """
    named = {"plain": plain, "with_cue": with_cue, "reference_plain": reference_plain,
             "reference_with_cue": reference_with_cue}
    values = {name: _probabilities(name, value) for name, value in named.items()}
    sizes = {name: len(value) for name, value in values.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"the four probability vectors must hold the same items, got sizes {sizes}")
    if sizes["plain"] < 2:
        raise ValueError("cue_reliance needs at least two items (a spread)")
    shift = values["with_cue"] - values["plain"]
    reference_shift = values["reference_with_cue"] - values["reference_plain"]
    d = shift - reference_shift
    mean, sd = float(d.mean()), float(d.std())
    return {"shift": float(shift.mean()), "reference shift": float(reference_shift.mean()),
            "reliance": mean, "reliance std": sd, "share relying": float((d > 0).double().mean()),
            "items": len(d), "verdict": spread_verdict(mean, sd)}
