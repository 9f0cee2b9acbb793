"""lrp_utils.evaluation.methods: every attribution method against a hand computation or an
independent oracle (torch.autograd, our LRP engine), plus the cache and the timing table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrp_utils.evaluation.methods import (
    AttributionMethod,
    attribution_methods,
    method_relevance,
    time_methods,
    zbox_composite,
)
from lrp_utils.evaluation.relevance import default_composite, explain_batched
from lrp_utils.lrp import Composite, Epsilon, explain, paper_composite
from lrp_utils.profiles import get_profile

NAMES = ["LRP (paper)", "LRP-ε", "LRP-0+ε+γ", "LRP z^B", "saliency", "gradient × input",
         "integrated gradients", "occlusion", "SmoothGrad", "random"]


def _profile(**overrides):
    sizes = dict(occlusion_window=4, integrated_gradients_steps=4, smoothgrad_samples=3)
    return get_profile("smoke", **{**sizes, **overrides})


def _conv_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(8, 2)).double()


def _spectrograms(n: int = 3, size: int = 14, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return -80.0 * torch.rand((n, 1, size, size), generator=generator, dtype=torch.float64)


def _linear(weight: torch.Tensor, bias: torch.Tensor | None = None) -> nn.Module:
    """logits = weight @ x.flatten() + bias: (classes, bins)."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None).double()
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return nn.Sequential(nn.Flatten(), layer)


def test_methods_in_fixed_order_with_families():
    methods = attribution_methods(_profile())
    assert list(methods) == NAMES
    assert [m.family for m in methods.values()] == ["LRP"] * 4 + ["gradient"] * 3 + [
        "perturbation", "gradient", "control"]
    assert all(isinstance(m, AttributionMethod) and m.name == name for name, m in methods.items())


def test_profile_sizes_reach_the_methods():
    methods = attribution_methods(_profile(integrated_gradients_steps=7, occlusion_window=5,
                                           smoothgrad_samples=6, smoothgrad_noise=0.2, seed=3))
    assert methods["integrated gradients"].settings == {"steps": 7, "baseline": -80.0}
    assert methods["occlusion"].settings == {"window": 5, "baseline": -80.0}
    assert methods["SmoothGrad"].settings == {"samples": 6, "noise": 0.2, "seed": 3}
    assert methods["random"].settings == {"seed": 3}


@pytest.mark.parametrize("name", NAMES)
def test_each_method_returns_x_shape_detached(name, eval_device):
    model = _conv_net().to(eval_device).train()
    x = _spectrograms().to(eval_device)
    y = torch.tensor([0, 1, 0], device=eval_device)
    relevance = attribution_methods(_profile())[name](model, x, y)
    assert relevance.shape == x.shape and relevance.device == x.device and relevance.dtype == x.dtype
    assert not relevance.requires_grad and bool(torch.isfinite(relevance).all())
    assert float(relevance.abs().sum()) > 0
    assert model.training  # eval mode only during the call


def test_gradient_x_input_is_x_times_autograd_gradient():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([1, 0, 1])
    model.eval()
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(leaf).gather(1, y[:, None]).sum(), leaf)
    model.train()  # the methods explain the model in eval mode (no dropout)
    methods = attribution_methods(_profile())
    torch.testing.assert_close(methods["gradient × input"](model, x, y), x * grad)
    torch.testing.assert_close(methods["saliency"](model, x, y), grad.abs())


def test_integrated_gradients_on_a_linear_model_is_exact():
    generator = torch.Generator().manual_seed(1)
    weight = torch.randn((2, 9), generator=generator, dtype=torch.float64)
    model = _linear(weight, torch.tensor([0.3, -2.0], dtype=torch.float64))
    x = -80.0 * torch.rand((4, 1, 3, 3), generator=generator, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0])
    relevance = attribution_methods(_profile())["integrated gradients"](model, x, y)
    expected = (x + 80.0) * weight[y].view(4, 1, 3, 3)  # (x - baseline) * w_y, baseline -80 dB
    torch.testing.assert_close(relevance, expected, rtol=1e-12, atol=1e-10)
    # completeness: the relevance sums to f_y(x) - f_y(baseline)
    logits = model(x).gather(1, y[:, None]).squeeze(1)
    silent = model(torch.full_like(x, -80.0)).gather(1, y[:, None]).squeeze(1)
    torch.testing.assert_close(relevance.sum(dim=(1, 2, 3)), logits - silent)


