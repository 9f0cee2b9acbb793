"""Does LRP expose a shortcut through the recording channel? (chapter 2, real speech)

Below every speaker's f0 a spectrogram holds what the recording adds (DC offset, mains hum,
rumble). A network uses such a cue as a shortcut when three things hold at once:

1. its evidence sits there: at least ``min_share`` of a class's positive mean relevance lies
   below the cut-off;
2. the cue separates the genders of the training speakers better than those of the test speakers
   (it is a property of the sessions, not of the voices): ``|AUC_train - 0.5|`` exceeds
   ``|AUC_test - 0.5|`` by more than ``margin``;
3. removing the channel removes the evidence: a model trained on high-passed recordings puts at
   most half as large a share there.

When 1 holds but 3 does not, the evidence below the cut-off survives the filter, so it is not the
channel: LRP's input rules give a bin relevance in proportion to its (dB) value, and the filtered
rows are equally quiet in every recording.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShortcutEvidence:
    """What chapter 2 measures; see the module docstring for the criteria."""

    #: the largest share of a class's positive mean relevance below the cut-off (original model)
    share_before: float
    #: the same class's share for the model trained on high-passed recordings
    share_after: float
    #: AUC (female > male) of the low-band level among the training and the test speakers
    auc_train: float
    auc_test: float
    min_share: float = 0.2
    margin: float = 0.05

    @property
    def evidence_below_cutoff(self) -> bool:
        return self.share_before >= self.min_share

    @property
    def cue_in_training_speakers_only(self) -> bool:
        return abs(self.auc_train - 0.5) > abs(self.auc_test - 0.5) + self.margin

    @property
    def removed_by_highpass(self) -> bool:
        return self.share_after <= self.share_before / 2

    def verdict(self) -> str:
        """One of three readings, as words for the book."""
        if not self.evidence_below_cutoff:
            return "no shortcut through the recording channel: little of the evidence lies below the cut-off"
        if self.cue_in_training_speakers_only and self.removed_by_highpass:
            return ("a shortcut through the recording channel: the evidence below the cut-off goes with "
                    "the high-pass, and the cue there separates the training speakers' genders only")
        if not self.removed_by_highpass:
            return ("evidence below the cut-off that the high-pass does not remove, so it is not the "
                    "recording channel but how the input rule scores quiet bins")
        return ("evidence below the cut-off that the high-pass removes, but a low-band cue that separates "
                "the test speakers' genders as well as the training speakers': not a shortcut of the "
                "training speakers alone")
