"""Rule assignment: by type, by name glob, by position; the paper's section-5 composites."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrp_utils.lrp import Composite, Epsilon, FirstLayers, Gamma, LastLayers, ZBox, Zero, explain, paper_composite
from lrp_utils.lrp.structure import trace_structure
from lrp_utils.lrp.rules import AFFINE_TYPES

from .lrp_models import becker_alexnet_like, keras_alexnet_like, own_resnet

ALEXNET_LAYERS = ["0", "3", "6", "8", "10", "14", "17", "20"]  # conv1..conv5, fc6..fc8


def names_with(table, rule):
    return [name for name, assigned in table.items() if assigned == rule]


def test_uniform_assigns_every_weighted_layer():
    table = Composite.uniform(Epsilon(0.1)).resolve(keras_alexnet_like())
    assert list(table) == ["0", "3", "4", "7", "9", "10", "12"]  # convs, linears and all BatchNorms
    assert set(table.values()) == {Epsilon(0.1)}


def test_type_name_and_position_selectors_first_match_wins():
    composite = Composite(
        [
            ("17", Epsilon(2.0)),
            (FirstLayers(1), ZBox(-80, 0)),
            (LastLayers(2), Zero()),
            (FirstLayers(0.5), Gamma(0.25)),
            (nn.Conv2d, Epsilon(0.25)),
        ],
        default=Epsilon(1.0),
    )
    table = composite.resolve(becker_alexnet_like())
    assert names_with(table, ZBox(-80, 0)) == ["0"]
    assert names_with(table, Gamma(0.25)) == ["3", "6", "8"]  # first half = 4 layers, "0" taken already
    assert names_with(table, Epsilon(0.25)) == ["10"]
    assert names_with(table, Epsilon(2.0)) == ["17"]
    assert names_with(table, Zero()) == ["20"]
    assert names_with(table, Epsilon(1.0)) == ["14"]


@pytest.mark.parametrize(
    "selector, expected",
    [
        (FirstLayers(1 / 3, hidden=True), ["3", "6"]),  # 6 hidden layers
        (FirstLayers(1 / 3), ["0", "3", "6"]),  # 8/3 = 2.67 -> 3
        (LastLayers(2), ["17", "20"]),
        (LastLayers(1, hidden=True), ["17"]),
        (FirstLayers(100), ALEXNET_LAYERS),
        ("1?", ["10", "14", "17"]),
    ],
)
def test_position_selection(selector, expected):
    table = Composite([(selector, Gamma(1.0))]).resolve(becker_alexnet_like())
    assert names_with(table, Gamma(1.0)) == expected


def test_paper_composites_on_the_speaker_resnet_layout():
    model = own_resnet()
    merges = trace_structure(model.eval(), torch.randn(1, 1, 12, 12), AFFINE_TYPES).merges
    assert merges == {"1": "0", "3.bn1": "3.conv1", "3.bn2": "3.conv2", "4.bn1": "4.conv1", "4.bn2": "4.conv2",
                      "4.shortcut.1": "4.shortcut.0", "8": "7"}
    zero = paper_composite("zero").resolve(model, skip=merges)
    assert set(zero.values()) == {Zero()} and len(zero) == 8
    epsilon = paper_composite("epsilon").resolve(model, skip=merges)
    assert names_with(epsilon, Epsilon(0.5)) == ["0", "3.conv1", "3.conv2", "4.conv1", "4.conv2", "4.shortcut.0"]
    assert names_with(epsilon, Zero()) == ["7", "10"]
    gamma = paper_composite("gamma").resolve(model, skip=merges)
    assert names_with(gamma, Gamma(5.0)) == ["3.conv1", "3.conv2"]
    assert names_with(gamma, Epsilon(0.5))[0] == "0"  # the input layer keeps LRP-ε


def test_merged_batchnorm_follows_its_layer_rule():
    """With BN merged, the conv's rule explains conv+BN; a BN rule in the composite is not used."""
    torch.manual_seed(0)
    model = own_resnet().double().eval()
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    with_bn_rule = Composite([(nn.BatchNorm2d, Gamma(3.0))], default=Epsilon(0.5))
    assert torch.equal(explain(model, x, 0, with_bn_rule), explain(model, x, 0, Composite.uniform(Epsilon(0.5))))


