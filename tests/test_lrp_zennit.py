"""``explain`` against Zennit 0.5.1, the independent LRP oracle (float64, relative error < 1e-5).

Each test states the Zennit composite and canonizers by hand (not derived from our composites), so
that a mistake in our rule assignment would also show up. Zennit's backward pass is seeded with
one-hot × logit, as ours is.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from zennit import canonizers as zc
from zennit import composites as zcomp
from zennit import layer as zlayer
from zennit import rules as zr
from zennit import torchvision as ztv
from zennit import types as zt

from lrp_utils.lrp import Composite, Epsilon, FirstLayers, Gamma, ZBox, Zero, explain, paper_composite

from .lrp_models import (
    becker_alexnet_like,
    keras_alexnet_like,
    own_resnet,
    random_sequential,
    randomize_batchnorms,
)

#: Zennit's stand-in for LRP-0: Epsilon with a negligible stabiliser (Epsilon(0) divides 0 by 0).
Z_ZERO = 1e-300


def zennit_relevance(model, x, target, composite):
    """Zennit's input relevance for ``target`` with its backward pass seeded by one-hot × logit."""
    x = x.clone().requires_grad_()
    with composite.context(model) as modified:
        logits = modified(x)
        seed = torch.zeros_like(logits)
        seed[torch.arange(len(x)), target] = 1.0
        (relevance,) = torch.autograd.grad(logits, x, seed * logits.detach())
    return relevance


def zennit_layer_composite(rule, canonizers=(), merged_bn=True, first=None):
    """Zennit composite applying ``rule`` to every conv/linear (and unmerged BatchNorm) layer."""
    layer_map = [
        (zt.Activation, zr.Pass()),
        (zlayer.Sum, zr.Norm()),
        (zt.AvgPool, zr.Norm()),
        (zt.BatchNorm, zr.Pass() if merged_bn else rule),
        (zt.Linear, rule),
    ]
    if first is not None:
        return zcomp.SpecialFirstLayerMapComposite(layer_map, [(zt.Linear, first)], canonizers=list(canonizers))
    return zcomp.LayerMapComposite(layer_map, canonizers=list(canonizers))


def assert_relevance_close(ours, theirs, rtol=1e-5):
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert torch.isfinite(theirs).all()
    error = (ours - theirs).abs().max() / theirs.abs().max()
    assert error < rtol, f"relative error {error:.3e} against Zennit"


UNIFORM_RULES = [
    pytest.param(Zero(), lambda: zr.Epsilon(Z_ZERO), id="zero"),
    pytest.param(Epsilon(0.25), lambda: zr.Epsilon(0.25), id="epsilon"),
    pytest.param(Gamma(0.25), lambda: zr.Gamma(0.25), id="gamma"),
]


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)


@pytest.mark.parametrize("ours, theirs", UNIFORM_RULES)
def test_becker_alexnet_uniform(ours, theirs, generator):
    torch.manual_seed(0)
    model = becker_alexnet_like().double().eval()
    x = -80 * torch.rand(2, 1, 227, 227, generator=generator, dtype=torch.float64)
    target = torch.tensor([0, 1])
    relevance = explain(model, x, target, Composite.uniform(ours))
    assert_relevance_close(relevance, zennit_relevance(model, x, target, zennit_layer_composite(theirs())))


def test_becker_alexnet_paper_gamma_with_zbox_input(generator):
    """z^B on the input layer, γ on the first third of hidden layers, ε/0 elsewhere."""
    torch.manual_seed(1)
    model = becker_alexnet_like().double().eval()
    x = -80 * torch.rand(2, 1, 227, 227, generator=generator, dtype=torch.float64)
    ours = Composite(
        [(FirstLayers(1), ZBox(-80.0, 0.0)), (FirstLayers(1 / 3, hidden=True), Gamma(5.0)),
         (nn.Conv2d, Epsilon(0.5)), (nn.Linear, Zero())]
    )
    # conv/linear order: 0, 3, 6, 8, 10 (convs), 14, 17, 20 (linears); hidden third = 2 of 6 layers.
    theirs = zcomp.MixedComposite([
        zcomp.NameMapComposite([
            (("0",), zr.ZBox(-80.0, 0.0)),
            (("3", "6"), zr.Gamma(5.0)),
            (("8", "10"), zr.Epsilon(0.5)),
            (("14", "17", "20"), zr.Epsilon(Z_ZERO)),
        ]),
        zcomp.LayerMapComposite([(zt.Activation, zr.Pass())]),
    ])
    target = torch.tensor([1, 1])
    assert_relevance_close(explain(model, x, target, ours), zennit_relevance(model, x, target, theirs))


@pytest.mark.parametrize("ours, theirs", UNIFORM_RULES)
def test_torchvision_resnet_uniform(ours, theirs, generator):
    torch.manual_seed(2)
    model = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=5)
    model = randomize_batchnorms(model.double(), generator).eval()
    x = torch.randn(2, 3, 32, 32, generator=generator, dtype=torch.float64)
    target = torch.tensor([3, 0])
    composite = zennit_layer_composite(theirs(), canonizers=[ztv.ResNetCanonizer()])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    relevance = explain(model, x, target, Composite.uniform(ours))
    assert_relevance_close(relevance, zennit_relevance(model, x, target, composite))
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


