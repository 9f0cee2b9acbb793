"""The book as one PDF (``book/build.py --pdf``, ``make pdf``), read back with poppler-utils: enough
pages, every numbered figure of the paper, and Table 1 on a page that is not blank.

Needs the printed PDF (``make test`` prints the smoke book to ``_build/test/speech-lrp.pdf``; set
``SPEECH_LRP_BOOK_PDF`` to check another) and poppler-utils (``pdfinfo``, ``pdftotext``,
``pdfimages``, ``pdftoppm``; ``make test`` installs them where apt-get is available). Where either is
missing the test is skipped with a message, except on CI, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import missing_prerequisite

REPO = Path(__file__).resolve().parent.parent
PDF = Path(os.environ.get("SPEECH_LRP_BOOK_PDF", REPO / "_build" / "test" / "speech-lrp.pdf")).resolve()
TOOLS = ("pdfinfo", "pdftotext", "pdfimages", "pdftoppm")
#: Captions the book gives the paper's figures (each glued figure's caption starts like this).
PAPER_FIGURES = [f"Figure {n} of the paper" for n in range(1, 13)]


@pytest.fixture(scope="module")
def pdf() -> Path:
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if absent:
        missing_prerequisite(f"poppler-utils is not installed ({', '.join(absent)} missing): `apt-get install poppler-utils`")
    if not PDF.is_file():
        missing_prerequisite(f"no printed book at {PDF}: run `make test` (or `make pdf`), or set SPEECH_LRP_BOOK_PDF")
    return PDF


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=300).stdout


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    """The text of every page (pdftotext separates pages by form feeds)."""
    return _run("pdftotext", "-layout", str(pdf), "-").split("\f")[:-1]


def test_page_count_matches_the_book(pdf, pages):
    count = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf))).group(1))
    assert count == len(pages)
    assert count >= 30, f"only {count} pages: chapters are missing from the PDF"


def test_every_figure_of_the_paper_is_captioned_and_drawn(pdf, pages):
    text = re.sub(r"\s+", " ", " ".join(pages))
    missing = [caption for caption in PAPER_FIGURES if caption not in text]
    assert not missing, f"captions missing from the PDF: {missing}"
    images = _run("pdfimages", "-list", str(pdf)).splitlines()[2:]
    assert len(images) >= len(PAPER_FIGURES), f"only {len(images)} images in the PDF"


def test_table_1_is_on_a_page_that_is_not_blank(pdf, pages, tmp_path):
    found = [n for n, page in enumerate(pages, start=1) if re.search(r"Table\s+1\s+of\s+the\s+paper", page)]
    assert found, "Table 1 is on no page of the PDF"
    page = found[0]
    assert "AlexNet" in pages[page - 1]
    _run("pdftoppm", "-f", str(page), "-l", str(page), "-r", "40", "-gray", str(pdf), str(tmp_path / "page"))
    image = next(tmp_path.glob("page*.pgm"))
    pixels = np.frombuffer(image.read_bytes().split(b"\n", 3)[3], dtype=np.uint8)
    assert (pixels < 128).mean() > 0.01, f"page {page} with Table 1 renders (almost) blank"
