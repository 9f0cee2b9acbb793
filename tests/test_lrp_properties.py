"""Properties of ``explain`` that hold without an oracle, a hand-computed example, and its errors."""

from __future__ import annotations

import gc
import warnings

import pytest
import torch
import torchvision
from torch import nn

from lrp_utils.lrp import (
    Composite,
    Epsilon,
    Explainer,
    FirstLayers,
    Gamma,
    LastLayers,
    ZBox,
    Zero,
    explain,
    paper_composite,
)

from .lrp_models import becker_alexnet_like, keras_alexnet_like, own_resnet, randomize_batchnorms

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available"))]


def bias_free(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if getattr(module, "bias", None) is not None and not isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.zeros_(module.bias)
    return model


def dense_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)).double().eval()


def test_hand_computed_epsilon_and_gamma():
    """A 2-2-1 ReLU net small enough to compute every relevance by hand (equations 1-3)."""
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 1.0]]))
        net[0].bias.copy_(torch.tensor([0.5, 0.0]))
        net[2].weight.copy_(torch.tensor([[1.0, -2.0]]))
        net[2].bias.zero_()
    x = torch.tensor([[3.0, 1.0]], dtype=torch.float64)
    # h = relu([3 - 1 + 0.5, 6 + 1]) = [2.5, 7]; f = 2.5 - 14 = -11.5 = R_out.
    # LRP-0 at the top: R_h = h * w / f * R_out = [2.5, -14].
    # Layer 1, LRP-0: R_x = sum_k x_j w_jk / z_k R_k:
    #   neuron 1: z = 2.5, contributions [3, -1] -> [3, -1]
    #   neuron 2: z = 7, contributions [6, 1] -> [-12, -2]
    expected_zero = torch.tensor([[3.0 - 12.0, -1.0 - 2.0]], dtype=torch.float64)
    assert torch.allclose(explain(net, x, 0, Composite.uniform(Zero())), expected_zero)
    # LRP-eps (eps = 1) on both layers: top: R_h = h w / (f - 1) R_out = [2.5, -14] * 11.5 / 12.5
    top = torch.tensor([2.5, -14.0]) * 11.5 / 12.5
    expected_eps = torch.tensor(
        [[3 / 3.5 * top[0] + 6 / 8 * top[1], -1 / 3.5 * top[0] + 1 / 8 * top[1]]], dtype=torch.float64
    )
    assert torch.allclose(explain(net, x, 0, Composite.uniform(Epsilon(1.0))), expected_eps)
    # LRP-gamma (gamma = 1) on layer 1 only, LRP-0 on top: w + w+ = [[2, -1], [4, 2]], b + b+ = [1, 0]
    #   neuron 1: contributions [6, -1], denominator 6 - 1 + 1 = 6 -> R = [6, -1] / 6 * 2.5
    #   neuron 2: contributions [12, 2], denominator 14 -> R = [12, 2] / 14 * (-14)
    composite = Composite([(FirstLayers(1), Gamma(1.0, stabilizer=0.0))], default=Zero())
    expected_gamma = torch.tensor([[2.5 - 12.0, -2.5 / 6 - 2.0]], dtype=torch.float64)
    assert torch.allclose(explain(net, x, 0, composite), expected_gamma)


