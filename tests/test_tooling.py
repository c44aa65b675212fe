"""The project's own tooling configuration is really the one in use."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import warnings
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def test_pytest_turns_warnings_into_errors() -> None:
    with pytest.raises(UserWarning):
        warnings.warn("filterwarnings = error is in force", UserWarning, stacklevel=1)


def test_ruff_loads_the_project_configuration() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment (pip install -e '.[dev]')")
    result = subprocess.run(
        [ruff, "check", "--show-settings", "src/scoping/records.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "line_length = 110" in result.stdout
    assert "pyproject.toml" in result.stdout


def test_mypy_loads_the_project_configuration(tmp_path: Path) -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed in this environment (pip install -e '.[dev]')")
    # a module of the package (scoping.*) must be fully annotated; a test need not be
    package = tmp_path / "scoping"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "probe.py").write_text("def untyped(x):\n    return x\n", encoding="utf-8")
    (tmp_path / "test_probe.py").write_text("def test_untyped(x):\n    return x\n", encoding="utf-8")
    result = subprocess.run(
        [
            mypy,
            "--no-incremental",
            "--config-file",
            str(REPO / "pyproject.toml"),
            "scoping/probe.py",
            "test_probe.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # only our configuration (disallow_untyped_defs for scoping.*) makes this an error
    assert "scoping/probe.py:1: error: Function is missing a type annotation" in result.stdout, result.stdout
    assert "test_probe.py" not in result.stdout, result.stdout


def _lock_pins() -> dict[str, list[tuple[str, str]]]:
    """name -> [(version, environment marker)] of every pin in requirements.lock."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.rstrip(" \\"))
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not pinned exactly: {line}"
        pins.setdefault(canonicalize_name(requirement.name), []).append(
            (specs[0].version, str(requirement.marker or ""))
        )
    return pins


def _lock_problems(declared: list[str]) -> list[str]:
    pins = _lock_pins()
    environment = {"python_full_version": "3.11.7", "python_version": "3.11", "extra": ""}
    problems = []
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} is declared but not in the lock")
            continue
        for version, marker in pins[name]:
            applies = not marker or Marker(marker).evaluate(environment)
            if applies and version not in requirement.specifier:
                problems.append(f"the lock pins {name}=={version}, outside {requirement}")
    return problems


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    """pyproject.toml and requirements.lock agree; refresh with `make lock` when this fails."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    problems = _lock_problems(declared)
    assert not problems, "; ".join(problems) + " (run `make lock`)"


def test_the_lock_check_finds_a_range_or_a_package_the_lock_does_not_meet() -> None:
    pinned = _lock_pins()["scikit-learn"][0][0]
    assert _lock_problems([f"scikit-learn>{pinned}", "a-package-nobody-locked>=1"]) == [
        f"the lock pins scikit-learn=={pinned}, outside scikit-learn>{pinned}",
        "a-package-nobody-locked is declared but not in the lock",
    ]
    assert _lock_problems([f"scikit-learn=={pinned}", "numpy>=1.0"]) == []


# psycopg is loaded by SQLAlchemy from a "postgresql+psycopg://" URL, never imported by name
LOADED_BY_NAME = {"psycopg"}


def _imported_distributions() -> set[str]:
    """The distributions whose top-level modules src/scoping imports (absolute imports)."""
    modules: set[str] = set()
    for path in (REPO / "src" / "scoping").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    owners = packages_distributions()
    return {canonicalize_name(d) for m in modules - {"scoping"} for d in owners.get(m, ())}


def test_the_declared_dependencies_are_the_imported_ones() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {canonicalize_name(Requirement(text).name) for text in project["dependencies"]}
    imported = _imported_distributions()
    assert sorted(imported - declared) == [], "imported by src/scoping but not declared"
    assert sorted(declared - imported - LOADED_BY_NAME) == [], "declared but never imported"
