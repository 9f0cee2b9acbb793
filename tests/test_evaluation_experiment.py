"""The section 4.3 experiment end to end on a tiny data set (train, augment, fine-tune three ways,
Table 1 with its controls), with the real LRP engine and lrp_utils.training."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from lrp_utils.evaluation import default_composite, explain_batched, flip_top, predict, run_augmentation_experiment
from lrp_utils.evaluation.augmentation import moore_augmented_dataset
from lrp_utils.evaluation.table import TABLE1_ROWS
from lrp_utils.training import load_checkpoint


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
    kwargs = dict(datasets=datasets, data_source="tiny-gender", artifacts_dir=tmp_path,  # the real LRP engine
                  progress=False, seeds=(0,), alexnet_epochs=1, finetune_epochs=1,
                  explain_batch_size=8, alexnet_batch_size=8,
                  flip_fractions=(0.0, 0.1))   # three forward passes per model, not five
    result = run_augmentation_experiment("smoke", **kwargs)
    table = result.table
    assert list(table.index) == list(TABLE1_ROWS) == ["AlexNet", "AlexNet_finetuned",
                                                      "AlexNet_random_augmented", "AlexNet_augmented"]
    assert list(table.columns[-2:]) == ["0 %", "0.5 %"]
    assert table["n_models"].tolist() == [1, 1, 1, 1]
    assert set(result.seconds) == {"train", "augment", "augment_random", "finetune",
                                   "finetune_clean", "finetune_random", "table"}
    cache = tmp_path / "smoke" / "cache" / "augmentation"
    assert len(list(cache.glob("relevance_augmented-*.pt"))) == 1
    assert len(list(cache.glob("random_augmented-*.pt"))) == 1
    rows = {"AlexNet": result.original, "AlexNet_finetuned": result.finetuned,
            "AlexNet_random_augmented": result.random_augmented,
            "AlexNet_augmented": result.augmented}

    # every fine-tuning starts from the same base model, with the same epochs and learning rate,
    # in a checkpoint of its own, on the training set it names: the clean one, the random-Moore
    # set of the seed, the relevance-Moore set of the base model
    base = load_checkpoint(result.original[0].checkpoint_path)
    tuned = {row: load_checkpoint(rows[row][0].checkpoint_path) for row in TABLE1_ROWS[1:]}
    assert len({str(rows[row][0].checkpoint_path) for row in TABLE1_ROWS}) == 4
    for row, checkpoint in tuned.items():
        assert checkpoint["config"]["init_from"] == base["fingerprint"]
        assert (checkpoint["config"]["epochs"], checkpoint["config"]["lr"]) == (1, 1e-5)
    assert [tuned[row]["config"]["data"]["finetune"].split("-")[0] for row in TABLE1_ROWS[1:]] \
        == ["clean", "random", "relevance"]
    x_train = datasets["train"].tensors[0]
    random_set = moore_augmented_dataset(datasets["train"], 0.005, "random", seed=0, cache_dir=cache)
    assert len(list(cache.glob("random_augmented-*.pt"))) == 1    # the experiment's, reloaded
    changed = (random_set.tensors[0] != x_train).flatten(1).sum(1)
    assert changed[0::2].tolist() == [258] * 4       # class 0: noise, every mean differs
    assert changed.max() <= 258                       # class 1: bins in the constant band may not

    # Table 1 against an independent evaluation of each model on the whole (4-item) test set:
    # plain predictions, and predictions on inputs flipped by flip_top with the model's own
    # relevance (258 of 51529 bins to the smoke baseline 0)
    x, y = datasets["test"].tensors
    for name, runs in rows.items():
        model = runs[0].model
        relevance = explain_batched(model, x, y, default_composite())
        flipped = flip_top(x, relevance, 0.005, baseline=0.0)
        assert table.loc[name, "clean_mean"] == float((predict(model, x) == y).float().mean())
        assert table.loc[name, "flipped_mean"] == float((predict(model, flipped) == y).float().mean())
        # Figure 6's curve is the one Table 1 was read from, over the profile's fractions; its
        # mean true-class logits (which, unlike 4 accuracies, any flipped bin moves) are those of
        # this model on x and on x flipped by its own relevance
        curve = result.curves[name][0]
        assert curve.fractions == (0.0, 0.005, 0.1)   # the profile's and the table's
        assert (curve.accuracy[0], curve.accuracy[1]) == (table.loc[name, "clean_mean"],
                                                          table.loc[name, "flipped_mean"])
        with torch.no_grad():
            logits = [float(model.eval()(v).gather(1, y[:, None]).mean()) for v in (x, flipped)]
        assert curve.mean_logit[:2] == pytest.approx(logits, rel=1e-4, abs=1e-5)
        assert curve.mean_logit[0] != pytest.approx(curve.mean_logit[1], rel=1e-4, abs=1e-5)

    # every fine-tuned model differs from the one it started from and from the others
    states = [rows[row][0].model.state_dict() for row in TABLE1_ROWS]
    for i, before in enumerate(states):
        for after in states[i + 1:]:
            assert any(not torch.equal(before[k], after[k]) for k in before)

    # a second run loads every checkpoint (none is rewritten) and gives the same table
    checkpoints = {p: p.stat().st_mtime_ns for p in (tmp_path / "smoke" / "models").rglob("*") if p.is_file()}
    assert checkpoints
    again = run_augmentation_experiment("smoke", **kwargs)
    assert again.table.equals(table)
    assert {p: p.stat().st_mtime_ns for p in checkpoints} == checkpoints