def test_occlusion_on_a_linear_model_is_the_window_sum():
    # 5 x 5 input, window 2, stride 2: windows rows/cols {0,1}, {2,3}, {4} (cut by the border)
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn((2, 25), generator=generator, dtype=torch.float64)
    model = _linear(weight)
    x = -80.0 * torch.rand((2, 1, 5, 5), generator=generator, dtype=torch.float64)
    y = torch.tensor([1, 0])
    relevance = attribution_methods(_profile(occlusion_window=2))["occlusion"](model, x, y)
    expected = torch.zeros_like(x)
    blocks = [slice(0, 2), slice(2, 4), slice(4, 5)]
    for n in range(2):
        contribution = (x[n, 0] + 80.0) * weight[y[n]].view(5, 5)  # f(x) - f(x with bin at -80)
        for rows in blocks:
            for cols in blocks:
                expected[n, 0, rows, cols] = contribution[rows, cols].sum()
    torch.testing.assert_close(relevance, expected)


def test_random_is_seeded():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([0, 1, 0])
    first = attribution_methods(_profile(seed=0))["random"](model, x, y)
    again = attribution_methods(_profile(seed=0))["random"](model, x, y)
    other = attribution_methods(_profile(seed=1))["random"](model, x, y)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert float(first.min()) >= 0 and float(first.max()) < 1


def test_smoothgrad_is_seeded_and_leaves_the_global_generator_alone():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([0, 1, 0])
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = attribution_methods(_profile(seed=0))["SmoothGrad"](model, x, y)
    assert torch.equal(torch.get_rng_state(), state)
    again = attribution_methods(_profile(seed=0))["SmoothGrad"](model, x, y)
    other = attribution_methods(_profile(seed=1))["SmoothGrad"](model, x, y)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_smoothgrad_with_one_sample_and_no_noise_is_saliency():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([0, 1, 0])
    profile = _profile(smoothgrad_samples=1, smoothgrad_noise=1e-300)
    methods = attribution_methods(profile)
    torch.testing.assert_close(methods["SmoothGrad"](model, x, y), methods["saliency"](model, x, y))


@pytest.mark.parametrize("name, composite", [
    ("LRP (paper)", default_composite()), ("LRP-ε", Composite.uniform(Epsilon(0.5))),
    ("LRP-0+ε+γ", paper_composite("gamma")), ("LRP z^B", zbox_composite())])
def test_lrp_entries_equal_explain_with_their_composite(name, composite):
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([1, 1, 0])
    method = attribution_methods(_profile())[name]
    assert repr(method.composite) == repr(composite)
    torch.testing.assert_close(method(model, x, y), explain(model, x, y, composite))


def test_lrp_entries_differ_from_each_other():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([1, 1, 0])
    maps = [attribution_methods(_profile())[name](model, x, y) for name in NAMES[:4]]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.allclose(maps[i], maps[j]), (NAMES[i], NAMES[j])


def test_zbox_relevance_does_not_follow_the_db_value():
    # one 2 x 2 conv on a 2 x 2 input (z^B needs the layer that consumes the input), weights +1,
    # bias 200: logit z = sum(x) + 200 = 60 for x = (-80, -40, -20, 0)
    conv = nn.Conv2d(1, 2, 2).double()
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.copy_(torch.tensor([200.0, 0.0]))
    model = nn.Sequential(conv, nn.Flatten())
    x = torch.tensor([-80.0, -40.0, -20.0, 0.0], dtype=torch.float64).view(1, 1, 2, 2)
    y = torch.tensor([0])
    methods = attribution_methods(_profile())
    # LRP-eps: R_i = x_i w_i z / (z + eps): proportional to the dB value, the silent bin most negative
    epsilon = methods["LRP-ε"](model, x, y)
    torch.testing.assert_close(epsilon, x * 60.0 / 60.5)
    # z^B: R_i = (x_i - l) w_i z / sum_j (x_j - l) w_j with l = -80: the silent bin gets nothing
    zbox = methods["LRP z^B"](model, x, y)
    torch.testing.assert_close(zbox, (x + 80.0) * 60.0 / 180.0)


