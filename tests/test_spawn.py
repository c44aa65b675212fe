"""When the library may start ``spawn`` children: never where the child would run the caller's
program again."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from scoping import spawn

REPO = Path(__file__).resolve().parent.parent


def fake_main(monkeypatch: pytest.MonkeyPatch, path: Path | None, spec: str | None = None) -> None:
    main = types.ModuleType("__main__")
    if path is not None:
        main.__file__ = str(path)
    main.__spec__ = types.SimpleNamespace(name=spec) if spec else None  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", main)
    spawn._guarded.cache_clear()


def test_guarded_script_may_spawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "guarded.py"
    script.write_text("import scoping\n\nif __name__ == '__main__':\n    print('work')\n")
    fake_main(monkeypatch, script)
    assert spawn.can_spawn()


def test_unguarded_script_does_the_work_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "plain.py"
    script.write_text("import scoping\nprint('work')  # if __name__ == '__main__': in a comment\n")
    fake_main(monkeypatch, script)
    assert not spawn.can_spawn()


def test_stdin_module_and_command_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_main(monkeypatch, tmp_path / "<stdin>")  # python - : no file to import again
    assert not spawn.can_spawn()
    fake_main(monkeypatch, REPO / "src" / "scoping" / "__main__.py", spec="scoping.__main__")
    assert spawn.can_spawn()  # python -m scoping: children do not run it again
    fake_main(monkeypatch, None)  # python -c
    assert spawn.can_spawn()


def test_unguarded_script_imports_a_large_file(tmp_path: Path) -> None:
    """A script without the guard reads a file big enough for the background reader: before,
    the reader process ran the script again and died ("the reader process stopped")."""
    record = (REPO / "tests" / "data" / "asreview" / "pubmed_zotero.ris").read_text(encoding="utf-8")
    big = tmp_path / "big.ris"
    with big.open("w", encoding="utf-8") as out:
        while out.tell() < 17_000_000:
            out.write(record + "\n")
    script = tmp_path / "count.py"
    script.write_text(
        "from pathlib import Path\nfrom scoping.ingest import inspect_file, iter_records\n"
        f"print(sum(1 for _ in iter_records(inspect_file(Path({str(big)!r})))))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 1000
