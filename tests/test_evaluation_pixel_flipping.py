"""Pixel flipping (paper section 4.2): bin selection, exact counts, curves and bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lrp_utils.evaluation import (
    FlippingCurve,
    baseline_values,
    bin_ranks,
    curves_table,
    flip_count,
    moore_augment,
    pixel_flipping,
    summarize_curves,
    top_fraction_mask,
)

KEY_BINS = [(1, 2), (4, 4), (6, 1)]  # 3 of 8x8 = 64 bins
H = W = 8


class Recorder(nn.Module):
    """Wraps a model and keeps a copy of every input batch it sees."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.inputs: list[torch.Tensor] = []

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        return self.model(x)


@pytest.fixture
def setup(eval_device, eval_key_bin_model, eval_key_bin_data, eval_grad_x_input):
    model = eval_key_bin_model(KEY_BINS, H, W).to(eval_device)
    x, y = eval_key_bin_data(32, KEY_BINS, H, W)
    x, y = x.to(eval_device), y.to(eval_device)
    relevance = eval_grad_x_input(model, x, y)
    return model, x, y, relevance


# --- counting and ranking, by hand --------------------------------------------------------------

@pytest.mark.parametrize("fraction, n_bins, expected", [
    (0.005, 227 * 227, 258),   # 257.645 -> 258
    (0.5, 3, 2),               # 1.5 rounds half up
    (0.5, 5, 3),               # 2.5 -> 3 (Python's round would give 2)
    (0.25, 3, 1),              # 0.75 -> 1
    (0.1, 3, 0),               # 0.3 -> 0
    (0.0, 10, 0),
    (1.0, 10, 10),
])
def test_flip_count_hand_values(fraction, n_bins, expected):
    assert flip_count(fraction, n_bins) == expected


def test_bin_ranks_hand_values_ties_and_negative_relevance(eval_device):
    relevance = torch.tensor([[3.0, 1.0, 3.0, 2.0],      # tie: lower index first
                              [-1.0, 0.0, -2.0, 5.0]],   # sign ignored: by value
                             device=eval_device)
    ranks = bin_ranks(relevance)
    assert ranks.tolist() == [[0, 3, 1, 2], [2, 1, 3, 0]]
    assert ranks.device == relevance.device


def test_many_ties_are_broken_by_row_major_index(eval_device):
    relevance = torch.zeros(2, 1, 64, 64, device=eval_device)
    relevance[:, :, ::3] = 1.0                          # rows 0, 3, 6, ... are relevant
    mask = top_fraction_mask(relevance, 100 / 4096)      # k = 100 of the 22 * 64 tied ones
    expected = torch.zeros(2, 1, 64, 64, dtype=torch.bool, device=eval_device)
    expected[:, :, 0, :] = True                          # the first 100 in row-major order:
    expected[:, :, 3, :36] = True                        # row 0 (64 bins) and 36 of row 3
    assert torch.equal(mask, expected)


def test_top_fraction_mask_takes_non_positive_bins_once_positive_ones_run_out(eval_device):
    relevance = torch.tensor([[[[0.5, -3.0], [0.0, -1.0]]]], device=eval_device)  # (1,1,2,2)
    mask = top_fraction_mask(relevance, 0.75)  # k = 3: 0.5, 0.0, -1.0
    assert mask.tolist() == [[[[True, False], [True, True]]]]


def test_random_ranks_are_permutations(eval_device):
    generator = torch.Generator(device=eval_device).manual_seed(3)
    ranks = bin_ranks(torch.zeros(5, 1, 4, 4, device=eval_device), "random", generator)
    assert torch.equal(ranks.sort(dim=1).values.cpu(), torch.arange(16).expand(5, 16))


# --- the acceptance criteria ---------------------------------------------------------------------

