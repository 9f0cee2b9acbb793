"""The coding assignments (issue 13): every otter master notebook of ``assignments/`` is assigned
with ``otter assign`` and graded offline, as a teacher would grade it.

- the reference solution scores full marks;
- the untouched student notebook scores zero on every question;
- a deliberately wrong solution (one plausible mistake per assignment, :data:`MISTAKES`) passes
  the public tests and fails hidden ones: the hidden tests are what catch it;
- the student notebooks hold no line of solution code and no hidden test;
- ``otter run`` grades without a network (where a network namespace can be made).

The 18 gradings run once, in parallel processes (``graded``); each executes a notebook in a
kernel, a few seconds apiece.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from lrp_utils import classroom

REPO = Path(__file__).resolve().parent.parent
MASTERS = sorted((REPO / "assignments").glob("*.ipynb"))
NAMES = [path.stem for path in MASTERS]

#: One plausible mistake per assignment: (text of the reference solution, wrong replacement).
MISTAKES = {
    "a1_lrp_epsilon": ("z + epsilon * np.where", "z - epsilon * np.where"),  # ε with the wrong sign
    "a2_lrp_gamma_conv": ("boosted_bias = bias + gamma * bias.clamp(min=0)", "boosted_bias = bias"),  # no γb⁺
    "a3_conservation": ("np.maximum(z, 0.0) if index < len(weights) - 1 else z", "z"),  # ReLU forgotten
    "a4_flipping_order": ("int(np.floor(fraction * flat.shape[1] + 0.5))", "round(fraction * flat.shape[1])"),
    "a5_moore_mean": ("return total / count", "return total / 8"),  # zeros outside the border
    "a6_frequency_bands": ("(frequencies < high)", "(frequencies <= high)"),  # a band edge counted twice
}


def test_every_assignment_has_a_mistake_to_catch():
    assert len(NAMES) >= 5 and set(MISTAKES) == set(NAMES)


# --- the master notebooks ----------------------------------------------------------------------

def raw(cell, marker: str) -> bool:
    return cell.cell_type == "raw" and cell.source.lstrip().startswith(marker)


def questions(master: Path) -> dict[str, list[dict]]:
    """Question name -> its test cells' configs (``hidden``, ``points``), read from the master."""
    found, current, in_tests = {}, None, False
    for cell in nbformat.read(master, as_version=4).cells:
        if raw(cell, "# BEGIN QUESTION"):
            current = yaml.safe_load(cell.source)["name"]
            found[current] = []
        elif raw(cell, "# BEGIN TESTS") or raw(cell, "# END TESTS"):
            in_tests = raw(cell, "# BEGIN TESTS")
        elif in_tests and cell.cell_type == "code":
            config = re.match(r'""" # BEGIN TEST CONFIG\n(.*?)""" # END TEST CONFIG', cell.source, re.S)
            assert config, f"{master.name}, {current}: a test cell without a TEST CONFIG (hidden, points)"
            found[current].append(yaml.safe_load(config.group(1)))
    return found


@pytest.mark.parametrize("master", MASTERS, ids=NAMES)
def test_master_has_public_and_hidden_tests_with_the_points_it_announces(master):
    assert classroom.assignment_name(master) == master.stem
    tests = questions(master)
    assert tests, f"{master.name} has no question"
    for name, configs in tests.items():
        assert any(c.get("hidden") for c in configs) and any(not c.get("hidden") for c in configs), \
            f"{master.name}, {name}: needs public and hidden tests"
        assert all(c.get("points", 0) > 0 for c in configs), f"{master.name}, {name}: every test needs points"
    public = sum(c["points"] for configs in tests.values() for c in configs if not c.get("hidden"))
    hidden = sum(c["points"] for configs in tests.values() for c in configs if c.get("hidden"))
    intro = nbformat.read(master, as_version=4).cells[1].source
    assert f"**Points**: {public + hidden} ({public} public, {hidden} hidden)" in intro


