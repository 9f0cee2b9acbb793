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
from lrp_utils.evaluation._checks import check_labels
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
    return _outputs(model, x, batch_size, "predict", progress).argmax(dim=1)


def probabilities(model: nn.Module, x: torch.Tensor, batch_size: int = 64,
                  progress: bool | None = None) -> torch.Tensor:
    """``softmax`` of the model's logits for every item of ``x``: ``(N, classes)`` on ``x``'s
    device (in eval mode, no gradient)."""
    return _outputs(model, x, batch_size, "probabilities", progress).softmax(dim=1)


def _outputs(model: nn.Module, x: torch.Tensor, batch_size: int, desc: str,
             progress: bool | None) -> torch.Tensor:
    """The model's logits for ``x``, batch by batch on the model's device, gathered on ``x``'s."""
    device = compute_device(model, x)
    with eval_mode(model):
        with torch.no_grad():
            logits = [model(x[batch].to(device)).to(x.device)
                      for batch in batch_slices(x.shape[0], batch_size, desc, progress)]
    return torch.cat(logits)


def first_correct(predicted: torch.Tensor, y: torch.Tensor, label: int | None = None) -> int:
    """Position of the first item that is classified correctly (``predicted[i] == y[i]``) and,
    when ``label`` is given, belongs to that class.

    Raises ``ValueError`` when there is none: the model has not learned to recognise the class.
    """
    check_labels(predicted, y)
    check_labels(y, predicted, "predicted")
    hits = predicted.to(y.device) == y
    if label is not None:
        hits &= y == label
    positions = torch.nonzero(hits).flatten()
    if len(positions) == 0:
        which = "item" if label is None else f"item of class {label} ({int((y == label).sum())} given)"
        raise ValueError(f"the model classifies no {which} of these {len(y)} correctly: it has not "
                         f"learned the task; train it longer or look at more items")
    return int(positions[0])
