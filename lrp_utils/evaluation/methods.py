r"""Attribution methods side by side: LRP composites, gradient methods, occlusion and a random
control, behind one call signature (chapter 6, "How faithful are the explanations?").

Each :class:`AttributionMethod` explains the class ``y`` of every sample of a batch ``x`` and
returns relevance with ``x``'s shape, detached, on ``x``'s device::

    methods = attribution_methods(profile)
    relevance = methods["integrated gradients"](model, x, y)

The LRP entries run our engine (:func:`lrp_utils.lrp.explain`); every other method runs
`Captum <https://captum.ai>`_ (Kokhlikyan et al. 2020) -- no gradient method is re-implemented
here.  Through :attr:`AttributionMethod.explain_fn` and :attr:`AttributionMethod.composite` any
method plugs into the batched helpers that take an ``explain_fn``
(:func:`~lrp_utils.evaluation.relevance.explain_batched`,
:func:`~lrp_utils.evaluation.table.flip_each_model`,
:func:`~lrp_utils.evaluation.augmentation.relevance_augmented_dataset`)::

    explain_batched(model, x, y, composite=method.composite, explain_fn=method.explain_fn)

:func:`method_relevance` does exactly that for a whole test selection and caches the result on
disk; :func:`time_methods` measures what each method costs relative to one plain gradient.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd
import torch
from captum.attr import InputXGradient, IntegratedGradients, NoiseTunnel, Occlusion, Saliency
from torch import nn

from lrp_utils.evaluation._checks import check_batch_size, check_input, check_labels
from lrp_utils.evaluation._hashing import content_key
from lrp_utils.evaluation.relevance import ExplainFn, default_composite, explain_batched
from lrp_utils.io import save_torch
from lrp_utils.lrp import Composite, Epsilon, FirstLayers, ZBox, explain, paper_composite
from lrp_utils.modes import eval_mode

#: The families a method belongs to (the table groups by them).
FAMILIES = ("LRP", "gradient", "perturbation", "control")

#: The value range of a Becker spectrogram in dB (``amplitude_to_db(ref=max)`` with an 80 dB
#: floor); its lower end, -80 dB, is silence: the baseline of Integrated Gradients and occlusion.
DB_RANGE = (-80.0, 0.0)

#: Bumped whenever the cached relevance would change for the same inputs.
CACHE_VERSION = 1


@dataclass(frozen=True)
class AttributionMethod:
    """One attribution method: ``method(model, x, y) -> relevance``.

    Attributes
    ----------
    name:        the label in tables and figures (the key of :func:`attribution_methods`).
    family:      ``"LRP"``, ``"gradient"``, ``"perturbation"`` or ``"control"``.
    description: one line for the reader.
    attribute:   ``attribute(model, x, y, **settings)``: the relevance of one batch that is
                 already on the model's device (called with the model in eval mode and
                 gradients enabled).
    settings:    the method's keyword settings (LRP: ``composite``; Integrated Gradients:
                 ``steps`` and ``baseline``; ...); part of every cache key.
    """

    name: str
    family: str
    description: str
    attribute: Callable[..., torch.Tensor]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(map(repr, FAMILIES))}, got {self.family!r}")
        if not self.name:
            raise ValueError("name must be a non-empty label, e.g. 'saliency'")

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Relevance of class ``y[n]`` for every sample ``x[n]``: detached, ``x``'s shape, dtype and
        device.  ``x`` and ``y`` must be on the model's device (the batched helpers move them)."""
        check_input(x)
        check_labels(x, y)
        with eval_mode(model), torch.enable_grad():
            relevance = self.attribute(model, x.detach(), y, **self.settings)
        if relevance.shape != x.shape:
            raise ValueError(f"method {self.name!r} returned relevance of shape {tuple(relevance.shape)} "
                             f"for x of shape {tuple(x.shape)}")
        return relevance.detach().to(x.dtype)

    @property
    def composite(self) -> Composite | None:
        """The LRP composite (``None`` for the other families): pass it with :attr:`explain_fn`."""
        return self.settings.get("composite") if self.family == "LRP" else None

    @property
    def explain_fn(self) -> ExplainFn:
        """This method as ``explain_fn(model, x, target, composite)`` for the batched helpers.

        For LRP it is :func:`lrp_utils.lrp.explain` itself (to be passed with :attr:`composite`:
        the helpers then probe the model once for all batches); for the others a function that
        ignores ``composite`` and whose ``__qualname__`` names the method and its settings (the
        augmentation cache keys on it)."""
        if self.family == "LRP":
            return explain

        def explain_fn(model: nn.Module, x: torch.Tensor, target: torch.Tensor, composite: Any = None) -> torch.Tensor:
            return self(model, x, target)

        explain_fn.__qualname__ = f"AttributionMethod[{self.key_settings()}]"
        return explain_fn

    def key_settings(self) -> str:
        """The method's identity as a string (name, family, function, settings): for cache keys."""
        return json.dumps({"name": self.name, "family": self.family,
                           "attribute": f"{self.attribute.__module__}.{self.attribute.__qualname__}",
                           "settings": {k: repr(v) for k, v in sorted(self.settings.items())}},
                          sort_keys=True, ensure_ascii=False)


