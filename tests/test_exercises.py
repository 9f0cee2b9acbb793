"""The exercises at the end of every chapter and the student book (issue 13).

- In the notebooks: at least three sphinx-exercise ``exercise`` directives per chapter, labelled
  ``ex-<chapter>-<k>``, titled ``Easy|Medium|Hard, conceptual|coding: ...`` (easy first), both
  kinds present, each with one plain ``solution`` directive folded with ``:class: dropdown``
  (never ``solution-start``/``solution-end``, which crash with ``hide_solutions``). The
  conventions are spelled out in ``book/teaching.md``.
- ``book/build.py``'s student edition: solution blocks stripped, ``hide_solutions``, instructor
  pages off the table of contents, ``--reuse-executed`` refusing a stage of another profile.
- The built books: every chapter page of the book shows its exercises with collapsed solutions;
  the student book shows the same exercises and no solution anywhere, neither in the pages nor in
  the notebooks and sources it serves. These need the books ``make test`` builds
  (``_build/test/html`` and ``_build/test/student/html``; set ``SPEECH_LRP_BOOK_HTML`` and
  ``SPEECH_LRP_STUDENT_BOOK_HTML`` to check others): skipped where missing, failed on CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.conftest import missing_prerequisite

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_build", REPO / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

HTML = Path(os.environ.get("SPEECH_LRP_BOOK_HTML", REPO / "_build" / "test" / "html")).resolve()
STUDENT_HTML = Path(os.environ.get("SPEECH_LRP_STUDENT_BOOK_HTML", HTML.parent / "student" / "html")).resolve()

EXERCISE = re.compile(r"^(`{3,})\{exercise\} (?P<title>.+)\n:label: (?P<label>\S+)\n", re.M)
SOLUTION = re.compile(r"^(`{3,})\{solution\} (?P<label>\S+)\n(?P<options>(?::\w+:.*\n)*)", re.M)
TITLE = re.compile(r"(?P<level>Easy|Medium|Hard), (?P<kind>conceptual|coding): \S.*")


def markdown(path: Path) -> str:
    return "\n\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")


def exercises(path: Path) -> list[dict]:
    return [match.groupdict() for match in EXERCISE.finditer(markdown(path))]


def test_every_chapter_of_the_book_is_checked():
    toc = (REPO / "_toc.yml").read_text()
    chapters = set(re.findall(r"book/executed/(\d\d_\w+)", toc))
    assert chapters and chapters == {path.stem for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_ends_with_graded_exercises(path):
    text = markdown(path)
    found = exercises(path)
    chapter = path.name[:2]
    assert len(found) >= 3, f"{path.name}: {len(found)} exercises, at least 3 needed"
    assert [e["label"] for e in found] == [f"ex-{chapter}-{k}" for k in range(1, len(found) + 1)]
    titles = [TITLE.fullmatch(e["title"]) for e in found]
    assert all(titles), f"{path.name}: titles must read 'Easy|Medium|Hard, conceptual|coding: ...': {[e['title'] for e in found]}"
    levels = [("Easy", "Medium", "Hard").index(t["level"]) for t in titles]
    assert levels == sorted(levels), f"{path.name}: exercises go from easy to hard"
    assert {t["kind"] for t in titles} == {"conceptual", "coding"}, f"{path.name}: needs conceptual and coding exercises"
    assert text.rfind("## Exercises") < text.find("{exercise}"), "the exercises sit under the '## Exercises' heading"
    assert "## " not in text[text.find("{exercise}"):], "the exercises end the chapter"

    solutions = {m["label"]: m["options"] for m in SOLUTION.finditer(text)}
    assert set(solutions) == {e["label"] for e in found}, f"{path.name}: one solution per exercise"
    assert all(":class: dropdown" in options for options in solutions.values()), "solutions are folded (dropdown)"
    assert "{solution-start}" not in text and "{solution-end}" not in text, \
        "solution-start/solution-end crash with hide_solutions; use plain solution blocks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_solution_block_is_stripped(path):
    text = markdown(path)
    stripped = build.strip_solutions(text)
    assert "{solution}" not in stripped
    assert len(EXERCISE.findall(stripped)) == len(exercises(path)), "the exercises stay"


def test_strip_solutions_by_hand():
    text = ("intro\n\n```{exercise} Easy, coding: x\n:label: ex-1\n\ndo it\n```\n\n"
            "````{solution} ex-1\n:class: dropdown\n\nanswer\n\n```python\ncode()\n```\n\nmore\n````\n\n"
            ":::{solution} ex-2\nanother\n:::\n\nafter\n")
    assert build.strip_solutions(text) == "intro\n\n```{exercise} Easy, coding: x\n:label: ex-1\n\ndo it\n```\n\nafter"


def fake_stage(root: Path, profile: str = "smoke") -> Path:
    """A tiny staged book: config, toc with an instructor page, one executed chapter, run.md."""
    (root / "book" / "executed").mkdir(parents=True)
    (root / "_config.yml").write_text("title: Book\nsphinx:\n  config:\n    hide_solutions: false\n", encoding="utf-8")
    toc = {"format": "jb-book", "root": "book/intro",
           "parts": [{"caption": "Using", "chapters": [{"file": "book/running"}, {"file": "book/teaching"}]}]}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc), encoding="utf-8")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("```{exercise} Easy, coding: x\n:label: ex-01-1\n\ndo\n```\n\n"
                                                    "````{solution} ex-01-1\n:class: dropdown\n\nsecret\n````"),
                      nbformat.v4.new_code_cell("print(1)")]
    nbformat.write(notebook, root / "book" / "executed" / "01_x.ipynb")
    (root / "book" / "executed" / "run.md").write_text(f"This book was built with profile **`{profile}`** on x.\n",
                                                       encoding="utf-8")
    return root


def test_stage_student_strips_hides_and_drops_instructor_pages(tmp_path):
    stage = fake_stage(tmp_path / "source")
    student = build.stage_student(stage, tmp_path / "student" / "source")
    config = yaml.safe_load((student / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["config"]["hide_solutions"] is True and config["title"] == "Book (student edition)"
    toc = yaml.safe_load((student / "_toc.yml").read_text(encoding="utf-8"))
    assert [c["file"] for c in toc["parts"][0]["chapters"]] == ["book/running"]
    text = (student / "book" / "executed" / "01_x.ipynb").read_text(encoding="utf-8")
    assert "secret" not in text and "{exercise}" in text and "print(1)" in text
    assert "secret" in (stage / "book" / "executed" / "01_x.ipynb").read_text(encoding="utf-8"), "the book's stage is untouched"


def test_reuse_executed_needs_a_complete_stage_of_the_same_profile(tmp_path):
    stage = fake_stage(tmp_path / "source")
    executed = stage / "book" / "executed"
    chapter = tmp_path / "01_x.ipynb"
    chapter.write_text("{}", encoding="utf-8")
    os.utime(chapter, (0, 0))  # older than its executed copy
    build.reuse_executed(executed, [chapter], "smoke")
    with pytest.raises(SystemExit, match="executed with profile 'smoke'"):
        build.reuse_executed(executed, [chapter], "cpu")
    with pytest.raises(SystemExit, match="missing 02_y.ipynb"):
        build.reuse_executed(executed, [chapter, tmp_path / "02_y.ipynb"], "smoke")


# --- the built books ------------------------------------------------------------------------------

def _built(html: Path, what: str) -> Path:
    if not (html / "index.html").is_file():
        missing_prerequisite(f"no built {what} in {html}: run `make test` (it builds both books)")
    return html


@pytest.fixture(scope="module")
def book() -> Path:
    return _built(HTML, "book")


@pytest.fixture(scope="module")
def student_book() -> Path:
    return _built(STUDENT_HTML, "student book")


def page(root: Path, path: Path) -> str:
    return (root / "book" / "executed" / f"{path.stem}.html").read_text(encoding="utf-8")


def phrases(path: Path) -> list[str]:
    """From every solution of ``path``, its first run of eight plain words (no markup in between),
    text that the page and the sources carry verbatim wherever the solution is shown."""
    found = []
    for block in build.SOLUTION_BLOCK.finditer(markdown(path)):
        run = re.search(r"(?:[A-Za-z]{2,}[ \n]){7}[A-Za-z]{2,}", block.group(0))
        if run:
            found.append(" ".join(run.group(0).split()))
    return found


def every_text_file(root: Path) -> str:
    """All of a built book's text (pages, sources, notebooks, search index), whitespace collapsed."""
    texts = [path.read_text(encoding="utf-8", errors="ignore") for path in root.rglob("*")
             if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".json"}]
    return " ".join(" ".join(texts).replace("\\n", " ").split())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_book_shows_exercises_with_collapsed_solutions(book, path):
    html = page(book, path)
    labels = [e["label"] for e in exercises(path)]
    for label in labels:
        assert f'id="{label}"' in html, f"{path.stem}: exercise {label} missing from the page"
    assert html.count('class="solution dropdown') == len(labels), "every solution is there, folded"
    assert phrases(path) and all(p in " ".join(html.split()) for p in phrases(path)), "the solutions' text is in the page"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_book_shows_the_exercises_and_no_solution(student_book, path):
    html = page(student_book, path)
    for label in (e["label"] for e in exercises(path)):
        assert f'id="{label}"' in html, f"{path.stem}: exercise {label} missing from the student book"
    assert 'class="solution' not in html


