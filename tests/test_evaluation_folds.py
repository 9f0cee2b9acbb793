"""fold_accuracies: one gender AlexNet per fold, each tested on its own fold's speakers."""

from types import SimpleNamespace

import pytest
from torch import nn

import lrp_utils.evaluation.folds as folds_module
from lrp_utils.data import ResolvedCorpus
from lrp_utils.evaluation import fold_accuracies
from lrp_utils.profiles import get_profile


class _Split:
    """A dataset stand-in: the recordings of a split (two women and one man per fold)."""

    def __init__(self, fold: int, split: str):
        self.recordings = [SimpleNamespace(speaker=f"{split}{fold}-{i}", gender=g)
                           for i, g in enumerate(("female", "female", "male"))]

    def __len__(self):
        return len(self.recordings)


def test_each_fold_trains_its_own_model_and_tests_on_its_own_speakers(tmp_path, monkeypatch):
    trained, tested = [], []
    monkeypatch.setattr(folds_module, "ensure_trained",
                        lambda profile, architecture, progress: trained.append((profile.fold, architecture))
                        or SimpleNamespace(model=nn.Linear(1, 1), fold=profile.fold))
    monkeypatch.setattr(folds_module, "profile_datasets",
                        lambda profile, architecture, corpus, progress: {
                            split: _Split(profile.fold, split) for split in ("train", "validation", "test")})
    monkeypatch.setattr(folds_module, "evaluate",
                        lambda model, dataset, batch_size, device: tested.append(dataset.recordings[0].speaker)
                        or {"accuracy": 0.5 + 0.1 * len(tested)})
    corpus = ResolvedCorpus(tmp_path, "speechocean762")
    table = fold_accuracies(get_profile("smoke", folds=(2, 0)), corpus)
    assert trained == [(2, "alexnet"), (0, "alexnet")]
    assert tested == ["test2-0", "test0-0"]  # each model on its own fold's test speakers
    assert list(table.index) == [2, 0] and table.index.name == "fold"
    assert table.loc[2, "test speakers (F / M)"] == "2 / 1" and table.loc[0, "test recordings"] == 3
    assert table["test accuracy"].tolist() == pytest.approx([0.6, 0.7])
    assert list(fold_accuracies(get_profile("smoke"), corpus, folds=[1]).index) == [1]