# --- the methods (one batch on the model's device) --------------------------------------------

def _lrp(model: nn.Module, x: torch.Tensor, y: torch.Tensor, composite: Composite) -> torch.Tensor:
    r"""LRP (Bach et al. 2015; Montavon et al. 2019) with ``composite``'s rule per layer: relevance
    is redistributed layer by layer from :math:`R^{(L)} = f_y(x)`, e.g. by LRP-ε,
    :math:`R_j = \sum_k \frac{a_j w_{jk}}{\epsilon + \sum_{j'} a_{j'} w_{j'k}} R_k`."""
    return explain(model, x, y, composite)


def _saliency(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Saliency (Simonyan et al. 2014): :math:`R_i = |\partial f_y / \partial x_i|` (Captum
    ``Saliency``, ``abs=True``)."""
    return Saliency(model).attribute(x.requires_grad_(), target=y, abs=True)


def _input_x_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Gradient × input (Shrikumar et al. 2016): :math:`R_i = x_i \, \partial f_y / \partial x_i`
    (Captum ``InputXGradient``); equals LRP-0 for a bias-free ReLU network."""
    return InputXGradient(model).attribute(x.requires_grad_(), target=y)


def _integrated_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int,
                          baseline: float) -> torch.Tensor:
    r"""Integrated Gradients (Sundararajan et al. 2017) from the baseline :math:`\bar x` (silence):

    .. math:: R_i = (x_i - \bar x_i) \int_0^1 \frac{\partial f_y}{\partial x_i}
              \big(\bar x + \alpha (x - \bar x)\big) \, d\alpha,

    the integral by Gauss-Legendre quadrature with ``steps`` points (Captum ``IntegratedGradients``'s
    default; its weights sum to 1, so completeness, :math:`\sum_i R_i \approx f_y(x) - f_y(\bar x)`,
    is exact for a linear model -- Captum's ``"riemann_trapezoid"`` weights sum to ``1 - 1/steps``).
    """
    return IntegratedGradients(model).attribute(
        x.requires_grad_(), baselines=baseline, target=y, n_steps=steps, method="gausslegendre",
        internal_batch_size=x.shape[0])


def _occlusion(model: nn.Module, x: torch.Tensor, y: torch.Tensor, window: int,
               baseline: float) -> torch.Tensor:
    r"""Occlusion (Zeiler & Fergus 2014): a ``window`` × ``window`` patch :math:`W` of bins is set to
    the baseline (silence) and moved by its own size; every bin of the patch gets the drop of the
    class logit,

    .. math:: R_i = f_y(x) - f_y(x_{W \leftarrow \bar x}), \qquad i \in W

    (Captum ``Occlusion``, stride = window; patches at the far edges are cut off by the border).
    """
    shape = tuple(x.shape[1:-2]) + (window, window)
    return Occlusion(model).attribute(x, sliding_window_shapes=shape, strides=shape,
                                      baselines=baseline, target=y)