def test_composites_differ_visibly():
    """The three paper composites give different heatmaps (a composite is not silently ignored)."""
    torch.manual_seed(0)
    model = own_resnet().double().eval()
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    maps = [explain(model, x, 0, paper_composite(name)) for name in ("zero", "epsilon", "gamma")]
    assert not torch.allclose(maps[0], maps[1]) and not torch.allclose(maps[1], maps[2])


def test_bad_composites():
    with pytest.raises(TypeError, match="is not an LRP rule"):
        Composite([(nn.Conv2d, "epsilon")])
    with pytest.raises(TypeError, match="selector 3"):
        Composite([(3, Zero())])


def _with_relus_replaced(make_relu) -> tuple[nn.Sequential, nn.Sequential]:
    """A small Becker AlexNet and a copy with the same weights whose ReLUs are ``make_relu()``."""
    torch.manual_seed(0)
    plain = becker_alexnet_like(width=8).double().eval()
    variant = becker_alexnet_like(width=8).double().eval()
    variant.load_state_dict(plain.state_dict())
    for i, module in enumerate(variant):
        if isinstance(module, nn.ReLU):
            variant[i] = make_relu()
    return plain, variant


@pytest.mark.parametrize("name", ["epsilon", "gamma"])
def test_inplace_relu_gives_the_same_relevance(name):
    """Rules that move to the ReLU's output (to save memory) see through in-place ReLUs too."""
    plain, inplace = _with_relus_replaced(lambda: nn.ReLU(inplace=True))
    structure = trace_structure(inplace, torch.randn(1, 1, 227, 227, dtype=torch.float64), AFFINE_TYPES)
    assert structure.relu_fed == {"0", "3", "6", "8", "10", "14", "17"}
    x = -80 * torch.rand(2, 1, 227, 227, dtype=torch.float64)
    expected = explain(plain, x, 1, paper_composite(name))
    assert torch.allclose(explain(inplace, x, 1, paper_composite(name)), expected, rtol=1e-12, atol=1e-15)


class _UnrecognisedReLU(nn.ReLU):
    """A ReLU that ``explain`` does not treat as one, so every rule stays at its layer's output."""


@pytest.mark.parametrize("name", ["epsilon", "gamma"])
def test_rules_at_the_relu_output_equal_rules_at_the_layer_output(name):
    """ε and γ of a layer read by one ReLU work from the ReLU's output (to save memory); that gives
    the relevance of the general code path at the layer's own output."""
    plain, general = _with_relus_replaced(_UnrecognisedReLU)
    assert not trace_structure(general, torch.randn(1, 1, 227, 227, dtype=torch.float64), AFFINE_TYPES).relu_fed
    x = -80 * torch.rand(2, 1, 227, 227, dtype=torch.float64)
    expected = explain(general, x, 1, paper_composite(name))
    assert torch.allclose(explain(plain, x, 1, paper_composite(name)), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_gamma_with_padding_given_as_a_string():
    """``padding='same'``/``'valid'`` give the relevance of the same padding as numbers; a ``'same'``
    that pads asymmetrically (even kernel) is refused by the γ rule."""

    def net(padding_1, padding_2, kernel=3):
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(2, 4, kernel, padding=padding_1), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=padding_2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        ).double().eval()

    x = torch.randn(3, 2, 8, 8, dtype=torch.float64)
    gamma = Composite.uniform(Gamma(0.5))
    expected = explain(net(1, 0), x, 2, gamma)
    assert torch.allclose(explain(net("same", "valid"), x, 2, gamma), expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="pads asymmetrically"):
        explain(net("same", 0, kernel=2), x, 2, gamma)