def test_assignment_name_must_match_the_file_name(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\nname: other")]
    nbformat.write(notebook, tmp_path / "mine.ipynb")
    with pytest.raises(ValueError, match="name: mine"):
        classroom.assignment_name(tmp_path / "mine.ipynb")
    notebook.cells = [nbformat.v4.new_markdown_cell("no config")]
    nbformat.write(notebook, tmp_path / "mine.ipynb")
    with pytest.raises(ValueError, match="ASSIGNMENT CONFIG"):
        classroom.assignment_name(tmp_path / "mine.ipynb")


def test_grade_sums_points_per_question():
    grade = classroom.Grade((classroom.TestResult("q1", "q1 - 1", False, 1.0, True),
                             classroom.TestResult("q1", "q1 - 2", True, 2.0, False),
                             classroom.TestResult("q2", "q2 - 1", True, 3.0, True)))
    assert grade.questions == ["q1", "q2"]
    assert (grade.score(), grade.possible()) == (4.0, 6.0)
    assert (grade.score("q1"), grade.possible("q1")) == (1.0, 3.0)
    assert [t.name for t in grade.failed(hidden=True)] == ["q1 - 2"] and grade.failed(hidden=False) == []
    with pytest.raises(ValueError, match="q3"):
        grade.score("q3")


def test_grade_all_writes_one_row_per_submission(tmp_path, monkeypatch):
    def fake_grade(autograder, submission):
        if Path(submission).stem == "other":
            raise RuntimeError("Received submission for assignment 'a2'")
        passed = Path(submission).stem == "good"
        return classroom.Grade((classroom.TestResult("q1", "q1 - 1", False, 1.0, passed),
                                classroom.TestResult("q2", "q2 - 1", True, 2.0, True)))

    monkeypatch.setattr(classroom, "grade", fake_grade)
    rows = classroom.grade_all("ag.zip", ["good.ipynb", "other.ipynb", "bad.ipynb"], tmp_path / "grades.csv")
    assert [(r.get("q1"), r["total"], r.get("possible")) for r in rows] == [(1.0, 3.0, 3.0), (None, 0.0, None),
                                                                           (0.0, 2.0, 3.0)]
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines == ["submission,q1,q2,total,possible,error", "good.ipynb,1.0,2.0,3.0,3.0,",
                     "other.ipynb,,,0.0,,RuntimeError: Received submission for assignment 'a2'",
                     "bad.ipynb,0.0,2.0,2.0,3.0,"]


def test_grade_needs_existing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.zip"):
        classroom.grade(tmp_path / "missing.zip", tmp_path / "missing.ipynb")


# --- otter assign and otter run ----------------------------------------------------------------

@pytest.fixture(scope="module")
def assigned(tmp_path_factory) -> dict[str, classroom.Assigned]:
    """Every assignment through ``otter assign`` (the solutions are graded below, not here)."""
    output = tmp_path_factory.mktemp("student")
    return {a.name: a for a in classroom.assign_all(REPO / "assignments", output, run_tests=False)}


def wrong_solution(assigned: classroom.Assigned, folder: Path) -> Path:
    """The reference solution with :data:`MISTAKES`' mistake, under the master's file name."""
    right, wrong = MISTAKES[assigned.name]
    notebook = nbformat.read(assigned.solution, as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and right in cell.source]
    assert len(cells) == 1 and cells[0].source.count(right) == 1, f"{assigned.name}: {right!r} not found once"
    cells[0].source = cells[0].source.replace(right, wrong)
    path = folder / assigned.name / f"{assigned.name}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def graded(assigned, tmp_path_factory) -> dict[tuple[str, str], classroom.Grade]:
    """(assignment, "reference" | "student" | "wrong") -> its grade, graded in parallel processes."""
    wrong = tmp_path_factory.mktemp("wrong")
    jobs = {}
    for name, a in assigned.items():
        jobs[name, "reference"] = (a.autograder, a.solution)
        jobs[name, "student"] = (a.autograder, a.notebook)
        jobs[name, "wrong"] = (a.autograder, wrong_solution(a, wrong))
    context = multiprocessing.get_context("spawn")  # the parent may hold torch threads
    with concurrent.futures.ProcessPoolExecutor(min(4, os.cpu_count() or 1), mp_context=context) as pool:
        futures = {key: pool.submit(classroom.grade, *job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_scores_full_marks(graded, name):
    grade = graded[name, "reference"]
    assert grade.possible() > 0 and grade.score() == grade.possible(), \
        f"{name}: the reference fails {[t.name for t in grade.failed()]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_notebook_scores_zero(graded, name):
    grade = graded[name, "student"]
    assert grade.questions == list(questions(REPO / "assignments" / f"{name}.ipynb"))
    for question in grade.questions:
        assert grade.score(question) == 0, f"{name}, {question}: a test passes without any code"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_wrong_solution_passes_public_but_fails_hidden_tests(graded, name):
    grade = graded[name, "wrong"]
    assert grade.failed(hidden=False) == [], f"{name}: the mistake should get past the public tests"
    assert grade.failed(hidden=True), f"{name}: no hidden test catches {MISTAKES[name][1]!r}"
    assert grade.score() < grade.possible()


def solution_lines(master: Path) -> list[str]:
    """The code lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` in the master."""
    lines = []
    for cell in nbformat.read(master, as_version=4).cells:
        for block in re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", cell.source, re.S):
            lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_holds_no_solution_and_no_hidden_test(assigned, name):
    master = REPO / "assignments" / f"{name}.ipynb"
    text = assigned[name].notebook.read_text(encoding="utf-8")
    code = "\n".join(cell.source for cell in nbformat.read(assigned[name].notebook, as_version=4).cells
                     if cell.cell_type == "code")
    lines = solution_lines(master)
    assert lines, f"{name}: no solution block found in the master"
    leaked = [line for line in lines if line in code]
    assert leaked == [], f"{name}: solution code in the student notebook: {leaked}"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "hidden=True", "hidden: true"):
        assert marker not in text, f"{name}: {marker!r} in the student notebook"
    public = json.loads(text)["metadata"]["otter"]["tests"]
    assert set(public) == set(questions(master)), "every question ships its public tests"


def _network_namespace() -> list[str] | None:
    """A command prefix that runs without a network (loopback only), or None where not allowed."""
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-rn", "sh", "-c", "ip link set lo up"], capture_output=True)
    return ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "offline"] if probe.returncode == 0 else None


@pytest.mark.slow
def test_otter_run_grades_without_a_network(assigned, tmp_path):
    prefix = _network_namespace()
    if prefix is None:
        pytest.skip("no network namespace can be made here (unshare -rn); the offline run is not shown")
    a = assigned["a5_moore_mean"]
    submission = tmp_path / f"{a.name}.ipynb"
    shutil.copy(a.solution, submission)
    otter = Path(sys.executable).with_name("otter")
    result = subprocess.run([*prefix, str(otter), "run", "-a", str(a.autograder), "-o", str(tmp_path), str(submission)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads((tmp_path / "results.json").read_text())["tests"]
    graded = [test for test in scores if "max_score" in test]
    assert graded and all(test["score"] == test["max_score"] for test in graded), scores


@pytest.mark.slow
def test_assign_refuses_a_master_whose_solution_fails_its_tests(tmp_path):
    right, wrong = MISTAKES["a5_moore_mean"]
    text = (REPO / "assignments" / "a5_moore_mean.ipynb").read_text(encoding="utf-8")
    (tmp_path / "a5_moore_mean.ipynb").write_text(text.replace(right, wrong), encoding="utf-8")
    with pytest.raises(RuntimeError, match="otter assign a5_moore_mean.ipynb failed"):
        classroom.assign(tmp_path / "a5_moore_mean.ipynb", tmp_path / "out")