def test_explain_fn_adapter_plugs_into_explain_batched():
    model, x, y = _conv_net(), _spectrograms(n=5), torch.tensor([0, 1, 0, 1, 1])
    methods = attribution_methods(_profile())
    for name in ("LRP z^B", "gradient × input", "occlusion"):
        method = methods[name]
        batched = explain_batched(model, x, y, composite=method.composite, batch_size=2,
                                  explain_fn=method.explain_fn)
        torch.testing.assert_close(batched, method(model, x, y))
    assert methods["occlusion"].composite is None
    assert "occlusion" in methods["occlusion"].explain_fn.__qualname__
    assert methods["occlusion"].explain_fn.__qualname__ != attribution_methods(
        _profile(occlusion_window=2))["occlusion"].explain_fn.__qualname__


def test_method_relevance_is_cached_by_content(tmp_path):
    model, x, y = _conv_net(), _spectrograms(n=4), torch.tensor([0, 1, 0, 1])
    method = attribution_methods(_profile())["gradient × input"]
    first = method_relevance(method, model, x, y, batch_size=3, cache_dir=tmp_path)
    torch.testing.assert_close(first, method(model, x, y))
    files = list(tmp_path.glob("relevance-*.pt"))
    assert len(files) == 1
    payload = torch.load(files[0], weights_only=True)
    payload["relevance"] = torch.full_like(payload["relevance"], 7.0)  # a planted cache entry
    torch.save(payload, files[0])
    assert torch.equal(method_relevance(method, model, x, y, batch_size=3, cache_dir=tmp_path),
                       torch.full_like(x, 7.0))
    # other weights, another method or another label: a new entry
    with torch.no_grad():
        model[0].weight.add_(1.0)
    method_relevance(method, model, x, y, batch_size=3, cache_dir=tmp_path)
    method_relevance(attribution_methods(_profile())["saliency"], model, x, y, 3, cache_dir=tmp_path)
    method_relevance(method, model, x, torch.tensor([1, 1, 0, 1]), 3, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("relevance-*.pt"))) == 4


def test_method_relevance_rejects_bad_input():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([0, 1, 0])
    with pytest.raises(TypeError, match="AttributionMethod"):
        method_relevance(explain, model, x, y, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        method_relevance(attribution_methods(_profile())["random"], model, x, y, batch_size=0)
    with pytest.raises(ValueError, match="family"):
        AttributionMethod("x", "magic", "", explain)


def test_time_methods_table():
    model, x, y = _conv_net(), _spectrograms(), torch.tensor([0, 1, 0])
    methods = attribution_methods(_profile())
    chosen = [methods["saliency"], methods["occlusion"]]
    table = time_methods(chosen, model, x, y, repeats=2)
    assert list(table.index) == ["gradient", "saliency", "occlusion"]
    assert list(table.columns) == ["family", "seconds", "ratio to gradient"]
    assert table.loc["gradient", "ratio to gradient"] == 1.0
    assert (table["seconds"] > 0).all()
    # occlusion of a 14 x 14 input with 4 x 4 windows: 16 forward passes against one backward
    assert table.loc["occlusion", "ratio to gradient"] > table.loc["saliency", "ratio to gradient"]
    with pytest.raises(ValueError, match="repeats"):
        time_methods(chosen, model, x, y, repeats=0)


def test_explain_fn_adapter_plugs_into_the_augmentation(tmp_path):
    from torch.utils.data import TensorDataset

    from lrp_utils.evaluation.augmentation import moore_augment, relevance_augmented_dataset

    model, x, y = _conv_net(), _spectrograms(n=4), torch.tensor([0, 1, 0, 1])
    for name in ("saliency", "LRP z^B"):
        method = attribution_methods(_profile())[name]
        augmented = relevance_augmented_dataset(model, TensorDataset(x, y), composite=method.composite,
                                                fraction=0.1, batch_size=3, cache_dir=tmp_path,
                                                explain_fn=method.explain_fn)
        torch.testing.assert_close(augmented.tensors[0], moore_augment(x, method(model, x, y), 0.1))
    # the two methods got their own cache entries (the adapter's name carries the method)
    assert len(list(tmp_path.glob("*.pt"))) == 2
