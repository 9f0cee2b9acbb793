"""Manifest CSVs: relative and absolute paths, FLAC and WAV at 8/16/48 kHz, and every bad-manifest case."""

import numpy as np
import pytest
import soundfile as sf

from lrp_utils.data import BeckerFeature, CorpusError, gender_folds, load_corpus, read_manifest, read_wav


def tone(rate: int, seconds: float, freq: float = 200.0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)).astype(np.float32)


@pytest.fixture
def corpus(tmp_path):
    """Six files of three speakers: WAV and FLAC, 8, 16 and 48 kHz, 0.5 to 2.5 s."""
    audio = tmp_path / "audio"
    (audio / "deep").mkdir(parents=True)
    specs = {"a.wav": (8000, 0.5), "b.flac": (16000, 1.2), "deep/c.wav": (48000, 2.5),
             "d.flac": (48000, 0.7), "e.wav": (16000, 0.9), "f.flac": (8000, 1.1)}
    for name, (rate, seconds) in specs.items():
        sf.write(str(audio / name), tone(rate, seconds), rate, subtype="PCM_16")
    return tmp_path, specs


def write_csv(path, text):
    path.write_text(text)
    return path


def test_relative_and_absolute_paths_any_format_and_rate(corpus, tmp_path):
    root, specs = corpus
    manifest = write_csv(root / "corpus.csv",
                         "path,speaker,gender,label,utterance\n"
                         "audio/a.wav,ann,female,yes,u2\n"
                         f"{root / 'audio' / 'b.flac'},ann,,no,u1\n"  # absolute; gender from ann's other row
                         "audio/deep/c.wav,bob,MALE,yes,\n"
                         "audio/d.flac,bob,male,,\n"
                         "./audio/e.wav,cy,,,\n"
                         "audio/../audio/f.flac,cy,,,\n")
    recordings = read_manifest(manifest)
    assert recordings == load_corpus(manifest) == load_corpus(str(manifest))
    by_name = {r.path.name: r for r in recordings}
    assert set(by_name) == {"a.wav", "b.flac", "c.wav", "d.flac", "e.wav", "f.flac"}
    assert all(r.path.is_absolute() and r.path.is_file() for r in recordings)
    assert by_name["f.flac"].path == root / "audio" / "f.flac"  # normalised
    assert [by_name[n].gender for n in ("a.wav", "b.flac", "c.wav", "d.flac", "e.wav")] == \
        ["female", "female", "male", "male", None]
    assert (by_name["a.wav"].label, by_name["a.wav"].utterance, by_name["d.flac"].label) == ("yes", "u2", None)
    # takes are numbered per speaker in the order of (utterance, path): ann's u1 (b) before u2 (a);
    # bob has no utterance ids, and ".../audio/d.flac" sorts before ".../audio/deep/c.wav"
    assert [(r.speaker, r.path.name, r.repetition) for r in recordings] == [
        ("ann", "b.flac", 0), ("ann", "a.wav", 1), ("bob", "d.flac", 0), ("bob", "c.wav", 1),
        ("cy", "e.wav", 0), ("cy", "f.flac", 1)]
    assert all(r.digit is None for r in recordings)
    for name, (rate, seconds) in specs.items():  # every file reads at its own rate and length
        wave, got_rate = read_wav(root / "audio" / name)
        assert got_rate == rate and wave.size == round(rate * seconds)
    feature = BeckerFeature(seed=0)(by_name["c.wav"])  # 2.5 s at 48 kHz: centre crop to Becker's 1 s
    assert feature.shape == (227, 227) and float(feature.max()) == 0.0


def test_manifest_without_gender_cannot_make_gender_folds(corpus):
    root, _ = corpus
    manifest = write_csv(root / "m.csv", "speaker,path\nann,audio/a.wav\nbob,audio/d.flac\n")
    recordings = load_corpus(manifest)
    assert {r.gender for r in recordings} == {None}
    with pytest.raises(CorpusError, match=r"2 speaker\(s\) have no gender \(ann, bob\)"):
        gender_folds(recordings)


@pytest.mark.parametrize("text, message", [
    ("", r"the CSV is empty"),
    ("path,speaker,gender\n", r"header but no rows"),
    ("file,speaker\naudio/a.wav,ann\n", r"missing column\(s\) path \(header: file,speaker\)"),
    ("path,speaker\naudio/a.wav,ann\naudio/nothing.wav,ann\n", r"row 2: file .*nothing\.wav does not exist"),
    ("path,speaker\naudio/a.wav,ann\n,ann\n", r"row 2: empty path"),
    ("path,speaker\naudio/a.wav,\n", r"row 1: empty speaker"),
    ("path,speaker,gender\naudio/a.wav,ann,f\n", r"row 1: unknown gender 'f'; write 'male' or 'female'"),
    ("path,speaker\naudio/a.wav,ann\naudio/b.flac,ann\n./audio/a.wav,bob\n", r"row 3: .*a\.wav is already row 1"),
    ("path,speaker,gender\naudio/a.wav,ann,female\naudio/b.flac,bob,male\naudio/d.flac,ann,male\n",
     r"row 3: speaker 'ann' is 'male' here but 'female' in row 1"),
])
def test_bad_manifests_name_the_row_and_the_fix(corpus, text, message):
    root, _ = corpus
    manifest = write_csv(root / "bad.csv", text)
    with pytest.raises(CorpusError, match=message) as error:
        load_corpus(manifest)
    assert str(manifest) in str(error.value)


def test_one_gender_only_is_refused_by_the_folds(corpus):
    root, _ = corpus
    manifest = write_csv(root / "men.csv", "path,speaker,gender\n" + "".join(
        f"audio/{n},s{i},male\n" for i, n in enumerate(["a.wav", "b.flac", "d.flac", "e.wav", "f.flac"])))
    with pytest.raises(CorpusError, match="the corpus has 0 female and 5 male speakers"):
        gender_folds(load_corpus(manifest))
