"""A profile's trained models: load them from ``artifacts/<profile>/models/`` or train them.

This is the glue between :mod:`lrp_utils.profiles`, :mod:`lrp_utils.data` and :func:`train`:

- :func:`model_config` turns a profile into the :class:`TrainConfig` of the gender AlexNet
  (``alexnet``) or the speaker ResNet (``resnet``);
- :func:`ensure_trained` returns that model, training it first when its checkpoint is missing
  (resuming an unfinished one);
- :func:`finetune` fine-tunes a trained model on other data (the paper's relevance-guided
  augmentation, section 4.3).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

import torch
from torch.utils.data import Dataset, Subset

from lrp_utils import io
from lrp_utils.profiles import Profile, get_profile
from lrp_utils.seeding import derive_seed
from lrp_utils.training.checkpoint import check_compatible, load_checkpoint
from lrp_utils.training.config import TrainConfig
from lrp_utils.training.loop import TrainResult, load_trained, train

#: Task tag of each architecture's training run.
TASKS = {"alexnet": "gender", "resnet": "speaker"}


def models_dir(profile: Profile, artifacts_dir: str | Path | None = None) -> Path:
    """``<artifacts>/<profile>/models``."""
    return Path(artifacts_dir or io.ARTIFACTS_DIR) / profile.name / "models"


def checkpoint_path(profile: Profile, config: TrainConfig,
                    artifacts_dir: str | Path | None = None) -> Path:
    """Where ``config``'s checkpoint lives: ``<artifacts>/<profile>/models/<stem>.pt``."""
    return models_dir(profile, artifacts_dir) / f"{config.stem()}.pt"


def _profile(profile: Profile | str) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def _check_architecture(architecture: str) -> None:
    if architecture not in TASKS:
        raise ValueError(f"unknown architecture {architecture!r}; valid: {', '.join(TASKS)} "
                         f"(alexnet: gender, resnet: speaker ID)")


