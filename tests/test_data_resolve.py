"""Finding a profile's corpus: named kinds, paths, and what ``auto`` prefers (real voices first)."""

from pathlib import Path

import numpy as np
import pytest

from lrp_utils.data import CorpusError, FeatureDataset, corpus_version, ensure_corpus, resolve_corpus, write_wav
from lrp_utils.data import resolve as resolve_module
from lrp_utils.data.corpus import CorpusReport
from lrp_utils.profiles import get_profile
from tests.conftest import require_shared_dataset


def make_prepared_speechocean(root: Path) -> Path:
    """A prepared speechocean762 copy of two speakers (one of each gender), one FLAC each."""
    rows = ["file,speaker,gender,age"]
    for speaker, gender in (("0001", "female"), ("0002", "male")):
        write_wav(root / f"SPEAKER{speaker}" / "u1.flac", np.full(1600, 0.1), 16000, audio_format="FLAC")
        rows.append(f"SPEAKER{speaker}/u1.flac,{speaker},{gender},30")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def make_manifest(root: Path) -> Path:
    """A manifest of two WAV files, one speaker of each gender."""
    for name in ("a", "b"):
        write_wav(root / f"{name}.wav", np.full(800, 0.1), 8000)
    manifest = root / "corpus.csv"
    manifest.write_text("path,speaker,gender\na.wav,s1,female\nb.wav,s2,male\n")
    return manifest


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """The default homes of every corpus moved into ``tmp_path`` (empty), synthesis recorded
    instead of run; returns ``(tmp_path, synthesis calls)``."""
    monkeypatch.setattr(resolve_module, "AUDIOMNIST_HOME", tmp_path / "data" / "audiomnist")
    monkeypatch.setattr(resolve_module, "SPEECHOCEAN_HOME", tmp_path / "data" / "speechocean762")
    monkeypatch.setattr(resolve_module, "SPEECHOCEAN_SHARED", tmp_path / "shared" / "speechocean762-adults")
    monkeypatch.setattr(resolve_module, "ARTIFACTS_DIR", tmp_path / "artifacts")
    calls = []
    monkeypatch.setattr(resolve_module, "synthesize_corpus", lambda dest, **kw: calls.append((dest, kw)) or dest)
    return tmp_path, calls


def test_named_kinds_and_their_errors(homes, tmp_path):
    with pytest.raises(CorpusError, match="data_scripts.audiomnist"):
        ensure_corpus("audiomnist")
    with pytest.raises(CorpusError, match="60 speaker folders missing: 01, 02"):
        ensure_corpus("audiomnist", tmp_path)
    with pytest.raises(CorpusError, match="data_scripts.speechocean762"):
        ensure_corpus("speechocean762")
    with pytest.raises(CorpusError, match="no such corpus folder"):
        ensure_corpus(str(tmp_path / "timit"))
    with pytest.raises(ValueError, match="give the corpus once"):
        ensure_corpus(str(tmp_path), data_dir=tmp_path)
    _, calls = homes
    assert ensure_corpus("synthetic", tmp_path / "mine") == tmp_path / "mine"
    assert not calls[0][1]["replace"]  # a user's folder is never deleted
    assert ensure_corpus("synthetic", repetitions=3, seed=7) == tmp_path / "artifacts" / "data" / "synthetic-r3-s7"
    assert calls[1][1]["replace"] and calls[1][1]["repetitions"] == 3 and calls[1][1]["seed"] == 7


def test_auto_prefers_audiomnist_then_speechocean_then_synthetic(homes, monkeypatch):
    tmp_path, calls = homes
    # Nothing anywhere: the synthetic corpus in its default location.
    assert ensure_corpus("auto", repetitions=2, seed=5) == tmp_path / "artifacts" / "data" / "synthetic-r2-s5"
    # The shared copy of speechocean762 beats the synthetic corpus ...
    shared = make_prepared_speechocean(resolve_module.SPEECHOCEAN_SHARED)
    assert ensure_corpus("auto") == shared
    # ... a user's own download beats the shared copy ...
    own = make_prepared_speechocean(resolve_module.SPEECHOCEAN_HOME)
    assert ensure_corpus("auto") == own
    # ... and a complete AudioMNIST beats both (completeness is verify_audiomnist's to judge).
    home = resolve_module.AUDIOMNIST_HOME
    (home / "data").mkdir(parents=True)
    monkeypatch.setattr(resolve_module, "verify_audiomnist",
                        lambda root, **kw: CorpusReport(Path(root), problems=[] if Path(root) == home else ["missing"]))
    assert ensure_corpus("auto") == home
    assert len(calls) == 1


def test_auto_with_data_dir_takes_any_source(homes, tmp_path):
    manifest = make_manifest(tmp_path / "mine")
    assert ensure_corpus("auto", data_dir=manifest) == manifest
    with pytest.raises(CorpusError, match="not a corpus this project knows"):
        ensure_corpus("auto", data_dir=tmp_path / "mine" / "..")