def test_matrix_form_reference_for_dense_net():
    """ε and γ on a dense ReLU net against the slow matrix form R_in = a ⊙ Wᵀ(R / z)."""
    net = dense_net()
    x = torch.rand(6, 5, dtype=torch.float64)  # non-negative input: eq. (3) applies as written
    w1, b1, w2, b2 = net[0].weight, net[0].bias, net[2].weight, net[2].bias
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    with torch.no_grad():
        for eps, gamma in [(0.1, 0.0), (1e-9, 0.5), (0.3, 2.0)]:
            h = torch.relu(x @ w1.T + b1)
            out = h @ w2.T + b2
            r_out = torch.zeros_like(out).scatter_(1, target[:, None], out.gather(1, target[:, None]))
            z2 = out + eps * torch.sign(out).where(out != 0, 1.0)
            r_h = h * ((r_out / z2) @ w2)
            w1g, b1g = w1 + gamma * w1.clamp(min=0), b1 + gamma * b1.clamp(min=0)
            z1 = x @ w1g.T + b1g
            r_x = x * ((r_h / (z1 + 1e-6 * torch.sign(z1).where(z1 != 0, 1.0))) @ w1g)
            composite = Composite([(LastLayers(1), Epsilon(eps)), (FirstLayers(1), Gamma(gamma))])
            assert torch.allclose(explain(net, x, target, composite), r_x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("rule", [Zero(), Epsilon(1e-12)])
def test_conservation_for_bias_free_nets(rule):
    torch.manual_seed(0)
    model = bias_free(becker_alexnet_like(width=8)).double().eval()
    x = -80 * torch.rand(3, 1, 227, 227, dtype=torch.float64)
    logits = model(x)
    target = logits.argmax(1)
    relevance = explain(model, x, None, Composite.uniform(rule))
    assert torch.allclose(relevance.sum((1, 2, 3)), logits.gather(1, target[:, None]).squeeze(1), rtol=1e-8)


def test_conservation_with_residual_blocks():
    torch.manual_seed(0)
    model = bias_free(randomize_batchnorms(own_resnet().double(), torch.Generator().manual_seed(0)))
    for module in model.modules():  # BatchNorm shifts are biases too
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.running_mean.zero_()
            module.bias.data.zero_()
    model.eval()
    # large inputs, so that the 1e-6 stabiliser of the residual sums and pooling absorbs nothing visible
    x = 1000 * torch.randn(4, 1, 12, 12, dtype=torch.float64)
    logits = model(x)
    relevance = explain(model, x, 1, Composite.uniform(Zero()))
    assert torch.allclose(relevance.sum((1, 2, 3)), logits[:, 1], rtol=1e-6)


def test_lrp0_equals_gradient_times_input():
    torch.manual_seed(0)
    model = becker_alexnet_like(width=8).double().eval()
    x = (-80 * torch.rand(2, 1, 227, 227, dtype=torch.float64)).requires_grad_()
    logits = model(x)
    (gradient,) = torch.autograd.grad(logits[:, 1].sum(), x)
    relevance = explain(model, x.detach(), 1, Composite.uniform(Zero()))
    assert torch.allclose(relevance, x.detach() * gradient, rtol=1e-10, atol=1e-14)


def test_gamma_zero_equals_lrp0():
    torch.manual_seed(0)
    model = becker_alexnet_like(width=8).double().eval()
    x = -80 * torch.rand(2, 1, 227, 227, dtype=torch.float64)
    zero = explain(model, x, 0, Composite.uniform(Zero()))
    gamma = explain(model, x, 0, Composite.uniform(Gamma(0.0, stabilizer=0.0)))
    assert torch.allclose(gamma, zero, rtol=1e-8, atol=1e-12 * zero.abs().max())


@pytest.mark.parametrize("name", ["zero", "epsilon", "gamma"])
def test_batch_equals_samples_one_by_one(name):
    torch.manual_seed(0)
    model = randomize_batchnorms(own_resnet().double(), torch.Generator().manual_seed(1)).eval()
    x = torch.randn(5, 1, 12, 12, dtype=torch.float64)
    target = torch.tensor([0, 2, 1, 1, 0])
    batch = explain(model, x, target, paper_composite(name))
    single = torch.cat([explain(model, x[i : i + 1], int(target[i]), paper_composite(name)) for i in range(5)])
    assert torch.allclose(batch, single, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_matches_input_shape_device_dtype(device, dtype):
    model = keras_alexnet_like().to(device=device, dtype=dtype).eval()
    x = torch.randn(2, 1, 36, 36, device=device, dtype=dtype)
    relevance = explain(model, x, None, paper_composite("gamma"))
    assert relevance.shape == x.shape and relevance.device == x.device and relevance.dtype == dtype
    assert torch.isfinite(relevance).all() and relevance.abs().sum() > 0


def test_model_restored_bit_exactly_and_training_flags_kept():
    model = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=3)
    model = randomize_batchnorms(model, torch.Generator().manual_seed(0), eps=1e-5)
    model.train()
    model.layer1.eval()  # a mixed state must come back as it was
    flags = {name: m.training for name, m in model.named_modules()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modules = [name for name, _ in model.named_modules()]
    x = torch.randn(2, 3, 32, 32)
    explain(model, x, 0, paper_composite("gamma"))
    with pytest.raises(ValueError, match="out of range"):
        explain(model, x, 7, paper_composite("gamma"))
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # BN statistics untouched too
    assert {name: m.training for name, m in model.named_modules()} == flags
    assert [name for name, _ in model.named_modules()] == modules
    assert "forward" not in model.layer1[0].__dict__
    assert all(p.grad is None for p in model.parameters())


def _live_tensors() -> int:
    gc.collect()
    with warnings.catch_warnings():  # isinstance() on torch's deprecated aliases warns
        warnings.simplefilter("ignore")
        return sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))