def test_fraction_zero_gives_the_clean_accuracy_and_logit(setup):
    model, x, y, relevance = setup
    x = x.clone()
    x[:5, 0, 1, 2] = -x[:5, 0, 1, 2] * 10  # 5 samples now misclassified
    with torch.no_grad():
        logits = model(x)
    clean = (logits.argmax(1) == y).float().mean().item()
    curve = pixel_flipping(model, x, y, relevance, [0.0], batch_size=7)
    assert clean == pytest.approx(27 / 32)
    assert curve.accuracy == (pytest.approx(clean),)
    assert curve.mean_logit[0] == pytest.approx(logits.gather(1, y[:, None]).mean().item(), rel=1e-6)
    assert curve.n_flipped == (0,)


def test_relevance_order_destroys_accuracy_faster_than_random(setup):
    model, x, y, relevance = setup
    fractions = [0.0, 1 / 64, 2 / 64, 3 / 64, 6 / 64]
    by_relevance = pixel_flipping(model, x, y, relevance, fractions, order="relevance")
    by_random = pixel_flipping(model, x, y, relevance, fractions, order="random", seed=1)
    # all three key bins flipped to 0 -> s = 0 -> everything predicted class 0 -> chance (16/32)
    assert by_relevance.accuracy == pytest.approx((1.0, 1.0, 1.0, 0.5, 0.5))
    assert by_relevance.n_flipped == (0, 1, 2, 3, 6)
    assert min(by_random.accuracy) >= 0.9   # a sample changes only if all 3 key bins are hit
    assert by_relevance.auc() < by_random.auc()
    assert by_relevance.first_below(0.75) == pytest.approx(3 / 64)
    assert by_random.first_below(0.75) is None


@pytest.mark.parametrize("order", ["relevance", "random"])
def test_number_of_flipped_bins_is_exact_and_sets_are_nested(setup, order):
    model, x, y, relevance = setup
    recorder = Recorder(model)
    fractions = [0.0, 0.01, 0.1, 0.33, 0.5, 1.0]
    curve = pixel_flipping(recorder, x, y, relevance, fractions, order=order, baseline=123.0,
                           batch_size=10)
    expected = [flip_count(f, H * W) for f in fractions]
    assert list(curve.n_flipped) == expected == [0, 1, 6, 21, 32, 64]
    assert len(recorder.inputs) == 4 * len(fractions)  # 4 batches (10, 10, 10, 2)
    for batch in range(4):
        masks = [recorder.inputs[batch * len(fractions) + i] == 123.0 for i in range(len(fractions))]
        for k, mask in zip(expected, masks):
            assert mask.flatten(1).sum(1).tolist() == [k] * mask.shape[0]
        for smaller, larger in zip(masks, masks[1:]):
            assert not (smaller & ~larger).any()


def test_random_order_is_reproducible_for_a_seed(setup):
    model, x, y, relevance = setup
    seen = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        recorder = Recorder(model)
        pixel_flipping(recorder, x, y, relevance, [0.2], order="random", seed=seed,
                       baseline=123.0)
        seen[name] = torch.cat(recorder.inputs) == 123.0
    assert torch.equal(seen["a"], seen["b"])
    assert not torch.equal(seen["a"], seen["c"])


def test_relevance_order_does_not_depend_on_batch_size(setup):
    model, x, y, relevance = setup
    fractions = [0.0, 0.02, 0.05, 0.3]
    one = pixel_flipping(model, x, y, relevance, fractions, batch_size=32)
    many = pixel_flipping(model, x, y, relevance, fractions, batch_size=5)
    assert one.accuracy == many.accuracy
    assert one.mean_logit == pytest.approx(many.mean_logit, rel=1e-6)


# --- baselines -----------------------------------------------------------------------------------

def test_baseline_values_by_hand(eval_device):
    x = torch.tensor([[[[-80.0, -10.0], [-5.0, 0.0]]], [[[-3.0, -2.0], [-1.0, -4.0]]]],
                     device=eval_device)
    assert baseline_values(x, 0.0).item() == 0.0
    assert baseline_values(x, "min").flatten().tolist() == [-80.0, -4.0]
    # in a 2x2 every bin's neighbours are the other three
    assert baseline_values(x, "moore")[0].flatten().tolist() == pytest.approx(
        [-5.0, -85 / 3, -30.0, -95 / 3])


