"""The rendered book in a real browser: every chapter loads, every image loads, every figure of the
paper and Table 1 are there; at 1400 px the folded code opens, the audio players load their sound
and no code scrolls sideways; a screenshot of every chapter is saved for review
(``<book>/../screenshots/``, i.e. ``_build/test/screenshots/`` for the smoke book).

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

from tests.conftest import missing_prerequisite

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
    "book/executed/06_faithfulness.html": ["fig-faithfulness-gallery", "fig-faithfulness-curves"],
    "book/executed/07_clever_hans.html": ["fig-reference-profiles", "fig-row-levels", "fig-planted", "fig-localisation",
                                          "fig-localisation-gallery"],
    "book/running.html": [],
    "book/scaling.html": [],
    "book/teaching.html": [],
    "book/bibliography.html": [],
}

#: Chapters with the sonified-relevance audio players (at least six each).
LISTENING = {"book/executed/02_alexnet_gender.html", "book/executed/05_resnet_rules.html"}

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


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        missing_prerequisite("Chromium is not installed: `apt-get install chromium` enables the browser check")
    return binary


@pytest.fixture(scope="module")
def book() -> Path:
    if not (HTML / "index.html").is_file():
        missing_prerequisite(f"no built book in {HTML}: run `make test` (or set SPEECH_LRP_BOOK_HTML)")
    return HTML


#: Opens every folded cell, then records what a reader at 1400 px would meet: toggles that do not
#: open, audio players whose sound does not load, code blocks wider than their box.
LOOKS_SCRIPT = """
<script>
window.addEventListener('load', () => {
  const folded = Array.from(document.querySelectorAll('details.hide'));
  folded.forEach(d => { const s = d.querySelector('summary'); if (s) { s.click(); } });
  const opened = folded.filter(d => d.open && d.querySelector('pre') && d.querySelector('pre').offsetHeight > 0);
  const audio = Array.from(document.querySelectorAll('audio'));
  const wide = Array.from(document.querySelectorAll('pre')).filter(p => p.offsetHeight > 0 && p.scrollWidth > p.clientWidth + 1);
  document.body.setAttribute('data-folded', folded.length + '/' + opened.length);
  document.body.setAttribute('data-wide-code', String(wide.length));
  let loaded = 0;
  const done = () => document.body.setAttribute('data-audio', audio.length + '/' + loaded);
  done();
  audio.forEach(a => {
    const count = () => { loaded += 1; done(); };
    if (a.readyState >= 1 && a.duration > 0) { count(); } else { a.addEventListener('loadedmetadata', count, {once: true}); a.load(); }
  });
});
</script>
"""
WIDTH = 1400


def _chromium(chromium: str, *arguments: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile_dir:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile_dir}",
             "--hide-scrollbars", "--virtual-time-budget=15000", *arguments],
            capture_output=True, text=True, timeout=120,
        )


def render(chromium: str, page: Path, script: str = CHECK_SCRIPT, *arguments: str) -> str:
    """The DOM of ``page`` after load with ``script`` run in it (by default: each image marked as
    loaded or broken)."""
    html = page.read_text(encoding="utf-8")
    checked = page.with_name(f".load-check-{page.name}")
    checked.write_text(html.replace("</body>", script + "</body>"), encoding="utf-8")
    try:
        result = _chromium(chromium, *arguments, "--dump-dom", checked.as_uri())
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


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_chapter_reads_well_at_1400px(chromium, book, chapter):
    page = book / chapter
    dom = render(chromium, page, LOOKS_SCRIPT, f"--window-size={WIDTH},1000")
    folded, opened = map(int, re.search(r'data-folded="(\d+)/(\d+)"', dom).groups())
    assert opened == folded, f"{chapter}: {folded - opened} of {folded} folded cells did not open"
    wide = int(re.search(r'data-wide-code="(\d+)"', dom).group(1))
    assert wide == 0, f"{chapter}: {wide} code blocks scroll sideways at {WIDTH} px"
    players, loaded = map(int, re.search(r'data-audio="(\d+)/(\d+)"', dom).groups())
    assert loaded == players, f"{chapter}: {players - loaded} of {players} audio players did not load"
    if chapter in LISTENING:
        assert players >= 6, f"{chapter}: expected the sonified-relevance players, found {players}"

    shots = book.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    shot = shots / f"{Path(chapter).stem}.png"
    result = _chromium(chromium, f"--window-size={WIDTH},2400", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000, \
        f"{chapter}: no screenshot ({result.stderr[-500:]})"
