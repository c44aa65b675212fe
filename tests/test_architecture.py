"""The declared stage graph (docs/architecture.md) holds, and the page matches the tree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "scoping"
ARCHITECTURE = REPO / "docs" / "architecture.md"


def _children() -> set[str]:
    """The modules and packages directly under scoping/ (``records.py`` -> ``records``)."""
    names = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    names |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    return names


def test_lint_imports_keeps_every_contract() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip("import-linter is not installed in this environment (pip install -e '.[dev]')")
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout), result.stdout


def test_the_contracts_cover_the_stage_graph_and_the_rules() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert config["root_package"] == "scoping"
    contracts = {c["id"]: c for c in config["contracts"]}
    assert {"layers", "ui-only-in-cli", "sql-only-in-store", "network-only-in-search"} <= set(contracts)
    layers = contracts["layers"]
    assert layers["exhaustive"] is True
    listed = {name.strip() for line in layers["layers"] for name in line.split("|")}
    assert listed == _children()
    assert layers["layers"][:2] == ["__main__", "cli"]
    # every package but cli is held to the UI rule, every package but store to the SQL rule
    library = {f"scoping.{name}" for name in _children() - {"__main__", "cli"}}
    assert set(contracts["ui-only-in-cli"]["source_modules"]) == library
    assert set(contracts["sql-only-in-store"]["source_modules"]) == library - {"scoping.store"} | {
        "scoping.cli"
    }
    assert set(contracts["network-only-in-search"]["source_modules"]) == library - {"scoping.search"} | {
        "scoping.cli"
    }


def test_the_architecture_page_names_every_module() -> None:
    page = ARCHITECTURE.read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\|[^|]*\| `([\w.]+?)(?:/|\.py)?` \|", page, re.M)}
    assert _children() <= table, f"not in docs/architecture.md: {sorted(_children() - table)}"
    assert table - {"__init__"} <= _children(), f"no longer in the tree: {sorted(table - _children())}"


def test_ruff_holds_functions_to_the_complexity_and_length_budgets(tmp_path: Path) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment (pip install -e '.[dev]')")
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(16))
    statements = "".join(f"    y{i} = x + {i}\n" for i in range(51))
    probe = tmp_path / "probe.py"
    arguments = ", ".join(f"a{i}: int" for i in range(16))
    probe.write_text(
        f"def branchy(x: int) -> int:\n{branches}    return -1\n\n\ndef long(x: int) -> None:\n{statements}"
        f"\n\ndef wide({arguments}) -> None:\n    pass\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [ruff, "check", "--config", str(REPO / "pyproject.toml"), "--output-format", "concise", str(probe)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    found = set(re.findall(r"\b(C901|PLR0912|PLR0913|PLR0915)\b", result.stdout))
    assert found == {"C901", "PLR0912", "PLR0913", "PLR0915"}, result.stdout + result.stderr


COMMAND_BUDGET = 40
"""Lines of a click command function, from ``def`` to its last line, its docstring (the
``--help`` text) left out: parse, one call into app.py or a stage, present."""


def _command_lengths() -> dict[str, int]:
    """Every click command and group function in cli/ (``file:function``) and its length."""
    import ast

    lengths: dict[str, int] = {}
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = [ast.unparse(d) for d in node.decorator_list]
            if not any(re.search(r"\.(command|group)\(", d) for d in decorators):
                continue
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            if ast.get_docstring(node, clean=False) is not None:
                doc = node.body[0]
                assert doc.end_lineno is not None
                length -= doc.end_lineno - doc.lineno + 1
            lengths[f"{path.name}:{node.name}"] = length
    return lengths


def test_no_cli_command_is_over_the_budget() -> None:
    lengths = _command_lengths()
    assert len(lengths) > 40, sorted(lengths)  # the walk finds the commands
    over = {name: n for name, n in lengths.items() if n > COMMAND_BUDGET}
    assert not over, f"commands over {COMMAND_BUDGET} lines (move the logic to app.py or the stage): {over}"


def _code_map() -> Any:
    """scripts/code_map.py, the script that counts the page's lines."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("code_map", REPO / "scripts" / "code_map.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_architecture_pages_sizes_are_the_trees() -> None:
    """The package table's line counts are those of the tree, within a tenth (so that a small
    change need not touch the page, and a map gone stale fails): refresh them with
    ``python scripts/code_map.py --write``."""
    code_map = _code_map()
    files = code_map.sources(None)
    rows = code_map.page_rows(ARCHITECTURE.read_text(encoding="utf-8"))
    assert {name for name, _, _ in rows} - {"__init__"} == _children()
    stale = {
        name: (said, now)
        for name, package, said in rows
        if abs((now := code_map.row_lines(files, name, package)) - said) > max(30, now // 10)
    }
    assert not stale, (
        f"docs/architecture.md: (page, tree) lines differ; run scripts/code_map.py --write: {stale}"
    )
