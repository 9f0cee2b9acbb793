"""The section 4.3 experiment end to end on a tiny data set (train, augment, fine-tune, Table 1),
with the real LRP engine and lrp_utils.training."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from lrp_utils.evaluation import run_augmentation_experiment


def tiny_gender_data(n: int, seed: int) -> TensorDataset:
    """Becker-sized spectrograms; class 1 has a loud band (0 dB) across frequency bins 100-119."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 1, 227, 227), generator=generator) * -80.0
    y = torch.arange(n) % 2
    x[y == 1, :, 100:120, :] = 0.0
    return TensorDataset(x, y)


@pytest.mark.slow
def test_run_augmentation_experiment_end_to_end(tmp_path):
    datasets = {"train": tiny_gender_data(8, 0), "validation": tiny_gender_data(4, 1),
                "test": tiny_gender_data(4, 2)}
    kwargs = dict(datasets=datasets, artifacts_dir=tmp_path,  # the real LRP engine
                  progress=False, seeds=(0,), alexnet_epochs=1, finetune_epochs=1,
                  explain_batch_size=8, alexnet_batch_size=8)
    result = run_augmentation_experiment("smoke", **kwargs)
    table = result.table
    assert list(table.index) == ["AlexNet", "AlexNet_augmented"]
    assert list(table.columns[-2:]) == ["0 %", "0.5 %"]
    assert table["n_models"].tolist() == [1, 1]
    assert table[["clean_mean", "flipped_mean"]].isin([0.0, 0.25, 0.5, 0.75, 1.0]).all().all()
    assert set(result.seconds) == {"train", "augment", "finetune", "table"}
    assert len(list((tmp_path / "smoke" / "cache" / "augmentation").glob("*.pt"))) == 1
    # a fine-tuned model differs from the one it started from
    before = result.original[0].model.state_dict()
    after = result.augmented[0].model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # a second run loads everything instead of training again
    again = run_augmentation_experiment("smoke", **kwargs)
    assert again.table.equals(table)
    assert again.seconds["train"] < result.seconds["train"]
