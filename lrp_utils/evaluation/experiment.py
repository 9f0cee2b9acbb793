"""The whole augmentation experiment of paper section 4.3, for one profile, with its two
controls: train, augment, fine-tune, tabulate.

For each seed of the profile the gender AlexNet is trained (or loaded) by
:func:`lrp_utils.training.ensure_trained` and fine-tuned three times by
:func:`lrp_utils.training.finetune`, each from the same base model, for the same
``finetune_epochs`` at the same ``finetune_lr``, with the same validation and test sets
(the rows of :data:`~lrp_utils.evaluation.table.TABLE1_ROWS`):

- on the unaugmented training set (``AlexNet_finetuned``: more training, no augmentation);
- on the training set with ``k = floor(p * M + 1/2)`` uniformly random bins per spectrogram
  replaced by their Moore mean (``AlexNet_random_augmented``: augmentation without relevance,
  the bins seeded by the seed);
- on the training set with its ``k`` most relevant bins (the base model's LRP relevance)
  replaced by their Moore mean (``AlexNet_augmented``: the paper's).

Both augmented sets come from
:func:`~lrp_utils.evaluation.augmentation.moore_augmented_dataset` (cached), ``p`` is the
profile's ``augment_fraction``.  All four models are then flipped, each with its own relevance, on
the profile's evenly spaced selection of ``evaluation_samples`` test spectrograms (all of them
when it is ``None``, as in the paper profile), over the profile's ``flip_fractions`` and the
augmentation fraction; Table 1 (:func:`~lrp_utils.evaluation.table.table1_from_curves`) and
Figure 6 both come from these curves, and
:func:`~lrp_utils.evaluation.table.compare_with_control` reads the paired per-seed comparison
off the table.
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
from lrp_utils.evaluation.augmentation import moore_augmented_dataset
from lrp_utils.evaluation.pixel_flipping import FlippingCurve
from lrp_utils.evaluation.relevance import ExplainFn, resolve_explainer
from lrp_utils.evaluation.sampling import evenly_spaced
from lrp_utils.evaluation.table import (
    AUGMENTED,
    FINETUNED,
    ORIGINAL,
    RANDOM_AUGMENTED,
    flip_each_model,
    table1_from_curves,
)
from lrp_utils.profiles import Profile, get_profile
from lrp_utils.training import TrainResult, ensure_trained, finetune


@dataclass
class AugmentationExperiment:
    """What :func:`run_augmentation_experiment` returns.

    ``table`` is Table 1 with the rows of :data:`~lrp_utils.evaluation.table.TABLE1_ROWS`;
    ``curves`` maps the same rows to one
    :class:`~lrp_utils.evaluation.pixel_flipping.FlippingCurve` per seed (Figure 6; fractions: 0,
    the augmentation fraction and the profile's ``flip_fractions``); ``original``, ``finetuned``
    (clean data), ``random_augmented`` and ``augmented`` (relevance) are the per-seed
    :class:`lrp_utils.training.TrainResult` objects of the four rows; ``seconds`` the wall time of
    each step (``train``, ``augment``, ``augment_random``, ``finetune``, ``finetune_clean``,
    ``finetune_random``, ``table``) summed over seeds.
    """

    table: pd.DataFrame
    curves: dict[str, list[FlippingCurve]]
    original: list[TrainResult]
    finetuned: list[TrainResult]
    random_augmented: list[TrainResult]
    augmented: list[TrainResult]
    seconds: dict[str, float] = field(default_factory=dict)


def run_augmentation_experiment(profile: Any = "cpu", *, composite: Any = None,
                                explain_fn: ExplainFn | None = None,
                                datasets: Mapping[str, Dataset] | None = None,
                                data_source: ResolvedCorpus | str | None = None,
                                artifacts_dir: str | Path | None = None, progress: bool = True,
                                **overrides: Any) -> AugmentationExperiment:
    """Train, fine-tune three ways (clean, random-Moore, relevance-Moore) and build Table 1, per seed.

    ``profile`` is a :class:`lrp_utils.profiles.Profile` or its name, with ``overrides`` applied;
    ``datasets`` (``train``/``validation``/``test``) default to the profile's gender split of
    its corpus (resolved, and generated if missing, by :func:`lrp_utils.data.resolve_corpus`);
    given datasets need ``data_source``, the name :func:`lrp_utils.training.ensure_trained` gives
    the trained models' checkpoints (the resolved corpus they come from, or a name of your own).
    ``composite`` / ``explain_fn`` explain the training set for the relevance-guided augmentation
    and the test set for flipping.  Trained, fine-tuned and augmented artifacts are reused when
    they exist (``<artifacts>/<profile>/models`` and ``.../cache/augmentation``).  Each
    fine-tuning has its own tag: ``clean``, ``random-<key>`` and ``relevance-<key>``, the keys
    encoding the augmentation settings, so another composite or fraction fine-tunes anew.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    profile = profile.with_overrides(**overrides)
    if datasets is None:
        data_source = resolve_corpus(profile, progress)
        datasets = profile_datasets(profile, "alexnet", data_source, progress=progress)
    if isinstance(data_source, ResolvedCorpus):
        profile = profile.for_corpus(data_source.kind)
    composite, explain_fn = resolve_explainer(composite, explain_fn)
    fraction = profile.augment_fraction
    relevance_key = content_key(fraction=fraction, composite=repr(composite),
                                explain_fn=f"{explain_fn.__module__}.{explain_fn.__qualname__}")
    random_key = content_key(fraction=fraction, order="random")
    tags = {FINETUNED: "clean", RANDOM_AUGMENTED: f"random-{random_key[:10]}",
            AUGMENTED: f"relevance-{relevance_key[:10]}"}
    cache_dir = Path(artifacts_dir or io.ARTIFACTS_DIR) / profile.name / "cache" / "augmentation"

    seconds = dict.fromkeys(("train", "augment", "augment_random", "finetune", "finetune_clean",
                             "finetune_random", "table"), 0.0)

    def timed(step: str, compute, *args, **kwargs):
        start = time.perf_counter()
        result = compute(*args, **kwargs)
        seconds[step] += time.perf_counter() - start
        return result

    models: dict[str, list[TrainResult]] = {row: [] for row in (ORIGINAL, *tags)}
    for seed in profile.seeds:
        base = timed("train", ensure_trained, profile, "alexnet", seed=seed, datasets=datasets,
                     data_source=data_source, artifacts_dir=artifacts_dir, progress=progress)
        common = dict(batch_size=profile.explain_batch_size, cache_dir=cache_dir, progress=progress)
        train_sets = {
            FINETUNED: datasets["train"],
            RANDOM_AUGMENTED: timed("augment_random", moore_augmented_dataset, datasets["train"],
                                    fraction, "random", seed=seed, **common),
            AUGMENTED: timed("augment", moore_augmented_dataset, datasets["train"], fraction,
                             "relevance", model=base.model, composite=composite,
                             explain_fn=explain_fn, **common),
        }
        models[ORIGINAL].append(base)
        for row, step in ((FINETUNED, "finetune_clean"), (RANDOM_AUGMENTED, "finetune_random"),
                          (AUGMENTED, "finetune")):
            models[row].append(timed(step, finetune, profile, base,
                                     {**datasets, "train": train_sets[row]}, tag=tags[row],
                                     seed=seed, artifacts_dir=artifacts_dir, progress=progress))

    start = time.perf_counter()
    x_test, y_test, _ = evenly_spaced(datasets["test"], profile.evaluation_samples, profile.explain_batch_size)
    fractions = sorted({0.0, fraction, *profile.flip_fractions})
    curves = flip_each_model({row: [r.model for r in runs] for row, runs in models.items()},
                             x_test, y_test, fractions, composite, profile.flip_baseline,
                             profile.explain_batch_size, explain_fn, progress)
    table = table1_from_curves(curves, fraction)
    seconds["table"] = time.perf_counter() - start
    return AugmentationExperiment(table, curves, models[ORIGINAL], models[FINETUNED],
                                  models[RANDOM_AUGMENTED], models[AUGMENTED], seconds)
