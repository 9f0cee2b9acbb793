"""What one training run is: :class:`TrainConfig`, its fingerprint and the artifact name."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from lrp_utils.models import ARCHITECTURES

#: Fields that do not change the trained weights (where it runs, how fast); left out of the
#: fingerprint so that a checkpoint trained on one device loads on another.
_RUNTIME_FIELDS = ("device", "num_threads", "num_classes")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the weights a training run produces.

    Attributes
    ----------
    architecture: a key of :data:`lrp_utils.models.ARCHITECTURES` (``alexnet`` or ``resnet``).
    model_kwargs: keyword arguments of the model besides its class count (e.g. ``{"init":
        "torch"}``, ``{"base_width": 16}``).
    epochs, batch_size, lr: Adam training (the paper: lr 1e-4) with cross-entropy.
    seed: seeds initialisation, shuffling, dropout and augmentation noise (per epoch, see
        :mod:`lrp_utils.seeding`).
    profile: name of the profile the run belongs to (checked when a checkpoint is loaded).
    tag: a short readable name of the task and data (``gender``, ``speaker``,
        ``finetune-relevance``...) used in the file name.
    data: a description of the training data (corpus, fold, limits, ...), part of the
        fingerprint so that different data never share a checkpoint.
    init_from: fingerprint of the checkpoint fine-tuned from (``None``: from scratch).
    weight_decay: Adam's L2 penalty (0: the paper states none).
    mixed_precision: float16 autocast + GradScaler on CUDA (changes the weights: fingerprinted).
    device, num_threads, num_classes: run-time choices, not fingerprinted; ``num_classes`` is
        inferred from the data when ``None``.
    """

    architecture: str
    epochs: int
    batch_size: int
    lr: float
    seed: int = 0
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    profile: str = "custom"
    tag: str = "run"
    data: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None
    weight_decay: float = 0.0
    mixed_precision: bool = False
    device: str = "auto"
    num_threads: int | None = None
    num_classes: int | None = None

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"TrainConfig: unknown architecture {self.architecture!r}; valid: "
                             f"{', '.join(ARCHITECTURES)}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig: {name} must be a positive integer, got {value!r}")
        for name, low in (("lr", 0.0), ("weight_decay", None)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or (
                    value <= 0 if low is not None else value < 0):
                raise ValueError(f"TrainConfig: {name} must be a {'positive' if low is not None else 'non-negative'} "
                                 f"finite number, got {value!r}")
        if not self.tag or not all(c.isalnum() or c in "-_." for c in self.tag):
            raise ValueError(f"TrainConfig: tag must be a non-empty name of letters, digits and "
                             f"'-_.', got {self.tag!r} (it becomes part of a file name)")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a JSON-serialisable dict."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))

    def fingerprint(self) -> str:
        """A 12-hex-digit hash of every field that determines the weights."""
        identity = {k: v for k, v in self.to_dict().items() if k not in _RUNTIME_FIELDS}
        blob = json.dumps(identity, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def stem(self) -> str:
        """The artifact name: ``<architecture>-<tag>-seed<seed>-<fingerprint>``."""
        return f"{self.architecture}-{self.tag}-seed{self.seed}-{self.fingerprint()}"
