"""One training function for both models: Adam, cross-entropy, model selection on validation.

The paper (Sarvaš, section 4) trains Becker's AlexNet with learning rate 1e-4 for 200 epochs;
Becker et al. (2018) used Caffe's SGD.  We use Adam with cross-entropy (Caffe's
``SoftmaxWithLoss``) for both models, keep the weights of the epoch with the best validation
accuracy (ties: lower validation loss), and write a resumable checkpoint atomically after every
epoch (:mod:`lrp_utils.training.checkpoint`).

Reproducibility: before each epoch every generator is reseeded from ``(seed, epoch)``, the
shuffling uses its own generator seeded the same way, ``num_workers=0``, and torch's
deterministic algorithms are on -- so the same configuration on the same machine gives identical
weights, and an interrupted run resumed from its checkpoint ends with exactly the weights of an
uninterrupted one.

Under torchrun (a process group, :mod:`lrp_utils.training.distributed`) the same function trains
data-parallel: the profile's batch size stays the global batch, split over the processes; rank 0
alone writes.  See :func:`train`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm  # text bars: notebooks render them without ipywidgets

from lrp_utils import devices
from lrp_utils.io import save_torch, write_json
from lrp_utils.models import build_model
from lrp_utils.modes import eval_mode
from lrp_utils.seeding import (capture_rng_state, derive_seed, deterministic_algorithms,
                               make_generator, restore_rng_state, seed_everything)
from lrp_utils.training.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, check_compatible,
                                           checkpoint_lock, history_path, load_checkpoint,
                                           model_from_checkpoint)
from lrp_utils.training import distributed
from lrp_utils.training.config import TrainConfig

#: Keyword of the class count per architecture.
_CLASS_KWARG = {"alexnet": "num_classes", "resnet": "num_speakers"}


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``model`` holds the selected (best-validation) weights, in eval mode on the training device;
    ``last_state`` the weights after the last epoch run (CPU copy; ``None`` when loaded from a
    finished checkpoint); ``completed`` is False when training stopped early on request.
    """

    model: nn.Module
    config: TrainConfig
    checkpoint_path: Path
    history: list[dict[str, Any]]
    best_epoch: int
    completed: bool
    train_seconds: float
    test_metrics: dict[str, float] | None = None
    last_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _to_device(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _check_datasets(datasets: Mapping[str, Dataset]) -> None:
    missing = [k for k in ("train", "validation") if k not in datasets]
    if missing:
        raise ValueError(f"train: datasets lacks split(s) {', '.join(missing)}; pass a mapping "
                         f"with 'train' and 'validation' datasets (got keys {sorted(datasets)})")
    for split in ("train", "validation"):
        if len(datasets[split]) == 0:
            raise ValueError(f"train: the {split!r} dataset is empty; check the corpus and limits")


def infer_num_classes(dataset: Dataset) -> int:
    """1 + the largest label of ``dataset`` (items ``(x, label)``); uses ``.labels`` or
    ``.tensors[1]`` when the dataset has them, else iterates."""
    labels = getattr(dataset, "labels", None)
    if labels is None and hasattr(dataset, "tensors"):
        labels = dataset.tensors[1]
    if labels is None:
        labels = [int(dataset[i][1]) for i in range(len(dataset))]
    return int(torch.as_tensor(labels).max()) + 1


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 64,
             device: str | torch.device | None = None, mixed_precision: bool = False,
             progress: bool = False, desc: str = "evaluate",
             sharded: bool = False) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and ``accuracy`` of ``model`` on ``dataset`` (and ``n``).

    Runs in eval mode (dropout off, BatchNorm running statistics) on ``device`` (default: the
    model's) and restores the model's previous mode.

    ``sharded=True`` (under torchrun; every rank must call it): each rank evaluates its run of
    whole batches (:func:`~lrp_utils.training.distributed.batch_shard`) and every rank returns
    the metrics of the whole dataset -- the same numbers, bit for bit, as one process computes
    (the same batches, and their sums added in the same order).
    """
    device = next(model.parameters()).device if device is None else devices.resolve_device(device)
    return _evaluate(model, dataset, batch_size, device, devices.amp_enabled(device, mixed_precision),
                     devices.use_channels_last(device), progress, desc, sharded)


@torch.no_grad()
def _evaluate(model: nn.Module, dataset: Dataset, batch_size: int, device: torch.device,
              amp: bool, channels_last: bool, progress: bool, desc: str,
              sharded: bool = False) -> dict[str, float]:
    """:func:`evaluate` on an already resolved ``device``."""
    if sharded:
        dataset = Subset(dataset, distributed.batch_shard(len(dataset), batch_size))
    sums = []  # (loss sum, correct, count) per batch
    with eval_mode(model):
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
        for x, y in tqdm(loader, desc=desc, leave=False, disable=not progress):
            x, y = _to_device(x, device, channels_last), y.to(device)
            with devices.autocast(device, amp):
                logits = model(x)
            sums.append((float(nn.functional.cross_entropy(logits.float(), y, reduction="sum")),
                         int((logits.argmax(1) == y).sum()), len(y)))
    if sharded:  # the ranks' batches, in the original order
        sums = [batch for shard in distributed.gather_objects(sums) for batch in shard]
    loss_sum, correct, count = 0.0, 0, 0
    for batch_loss, batch_correct, batch_count in sums:
        loss_sum += batch_loss
        correct += batch_correct
        count += batch_count
    if count == 0:
        raise ValueError(f"evaluate: the dataset is empty ({desc})")
    return {"loss": loss_sum / count, "accuracy": correct / count, "n": count}


def _better(metrics: dict[str, float], best: dict[str, float] | None) -> bool:
    if best is None:
        return True
    return (metrics["accuracy"], -metrics["loss"]) > (best["accuracy"], -best["loss"])


def train(config: TrainConfig, datasets: Mapping[str, Dataset] | Callable[[], Mapping[str, Dataset]],
          checkpoint_path: str | Path, *, init_from: str | Path | dict[str, Any] | None = None, stop_after_epochs: int | None = None,
          on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
          progress: bool = True) -> TrainResult:
    """Train ``config``'s model on ``datasets["train"]``, selecting on ``datasets["validation"]``.

    Parameters
    ----------
    config:
        The run (architecture, epochs, batch size, lr, seed, ...).
    datasets:
        ``"train"`` and ``"validation"`` datasets of ``(input, int64 label)`` items; a
        ``"test"`` split, if present, is evaluated once with the selected weights.  Or a
        function returning them, called only when there is something to train (not for a
        finished checkpoint), so that a caller need not build the features of a trained model.
    checkpoint_path:
        Where the checkpoint lives.  It is read once, with its lock held (a second process
        asking for the same model waits for the first).  A finished checkpoint of the same
        configuration is loaded instead of training; an unfinished one is resumed; one of
        another architecture, profile or configuration, or a corrupt one, raises
        :class:`CheckpointError` and is left as is.
    init_from:
        Fine-tune: start from the selected weights of this checkpoint (its path, or its
        contents as :func:`load_checkpoint` returns them; same architecture and model
        arguments) instead of a fresh initialisation.  ``config.init_from`` must be that
        checkpoint's fingerprint (so that the fine-tuned model gets its own artifact name).
    stop_after_epochs:
        Stop (without finishing) once this many epochs are done -- for tests and time slicing;
        the next call resumes.
    on_epoch_end:
        Called as ``on_epoch_end(epoch, record)`` after each epoch's checkpoint is written (on
        every rank when distributed).
    progress:
        Show a tqdm bar per epoch (rank 0 only when distributed).

    Distributed (a process group of ``W`` processes is running, see
    :mod:`lrp_utils.training.distributed`; every rank calls :func:`train` with the same
    arguments): ``DistributedDataParallel`` on each rank's device.  ``config.batch_size`` stays
    the *global* batch: each optimiser step averages the gradients of ``B`` items, ``B / W`` per
    rank (:class:`~lrp_utils.training.distributed.EpochShardSampler`: the single process's
    epoch order, whole global batches only), so the learning rate needs no change.  Rank 0 alone
    holds the lock, reads the checkpoint (the others get its content, or its error) and writes
    checkpoint and history; validation and test sets are split over the ranks and give the
    single process's metrics for the same weights.  The weights are not bit-for-bit those of one
    process: the gradient all-reduce adds in another order, each rank draws its own dropout
    masks, and BatchNorm normalises each rank's share of the batch.  Resuming works with any
    world size.  A ``ValueError`` when ``W`` does not divide the batch size, when the training
    split holds fewer items than the world or than one global batch, or when a model with
    BatchNorm would see one item per rank.
    """
    if not callable(datasets):
        _check_datasets(datasets)
    checkpoint_path = Path(checkpoint_path)
    # Only rank 0 locks: the other ranks follow it (a second lock holder would wait forever for
    # a rank 0 that waits for it in a collective).
    lock = (checkpoint_lock(checkpoint_path) if distributed.is_main_process()
            else contextlib.nullcontext())
    with lock:
        return _train_locked(config, datasets, checkpoint_path, init_from, stop_after_epochs,
                             on_epoch_end, progress)


def _read_checkpoint(path: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The checked content of ``path``, or ``None`` when it does not exist."""
    if not path.exists():
        return None
    payload = load_checkpoint(path)
    check_compatible(payload, config, path)
    return payload


