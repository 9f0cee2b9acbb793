"""The paper's experiments (Sarvaš, sections 4.2 and 4.3) as library functions.

- :func:`pixel_flipping` -- accuracy as the most relevant (or random) bins are set to a baseline
  (section 4.2); :class:`FlippingCurve`, :func:`summarize_curves`.
- :func:`moore_augment`, :func:`moore_augmented_dataset`, :func:`relevance_augmented_dataset` --
  relevance-guided augmentation (section 4.3) and its random-bins control.
- :func:`table1` -- Table 1: accuracy at 0 % and 0.5 % flipped, per model, mean ± std over seeds
  (:func:`flip_each_model` then :func:`table1_from_curves`).
- :func:`run_augmentation_experiment` -- section 4.3 end to end for a profile (train, augment,
  fine-tune through :mod:`lrp_utils.training`, Table 1 with the clean and random-Moore controls);
  :func:`compare_with_control`, :func:`spread_verdict` (paired per-seed verdicts).
- Beyond the paper, imported from their modules: :mod:`~lrp_utils.evaluation.methods` (ten
  attribution methods, Captum for the non-LRP ones), :mod:`~lrp_utils.evaluation.faithfulness`
  (MoRF / LeRF curves and their gap), :mod:`~lrp_utils.evaluation.sharded` (explaining and
  flipping over torchrun ranks).
- Building blocks shared by all of them: :func:`flip_count`, :func:`bin_ranks`,
  :func:`top_fraction_mask` (which bins), :func:`moore_mean` (the neighbourhood mean),
  :func:`baseline_values`, :func:`explain_batched` (LRP for a whole set, in batches, through one
  :func:`batch_explainer` per model).
- What the chapters read off the results: :func:`evenly_spaced`, :func:`predict`,
  :func:`probabilities`, :func:`first_correct` (which items), :func:`curves_table` (curves side by
  side), :func:`positive_share`, :func:`class_groups`, :func:`relevance_per_frequency`,
  :func:`class_relevance_profiles` and
  :func:`summarize_frequency_profiles` (relevance summaries); :func:`voice_bands`,
  :func:`positive_share_per_band`, :func:`band_level`, :func:`band_level_per_split` (relevance
  and spectrogram level per frequency band, next to the voices' f0 and the recording channel);
  :func:`recordings_of`, :func:`speaker_counts` (who is in a split); :func:`fold_accuracies`
  (the gender test accuracy of one AlexNet per speaker fold); :class:`ShortcutEvidence` (whether
  the relevance below a cut-off is a shortcut through the recording channel).
"""

from lrp_utils.evaluation.augmentation import moore_augment, moore_augmented_dataset, relevance_augmented_dataset
from lrp_utils.evaluation.frequency_bands import (
    FORMANT_REGION_HZ,
    band_level,
    band_level_per_split,
    positive_share_per_band,
    voice_bands,
)
from lrp_utils.evaluation.experiment import AugmentationExperiment, run_augmentation_experiment
from lrp_utils.evaluation.folds import fold_accuracies
from lrp_utils.evaluation.neighbourhood import moore_mean
from lrp_utils.evaluation.pixel_flipping import (
    BASELINES,
    FlippingCurve,
    baseline_values,
    curves_table,
    flip_top,
    pixel_flipping,
    summarize_curves,
)
from lrp_utils.evaluation.relevance import (
    batch_explainer,
    default_composite,
    explain_batch,
    explain_batched,
)
from lrp_utils.evaluation.relevance_summary import (
    BELOW_1KHZ,
    class_groups,
    class_relevance_profiles,
    positive_share,
    relevance_per_frequency,
    summarize_frequency_profiles,
)
from lrp_utils.evaluation.sampling import evenly_spaced, first_correct, predict, probabilities
from lrp_utils.evaluation.shortcut import ShortcutEvidence
from lrp_utils.evaluation.speakers import recordings_of, speaker_counts
from lrp_utils.evaluation.selection import ORDERS, bin_ranks, flip_count, top_fraction_mask
from lrp_utils.evaluation.table import (TABLE1_ROWS, compare_with_control, flip_each_model, spread_verdict,
                                        table1, table1_from_curves)

__all__ = [
    "AugmentationExperiment", "BASELINES", "TABLE1_ROWS", "compare_with_control", "moore_augmented_dataset",
    "spread_verdict", "BELOW_1KHZ", "FORMANT_REGION_HZ", "FlippingCurve", "ORDERS", "ShortcutEvidence", "band_level", "band_level_per_split", "baseline_values",
    "batch_explainer", "bin_ranks", "class_groups", "class_relevance_profiles", "curves_table", "default_composite", "evenly_spaced", "explain_batch", "explain_batched",
    "first_correct", "flip_count", "fold_accuracies", "flip_each_model", "flip_top", "moore_augment", "moore_mean",
    "pixel_flipping", "positive_share", "positive_share_per_band", "predict", "probabilities", "recordings_of", "relevance_augmented_dataset",
    "relevance_per_frequency", "run_augmentation_experiment", "speaker_counts", "summarize_curves",
    "summarize_frequency_profiles", "table1", "table1_from_curves", "top_fraction_mask", "voice_bands",
]
