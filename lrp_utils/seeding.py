"""Seeds and random-number-generator states: every random choice of the project is seeded.

Training reseeds all generators at the start of every epoch from ``(seed, epoch)``
(:func:`derive_seed`), so an epoch's shuffling, dropout masks and augmentation noise depend only
on the seed and the epoch number -- which is what lets an interrupted training resume to exactly
the weights of an uninterrupted one.  The full generator states are also captured in every
checkpoint (:func:`capture_rng_state` / :func:`restore_rng_state`).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from typing import Any, Iterator

import numpy as np
import torch


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed derived deterministically from ``parts`` (e.g. ``(seed, "epoch", 3)``).

    Uses SHA-256 of the parts' ``repr`` so that nearby seeds give unrelated streams and the
    result does not depend on Python's per-process string hashing.
    """
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device)."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds all CUDA devices


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator seeded with ``seed`` (for DataLoader shuffling, initialisation, ...)."""
    return torch.Generator(device=device).manual_seed(int(seed))


def capture_rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's global generators (CPU and CUDA).

    Only plain Python values and tensors, so that ``torch.load(..., weights_only=True)`` -- the
    safe loader -- can read a checkpoint holding it.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` captured."""
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool = True) -> Iterator[None]:
    """Ask torch for deterministic kernels (and cuDNN without autotuning) inside the block.

    ``warn_only=True``: an operation without a deterministic implementation warns instead of
    failing.  CUDA's cuBLAS additionally needs ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` set before the
    first CUDA call; :func:`lrp_utils.devices.resolve_device` sets it when it is unset.
    The previous settings are restored on exit.
    """
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled and previous[3]
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous[2:]