def _smoothgrad(model: nn.Module, x: torch.Tensor, y: torch.Tensor, samples: int, noise: float,
                seed: int) -> torch.Tensor:
    r"""SmoothGrad (Smilkov et al. 2017) of the saliency map: the mean over ``samples`` noisy
    copies,

    .. math:: R_i = \frac1n \sum_{j=1}^n \Big|\frac{\partial f_y}{\partial x_i}(x + \varepsilon_j)\Big|,
              \qquad \varepsilon_j \sim \mathcal N(0, \sigma^2 I),
              \quad \sigma = \text{noise} \cdot (\max x - \min x)

    with :math:`\sigma` from each sample's own value range (Captum ``NoiseTunnel`` over
    ``Saliency``). The noise is drawn from torch's generator seeded with ``seed`` once per batch
    (the global generator's state is restored afterwards).
    """
    tunnel = NoiseTunnel(Saliency(model))
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        maps = []
        for n in range(x.shape[0]):
            sample = x[n:n + 1].detach()
            sigma = noise * float(sample.max() - sample.min())
            maps.append(tunnel.attribute(sample.requires_grad_(), nt_type="smoothgrad", nt_samples=samples,
                                         nt_samples_batch_size=samples, stdevs=sigma,
                                         target=y[n:n + 1]))
    return torch.cat(maps)


