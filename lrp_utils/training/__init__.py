"""Resumable, deterministic training of the paper's two models.

- :class:`TrainConfig` -- what a run is; its fingerprint names its artifacts.
- :func:`train` -- Adam + cross-entropy, model selection on validation, a checkpoint per epoch,
  resume, fine-tuning (``init_from=``).
- :func:`evaluate` -- loss and accuracy of a model on a dataset.
- :func:`ensure_trained` / :func:`finetune` -- a profile's model from ``artifacts/<profile>/``,
  trained first if it is not there (its datasets come from :func:`lrp_utils.data.profile_datasets`).
- :func:`load_checkpoint`, :func:`model_from_checkpoint`, :class:`CheckpointError`.
"""

from lrp_utils.training.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, check_compatible,
                                           history_path, load_checkpoint, model_from_checkpoint)
from lrp_utils.training.config import TrainConfig
from lrp_utils.training.ensure import (CALLER_PROVIDED, checkpoint_path, ensure_trained, finetune,
                                       model_config, models_dir)
from lrp_utils.training.loop import (TrainResult, evaluate, infer_num_classes, load_trained,
                                     train)

__all__ = [
    "CALLER_PROVIDED", "CHECKPOINT_FORMAT", "CheckpointError", "TrainConfig", "TrainResult",
    "check_compatible", "checkpoint_path", "ensure_trained", "evaluate", "finetune", "history_path",
    "infer_num_classes", "load_checkpoint", "load_trained", "model_config", "model_from_checkpoint",
    "models_dir", "train",
]
