"""Layer-wise Relevance Propagation (Sarvaš, section 3), GPU-ready and checked against Zennit.

>>> from lrp_utils.lrp import explain, Composite, Epsilon
>>> relevance = explain(model, x, target=None, composite=Composite.uniform(Epsilon(0.25)))  # doctest: +SKIP
"""

from .composites import PAPER_COMPOSITES, Composite, FirstLayers, LastLayers, paper_composite
from .attribution import SUPPORTED_TYPES, explain
from lrp_utils.layers import Add
from .rules import Epsilon, Gamma, Norm, Pass, Rule, ZBox, Zero

__all__ = [
    "Add",
    "Composite",
    "Epsilon",
    "FirstLayers",
    "Gamma",
    "LastLayers",
    "Norm",
    "PAPER_COMPOSITES",
    "Pass",
    "Rule",
    "SUPPORTED_TYPES",
    "ZBox",
    "Zero",
    "explain",
    "paper_composite",
]
