"""Build the book: execute every notebook with papermill for one profile, then run Jupyter Book.

    python book/build.py [--profile cpu] [--device auto] [--data-dir PATH] [--only 01,03]
                         [--output _build] [--no-html] [--pdf] [--student] [--reuse-executed]

The book's sources (``_config.yml``, ``_toc.yml``, ``book/*.md``, the bibliography) are staged in
``OUTPUT/source/``; the executed notebooks are written there, to ``book/executed/`` (atomically:
a failed notebook stops the build with its error and leaves no half-written chapter). Its
``run.md`` records the profile, corpus, device, commit and the time each notebook took, and is
included on the book's first page. Jupyter Book 1 then builds ``OUTPUT/html`` from the staged
copy with execution off and warnings as errors. With ``--pdf`` the same staged book is also built
as one page (Jupyter Book's ``singlehtml`` builder) and printed to ``OUTPUT/speech-lrp.pdf`` by
Debian's headless Chromium: offline, no LaTeX. ``make book PROFILE=...`` calls this script with the
default output (``_build/html``), ``make pdf`` with ``--pdf``; ``make test`` builds the smoke book
and its PDF into ``_build/test``.

The student book (issue 13), ``--student``: the same executed chapters, not executed again, copied
to ``OUTPUT/student/source`` with every ``{solution}`` block removed from the notebooks (so neither
the pages nor the downloadable notebooks hold a solution), sphinx-exercise's ``hide_solutions``
set and the instructor pages (:data:`INSTRUCTOR_PAGES`) left out of the table of contents, then
built into ``OUTPUT/student/html``. ``--reuse-executed`` skips the execution and takes the chapters
already executed in ``OUTPUT/source`` by an earlier build with the same profile, so that
``make student`` after ``make book`` only runs Jupyter Book; ``make test`` builds the smoke
student book into ``_build/test/student/html``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lrp_utils.io import atomic_write  # noqa: E402

NOTEBOOKS = REPO / "notebooks"
#: The book's sources besides the notebooks, relative to the repository.
SOURCES = ["_config.yml", "_toc.yml", "book/intro.md", "book/running.md", "book/scaling.md",
           "book/bibliography.md", "book/references.bib", "book/_static/speech-lrp.css",
           "book/teaching.md", "book/_ext/singlehtml_handlers.py"]


#: Pages for teachers only: left out of the student book.
INSTRUCTOR_PAGES = {"book/teaching"}
#: A ``{solution}`` directive fenced by three or more backticks or colons, up to its closing fence.
SOLUTION_BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}.*?^(?P=fence)[ \t]*(?:\n|\Z)", re.M | re.S)


def notebooks(only: str | None) -> list[Path]:
    """The chapter notebooks in order, optionally only those whose names start with ``only``'s items."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        prefixes = tuple(item.strip() for item in only.split(","))
        found = [path for path in found if path.name.startswith(prefixes)]
        if not found:
            raise SystemExit(f"--only {only!r} matches no notebook in {NOTEBOOKS}")
    return found


def stage_sources(stage: Path) -> Path:
    """Copy the book's static sources into ``stage``; return the folder for executed notebooks."""
    for name in SOURCES:
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, stage / name)
    repository_buttons(stage / "_config.yml")
    executed = stage / "book" / "executed"
    executed.mkdir(parents=True, exist_ok=True)
    return executed


def repository_buttons(config_path: Path) -> bool:
    """Turn on the repository and issue buttons in the (staged) ``_config.yml`` when it names a
    repository (``repository.url``); return whether it does. Without an address they stay off."""
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    if not (config.get("repository") or {}).get("url"):
        return False
    config.setdefault("html", {}).update(use_repository_button=True, use_issues_button=True)
    with atomic_write(config_path, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False, allow_unicode=True)
    return True