def _train_locked(config: TrainConfig,
                  datasets: Mapping[str, Dataset] | Callable[[], Mapping[str, Dataset]],
                  checkpoint_path: Path, init_from: str | Path | dict[str, Any] | None, stop_after_epochs: int | None,
                  on_epoch_end: Callable[[int, dict[str, Any]], None] | None,
                  progress: bool) -> TrainResult:
    """:func:`train`, with the checkpoint's lock held: the one place that reads the checkpoint
    and resolves the device."""
    device = distributed.rank_device(devices.resolve_device(config.device))
    payload = distributed.run_on_main(_read_checkpoint, checkpoint_path, config)
    if payload is not None and payload["completed"]:
        return load_trained(config, checkpoint_path, payload, device)
    if callable(datasets):
        datasets = distributed.main_first(datasets)  # rank 0 fills the feature cache first
        _check_datasets(datasets)
    amp = devices.amp_enabled(device, config.mixed_precision)
    channels_last = devices.use_channels_last(device)
    world = distributed.get_world_size()
    main = distributed.is_main_process()
    progress = progress and main

    with devices.torch_threads(config.num_threads), deterministic_algorithms():
        num_classes = config.num_classes or infer_num_classes(datasets["train"])
        model_kwargs = {**config.model_kwargs, _CLASS_KWARG[config.architecture]: num_classes}
        seed_everything(derive_seed(config.seed, "init"))
        model = build_model(config.architecture, **model_kwargs)
        if init_from is not None and payload is None:
            _load_initial_weights(model, init_from, config)
        model.to(device)
        if channels_last:
            model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                     weight_decay=config.weight_decay)
        scaler = torch.amp.GradScaler(device.type, enabled=amp)
        history: list[dict[str, Any]] = []
        best_state, best_epoch, best_metrics, start_epoch, seconds = None, -1, None, 0, 0.0
        if payload is not None:  # resume
            model.load_state_dict(payload["model_state"])
            optimizer.load_state_dict(payload["optimizer_state"])
            scaler.load_state_dict(payload["scaler_state"])
            restore_rng_state(payload["rng"])
            history, best_state = payload["history"], payload["best_state"]
            best_epoch, start_epoch = payload["best_epoch"], payload["epoch"]
            best_metrics = history[best_epoch]["validation"] if best_epoch >= 0 else None
            seconds = payload["train_seconds"]
            model_kwargs = payload["model_kwargs"]

        train_set = datasets["train"]
        # BatchNorm1d cannot normalise a batch of one: never leave a single sample at the end.
        if len(train_set) == 1:
            raise ValueError("train: the 'train' dataset holds a single sample; batch statistics need "
                             "at least two (check the corpus, its limits and windows)")
        if world > 1:
            _check_rank_batch(model, config.batch_size, world)
        drop_last = len(train_set) % config.batch_size == 1
        train_model = distributed.wrap_model(model, device)
        for epoch in range(start_epoch, config.epochs):
            if stop_after_epochs is not None and epoch >= stop_after_epochs:
                break
            started = time.perf_counter()
            seed_everything(distributed.epoch_seed(config.seed, epoch))
            loader = _epoch_loader(train_set, config, epoch, drop_last)
            train_metrics = train_epoch(train_model, loader, optimizer, scaler, device, amp,
                                         channels_last, progress,
                                         f"{config.architecture} epoch {epoch + 1}/{config.epochs}")
            val_metrics = _evaluate(model, datasets["validation"], config.batch_size, device,
                                    amp, channels_last, progress, "validation", world > 1)
            seconds += time.perf_counter() - started
            record = {"epoch": epoch + 1, "train": train_metrics, "validation": val_metrics,
                      "seconds": time.perf_counter() - started}
            history.append(record)
            if _better(val_metrics, best_metrics):
                best_state, best_epoch, best_metrics = _state_copy(model), epoch, val_metrics
            if main:
                _write(checkpoint_path, config, model_kwargs, epoch + 1, model, best_state,
                       best_epoch, history, seconds, optimizer, scaler, completed=False)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, record)

        last_state = _state_copy(model)
        done = len(history) == config.epochs
        if done:
            model.load_state_dict(best_state)
            test_metrics = None
            if "test" in datasets:
                test_metrics = _evaluate(model, datasets["test"], config.batch_size, device,
                                         amp, channels_last, progress, "test", world > 1)
            if main:
                _write(checkpoint_path, config, model_kwargs, config.epochs, model, None,
                       best_epoch, history, seconds, None, None, completed=True,
                       test_metrics=test_metrics)
        else:
            test_metrics = None
    distributed.barrier()  # every rank returns once rank 0's checkpoint is on disk
    model.eval()
    return TrainResult(model, config, checkpoint_path, history, best_epoch, done, seconds,
                       test_metrics, last_state)


