"""How the notebooks name a recording (lrp_utils.report.recording_label)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from lrp_utils.report import recording_label


def test_recording_label_names_speaker_digit_and_repetition():
    recording = SimpleNamespace(path=Path("3_07_12.wav"), speaker="07", digit=3, repetition=12)
    assert recording_label(recording) == "speaker 07, digit 3, repetition 12"


def test_recording_label_leaves_out_a_missing_digit():
    recording = SimpleNamespace(path=Path("a.wav"), speaker="f01", digit=None, repetition=4)
    assert recording_label(recording) == "speaker f01, repetition 4"
