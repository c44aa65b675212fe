"""The store's own modules: no import cycle among them, and nothing made outside the one
migration path (scoping.store.migrations)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

STORE = Path(__file__).parent.parent / "src" / "scoping" / "store"


def test_the_store_modules_import_each_other_without_a_cycle() -> None:
    graph = grimp.build_graph("scoping", exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if m.startswith("scoping.store."))
    cycles = [
        (a, b)
        for a in modules
        for b in modules
        if a < b and graph.chain_exists(importer=a, imported=b) and graph.chain_exists(importer=b, imported=a)
    ]
    assert cycles == []


def test_tables_are_made_only_by_the_migrations() -> None:
    """``create_all`` / ``Table.create`` (making tables) appear in store/migrations.py only."""
    makers = []
    for path in sorted(STORE.glob("*.py")):
        if path.name == "migrations.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("create_all", "ensure_tables"):
                makers.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.FunctionDef) and node.name == "ensure_tables":
                makers.append(f"{path.name}:{node.lineno}")
    assert makers == []
