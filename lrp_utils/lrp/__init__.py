"""Layer-wise Relevance Propagation (Sarvaš, section 3), GPU-ready and checked against Zennit.

One batch, in one call (the model's data flow is probed on every call)::

    from lrp_utils.lrp import explain, Composite, Epsilon
    relevance = explain(model, x, target=None, composite=Composite.uniform(Epsilon(0.25)))

Many batches of one model: build an :class:`Explainer` once (it probes the model on its first
call) and call it for each batch::

    explainer = Explainer(model, paper_composite("epsilon"))
    relevance = [explainer(x, y) for x, y in batches]

Modules: :mod:`~.attribution` (``Explainer``, ``explain``), :mod:`~.rules` (the rules, equations
1–3), :mod:`~.composites` (which rule explains which layer), :mod:`~.structure` (the data-flow
probe), :mod:`~.hooks` (one explanation pass), :mod:`~.units` (affine layers and BatchNorm merges),
:mod:`~.canonizers` (torchvision's ResNet blocks).
"""

from .composites import PAPER_COMPOSITES, Composite, FirstLayers, LastLayers, paper_composite
from .attribution import SUPPORTED_TYPES, Explainer, explain
from lrp_utils.layers import Add
from .rules import Epsilon, Gamma, Norm, Rule, ZBox, Zero

__all__ = [
    "Add",
    "Composite",
    "Epsilon",
    "Explainer",
    "FirstLayers",
    "Gamma",
    "LastLayers",
    "Norm",
    "PAPER_COMPOSITES",
    "Rule",
    "SUPPORTED_TYPES",
    "ZBox",
    "Zero",
    "explain",
    "paper_composite",
]
