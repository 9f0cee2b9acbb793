"""Build a model from an architecture name and keyword arguments (what a checkpoint records)."""

from __future__ import annotations

from typing import Any

from torch import nn

from lrp_utils.models.alexnet import AlexNet
from lrp_utils.models.resnet import SpeakerResNet

#: Architecture names accepted by :func:`build_model`.
ARCHITECTURES: dict[str, type[nn.Module]] = {"alexnet": AlexNet, "resnet": SpeakerResNet}


def build_model(architecture: str, **kwargs: Any) -> nn.Module:
    """Instantiate ``architecture`` (a key of :data:`ARCHITECTURES`) with ``kwargs``."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; valid: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
