"""Regenerate the nbval reference notebooks: execute the chapters with the smoke profile and keep
only the outputs of the cells marked ``# NBVAL_CHECK_OUTPUT`` (the others are not compared, and
their figures would only bloat the repository).

    python tests/nbval/regenerate.py

Run it after changing a notebook or anything that changes a checked number, review the diff of
``tests/nbval/*.ipynb``, and commit it. ``make test`` re-executes these references with
``pytest --nbval-lax`` and compares the checked cells.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUILD = REPO / "_build" / "test"
MARK = "# NBVAL_CHECK_OUTPUT"


def strip_unchecked(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs of cells nbval does not compare; keep checked cells whole."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and MARK not in cell.source:
            cell.outputs = []
    return notebook


def main() -> None:
    subprocess.run([sys.executable, str(REPO / "book" / "build.py"), "--profile", "smoke", "--output", str(BUILD),
                    "--no-html"], check=True)
    executed = sorted((BUILD / "source" / "book" / "executed").glob("[0-9][0-9]_*.ipynb"))
    for old in HERE.glob("[0-9][0-9]_*.ipynb"):
        old.unlink()
    for path in executed:
        notebook = strip_unchecked(nbformat.read(path, as_version=4))
        nbformat.write(notebook, HERE / path.name)
        print(f"wrote {HERE / path.name}")


if __name__ == "__main__":
    main()