def test_min_baseline_sets_flipped_bins_to_each_samples_minimum(setup):
    model, x, y, relevance = setup
    recorder = Recorder(model)
    pixel_flipping(recorder, x, y, relevance, [3 / 64], baseline="min")
    flipped = recorder.inputs[0]
    mins = x.amin(dim=(1, 2, 3))
    for i, j in KEY_BINS:  # the key bins are the 3 most relevant ones
        assert torch.equal(flipped[:, 0, i, j], mins)


def test_moore_baseline_flips_exactly_what_the_augmentation_replaces(setup):
    model, x, y, relevance = setup
    recorder = Recorder(model)
    pixel_flipping(recorder, x, y, relevance, [0.1], baseline="moore")
    assert torch.equal(recorder.inputs[0], moore_augment(x, relevance, 0.1))


def test_model_mode_is_restored_and_eval_is_used(setup):
    model, x, y, relevance = setup
    model = nn.Sequential(nn.Dropout(0.9), model).train()
    first = pixel_flipping(model, x, y, relevance, [0.0, 0.1])
    second = pixel_flipping(model, x, y, relevance, [0.0, 0.1])
    assert model.training
    assert first == second  # dropout off during evaluation


def test_cpu_data_is_evaluated_on_the_models_device(setup):
    model, x, y, relevance = setup
    on_device = pixel_flipping(model, x, y, relevance, [0.0, 0.05])
    from_cpu = pixel_flipping(model, x.cpu(), y.cpu(), relevance.cpu(), [0.0, 0.05])
    assert on_device.accuracy == from_cpu.accuracy


# --- summaries -----------------------------------------------------------------------------------

def test_curve_summaries_by_hand():
    curve = FlippingCurve(fractions=(0.0, 0.5, 1.0), n_flipped=(0, 2, 4),
                          accuracy=(1.0, 0.5, 0.0), mean_logit=(2.0, 1.0, 0.0),
                          order="relevance", baseline=0.0, n_samples=4)
    assert curve.auc(normalize=False) == pytest.approx(0.5 * 0.75 + 0.5 * 0.25)
    short = FlippingCurve((0.0, 0.2), (0, 1), (1.0, 0.5), (0.0, 0.0), "random", "min", 4)
    assert short.auc(normalize=False) == pytest.approx(0.15)
    assert short.auc() == pytest.approx(0.75)
    assert curve.first_below(0.6) == 0.5
    assert curve.first_below(0.0) is None
    assert short.first_below(0.6) == 0.2
    table = summarize_curves({"lrp": curve, "random": short}, threshold=0.5)  # strictly below
    assert table.loc["lrp", "auc"] == pytest.approx(0.5)
    assert table.loc["lrp", "first_below"] == 1.0
    assert math.isnan(table.loc["random", "first_below"])
    assert table.loc["random", "accuracy_clean"] == 1.0
    assert len(curve.to_frame()) == 3


