"""load_corpus on every kind of source: the shared real corpora, recordings, unknown folders; and a
short end-to-end gender run on speechocean762 through the public API."""

import json

import pytest
import torch

from lrp_utils.data import CorpusError, corpus_kind, gender_datasets, gender_folds, load_corpus, speaker_datasets
from tests.conftest import require_shared_dataset


def test_audiomnist_sample_loads_with_the_real_meta_genders():
    root = require_shared_dataset("audiomnist-sample", "data/audioMNIST_meta.txt")
    meta = json.loads((root / "data" / "audioMNIST_meta.txt").read_text())
    assert sorted(s for s, fields in meta.items() if fields["gender"] == "female") == \
        ["12", "26", "28", "36", "43", "47", "52", "56", "57", "58", "59", "60"]
    recordings = load_corpus(root)
    assert corpus_kind(root) == "audiomnist" and load_corpus(root / "data") == recordings
    assert [(r.speaker, r.gender, r.digit, r.repetition) for r in recordings] == [
        ("01", "male", 0, 0), ("02", "male", 5, 10), ("08", "male", 2, 8), ("42", "male", 9, 10),
        ("51", "male", 3, 37), ("56", "female", 6, 49)]
    with pytest.raises(CorpusError, match="has 1 female and 5 male speakers"):
        gender_folds(recordings)


def test_speechocean_shared_by_folder_or_metadata_file():
    root = require_shared_dataset("speechocean762-adults", "metadata.csv")
    recordings = load_corpus(root)
    assert corpus_kind(root) == corpus_kind(root / "metadata.csv") == "speechocean762"
    assert load_corpus(root / "metadata.csv") == recordings
    assert (len(recordings), len({r.speaker for r in recordings})) == (2560, 128)
    folds = gender_folds(recordings, seed=0)
    for fold in folds:  # 56 men: 14 per group and gender; 16 of the 72 women are surplus
        assert [len({r.speaker for r in fold[n]}) for n in ("train", "validation", "test")] == [56, 28, 28]
        assert [len(fold[n]) for n in ("train", "validation", "test")] == [1120, 560, 560]


def test_fsdd_and_recordings_and_unknown_sources(data_fsdd_root, tmp_path):
    assert corpus_kind(data_fsdd_root) == "fsdd" and len(load_corpus(data_fsdd_root)) == 3000
    recordings = load_corpus(data_fsdd_root)[:20]
    assert load_corpus(list(reversed(recordings))) == recordings
    with pytest.raises(CorpusError, match="not a corpus this project knows.*manifest CSV"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="no such corpus folder or manifest"):
        load_corpus(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CorpusError, match="not a manifest CSV"):
        load_corpus(tmp_path / "notes.txt")
    with pytest.raises(CorpusError, match="non-empty sequence of Recording"):
        load_corpus([])


def test_speaker_datasets_split_speechocean_by_utterance(tmp_path):
    root = require_shared_dataset("speechocean762-adults", "metadata.csv")
    datasets, names = speaker_datasets(root, frames=50, cache_dir=tmp_path, limit_per_split=6, progress=False,
                                       workers=1)
    assert len(names) == 128 and [len(d) for d in datasets.values()] == [6, 6, 6]
    takes = {n: {r.repetition for r in d.recordings} for n, d in datasets.items()}
    assert takes["train"] <= set(range(16)) and takes["validation"] <= {16, 17} and takes["test"] <= {18, 19}


def test_end_to_end_gender_run_on_speechocean(tmp_path):
    """Becker spectrograms of a speaker-disjoint fold, a few Adam steps of the paper's AlexNet."""
    from lrp_utils.models import AlexNet

    root = require_shared_dataset("speechocean762-adults", "metadata.csv")
    datasets = gender_datasets(root, fold=2, seed=0, cache_dir=tmp_path, limit_per_split=8, progress=False,
                               workers=1)
    assert [len(d) for d in datasets.values()] == [8, 8, 8]
    speakers = {n: {r.speaker for r in d.recordings} for n, d in datasets.items()}
    assert not (speakers["train"] & speakers["test"] or speakers["validation"] & speakers["test"])
    fold = gender_folds(load_corpus(root), seed=0)[2]
    assert speakers["test"] <= {r.speaker for r in fold["test"]}
    x = torch.stack([datasets["train"][i][0] for i in range(8)])
    y = torch.stack([datasets["train"][i][1] for i in range(8)])
    assert x.shape == (8, 1, 227, 227) and sorted(y.tolist()) == [0] * 4 + [1] * 4
    torch.manual_seed(0)
    model = AlexNet().eval()  # no dropout: the loss of the eight training items must fall
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    losses = []
    for _ in range(8):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses  # the real spectrograms carry a learnable signal
