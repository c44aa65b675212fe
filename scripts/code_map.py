"""Sizes of the code under src/scoping/, for docs/architecture.md and the closing notes.

    python scripts/code_map.py                 # lines of each row of the page's package table
    python scripts/code_map.py --write         # put those numbers into docs/architecture.md
    python scripts/code_map.py --largest       # the 10 largest files and 10 longest functions
    python scripts/code_map.py --largest --rev 0930429~1   # the same at an older commit

A row's lines are the lines of its ``.py`` files (a package: every ``.py`` file under it);
the report's templates are counted apart. A function's length runs from its ``def`` line to
its last line (methods and nested functions count on their own).
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = "src/scoping"
PAGE = REPO / "docs" / "architecture.md"
ROW = re.compile(r"^(\|[^|]*\| `([\w.]+?)(/|\.py)?` \|.*\| )([\d,]+)( \(and (\d+) templates\))?( \|)$", re.M)
TEMPLATES = "report/templates/"


def sources(rev: str | None) -> dict[str, str]:
    """Path under src/scoping/ -> text, of the working tree or of commit ``rev``."""
    if rev is None:
        root = REPO / SOURCE
        return {
            str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, SOURCE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out: dict[str, str] = {}
    for name in names:
        shown = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=REPO, capture_output=True, check=True)
        out[name.removeprefix(SOURCE + "/")] = shown.stdout.decode("utf-8", "replace")
    return out


def lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def row_lines(files: dict[str, str], name: str, package: bool) -> int:
    """The lines of the ``.py`` files of row ``name`` (a module, or a package's whole tree)."""
    if package:
        return sum(lines(t) for p, t in files.items() if p.startswith(name + "/") and p.endswith(".py"))
    return lines(files.get(name + ".py", ""))


def template_count(files: dict[str, str]) -> int:
    return sum(1 for p in files if p.startswith(TEMPLATES))


def page_rows(page: str) -> list[tuple[str, bool, int]]:
    """(name, is a package, lines the page says) of every row of the package table."""
    return [(m.group(2), m.group(3) == "/", int(m.group(4).replace(",", ""))) for m in ROW.finditer(page)]


def write_page(files: dict[str, str]) -> str:
    page = PAGE.read_text(encoding="utf-8")

    def fix(m: re.Match[str]) -> str:
        count = row_lines(files, m.group(2), m.group(3) == "/")
        templates = f" (and {template_count(files)} templates)" if m.group(5) else ""
        return f"{m.group(1)}{count:,}{templates}{m.group(7)}"

    return ROW.sub(fix, page)


def functions(files: dict[str, str]) -> list[tuple[int, str]]:
    """(lines, "path:qualified name") of every function and method."""
    found: list[tuple[int, str]] = []
    for path, text in files.items():
        if not path.endswith(".py"):
            continue

        def visit(node: ast.AST, prefix: str, path: str = path) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = f"{prefix}{child.name}"
                    found.append((child.end_lineno - child.lineno + 1, f"{path}:{name}"))  # type: ignore[operator]
                    visit(child, name + ".")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

        visit(ast.parse(text), "")
    return sorted(found, key=lambda item: (-item[0], item[1]))


def largest(files: dict[str, str], n: int = 10) -> None:
    py = {p: lines(t) for p, t in files.items() if p.endswith(".py")}
    print(f"{len(py)} Python files, {sum(py.values()):,} lines")
    print(f"{n} largest files:")
    for path, count in sorted(py.items(), key=lambda item: (-item[1], item[0]))[:n]:
        print(f"  {count:6,}  {path}")
    print(f"{n} longest functions:")
    for count, name in functions(files)[:n]:
        print(f"  {count:6,}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update the line counts in docs/architecture.md")
    parser.add_argument("--largest", action="store_true", help="the largest files and longest functions")
    parser.add_argument("--rev", help="a git commit to measure instead of the working tree (with --largest)")
    args = parser.parse_args()
    files = sources(args.rev)
    if args.largest:
        largest(files)
        return 0
    if args.write:
        PAGE.write_text(write_page(files), encoding="utf-8")
    for name, package, said in page_rows(PAGE.read_text(encoding="utf-8")):
        print(
            f"{name + ('/' if package else '.py'):16} {row_lines(files, name, package):7,}  (page: {said:,})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