def test_curves_table_puts_the_curves_side_by_side_by_hand():
    lrp = FlippingCurve((0.0, 0.003, 0.01), (0, 1, 3), (1.0, 0.75, 0.25), (2.0, 1.0, -1.0),
                        "relevance", 0.0, 4)
    random = FlippingCurve((0.0, 0.01), (0, 3), (1.0, 0.5), (2.0, 1.5), "random", 0.0, 4)
    table = curves_table({"LRP order": lrp, "random order": random})
    assert table.index.name == "% of bins flipped"
    assert table.index.tolist() == [0.0, 0.3, 1.0]       # 100 * 0.003 = 0.30000000000000004
    assert table.columns.tolist() == ["LRP order", "random order"]
    assert table["LRP order"].tolist() == [1.0, 0.75, 0.25]
    assert table.loc[1.0, "random order"] == 0.5
    assert math.isnan(table.loc[0.3, "random order"])    # the random curve has no 0.3 % point
    assert curves_table({"LRP order": lrp}, metric="mean_logit")["LRP order"].tolist() == [2.0, 1.0, -1.0]
    with pytest.raises(ValueError, match="metric must be 'accuracy' or 'mean_logit'"):
        curves_table({"LRP order": lrp}, metric="auc")
    with pytest.raises(ValueError, match="non-empty mapping"):
        curves_table({})


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("change, error, match", [
    (lambda a: {**a, "relevance": a["relevance"][:, :, :4]}, ValueError, "relevance has shape"),
    (lambda a: {**a, "fractions": [0.0, 1.5]}, ValueError, r"fractions must lie in \[0, 1\]"),
    (lambda a: {**a, "fractions": [-0.1]}, ValueError, r"fractions must lie in \[0, 1\]"),
    (lambda a: {**a, "fractions": [float("nan")]}, ValueError, r"fractions must lie in \[0, 1\]"),
    (lambda a: {**a, "fractions": []}, ValueError, "fractions is empty"),
    (lambda a: {**a, "relevance": a["relevance"].index_fill(0, torch.tensor([0], device=a["x"].device), float("nan"))},
     ValueError, "relevance contains 64 non-finite"),
    (lambda a: {**a, "relevance": a["relevance"] * torch.inf}, ValueError, "non-finite"),
    (lambda a: {**a, "order": "lrp"}, ValueError, "order must be one of 'relevance', 'random'"),
    (lambda a: {**a, "baseline": "mean"}, ValueError, "baseline must be a number or one of"),
    (lambda a: {**a, "baseline": float("inf")}, ValueError, "baseline must be a finite number"),
    (lambda a: {**a, "y": a["y"][:-1]}, ValueError, r"y must have shape \(32,\)"),
    (lambda a: {**a, "y": a["y"].float()}, TypeError, "integer class indices"),
    (lambda a: {**a, "x": a["x"][:, 0, 0], "relevance": a["relevance"][:, 0, 0]}, ValueError,
     "x must be a batch of spectrograms"),
    (lambda a: {**a, "batch_size": 0}, ValueError, "batch_size must be a positive int"),
])
def test_bad_input_gives_clear_errors(setup, change, error, match):
    model, x, y, relevance = setup
    args = dict(model=model, x=x, y=y, relevance=relevance, fractions=[0.0, 0.1])
    with pytest.raises(error, match=match):
        pixel_flipping(**change(args))


def test_model_with_wrong_output_shape_is_reported(setup):
    _, x, y, relevance = setup
    with pytest.raises(ValueError, match=r"model must return \(batch, classes\) logits"):
        pixel_flipping(nn.Flatten(0), x, y, relevance, [0.0])


def test_inputs_without_a_channel_dimension(setup):
    model, x, y, relevance = setup   # the key-bin model flattens whatever it gets
    with_channel = pixel_flipping(model, x, y, relevance, [0.0, 3 / 64, 0.5], baseline="moore")
    without = pixel_flipping(model, x[:, 0], y, relevance[:, 0], [0.0, 3 / 64, 0.5],
                             baseline="moore")
    assert without.accuracy == with_channel.accuracy
    assert without.n_flipped == (0, 3, 32)


def test_profiles_name_the_same_baselines_as_pixel_flipping():
    from lrp_utils.evaluation import BASELINES
    from lrp_utils.profiles import FLIP_BASELINES

    assert set(FLIP_BASELINES) == set(BASELINES)


def test_flip_top_sets_exactly_the_top_bins_to_the_baseline():
    from lrp_utils.evaluation import flip_top

    x = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    relevance = torch.zeros_like(x)
    relevance[0, 0, 1, 2], relevance[0, 0, 3, 0] = 5.0, 4.0
    flipped = flip_top(x, relevance, 2 / 16, baseline=-1.0)
    expected = x.clone()
    expected[0, 0, 1, 2] = expected[0, 0, 3, 0] = -1.0
    assert torch.equal(flipped, expected) and x[0, 0, 1, 2] == 6.0
    assert torch.equal(flip_top(x, relevance, 1 / 16, "min")[0, 0, 1, 2], torch.tensor(0.0))
