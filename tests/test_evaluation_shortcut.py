"""ShortcutEvidence: the three criteria of chapter 2 and the reading each combination gets."""

import pytest

from lrp_utils.evaluation import ShortcutEvidence


@pytest.mark.parametrize("before, after, auc_train, auc_test, expected", [
    (0.10, 0.05, 0.72, 0.52, "no shortcut"),                  # little evidence below the cut-off
    (0.50, 0.10, 0.72, 0.52, "a shortcut through"),           # all three criteria
    (0.50, 0.26, 0.72, 0.52, "does not remove"),              # the filter leaves more than half
    (0.50, 0.60, 0.28, 0.49, "does not remove"),              # AUC below 0.5 counts as separating too
    (0.50, 0.10, 0.60, 0.62, "as well as the training"),      # the cue is in the test speakers too
])
def test_verdicts(before, after, auc_train, auc_test, expected):
    assert expected in ShortcutEvidence(before, after, auc_train, auc_test).verdict()


def test_criteria_at_their_edges():
    edge = ShortcutEvidence(share_before=0.2, share_after=0.1, auc_train=0.56, auc_test=0.5)
    assert edge.evidence_below_cutoff and edge.removed_by_highpass  # >= min_share, <= half
    assert edge.cue_in_training_speakers_only  # 0.06 > 0.0 + 0.05
    assert not ShortcutEvidence(0.2, 0.1, 0.54, 0.5).cue_in_training_speakers_only  # 0.04 is not more
