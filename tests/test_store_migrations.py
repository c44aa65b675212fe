"""The one migration path (scoping.store.migrations): a database written by each earlier schema
opens, is brought to this one, and keeps every row; on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

import pytest
import sqlalchemy as sa

from scoping.records import make_record
from scoping.store import SCHEMA_VERSION, Store, database_url, migrations, schema, screen_tables

FOUNDATION = ("meta", "imports", "records")
"""Schema 1: the foundation release's tables."""
ADDED_AT_3 = (("screen_decisions", "written_by"), ("screen_resolutions", "written_by"), ("imports", "again"))
MADE_ON_FIRST_USE = ("screen_scopes",)
"""Tables a store of schema 3 did not get when it was made (they were made on first use)."""


def _old_store(url: str, version: int) -> None:
    """A database as a scoping of schema ``version`` left it: this version's DDL with what the
    later steps added taken away again."""
    engine = sa.create_engine(database_url(url))
    with engine.begin() as conn:
        keep = [
            t
            for t in schema.metadata.sorted_tables
            if (version > 1 or t.name in FOUNDATION) and t.name not in MADE_ON_FIRST_USE
        ]
        schema.metadata.create_all(conn, tables=keep)
        if version < 3:
            schema.content_index.drop(conn)
            for table, column in ADDED_AT_3:
                if version > 1 or table in FOUNDATION:
                    conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(
            schema.meta.insert(),
            [{"key": "app", "value": "scoping"}, {"key": "schema_version", "value": str(version)}],
        )
    engine.dispose()


