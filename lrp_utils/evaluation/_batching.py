"""Batching helpers shared by every loop here: batch slices with an optional tqdm progress bar,
the device to compute on, and a dataset gathered into tensors."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm  # text bars: notebooks render them without ipywidgets


def batch_slices(n: int, batch_size: int, desc: str, progress: bool | None = None) -> Iterator[slice]:
    """Yield ``slice(start, start + batch_size)`` covering ``range(n)``.

    ``progress``: ``True`` always shows a tqdm bar, ``False`` never, ``None`` only on a terminal.
    """
    starts = range(0, n, batch_size)
    for start in tqdm(starts, desc=desc, leave=False,
                      disable=None if progress is None else not progress):
        yield slice(start, start + batch_size)


def compute_device(model: nn.Module, x: torch.Tensor) -> torch.device:
    """Where to compute: the device of the model's first parameter (or buffer), else ``x.device``."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return x.device


def dataset_tensors(dataset: Dataset, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All ``(x, y)`` of a map-style dataset whose items start with ``(x, y)``, as two tensors."""
    xs, ys = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        if not isinstance(batch, (list, tuple)) or len(batch) < 2:
            raise TypeError("dataset items must be (x, y, ...) tuples; got a batch of type "
                            f"{type(batch).__name__}")
        xs.append(torch.as_tensor(batch[0]))
        ys.append(torch.as_tensor(batch[1]))
    if not xs:
        raise ValueError("dataset is empty")
    return torch.cat(xs), torch.cat(ys).long()
