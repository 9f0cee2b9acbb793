"""Module modes: run a model in evaluation mode and give every module its flag back."""

from __future__ import annotations

import contextlib
from typing import Iterator

from torch import nn


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluate ``model`` in eval mode (no dropout, BatchNorm running statistics) and restore each
    module's ``training`` flag afterwards, also on error (``model.train(flag)`` would set the
    top-level flag on every submodule and lose a frozen submodule's own)."""
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        yield model
    finally:
        for module, flag in flags:
            module.training = flag
