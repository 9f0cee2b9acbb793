"""Tests of lrp_utils.training (with lrp_utils.seeding and lrp_utils.devices)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

import lrp_utils.data.resolve
import lrp_utils.training.ensure
from lrp_utils import devices
from lrp_utils.data import ResolvedCorpus, corpus_version, ensure_corpus, resolve_corpus
from lrp_utils.devices import resolve_device
from lrp_utils.profiles import get_profile
from lrp_utils.seeding import derive_seed
from lrp_utils.training import (CALLER_PROVIDED, CheckpointError, TrainConfig, checkpoint_path,
                                ensure_trained, evaluate, finetune, history_path, load_checkpoint,
                                load_trained, model_config, model_from_checkpoint, train)


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _metrics(history: list[dict]) -> list:
    return [(r["epoch"], r["train"], r["validation"]) for r in history]


class _Untouchable(Dataset):
    """A dataset that fails when read: proves that nothing was trained."""

    def __len__(self):
        return 10

    def __getitem__(self, index):
        raise AssertionError("the data was read although a finished checkpoint exists")


# --- training, selection, history -------------------------------------------------------------

def test_training_learns_and_writes_history(tmp_path, models_tiny_datasets, models_tiny_config):
    config = models_tiny_config(epochs=4)
    result = train(config, models_tiny_datasets, tmp_path / "run.pt", progress=False)
    assert result.completed and len(result.history) == 4
    assert result.history[-1]["train"]["loss"] < result.history[0]["train"]["loss"]
    assert result.test_metrics["accuracy"] > 1 / 3  # beats chance on held-out data
    # model selection on validation accuracy (ties: lower loss)
    keys = [(r["validation"]["accuracy"], -r["validation"]["loss"]) for r in result.history]
    assert result.best_epoch == keys.index(max(keys))
    assert _same_state(result.model.state_dict(), load_checkpoint(tmp_path / "run.pt")["model_state"])
    record = json.loads(history_path(tmp_path / "run.pt").read_text())
    assert record["completed"] and len(record["history"]) == 4
    assert record["best_epoch"] == result.best_epoch + 1
    assert record["fingerprint"] == config.fingerprint()


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, models_tiny_datasets,
                                                         models_tiny_config):
    a = train(models_tiny_config(epochs=2), models_tiny_datasets, tmp_path / "a.pt", progress=False)
    b = train(models_tiny_config(epochs=2), models_tiny_datasets, tmp_path / "b.pt", progress=False)
    c = train(models_tiny_config(epochs=2, seed=1), models_tiny_datasets, tmp_path / "c.pt",
              progress=False)
    assert _same_state(a.last_state, b.last_state)
    assert _metrics(a.history) == _metrics(b.history)
    assert not _same_state(a.last_state, c.last_state)


class _Interrupt(Exception):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, models_tiny_datasets,
                                                       models_tiny_config):
    config = models_tiny_config(epochs=3)
    full = train(config, models_tiny_datasets, tmp_path / "full.pt", progress=False)

    def interrupt(epoch, record):
        if epoch == 1:
            raise _Interrupt
    with pytest.raises(_Interrupt):
        train(config, models_tiny_datasets, tmp_path / "cut.pt", on_epoch_end=interrupt,
              progress=False)
    partial = load_checkpoint(tmp_path / "cut.pt")
    assert not partial["completed"] and partial["epoch"] == 1
    torch.manual_seed(1234)  # disturb the global generators between the two runs
    resumed = train(config, models_tiny_datasets, tmp_path / "cut.pt", progress=False)
    assert resumed.completed
    assert _same_state(full.last_state, resumed.last_state)
    assert _same_state(full.model.state_dict(), resumed.model.state_dict())
    assert _metrics(full.history) == _metrics(resumed.history)
    assert full.best_epoch == resumed.best_epoch


def test_stop_after_epochs_then_resume(tmp_path, models_tiny_datasets, models_tiny_config):
    config = models_tiny_config(epochs=2)
    full = train(config, models_tiny_datasets, tmp_path / "full.pt", progress=False)
    first = train(config, models_tiny_datasets, tmp_path / "cut.pt", stop_after_epochs=1,
                  progress=False)
    assert not first.completed and len(first.history) == 1
    with pytest.raises(CheckpointError, match="unfinished"):
        load_trained(config, tmp_path / "cut.pt")
    resumed = train(config, models_tiny_datasets, tmp_path / "cut.pt", progress=False)
    assert _same_state(full.last_state, resumed.last_state)


def test_finished_checkpoint_is_loaded_not_retrained(tmp_path, models_tiny_datasets,
                                                     models_tiny_config):
    config = models_tiny_config(epochs=1)
    first = train(config, models_tiny_datasets, tmp_path / "run.pt", progress=False)
    again = train(config, {"train": _Untouchable(), "validation": _Untouchable()},
                  tmp_path / "run.pt", progress=False)
    assert again.completed and again.last_state is None
    assert _same_state(first.model.state_dict(), again.model.state_dict())
    assert again.test_metrics == first.test_metrics
    assert not again.model.training


def test_evaluate_counts_correct_predictions(models_tiny_datasets, models_tiny_config, tmp_path):
    result = train(models_tiny_config(epochs=1), models_tiny_datasets, tmp_path / "r.pt",
                   progress=False)
    data = models_tiny_datasets["test"]
    metrics = evaluate(result.model, data, batch_size=5)
    with torch.no_grad():
        logits = result.model(data.tensors[0])
    assert metrics["n"] == len(data)
    assert metrics["accuracy"] == pytest.approx(float((logits.argmax(1) == data.tensors[1]).float().mean()))
    assert metrics["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, data.tensors[1])),
                                            rel=1e-5)


# --- bad input --------------------------------------------------------------------------------

def test_corrupt_checkpoint_is_a_clear_error_and_left_untouched(tmp_path, models_tiny_datasets,
                                                                models_tiny_config):
    path = tmp_path / "run.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        train(models_tiny_config(), models_tiny_datasets, path, progress=False)
    assert path.read_bytes() == b"not a checkpoint at all"
    torch.save({"some": "dict"}, path)
    with pytest.raises(CheckpointError, match="not a speech-lrp checkpoint"):
        load_checkpoint(path)


def test_truncated_checkpoint_is_a_clear_error(tmp_path, models_tiny_datasets, models_tiny_config):
    path = tmp_path / "run.pt"
    train(models_tiny_config(epochs=1), models_tiny_datasets, path, progress=False)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        train(models_tiny_config(epochs=1), models_tiny_datasets, path, progress=False)
    assert len(path.read_bytes()) == len(good) // 2


@pytest.mark.parametrize("change, match", [
    ({"architecture": "alexnet", "model_kwargs": {}}, "holds a 'resnet' model"),
    ({"profile": "cpu"}, "profile 'test'"),
    ({"lr": 0.5}, "differs in: lr"),
    ({"model_kwargs": {"base_width": 4, "layers": [1, 1, 1, 1]}}, "differs in: model_kwargs"),
])
def test_foreign_checkpoint_is_refused_and_kept(tmp_path, models_tiny_datasets, models_tiny_config,
                                                change, match):
    path = tmp_path / "run.pt"
    train(models_tiny_config(epochs=1), models_tiny_datasets, path, progress=False)
    good = path.read_bytes()
    with pytest.raises(CheckpointError, match=match):
        train(models_tiny_config(epochs=1, **change), models_tiny_datasets, path, progress=False)
    assert path.read_bytes() == good


def test_model_from_checkpoint_checks_the_architecture(tmp_path, models_tiny_datasets,
                                                       models_tiny_config):
    path = tmp_path / "run.pt"
    result = train(models_tiny_config(epochs=1), models_tiny_datasets, path, progress=False)
    model = model_from_checkpoint(path, "resnet")
    assert _same_state(model.state_dict(), result.model.state_dict())
    with pytest.raises(CheckpointError, match="not 'alexnet'"):
        model_from_checkpoint(path, "alexnet")
    with pytest.raises(CheckpointError, match="does not exist"):
        model_from_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("change, match", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"lr": 0.0}, "lr"),
    ({"architecture": "vgg"}, "architecture"), ({"tag": "a/b"}, "tag"),
    ({"weight_decay": -1.0}, "weight_decay"),
])
def test_impossible_configs_are_rejected(models_tiny_config, change, match):
    with pytest.raises(ValueError, match=match):
        models_tiny_config(**change)


def test_missing_split_is_a_clear_error(tmp_path, models_tiny_datasets, models_tiny_config):
    with pytest.raises(ValueError, match="validation"):
        train(models_tiny_config(), {"train": models_tiny_datasets["train"]}, tmp_path / "r.pt")
    assert not (tmp_path / "r.pt").exists()


def test_a_single_training_sample_is_a_clear_error(tmp_path, models_tiny_datasets, models_tiny_config):
    one = {**models_tiny_datasets, "train": torch.utils.data.Subset(models_tiny_datasets["train"], [0])}
    with pytest.raises(ValueError, match="single sample"):  # was a ZeroDivisionError (no batch left)
        train(models_tiny_config(), one, tmp_path / "r.pt")


def test_fingerprint_ignores_runtime_fields_only(models_tiny_config):
    base = models_tiny_config()
    assert base.fingerprint() == models_tiny_config(device="auto", num_threads=2).fingerprint()
    assert base.fingerprint() != models_tiny_config(seed=1).fingerprint()
    assert base.fingerprint() != models_tiny_config(data={"fold": 1}).fingerprint()
    assert base.stem().startswith("resnet-tiny-seed0-")


# --- fine-tuning ------------------------------------------------------------------------------

def test_finetuning_starts_from_the_base_weights(tmp_path, models_tiny_datasets, models_tiny_config):
    base = train(models_tiny_config(epochs=2), models_tiny_datasets, tmp_path / "base.pt",
                 progress=False)
    fingerprint = base.config.fingerprint()
    config = models_tiny_config(epochs=1, lr=1e-9, tag="ft", init_from=fingerprint)
    tuned = train(config, models_tiny_datasets, tmp_path / "ft.pt", init_from=tmp_path / "base.pt",
                  progress=False)
    for key, value in base.model.state_dict().items():
        if value.is_floating_point() and "running" not in key:
            assert torch.allclose(tuned.model.state_dict()[key], value, atol=1e-6), key
    fresh = train(models_tiny_config(epochs=1, lr=1e-9, tag="fresh"), models_tiny_datasets,
                  tmp_path / "fresh.pt", progress=False)
    assert not torch.allclose(fresh.model.classifier.weight, base.model.classifier.weight)
    with pytest.raises(ValueError, match="init_from"):
        train(models_tiny_config(epochs=1, tag="wrong", init_from="0" * 12), models_tiny_datasets,
              tmp_path / "wrong.pt", init_from=tmp_path / "base.pt", progress=False)


# --- profiles glue ----------------------------------------------------------------------------

def test_model_config_reads_the_profile(tmp_path):
    profile = get_profile("smoke")
    corpus = ResolvedCorpus(tmp_path, "synthetic")  # no synthesis record here: no version
    alex = model_config(profile, "alexnet", corpus)
    assert (alex.epochs, alex.batch_size, alex.lr) == (profile.alexnet_epochs,
                                                       profile.alexnet_batch_size, profile.alexnet_lr)
    # the record that names the checkpoints of the profile's corpus
    assert alex.data == {"corpus": "synthetic", "data_seed": 0, "repetitions": 10, "fold": 0,
                         "train_limit": profile.alexnet_train_limit, "eval_limit": profile.alexnet_eval_limit}
    # no eval limit (cpu): the record of earlier releases, so their checkpoints stay valid
    assert "eval_limit" not in model_config(profile.with_overrides(alexnet_eval_limit=None), "alexnet", corpus).data
    resnet = model_config(profile, "resnet", corpus, seed=5)
    assert resnet.model_kwargs == {"base_width": profile.resnet_width} and resnet.seed == 5
    assert resnet.data["frames"] == profile.resnet_frames
    other = model_config(profile.with_overrides(resnet_frames=profile.resnet_frames + 1), "resnet",
                         corpus, seed=5)
    assert other.fingerprint() != resnet.fingerprint()
    with pytest.raises(ValueError, match="alexnet, resnet"):
        model_config(profile, "vgg", corpus)
    # data of the caller's own: named by the caller, nothing of the profile's corpus
    mine = model_config(profile, "resnet", "tiny bands", seed=5)
    assert mine.data == {"corpus": CALLER_PROVIDED, "name": "tiny bands"}
    assert mine.fingerprint() != model_config(profile, "resnet", "other bands", seed=5).fingerprint()


def _tiny_profile(**changes):
    """The smoke profile with a tiny speaker ResNet, for the 1x16x12 tensors of
    ``models_tiny_datasets``; its corpus (synthetic, default location) is never to be touched."""
    sizes = dict(resnet_width=2, resnet_epochs=1, resnet_batch_size=8, device="cpu",
                 num_threads=1, data_dir=None)
    return get_profile("smoke", **{**sizes, **changes})


def test_ensure_trained_trains_once_then_loads(tmp_path, models_tiny_datasets):
    profile = _tiny_profile()
    first = ensure_trained(profile, "resnet", datasets=models_tiny_datasets,
                           data_source="tiny bands", artifacts_dir=tmp_path, progress=False)
    assert first.checkpoint_path.parent == tmp_path / "smoke" / "models"
    assert first.checkpoint_path == checkpoint_path(profile, first.config, tmp_path)
    again = ensure_trained(profile, "resnet", datasets={"train": _Untouchable(),
                                                        "validation": _Untouchable()},
                           data_source="tiny bands", artifacts_dir=tmp_path, progress=False)
    assert _same_state(first.model.state_dict(), again.model.state_dict())
    tuned = finetune(profile, first, models_tiny_datasets, tag="noise", artifacts_dir=tmp_path,
                     progress=False)
    assert tuned.completed and "ft-noise" in tuned.checkpoint_path.name
    assert tuned.config.init_from == first.config.fingerprint()


def _refuse(*args, **kwargs):
    raise AssertionError("the profile's corpus was resolved although datasets were given")


def test_given_datasets_never_resolve_the_corpus(tmp_path, models_tiny_datasets, monkeypatch):
    monkeypatch.setattr(lrp_utils.training.ensure, "resolve_corpus", _refuse)
    monkeypatch.setattr(lrp_utils.data.resolve, "ensure_corpus", _refuse)
    result = ensure_trained(_tiny_profile(), "resnet", datasets=models_tiny_datasets,
                            data_source="tiny bands", artifacts_dir=tmp_path / "artifacts",
                            progress=False)
    assert result.completed
    assert result.config.data == {"corpus": CALLER_PROVIDED, "name": "tiny bands"}
    written = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    stem = result.checkpoint_path.stem
    assert written == sorted(Path("artifacts", "smoke", "models", stem + suffix)
                             for suffix in (".pt", ".pt.lock", ".history.json"))


def test_an_ambiguous_data_source_is_a_clear_error(tmp_path, models_tiny_datasets, monkeypatch):
    monkeypatch.setattr(lrp_utils.training.ensure, "resolve_corpus", _refuse)
    profile, datasets = _tiny_profile(), models_tiny_datasets
    with pytest.raises(ValueError, match="datasets were given without data_source"):
        ensure_trained(profile, "resnet", datasets=datasets, artifacts_dir=tmp_path)
    with pytest.raises(ValueError, match="no datasets were given"):
        ensure_trained(profile, "resnet", data_source="tiny bands", artifacts_dir=tmp_path)
    with pytest.raises(ValueError, match="'synthetic' is not a name for data of your own"):
        ensure_trained(profile, "resnet", datasets=datasets, data_source="synthetic",
                       artifacts_dir=tmp_path)
    with pytest.raises(TypeError, match="ResolvedCorpus"):
        ensure_trained(profile, "resnet", datasets=datasets,
                       data_source=(tmp_path, "synthetic"), artifacts_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_ensure_trained_reads_the_checkpoint_once_and_resolves_the_device_once(
        tmp_path, models_tiny_datasets, monkeypatch):
    profile = _tiny_profile(resnet_epochs=2)
    kwargs = dict(datasets=models_tiny_datasets, data_source="tiny bands",
                  artifacts_dir=tmp_path, progress=False)
    config = model_config(profile, "resnet", "tiny bands")
    train(config, models_tiny_datasets, checkpoint_path(profile, config, tmp_path),
          stop_after_epochs=1, progress=False)  # an unfinished checkpoint
    calls = {"torch.load": 0, "resolve_device": 0}
    real_load, real_resolve = torch.load, devices.resolve_device

    def load(*args, **kwargs):
        calls["torch.load"] += 1
        return real_load(*args, **kwargs)

    def resolve(*args, **kwargs):
        calls["resolve_device"] += 1
        return real_resolve(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    monkeypatch.setattr(devices, "resolve_device", resolve)
    seen = {}
    for state, seed in (("unfinished", None), ("finished", None), ("missing", 1)):
        calls.update(dict.fromkeys(calls, 0))
        result = ensure_trained(profile, "resnet", seed=seed, **kwargs)
        assert result.completed
        seen[state] = dict(calls)
    assert seen == {"unfinished": {"torch.load": 1, "resolve_device": 1},
                    "finished": {"torch.load": 1, "resolve_device": 1},
                    "missing": {"torch.load": 0, "resolve_device": 1}}


# --- seeding and devices ----------------------------------------------------------------------

def test_derive_seed_is_stable_and_spread():
    assert derive_seed(0, "epoch", 1) == derive_seed(0, "epoch", 1)
    assert derive_seed(0, "epoch", 1) != derive_seed(0, "epoch", 2)
    assert 0 <= derive_seed("x") < 2**63


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda")


# --- end to end with lrp_utils.data -----------------------------------------------------------

@pytest.fixture(scope="module")
def models_tiny_corpus(tmp_path_factory):
    """A synthetic corpus with one repetition per speaker and digit (600 short files)."""
    root = tmp_path_factory.mktemp("corpus")
    return ensure_corpus("synthetic", data_dir=root / "synthetic", repetitions=1, seed=0,
                              progress=False)


def test_ensure_trained_end_to_end_on_a_synthetic_corpus(tmp_path, models_tiny_corpus):
    profile = get_profile("smoke", synthetic_repetitions=1, data_dir=str(models_tiny_corpus),
                          alexnet_epochs=1, alexnet_train_limit=None, device="cpu")
    kwargs = dict(artifacts_dir=tmp_path / "artifacts", cache_dir=tmp_path / "cache",
                  progress=False)
    result = ensure_trained(profile, "alexnet", **kwargs)
    assert result.completed
    assert result.history[0]["train"]["n"] == 12 * 10  # Becker's 12 training speakers x 10 digits
    assert result.history[0]["validation"]["n"] == result.test_metrics["n"] == 6 * 10
    assert result.config.data["corpus"] == "synthetic"
    assert result.config.data["corpus_id"]  # the corpus version is part of the fingerprint
    again = ensure_trained(profile, "alexnet", **kwargs)
    assert again.last_state is None  # loaded, not retrained
    assert _same_state(again.model.state_dict(), result.model.state_dict())
    # the profile's datasets passed with their resolved corpus: the same checkpoint
    corpus = resolve_corpus(profile, progress=False)
    assert corpus == (Path(models_tiny_corpus), "synthetic")
    assert corpus.version == result.config.data["corpus_id"]
    shared = ensure_trained(profile, "alexnet", datasets={"train": _Untouchable(),
                                                          "validation": _Untouchable()},
                            data_source=corpus, **kwargs)
    assert shared.checkpoint_path == result.checkpoint_path
    # one repetition cannot be split into speaker-ID train/validation/test: a clear error
    with pytest.raises(ValueError, match="repetitions|validation"):
        ensure_trained(profile, "resnet", **kwargs)
    models = tmp_path / "artifacts" / "smoke" / "models"
    assert not list(models.glob("resnet-*.pt")) and not list(models.glob("resnet-*.json"))


def test_paper_profile_refuses_a_synthetic_corpus_at_run_time(models_tiny_corpus, monkeypatch):
    # 'auto' finds no AudioMNIST and falls back to the synthetic corpus (here the tiny one)
    monkeypatch.setattr(lrp_utils.data.resolve, "ensure_corpus",
                        lambda kind, **kwargs: models_tiny_corpus)
    with pytest.raises(ValueError, match="allow_synthetic"):
        resolve_corpus(get_profile("paper", corpus="auto"), progress=False)
    assert resolve_corpus(get_profile("cpu"), progress=False) == (models_tiny_corpus, "synthetic")
    assert corpus_version(models_tiny_corpus) is not None


def test_a_second_trainer_waits_for_the_first(tmp_path, models_tiny_datasets, models_tiny_config):
    import threading

    from lrp_utils.training.checkpoint import checkpoint_lock

    path = tmp_path / "run.pt"
    results = []
    with checkpoint_lock(path):  # "another process" is training this checkpoint
        worker = threading.Thread(target=lambda: results.append(
            train(models_tiny_config(epochs=1), models_tiny_datasets, path, progress=False)))
        worker.start()
        worker.join(timeout=1.5)
        assert worker.is_alive() and not path.exists()  # waiting, not training
    worker.join(timeout=60)
    assert results and results[0].completed


def test_ensure_trained_uses_the_profiles_sizes_for_the_corpus_kind(tmp_path, models_tiny_datasets):
    profile = get_profile("smoke", resnet_width=2, resnet_batch_size=8, device="cpu", num_threads=1,
                          corpus_sizes={"speechocean762": {"resnet_epochs": 1}})
    assert profile.resnet_epochs != 1
    source = ResolvedCorpus(tmp_path / "speechocean762", "speechocean762")
    result = ensure_trained(profile, "resnet", datasets=models_tiny_datasets, data_source=source,
                            artifacts_dir=tmp_path, progress=False)
    assert result.config.epochs == 1 and len(result.history) == 1
    assert result.config.data["corpus"] == "speechocean762"
    assert model_config(profile, "resnet", source) == result.config  # the sizes live in model_config
    assert model_config(profile, "resnet", "tiny bands").epochs == profile.resnet_epochs  # own data: no kind


def test_a_highpass_or_training_windows_name_another_checkpoint(tmp_path):
    source = ResolvedCorpus(tmp_path / "speechocean762", "speechocean762")
    plain = model_config(get_profile("smoke"), "alexnet", source)
    filtered = model_config(get_profile("smoke", highpass_hz=60), "alexnet", source)
    assert "highpass_hz" not in plain.data  # the paper's pipeline keeps its checkpoint names
    assert filtered.data["highpass_hz"] == 60 and filtered.stem() != plain.stem()
    speaker = model_config(get_profile("smoke"), "resnet", source)
    windowed = model_config(get_profile("smoke", resnet_train_windows=3), "resnet", source)
    assert "train_windows" not in speaker.data and windowed.data["train_windows"] == 3
