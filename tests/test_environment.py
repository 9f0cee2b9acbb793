"""environment.yml must not drift from pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def normalise(requirement: str) -> tuple[str, str]:
    """``("torch", "==2.9.1")`` from ``"torch==2.9.1"``: lower-case name, specifier without spaces."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def pyproject_requirements() -> set[tuple[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {normalise(r) for r in requirements}


def environment_requirements() -> set[tuple[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item)
    python = next(item for item in env["dependencies"] if isinstance(item, str) and item.startswith("python"))
    assert python == "python=3.11", "environment.yml must pin Python 3.11 like pyproject.toml"
    return {normalise(r) for r in pip}


def test_environment_yml_matches_pyproject():
    ours, conda = pyproject_requirements(), environment_requirements()
    assert ours == conda, f"only in pyproject.toml: {sorted(ours - conda)}; only in environment.yml: {sorted(conda - ours)}"


def test_torch_trio_is_pinned_to_a_matching_set():
    pins = dict(pyproject_requirements())
    assert (pins["torch"], pins["torchaudio"], pins["torchvision"]) == ("==2.9.1", "==2.9.1", "==0.24.1")
    assert pins["jupyter-book"] == "<2"
