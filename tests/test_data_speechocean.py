"""speechocean762: both layouts, the shared adults copy, and ``python -m data_scripts.speechocean762``
(tarball, file:// download, clone folder, prepared copy, --all, broken sources)."""

import tarfile

import numpy as np
import pytest
import soundfile as sf

from data_scripts import _fetch
from data_scripts import speechocean762 as script
from lrp_utils.data import CorpusError, load_corpus, load_speechocean762
from tests.conftest import require_shared_dataset

RATE = 16000
#: The counts a complete prepared copy has (the tests below shrink them to the fake corpus').
REAL_EXPECTED = dict(script.EXPECTED)
#: speaker -> (gender, age, original split) of the fake corpus: one child, two adults.
SPEAKERS = {"0001": ("f", 8, "train"), "0101": ("f", 25, "train"), "0102": ("m", 30, "test")}


def quiet_tone_quiet(rng) -> np.ndarray:
    """1.0 s of faint noise, 0.5 s of a loud tone, 1.0 s of faint noise (2.5 s at 16 kHz)."""
    noise = lambda n: 1e-4 * rng.standard_normal(n)
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(8000) / RATE)
    return np.concatenate([noise(16000), tone, noise(16000)])


def long_tone() -> np.ndarray:
    """6 s of a steady tone: nothing to trim, so only the 4.0 s cut applies."""
    return 0.4 * np.sin(2 * np.pi * 150 * np.arange(6 * RATE) / RATE)