def _epoch_loader(train_set: Dataset, config: TrainConfig, epoch: int,
                  drop_last: bool) -> DataLoader:
    """The batches of ``epoch``: in one process the whole split shuffled by a generator seeded
    from ``(seed, epoch)`` (a last batch of one item dropped); distributed, this rank's
    ``B / W`` items of each of the same order's whole global batches."""
    if not distributed.is_distributed():
        return DataLoader(train_set, batch_size=config.batch_size, shuffle=True, num_workers=0,
                          drop_last=drop_last,
                          generator=make_generator(derive_seed(config.seed, "shuffle", epoch)))
    sampler = distributed.EpochShardSampler(train_set, config.batch_size, config.seed)
    sampler.set_epoch(epoch)
    return DataLoader(train_set, batch_size=sampler.rank_batch_size, sampler=sampler,
                      num_workers=0)


def _check_rank_batch(model: nn.Module, batch_size: int, world: int) -> None:
    """The global batch must split over ``world`` ranks, and BatchNorm needs two items per rank."""
    per_rank = distributed.rank_batch_size(batch_size, world)
    batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if per_rank == 1 and batchnorm:
        raise ValueError(f"train: a global batch of {batch_size} over {world} processes leaves one "
                         f"item per process, and the model's BatchNorm needs at least two; use a "
                         f"batch size of at least {2 * world} or fewer processes")


