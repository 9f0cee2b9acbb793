"""A profile's trained models: load them from ``artifacts/<profile>/models/`` or train them.

This is the glue between :mod:`lrp_utils.profiles`, :mod:`lrp_utils.data` and :func:`train`:

- :func:`model_config` turns a profile into the :class:`TrainConfig` of the gender AlexNet
  (``alexnet``) or the speaker ResNet (``resnet``);
- :func:`ensure_trained` returns that model, training it first when its checkpoint is missing
  (resuming an unfinished one);
- :func:`finetune` fine-tunes a trained model on other data (the paper's relevance-guided
  augmentation, section 4.3).

The data a model trains on is part of its checkpoint's name (the ``data`` record of its
:class:`TrainConfig`), given by a *data source*:

- a :class:`~lrp_utils.data.ResolvedCorpus` (what :func:`lrp_utils.data.resolve_corpus`
  returns): the profile's corpus, named by its kind and version together with the profile's
  split sizes, so that every caller training a profile's model on the profile's data finds the
  same checkpoint;
- a string: a name the caller gives to data of its own (kind :data:`CALLER_PROVIDED`); the
  checkpoint cannot see the data, so the name must change whenever the data does.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping

from torch.utils.data import Dataset

from lrp_utils import io
from lrp_utils.data import CORPUS_NAMES, ResolvedCorpus, profile_datasets, resolve_corpus
from lrp_utils.data.resolve import task_of
from lrp_utils.profiles import Profile, get_profile
from lrp_utils.training.checkpoint import load_checkpoint
from lrp_utils.training.config import TrainConfig
from lrp_utils.training.loop import TrainResult, train

#: The corpus kind recorded for data a caller names itself (see the module docstring).
CALLER_PROVIDED = "caller-provided"


def models_dir(profile: Profile, artifacts_dir: str | Path | None = None) -> Path:
    """``<artifacts>/<profile>/models``."""
    return Path(artifacts_dir or io.ARTIFACTS_DIR) / profile.name / "models"


def checkpoint_path(profile: Profile, config: TrainConfig,
                    artifacts_dir: str | Path | None = None) -> Path:
    """Where ``config``'s checkpoint lives: ``<artifacts>/<profile>/models/<stem>.pt``."""
    return models_dir(profile, artifacts_dir) / f"{config.stem()}.pt"


def _profile(profile: Profile | str) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def _data_record(profile: Profile, architecture: str,
                 data_source: ResolvedCorpus | str) -> dict[str, Any]:
    """The ``data`` record of a :class:`TrainConfig`: what the model trains on."""
    if isinstance(data_source, str):
        if not data_source or data_source in CORPUS_NAMES:
            raise ValueError(
                f"data_source={data_source!r} is not a name for data of your own; pass "
                f"lrp_utils.data.resolve_corpus(profile) for the profile's corpus, or a non-empty "
                f"name other than {', '.join(CORPUS_NAMES)} for datasets you made yourself")
        return {"corpus": CALLER_PROVIDED, "name": data_source}
    if not isinstance(data_source, ResolvedCorpus):
        raise TypeError(f"data_source must be a ResolvedCorpus (lrp_utils.data.resolve_corpus) or "
                        f"a name of your own data, not {type(data_source).__name__}")
    data: dict[str, Any] = {"corpus": data_source.kind, "data_seed": profile.seed}
    if data_source.kind == "synthetic":
        data["repetitions"] = profile.synthetic_repetitions
    version = data_source.version
    if version is not None:
        data["corpus_id"] = version
    if profile.highpass_hz is not None:
        data["highpass_hz"] = profile.highpass_hz
    if task_of(architecture) == "gender":
        data.update(fold=profile.fold, train_limit=profile.alexnet_train_limit)
        if profile.alexnet_eval_limit is not None:
            data["eval_limit"] = profile.alexnet_eval_limit
    else:
        data.update(frames=profile.resnet_frames, limit_per_split=profile.resnet_limit_per_split)
        if profile.resnet_train_windows != 1:
            data["train_windows"] = profile.resnet_train_windows
    return data