class _ZennitAdd(nn.Module):
    """Our two-input Add as Zennit's stacked ``Sum`` (Zennit hooks single-input modules only)."""

    def __init__(self):
        super().__init__()
        self.sum = zlayer.Sum()

    def forward(self, a, b):
        return self.sum(torch.stack([a, b], dim=-1))


OWN_RESNET_MERGES = [
    (["0"], "1"), (["3.conv1"], "3.bn1"), (["3.conv2"], "3.bn2"), (["4.conv1"], "4.bn1"),
    (["4.conv2"], "4.bn2"), (["4.shortcut.0"], "4.shortcut.1"), (["7"], "8"),
]


@pytest.mark.parametrize("name", ["zero", "epsilon", "gamma"])
def test_own_resnet_paper_composites(name, generator):
    """The paper's three section-5 composites on a ResNet with our Add and a BatchNorm1d head."""
    torch.manual_seed(3)
    model = randomize_batchnorms(own_resnet().double(), generator).eval()
    x = torch.randn(3, 1, 12, 12, generator=generator, dtype=torch.float64)
    target = torch.tensor([0, 1, 2])
    ours = explain(model, x, target, paper_composite(name))

    oracle = randomize_batchnorms(own_resnet().double(), torch.Generator()).eval()
    oracle.load_state_dict(model.state_dict())
    for block in (oracle[3], oracle[4]):
        block.add = _ZennitAdd()
    convs = ["0", "3.conv1", "3.conv2", "4.conv1", "4.conv2", "4.shortcut.0"]
    if name == "zero":
        name_map = [(tuple(convs) + ("7", "10"), zr.Epsilon(Z_ZERO))]
    else:
        # 8 conv/linear layers; hidden = 6 ("3.conv1" .. "7"); a third of them is 2.
        gamma = ("3.conv1", "3.conv2") if name == "gamma" else ()
        eps = tuple(c for c in convs if c not in gamma)
        name_map = [(gamma, zr.Gamma(5.0)), (eps, zr.Epsilon(0.5)), (("7", "10"), zr.Epsilon(Z_ZERO))]
    theirs = zcomp.MixedComposite(
        [zcomp.NameMapComposite(name_map),
         zcomp.LayerMapComposite([(zt.Activation, zr.Pass()), (zlayer.Sum, zr.Norm()), (zt.AvgPool, zr.Norm()),
                                  (zt.BatchNorm, zr.Pass())])],
        canonizers=[zc.NamedMergeBatchNorm(OWN_RESNET_MERGES)],
    )
    assert_relevance_close(ours, zennit_relevance(oracle, x, target, theirs))


class _ChannelAffine(nn.Module):
    """``y = weight·x + bias`` per channel: a BatchNorm in eval mode written as the affine map it is."""

    def __init__(self, bn: nn.BatchNorm2d | nn.BatchNorm1d):
        super().__init__()
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        self.weight = nn.Parameter(scale)
        self.bias = nn.Parameter(bn.bias.detach() - bn.running_mean * scale)

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return x * self.weight.reshape(shape) + self.bias.reshape(shape)


@pytest.mark.parametrize("ours, theirs", UNIFORM_RULES)
def test_unmerged_batchnorm_is_an_affine_layer(ours, theirs, generator):
    """BatchNorm after pooling is explained as the affine map ``s·x + t`` with the composite's rule.

    The oracle is Zennit on the same model with those BatchNorms replaced by explicit affine layers
    (Zennit's own γ on a BatchNorm module subtracts the running mean in each sign branch).
    """
    torch.manual_seed(4)
    model = randomize_batchnorms(keras_alexnet_like().double(), generator).eval()
    x = torch.randn(3, 1, 36, 36, generator=generator, dtype=torch.float64)
    target = torch.tensor([2, 0, 1])
    oracle = randomize_batchnorms(keras_alexnet_like().double(), torch.Generator()).eval()  # eps = 0, as model
    oracle.load_state_dict(model.state_dict())
    oracle[3], oracle[7] = _ChannelAffine(model[3]), _ChannelAffine(model[7])
    composite = zcomp.MixedComposite([
        zcomp.NameMapComposite([(("3", "7"), theirs())]),
        zennit_layer_composite(theirs(), canonizers=[zc.SequentialMergeBatchNorm()]),
    ])
    ours_relevance = explain(model, x, target, Composite.uniform(ours))
    assert_relevance_close(ours_relevance, zennit_relevance(oracle, x, target, composite))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ours, theirs", UNIFORM_RULES)
def test_random_sequential_nets(seed, ours, theirs):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model, shape = random_sequential(generator)
    model = randomize_batchnorms(model.double(), generator).eval()
    x = torch.randn(4, *shape, generator=generator, dtype=torch.float64)
    target = torch.randint(3, (4,), generator=generator)
    composite = zennit_layer_composite(theirs(), canonizers=[zc.SequentialMergeBatchNorm()])
    assert_relevance_close(explain(model, x, target, Composite.uniform(ours)), zennit_relevance(model, x, target, composite))
