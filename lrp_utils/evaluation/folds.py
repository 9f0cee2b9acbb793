"""Gender test accuracy over several speaker folds (chapter 2): one AlexNet per fold.

One split of the speakers says little: a few test speakers with an unusual voice or microphone
move the accuracy by several points. :func:`fold_accuracies` trains (or loads) the gender AlexNet
of each fold and tests it on that fold's unseen speakers.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd
import torch

from lrp_utils.data import ResolvedCorpus, profile_datasets
from lrp_utils.evaluation.speakers import speaker_counts
from lrp_utils.profiles import Profile
from lrp_utils.training import ensure_trained, evaluate


def fold_accuracies(profile: Profile, corpus: ResolvedCorpus, folds: Iterable[int] | None = None,
                    device: str | torch.device = "cpu", batch_size: int = 64) -> pd.DataFrame:
    """Test accuracy of the gender AlexNet of every fold in ``folds`` (default ``profile.folds``).

    Fold ``k``'s model is ``ensure_trained(profile.with_overrides(fold=k), "alexnet")`` (trained
    once, then loaded) and is tested on fold ``k``'s test split of ``corpus``. Returns one row per
    fold (index ``fold``): ``train speakers (F / M)``, ``test speakers (F / M)``,
    ``test recordings`` and ``test accuracy`` (a fraction).
    """
    rows = {}
    for fold in profile.folds if folds is None else folds:
        fold_profile = profile.with_overrides(fold=int(fold))
        model = ensure_trained(fold_profile, "alexnet", progress=False).model.to(device)
        datasets = profile_datasets(fold_profile, "alexnet", corpus, progress=False)
        counts = speaker_counts(datasets)
        rows[int(fold)] = {
            **{f"{split} speakers (F / M)": f"{counts.loc[split, 'female speakers']} / {counts.loc[split, 'male speakers']}"
               for split in ("train", "test")},
            "test recordings": int(counts.loc["test", "recordings"]),
            "test accuracy": evaluate(model, datasets["test"], batch_size=batch_size, device=device)["accuracy"],
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("fold")
