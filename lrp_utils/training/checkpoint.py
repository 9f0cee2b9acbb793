"""Checkpoints: written atomically each epoch, read back with clear errors.

A checkpoint is one ``torch.save`` file (read with ``weights_only=True``, the safe loader)
holding a dict:

``format``            :data:`CHECKPOINT_FORMAT`
``architecture``      ``alexnet`` / ``resnet``; ``model_kwargs`` rebuild the model
``config``            :meth:`TrainConfig.to_dict`; ``fingerprint`` its hash; ``profile`` its name
``completed``         whether all epochs ran
``epoch``             epochs done so far
``model_state``       the selected (best-validation) weights once completed; the latest weights
                      while training
``best_state``        (in progress only) the best weights so far; ``best_epoch`` / ``history``
``optimizer_state``, ``scaler_state``, ``rng``  (in progress only) what resuming needs

The history (loss and accuracy per epoch) is also written as ``<stem>.history.json`` beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from lrp_utils.models import build_model
from lrp_utils.training.config import TrainConfig

#: Identifies our checkpoint files (bump when the layout changes).
CHECKPOINT_FORMAT = "speech-lrp-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is unreadable or belongs to another model, profile or configuration."""


def history_path(checkpoint_path: str | Path) -> Path:
    """``<stem>.history.json`` beside ``<stem>.pt``."""
    path = Path(checkpoint_path)
    return path.with_name(path.stem + ".history.json")


@contextlib.contextmanager
def checkpoint_lock(path: str | Path, poll_s: float = 1.0) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` while training towards ``path``.

    Two processes asking for the same model (say two notebooks) would otherwise both train it and
    overwrite each other's checkpoints; with the lock the second waits (saying so once) and then
    finds the finished checkpoint.  POSIX ``flock``: released by the OS if the process dies.
    """
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    print(f"waiting for another process that is training {Path(path).name} ...",
                          flush=True)
                    told = True
                time.sleep(poll_s)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint; a missing, corrupt or foreign file raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; train it first "
                              f"(lrp_utils.training.ensure_trained)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a torch checkpoint ({type(error).__name__}: "
            f"{str(error)[:200]}); delete it (and its .history.json) to retrain") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a speech-lrp checkpoint (format "
                              f"{payload.get('format') if isinstance(payload, dict) else None!r}, "
                              f"expected {CHECKPOINT_FORMAT!r}); delete or move it")
    return payload


def check_compatible(payload: dict[str, Any], config: TrainConfig, path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless ``payload`` was trained with ``config``.

    Names the first difference: architecture, then profile, then any other field.
    """
    if payload["architecture"] != config.architecture:
        raise CheckpointError(
            f"checkpoint {path} holds a {payload['architecture']!r} model, not "
            f"{config.architecture!r}; pass the checkpoint of the right architecture")
    if payload["profile"] != config.profile:
        raise CheckpointError(
            f"checkpoint {path} was trained for profile {payload['profile']!r}, not "
            f"{config.profile!r}; use artifacts/{config.profile}/ or retrain")
    if payload["fingerprint"] != config.fingerprint():
        recorded, wanted = payload["config"], config.to_dict()
        diffs = [k for k in wanted if k not in ("device", "num_threads", "num_classes")
                 and recorded.get(k) != wanted[k]]
        raise CheckpointError(
            f"checkpoint {path} was trained with a different configuration (differs in: "
            f"{', '.join(diffs) or 'format'}); it is left untouched -- move it away to retrain")


def model_from_checkpoint(path: str | Path | dict[str, Any], architecture: str | None = None,
                          map_location: str | torch.device = "cpu") -> nn.Module:
    """The model of a checkpoint (its selected weights), in eval mode on ``map_location``.

    ``architecture`` (optional) must match the checkpoint's, else :class:`CheckpointError`.
    """
    payload = path if isinstance(path, dict) else load_checkpoint(path, map_location)
    where = "the given checkpoint" if isinstance(path, dict) else str(path)
    if architecture is not None and payload["architecture"] != architecture:
        raise CheckpointError(f"{where} holds a {payload['architecture']!r} model, not "
                              f"{architecture!r}")
    model = build_model(payload["architecture"], **payload["model_kwargs"])
    try:
        model.load_state_dict(payload["model_state"])
    except RuntimeError as error:
        raise CheckpointError(f"{where}: weights do not fit a {payload['architecture']} "
                              f"with {payload['model_kwargs']} ({str(error)[:300]})") from error
    return model.to(map_location).eval()