def model_config(profile: Profile | str, architecture: str, *, seed: int | None = None,
                 corpus_kind: str | None = None, corpus_id: str | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of ``architecture`` under ``profile`` (training seed ``seed``,
    default ``profile.seed``; ``corpus_kind`` is what the profile's corpus resolved to and
    ``corpus_id`` identifies its version, see :func:`corpus_version`)."""
    profile = _profile(profile)
    _check_architecture(architecture)
    seed = profile.seed if seed is None else int(seed)
    data: dict[str, Any] = {"corpus": corpus_kind or profile.corpus, "data_seed": profile.seed}
    if data["corpus"] == "synthetic":
        data["repetitions"] = profile.synthetic_repetitions
    if corpus_id is not None:
        data["corpus_id"] = corpus_id
    if architecture == "alexnet":
        data.update(fold=profile.fold, train_limit=profile.alexnet_train_limit)
        return TrainConfig("alexnet", profile.alexnet_epochs, profile.alexnet_batch_size,
                           profile.alexnet_lr, seed, {"init": profile.alexnet_init},
                           profile=profile.name, tag=TASKS[architecture], data=data,
                           mixed_precision=profile.mixed_precision, device=profile.device,
                           num_threads=profile.num_threads, num_classes=2)
    data.update(frames=profile.resnet_frames, limit_per_split=profile.resnet_limit_per_split)
    return TrainConfig("resnet", profile.resnet_epochs, profile.resnet_batch_size,
                       profile.resnet_lr, seed, {"base_width": profile.resnet_width},
                       profile=profile.name, tag=TASKS[architecture], data=data,
                       mixed_precision=profile.mixed_precision, device=profile.device,
                       num_threads=profile.num_threads)


def _limit(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    """A seeded random subset of ``limit`` items (all of them when ``limit`` is None or larger)."""
    if limit is None or limit >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(
        derive_seed(seed, "train_limit")))
    return Subset(dataset, sorted(order[:limit].tolist()))


def resolve_corpus(profile: Profile, progress: bool = True) -> tuple[Path, str]:
    """Make sure the profile's corpus exists; return its root and resolved kind."""
    from lrp_utils import data

    root = Path(data.ensure_corpus(profile.corpus, data_dir=profile.data_dir,
                                   repetitions=profile.synthetic_repetitions, seed=profile.seed,
                                   progress=progress))
    kind = profile.corpus
    if kind == "auto":  # the data layer generates synthetic corpora with a synthesis.json record
        kind = "synthetic" if (root / "synthesis.json").is_file() else "audiomnist"
    profile.check_corpus(kind)
    return root, kind


def corpus_version(root: str | Path) -> str | None:
    """A short hash of a generated corpus' ``synthesis.json`` record (its generator version,
    parameters and speaker table), so that a regenerated synthetic corpus never reuses models
    trained on an older one; ``None`` for a recorded corpus (AudioMNIST and FSDD are fixed)."""
    record = Path(root) / "synthesis.json"
    if not record.is_file():
        return None
    return hashlib.sha256(record.read_bytes()).hexdigest()[:12]


def profile_datasets(profile: Profile | str, architecture: str,
                     corpus: tuple[Path, str] | None = None, progress: bool = True,
                     cache_dir: str | Path | None = None) -> dict[str, Dataset]:
    """The train/validation/test datasets ``architecture`` trains on under ``profile``.

    ``alexnet``: Becker's gender fold ``profile.fold`` (training split cut to
    ``alexnet_train_limit`` by a seeded random subset); ``resnet``: speaker ID split by
    repetition, at most ``resnet_limit_per_split`` utterances per split.  Features are cached
    in ``cache_dir`` (default: the data layer's, ``artifacts/cache``).
    """
    from lrp_utils import data

    profile = _profile(profile)
    _check_architecture(architecture)
    root, kind = corpus or resolve_corpus(profile, progress)
    if architecture == "alexnet":
        if kind == "fsdd":
            raise ValueError("the gender AlexNet cannot train on FSDD (all its speakers are male); "
                             "use corpus='auto', 'synthetic' or 'audiomnist'")
        splits = dict(data.gender_datasets(root, fold=profile.fold, seed=profile.seed,
                                           cache_dir=cache_dir, progress=progress))
        splits["train"] = _limit(splits["train"], profile.alexnet_train_limit, profile.seed)
        return splits
    # Limiting inside the data layer also spares computing the unused filterbanks.
    splits, _ = data.speaker_datasets(root, profile.resnet_frames, seed=profile.seed,
                                      loader="fsdd" if kind == "fsdd" else "audiomnist",
                                      limit_per_split=profile.resnet_limit_per_split,
                                      cache_dir=cache_dir, progress=progress)
    return dict(splits)


def ensure_trained(profile: Profile | str = "cpu", architecture: str = "alexnet", *,
                   seed: int | None = None, datasets: Mapping[str, Dataset] | None = None,
                   artifacts_dir: str | Path | None = None, progress: bool = True,
                   cache_dir: str | Path | None = None, **overrides: Any) -> TrainResult:
    """The ``architecture`` model of ``profile`` (trained with ``seed``): loaded from its
    checkpoint when it exists, otherwise trained (or resumed) and saved.

    ``overrides`` are profile fields (as papermill parameters).  ``datasets`` may pass the
    profile's datasets when the caller has them already (they must be the profile's: the
    corpus is still resolved, to name the artifact); by default they come from
    :mod:`lrp_utils.data` via the profile's corpus (features cached in ``cache_dir``, default
    ``artifacts/cache``).  Checkpoints go to ``<artifacts_dir>/<profile>/models/`` (default
    ``artifacts/``).
    """
    profile = _profile(profile).with_overrides(**overrides)
    _check_architecture(architecture)
    # Resolve the corpus even when the caller brings the datasets (they come from it): its kind
    # and version are part of the artifact's name, so every caller finds the same checkpoint.
    corpus = resolve_corpus(profile, progress)
    kind, version = corpus[1], corpus_version(corpus[0])
    config = model_config(profile, architecture, seed=seed, corpus_kind=kind, corpus_id=version)
    path = checkpoint_path(profile, config, artifacts_dir)
    if path.exists():
        payload = load_checkpoint(path)
        check_compatible(payload, config, path)
        if payload["completed"]:
            return load_trained(config, path, payload)
    if datasets is None:
        datasets = profile_datasets(profile, architecture, corpus, progress, cache_dir)
    return train(config, datasets, path, progress=progress)


def finetune(profile: Profile | str, base: TrainResult | str | Path,
             datasets: Mapping[str, Dataset], *, tag: str, seed: int | None = None,
             artifacts_dir: str | Path | None = None, progress: bool = True) -> TrainResult:
    """Fine-tune the trained model ``base`` (a :class:`TrainResult` or checkpoint path) on
    ``datasets`` for ``profile.finetune_epochs`` epochs at ``profile.finetune_lr``.

    ``tag`` names the fine-tuning data (e.g. ``relevance`` or ``random`` for the paper's
    section 4.3 augmentations) and becomes part of the artifact name; an existing fine-tuned
    checkpoint is loaded instead of retrained.
    """
    profile = _profile(profile)
    base_path = Path(base.checkpoint_path if isinstance(base, TrainResult) else base)
    source = load_checkpoint(base_path)
    base_config = TrainConfig(**{k: v for k, v in source["config"].items()})
    seed = base_config.seed if seed is None else int(seed)
    config = TrainConfig(
        base_config.architecture, profile.finetune_epochs, base_config.batch_size,
        profile.finetune_lr, seed, base_config.model_kwargs, profile=profile.name,
        tag=f"{base_config.tag}-ft-{tag}", data={**base_config.data, "finetune": tag},
        init_from=source["fingerprint"], weight_decay=base_config.weight_decay,
        mixed_precision=profile.mixed_precision, device=profile.device,
        num_threads=profile.num_threads, num_classes=base_config.num_classes)
    path = checkpoint_path(profile, config, artifacts_dir)
    return train(config, datasets, path, init_from=base_path, progress=progress)
