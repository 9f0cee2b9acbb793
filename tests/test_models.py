"""Tests of lrp_utils.models: Becker's Caffe AlexNet and the ResNet34-style speaker net."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrp_utils.lrp import explain, paper_composite
from lrp_utils.lrp.composites import PAPER_COMPOSITES
from lrp_utils.models import (ARCHITECTURES, Add, AlexNet, BasicBlock, SpeakerResNet, build_model,
                              count_parameters)


def _conv_params(c_in, c_out, k, groups=1):
    return c_out * (c_in // groups) * k * k + c_out


# --- AlexNet ----------------------------------------------------------------------------------

def test_alexnet_matches_beckers_caffe_layout():
    model = AlexNet(num_classes=2)
    expected = (_conv_params(1, 96, 11) + _conv_params(96, 256, 5, 2) + _conv_params(256, 384, 3)
                + _conv_params(384, 384, 3, 2) + _conv_params(384, 256, 3, 2)
                + 9216 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 2 + 2)
    assert count_parameters(model) == expected
    assert 12.7e6 < expected < 12.9e6
    assert (model.conv1.kernel_size, model.conv1.stride) == ((11, 11), (4, 4))
    assert [getattr(model, f"conv{i}").groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    assert [getattr(model, f"conv{i}").out_channels for i in range(1, 6)] == [96, 256, 384, 384, 256]
    assert model.fc6.in_features == 9216
    assert (model.fc6.out_features, model.fc7.out_features) == (1024, 1024)
    assert model.drop6.p == model.drop7.p == 0.5
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LocalResponseNorm))
                   for m in model.modules())


def test_alexnet_shapes_of_a_becker_spectrogram():
    model = AlexNet(num_classes=2).eval()
    x = torch.zeros(2, 1, 227, 227)
    features = x
    for name, module in model.named_children():
        features = module(features)
        if name == "pool5":
            assert features.shape == (2, 256, 6, 6)
    assert features.shape == (2, 2)
    assert AlexNet(num_classes=10)(x).shape == (2, 10)


def test_alexnet_layer_names_and_no_shared_modules():
    model = AlexNet()
    names = [name for name, _ in model.named_children()]
    for expected in ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]:
        assert expected in names
    children = list(model.children())
    assert len({id(m) for m in children}) == len(children)  # one ReLU instance per use


#: (weight std, bias) of each layer's Gaussian/constant fillers, copied by hand from Becker et al.'s
#: models/AlexNet/alexnet_train.prototxt (github.com/soerenab/AudioMNIST): the test's own oracle.
BECKER_PROTOTXT_FILLERS = {
    "conv1": (0.01, 0.0), "conv2": (0.01, 0.1), "conv3": (0.01, 0.0), "conv4": (0.01, 0.1),
    "conv5": (0.01, 0.1), "fc6": (0.005, 0.1), "fc7": (0.005, 0.1), "fc8": (0.01, 0.0),
}


def test_alexnet_caffe_initialisation():
    model = AlexNet(init="caffe", seed=0)
    for name, (std, bias) in BECKER_PROTOTXT_FILLERS.items():
        layer = getattr(model, name)
        assert torch.all(layer.bias == bias)
        assert layer.weight.mean().abs() < 3 * std / layer.weight.numel() ** 0.5 + 1e-4
        assert layer.weight.std().item() == pytest.approx(std, rel=0.2 if name == "fc8" else 0.05)


def test_alexnet_seeded_initialisation_is_reproducible():
    for init in ("torch", "caffe"):
        a, b = AlexNet(init=init, seed=3), AlexNet(init=init, seed=3)
        c = AlexNet(init=init, seed=4)
        assert torch.equal(a.conv1.weight, b.conv1.weight)
        assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_alexnet_torch_init_has_pytorchs_bounds():
    model = AlexNet(init="torch", seed=0)
    bound = 1 / (9216 ** 0.5)
    assert model.fc6.weight.abs().max() <= bound
    assert model.fc6.weight.abs().max() > 0.9 * bound


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0}, "num_classes"), ({"init": "xavier"}, "init"), ({"dropout": 1.0}, "dropout"),
])
def test_alexnet_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AlexNet(**kwargs)


# --- SpeakerResNet ----------------------------------------------------------------------------

def test_speaker_resnet_has_the_resnet34_layout():
    model = SpeakerResNet(num_speakers=60, base_width=8)
    blocks = [len(getattr(model, f"layer{i}")) for i in range(1, 5)]
    assert blocks == [3, 4, 6, 3]
    assert all(isinstance(b, BasicBlock) for i in range(1, 5) for b in getattr(model, f"layer{i}"))
    assert [getattr(model, f"layer{i}")[0].conv1.out_channels for i in range(1, 5)] == [8, 16, 32, 64]
    assert sum(isinstance(m, Add) for m in model.modules()) == 16
    assert isinstance(model.pool, (nn.AdaptiveAvgPool2d, nn.AvgPool2d))
    assert isinstance(model.embedding.bn, nn.BatchNorm1d)
    assert isinstance(model.classifier, nn.Linear) and model.classifier.out_features == 60
    # torchvision's names inside the blocks
    block = model.layer2[0]
    for name in ("conv1", "bn1", "conv2", "bn2", "downsample"):
        assert hasattr(block, name)
    assert isinstance(model.layer1[1].downsample, nn.Identity)


def test_speaker_resnet_accepts_any_number_of_frames():
    model = SpeakerResNet(num_speakers=5, base_width=4).eval()
    for frames in (16, 33, 64):
        assert model(torch.randn(2, 1, 64, frames)).shape == (2, 5)


def test_speaker_resnet_uses_one_module_per_operation():
    model = SpeakerResNet(num_speakers=3, base_width=4)
    leaves = [m for m in model.modules() if not list(m.children())]
    assert len({id(m) for m in leaves}) == len(leaves)
    # counting with duplicates: named_modules(remove_duplicate=False) sees shared modules twice
    all_leaves = [m for _, m in model.named_modules(remove_duplicate=False) if not list(m.children())]
    assert len(all_leaves) == len(leaves)


def test_speaker_resnet_rejects_bad_input_and_arguments():
    model = SpeakerResNet(num_speakers=3, base_width=4)
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.randn(2, 64, 20))
    with pytest.raises(ValueError, match="num_speakers"):
        SpeakerResNet(num_speakers=0)
    with pytest.raises(ValueError, match="base_width"):
        SpeakerResNet(num_speakers=3, base_width=0)


def test_build_model_knows_both_architectures():
    assert set(ARCHITECTURES) == {"alexnet", "resnet"}
    assert isinstance(build_model("resnet", num_speakers=3, base_width=2), SpeakerResNet)
    with pytest.raises(ValueError, match="alexnet, resnet"):
        build_model("vgg")


# --- every layer explainable by lrp_utils.lrp -------------------------------------------------

def _randomise_batchnorm(model: nn.Module, seed: int) -> None:
    """Non-trivial BatchNorm statistics and affine parameters (random weights everywhere)."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


@pytest.mark.parametrize("architecture", ["resnet", "alexnet"])
@pytest.mark.parametrize("composite_name", ["zero", "epsilon", "gamma"])
def test_every_layer_is_explainable_with_the_section5_composites(architecture, composite_name):
    assert composite_name in PAPER_COMPOSITES
    torch.manual_seed(0)
    if architecture == "resnet":
        model = SpeakerResNet(num_speakers=4, base_width=4)
        _randomise_batchnorm(model, 0)
        x = torch.randn(2, 1, 64, 24)
    else:
        model = AlexNet(num_classes=2, seed=0)
        x = torch.rand(2, 1, 227, 227) * -80
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    logits = model(x)
    target = logits.argmax(1)
    relevance = explain(model, x, target, paper_composite(composite_name))
    assert relevance.shape == x.shape
    assert torch.isfinite(relevance).all()
    assert relevance.abs().sum() > 0
    # explaining leaves the model exactly as it was (canonizers restore merged BatchNorms)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(model(x), logits)
