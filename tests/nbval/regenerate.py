"""Regenerate the nbval reference notebooks: execute the chapters of ``notebooks/`` with the smoke
profile on the CPU and keep only the outputs of the cells marked ``# NBVAL_CHECK_OUTPUT`` (the
others are not compared, and their figures would only bloat the repository).

    python tests/nbval/regenerate.py

Run it after changing a notebook or anything that changes a checked number, review the diff of
``tests/nbval/*.ipynb``, and commit it. ``make test`` re-executes these references with
``pytest --nbval-lax`` and compares the checked cells; ``tests/test_nbval_references.py`` fails
when a notebook in ``notebooks/`` no longer matches its reference.

The CPU is forced (not ``auto``) so that a GPU on the machine that regenerates or tests cannot
change the checked numbers; ``make test`` builds its smoke book, whose trained models the
references load, on the CPU too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from lrp_utils.io import atomic_write

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUILD = REPO / "_build" / "test"
MARK = "# NBVAL_CHECK_OUTPUT"
#: The papermill parameters of the references (``book/build.py --profile PROFILE --device DEVICE``).
PROFILE = "smoke"
DEVICE = "cpu"
#: Metadata that papermill and the kernel add while executing: run times and paths, not content.
EXECUTION_METADATA = ("papermill", "execution")


def chapters(folder: Path) -> list[Path]:
    """The chapter notebooks (``NN_name.ipynb``) in ``folder``, in order."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def strip_unchecked(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs of cells nbval does not compare (checked cells stay whole) and the execution
    metadata, so that a regenerated reference differs from the old one only where content did."""
    for key in EXECUTION_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in EXECUTION_METADATA:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill draws a new random id on every run
        if cell.cell_type == "code" and MARK not in cell.source:
            cell.outputs = []
    return notebook


def main() -> None:
    subprocess.run([sys.executable, str(REPO / "book" / "build.py"), "--profile", PROFILE, "--device", DEVICE,
                    "--output", str(BUILD), "--no-html"], check=True)
    # the chapters of notebooks/ only: the build folder may hold executed copies of removed chapters
    executed = [BUILD / "source" / "book" / "executed" / path.name for path in chapters(REPO / "notebooks")]
    for old in chapters(HERE):
        old.unlink()
    for path in executed:
        notebook = strip_unchecked(nbformat.read(path, as_version=4))
        with atomic_write(HERE / path.name, "w") as handle:
            nbformat.write(notebook, handle)
        print(f"wrote {HERE / path.name}")


if __name__ == "__main__":
    main()
