"""What a notebook run states (lrp_utils.report): its corpus and sizes, and how it names a recording."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from lrp_utils.report import recording_label


def test_recording_label_names_speaker_digit_and_repetition():
    recording = SimpleNamespace(path=Path("3_07_12.wav"), speaker="07", digit=3, repetition=12)
    assert recording_label(recording) == "speaker 07, digit 3, repetition 12"


def test_recording_label_leaves_out_a_missing_digit():
    recording = SimpleNamespace(path=Path("a.wav"), speaker="f01", digit=None, repetition=4)
    assert recording_label(recording) == "speaker f01, repetition 4"


def test_start_run_resolves_the_corpus_and_applies_its_sizes(tmp_path):
    from lrp_utils.data import synthesize_corpus
    from lrp_utils.report import start_run

    root = synthesize_corpus(tmp_path / "corpus", speakers=2, female=1, repetitions=1, seed=0, progress=False,
                             workers=1)
    sizes = {"synthetic": {"alexnet_epochs": 7}}
    run = start_run("smoke", data_dir=str(root), device="cpu", overrides={"corpus": "auto", "corpus_sizes": sizes})
    assert run.corpus.kind == "synthetic" and run.corpus.root == root
    assert run.profile.alexnet_epochs == 7
    header = run.header()
    assert "synthetic AudioMNIST-format corpus" in header and str(root) in header
    explicit = start_run("smoke", data_dir=str(root), device="cpu",
                         overrides={"corpus": "auto", "corpus_sizes": sizes, "alexnet_epochs": 2})
    assert explicit.profile.alexnet_epochs == 2