def staged_profile(executed: Path) -> str | None:
    """The profile that executed the chapters in ``executed`` (read from its ``run.md``), or None."""
    record = executed / "run.md"
    if not record.is_file():
        return None
    match = re.search(r"built with profile \*\*`([^`]+)`\*\*", record.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def reuse_executed(executed: Path, chapters: list[Path], profile: str) -> None:
    """Check that ``executed`` holds every chapter of ``chapters``, executed with ``profile``.

    Raises SystemExit naming what is missing (run the build without ``--reuse-executed`` first).
    """
    found = staged_profile(executed)
    missing = [chapter.name for chapter in chapters if not (executed / chapter.name).is_file()]
    if found != profile or missing:
        problem = f"missing {', '.join(missing)}" if missing else f"executed with profile {found!r}"
        raise SystemExit(f"--reuse-executed: {executed} has no complete {profile!r} book ({problem}); "
                         f"build it first without --reuse-executed (make book PROFILE={profile})")
    for chapter in chapters:
        if chapter.stat().st_mtime > (executed / chapter.name).stat().st_mtime:
            print(f"note: {chapter.name} changed after it was executed; the book shows the executed version")


def strip_solutions(markdown: str) -> str:
    """``markdown`` without its ``{solution}`` blocks (the student book's notebooks)."""
    return re.sub(r"\n{3,}", "\n\n", SOLUTION_BLOCK.sub("", markdown)).strip("\n")


def stage_student(stage: Path, student_stage: Path) -> Path:
    """A copy of the staged, executed book in ``student_stage``, for the student book: solution
    blocks stripped from the notebooks' markdown cells, ``hide_solutions`` on (for any solution
    left in a page), :data:`INSTRUCTOR_PAGES` removed from the table of contents. Returns
    ``student_stage``."""
    import nbformat
    import yaml

    if student_stage.exists():
        shutil.rmtree(student_stage)
    shutil.copytree(stage, student_stage)
    for path in sorted((student_stage / "book" / "executed").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = strip_solutions(cell.source)
        with atomic_write(path, "w") as handle:
            nbformat.write(notebook, handle)
    config_path = student_stage / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["title"] = f"{config['title']} (student edition)"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    toc_path = student_stage / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        part["chapters"] = [entry for entry in part["chapters"] if entry.get("file") not in INSTRUCTOR_PAGES]
    for path, content in ((config_path, config), (toc_path, toc)):
        with atomic_write(path, "w") as handle:
            yaml.safe_dump(content, handle, sort_keys=False, allow_unicode=True)
    return student_stage


def execute(notebook: Path, parameters: dict, executed: Path) -> float:
    """Run one notebook with papermill into ``executed``; return the seconds it took."""
    import papermill

    target = executed / notebook.name
    partial = executed / f".{notebook.stem}.partial.ipynb"
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(partial), parameters=parameters, cwd=str(REPO),
                                   kernel_name="python3", progress_bar=True)
    except papermill.PapermillExecutionError as error:
        raise SystemExit(f"{notebook.name} failed (its partial output: {partial}):\n{error}") from None
    os.replace(partial, target)
    return time.perf_counter() - started


def corpus_description(profile: str, data_dir: str | None) -> str:
    """Which corpus the profile resolved to (the notebooks have created or found it by now)."""
    from lrp_utils.data import resolve_corpus
    from lrp_utils.profiles import get_profile
    from lrp_utils.report import describe_corpus

    return describe_corpus(resolve_corpus(get_profile(profile, **({"data_dir": data_dir} if data_dir else {})),
                                          progress=False))


def write_run_record(executed: Path, profile: str, device: str, data_dir: str | None,
                     timings: dict[str, float]) -> None:
    """``run.md`` beside the executed notebooks: what produced this book (shown on its first page);
    ``run.json`` holds the same record for programs (``benchmarks/book_time.py``)."""
    from lrp_utils.io import write_json
    from lrp_utils.report import git_commit

    lines = [
        f"This book was built with profile **`{profile}`** on {corpus_description(profile, data_dir)}, device `{device}`, from commit `{git_commit()}` on {time.strftime('%Y-%m-%d')}.",
        "",
        "| chapter | execution time |",
        "| --- | --- |",
        *(f"| `{name}` | {seconds / 60:.1f} min |" for name, seconds in timings.items()),
        f"| total | {sum(timings.values()) / 60:.1f} min |",
    ]
    with atomic_write(executed / "run.md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    write_json(executed / "run.json", {"profile": profile, "device": device, "commit": git_commit(),
                                       "chapter_seconds": timings})


