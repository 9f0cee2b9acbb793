"""``Explainer``: one probe per model and input signature, reused for many batches; a forward path
that contradicts the probe is an error, never a wrong map (issue 10); ``explain`` always probes."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from torch import nn

from lrp_utils.lrp import PAPER_COMPOSITES, Explainer, explain, paper_composite

from .lrp_models import becker_alexnet_like, keras_alexnet_like, own_resnet, randomize_batchnorms

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available"))]


class SwitchingNet(nn.Module):
    """``x -> conv -> bn -> relu -> head``, where the layer named ``optional`` runs only while ``on``
    is true. With both layers the BatchNorm is merged into the conv; without the conv it reads the
    input (and is explained as its own affine layer); without the BatchNorm the conv feeds the ReLU."""

    def __init__(self, optional: str, on: bool):
        super().__init__()
        self.conv, self.bn, self.relu = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 2))
        self.optional, self.on = optional, on

    def forward(self, x):
        for name in ("conv", "bn"):
            if self.on or name != self.optional:
                x = getattr(self, name)(x)
        return self.head(self.relu(x))


def switching_model(optional: str, on: bool) -> SwitchingNet:
    torch.manual_seed(0)
    return randomize_batchnorms(SwitchingNet(optional, on), torch.Generator().manual_seed(3)).double().eval()


#: (the optional layer, whether it runs when first explained; afterwards it is the other way round)
CHANGED_PATHS = [
    pytest.param("conv", True, id="conv-removed-before-bn"),
    pytest.param("conv", False, id="conv-added-before-bn"),
    pytest.param("bn", True, id="bn-removed-after-conv"),
    pytest.param("bn", False, id="bn-added-after-conv"),
]

X = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)


@pytest.mark.parametrize("optional, first", CHANGED_PATHS)
@pytest.mark.parametrize("name", PAPER_COMPOSITES)
def test_explain_after_a_changed_path_equals_a_fresh_model(optional, first, name):
    """``explain`` twice on a model whose forward path changed in between: the second relevance is
    that of an identical model explained for the first time (it once raised a bare KeyError)."""
    model = switching_model(optional, first)
    explain(model, X, 0, paper_composite(name))
    model.on = not first
    fresh = explain(copy.deepcopy(model), X, 0, paper_composite(name))
    assert torch.equal(explain(model, X, 0, paper_composite(name)), fresh)


@pytest.mark.parametrize("optional, first", CHANGED_PATHS)
@pytest.mark.parametrize("name", PAPER_COMPOSITES)
def test_reused_explainer_rejects_a_changed_path(monkeypatch, optional, first, name):
    """An ``Explainer`` whose probe the forward pass contradicts raises a ValueError naming the
    layers whose data flow changed, before its backward pass; a new Explainer explains the model."""
    model = switching_model(optional, first)
    explainer = Explainer(model, paper_composite(name))
    explainer(X, 0)
    model.on = not first
    backward_passes = []
    grad = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *args, **kwargs: backward_passes.append(1) or grad(*args, **kwargs))
    with pytest.raises(ValueError, match=r"forward path has changed.*'bn'.*Build a new Explainer"):
        explainer(X, 0)
    assert not backward_passes
    monkeypatch.undo()
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    fresh = explain(copy.deepcopy(model), X, 0, paper_composite(name))
    assert torch.equal(Explainer(model, paper_composite(name))(X, 0), fresh)


def torchvision_resnet() -> nn.Module:
    model = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=3)
    return randomize_batchnorms(model, torch.Generator().manual_seed(4))


@pytest.mark.parametrize("build, shape", [
    (lambda: becker_alexnet_like(), (3, 1, 227, 227)),
    (torchvision_resnet, (3, 3, 32, 32)),
    (lambda: randomize_batchnorms(own_resnet(), torch.Generator().manual_seed(2)), (3, 1, 12, 12)),
    (lambda: keras_alexnet_like(), (3, 1, 36, 36)),
])
@pytest.mark.parametrize("name", PAPER_COMPOSITES)
def test_reused_explainer_equals_explain_and_probes_once(monkeypatch, build, shape, name):
    """Every call of one Explainer gives the relevance ``explain`` gives (bit for bit) from a single
    probe; the batch size is not part of what was probed."""
    torch.manual_seed(0)
    model = build().double().eval()
    x = torch.randn(*shape, dtype=torch.float64)
    probes = count_probes(monkeypatch)
    explainer = Explainer(model, paper_composite(name))
    assert len(probes) == 0  # the probe needs an input: it runs on the first call
    assert torch.equal(explainer(x, 1), explain(model, x, 1, paper_composite(name)))
    assert torch.equal(explainer(x[:2], 1), explain(model, x[:2], 1, paper_composite(name)))
    assert torch.equal(explainer(x, None), explain(model, x, None, paper_composite(name)))
    assert len(probes) == 1 + 3  # the Explainer's one, and one per call of explain


def count_probes(monkeypatch) -> list:
    """Count the structure probes (one forward pass on one sample each)."""
    from lrp_utils.lrp import attribution

    calls = []
    original = attribution.trace_structure

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(attribution, "trace_structure", counting)
    return calls


def test_another_input_shape_is_probed_again(monkeypatch):
    """The ResNet takes any input size; a new one is probed again, and the old one again after it."""
    model = randomize_batchnorms(own_resnet(), torch.Generator().manual_seed(2)).double().eval()
    small, large = (torch.randn(2, 1, n, n, dtype=torch.float64) for n in (12, 16))
    probes = count_probes(monkeypatch)
    explainer = Explainer(model, paper_composite("gamma"))
    for x in (small, large, large, small):
        assert torch.equal(explainer(x, 0), explain(copy.deepcopy(model), x, 0, paper_composite("gamma")))
    assert len(probes) == 3 + 4


def test_replaced_module_is_probed_again(monkeypatch):
    """A submodule replaced by one of another type changes the module paths and types: probed again."""
    model = switching_model("conv", True)
    probes = count_probes(monkeypatch)
    explainer = Explainer(model, paper_composite("epsilon"))
    explainer(X, 0)
    model.conv = nn.Identity()
    assert torch.equal(explainer(X, 0), explain(copy.deepcopy(model), X, 0, paper_composite("epsilon")))
    assert len(probes) == 2 + 1


@pytest.mark.parametrize("device", DEVICES)
def test_model_converted_to_another_dtype_or_device_is_probed_again(device):
    """``model.to(...)`` keeps the module objects: the Explainer probes the new input signature and
    explains exactly as a fresh one."""
    torch.manual_seed(0)
    model = keras_alexnet_like().eval()
    x = torch.randn(3, 1, 36, 36)
    explainer = Explainer(model, paper_composite("gamma"))
    explainer(x, 0)
    model.to(device=device, dtype=torch.float64)
    x = x.to(device=device, dtype=torch.float64)
    relevance = explainer(x, 0)
    assert relevance.dtype == torch.float64 and relevance.device == x.device
    assert torch.equal(relevance, Explainer(copy.deepcopy(model), paper_composite("gamma"))(x, 0))


def test_explainer_checks_the_model_when_built():
    with pytest.raises(ValueError, match=r"'1' of type Tanh"):
        Explainer(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)))
    with pytest.raises(TypeError, match="composite must be a Composite"):
        Explainer(nn.Linear(2, 2), composite="epsilon")
