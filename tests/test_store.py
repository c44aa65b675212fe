"""The store, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scoping.errors import SchemaVersionError, StoreError
from scoping.ingest import inspect_file, iter_records
from scoping.records import FIELDS, Record, make_record
from scoping.store import SCHEMA_VERSION, Store

DATA = Path(__file__).parent / "data"


def add(store: Store, records, source: str = "PsycINFO", sha: str | None = None):
    return store.add_import(
        source=source,
        file_path="/x/file.ris",
        sha256=sha if sha is not None else secrets.token_hex(32),  # a file of its own
        size=10,
        format="ris",
        encoding="utf-8",
        records=records,
    )


def test_new_database_gets_schema_version(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    with Store.open(store_url) as store:  # opening again checks, does not recreate
        assert store.count_records() == 0


def test_records_round_trip_every_field(store_url: str) -> None:
    info = inspect_file(DATA / "asreview/pubmed_endnote.txt")
    originals = list(iter_records(info))
    with Store.open(store_url) as store:
        row = add(store, iter(originals), source="MEDLINE", sha=info.sha256)
        assert row.n_records == len(originals) == store.count_records()
        stored = list(store.iter_records(batch=4))  # batches smaller than the file
    assert [s.position for s in stored] == list(range(len(originals)))
    for original, back in zip(originals, stored, strict=True):
        assert back.source == "MEDLINE"
        assert back.import_id == row.id
        for field in FIELDS:
            assert getattr(back.record, field) == getattr(original, field), field
        assert back.record.raw == original.raw
        assert back.record.extra == original.extra
        assert back.record.line == original.line


def test_failed_file_stores_nothing(store_url: str) -> None:
    def records_then_failure() -> Iterator[Record]:
        for i in range(4500):  # more than one insert batch before the failure
            yield make_record({"title": f"record {i}"})
        raise StoreError("reader failed half way")

    with Store.open(store_url) as store:
        add(store, iter([make_record({"title": "kept"})]), sha="a" * 64)
        with pytest.raises(StoreError, match="half way"):
            add(store, records_then_failure(), sha="b" * 64)
        assert store.count_records() == 1
        assert [i.sha256[0] for i in store.list_imports()] == ["a"]
        assert store.find_imports_by_hash("b" * 64) == []


def test_counts_by_source(store_url: str) -> None:
    with Store.open(store_url) as store:
        add(store, (make_record({"title": str(i)}) for i in range(3)), source="MEDLINE")
        add(store, (make_record({"title": str(i)}) for i in range(2)), source="PsycINFO")
        assert store.count_by_source() == [("MEDLINE", 3), ("PsycINFO", 2)]
        assert store.count_records(source="PsycINFO") == 2
        assert [s.record.title for s in store.iter_records(source="PsycINFO")] == ["0", "1"]


def test_unicode_and_long_values(store_url: str) -> None:
    record = make_record(
        {"title": "Состояние 精神 ü " * 500, "volume": "v" * 1000, "authors": ["Ünal, Ö."] * 3000}
    )
    with Store.open(store_url) as store:
        add(store, iter([record]))
        back = next(store.iter_records()).record
    assert back.title == record.title and back.volume == record.volume
    assert len(back.authors) == 3000


def test_newer_schema_is_refused(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE meta SET value = '999' WHERE key = 'schema_version'"))
    with pytest.raises(SchemaVersionError, match=r"newer scoping.*schema 999"):
        Store.open(store_url)


def test_foreign_database_is_refused(store_url: str) -> None:
    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE patients (id INTEGER PRIMARY KEY)"))
    store.close()
    with pytest.raises(SchemaVersionError, match="not a scoping database"):
        Store.open(store_url)


def test_missing_sqlite_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder does not exist"):
        Store.open(tmp_path / "nowhere" / "review.db")


@pytest.mark.postgres
def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        Store.open("postgresql://nobody@127.0.0.1:1/none")


def test_older_schema_is_migrated_without_touching_rows(store_url: str) -> None:
    from scoping.store import schema

    # a database as the foundation release wrote it: schema 1, records and imports only
    engine = sa.create_engine(Store(store_url).url)
    with engine.begin() as conn:
        for table in (schema.meta, schema.imports, schema.records):
            table.create(conn)
        conn.execute(
            schema.meta.insert(),
            [{"key": "app", "value": "scoping"}, {"key": "schema_version", "value": "1"}],
        )
    engine.dispose()
    with Store(store_url) as old:  # connect without the schema check, as the old release would
        add(old, iter([make_record({"title": "kept"})]))
    with Store.open(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        names = set(sa.inspect(store.engine).get_table_names())
        assert set(schema.metadata.tables) <= names
        assert [s.record.title for s in store.iter_records()] == ["kept"]


def test_background_checkpoints_take_the_log_copy_out_of_commits(tmp_path: Path) -> None:
    """SQLite in WAL mode extends the database file only when it copies the log into it: inside
    background_checkpoints a large commit leaves the file as it was until the thread is nudged."""
    path = tmp_path / "review.db"
    with Store.open(f"sqlite:///{path}") as store:

        def autocheckpoint() -> int:
            with store.engine.connect() as conn:
                return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

        records = [make_record({"title": f"record {i}"}, raw="x" * 4000) for i in range(2000)]
        with store.background_checkpoints() as nudge:
            assert autocheckpoint() == 0
            before = path.stat().st_size
            add(store, records)  # 8 MB: about 2,000 pages of log, twice SQLite's threshold
            assert path.stat().st_size == before  # the commit did not copy the log
            nudge()
            deadline = time.monotonic() + 10
            while path.stat().st_size < before + 8_000_000 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert path.stat().st_size > before + 8_000_000  # the thread did
        assert autocheckpoint() == 1000  # commits copy the log again
        add(store, records[:1], sha="b" * 64)
        assert store.count_records() == 2001


def test_record_values_are_the_json_the_store_always_wrote(store_url: str) -> None:
    """The fast encoding of list fields writes the very bytes of ``json.dumps`` (compact, not
    ASCII-escaped), for awkward strings and for lists that are not all strings."""
    import json

    from scoping.store import record_values
    from scoping.store.core import _RECORD_COLUMNS

    awkward = ["Müller, J.", 'O"Brien\\x', "tab\there", "line\nbreak", "\u2028\x00\x1f", "日本語"]
    not_strings: list[Any] = ["a", 3, None]  # on purpose: the JSON column keeps whatever it is given
    records = [
        Record(title="t", authors=awkward, keywords=[], extra={}),
        Record(title="t", authors=[], keywords=not_strings, extra={"n": [1, "ü"]}),
    ]
    for record in records:
        values = dict(zip(_RECORD_COLUMNS[3:], record_values(record), strict=True))
        for name, value in (
            ("authors", record.authors),
            ("keywords", record.keywords),
            ("extra", record.extra),
        ):
            assert values[name] == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    with Store.open(store_url) as store:
        add(store, [record_values(r) for r in records])
        back = [s.record for s in store.iter_records()]
    assert [(r.authors, r.keywords, r.extra) for r in back] == [
        (r.authors, r.keywords, r.extra) for r in records
    ]


def test_sqlite_syncs_the_log_at_every_commit(tmp_path: Path) -> None:
    """Issue 20: an acknowledged decision survives an operating-system crash or a power cut
    (WAL with synchronous=FULL; NORMAL may roll the last commits back)."""
    with Store.open(f"sqlite:///{tmp_path / 'review.db'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