def train_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler, device: torch.device, amp: bool = False,
                channels_last: bool = False, progress: bool = False,
                desc: str = "train") -> dict[str, float]:
    """One pass over ``loader``: cross-entropy, backward, optimiser step per batch.

    Returns the epoch's mean training ``loss``, ``accuracy`` (in train mode, i.e. with dropout)
    and sample count ``n`` -- distributed (``model`` in DDP, each rank with its own ``loader``),
    over the items of all ranks.  A non-finite loss raises FloatingPointError.
    """
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress)
    for x, y in bar:
        x, y = _to_device(x, device, channels_last), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        with devices.autocast(device, amp):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"{desc}: the training loss became {float(loss)}; lower the learning rate")
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        count += len(y)
        bar.set_postfix(loss=f"{loss_sum / count:.4f}", acc=f"{correct / count:.3f}")
    if distributed.is_distributed():
        ranks = distributed.gather_objects((loss_sum, correct, count))
        loss_sum, correct, count = (sum(values) for values in zip(*ranks))
    return {"loss": loss_sum / count, "accuracy": correct / count, "n": count}


def _load_initial_weights(model: nn.Module, init_from: str | Path | dict[str, Any],
                          config: TrainConfig) -> None:
    source = init_from if isinstance(init_from, dict) else load_checkpoint(init_from)
    where = "the base checkpoint" if isinstance(init_from, dict) else str(init_from)
    if config.init_from != source["fingerprint"]:
        raise ValueError(
            f"train: config.init_from is {config.init_from!r} but {where} has fingerprint "
            f"{source['fingerprint']!r}; build the config with init_from=<that fingerprint> so "
            f"that the fine-tuned model gets its own name")
    if not source["completed"]:
        raise CheckpointError(f"{where} is an unfinished training; finish it before "
                              f"fine-tuning from it")
    base = model_from_checkpoint(source, config.architecture)
    try:
        model.load_state_dict(base.state_dict())
    except RuntimeError as error:
        raise CheckpointError(f"{where}: its weights do not fit the model to fine-tune "
                              f"({str(error)[:300]})") from error


