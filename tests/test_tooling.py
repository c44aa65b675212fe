"""The project's own tooling configuration is really the one in use."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

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
    probe = tmp_path / "probe.py"
    probe.write_text("def untyped(x):\n    return x\n", encoding="utf-8")
    result = subprocess.run(
        [mypy, "--no-incremental", str(probe)], cwd=REPO, capture_output=True, text=True, check=False
    )
    # only our configuration (disallow_untyped_defs) makes this an error
    assert "missing a type annotation" in result.stdout, result.stdout + result.stderr
