"""book/build.py's configuration steps (the builds themselves run in `make test`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_build", REPO / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def test_the_book_offers_its_notebooks_for_download():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert config["html"]["use_download_button"] is True


def test_repository_buttons_only_with_a_repository_address(tmp_path):
    without = tmp_path / "without.yml"
    without.write_text("title: t\nhtml:\n  use_download_button: true\n", encoding="utf-8")
    before = without.read_text(encoding="utf-8")
    assert build.repository_buttons(without) is False
    assert without.read_text(encoding="utf-8") == before

    with_url = tmp_path / "with.yml"
    with_url.write_text("title: t\nrepository:\n  url: https://example.org/speech-lrp\nhtml:\n"
                        "  use_download_button: true\n", encoding="utf-8")
    assert build.repository_buttons(with_url) is True
    config = yaml.safe_load(with_url.read_text(encoding="utf-8"))
    assert config["html"] == {"use_download_button": True, "use_repository_button": True,
                              "use_issues_button": True}
    assert config["repository"]["url"] == "https://example.org/speech-lrp" and config["title"] == "t"


def test_the_run_record_states_each_chapters_time_for_readers_and_programs(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(build, "corpus_description", lambda profile, data_dir: "a test corpus")
    build.write_run_record(tmp_path, "smoke", "cpu", None, {"01_a": 90.0, "02_b": 30.0})
    page = (tmp_path / "run.md").read_text(encoding="utf-8")
    assert "profile **`smoke`** on a test corpus, device `cpu`" in page
    assert "| `01_a` | 1.5 min |" in page and "| total | 2.0 min |" in page
    record = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert record["profile"] == "smoke" and record["device"] == "cpu"
    assert record["chapter_seconds"] == {"01_a": 90.0, "02_b": 30.0}