def model_config(profile: Profile | str, architecture: str, data_source: ResolvedCorpus | str, *,
                 seed: int | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of ``architecture`` under ``profile``, trained on
    ``data_source`` (see the module docstring) with training seed ``seed`` (default
    ``profile.seed``); for a resolved corpus, with the profile's sizes for its kind
    (``Profile.for_corpus``)."""
    profile = _profile(profile)
    if isinstance(data_source, ResolvedCorpus):
        profile = profile.for_corpus(data_source.kind)
    task = task_of(architecture)
    seed = profile.seed if seed is None else int(seed)
    data = _data_record(profile, architecture, data_source)
    runtime = dict(profile=profile.name, tag=task, data=data,
                   mixed_precision=profile.mixed_precision, device=profile.device,
                   num_threads=profile.num_threads)
    if architecture == "alexnet":
        return TrainConfig("alexnet", profile.alexnet_epochs, profile.alexnet_batch_size,
                           profile.alexnet_lr, seed, {"init": profile.alexnet_init},
                           num_classes=2, **runtime)
    return TrainConfig("resnet", profile.resnet_epochs, profile.resnet_batch_size,
                       profile.resnet_lr, seed, {"base_width": profile.resnet_width}, **runtime)


def _data_source(profile: Profile, datasets: Mapping[str, Dataset] | None,
                 data_source: ResolvedCorpus | str | None,
                 progress: bool) -> ResolvedCorpus | str:
    """``data_source``, checked against ``datasets``; the profile's corpus when both are None."""
    if datasets is not None and data_source is None:
        raise ValueError(
            "ensure_trained: datasets were given without data_source, which names the checkpoint; "
            "pass data_source=lrp_utils.data.resolve_corpus(profile) if they are the profile's "
            "datasets (the model is then the one trained without datasets), or "
            "data_source='<a name>' for data of your own (a checkpoint of its own)")
    if datasets is None and isinstance(data_source, str):
        raise ValueError(
            f"ensure_trained: data_source={data_source!r} names data of your own, but no datasets "
            f"were given; pass them as datasets=..., or leave data_source out to train on the "
            f"profile's corpus")
    return resolve_corpus(profile, progress) if data_source is None else data_source


def ensure_trained(profile: Profile | str = "cpu", architecture: str = "alexnet", *,
                   seed: int | None = None, datasets: Mapping[str, Dataset] | None = None,
                   data_source: ResolvedCorpus | str | None = None,
                   artifacts_dir: str | Path | None = None, progress: bool = True,
                   cache_dir: str | Path | None = None, **overrides: Any) -> TrainResult:
    """The ``architecture`` model of ``profile`` (trained with ``seed``): loaded from its
    checkpoint when it exists, otherwise trained (or resumed) and saved.

    Parameters
    ----------
    profile, architecture, seed:
        Which model: ``overrides`` are profile fields (as papermill parameters).
    datasets:
        ``train``/``validation`` (and ``test``) datasets to train on instead of the profile's;
        they need ``data_source``, which names the checkpoint.  Without them the profile's
        datasets are built (:func:`lrp_utils.data.profile_datasets`, features cached in
        ``cache_dir``, default ``artifacts/cache``) only when there is something to train.
    data_source:
        What the model trains on (see the module docstring).  ``None`` (only without
        ``datasets``): the profile's corpus, resolved here (and generated if missing).  A
        :class:`~lrp_utils.data.ResolvedCorpus`: the profile's corpus, already resolved; with
        ``datasets`` these must be that corpus' profile datasets, and the model is the same one
        as without them.  A string (only with ``datasets``): a name of the caller's own data,
        which is never resolved.
    artifacts_dir:
        Checkpoints go to ``<artifacts_dir>/<profile>/models/`` (default ``artifacts/``).

    The checkpoint is read once, under its lock (:func:`train`), and the device resolved once.

    Raises
    ------
    ValueError
        For ``datasets`` without ``data_source`` or a name without ``datasets``.
    """
    profile = _profile(profile).with_overrides(**overrides)
    task_of(architecture)  # an unknown architecture fails before the corpus is resolved
    source = _data_source(profile, datasets, data_source, progress)
    config = model_config(profile, architecture, source, seed=seed)
    if datasets is None:  # built only if the checkpoint turns out to be missing or unfinished
        datasets = functools.partial(profile_datasets, profile, architecture, source, progress,
                                     cache_dir)
    return train(config, datasets, checkpoint_path(profile, config, artifacts_dir),
                 progress=progress)


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
    return train(config, datasets, path, init_from=source, progress=progress)
