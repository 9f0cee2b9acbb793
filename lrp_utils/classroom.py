"""The classroom edition's coding assignments (issue 13), built and graded with otter-grader.

An assignment is an otter-grader *master notebook* (``assignments/*.ipynb``, otter's v1 format:
``# ASSIGNMENT CONFIG``, ``# BEGIN QUESTION``, ``# BEGIN SOLUTION``, ``# BEGIN TESTS`` raw cells;
exception-based tests, public or ``hidden: true``, with points). From it:

- :func:`assign` runs ``otter assign`` and lays out what a teacher needs under one folder::

      notebooks/<name>.ipynb    the student notebook: solutions stripped, public tests inside
      autograder/<name>.zip     the autograder: every test, the hidden ones included
      solutions/<name>.ipynb    the reference solution

- :func:`grade` grades one submission with an autograder exactly as
  ``otter run -a autograder.zip submission.ipynb`` does (otter's own code, in this process): the
  notebook is executed in a local kernel and the tests run on its variables. No container, no
  network. It returns a :class:`Grade` with every test case (question, hidden or public, points,
  passed).

``python -m lrp_utils.classroom assign assignments _build/student`` builds every assignment (the
``make student`` target); ``python -m lrp_utils.classroom grade AUTOGRADER.zip SUBMISSION.ipynb ...
--csv grades.csv`` grades a class.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import nbformat
import otter.run
import yaml

from lrp_utils.io import atomic_write


@dataclass(frozen=True)
class Assigned:
    """What :func:`assign` wrote for one assignment."""

    name: str
    #: The student notebook (hand this out).
    notebook: Path
    #: The autograder archive, hidden tests included (keep it).
    autograder: Path
    #: The reference solution notebook (keep it).
    solution: Path


@dataclass(frozen=True)
class TestResult:
    """One test case of a graded submission."""

    question: str
    name: str
    hidden: bool
    points: float
    passed: bool


@dataclass(frozen=True)
class Grade:
    """The graded test cases of one submission."""

    tests: tuple[TestResult, ...]

    @property
    def questions(self) -> list[str]:
        """The question names, in the order of the notebook."""
        return list(dict.fromkeys(test.question for test in self.tests))

    def score(self, question: str | None = None) -> float:
        """Points earned (in ``question``, or in all questions)."""
        return sum((test.points for test in self._of(question) if test.passed), 0.0)

    def possible(self, question: str | None = None) -> float:
        """Points available (in ``question``, or in all questions)."""
        return sum((test.points for test in self._of(question)), 0.0)

    def failed(self, hidden: bool | None = None) -> list[TestResult]:
        """The failed test cases (only the hidden or only the public ones if ``hidden`` is given)."""
        return [test for test in self.tests if not test.passed and (hidden is None or test.hidden == hidden)]

    def _of(self, question: str | None) -> list[TestResult]:
        if question is not None and question not in self.questions:
            raise ValueError(f"question {question!r} is not graded here; the questions are {self.questions}")
        return [test for test in self.tests if question is None or test.question == question]


def assignment_name(master: str | os.PathLike) -> str:
    """The ``name`` of the master notebook's ``# ASSIGNMENT CONFIG`` cell, which must equal its file
    name (the student notebook keeps the master's file name, and otter checks the name on grading).

    Raises
    ------
    ValueError
        If the notebook has no assignment config, no ``name``, or a name other than its file name.
    """
    master = Path(master)
    notebook = nbformat.read(master, as_version=4)
    configs = [cell.source for cell in notebook.cells
               if cell.cell_type == "raw" and cell.source.lstrip().startswith("# ASSIGNMENT CONFIG")]
    if len(configs) != 1:
        raise ValueError(f"master {master}: expected one raw cell starting with '# ASSIGNMENT CONFIG', "
                         f"found {len(configs)} (otter-grader's v1 notebook format)")
    name = (yaml.safe_load(configs[0]) or {}).get("name")
    if name != master.stem:
        raise ValueError(f"master {master}: the assignment config names it {name!r}; set 'name: {master.stem}' "
                         "(the file name) so that the student notebook and the autograder agree")
    return name


def assign(master: str | os.PathLike, output: str | os.PathLike, run_tests: bool = True) -> Assigned:
    """Run ``otter assign`` on ``master`` and move its results into ``output`` (layout in the module
    docstring). With ``run_tests`` otter first grades the reference solution with every test and
    fails if any test fails. Each file appears complete or not at all (moved into place from a
    temporary folder beside it).

    Raises
    ------
    ValueError
        If the master's assignment name is missing or differs from its file name.
    RuntimeError
        If ``otter assign`` fails (its output is in the message).
    """
    master = Path(master).resolve()
    name = assignment_name(master)
    output = Path(output)
    targets = {"notebook": output / "notebooks" / f"{name}.ipynb",
               "autograder": output / "autograder" / f"{name}.zip",
               "solution": output / "solutions" / f"{name}.ipynb"}
    for target in targets.values():
        target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output, prefix=f".{name}.") as work:
        command = [sys.executable, "-m", "otter", "assign", str(master), work]
        if not run_tests:
            command.append("--no-run-tests")
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"otter assign {master.name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        zips = sorted(Path(work, "autograder").glob(f"{name}-autograder_*.zip"))
        if len(zips) != 1:
            raise RuntimeError(f"otter assign {master.name} wrote {len(zips)} autograder archives, expected one")
        os.replace(Path(work, "student", f"{name}.ipynb"), targets["notebook"])
        os.replace(zips[0], targets["autograder"])
        os.replace(Path(work, "autograder", f"{name}.ipynb"), targets["solution"])
    return Assigned(name, **targets)


def assign_all(masters: str | os.PathLike, output: str | os.PathLike, run_tests: bool = True) -> list[Assigned]:
    """:func:`assign` every master notebook (``*.ipynb``) of the folder ``masters``, in name order.

    Raises
    ------
    ValueError
        If ``masters`` holds no notebook.
    """
    found = sorted(Path(masters).glob("*.ipynb"))
    if not found:
        raise ValueError(f"no master notebook (*.ipynb) in {masters}")
    return [assign(master, output, run_tests) for master in found]


def grade(autograder: str | os.PathLike, submission: str | os.PathLike) -> Grade:
    """Grade ``submission`` (a notebook) with ``autograder`` (a zip from :func:`assign`), as
    ``otter run -a AUTOGRADER SUBMISSION`` does, without a container; otter's console output is
    swallowed. A cell that raises does not stop the grading: otter executes the remaining cells
    and runs every test (those needing a name the failing cell should have defined fail).

    Raises
    ------
    FileNotFoundError
        If either file does not exist.
    """
    for path in (autograder, submission):
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such file: {path}")
    with contextlib.redirect_stdout(io.StringIO()):
        results = otter.run.main(str(submission), autograder=str(autograder), output_dir=None, no_logo=True)
    return Grade(tuple(
        TestResult(question=question, name=result.test_case.name, hidden=bool(result.test_case.hidden),
                   points=float(result.test_case.points), passed=bool(result.passed))
        for question, test_file in results.results.items() for result in test_file.test_case_results))


def grade_all(autograder: str | os.PathLike, submissions: Iterable[str | os.PathLike],
              csv_path: str | os.PathLike | None = None) -> list[dict]:
    """Grade every submission with ``autograder``; one row per submission (``submission``, the
    points of each question, ``total``, ``possible``, ``error``), also written to ``csv_path`` if
    given. A submission that cannot be graded (another assignment's notebook, a file that is no
    notebook) gets ``total`` 0 and otter's message in ``error``; the others are still graded."""
    rows = []
    for submission in submissions:
        try:
            result = grade(autograder, submission)
        except Exception as error:  # noqa: BLE001 -- one bad file must not stop a class's grading
            rows.append({"submission": str(submission), "total": 0.0, "error": f"{type(error).__name__}: {error}"})
            continue
        rows.append({"submission": str(submission), **{q: result.score(q) for q in result.questions},
                     "total": result.score(), "possible": result.possible(), "error": ""})
    if csv_path is not None and rows:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with atomic_write(csv_path, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lrp_utils.classroom", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("assign", help="student notebooks, autograders and solutions from master notebooks")
    build.add_argument("masters", help="folder of otter master notebooks (e.g. assignments)")
    build.add_argument("output", help="where notebooks/, autograder/ and solutions/ go (e.g. _build/student)")
    build.add_argument("--no-run-tests", action="store_true", help="do not grade the reference solutions first")
    marks = commands.add_parser("grade", help="grade submissions offline with one autograder")
    marks.add_argument("autograder", help="an autograder zip (e.g. _build/student/autograder/a1_lrp_epsilon.zip)")
    marks.add_argument("submissions", nargs="+", help="submitted notebooks")
    marks.add_argument("--csv", default=None, help="also write the scores to this CSV file")
    args = parser.parse_args(argv)

    if args.command == "assign":
        for assigned in assign_all(args.masters, args.output, run_tests=not args.no_run_tests):
            print(f"{assigned.name}: {assigned.notebook} (hand out), {assigned.autograder} (keep)")
    else:
        for row in grade_all(args.autograder, args.submissions, args.csv):
            print(f"{row['submission']}: " + (f"not graded ({row['error']})" if row["error"]
                                              else f"{row['total']:g} / {row['possible']:g}"))


if __name__ == "__main__":
    main()
