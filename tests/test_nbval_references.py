"""The nbval references in ``tests/nbval/`` are the notebooks users run (``notebooks/``), executed.

``make test`` re-executes the references and compares their ``# NBVAL_CHECK_OUTPUT`` cells; that
checks ``notebooks/`` only while each reference holds the same cells as its notebook: the same
code and markdown sources and cell metadata (tags: ``remove-cell``, ``parameters``...) in the same
order. A reference may differ only by outputs, by what papermill and the kernel record while
executing, and by papermill's injected parameters cell, which must hold the parameters
``tests/nbval/regenerate.py`` runs with.
"""

from __future__ import annotations

import ast
from itertools import zip_longest
from pathlib import Path

import nbformat
import pytest

from tests.nbval.regenerate import DEVICE, EXECUTION_METADATA, PROFILE, chapters

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
REFERENCES = REPO / "tests" / "nbval"
REGENERATE = ("run `.venv/bin/python tests/nbval/regenerate.py`, review the diff of tests/nbval/ and "
              "commit the regenerated references")


def authored_cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str, dict]]:
    """``(cell type, source, metadata)`` of each cell an author wrote: papermill's injected
    parameters cell and the metadata recorded while executing are left out, and a cell without
    tags counts as one with an empty tag list (papermill adds ``tags: []`` when it executes)."""
    cells = []
    for cell in notebook.cells:
        metadata = {key: value for key, value in cell.metadata.items() if key not in EXECUTION_METADATA}
        metadata.setdefault("tags", [])
        if "injected-parameters" not in metadata["tags"]:
            cells.append((cell.cell_type, cell.source, metadata))
    return cells


def injected_parameters(notebook: nbformat.NotebookNode) -> dict:
    """The values assigned in papermill's injected parameters cell (there must be exactly one)."""
    injected = [cell for cell in notebook.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1, f"expected one papermill 'injected-parameters' cell, found {len(injected)}"
    tree = ast.parse(injected[0].source)
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)}


def difference(in_notebook: tuple[str, str, dict], in_reference: tuple[str, str, dict]) -> str:
    """What differs between two :func:`authored_cells` entries, in words."""
    if in_notebook[0] != in_reference[0]:
        return f"a {in_notebook[0]} cell in the notebook, a {in_reference[0]} cell in the reference"
    if in_notebook[1] != in_reference[1]:
        lines = zip_longest(in_notebook[1].split("\n"), in_reference[1].split("\n"), fillvalue="(no such line)")
        number, (new, old) = next((n, pair) for n, pair in enumerate(lines, 1) if pair[0] != pair[1])
        return f"source line {number} is {new!r} in the notebook, {old!r} in the reference"
    return f"metadata {in_notebook[2]} in the notebook, {in_reference[2]} in the reference"


def test_every_chapter_has_a_reference_and_no_reference_is_stale():
    chapter_names = [path.name for path in chapters(NOTEBOOKS)]
    reference_names = [path.name for path in chapters(REFERENCES)]
    assert chapter_names, f"no chapter notebooks (NN_name.ipynb) found in {NOTEBOOKS}"
    assert reference_names == chapter_names, (
        f"notebooks/ has {chapter_names} but tests/nbval/ has {reference_names}: {REGENERATE}")


@pytest.mark.parametrize("name", [path.name for path in chapters(NOTEBOOKS)])
def test_reference_has_the_cells_of_its_notebook(name):
    reference_path = REFERENCES / name
    if not reference_path.is_file():
        pytest.fail(f"tests/nbval/{name} is missing: {REGENERATE}")
    notebook = authored_cells(nbformat.read(NOTEBOOKS / name, as_version=4))
    reference = authored_cells(nbformat.read(reference_path, as_version=4))
    for index, (in_notebook, in_reference) in enumerate(zip(notebook, reference)):
        assert in_notebook == in_reference, (f"cell {index} of notebooks/{name} differs from its nbval reference "
                                             f"tests/nbval/{name}: {difference(in_notebook, in_reference)}; "
                                             f"{REGENERATE}")
    assert len(notebook) == len(reference), (
        f"notebooks/{name} has {len(notebook)} cells, its nbval reference {len(reference)}: {REGENERATE}")


@pytest.mark.parametrize("name", [path.name for path in chapters(REFERENCES)])
def test_reference_was_executed_with_the_regeneration_parameters(name):
    parameters = injected_parameters(nbformat.read(REFERENCES / name, as_version=4))
    expected = {"profile": PROFILE, "device": DEVICE, "data_dir": None}
    found = {key: parameters.get(key) for key in expected}
    assert found == expected, (
        f"tests/nbval/{name} was executed with {found}, not regenerate.py's {expected} (a local data_dir or "
        f"another device gives numbers CI cannot reproduce): {REGENERATE}")