def _write(path: Path, config: TrainConfig, model_kwargs: dict[str, Any], epoch: int,
           model: nn.Module, best_state, best_epoch: int, history, seconds: float, optimizer,
           scaler, completed: bool, test_metrics: dict[str, float] | None = None) -> None:
    """Write the checkpoint (atomically) and its history JSON (rank 0 only when distributed;
    both record ``world_size``, the processes of the run that wrote them)."""
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "architecture": config.architecture,
        "model_kwargs": model_kwargs,
        "config": config.to_dict(),
        "fingerprint": config.fingerprint(),
        "profile": config.profile,
        "completed": completed,
        "epoch": epoch,
        "model_state": _state_copy(model),
        "best_epoch": best_epoch,
        "history": history,
        "train_seconds": seconds,
        "test_metrics": test_metrics,
        "torch_version": str(torch.__version__),
        "world_size": distributed.get_world_size(),
    }
    if not completed:
        payload.update(best_state=best_state, optimizer_state=optimizer.state_dict(),
                       scaler_state=scaler.state_dict(), rng=capture_rng_state())
    save_torch(path, payload)
    write_json(history_path(path), {
        "config": config.to_dict(), "fingerprint": config.fingerprint(), "completed": completed,
        "best_epoch": best_epoch + 1, "history": history, "train_seconds": seconds,
        "test": test_metrics, "checkpoint": path.name,
        "world_size": distributed.get_world_size(),
    })


def load_trained(config: TrainConfig, path: str | Path, payload: dict[str, Any] | None = None,
                 device: torch.device | None = None) -> TrainResult:
    """The finished training of ``config`` stored at ``path`` (checked to match ``config``), on
    ``device``.

    ``payload`` is the checkpoint's content when the caller has read and checked it already;
    ``device`` a resolved device (default: ``config.device`` resolved here).

    Raises :class:`CheckpointError` when the checkpoint is missing, corrupt, unfinished or of
    another configuration.
    """
    path = Path(path)
    if payload is None:
        payload = load_checkpoint(path)
        check_compatible(payload, config, path)
    if not payload["completed"]:
        raise CheckpointError(f"checkpoint {path} is an unfinished training (epoch "
                              f"{payload['epoch']} of {config.epochs}); run train() to resume it")
    if device is None:
        device = devices.resolve_device(config.device)
    model = model_from_checkpoint(payload, config.architecture, map_location=device)
    if devices.use_channels_last(device):
        model.to(memory_format=torch.channels_last)
    return TrainResult(model, config, path, payload["history"], payload["best_epoch"], True,
                       payload["train_seconds"], payload.get("test_metrics"))