def make_original(root):
    """The original layout (WAVE/ + Kaldi tables), two utterances per speaker, as in the OpenSLR tarball."""
    rng = np.random.default_rng(0)
    tables = {split: {n: [] for n in ("wav.scp", "utt2spk", "spk2gender", "spk2age", "text")}
              for split in ("train", "test")}
    for speaker, (gender, age, split) in SPEAKERS.items():
        t = tables[split]
        t["spk2gender"].append(f"{speaker}\t{gender}")
        t["spk2age"].append(f"{speaker}\t{age}")
        for k, wave in ((1, quiet_tone_quiet(rng)), (2, long_tone())):
            utterance = f"0{speaker}000{k}"
            (root / "WAVE" / f"SPEAKER{speaker}").mkdir(parents=True, exist_ok=True)
            sf.write(str(root / "WAVE" / f"SPEAKER{speaker}" / f"{utterance}.WAV"), wave, RATE, subtype="PCM_16")
            t["wav.scp"].append(f"{utterance}\tWAVE/SPEAKER{speaker}/{utterance}.WAV")
            t["utt2spk"].append(f"{utterance}\t{speaker}")
            t["text"].append(f"{utterance}\tHELLO NUMBER {k}")
    for split, files in tables.items():
        (root / split).mkdir(exist_ok=True)
        for name, lines in files.items():
            (root / split / name).write_text("\n".join(lines) + "\n")
    (root / "README.md").write_text("speechocean762")
    return root


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A fake clone (``speechocean762/``) and the OpenSLR-style tarball of it."""
    root = make_original(tmp_path_factory.mktemp("so") / "speechocean762")
    archive = root.parent / "speechocean762.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="speechocean762")
    return root, archive


@pytest.fixture(autouse=True)
def _expect_fake_size(monkeypatch):
    monkeypatch.setattr(script, "EXPECTED", {"adults": (2, 4), "all": (3, 6)})


def test_original_layout_loads_adults(original):
    root, _ = original
    recordings = load_corpus(root)
    assert recordings == load_speechocean762(root)
    assert [(r.speaker, r.gender, r.utterance, r.repetition) for r in recordings] == [
        ("0101", "female", "001010001", 0), ("0101", "female", "001010002", 1),
        ("0102", "male", "001020001", 0), ("0102", "male", "001020002", 1)]
    assert len(load_speechocean762(root, min_age=0)) == 6  # the child too
    with pytest.raises(CorpusError, match="no speaker aged 50"):
        load_speechocean762(root, min_age=50)


def test_speech_span_by_hand():
    rng = np.random.default_rng(1)
    # tone frames are 100..149 (10 ms = 160 samples): keep 0.15 s (2400 samples) either side
    assert script.speech_span(quiet_tone_quiet(rng), RATE) == (100 * 160 - 2400, 150 * 160 + 2400)
    assert script.speech_span(long_tone(), RATE) == (0, 4 * RATE)  # cut to the first 4.0 s
    # a tone 30 dB below the loudest frame is kept, one 40 dB below is not
    wave = np.concatenate([np.full(1600, 10 ** (-40 / 20)), np.full(1600, 1.0), np.full(1600, 10 ** (-30 / 20))])
    assert script.speech_span(wave, RATE, pad_seconds=0.0) == (1600, 4800)


def check_prepared(dest, original_root, speakers):
    recordings = load_corpus(dest)
    assert sorted({r.speaker for r in recordings}) == speakers
    rows = (dest / "metadata.csv").read_text().splitlines()
    assert rows[0] == ",".join(script.METADATA_COLUMNS)
    assert rows[-2:] == ["SPEAKER0102/001020001.flac,0102,male,30,test,HELLO NUMBER 1,0.800,2.5,0.850",
                         "SPEAKER0102/001020002.flac,0102,male,30,test,HELLO NUMBER 2,4.000,6,0.000"]
    trimmed, rate = sf.read(str(dest / "SPEAKER0102" / "001020001.flac"))
    info = sf.info(str(dest / "SPEAKER0102" / "001020001.flac"))
    assert (info.format, info.subtype, info.channels, rate) == ("FLAC", "PCM_16", 1, RATE)
    source, _ = sf.read(str(original_root / "WAVE" / "SPEAKER0102" / "001020001.WAV"))
    np.testing.assert_array_equal(trimmed, source[13600:26400])  # lossless copy of the kept span
    assert sf.info(str(dest / "SPEAKER0102" / "001020002.flac")).frames == 4 * RATE


def test_from_tarball_clone_and_prepared_copy(original, tmp_path, capsys):
    root, archive = original
    dest = tmp_path / "data" / "speechocean762"
    assert script.main(["--dest", str(dest), "--source", str(archive), "--no-progress"]) == 0
    check_prepared(dest, root, ["0101", "0102"])
    assert sorted(p.name for p in dest.parent.iterdir()) == ["speechocean762"]  # staging removed
    assert script.main(["--dest", str(dest), "--source", str(archive), "--no-progress"]) == 0
    assert "already complete" in capsys.readouterr().out
    from_clone = tmp_path / "clone"
    assert script.main(["--dest", str(from_clone), "--source", str(root), "--no-progress"]) == 0
    assert (from_clone / "metadata.csv").read_bytes() == (dest / "metadata.csv").read_bytes()
    copied = tmp_path / "copy"  # a prepared copy is validated and copied as it is
    assert script.main(["--dest", str(copied), "--source", str(dest), "--no-progress"]) == 0
    assert [(r.speaker, r.utterance) for r in load_corpus(copied)] == [(r.speaker, r.utterance) for r in load_corpus(dest)]


def test_all_keeps_the_children(original, tmp_path):
    root, _ = original
    dest = tmp_path / "all"
    assert script.main(["--dest", str(dest), "--source", str(root), "--all", "--no-progress"]) == 0
    assert len(load_speechocean762(dest)) == 6 and "SPEAKER0001/000010001.flac,0001,female,8," in \
        (dest / "metadata.csv").read_text()
    # an adults-only copy is not what --all asked for: reported, nothing installed
    assert script.main(["--dest", str(tmp_path / "bad"), "--source", str(tmp_path / "all"), "--no-progress"]) == 1
    assert not (tmp_path / "bad").exists()


def test_download_by_url_then_size_check(original, tmp_path, monkeypatch, capsys):
    root, archive = original
    dest = tmp_path / "dl" / "speechocean762"
    assert script.main(["--dest", str(dest), "--url", archive.as_uri(), "--no-progress"]) == 0
    check_prepared(dest, root, ["0101", "0102"])
    assert not (dest.parent / "speechocean762.tar.gz").exists()  # archive removed after installing
    # the default address is checked against the published size: a wrong size is deleted, not installed
    monkeypatch.setattr(script, "URL", archive.as_uri())
    other = tmp_path / "dl2" / "speechocean762"
    assert script.main(["--dest", str(other), "--url", archive.as_uri(), "--no-progress"]) == 1
    assert f"but the archive has {script.ARCHIVE_SIZE}" in capsys.readouterr().err
    assert sorted(p.name for p in other.parent.iterdir()) == []


def test_broken_sources_install_nothing(original, tmp_path, capsys):
    root, archive = original
    truncated = tmp_path / "speechocean762.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert script.main(["--dest", str(tmp_path / "a" / "so"), "--source", str(truncated), "--no-progress"]) == 1
    assert "incomplete or corrupt" in capsys.readouterr().err
    broken = tmp_path / "broken"
    make_original(broken)
    (broken / "WAVE" / "SPEAKER0102" / "001020002.WAV").unlink()
    assert script.main(["--dest", str(tmp_path / "b" / "so"), "--source", str(broken), "--no-progress"]) == 1
    assert "001020002's file" in capsys.readouterr().err
    (broken / "test" / "spk2gender").write_text("0102\tx\n")
    with pytest.raises(CorpusError, match="speaker 0102 has no gender m/f"):
        load_speechocean762(broken)
    assert not (tmp_path / "a" / "so").exists() and not (tmp_path / "b" / "so").exists()


def test_unsafe_tar_is_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 0
        tar.addfile(info)
    with pytest.raises(_fetch.FetchError, match="unsafe member"):
        _fetch.stage(evil, tmp_path / "staging")
    assert not (tmp_path / "outside.txt").exists()


def test_shared_adults_copy_is_complete_and_loads(monkeypatch):
    root = require_shared_dataset("speechocean762-adults", "metadata.csv")
    monkeypatch.setattr(script, "EXPECTED", REAL_EXPECTED)
    report = script.verify(root, keep_children=False)
    assert report.ok, str(report)
    recordings = load_corpus(root)
    assert (len(recordings), len({r.speaker for r in recordings})) == (2560, 128)
    genders = {r.speaker: r.gender for r in recordings}
    assert sorted(genders.values()).count("female") == 72 and list(genders.values()).count("male") == 56
    assert all(r.repetition < 20 and r.utterance == r.path.stem for r in recordings)
