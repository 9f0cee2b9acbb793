"""Composites: which rule explains which layer (Sarvaš, section 5; Kohlbrenner et al. 2020).

A :class:`Composite` is an ordered list of ``(selector, rule)`` pairs; for each layer with weights
(conv, linear, BatchNorm that is not merged into the layer before it) the **first** matching pair
wins, and layers no pair matches get ``default`` (LRP-0). A selector is

- a layer type or a tuple of types (``nn.Conv2d``, ``(nn.Linear, nn.BatchNorm1d)``),
- a string: a glob on the module's path in ``model.named_modules()`` (``"features.*"``, ``"fc8"``),
- a position among the conv/linear layers, in ``named_modules()`` order: :class:`FirstLayers`,
  :class:`LastLayers` (a count or a fraction; ``hidden=True`` counts only the hidden layers, i.e.
  skips the input and the output layer).

The three configurations of the paper's section 5 are one line each (see :func:`paper_composite`)::

    Composite.uniform(Zero())
    Composite([((nn.Conv2d, nn.BatchNorm2d), Epsilon(0.5)), ((nn.Linear, nn.BatchNorm1d), Zero())])
    Composite([(FirstLayers(1/3, hidden=True), Gamma(5)),
               ((nn.Conv2d, nn.BatchNorm2d), Epsilon(0.5)), ((nn.Linear, nn.BatchNorm1d), Zero())])

Element-wise activations, max pooling, average pooling and residual sums are not assigned by a
composite: they always use pass-through, winner-takes-all and proportional splitting (see
:mod:`lrp_utils.lrp.rules`).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

from torch import nn

from .rules import AFFINE_TYPES, Epsilon, Gamma, Rule, Zero
from .units import LINEAR_TYPES


@dataclass(frozen=True)
class _Position:
    """Select ``count`` conv/linear layers from one end of the network (a count or a fraction)."""

    count: Union[int, float]
    hidden: bool = False
    from_input: bool = True

    def __post_init__(self):
        if isinstance(self.count, bool) or not isinstance(self.count, (int, float)):
            raise TypeError(f"{type(self).__name__}: count must be an int or a fraction, got {self.count!r}")
        if isinstance(self.count, float) and not 0 < self.count <= 1:
            raise ValueError(f"{type(self).__name__}: a fractional count must be in (0, 1], got {self.count}")
        if isinstance(self.count, int) and self.count < 0:
            raise ValueError(f"{type(self).__name__}: count must be >= 0, got {self.count}")

    def select(self, layers: Sequence[str]) -> set[str]:
        """Names of the selected layers among the ordered conv/linear layer names ``layers``."""
        pool = list(layers[1:-1]) if self.hidden else list(layers)
        if isinstance(self.count, float):
            number = max(1, math.floor(self.count * len(pool) + 0.5)) if pool else 0
        else:
            number = min(self.count, len(pool))
        chosen = pool[:number] if self.from_input else pool[len(pool) - number:]
        return set(chosen)


class FirstLayers(_Position):
    """The first ``count`` conv/linear layers (``count`` an int, or a fraction rounded half up, at
    least one); ``hidden=True`` counts among the hidden layers only (not the input or output layer)."""

    def __init__(self, count, hidden: bool = False):
        super().__init__(count, hidden, True)


class LastLayers(_Position):
    """The last ``count`` conv/linear layers; see :class:`FirstLayers`."""

    def __init__(self, count, hidden: bool = False):
        super().__init__(count, hidden, False)


Selector = Union[type, tuple, str, _Position]


def _describe(selector: Selector) -> str:
    if isinstance(selector, type):
        return selector.__name__
    if isinstance(selector, tuple):
        return "(" + ", ".join(t.__name__ for t in selector) + ")"
    return repr(selector)


class Composite:
    """Ordered ``(selector, rule)`` assignments; first match wins; unmatched layers get ``default``."""

    def __init__(self, assignments: Iterable[tuple[Selector, Rule]] = (), default: Rule | None = None):
        self.assignments = [tuple(pair) for pair in assignments]
        for selector, rule in self.assignments:
            if not isinstance(rule, Rule):
                raise TypeError(f"Composite: {rule!r} (for selector {_describe(selector)}) is not an LRP rule")
            if not isinstance(selector, (type, tuple, str, _Position)):
                raise TypeError(
                    f"Composite: selector {selector!r} must be a layer type, a tuple of types, a name glob, "
                    "FirstLayers(...) or LastLayers(...)"
                )
        self.default = default if default is not None else Zero()

    @classmethod
    def uniform(cls, rule: Rule) -> "Composite":
        """The same ``rule`` for every conv, linear and (unmerged) BatchNorm layer."""
        return cls([], default=rule)

    def __repr__(self) -> str:
        pairs = ", ".join(f"({_describe(s)}, {r!r})" for s, r in self.assignments)
        return f"Composite([{pairs}], default={self.default!r})"

    def resolve(self, model: nn.Module, skip: Iterable[str] = ()) -> dict[str, Rule]:
        """Map the path of every layer with weights (except the paths in ``skip``, the merged
        BatchNorms) to its rule.

        Raises ``ValueError`` when a rule is assigned to a layer type it is not defined for.
        """
        skipped = set(skip)
        named = [(name, module) for name, module in model.named_modules() if isinstance(module, AFFINE_TYPES)]
        linear_order = [name for name, module in named if isinstance(module, LINEAR_TYPES)]
        positions = {id(s): s.select(linear_order) for s, _ in self.assignments if isinstance(s, _Position)}
        table = {}
        for name, module in named:
            if name in skipped:
                continue
            rule = next(
                (rule for selector, rule in self.assignments if self._matches(selector, name, module, positions)),
                self.default,
            )
            if not isinstance(module, rule.applies_to):
                raise ValueError(
                    f"Composite assigns {rule!r} to layer '{name}' ({type(module).__name__}), but that rule is "
                    f"defined only for {', '.join(t.__name__ for t in rule.applies_to)}; change the selector"
                )
            table[name] = rule
        return table

    @staticmethod
    def _matches(selector: Selector, name: str, module: nn.Module, positions: dict) -> bool:
        if isinstance(selector, (type, tuple)):
            return isinstance(module, selector)
        if isinstance(selector, str):
            return fnmatch.fnmatchcase(name, selector)
        return name in positions[id(selector)]


#: Names of the paper's three section-5 configurations, for :func:`paper_composite`.
PAPER_COMPOSITES = ("zero", "epsilon", "gamma")


def paper_composite(name: str, epsilon: float = 0.5, gamma: float = 5.0) -> Composite:
    """The composites of the paper's section 5 (Figures 8, 9 and 11).

    - ``"zero"``: LRP-0 everywhere;
    - ``"epsilon"``: LRP-ε (ε = 0.5) on Conv2d and BatchNorm2d (the input layer included), LRP-0 on
      Linear and BatchNorm1d near the output;
    - ``"gamma"``: as ``"epsilon"`` plus LRP-γ (γ = 5) on the third of the hidden conv/linear layers
      nearest the input.
    """
    conv_eps = ((nn.Conv2d, nn.BatchNorm2d), Epsilon(epsilon))
    dense_zero = ((nn.Linear, nn.BatchNorm1d), Zero())
    if name == "zero":
        return Composite.uniform(Zero())
    if name == "epsilon":
        return Composite([conv_eps, dense_zero])
    if name == "gamma":
        return Composite([(FirstLayers(1 / 3, hidden=True), Gamma(gamma)), conv_eps, dense_zero])
    raise ValueError(f"paper_composite: unknown name {name!r}; valid names are {', '.join(PAPER_COMPOSITES)}")