def test_student_book_holds_no_solution_text_anywhere(book, student_book):
    everything = every_text_file(student_book)
    assert "{solution}" not in everything and 'class="solution' not in everything
    wanted = [p for path in NOTEBOOKS for p in phrases(path)]
    assert wanted and all(p in every_text_file(book) for p in wanted), "the check must be able to fail"
    leaked = [p for p in wanted if p in everything]
    assert leaked == [], f"solution text in the student book: {leaked[:3]}"
    assert not (student_book / "book" / "teaching.html").exists(), "the instructor page stays out of the student book"


def test_single_page_builder_gets_the_html_handlers_it_lacks():
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("handlers", REPO / "book" / "_ext" / "singlehtml_handlers.py")
    handlers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handlers)
    html_pair, exercise_pair, own_pair = (print, None), (len, None), (repr, None)
    table = {"html": {"HideCodeCellNode": html_pair, "solution_node": html_pair},
             "singlehtml": {"solution_node": own_pair, "exercise_node": exercise_pair}}
    app = SimpleNamespace(registry=SimpleNamespace(translation_handlers=table),
                          builder=SimpleNamespace(name="singlehtml", format="html"))
    handlers.share_html_handlers(app)
    assert table["singlehtml"] == {"solution_node": own_pair, "exercise_node": exercise_pair,
                                   "HideCodeCellNode": html_pair}
    app.builder = SimpleNamespace(name="latex", format="latex")
    table["latex"] = {}
    handlers.share_html_handlers(app)
    assert table["latex"] == {}, "other formats are left alone"
