"""Which test items an evaluation looks at, and the model's predictions on them.

Explaining and flipping every test spectrogram costs a forward and backward pass per item and per
fraction; on a CPU the notebooks use an evenly spaced selection instead (every speaker and digit of
the sorted test split stays represented), sized by the profile.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from lrp_utils.evaluation._batching import batch_slices, compute_device, dataset_tensors
from lrp_utils.modes import eval_mode


def evenly_spaced(dataset: Dataset, count: int | None, batch_size: int = 64
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, y, indices)`` for ``count`` items of ``dataset`` at evenly spaced indices
    (``round(linspace(0, len - 1, count))``; ``None`` or a count at least the size takes all)."""
    if count is not None and count < 1:
        raise ValueError(f"count must be a positive number of items or None (all), got {count}")
    n = len(dataset)
    if count is None or count >= n:
        indices = torch.arange(n)
    else:
        indices = torch.linspace(0, n - 1, count).round().long()
    x, y = dataset_tensors(Subset(dataset, indices.tolist()), batch_size)
    return x, y, indices


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 64, progress: bool | None = None) -> torch.Tensor:
    """Predicted class of every item of ``x`` (in eval mode, no gradient), on ``x``'s device."""
    device = compute_device(model, x)
    with eval_mode(model):
        with torch.no_grad():
            predictions = [model(x[batch].to(device)).argmax(dim=1).to(x.device)
                           for batch in batch_slices(x.shape[0], batch_size, "predict", progress)]
    return torch.cat(predictions)