def jupyter_book(stage: Path, output: Path, builder: str) -> Path:
    """Jupyter Book 1 over the staged sources with ``builder`` (warnings are errors); returns the
    built folder (jupyter-book writes to ``PATH_OUTPUT/_build/<builder>``)."""
    work = output / "jupyter-book"
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(stage), "--builder", builder,
               "--path-output", str(work), "-W", "--keep-going"]
    subprocess.run(command, check=True)
    return work / "_build" / builder


def build_html(stage: Path, output: Path) -> Path:
    """The HTML book, moved into ``output/html``."""
    built = jupyter_book(stage, output, "html")
    html = output / "html"
    if html.exists():
        shutil.rmtree(html)
    os.replace(built, html)
    return html


def build_pdf(stage: Path, output: Path) -> Path:
    """The whole book as one PDF, ``output/speech-lrp.pdf``: the single-page HTML build printed by
    headless Chromium (``make`` installs Debian's where apt-get is available), written atomically."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("--pdf needs Chromium to print the book: install Debian's 'chromium' package "
                         "(make pdf does where apt-get is available)")
    built = jupyter_book(stage, output, "singlehtml")
    # The single page is the root document (book/intro.html) but links as if it sat at the top
    # (index.html only redirects to it): print a copy from the top, where its links resolve.
    page = built / "print.html"
    shutil.copy2(built / "book" / "intro.html", page)
    pdf, partial = output / "speech-lrp.pdf", output / ".speech-lrp.partial.pdf"
    with tempfile.TemporaryDirectory() as profile_dir:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update",
                        f"--user-data-dir={profile_dir}", "--no-pdf-header-footer",
                        "--virtual-time-budget=30000", f"--print-to-pdf={partial}", page.as_uri()],
                       check=True, timeout=900, capture_output=True)
    if not partial.is_file() or partial.stat().st_size == 0:
        raise SystemExit(f"Chromium printed no PDF from {page}")
    os.replace(partial, pdf)
    return pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu", help="smoke | cpu | paper (default: cpu)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--data-dir", default=None, help="a local AudioMNIST copy (default: the profile's corpus)")
    parser.add_argument("--only", default=None, help="comma-separated notebook prefixes, e.g. 01,03")
    parser.add_argument("--output", default=str(REPO / "_build"), help="where source/ and html/ go (default: _build)")
    parser.add_argument("--no-html", action="store_true",
                        help="no HTML book (execute the notebooks only; with --student, only the student book)")
    parser.add_argument("--pdf", action="store_true", help="also print the book to OUTPUT/speech-lrp.pdf (needs Chromium)")
    parser.add_argument("--student", action="store_true",
                        help="also build the student book (no solutions) into OUTPUT/student/html")
    parser.add_argument("--reuse-executed", action="store_true",
                        help="do not execute: use the chapters an earlier build of this profile executed in OUTPUT/source")
    args = parser.parse_args()

    from lrp_utils.profiles import get_profile

    get_profile(args.profile)  # a wrong profile fails before anything runs
    parameters = {"profile": args.profile, "device": args.device, "data_dir": args.data_dir}
    output = Path(args.output).resolve()
    stage = output / "source"
    executed = stage_sources(stage)
    if args.reuse_executed:
        reuse_executed(executed, notebooks(args.only), args.profile)
    else:
        timings = {}
        for notebook in notebooks(args.only):
            print(f"== {notebook.name} (profile {args.profile})", flush=True)
            timings[notebook.stem] = execute(notebook, parameters, executed)
            print(f"   {timings[notebook.stem] / 60:.1f} min", flush=True)
        write_run_record(executed, args.profile, args.device, args.data_dir, timings)
    if not args.no_html:
        print(f"book: {build_html(stage, output) / 'index.html'}")
    if args.pdf:
        print(f"pdf: {build_pdf(stage, output)}")
    if args.student:
        student = output / "student"
        print(f"student book: {build_html(stage_student(stage, student / 'source'), student) / 'index.html'}")


if __name__ == "__main__":
    main()
