"""Shared pytest fixtures.  Fixtures of the evaluation tests are prefixed ``eval_``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn


# --- lrp_utils.evaluation -------------------------------------------------------------------

@pytest.fixture(params=["cpu", "cuda"])
def eval_device(request) -> torch.device:
    """Every evaluation test runs on the CPU and, where a GPU exists, on CUDA."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    return torch.device(request.param)


def _eval_key_bin_model(key_bins: list[tuple[int, int]], height: int, width: int) -> nn.Module:
    """Bias-free linear classifier on (N, 1, H, W): logits = [s, -s], s = sum of x at key_bins."""
    mask = torch.zeros(height, width)
    for i, j in key_bins:
        mask[i, j] = 1.0
    linear = nn.Linear(height * width, 2, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.stack([mask.flatten(), -mask.flatten()]))
    return nn.Sequential(nn.Flatten(), linear)


@pytest.fixture
def eval_key_bin_model():
    """Factory: ``eval_key_bin_model(key_bins, H, W)`` -- a model whose decision depends only on
    the sign of the sum of the input at ``key_bins`` (class 0 if positive, else 1)."""
    return _eval_key_bin_model


@pytest.fixture
def eval_key_bin_data():
    """Factory: ``eval_key_bin_data(n, key_bins, H, W, seed)`` -> ``(x, y)`` with balanced labels;
    the key bins hold +1 (class 0) or -1 (class 1), every other bin uniform noise in [-0.5, 0.5]."""
    def make(n: int, key_bins: list[tuple[int, int]], height: int, width: int, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        x = torch.rand((n, 1, height, width), generator=generator) - 0.5
        y = torch.arange(n) % 2
        sign = 1.0 - 2.0 * y.float()
        for i, j in key_bins:
            x[:, 0, i, j] = sign
        return x, y
    return make


@pytest.fixture
def eval_grad_x_input():
    """A stand-in for ``lrp_utils.lrp.explain``: gradient x input of the target logit (equal to
    LRP-0 for a bias-free linear model)."""
    def explain(model: nn.Module, x: torch.Tensor, target: torch.Tensor, composite=None):
        x = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            model(x).gather(1, target[:, None]).sum().backward()
        return (x.grad * x).detach()
    return explain


# --- lrp_utils.models / lrp_utils.training ----------------------------------------------------

@pytest.fixture
def models_tiny_datasets():
    """Train/validation/test TensorDatasets of 1x16x12 inputs, 3 classes, separable by the mean
    of a class-specific band (so a tiny ResNet learns it in a few epochs)."""
    from torch.utils.data import TensorDataset

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(60, 1, 16, 12, generator=generator)
    y = torch.arange(60) % 3
    for label in range(3):
        x[y == label, :, 5 * label: 5 * label + 5] += 2.0
    return {"train": TensorDataset(x[:36], y[:36]),
            "validation": TensorDataset(x[36:48], y[36:48]),
            "test": TensorDataset(x[48:], y[48:])}


@pytest.fixture
def models_tiny_config():
    """Factory of a TrainConfig for a tiny SpeakerResNet (width 2, one block per stage)."""
    from lrp_utils.training import TrainConfig

    def make(**changes):
        fields = dict(architecture="resnet", epochs=3, batch_size=8, lr=1e-2, seed=0,
                      model_kwargs={"base_width": 2, "layers": [1, 1, 1, 1]}, profile="test",
                      tag="tiny", device="cpu", num_threads=1)
        fields.update(changes)
        return TrainConfig(**fields)
    return make


# --- lrp_utils.data ---------------------------------------------------------------------------

#: CI clones the repository next to a read-only copy of ``shared/``; the real recordings live there.
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def missing_prerequisite(message: str) -> None:
    """A test's prerequisite is missing: fail on CI (``CI`` set: CI provides everything, so its
    absence is a broken setup), skip elsewhere with ``message`` saying what to do."""
    if os.environ.get("CI"):
        pytest.fail(message + " (required on CI)")
    pytest.skip(message)


def require_shared_dataset(name: str, marker: str) -> Path:
    """``shared/datasets/<name>`` beside the repository, checked by its file or folder ``marker``.

    Where it is missing the test fails on CI (``CI`` set: CI always provides it, so its absence
    is a broken setup) and is skipped elsewhere with a message saying where the data goes.
    """
    root = SHARED_DATASETS / name
    if not (root / marker).exists():
        missing_prerequisite(f"the shared dataset {name!r} is missing: expected {root / marker} (a copy of "
                             f"the project's shared/ folder beside the repository; see shared/datasets/README.md)")
    return root


@pytest.fixture(scope="session")
def data_fsdd_root() -> Path:
    """The shared copy of the Free Spoken Digit Dataset (see :func:`require_shared_dataset`)."""
    return require_shared_dataset("fsdd", "recordings")


@pytest.fixture(scope="session")
def data_synthetic_60(tmp_path_factory):
    """A synthetic AudioMNIST-format corpus: 60 speakers (AudioMNIST's 12 women), 1 repetition."""
    from lrp_utils.data import synthesize_corpus

    return synthesize_corpus(tmp_path_factory.mktemp("synthetic60"), speakers=60, female=12, repetitions=1,
                             seed=0, progress=False)


@pytest.fixture(scope="session")
def data_synthetic_small(tmp_path_factory):
    """A small synthetic corpus: 4 speakers (2 female: ids 3 and 4), 5 repetitions, 16 kHz."""
    from lrp_utils.data import synthesize_corpus

    return synthesize_corpus(tmp_path_factory.mktemp("synthetic4"), speakers=4, female=2, repetitions=5,
                             sample_rate=16000, seed=1, progress=False, workers=1)
