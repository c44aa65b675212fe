"""The library starts no process unless its caller asks (``workers``): a script without the
``if __name__ == "__main__":`` guard imports a large file in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scoping.errors import ConfigError
from scoping.spawn import parse_workers

REPO = Path(__file__).resolve().parent.parent


def test_unguarded_script_imports_a_large_file(tmp_path: Path) -> None:
    """A script without the guard reads a file big enough for the parser processes: were they
    started, each would run the script again and die ("the reader process stopped")."""
    record = (REPO / "tests" / "data" / "asreview" / "pubmed_zotero.ris").read_text(encoding="utf-8")
    big = tmp_path / "big.ris"
    with big.open("w", encoding="utf-8") as out:
        while out.tell() < 17_000_000:
            out.write(record + "\n")
    script = tmp_path / "count.py"
    script.write_text(
        "import multiprocessing\nfrom pathlib import Path\n"
        "from scoping.ingest import inspect_file, iter_records\n"
        f"records = iter_records(inspect_file(Path({str(big)!r})))\n"
        "first = next(records)\n"
        "print(len(multiprocessing.active_children()), 1 + sum(1 for _ in records))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    children, count = map(int, result.stdout.split())
    assert children == 0 and count > 1000


def test_the_commands_number_of_workers() -> None:
    assert parse_workers({"SCOPING_PARSE_WORKERS": "3"}) == 3
    assert parse_workers({"SCOPING_PARSE_WORKERS": "0"}) == 0
    assert 1 <= parse_workers({}) <= 4
    for bad, message in (("two", "whole number"), ("-1", "at least 0")):
        with pytest.raises(ConfigError, match=message):
            parse_workers({"SCOPING_PARSE_WORKERS": bad})
