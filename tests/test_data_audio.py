"""read_wav / write_wav: mono downmix, any rate, clear errors naming the file."""

import numpy as np
import pytest
import soundfile as sf

from lrp_utils.data import AudioFileError, read_wav, write_wav


def test_read_mono_48k_roundtrip(tmp_path):
    wave = (0.5 * np.sin(2 * np.pi * 440 * np.arange(4800) / 48000)).astype(np.float32)
    write_wav(tmp_path / "a.wav", wave, 48000)
    info = sf.info(str(tmp_path / "a.wav"))
    assert (info.subtype, info.channels, info.samplerate) == ("PCM_16", 1, 48000)
    got, rate = read_wav(tmp_path / "a.wav")
    assert rate == 48000 and got.dtype == np.float32 and got.shape == (4800,)
    assert np.max(np.abs(got - wave)) < 1.0 / 32768 + 1e-6  # 16-bit quantisation


def test_stereo_44k_is_downmixed(tmp_path):
    left = np.full(441, 0.5, dtype=np.float32)
    right = np.full(441, -0.25, dtype=np.float32)
    sf.write(str(tmp_path / "stereo.wav"), np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    got, rate = read_wav(tmp_path / "stereo.wav")
    assert rate == 44100 and got.shape == (441,)
    np.testing.assert_allclose(got, 0.125, atol=1e-7)


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"RIFF\x00\x00garbage" * 4, "corrupt")])
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=message) as error:
        read_wav(path)
    assert str(path) in str(error.value)


def test_missing_and_too_long(tmp_path):
    with pytest.raises(AudioFileError, match="no such wav file"):
        read_wav(tmp_path / "missing.wav")
    write_wav(tmp_path / "long.wav", np.zeros(8000 * 3), 8000)
    with pytest.raises(AudioFileError, match=r"long\.wav: lasts 3\.00 s"):
        read_wav(tmp_path / "long.wav", max_seconds=2.0)
    assert read_wav(tmp_path / "long.wav", max_seconds=None)[0].shape == (24000,)


def test_write_rejects_bad_shape(tmp_path):
    with pytest.raises(ValueError, match="1-D"):
        write_wav(tmp_path / "x.wav", np.zeros((2, 10)), 8000)