@pytest.mark.parametrize("name", ["zero", "epsilon", "gamma"])
def test_repeated_explanations_keep_no_tensor_alive(name):
    """Nothing of one call of ``explain`` or of a reused ``Explainer`` survives it (an earlier ε
    hook kept each ReLU output alive through a Python/C++ reference cycle the garbage collector
    cannot break: a notebook explaining 6000 spectrograms grew past 20 GB)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(64, 2)).eval()
    x = torch.randn(3, 1, 8, 8)
    composite = paper_composite(name)
    explainer = Explainer(model, composite)
    explain(model, x, 0, composite), explainer(x, 0)
    before = _live_tensors()
    for _ in range(5):
        explain(model, x, 0, composite), explainer(x, 0)
    assert _live_tensors() == before


def test_training_mode_gives_the_eval_mode_explanation():
    model = keras_alexnet_like().eval()
    x = torch.randn(3, 1, 36, 36)
    expected = explain(model, x, 0, paper_composite("epsilon"))
    model.train()
    assert torch.equal(explain(model, x, 0, paper_composite("epsilon")), expected)
    assert model.training


class _Recorder(nn.Identity):
    """A supported layer that counts how often it runs."""

    calls = 0

    def forward(self, x):
        type(self).calls += 1
        return x


@pytest.mark.parametrize(
    "layer, pattern",
    [(nn.Tanh(), r"'2' of type Tanh"), (nn.Sigmoid(), r"'2' of type Sigmoid"), (nn.Conv2d(4, 4, 1, padding_mode="circular"), "padding_mode")],
)
def test_unsupported_layer_is_named_before_any_computation(layer, pattern):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), _Recorder(), layer, nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    _Recorder.calls = 0
    with pytest.raises(ValueError, match=pattern):
        explain(model, torch.randn(1, 1, 8, 8), 0)
    assert _Recorder.calls == 0


def test_module_with_own_parameters_is_unsupported():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(1))
            self.inner = nn.Linear(3, 2)

        def forward(self, x):
            return self.inner(x) * self.scale

    with pytest.raises(ValueError, match="'<model>' of type Scaled"):
        explain(Scaled(), torch.randn(2, 3), 0)


@pytest.mark.parametrize(
    "x, target, error, pattern",
    [
        (torch.tensor([[1.0, float("nan"), 0, 0, 0]], dtype=torch.float64), 0, ValueError, "NaN or infinite"),
        (torch.tensor([[1.0, float("inf"), 0, 0, 0]], dtype=torch.float64), 0, ValueError, "NaN or infinite"),
        (torch.ones(2, 5, dtype=torch.float64), 3, ValueError, r"out of range; the model has 3 classes"),
        (torch.ones(2, 5, dtype=torch.float64), -1, ValueError, "out of range"),
        (torch.ones(2, 5, dtype=torch.float64), torch.tensor([0, 1, 2]), ValueError, r"expected \(2,\)"),
        (torch.ones(2, 5, dtype=torch.float64), 1.0, TypeError, "target must be"),
        (torch.ones(2, 5, dtype=torch.float64), torch.tensor([0.0, 1.0]), TypeError, "integer class indices"),
        (torch.ones(2, 5, dtype=torch.float32), 0, ValueError, "model's parameters are torch.float64"),
        (torch.ones(2, 5, dtype=torch.long), 0, TypeError, "floating-point"),
    ],
)
def test_bad_input_errors(x, target, error, pattern):
    model = dense_net()
    with pytest.raises(error, match=pattern):
        explain(model, x, target)


def test_zbox_only_on_the_input_layer():
    with pytest.raises(ValueError, match="z\\^B is only defined for the input layer"):
        explain(dense_net(), torch.randn(2, 5, dtype=torch.float64), 0, Composite([(LastLayers(1), ZBox(-1.0, 1.0))]))


def test_rule_assigned_to_wrong_layer_type():
    with pytest.raises(ValueError, match="assigns ZBox.*BatchNorm2d"):
        explain(keras_alexnet_like(), torch.randn(2, 1, 36, 36), 0, Composite([(nn.BatchNorm2d, ZBox(0, 1))]))


def test_invalid_rule_parameters():
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        Epsilon(-1.0)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        Gamma(-0.5)
    with pytest.raises(ValueError, match="unknown name 'alpha'"):
        paper_composite("alpha")
    with pytest.raises(ValueError, match=r"fractional count must be in \(0, 1\]"):
        FirstLayers(1.5)
