"""Relevance-guided augmentation (paper section 4.3) and its random-bin control: Moore means by
hand, the augmented data sets and their cache."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from lrp_utils.evaluation import moore_augment, moore_mean, relevance_augmented_dataset
from lrp_utils.evaluation.augmentation import moore_augmented_dataset

GRID = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
# Neighbour sums / counts, written out by hand for GRID.
GRID_MOORE = [[8 / 3, 14 / 5, 10 / 3],     # corner (1+3+4), edge (0+2+3+4+5), corner (1+4+5)
              [18 / 5, 32 / 8, 22 / 5],    # edge (0+1+4+6+7), centre (all but 4), edge (1+2+4+7+8)
              [14 / 3, 26 / 5, 16 / 3]]    # corner (3+4+7), edge (3+4+5+6+8), corner (4+5+7)


def slow_moore_mean(x: torch.Tensor) -> torch.Tensor:
    """Reference: a Python loop over bins and their existing neighbours."""
    out = torch.empty_like(x)
    height, width = x.shape[-2:]
    for i in range(height):
        for j in range(width):
            values = [x[..., k, l] for k in range(i - 1, i + 2) for l in range(j - 1, j + 2)
                      if (k, l) != (i, j) and 0 <= k < height and 0 <= l < width]
            out[..., i, j] = sum(values) / len(values)
    return out


# --- the Moore mean ------------------------------------------------------------------------------

def test_moore_mean_corners_edges_and_centre_by_hand(eval_device):
    x = torch.tensor([[GRID]], device=eval_device)
    result = moore_mean(x)
    assert result.shape == x.shape and result.device == x.device
    assert result.flatten().tolist() == pytest.approx([v for row in GRID_MOORE for v in row])


def test_moore_mean_of_a_single_row_uses_left_and_right_only(eval_device):
    x = torch.tensor([[1.0, 2.0, 4.0]], device=eval_device)
    assert moore_mean(x).flatten().tolist() == pytest.approx([2.0, 2.5, 2.0])


@pytest.mark.parametrize("shape", [(2, 1, 4, 5), (3, 2, 5, 4), (1, 2, 7)])
def test_moore_mean_matches_a_slow_reference(eval_device, shape):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1)).to(eval_device)
    assert torch.allclose(moore_mean(x), slow_moore_mean(x), atol=1e-6)


def test_moore_mean_needs_two_bins():
    with pytest.raises(ValueError, match="at least 2 bins"):
        moore_mean(torch.zeros(3, 1, 1, 1))


# --- moore_augment ------------------------------------------------------------------------------

def test_adjacent_selected_bins_use_original_values(eval_device):
    x = torch.tensor([[GRID]], device=eval_device)
    relevance = torch.zeros_like(x)
    relevance[0, 0, 0, 0], relevance[0, 0, 0, 1] = 2.0, 1.0  # k = floor(2/9 * 9 + 1/2) = 2
    result = moore_augment(x, relevance, fraction=2 / 9)
    expected = [[8 / 3, 14 / 5, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
    # (0, 0) sees the original 1 at (0, 1), not 14/5; (0, 1) sees the original 0 at (0, 0)
    assert result.flatten().tolist() == pytest.approx([v for row in expected for v in row])
    assert x.flatten().tolist() == [v for row in GRID for v in row]  # input untouched


def test_each_sample_gets_its_own_top_bins(eval_device):
    x = torch.tensor([[GRID], [GRID]], device=eval_device)           # (2, 1, 3, 3)
    relevance = torch.zeros_like(x)
    relevance[0, 0, 2, 2] = 1.0   # corner
    relevance[1, 0, 1, 0] = 1.0   # edge
    relevance[1, 0, 1, 1] = 5.0   # centre, ranked first
    result = moore_augment(x, relevance, fraction=0.2)  # k = floor(1.8 + 0.5) = 2
    first = [row[:] for row in GRID]
    first[2][2] = 16 / 3
    first[0][0] = 8 / 3      # tie among the zeros -> lowest row-major index
    second = [row[:] for row in GRID]
    second[1][1] = 4.0
    second[1][0] = 18 / 5
    assert result[0, 0].flatten().tolist() == pytest.approx([v for row in first for v in row])
    assert result[1, 0].flatten().tolist() == pytest.approx([v for row in second for v in row])


def test_fraction_zero_and_one(eval_device):
    x = torch.randn(2, 1, 4, 6, generator=torch.Generator().manual_seed(0)).to(eval_device)
    relevance = torch.randn(2, 1, 4, 6, generator=torch.Generator().manual_seed(1)).to(eval_device)
    assert torch.equal(moore_augment(x, relevance, 0.0), x)
    assert torch.equal(moore_augment(x, relevance, 1.0), moore_mean(x))
    unchanged = moore_augment(x, relevance, 0.005)   # k = floor(0.005 * 24 + 0.5) = 0
    assert torch.equal(unchanged, x)
    changed = moore_augment(x, relevance, 0.1) != x   # k = floor(2.4 + 0.5) = 2
    assert changed.flatten(1).sum(1).tolist() == [2, 2]


def test_paper_fraction_on_a_becker_sized_spectrogram_changes_258_bins(eval_device):
    x = torch.randn(2, 1, 227, 227, generator=torch.Generator().manual_seed(0)).to(eval_device)
    relevance = torch.rand(2, 1, 227, 227, generator=torch.Generator().manual_seed(1)).to(eval_device)
    changed = moore_augment(x, relevance) != x
    assert changed.flatten(1).sum(1).tolist() == [258, 258]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"relevance": torch.zeros(2, 1, 3, 4)}, ValueError, "relevance has shape"),
    ({"relevance": torch.full((2, 1, 3, 3), float("nan"))}, ValueError, "non-finite"),
    ({"fraction": 1.01}, ValueError, r"fraction must lie in \[0, 1\]"),
    ({"fraction": -0.5}, ValueError, r"fraction must lie in \[0, 1\]"),
    ({"x": torch.zeros(3, 3), "relevance": torch.zeros(3, 3)}, ValueError, "batch of spectrograms"),
])
def test_moore_augment_bad_input(kwargs, error, match):
    args = {"x": torch.zeros(2, 1, 3, 3), "relevance": torch.zeros(2, 1, 3, 3), "fraction": 0.1}
    with pytest.raises(error, match=match):
        moore_augment(**{**args, **kwargs})


# --- moore_augment with random bins ---------------------------------------------------------------

def test_random_bins_are_k_per_sample_and_get_their_moore_mean(eval_device):
    x = torch.randn(3, 1, 5, 6, generator=torch.Generator().manual_seed(0)).to(eval_device)
    generator = torch.Generator(device=eval_device).manual_seed(0)
    result = moore_augment(x, x, fraction=0.1, order="random", generator=generator)  # k = 3
    changed = result != x
    assert changed.flatten(1).sum(1).tolist() == [3, 3, 3]
    assert torch.equal(result[changed], moore_mean(x)[changed])
    assert len({tuple(c.flatten().nonzero().flatten().tolist()) for c in changed}) > 1  # per sample


def test_random_bins_ignore_the_relevance_values_and_follow_the_seed():
    x = torch.randn(4, 1, 6, 6, generator=torch.Generator().manual_seed(0))

    def augment(relevance, seed):
        return moore_augment(x, relevance, 0.25, "random", torch.Generator().manual_seed(seed))

    assert torch.equal(augment(torch.zeros_like(x), 3), augment(torch.randn_like(x), 3))
    assert not torch.equal(augment(x, 3), augment(x, 4))
    relevant = moore_augment(x, x, 0.25)             # the 9 largest bins of each sample
    assert not torch.equal(augment(x, 3), relevant)


def test_random_bins_are_uniform():
    # 3000 samples of 3x3, k = floor(3/9 * 9 + 1/2) = 3 bins each: every bin is chosen with
    # probability 1/3, i.e. 1000 +- 26 (binomial sd) times; 5 sd margins, a fixed seed
    x = torch.randn(3000, 1, 3, 3, generator=torch.Generator().manual_seed(1))
    result = moore_augment(x, x, 3 / 9, "random", torch.Generator().manual_seed(2))
    counts = (result != x).sum(0).flatten()
    assert counts.sum() == 9000
    assert ((counts - 1000).abs() < 130).all(), counts.tolist()


def test_moore_augment_bad_order():
    x = torch.zeros(2, 1, 3, 3)
    with pytest.raises(ValueError, match="order must be one of 'relevance', 'random'"):
        moore_augment(x, x, 0.1, order="largest")


# --- the augmented data set ----------------------------------------------------------------------

KEY_BINS = [(0, 0), (2, 3), (5, 5)]


@pytest.fixture
def trained(eval_device, eval_key_bin_model, eval_key_bin_data):
    model = eval_key_bin_model(KEY_BINS, 6, 6).to(eval_device)
    x, y = eval_key_bin_data(10, KEY_BINS, 6, 6)
    return model, TensorDataset(x, y)   # the data set stays on the CPU, as a loader serves it


def counting(explain):
    def wrapped(*args):
        wrapped.calls += 1
        return explain(*args)
    wrapped.calls = 0
    return wrapped


def test_augmented_dataset_is_moore_augment_of_each_batch(trained, eval_grad_x_input):
    model, dataset = trained
    x, y = dataset.tensors
    augmented = relevance_augmented_dataset(model, dataset, fraction=3 / 36, batch_size=4,
                                            explain_fn=eval_grad_x_input)
    expected = moore_augment(x, eval_grad_x_input(model.cpu(), x, y), 3 / 36)
    assert len(augmented) == len(dataset)
    assert torch.allclose(augmented.tensors[0], expected)
    assert torch.equal(augmented.tensors[1], y)
    changed = augmented.tensors[0] != x
    assert changed.flatten(1).sum(1).tolist() == [3] * 10        # exactly the key bins
    assert changed[:, 0, 0, 0].all() and changed[:, 0, 2, 3].all() and changed[:, 0, 5, 5].all()
    x_aug, label = augmented[3]
    assert x_aug.shape == (1, 6, 6) and label.item() == 1


def test_augmented_dataset_is_cached_by_model_and_parameters(trained, eval_grad_x_input, tmp_path):
    model, dataset = trained
    explain = counting(eval_grad_x_input)
    first = relevance_augmented_dataset(model, dataset, fraction=0.1, batch_size=4,
                                        cache_dir=tmp_path, explain_fn=explain)
    assert explain.calls == 3 and len(list(tmp_path.glob("relevance_augmented-*.pt"))) == 1
    again = relevance_augmented_dataset(model, dataset, fraction=0.1, batch_size=5,
                                        cache_dir=tmp_path, explain_fn=explain)
    assert explain.calls == 3                                   # loaded, not explained
    assert torch.equal(again.tensors[0], first.tensors[0])
    relevance_augmented_dataset(model, dataset, fraction=0.2, batch_size=4, cache_dir=tmp_path,
                                explain_fn=explain)
    assert explain.calls == 6                                   # another fraction, another file
    with torch.no_grad():
        model[1].weight.mul_(2.0)
    relevance_augmented_dataset(model, dataset, fraction=0.1, batch_size=4, cache_dir=tmp_path,
                                explain_fn=explain)
    assert explain.calls == 9                                   # other weights, another file
    assert len(list(tmp_path.glob("relevance_augmented-*.pt"))) == 3
    assert not list(tmp_path.glob(".*tmp"))                     # atomic writes leave no debris


def test_augmented_dataset_restores_training_mode(trained, eval_grad_x_input):
    model, dataset = trained
    model.train()
    relevance_augmented_dataset(model, dataset, fraction=0.1, explain_fn=eval_grad_x_input)
    assert model.training


def test_augmented_dataset_rejects_bad_explanations(trained):
    model, dataset = trained
    with pytest.raises(ValueError, match="explain_fn returned relevance of shape"):
        relevance_augmented_dataset(model, dataset, explain_fn=lambda m, x, t, c: x[:, 0])
    with pytest.raises(ValueError, match="non-finite"):
        relevance_augmented_dataset(model, dataset,
                                    explain_fn=lambda m, x, t, c: torch.full_like(x, torch.nan))
    with pytest.raises(ValueError, match=r"fraction must lie in \[0, 1\]"):
        relevance_augmented_dataset(model, dataset, fraction=5.0, explain_fn=lambda *a: None)


# --- the random-bin data set (the control) ---------------------------------------------------------

def test_random_dataset_is_seeded_per_sample_and_independent_of_the_batch_size(trained):
    _, dataset = trained
    x, y = dataset.tensors
    first = moore_augmented_dataset(dataset, 3 / 36, "random", seed=5, batch_size=4)
    again = moore_augmented_dataset(dataset, 3 / 36, "random", seed=5, batch_size=3)
    other = moore_augmented_dataset(dataset, 3 / 36, "random", seed=6, batch_size=4)
    assert torch.equal(first.tensors[0], again.tensors[0])
    assert not torch.equal(first.tensors[0], other.tensors[0])
    assert torch.equal(first.tensors[1], y)
    changed = first.tensors[0] != x
    assert changed.flatten(1).sum(1).tolist() == [3] * 10     # k = floor(3 + 1/2) bins each
    assert torch.equal(first.tensors[0][changed], moore_mean(x)[changed])
    # the same bins as moore_augment draws from one generator seeded alike
    expected = moore_augment(x, x, 3 / 36, "random", torch.Generator().manual_seed(5))
    assert torch.equal(first.tensors[0], expected)
    # larger spectrograms too (the CPU generator's stream does not depend on the batching)
    larger = TensorDataset(torch.randn(7, 1, 40, 40, generator=torch.Generator().manual_seed(0)),
                           torch.zeros(7, dtype=torch.long))
    assert torch.equal(moore_augmented_dataset(larger, 0.01, "random", batch_size=2).tensors[0],
                       moore_augmented_dataset(larger, 0.01, "random", batch_size=7).tensors[0])


def test_relevance_order_is_relevance_augmented_dataset(trained, eval_grad_x_input):
    model, dataset = trained
    general = moore_augmented_dataset(dataset, 3 / 36, model=model, explain_fn=eval_grad_x_input)
    paper = relevance_augmented_dataset(model, dataset, fraction=3 / 36, explain_fn=eval_grad_x_input)
    assert torch.equal(general.tensors[0], paper.tensors[0])
    random = moore_augmented_dataset(dataset, 3 / 36, "random")
    assert not torch.equal(random.tensors[0], paper.tensors[0])


def test_random_dataset_is_cached_by_seed_and_fraction(trained, tmp_path, monkeypatch):
    _, dataset = trained
    first = moore_augmented_dataset(dataset, 0.1, "random", seed=1, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("random_augmented-*.pt"))) == 1
    monkeypatch.setattr("lrp_utils.evaluation.augmentation.moore_augment",
                        lambda *a: pytest.fail("augmented again instead of loading"))
    again = moore_augmented_dataset(dataset, 0.1, "random", seed=1, batch_size=3, cache_dir=tmp_path)
    assert torch.equal(again.tensors[0], first.tensors[0])
    monkeypatch.undo()
    moore_augmented_dataset(dataset, 0.1, "random", seed=2, cache_dir=tmp_path)
    moore_augmented_dataset(dataset, 0.2, "random", seed=1, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("random_augmented-*.pt"))) == 3
    assert not list(tmp_path.glob("relevance_augmented-*.pt"))


@pytest.mark.parametrize("kwargs, match", [
    ({"order": "relevance"}, "needs the trained model"),
    ({"order": "random", "model": "a model"}, "uses no relevance"),
    ({"order": "random", "explain_fn": lambda *a: None}, "uses no relevance"),
    ({"order": "random", "seed": -1}, "seed must be a non-negative int"),
    ({"order": "random", "seed": 1.5}, "seed must be a non-negative int"),
    ({"order": "sorted"}, "order must be one of"),
])
def test_moore_augmented_dataset_bad_arguments(trained, kwargs, match):
    _, dataset = trained
    with pytest.raises(ValueError, match=match):
        moore_augmented_dataset(dataset, 0.1, **kwargs)
