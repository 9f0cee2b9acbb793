r"""LRP rules (Sarvaš, section 3, equations 1–3; Montavon et al. 2019, "Layer-wise Relevance
Propagation: An Overview").

How the rules are computed
--------------------------
Relevance is carried by the *gradient* of one ordinary backward pass. At every tensor ``t`` of the
network the gradient ``G_t`` that autograd propagates satisfies

.. math:: R_t = t \odot G_t ,

so the backward pass starts from the one-hot target (``R = onehot · logit``) and the input relevance
is ``x ⊙ G_x``. A rule only has to change the local gradient of its layer: for a layer
``z = Wa + b`` and the ε-rule,

.. math:: R_a = a \odot W^\top \frac{R_z}{z + \varepsilon\,\mathrm{sign}(z)}
          = a \odot W^\top\Big(G_z \odot \frac{z}{z + \varepsilon\,\mathrm{sign}(z)}\Big),

i.e. the ordinary gradient of the layer applied to ``G_z`` scaled element-wise by a factor computed
in the forward pass. LRP-0 is the plain gradient (no hook at all).

Rules that change the weights need the layer evaluated with modified parameters. z^B evaluates it
in the forward pass and routes the gradient through that evaluation instead of the layer's own
(the "gradient × input with stop-gradient" formulation, :class:`_Relay`). γ postpones all of it to
the backward pass (:class:`_Deferred`): the layer's output is cut from its own graph, and when the
gradient reaches it, the rule evaluates the modified layer on the saved input and applies that
layer's transposed map to the relevance, so it holds no extra memory before then.

ReLU-like activations (positively homogeneous: ``f(z) = f'(z) z``), max pooling and reshapes need
no rule: their plain gradient *is* the pass-through / winner-takes-all redistribution, so a
composite assigns rules to layers with weights only.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from lrp_utils.layers import Add
from .units import BATCHNORM_TYPES, LINEAR_TYPES, AffineUnit

#: Element-wise layers whose plain gradient passes relevance through unchanged.
PASS_TYPES = (nn.ReLU, nn.LeakyReLU, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Flatten, nn.Unflatten)
#: Max pooling: the plain gradient routes all relevance to the winner (Zennit's default).
MAXPOOL_TYPES = (nn.MaxPool1d, nn.MaxPool2d)
#: Linear, parameter-free layers explained by :class:`Norm` (proportional split).
NORM_TYPES = (Add, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
#: Layers with weights (a composite assigns their rules).
AFFINE_TYPES = LINEAR_TYPES + BATCHNORM_TYPES


def stabilize(z: torch.Tensor, epsilon: float, out: torch.Tensor | None = None) -> torch.Tensor:
    r"""``z + ε·sign(z)`` with ``sign(0) = +1`` (the stabiliser of equation 2, as in Zennit), written
    into ``out`` if given (``out=z`` works in place)."""
    signed = torch.where(z >= 0, z.new_tensor(epsilon), z.new_tensor(-epsilon))
    return torch.add(z, signed, out=out)


class _Relay(torch.autograd.Function):
    """Forward: return ``value`` (the layer's true output). Backward: send ``sign_i · g ⊙ scale`` to
    each of ``mods`` (modified re-evaluations of the layer that carry the graph to its input)."""

    @staticmethod
    def forward(ctx, value, scale, signs, *mods):  # noqa: D102
        ctx.save_for_backward(scale)
        ctx.signs = signs
        return value.detach()

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (scale,) = ctx.saved_tensors
        # explain() runs one backward pass, so the saved factor can take the product in place
        # (one activation less at the peak of the backward pass)
        scaled = scale.mul_(grad)
        return (None, None, None, *(scaled if s > 0 else -scaled for s in ctx.signs))


class _Deferred(torch.autograd.Function):
    """Forward: return ``value`` (the layer's true output), cut from the layer's own graph.
    Backward: the gradient of the layer input ``a`` is ``input_grad(grad, a, *saved)``, computed
    only when the backward pass reaches the layer, so the rule holds no memory until then."""

    @staticmethod
    def forward(ctx, value, a, input_grad, *saved):  # noqa: D102
        ctx.save_for_backward(a, *saved)
        ctx.input_grad = input_grad
        return value.detach()

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        a, *saved = ctx.saved_tensors
        grad_a = ctx.input_grad(grad, a, *saved) if ctx.needs_input_grad[1] else None
        return (None, grad_a, None, *(None for _ in saved))


def hook_relu_output(y: torch.Tensor, transform) -> None:
    """Replace the gradient ``G_y`` at a ReLU output ``y`` by ``transform(y, G_y)`` in the backward
    pass, reading ``y`` from the tensor the ReLU saves for its own backward pass anyway."""
    if not y.requires_grad:
        return
    version = y._version
    held = [y]  # let go of y once used (the hook holds it, and would keep it to the end of the pass)

    def hook(grad):
        values = held.pop()
        if values._version != version:
            raise RuntimeError("LRP: a ReLU output was modified in place after the ReLU; use inplace=False")
        return transform(values.detach(), grad)

    y.register_hook(hook)


class Rule:
    """Base class: a rule knows which layer types it may explain and how to hook one call."""

    #: Layer types the rule is defined for.
    applies_to: tuple[type, ...] = AFFINE_TYPES

    def apply(self, unit: AffineUnit, a: torch.Tensor, z: torch.Tensor, context, relu_fed: bool) -> torch.Tensor:
        """Return the tensor that replaces the layer output ``z`` (computed from input ``a``).

        ``relu_fed``: ``z`` is read by one ReLU and nothing else, so relevance never reaches a
        negative entry of ``z`` (the ReLU's gradient is zero there).
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


class Zero(Rule):
    r"""LRP-0, equation (1): :math:`R_j = \sum_k \frac{a_j w_{jk}}{\sum_{j'} a_{j'} w_{j'k} + b_k} R_k`.

    In the gradient formulation this is exactly the ordinary gradient, so the rule adds no hook and
    costs nothing. A neuron with ``z_k = 0`` carries ``R_k = z_k G_k = 0`` and passes nothing down
    (where Zennit's ``Epsilon(0)`` would divide 0 by 0).
    """

    def apply(self, unit, a, z, context, relu_fed):  # noqa: D102
        return z


class Epsilon(Rule):
    r"""LRP-ε, equation (2): :math:`R_j = \sum_k \frac{a_j w_{jk}}{\varepsilon\,\mathrm{sign}(z_k) + z_k} R_k`,
    with :math:`z_k = \sum_j a_j w_{jk} + b_k` and ``sign(0) = +1`` (Zennit's ``Epsilon``).

    Implemented as a gradient hook on the layer output multiplying ``G_z`` by ``z / (z + ε sign z)``.
    When the output feeds a single ReLU, the hook sits on the ReLU's output ``y`` instead and uses
    ``y / (y + ε)``: equal wherever ``z > 0``, and the ReLU zeroes the gradient elsewhere. That
    factor is computed in the backward pass from the tensor the ReLU keeps anyway, so the rule
    costs no memory.
    """

    def __init__(self, epsilon: float = 1e-6):
        if not epsilon >= 0:
            raise ValueError(f"Epsilon: epsilon must be >= 0, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def apply(self, unit, a, z, context, relu_fed):  # noqa: D102
        if relu_fed:
            context.defer_to_relu(z, self.scale_gradient)
            return z
        scale = self.factor(z.detach())
        if z.requires_grad:
            z.register_hook(lambda grad: grad * scale)
        return z

    def factor(self, z: torch.Tensor) -> torch.Tensor:
        """``z / (z + ε sign z)``, the factor equation (2) applies to the gradient at ``z``."""
        return z / stabilize(z, self.epsilon)

    def scale_gradient(self, y: torch.Tensor) -> None:
        """Multiply the gradient at a ReLU output ``y ≥ 0`` by ``y / (y + ε)``, in the backward pass
        (with a single new tensor, so the backward pass's peak memory hardly moves)."""

        def scale(values, grad):
            scaled = values + self.epsilon
            torch.div(values, scaled, out=scaled)
            return scaled.mul_(grad)

        hook_relu_output(y, scale)


class Norm(Epsilon):
    r"""Proportional split for parameter-free linear layers (average pooling, residual :class:`Add`):
    each input gets relevance in proportion to its contribution to the output,
    :math:`R_i = \frac{x_i \partial y / \partial x_i}{y + \varepsilon\,\mathrm{sign}(y)} R_y`
    (Zennit's ``Norm``; the same formula as :class:`Epsilon` with ε only a stabiliser).
    """

    applies_to = NORM_TYPES

    def __init__(self, stabilizer: float = 1e-6):
        super().__init__(stabilizer)


class Gamma(Rule):
    r"""LRP-γ, equation (3): :math:`R_j = \sum_k \frac{a_j (w_{jk} + \gamma w_{jk}^+)}
    {\sum_{j'} a_{j'} (w_{j'k} + \gamma w_{j'k}^+) + b_k + \gamma b_k^+} R_k`.

    The denominator is stabilised like equation (2) with a small ``stabilizer``.

    Negative inputs and negative pre-activations follow Zennit 0.5.1's *generalised* γ (Andéol et
    al. 2021), which favours contributions that agree in sign with the neuron's output:

    - for ``z_k > 0`` the contributions are ``a⁺(w + γw⁺)`` and ``a⁻(w + γw⁻)`` with bias
      ``b + γb⁺``;
    - for ``z_k < 0`` they are ``a⁺(w + γw⁻)`` and ``a⁻(w + γw⁺)`` with bias ``b + γb⁻``;
    - ``z_k = 0`` passes no relevance.

    With non-negative inputs (after a ReLU) and positive outputs this is exactly equation (3).

    Everything is computed in the backward pass, when relevance reaches the layer: one extra
    evaluation ``z_γ`` of the layer and its transposed map (twice if relevance reaches a negative
    output; the ``a⁻`` term only if the input has negative entries). Until then the rule keeps
    nothing but ``z``, and not even that for a layer followed by a ReLU: there the hook at the
    ReLU output turns the gradient into the relevance ``R_y = y ⊙ G_y`` (the ReLU keeps ``y``
    anyway), which reaches the layer as ``R_z``, zero wherever ``z ≤ 0``.
    """

    def __init__(self, gamma: float = 0.25, stabilizer: float = 1e-6):
        if not gamma >= 0:
            raise ValueError(f"Gamma: gamma must be >= 0, got {gamma!r}")
        self.gamma = float(gamma)
        self.stabilizer = float(stabilizer)

    def _boost(self, param: torch.Tensor, positive: bool) -> torch.Tensor:
        """``w + γw⁺`` (``positive``) or ``w + γw⁻``."""
        return param + self.gamma * (param.clamp(min=0) if positive else param.clamp(max=0))

    def apply(self, unit, a, z, context, relu_fed):  # noqa: D102
        z_value = z.detach()
        if not relu_fed:
            return _Deferred.apply(z_value, a, functools.partial(self._input_grad, unit), z_value)
        out = _Deferred.apply(z_value, a, functools.partial(self._input_grad_from_relevance, unit))
        context.defer_to_relu(out, lambda y: hook_relu_output(y, torch.mul))
        return out

    def _input_grad(self, unit, grad, a, z):
        """Gradient of ``a`` from ``G_z``: the relevance ``R_z = z ⊙ G_z`` split by the sign of ``z``."""
        grad_a = self._branch_grad(unit, a, grad * z.clamp(min=0), True)
        negative = grad * z.clamp(max=0)
        if bool((negative != 0).any()):
            grad_a = grad_a + self._branch_grad(unit, a, negative, False)
        return grad_a

    def _input_grad_from_relevance(self, unit, relevance, a):
        """Gradient of ``a`` from ``R_z`` of a layer read by one ReLU (``R_z = 0`` where ``z ≤ 0``)."""
        return self._branch_grad(unit, a, relevance, True)

    def _branch_grad(self, unit, a, relevance, positive: bool):
        r"""One sign branch of equation (3): :math:`J^\top (R / \mathrm{stab}(z_\gamma))` for
        ``z_γ = f(a⁺; w + γw^±, b + γb^±) + f(a⁻; w + γw^∓)`` and its Jacobian ``J`` in ``a``
        (``±`` the sign of the branch; the ``a⁻`` term only if ``a`` has negative entries)."""
        weight, bias = unit.parameters()
        same, bias = self._boost(weight, positive), self._boost(bias, positive)
        if not bool((a < 0).any()):  # the common case after a ReLU: a = a⁺
            return unit.input_grad(self._ratio(relevance, unit.forward(a, same, bias)), a, same)
        other = self._boost(weight, not positive)
        modified = unit.forward(a.clamp(min=0), same, bias).add_(unit.forward(a.clamp(max=0), other, None))
        ratio = self._ratio(relevance, modified)
        # a.clamp(min=0) and a.clamp(max=0) pass the gradient where a ≥ 0 and a ≤ 0 (both at 0)
        return unit.input_grad(ratio, a, same).where(a >= 0, 0.0) + unit.input_grad(ratio, a, other).where(a <= 0, 0.0)

    def _ratio(self, relevance, modified):
        """``R / stab(z_γ)``, computed in the storage of the fresh tensor ``modified`` (``z_γ``)."""
        return torch.div(relevance, stabilize(modified, self.stabilizer, out=modified), out=modified)


class ZBox(Rule):
    r"""The z^B rule for the input layer (Montavon et al. 2017), for inputs bounded by
    ``low ≤ x ≤ high``:

    .. math:: R_i = \sum_k \frac{x_i w_{ik} - l_i w_{ik}^+ - h_i w_{ik}^-}
              {\sum_{i'} x_{i'} w_{i'k} - l_{i'} w_{i'k}^+ - h_{i'} w_{i'k}^-} R_k

    (biases cancel as in Zennit's ``ZBox``). ``low``/``high`` are numbers or tensors broadcastable
    to one input sample. Valid only for the layer that consumes the model input (for Becker
    spectrograms in dB: ``ZBox(-80.0, 0.0)``).
    """

    applies_to = LINEAR_TYPES

    def __init__(self, low, high, stabilizer: float = 1e-6):
        self.low = low
        self.high = high
        self.stabilizer = float(stabilizer)

    def apply(self, unit, a, z, context, relu_fed):  # noqa: D102
        gate = context.input_gate(a, self)
        weight, bias = unit.parameters()
        low = torch.as_tensor(self.low, dtype=a.dtype, device=a.device).expand_as(a) * gate
        high = torch.as_tensor(self.high, dtype=a.dtype, device=a.device).expand_as(a) * gate
        from_low = unit.forward(low, weight.clamp(min=0), bias.clamp(min=0))
        from_high = unit.forward(high, weight.clamp(max=0), bias.clamp(max=0))
        z_value = z.detach()
        scale = z_value / stabilize(z_value - from_low.detach() - from_high.detach(), self.stabilizer)
        return _Relay.apply(z_value, scale, (1, -1, -1), z, from_low, from_high)

