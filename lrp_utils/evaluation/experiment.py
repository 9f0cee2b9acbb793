"""The whole augmentation experiment of paper section 4.3, for one profile: train, augment,
fine-tune, tabulate.

For each seed of the profile: the gender AlexNet is trained (or loaded) by
:func:`lrp_utils.training.ensure_trained`; its training set is explained and augmented by
:func:`~lrp_utils.evaluation.augmentation.relevance_augmented_dataset` (cached); the model is
fine-tuned on the augmented set by :func:`lrp_utils.training.finetune` (validation and test sets
unchanged).  The original and the fine-tuned models are then flipped, each with its own relevance,
on the profile's evenly spaced selection of ``evaluation_samples`` test spectrograms (all of them
when it is ``None``, as in the paper profile), over the profile's ``flip_fractions`` and the
augmentation fraction; Table 1 (:func:`~lrp_utils.evaluation.table.table1_from_curves`) and
Figure 6 both come from these curves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from torch.utils.data import Dataset

from lrp_utils import io
from lrp_utils.data import ResolvedCorpus, profile_datasets, resolve_corpus
from lrp_utils.evaluation._hashing import content_key
from lrp_utils.evaluation.augmentation import relevance_augmented_dataset
from lrp_utils.evaluation.relevance import ExplainFn, resolve_explainer
from lrp_utils.evaluation.pixel_flipping import FlippingCurve
from lrp_utils.evaluation.sampling import evenly_spaced
from lrp_utils.evaluation.table import flip_each_model, table1_from_curves
from lrp_utils.profiles import Profile, get_profile
from lrp_utils.training import ensure_trained, finetune


@dataclass
class AugmentationExperiment:
    """What :func:`run_augmentation_experiment` returns.

    ``table`` is Table 1; ``curves`` maps its rows (``"AlexNet"``, ``"AlexNet_augmented"``) to
    one :class:`~lrp_utils.evaluation.pixel_flipping.FlippingCurve` per seed (Figure 6; fractions:
    0, the augmentation fraction and the profile's ``flip_fractions``); ``original`` and
    ``augmented`` are the per-seed :class:`lrp_utils.training.TrainResult` objects; ``seconds`` the
    wall time of each step (``train``, ``augment``, ``finetune``, ``table``) summed over seeds.
    """

    table: pd.DataFrame
    curves: dict[str, list[FlippingCurve]]
    original: list[Any]
    augmented: list[Any]
    seconds: dict[str, float] = field(default_factory=dict)


def run_augmentation_experiment(profile: Any = "cpu", *, composite: Any = None,
                                explain_fn: ExplainFn | None = None,
                                datasets: Mapping[str, Dataset] | None = None,
                                data_source: ResolvedCorpus | str | None = None,
                                artifacts_dir: str | Path | None = None, progress: bool = True,
                                **overrides: Any) -> AugmentationExperiment:
    """Train, augment (``profile.augment_fraction``), fine-tune and build Table 1, per seed.

    ``profile`` is a :class:`lrp_utils.profiles.Profile` or its name, with ``overrides`` applied;
    ``datasets`` (``train``/``validation``/``test``) default to the profile's gender split of
    its corpus (resolved, and generated if missing, by :func:`lrp_utils.data.resolve_corpus`);
    given datasets need ``data_source``, the name :func:`lrp_utils.training.ensure_trained` gives
    the trained models' checkpoints (the resolved corpus they come from, or a name of your own).
    Trained, fine-tuned and augmented artifacts are reused when they exist
    (``<artifacts>/<profile>/models`` and ``.../cache/augmentation``).  The fine-tuning tag
    encodes the augmentation settings, so another composite or fraction fine-tunes anew.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    profile = profile.with_overrides(**overrides)
    if datasets is None:
        data_source = resolve_corpus(profile, progress)
        datasets = profile_datasets(profile, "alexnet", data_source, progress=progress)
    if isinstance(data_source, ResolvedCorpus):
        profile = profile.for_corpus(data_source.kind)
    composite, explain_fn = resolve_explainer(composite, explain_fn)
    settings = content_key(fraction=profile.augment_fraction, composite=repr(composite),
                           explain_fn=f"{explain_fn.__module__}.{explain_fn.__qualname__}")
    tag = f"relevance-{settings[:10]}"
    cache_dir = Path(artifacts_dir or io.ARTIFACTS_DIR) / profile.name / "cache" / "augmentation"

    seconds = dict.fromkeys(("train", "augment", "finetune", "table"), 0.0)
    original, augmented = [], []
    for seed in profile.seeds:
        start = time.perf_counter()
        base = ensure_trained(profile, "alexnet", seed=seed, datasets=datasets,
                              data_source=data_source, artifacts_dir=artifacts_dir,
                              progress=progress)
        seconds["train"] += time.perf_counter() - start

        start = time.perf_counter()
        train_augmented = relevance_augmented_dataset(
            base.model, datasets["train"], composite, profile.augment_fraction,
            profile.explain_batch_size, cache_dir=cache_dir, explain_fn=explain_fn,
            progress=progress)
        seconds["augment"] += time.perf_counter() - start

        start = time.perf_counter()
        tuned = finetune(profile, base, {**datasets, "train": train_augmented}, tag=tag,
                         seed=seed, artifacts_dir=artifacts_dir, progress=progress)
        seconds["finetune"] += time.perf_counter() - start
        original.append(base)
        augmented.append(tuned)

    start = time.perf_counter()
    x_test, y_test, _ = evenly_spaced(datasets["test"], profile.evaluation_samples, profile.explain_batch_size)
    fractions = sorted({0.0, profile.augment_fraction, *profile.flip_fractions})
    curves = flip_each_model({"AlexNet": [r.model for r in original],
                              "AlexNet_augmented": [r.model for r in augmented]},
                             x_test, y_test, fractions, composite, profile.flip_baseline,
                             profile.explain_batch_size, explain_fn, progress)
    table = table1_from_curves(curves, profile.augment_fraction)
    seconds["table"] = time.perf_counter() - start
    return AugmentationExperiment(table, curves, original, augmented, seconds)
