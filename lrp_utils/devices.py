"""Device choice, mixed precision and memory format for training and explaining.

``auto`` picks CUDA, then Apple's MPS, then the CPU.  Mixed precision (float16 autocast with a
gradient scaler) is used only on CUDA and only when asked.  Channels-last memory format is used
on CUDA, where cuDNN's convolutions are faster with it; on the CPU ``benchmarks/train_speed.py``
measured no consistent gain (see ``benchmarks/results/train_speed.md``), so it stays off there.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The ``torch.device`` for ``name``: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda[:N]``,
    ``mps``.  Asking for an absent accelerator is a ValueError that says what is available."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif _mps_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but torch sees no CUDA GPU here; use "
                             f"device='auto' or 'cpu'")
        # cuBLAS needs this for deterministic matrix products (torch's reproducibility notes).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    elif name == "mps" and not _mps_available():
        raise ValueError("device 'mps' asked for, but torch sees no Apple MPS device here; use "
                         "device='auto' or 'cpu'")
    elif name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; valid: auto, cpu, cuda, cuda:N, mps")
    return torch.device(name)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def use_channels_last(device: torch.device) -> bool:
    """Whether 4-D activations should be channels-last on ``device`` (CUDA only, see above)."""
    return device.type == "cuda"


def amp_enabled(device: torch.device, mixed_precision: bool) -> bool:
    """Mixed precision is used only on CUDA and only when asked."""
    return bool(mixed_precision) and device.type == "cuda"


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    """float16 autocast on CUDA when ``enabled``; a no-op otherwise."""
    if enabled:
        with torch.autocast(device_type=device.type, dtype=torch.float16):
            yield
    else:
        yield


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with ``num_threads`` torch CPU threads (``None``: leave as is)."""
    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
