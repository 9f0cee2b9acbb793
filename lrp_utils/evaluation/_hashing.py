"""Content hashes for cache keys: a model's weights, tensors and plain parameters."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch
from torch import nn


def _update_with_tensor(hasher: "hashlib._Hash", name: str, tensor: torch.Tensor) -> None:
    tensor = tensor.detach().to("cpu").contiguous()
    hasher.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
    hasher.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())


def content_key(model: nn.Module | None = None, tensors: dict[str, torch.Tensor] | None = None,
                **params: Any) -> str:
    """SHA-256 hex digest of a model's ``state_dict``, named tensors and JSON-able ``params``.

    Two calls give the same key exactly when the weights (names, dtypes, shapes, bytes), the
    tensors and the parameters are the same -- wherever the tensors live.
    """
    hasher = hashlib.sha256()
    if model is not None:
        for name, tensor in sorted(model.state_dict().items()):
            _update_with_tensor(hasher, f"model.{name}", tensor)
    for name, tensor in sorted((tensors or {}).items()):
        _update_with_tensor(hasher, name, tensor)
    hasher.update(json.dumps(params, sort_keys=True, default=repr).encode())
    return hasher.hexdigest()
