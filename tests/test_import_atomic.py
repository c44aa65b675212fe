"""Issue 20 (5, 6): a command naming several files stores all of them or none, and the same
content imported by two commands at the same moment is stored once (a unique index in the
store, not a check before the insert), on SQLite and on PostgreSQL; older stores are migrated."""

from __future__ import annotations

import multiprocessing
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from import_race import import_once
from scoping.cli import cli
from scoping.errors import DuplicateImportError, FormatError
from scoping.ingest.api import import_files
from scoping.records import Record
from scoping.store import SCHEMA_VERSION, Store

DATA = Path(__file__).parent / "data"
GOOD = DATA / "asreview/embase.ris"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def review(tmp_path: Path) -> Path:
    root = tmp_path / "rv"
    assert run("init", str(root))[0] == 0
    return root


def _bad_bib(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.bib"
    bad.write_text("@article{a, title = {One}, year = 2020}\n@article{b, title = {Two, year = 2021\n")
    return bad


def test_several_files_one_bad_store_nothing(review: Path, tmp_path: Path) -> None:
    bad = _bad_bib(tmp_path)
    code, out, err = run("--review", str(review), "import", str(GOOD), str(bad), "--source", "X")
    assert code == 1, (out, err)
    assert err.startswith("Error: ") and err.count("\n") == 1 and "bad.bib" in err, err
    assert "Imported" not in out  # nothing reported as stored
    assert run("--review", str(review), "records", "--count")[1].strip() == "0"
    assert "embase.ris" not in run("--review", str(review), "search", "log")[1]
    # and the good file alone still imports (it was not stored half, nor marked as seen)
    code, out, _ = run("--review", str(review), "import", str(GOOD), "--source", "X")
    assert code == 0 and "Imported 6 records" in out, out


def test_library_import_files_is_all_or_nothing(store_url: str, tmp_path: Path) -> None:
    bad = _bad_bib(tmp_path)
    with Store.open(store_url) as store:
        with pytest.raises(FormatError, match=r"bad\.bib"):
            import_files(store, [GOOD, bad], source="X")
        assert store.count_records() == 0 and store.list_imports() == []
        # the same content named twice in one command: the second is a repeat
        copy = tmp_path / "copy.ris"
        copy.write_bytes(GOOD.read_bytes())
        with pytest.raises(DuplicateImportError, match=r"copy\.ris"):
            import_files(store, [GOOD, copy], source="X")
        assert store.count_records() == 0
        rows = import_files(store, [GOOD, copy], source="X", again=True)
        assert [r.row.n_records for r in rows] == [6, 6]


def test_concurrent_imports_of_one_content_store_it_once(store_url: str) -> None:
    with Store.open(store_url) as store:
        pass
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    workers = [
        context.Process(target=import_once, args=(store_url, f"/x/{n}.ris", start, out)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
    outcomes = sorted(out.get(timeout=5) for _ in workers)
    assert outcomes == ["refused", "refused", "refused", "stored"], outcomes
    with Store.open(store_url) as store:
        assert len(store.list_imports()) == 1
        assert store.count_records() == 3000


def test_lazily_hashed_import_is_refused_at_the_end(store_url: str) -> None:
    """A large file's hash is known only after its records (it is hashed while they are read):
    the index refuses it at the end of the transaction, and nothing of it stays."""
    with Store.open(store_url) as store:
        store.add_import(
            source="X",
            file_path="/x/a",
            sha256="d" * 64,
            size=1,
            format="ris",
            encoding="utf-8",
            records=[Record(title="a")],
        )
        with pytest.raises(DuplicateImportError):
            store.add_import(
                source="X",
                file_path="/x/b",
                sha256=lambda: "d" * 64,
                size=1,
                format="ris",
                encoding="utf-8",
                records=[Record(title="b")],
            )
        assert store.count_records() == 1
        # search pages and --again imports are not held to it
        for again, run_id in ((True, None), (False, "run-1"), (False, "run-2")):
            store.add_import(
                source="X",
                file_path="/x/c",
                sha256="d" * 64,
                size=1,
                format="ris",
                encoding="utf-8",
                records=[Record(title="c")],
                again=again,
                search_run=run_id,
            )
        assert store.count_records() == 4


def test_schema_2_store_with_repeats_is_migrated(store_url: str) -> None:
    """A store an older scoping wrote, holding one content twice (the race this fixes): both
    rows stay, the later one is marked a repeat, and the index holds from then on."""
    from scoping.store import schema

    with Store.open(store_url) as store:
        pass
    engine = sa.create_engine(Store(store_url).url)
    with engine.begin() as conn:  # take the store back to schema 2 as it was
        conn.execute(sa.text("DROP INDEX uq_imports_content"))
        conn.execute(sa.text("ALTER TABLE imports DROP COLUMN again"))
        conn.execute(schema.meta.update().where(schema.meta.c.key == "schema_version").values(value="2"))
        for n in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO imports (source, file_name, file_path, sha256, size, format, encoding,"
                    " n_records, imported_at) VALUES ('X', 'f', '/f', :sha, 1, 'ris', 'utf-8', 0, 'now')"
                ),
                {"sha": "e" * 64 if n < 2 else secrets.token_hex(32)},
            )
    engine.dispose()
    with Store.open(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert [row.again for row in store.list_imports()] == [0, 1, 0]
        with pytest.raises(DuplicateImportError):
            store.add_import(
                source="X",
                file_path="/g",
                sha256="e" * 64,
                size=1,
                format="ris",
                encoding="utf-8",
                records=[],
            )
        assert len(store.list_imports()) == 3