def test_a_named_kind_checks_what_data_dir_holds(homes, tmp_path, data_fsdd_root):
    own = make_prepared_speechocean(tmp_path / "so")
    assert ensure_corpus("speechocean762", data_dir=own) == own
    with pytest.raises(CorpusError, match="no speechocean762 corpus at"):
        ensure_corpus("speechocean762", data_dir=data_fsdd_root)
    assert ensure_corpus("fsdd", data_fsdd_root) == data_fsdd_root
    with pytest.raises(CorpusError, match="data_scripts.fsdd"):
        ensure_corpus("fsdd", own)


def test_resolve_corpus_names_the_kind_and_versions_what_can_change(homes, tmp_path):
    manifest = make_manifest(tmp_path / "mine")
    profile = get_profile("cpu", corpus=str(manifest))
    resolved = resolve_corpus(profile, progress=False)
    assert resolved.kind == "manifest" and resolved.root == manifest
    before = resolved.version
    assert before is not None and len(before) == 12
    manifest.write_text(manifest.read_text().replace("s2,male", "s2,female"))
    assert corpus_version(manifest) != before  # another labelling: other models
    so = make_prepared_speechocean(tmp_path / "so")
    resolved = resolve_corpus(get_profile("cpu", data_dir=str(so)), progress=False)
    assert resolved.kind == "speechocean762" and resolved.version == corpus_version(so / "metadata.csv")
    assert corpus_version(tmp_path / "mine") is None  # a plain folder has no defining file


def test_profile_paths_are_checked_and_made_absolute(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="corpus must be one of auto, audiomnist, speechocean762"):
        get_profile("cpu", corpus="speechocean")  # a typo, not a path
    manifest = make_manifest(tmp_path)
    monkeypatch.chdir(tmp_path)
    profile = get_profile("cpu", corpus="corpus.csv", data_dir=None)
    assert profile.corpus == str(manifest)
    assert get_profile("cpu", data_dir="corpus.csv").data_dir == str(manifest)


def test_cpu_profile_resolves_to_the_shared_speechocean762_without_downloads(homes, monkeypatch):
    shared = require_shared_dataset("speechocean762-adults", "metadata.csv")
    monkeypatch.setattr(resolve_module, "SPEECHOCEAN_SHARED", shared)
    resolved = resolve_corpus(get_profile("cpu"), progress=False)
    assert resolved.root == shared and resolved.kind == "speechocean762"
    assert get_profile("smoke").corpus == "synthetic"  # nbval's profile stays synthetic


def _numbered(n: int) -> FeatureDataset:
    """A dataset whose item i has feature value i (so a subset shows which items it kept)."""
    return FeatureDataset(np.arange(n, dtype=np.float32).reshape(n, 1, 1), [i % 2 for i in range(n)])


def test_profile_datasets_pass_the_highpass_and_the_corpus_sizes(homes, tmp_path, monkeypatch):
    calls = {}
    monkeypatch.setattr(resolve_module, "gender_datasets", lambda root, **kw: calls.setdefault("gender", kw) and {
        "train": _numbered(10), "validation": _numbered(6), "test": _numbered(6)})
    monkeypatch.setattr(resolve_module, "speaker_datasets", lambda root, frames, **kw: (calls.setdefault(
        "speaker", dict(kw, frames=frames)), []))
    so = make_prepared_speechocean(tmp_path / "so")
    profile = get_profile("cpu", data_dir=str(so), highpass_hz=60,
                          corpus_sizes={"speechocean762": {"alexnet_train_limit": 4, "resnet_frames": 50,
                                                             "resnet_train_windows": 3}})
    splits = resolve_module.profile_datasets(profile, "alexnet", progress=False)
    assert calls["gender"]["highpass_hz"] == 60 and len(splits["train"]) == 4
    assert len(splits["validation"]) == len(splits["test"]) == 6  # alexnet_eval_limit None: all
    resolve_module.profile_datasets(profile, "resnet", progress=False)
    assert calls["speaker"]["highpass_hz"] == 60 and calls["speaker"]["frames"] == 50
    assert calls["speaker"]["train_windows"] == 3


def test_profile_datasets_cut_validation_and_test_to_the_eval_limit(homes, tmp_path, monkeypatch):
    monkeypatch.setattr(resolve_module, "gender_datasets", lambda root, **kw: {
        "train": _numbered(40), "validation": _numbered(30), "test": _numbered(30)})
    corpus = resolve_module.ResolvedCorpus(tmp_path, "synthetic")
    profile = get_profile("cpu", alexnet_train_limit=20, alexnet_eval_limit=12)

    def kept(splits):
        return {name: [int(x) for x in split.features.ravel()] for name, split in splits.items()}

    first = kept(resolve_module.profile_datasets(profile, "alexnet", corpus, progress=False))
    assert {name: len(items) for name, items in first.items()} == {"train": 20, "validation": 12, "test": 12}
    assert all(items == sorted(set(items)) for items in first.values())  # distinct, in their original order
    assert first["validation"] != first["test"]  # each split draws its own subset
    assert kept(resolve_module.profile_datasets(profile, "alexnet", corpus, progress=False)) == first
    other_seed = kept(resolve_module.profile_datasets(profile.with_overrides(seed=1), "alexnet", corpus, progress=False))
    assert other_seed["test"] != first["test"]
