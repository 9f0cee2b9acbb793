"""environment.yml must not drift from pyproject.toml.

The torch trio needs no test of its own: torchvision's and torchaudio's wheels require their torch
exactly (``torch==X.Y.Z``), so pip refuses a mismatched set at install time.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent


def normalise(requirement: str) -> tuple[str, str]:
    """``("torch", "==2.9.1")`` from ``"torch==2.9.1"``: lower-case name, specifier without spaces."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pyproject_requirements() -> set[tuple[str, str]]:
    project = pyproject()
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {normalise(r) for r in requirements}


def environment_dependencies() -> list:
    return yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]


def test_environment_yml_matches_pyproject():
    pip = next(item["pip"] for item in environment_dependencies() if isinstance(item, dict) and "pip" in item)
    ours, conda = pyproject_requirements(), {normalise(r) for r in pip}
    assert ours == conda, f"only in pyproject.toml: {sorted(ours - conda)}; only in environment.yml: {sorted(conda - ours)}"


def test_environment_yml_python_satisfies_requires_python():
    python = next(item for item in environment_dependencies() if isinstance(item, str) and item.startswith("python"))
    match = re.fullmatch(r"python=(\d+\.\d+)", python)
    assert match, f"environment.yml should pin one Python minor version as 'python=X.Y', not {python!r}"
    requires = SpecifierSet(pyproject()["requires-python"])
    assert f"{match.group(1)}.0" in requires, (
        f"environment.yml's {python} is outside pyproject.toml's requires-python {requires}")

