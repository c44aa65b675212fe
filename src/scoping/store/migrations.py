"""The schema's versions, and the one path from each version to the next.

Every table is made here and nowhere else: :func:`create` makes all of them in a new database
(and writes ``SCHEMA_VERSION`` into ``meta``, the schema-version table); :func:`upgrade` runs
the steps of :data:`STEPS`, in order, from the version a database was written with to this
one. :meth:`scoping.store.Store.open` calls one or the other in the transaction that opens the
database, so a failed step leaves it as it was (PostgreSQL and SQLite both roll DDL back).

To change a table: change its definition, add a step at the end of :data:`STEPS` that brings a
database of the previous version to the new one without losing a row, raise nothing else
(``SCHEMA_VERSION`` is the number of the last step), and add the previous version's DDL to
``tests/test_store_migrations.py``.

Steps are written against the current table definitions and check what is there before they
change it, because a database of an older version may already hold some of what a step adds
(tables used to be made on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scoping.store import (
    dedupe_tables,
    schema,
    screen_tables,
    search_tables,
    topics_tables,
)

__all__ = ["SCHEMA_VERSION", "STEPS", "Step", "create", "upgrade"]

TABLE_MODULES = (dedupe_tables, screen_tables, search_tables, topics_tables)
"""The stages' table modules (imported here so that ``schema.metadata`` holds every table)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One migration: brings a database of schema ``version - 1`` to ``version``."""

    version: int
    what: str
    run: Callable[[Connection], None]


def _stage_tables(conn: Connection) -> None:
    schema.metadata.create_all(conn, checkfirst=True)


def _add_column(conn: Connection, table_name: str, column: str) -> None:
    """Add ``column`` (as defined now; it must allow empty values or have a server default)
    to a table that lacks it."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(table_name):
        return
    if column in {c["name"] for c in inspector.get_columns(table_name)}:
        return
    definition = schema.metadata.tables[table_name].c[column]
    kind = definition.type.compile(dialect=conn.dialect)
    default = definition.server_default
    tail = ""
    if default is not None:
        tail = f" NOT NULL DEFAULT {default.arg}"  # type: ignore[attr-defined]
    conn.exec_driver_sql(f"ALTER TABLE {table_name} ADD COLUMN {column} {kind}{tail}")


def _who_wrote_and_repeats(conn: Connection) -> None:
    """``written_by`` on decisions and resolutions (empty on the rows stored before: who wrote
    them is not known); ``imports.again``, with the files an older scoping stored more than
    once (with ``--again``, or by two imports at the same moment) keeping every row, the later
    ones marked as repeats; then the unique index on a file's content. No record is touched."""
    for table_name in ("screen_decisions", "screen_resolutions"):
        _add_column(conn, table_name, "written_by")
    columns = {column["name"] for column in sa.inspect(conn).get_columns("imports")}
    if "again" not in columns:
        _add_column(conn, "imports", "again")
        imports = schema.imports
        first = (
            sa.select(sa.func.min(imports.c.id))
            .group_by(imports.c.sha256)
            .where(imports.c.search_run.is_(None))
        )
        conn.execute(
            imports.update()
            .where(
                imports.c.search_run.is_(None),
                imports.c.sha256 != "",
                imports.c.id.not_in(first.scalar_subquery()),
            )
            .values(again=1)
        )
    schema.content_index.create(conn, checkfirst=True)


STEPS: tuple[Step, ...] = (
    Step(2, "the stages' tables (search, dedupe, screen, topics)", _stage_tables),
    Step(3, "who wrote each decision and resolution; a file's content imported once", _who_wrote_and_repeats),
    Step(
        4,
        "every table made when the database is (before, some were made on first use: "
        "screen_scopes, the stopping rule's, the labels', the topics')",
        _stage_tables,
    ),
)
"""The migrations, oldest first; step ``n`` brings schema ``n - 1`` to ``n``. Schema 1 (the
foundation: ``meta``, ``imports``, ``records``) is the first version a database was written with."""

SCHEMA_VERSION = STEPS[-1].version
"""The version this scoping writes and reads."""


def create(conn: Connection, *, now: str) -> None:
    """Make every table in an empty database and record that it is of ``SCHEMA_VERSION``."""
    schema.metadata.create_all(conn, checkfirst=False)  # the caller found no tables
    conn.execute(
        schema.meta.insert(),
        [
            {"key": "app", "value": schema.APP_NAME},
            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
            {"key": "created_at", "value": now},
        ],
    )


def upgrade(conn: Connection, version: int, *, now: str) -> None:
    """Run every step after ``version``, in order, in ``conn``'s transaction; record each in
    ``meta`` (``migrated_<from>_to_<to>``) and the new version."""
    for step in STEPS:
        if step.version <= version:
            continue
        step.run(conn)
        conn.execute(
            schema.meta.insert(),
            [{"key": f"migrated_{step.version - 1}_to_{step.version}", "value": now}],
        )
    conn.execute(
        schema.meta.update().where(schema.meta.c.key == "schema_version"),
        {"value": str(SCHEMA_VERSION)},
    )
