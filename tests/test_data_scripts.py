"""The download commands against fake local sources (folder, zip, HTTP server), complete or not."""

import io
import json
import os
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

from data_scripts import _fetch, audiomnist, fsdd
from lrp_utils.data import load_audiomnist, load_fsdd

META = "audioMNIST_meta.txt"
#: The fake repository has AudioMNIST's 60 speakers but 2 repetitions per digit (1200 files, not
#: 30 000: creating a file costs about 0.4 ms on the shared VM); the command is told to expect that.
#: verify_audiomnist's full-size expectations are tested in test_data_corpus.py.
REPS = 2


@pytest.fixture(autouse=True)
def _expect_fake_size(monkeypatch):
    monkeypatch.setattr(audiomnist, "REPETITIONS", REPS)


def tiny_wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(16), 48000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fake_repo(tmp_path_factory):
    """A fake clone of the AudioMNIST repository (60 x 10 x REPS tiny wavs) and a GitHub-style zip of it."""
    root = tmp_path_factory.mktemp("fake") / "AudioMNIST-master"
    content = tiny_wav()
    for s in range(1, 61):
        folder = root / "data" / f"{s:02d}"
        folder.mkdir(parents=True)
        for d in range(10):
            for r in range(REPS):
                (folder / f"{d}_{s:02d}_{r}.wav").write_bytes(content)
    meta = {f"{s:02d}": {"gender": "female" if s in (12, 26) else "male"} for s in range(1, 61)}
    (root / "data" / META).write_text(json.dumps(meta))
    (root / "README.md").write_text("AudioMNIST")
    archive = root.parent / "AudioMNIST-master.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(root.rglob("*")):
            name = str(path.relative_to(root.parent))
            if path.is_file():
                zf.writestr(name, content if path.suffix == ".wav" else path.read_bytes())
    return root, archive


def test_from_folder_then_nothing_to_do(fake_repo, tmp_path, capsys):
    """--source with a clone; files are hard-linked or copied, the source is left as it was."""
    root, _ = fake_repo
    assert audiomnist.main(["--dest", str(tmp_path), "--source", str(root), "--no-progress"]) == 0
    assert len(load_audiomnist(tmp_path)) == 60 * 10 * REPS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # staging removed
    assert audiomnist.main(["--dest", str(tmp_path), "--source", str(root), "--no-progress"]) == 0
    assert "already complete" in capsys.readouterr().out


def test_from_zip(fake_repo, tmp_path):
    _, archive = fake_repo
    assert audiomnist.main(["--dest", str(tmp_path), "--source", str(archive), "--no-progress"]) == 0
    assert len(load_audiomnist(tmp_path / "data")) == 60 * 10 * REPS


def test_incomplete_folder_is_reported_and_not_installed(fake_repo, tmp_path, capsys):
    root, _ = fake_repo
    broken = tmp_path / "src" / "data"
    broken.mkdir(parents=True)
    shutil.copy(root / "data" / META, broken / META)
    for speaker in ("01", "02", "33"):
        shutil.copytree(root / "data" / speaker, broken / speaker, copy_function=os.link)
    (broken / "33" / "4_33_1.wav").unlink()
    assert audiomnist.main(["--dest", str(tmp_path / "out"), "--source", str(broken.parent), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "57 speaker folders missing: 03, 04," in captured.out
    assert "33/: 1 of 20 wav files missing, e.g. 4_33_1.wav" in captured.out
    assert "NOT installed" in captured.err
    assert not (tmp_path / "out" / "data").exists() and list((tmp_path / "out").iterdir()) == []


def test_truncated_zip_is_refused(fake_repo, tmp_path, capsys):
    _, archive = fake_repo
    truncated = tmp_path / "partial.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert audiomnist.main(["--dest", str(tmp_path / "out"), "--source", str(truncated), "--no-progress"]) == 1
    assert "not a folder and not a complete zip" in capsys.readouterr().err
    assert not (tmp_path / "out" / "data").exists()


class _Server:
    """Serves one file over HTTP with Range support; ``cut`` bytes into the first reply it hangs up."""

    def __init__(self, payload: bytes, cut: int | None):
        state = {"cut": cut, "ranges": []}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                start = 0
                if "Range" in self.headers:
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                    state["ranges"].append(start)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(payload) - start))
                self.end_headers()
                body = payload[start:]
                if state["cut"] is not None:
                    body, state["cut"] = body[: state["cut"]], None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/archive.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_download_resumes_from_part_file(tmp_path):
    payload = np.random.default_rng(0).bytes(3 * _fetch.CHUNK + 12345)
    server = _Server(payload, cut=len(payload) // 3)
    target = tmp_path / "archive.zip"
    try:
        with pytest.raises(_fetch.FetchError, match="interrupted.*re-run the command to resume"):
            _fetch.download(server.url, target, progress=False)
        part = tmp_path / "archive.zip.part"
        assert part.stat().st_size == len(payload) // 3 and not target.exists()
        assert _fetch.download(server.url, target, progress=False) == target  # resumes from the .part file
        assert server.state["ranges"] == [len(payload) // 3]
        assert target.read_bytes() == payload and not part.exists()
    finally:
        server.httpd.shutdown()


def test_offline_error_says_use_source(tmp_path, capsys):
    assert audiomnist.main(["--dest", str(tmp_path), "--url", "http://127.0.0.1:9/x.zip", "--no-progress"]) == 1
    assert "--source" in capsys.readouterr().err


def test_fsdd_command(data_fsdd_root, tmp_path, capsys):
    incomplete = tmp_path / "src" / "recordings"
    incomplete.mkdir(parents=True)
    for name in sorted(p.name for p in (data_fsdd_root / "recordings").iterdir())[:100]:
        shutil.copy(data_fsdd_root / "recordings" / name, incomplete / name)
    assert fsdd.main(["--dest", str(tmp_path / "bad"), "--source", str(tmp_path / "src"), "--no-progress"]) == 1
    assert "2900 of 3000 wav files missing" in capsys.readouterr().out
    assert not (tmp_path / "bad" / "recordings").exists()
    assert fsdd.main(["--dest", str(tmp_path / "ok"), "--source", str(data_fsdd_root), "--no-progress"]) == 0
    assert len(load_fsdd(tmp_path / "ok")) == 3000


def test_stage_refuses_unsafe_zip(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(_fetch.FetchError, match="unsafe path"):
        _fetch.stage(evil, tmp_path / "staging")
    assert not (tmp_path / "outside.txt").exists()
