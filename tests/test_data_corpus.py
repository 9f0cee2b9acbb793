"""Loaders of AudioMNIST-format corpora and FSDD, and their verification."""

import json
import numpy as np
import pytest

from lrp_utils.data import CorpusError, load_audiomnist, load_fsdd, read_meta, verify_audiomnist, write_wav
from lrp_utils.data import corpus as corpus_module
from lrp_utils.data.corpus import verify_fsdd


def make_audiomnist(root, speakers=("01", "02"), reps=2, genders=("male", "female")):
    """A tiny AudioMNIST-format corpus with 20-sample wav files."""
    data = root / "data"
    meta = {s: {"gender": g, "age": "30"} for s, g in zip(speakers, genders)}
    for s in speakers:
        for d in range(10):
            for r in range(reps):
                write_wav(data / s / f"{d}_{s}_{r}.wav", np.full(20, 0.1), 48000)
    (data / "audioMNIST_meta.txt").write_text(json.dumps(meta))
    return root


def test_load_from_root_or_data_folder(tmp_path):
    root = make_audiomnist(tmp_path)
    recordings = load_audiomnist(root)
    assert recordings == load_audiomnist(root / "data")
    assert len(recordings) == 40
    first = recordings[0]
    assert (first.digit, first.speaker, first.gender, first.repetition) == (0, "01", "male", 0)
    assert {r.gender for r in recordings if r.speaker == "02"} == {"female"}
    assert all(r.path.name == f"{r.digit}_{r.speaker}_{r.repetition}.wav" for r in recordings)


def test_missing_meta_is_a_clear_error(tmp_path):
    root = make_audiomnist(tmp_path)
    (root / "data" / "audioMNIST_meta.txt").unlink()
    with pytest.raises(CorpusError, match="meta file missing.*data_scripts"):
        load_audiomnist(root)
    with pytest.raises(CorpusError, match="no such corpus folder"):
        load_audiomnist(tmp_path / "nowhere")


def test_verify_reports_every_problem(tmp_path):
    root = make_audiomnist(tmp_path, speakers=("01", "02", "03"), genders=("male", "female", "male"))
    (root / "data" / "02" / "3_02_1.wav").unlink()
    (root / "data" / "03" / "4_03_0.wav").rename(root / "data" / "03" / "4_05_0.wav")
    (root / "data" / "01" / "5_01_1.wav").write_bytes(b"")
    report = verify_audiomnist(root)
    text = str(report)
    assert not report.ok
    assert "02/: 1 of 20 wav files missing, e.g. 3_02_1.wav" in text
    assert "03/4_05_0.wav: name inconsistent with folder 03/" in text
    assert "01/5_01_1.wav: empty file" in text
    strict = verify_audiomnist(root, speakers=60, repetitions=50)
    assert "57 speaker folders missing: 04, 05," in str(strict)
    assert "01/: 480 of 500 wav files missing" in str(strict)
    with pytest.raises(CorpusError, match="3_02_1.wav"):
        load_audiomnist(root, complete=True)
    lenient = verify_audiomnist(root, complete=False)  # a subset is fine; wrong names and empty files are not
    assert sorted(p.split(":")[0] for p in lenient.problems) == ["01/5_01_1.wav", "03/4_05_0.wav"]
    with pytest.raises(CorpusError, match="4_05_0.wav: name inconsistent"):
        load_audiomnist(root)
    assert len(load_audiomnist(root, verify=False)) == 58


def test_a_consistent_subset_loads(tmp_path):
    root = make_audiomnist(tmp_path, speakers=("01", "02", "03"), genders=("male", "female", "male"))
    for path in (root / "data").rglob("*.wav"):
        if path.name not in ("0_01_0.wav", "7_03_1.wav"):
            path.unlink()
    recordings = load_audiomnist(root)  # one file for two of the meta file's three speakers
    assert [(r.speaker, r.digit, r.repetition, r.label) for r in recordings] == [("01", 0, 0, "0"), ("03", 7, 1, "7")]
    assert "02/: 20 of 20 wav files missing" in str(verify_audiomnist(root, repetitions=2))


def test_meta_needs_gender(tmp_path):
    root = make_audiomnist(tmp_path)
    (root / "data" / "audioMNIST_meta.txt").write_text(json.dumps({"01": {"age": 3}, "02": {"gender": "female"}}))
    with pytest.raises(CorpusError, match="speaker '01' has no gender"):
        read_meta(root)


def test_fsdd_loader_on_fake_folder(tmp_path):
    for speaker in ("jackson", "theo"):
        for d in range(10):
            for i in range(3):
                write_wav(tmp_path / "recordings" / f"{d}_{speaker}_{i}.wav", np.zeros(10), 8000)
    (tmp_path / "recordings" / "README.md").write_text("not audio")
    recordings = load_fsdd(tmp_path)
    assert len(recordings) == 60 and {r.gender for r in recordings} == {"male"}
    assert recordings[0].speaker == "jackson" and recordings[-1].speaker == "theo"
    assert not verify_fsdd(tmp_path).ok  # 4 of the 6 speakers missing
    with pytest.raises(CorpusError, match="data_scripts.fsdd"):
        load_fsdd(tmp_path / "nothing")


def test_shared_fsdd_is_complete(data_fsdd_root):
    assert verify_fsdd(data_fsdd_root).ok
    recordings = load_fsdd(data_fsdd_root)
    assert len(recordings) == 3000
    assert sorted({r.speaker for r in recordings}) == sorted(corpus_module.FSDD_SPEAKERS)