def _fill(url: str, version: int) -> None:
    """Rows in every table the old schema had, written with plain SQL as the old release would."""
    engine = sa.create_engine(database_url(url))
    sha = secrets.token_hex(32)
    with engine.begin() as conn:
        for n in range(3):  # before schema 3, the same file three times: two repeats it allowed
            if version >= 3:
                sha = secrets.token_hex(32)
            conn.execute(
                sa.text(
                    "INSERT INTO imports (source, file_name, file_path, sha256, size, format, "
                    "encoding, n_records, imported_at) VALUES ('PsycINFO', 'a.ris', '/x/a.ris', "
                    ":sha, 10, 'ris', 'utf-8', 2, '2025-01-01T00:00:00Z')"
                ),
                {"sha": sha},
            )
            for position in range(2):
                conn.execute(
                    sa.text(
                        "INSERT INTO records (import_id, position, source, title, authors, keywords, "
                        "extra, raw) VALUES (:i, :p, 'PsycINFO', :t, '[]', '[]', '{}', '')"
                    ),
                    {"i": n + 1, "p": position, "t": f"title {n}-{position}"},
                )
        if version >= 2:
            for record in range(1, 7):
                conn.execute(
                    sa.text(
                        "INSERT INTO record_work (record_id, work_id, linked_by, updated_at) "
                        "VALUES (:r, :w, 'rule', '2025-01-02T00:00:00Z')"
                    ),
                    {"r": record, "w": 1 if record <= 2 else record},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO screen_decisions (uid, stage, work_id, reviewer, decision, via, "
                    "decided_at) VALUES ('old-1', 'title-abstract', 1, 'alice', 'include', 'api', "
                    "'2025-01-02T00:00:00Z')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO screen_resolutions (uid, stage, work_id, lead, decision, decided_at) "
                    "VALUES ('res-1', 'title-abstract', 1, 'lead', 'include', '2025-01-03T00:00:00Z')"
                )
            )
    engine.dispose()


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but ``meta``, in id order."""
    engine = sa.create_engine(database_url(url))
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            if name == "meta":
                continue
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            order = [c for c in table.primary_key.columns] or list(table.columns)
            out[name] = [tuple(row) for row in conn.execute(sa.select(table).order_by(*order))]
    engine.dispose()
    return out


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_store_of_an_earlier_schema_is_migrated_without_losing_a_row(store_url: str, version: int) -> None:
    _old_store(store_url, version)
    _fill(store_url, version)
    before = _rows(store_url)
    assert sum(map(len, before.values())) >= 9
    with Store.open(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        inspector = sa.inspect(store.engine)
        # the database has every table and column this scoping defines
        assert set(inspector.get_table_names()) == set(schema.metadata.tables)
        for table in schema.metadata.sorted_tables:
            assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys())
        # each step it went through is recorded
        with store.engine.connect() as conn:
            keys = {k for (k,) in conn.execute(sa.select(schema.meta.c.key))}
        steps = {f"migrated_{s.version - 1}_to_{s.version}" for s in migrations.STEPS if s.version > version}
        assert steps <= keys
        assert not any(k.startswith(f"migrated_{version - 1}_") for k in keys)
        # and it works as a store of this version
        store.add_import(
            source="MEDLINE",
            file_path="/x/b.nbib",
            sha256=secrets.token_hex(32),
            size=1,
            format="medline",
            encoding="utf-8",
            records=[make_record({"title": "new"})],
        )
        if version >= 2:
            history = screen_tables.decision_history(store)
            assert [(r.uid, r.written_by) for r in history] == [("old-1", None)]
    after = _rows(store_url)
    for name, rows in before.items():
        kept = after[name][: len(rows)]
        # every old row is still there with its values (new columns come last, or are added)
        assert [row[: len(old)] for row, old in zip(kept, rows, strict=True)] == rows, name
    assert len(after["records"]) == len(before["records"]) + 1
    # the repeats of one file an older scoping stored are kept, marked as repeats
    engine = sa.create_engine(database_url(store_url))
    with engine.connect() as conn:
        imports = sa.Table("imports", sa.MetaData(), autoload_with=conn)
        again = [a for (a,) in conn.execute(sa.select(imports.c.again).order_by(imports.c.id))]
    engine.dispose()
    if version < 3:
        assert again == [0, 1, 1, 0]
    else:
        assert again == [0, 0, 0, 0]


def test_the_steps_are_numbered_one_after_another() -> None:
    assert [s.version for s in migrations.STEPS] == list(range(2, SCHEMA_VERSION + 1))


def test_a_new_store_has_every_table_when_it_is_made(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert set(sa.inspect(store.engine).get_table_names()) == set(schema.metadata.tables)


def _refusing(store: Store, action: int, name: str) -> None:
    """Make SQLite itself refuse one statement of ``store``'s connections (its authorizer):
    creating the table ``name``, or adding a column to it - as a full disk or an interrupt
    would stop the work part way."""
    import sqlite3

    def authorizer(what: int, arg1: str | None, arg2: str | None, *_: object) -> int:
        target = arg2 if what == sqlite3.SQLITE_ALTER_TABLE else arg1
        return sqlite3.SQLITE_DENY if what == action and target == name else sqlite3.SQLITE_OK

    sa.event.listen(store.engine, "connect", lambda dbapi, _record: dbapi.set_authorizer(authorizer))


def _tables(path: Any) -> set[str]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_new_database_cut_short_is_left_empty_and_opens_later(tmp_path: Any) -> None:
    """Every table is made in one transaction: a failure part way (here the last table is
    refused) leaves no half-made schema, which the next open would refuse as not ours."""
    import sqlite3

    from scoping.errors import StoreError

    path = tmp_path / "review.db"
    last = schema.metadata.sorted_tables[-1].name
    store = Store(f"sqlite:///{path}")
    _refusing(store, sqlite3.SQLITE_CREATE_TABLE, last)
    with pytest.raises(StoreError, match="not authorized"):
        store.ensure_schema()
    store.close()
    assert _tables(path) == set()
    with Store.open(f"sqlite:///{path}") as again:
        assert again.schema_version() == SCHEMA_VERSION


def test_an_upgrade_cut_short_leaves_the_old_schema_and_its_rows(tmp_path: Any) -> None:
    """An upgrade is one transaction too: refused part way, the database is still the old
    version with every row, and a later open upgrades it."""
    import sqlite3

    from scoping.errors import StoreError

    path = tmp_path / "review.db"
    url = f"sqlite:///{path}"
    _old_store(url, 2)
    _fill(url, 2)
    before = _rows(url)
    tables = _tables(path)
    store = Store(url)
    _refusing(store, sqlite3.SQLITE_ALTER_TABLE, "imports")  # the last column step 3 adds
    with pytest.raises(StoreError, match="not authorized"):
        store.ensure_schema()
    store.close()
    assert _tables(path) == tables
    assert _rows(url) == before
    with Store.open(url) as again:
        assert again.schema_version() == SCHEMA_VERSION