def _random(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.Tensor:
    r"""A control: :math:`R_i \sim U(0, 1)`, independent of model and input, drawn from a generator
    seeded with ``seed`` once per batch (so the same batch gets the same maps)."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def zbox_composite(low: float = DB_RANGE[0], high: float = DB_RANGE[1]) -> Composite:
    """The paper composite (:func:`~lrp_utils.evaluation.relevance.default_composite`) with the
    z^B rule (:class:`lrp_utils.lrp.ZBox`) on the input layer for inputs in ``[low, high]``.

    LRP-ε on the input layer hands bin ``i`` a share proportional to :math:`x_i w_{ik}`, the dB
    value itself: a quiet bin (large negative dB) gets large relevance of either sign.  z^B
    measures each bin against the box bounds instead
    (:math:`x_i w_{ik} - l_i w^+_{ik} - h_i w^-_{ik}`), so a bin at the floor whose weight is
    positive gets none.
    """
    return Composite([(FirstLayers(1), ZBox(low, high))] + default_composite().assignments)


def attribution_methods(profile) -> dict[str, AttributionMethod]:
    """The methods of chapter 6, sized by ``profile``, in a fixed order: four LRP composites, three
    gradient methods, occlusion and a random control.

    - ``LRP (paper)``: :func:`~lrp_utils.evaluation.relevance.default_composite` (the paper's
      LRP-0 + ε: ε = 0.5 on the conv layers, LRP-0 on the dense head);
    - ``LRP-ε``: LRP-ε (ε = 0.5) on every layer;
    - ``LRP-0+ε+γ``: :func:`lrp_utils.lrp.paper_composite` ``("gamma")`` (γ = 5 near the input);
    - ``LRP z^B``: the paper composite with z^B on the input layer for [-80, 0] dB
      (:func:`zbox_composite`);
    - ``saliency``, ``gradient × input``, ``integrated gradients`` (``integrated_gradients_steps``,
      baseline -80 dB), ``occlusion`` (``occlusion_window``, baseline -80 dB), ``SmoothGrad``
      (``smoothgrad_samples``, ``smoothgrad_noise``, seeded by ``profile.seed``);
    - ``random``: uniform noise seeded by ``profile.seed``.
    """
    silence = DB_RANGE[0]
    methods = [
        AttributionMethod("LRP (paper)", "LRP", "LRP-ε (ε = 0.5) on the conv layers, LRP-0 on the dense "
                          "head: the paper's composite", _lrp, {"composite": default_composite()}),
        AttributionMethod("LRP-ε", "LRP", "LRP-ε (ε = 0.5) on every layer", _lrp,
                          {"composite": Composite.uniform(Epsilon(0.5))}),
        AttributionMethod("LRP-0+ε+γ", "LRP", "the paper composite with LRP-γ (γ = 5) on the first "
                          "third of the hidden layers", _lrp, {"composite": paper_composite("gamma")}),
        AttributionMethod("LRP z^B", "LRP", "the paper composite with z^B on the input layer: relevance "
                          "measured against the dB range [-80, 0], not the dB value", _lrp,
                          {"composite": zbox_composite()}),
        AttributionMethod("saliency", "gradient", "the absolute gradient of the class logit", _saliency),
        AttributionMethod("gradient × input", "gradient", "the gradient times the input (dB)",
                          _input_x_gradient),
        AttributionMethod("integrated gradients", "gradient", "gradients averaged on the straight path "
                          "from silence (-80 dB) to the input, times the difference",
                          _integrated_gradients,
                          {"steps": profile.integrated_gradients_steps, "baseline": silence}),
        AttributionMethod("occlusion", "perturbation", f"the logit drop when a {profile.occlusion_window}"
                          f" x {profile.occlusion_window}-bin patch is set to silence", _occlusion,
                          {"window": profile.occlusion_window, "baseline": silence}),
        AttributionMethod("SmoothGrad", "gradient", "saliency averaged over noisy copies of the input",
                          _smoothgrad, {"samples": profile.smoothgrad_samples,
                                        "noise": profile.smoothgrad_noise, "seed": profile.seed}),
        AttributionMethod("random", "control", "uniform random relevance (a control)", _random,
                          {"seed": profile.seed}),
    ]
    return {method.name: method for method in methods}


def method_relevance(method: AttributionMethod, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     batch_size: int, cache_dir: str | Path | None = None,
                     progress: bool | None = None) -> torch.Tensor:
    """Relevance of ``method`` for every sample of ``x`` (class ``y``), batch by batch through
    :func:`~lrp_utils.evaluation.relevance.explain_batched` (``x``'s shape, dtype and device).

    With ``cache_dir`` the result is stored there as ``relevance-<key>.pt`` (atomically), ``key``
    hashing the model's weights, ``x``, ``y``, the method (:meth:`AttributionMethod.key_settings`)
    and ``batch_size`` (the seeded methods draw per batch); a later call with the same content loads
    it instead of explaining again.
    """
    if not isinstance(method, AttributionMethod):
        raise TypeError(f"method must be an AttributionMethod (see attribution_methods), got "
                        f"{type(method).__name__}")
    batch_size = check_batch_size(batch_size)
    check_input(x)
    check_labels(x, y)
    cache_path = None
    if cache_dir is not None:
        key = content_key(model, {"x": x, "y": y}, method=method.key_settings(),
                          batch_size=batch_size, version=CACHE_VERSION)
        cache_path = Path(cache_dir) / f"relevance-{key[:20]}.pt"
        if cache_path.exists():
            cached = torch.load(cache_path, map_location=x.device, weights_only=True)
            if cached.get("key") == key:
                return cached["relevance"]
    relevance = explain_batched(model, x, y, composite=method.composite, batch_size=batch_size,
                                explain_fn=method.explain_fn, progress=progress)
    if cache_path is not None:
        save_torch(cache_path, {"key": key, "relevance": relevance.cpu()})
    return relevance


def _plain_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\partial f_y / \\partial x`, the unit of :func:`time_methods`."""
    with eval_mode(model), torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(x).gather(1, y[:, None]).sum(), x)
    return gradient


def time_methods(methods: Mapping[str, AttributionMethod] | Iterable[AttributionMethod],
                 model: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int = 3) -> pd.DataFrame:
    """Seconds each method needs for the batch ``x`` (moved to the model's device), and the ratio
    to one plain gradient :math:`\\partial f_y / \\partial x` of the same batch, measured in the same
    run: the best of ``repeats`` calls (the usual ``timeit`` choice), after one untimed gradient
    that warms up the model.

    Returns one row per method (index: its name) with ``family``, ``seconds`` and
    ``ratio to gradient``, plus a first row ``"gradient"``.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    if isinstance(methods, Mapping):
        methods = methods.values()
    methods = list(methods)
    if not methods or not all(isinstance(m, AttributionMethod) for m in methods):
        raise ValueError("methods must be a non-empty collection of AttributionMethod "
                         "(e.g. attribution_methods(profile))")
    check_input(x)
    check_labels(x, y)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else x.device
    x, y = x.to(device), y.to(device)

    def best_of(function: Callable[[], Any]) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
        return min(times)

    _plain_gradient(model, x, y)
    rows = {"gradient": {"family": "gradient", "seconds": best_of(lambda: _plain_gradient(model, x, y))}}
    for method in methods:
        rows[method.name] = {"family": method.family,
                             "seconds": best_of(lambda m=method: m(model, x, y))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["ratio to gradient"] = table["seconds"] / table.loc["gradient", "seconds"]
    return table
