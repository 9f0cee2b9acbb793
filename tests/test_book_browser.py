"""The rendered book in a real browser: every chapter loads, every image loads, every figure of the
paper and Table 1 are there.

Needs the built book (``make test`` builds the smoke book into ``_build/test/html`` first; set
``SPEECH_LRP_BOOK_HTML`` to check another build, e.g. ``_build/html``) and Debian's
Chromium (``apt-get install chromium``; ``make test`` installs it where apt-get is available). Where
either is missing the test is skipped with a message saying so, except on CI (``CI`` set), where
it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: The book to check: the smoke book ``make test`` builds, or SPEECH_LRP_BOOK_HTML.
HTML = Path(os.environ.get("SPEECH_LRP_BOOK_HTML", REPO / "_build" / "test" / "html")).resolve()

#: Chapter page -> ids of the numbered figures it must show (and Table 1 where it belongs).
CHAPTERS = {
    "book/intro.html": [],
    "book/executed/01_lrp_theory.html": ["fig-rules-on-spectrogram"],
    "book/executed/02_alexnet_gender.html": ["fig-1", "fig-2", "fig-alexnet-data", "fig-alexnet-training",
                                             "fig-alexnet-bands"],
    "book/executed/03_pixel_flipping.html": ["fig-3", "fig-4", "fig-5", "fig-flipping-baselines"],
    "book/executed/04_augmentation.html": ["fig-6", "table-1"],
    "book/executed/05_resnet_rules.html": ["fig-7", "fig-8", "fig-9", "fig-10", "fig-11", "fig-12"],
    "book/running.html": [],
    "book/bibliography.html": [],
}

CHECK_SCRIPT = """
<script>
window.addEventListener('load', () => {
  for (const img of document.images) {
    img.setAttribute('data-load-check', img.complete && img.naturalWidth > 0 ? 'ok' : 'broken');
  }
  document.body.setAttribute('data-load-checked', String(document.images.length));
});
</script>
"""


def _requirement_missing(message: str):
    if os.environ.get("CI"):
        pytest.fail(message + " (required on CI)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        _requirement_missing("Chromium is not installed: `apt-get install chromium` enables the browser check")
    return binary


@pytest.fixture(scope="module")
def book() -> Path:
    if not (HTML / "index.html").is_file():
        _requirement_missing(f"no built book in {HTML}: run `make test` (or set SPEECH_LRP_BOOK_HTML)")
    return HTML


def render(chromium: str, page: Path) -> str:
    """The DOM of ``page`` after load, with each image marked as loaded or broken."""
    html = page.read_text(encoding="utf-8")
    checked = page.with_name(f".load-check-{page.name}")
    checked.write_text(html.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile_dir:
            result = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile_dir}",
                 "--virtual-time-budget=15000", "--dump-dom", checked.as_uri()],
                capture_output=True, text=True, timeout=120,
            )
    finally:
        checked.unlink()
    assert result.returncode == 0, f"chromium failed on {page}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_chapter_renders_with_all_images_and_figures(chromium, book, chapter):
    page = book / chapter
    assert page.is_file(), f"chapter {chapter} is missing from the built book"
    dom = render(chromium, page)
    count = re.search(r'data-load-checked="(\d+)"', dom)
    assert count, f"{chapter}: the page did not finish loading"
    broken = re.findall(r'<img[^>]*data-load-check="broken"[^>]*>', dom)
    assert not broken, f"{chapter}: images that did not load: {broken[:3]}"
    assert dom.count('data-load-check="ok"') == int(count.group(1))
    for figure in CHAPTERS[chapter]:
        assert f'id="{figure}"' in dom, f"{chapter}: figure {figure} is missing"
    assert "Traceback (most recent call last)" not in dom, f"{chapter}: an executed cell shows a traceback"


def test_book_front_page_says_how_it_was_built(chromium, book):
    dom = render(chromium, book / "book" / "intro.html")
    assert "This book was built with profile" in dom
