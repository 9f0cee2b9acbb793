"""How the chapters read in the book: code that only sets up, plots or glues is folded away
(``hide-input``) or removed (``remove-cell``); the parameters and the library calls a reader should
copy stay visible (issue 14)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: The calls a reader should be able to copy from the page: a cell making one stays visible.
KEY_CALLS = ("ensure_trained(", "finetune(", "explain(", "Explainer(", "explain_batch(", "explain_batched(",
             "pixel_flipping(", "run_augmentation_experiment(", "moore_augment(", "paper_composite(",
             "Composite(", "attribution_methods(", "method_relevance(", "faithfulness_curves(",
             "fold_accuracies(", "profile_datasets(", "synthesize_corpus(",
             "cue_reliance(", "localisation_scores(")
FOLDED = {"parameters", "hide-input", "remove-cell", "remove-input"}


def shown_as(cell) -> str:
    """``"folded"`` if the book hides the cell's code (or the cell), ``"visible"`` otherwise."""
    return "folded" if FOLDED & set(cell.metadata.get("tags", [])) - {"parameters"} else "visible"


def makes_key_call(cell) -> bool:
    return any(call in cell.source for call in KEY_CALLS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_only_parameters_and_key_calls_are_shown(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    parameters = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and shown_as(parameters[0]) == "visible", "the parameters cell must be visible"
    for cell in code:
        if cell in parameters:
            continue
        expected = "visible" if makes_key_call(cell) else "folded"
        if "remove-cell" in cell.metadata.get("tags", []):
            continue
        assert shown_as(cell) == expected, (
            f"{path.name}: a cell {'making a key call' if expected == 'visible' else 'that only sets up, computes or plots'} "
            f"should be {expected} (tag it {'without hide-input' if expected == 'visible' else 'hide-input'}):\n"
            f"{cell.source[:300]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_chapter_shows_at_least_one_call_to_copy(path):
    notebook = nbformat.read(path, as_version=4)
    assert any(cell.cell_type == "code" and shown_as(cell) == "visible" and makes_key_call(cell)
               for cell in notebook.cells)
