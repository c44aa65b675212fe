"""Opening the store: URLs, engines, schema version checks, and the record operations.

This is the only module family that speaks SQL. Everything goes through SQLAlchemy Core with
bound parameters.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scoping.errors import DuplicateImportError, SchemaVersionError, StoreError
from scoping.records import FIELDS, Record
from scoping.store import migrations, schema
from scoping.store.values import StoredRecord, WorkChange, os_user, stored_record, utc_now

__all__ = [
    "ImportRow",
    "RecordValues",
    "Store",
    "StoredRecord",
    "database_url",
    "os_user",
    "record_values",
    "redact_url",
    "refusal",
    "utc_now",
]

BATCH = 2000


def database_url(location: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL from a path to an SQLite file or a database URL.

    ``postgresql://`` and ``postgres://`` URLs use the psycopg (3) driver.
    """
    text = os.fspath(location)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # pragma: no cover - a URL SQLAlchemy cannot parse is shown as is
        return url


_INSUFFICIENT_PRIVILEGE = "42501"
"""PostgreSQL's SQLSTATE for a missing privilege (``permission denied for table ...``)."""


def refusal(exc: BaseException) -> StoreError | None:
    """What the database refused, as a one-line :class:`StoreError`, when ``exc`` is the
    database refusing a statement for want of a privilege (a PostgreSQL role without a grant,
    an SQLite file the user cannot write); ``None`` for any other error.

    The command line calls this for errors that are not ours, so that a missing grant reads as
    one line whatever command met it.
    """
    if not isinstance(exc, sa.exc.DBAPIError):
        return None
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    text = " ".join(str(orig).split("\n")[0].split())
    if state == _INSUFFICIENT_PRIVILEGE:
        return StoreError(
            f"the database refused: {text}; ask the database's owner to grant it (or connect with "
            "--db as a role that has it)"
        )
    if isinstance(orig, sqlite3.OperationalError) and "readonly" in text.replace("read-only", "readonly"):
        return StoreError(
            f"the database refused: {text}; you may read this review's database but not change "
            "it (check the permissions of the database file and its folder)"
        )
    return None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One imported file."""

    id: int
    source: str
    file_name: str
    file_path: str
    sha256: str
    size: int
    format: str
    encoding: str
    n_records: int
    imported_at: str
    search_run: str | None
    note: str | None
    again: int = 0
    """1 when imported with ``--again`` (a repeat of earlier content, allowed on purpose)."""


SQLITE_SYNCHRONOUS = "FULL"
"""SQLite's ``synchronous`` setting. In WAL mode ``FULL`` syncs the log to disk at every commit,
so a decision acknowledged is kept through a power cut or an operating-system crash too;
``NORMAL`` syncs only at checkpoints, and SQLite documents that the last commits before such a
crash may then be rolled back (a crash of scoping itself loses nothing either way). The cost is
measured by ``bench/decision_fsync.py``."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_SCHEMA_VERSION = sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")

_AUTOCHECKPOINT = 1000
"""SQLite's default: a commit that leaves the write-ahead log over 1,000 pages copies it into
the database before it returns."""


class _Checkpointer(threading.Thread):
    """Copies SQLite's write-ahead log into the database from a connection of its own, when
    nudged (and at least every second), so that commits do not do it."""

    def __init__(self, path: str) -> None:
        super().__init__(name="scoping-checkpoint", daemon=True)
        self._path = path
        self._wake = threading.Event()
        self._finish = threading.Event()

    def nudge(self) -> None:
        self._wake.set()

    def run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=30, check_same_thread=False)
        try:
            while not self._finish.is_set():
                self._wake.wait(1.0)
                self._wake.clear()
                # PASSIVE: copy what no reader still needs, never wait for a writer
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()

    def stop(self) -> None:
        self._finish.set()
        self._wake.set()
        self.join()


class Store:
    """The review's database: records with their provenance (and, later, everything else).

    ``Store(url)`` connects; :meth:`open` also creates or checks the schema. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, url: str) -> None:
        self.url = database_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            db_path = self.url.removeprefix("sqlite:///")
            if db_path and db_path != ":memory:" and not Path(db_path).parent.is_dir():
                raise StoreError(
                    f"cannot create the database {db_path}: its folder does not exist; "
                    "run 'scoping init' or check --db"
                )
        try:
            self.engine: Engine = sa.create_engine(self.url, future=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise StoreError(f"not a database URL: {redact_url(self.url)} ({exc})") from exc
        self._autocheckpoint = _AUTOCHECKPOINT
        self._together: Connection | None = None
        self._together_thread = 0
        self._relinks: list[WorkChange] = []
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "checkout", self._set_autocheckpoint)

    def _set_autocheckpoint(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("autocheckpoint", _AUTOCHECKPOINT) != self._autocheckpoint:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(self._autocheckpoint)}")
            cursor.close()
            record.info["autocheckpoint"] = self._autocheckpoint

    @contextlib.contextmanager
    def background_checkpoints(self) -> Iterator[Callable[[], None]]:
        """For a run of many large commits (a search storing page after page): SQLite's log is
        copied into the database by a thread of its own instead of inside the commits that fill
        it. Yields ``nudge``, to call after each large commit. Nothing changes for PostgreSQL
        or an in-memory database; durability is the same (the log is on disk at each commit).
        """
        db_path = self.url.removeprefix("sqlite:///") if self.is_sqlite else ""
        if not db_path or db_path == ":memory:" or self._autocheckpoint == 0:
            yield lambda: None
            return
        checkpointer = _Checkpointer(db_path)
        checkpointer.start()
        self._autocheckpoint = 0
        try:
            yield checkpointer.nudge
        finally:
            self._autocheckpoint = _AUTOCHECKPOINT
            checkpointer.stop()

    @classmethod
    def open(cls, url: str | os.PathLike[str], *, create: bool = True) -> Store:
        """Connect to ``url`` and make sure its schema is this version's (creating it if new)."""
        store = cls(os.fspath(url))
        try:
            store.ensure_schema(create=create)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def ensure_schema(self, *, create: bool = True) -> None:
        """Create the tables in an empty database, or check the version of an existing one and
        bring an older one up to this version (:mod:`scoping.store.migrations`, the one path)."""
        where = redact_url(self.url)
        try:
            with self.engine.begin() as conn:
                names = set(sa.inspect(conn).get_table_names())
                if not names and self.is_sqlite:  # a new database: made under the write lock
                    names = self._lock_schema(conn)
                if "meta" not in names:
                    if names:
                        raise SchemaVersionError(
                            f"{where} is not a scoping database (it has other tables: "
                            f"{', '.join(sorted(names)[:5])}); point --db at a new or scoping database"
                        )
                    if not create:
                        raise StoreError(f"{where} has no scoping data yet; run 'scoping init' first")
                    migrations.create(conn, now=utc_now())
                    return
                values = dict(conn.execute(sa.select(schema.meta.c.key, schema.meta.c.value)).all())
                if values.get("app") != schema.APP_NAME or "schema_version" not in values:
                    raise SchemaVersionError(
                        f"{where} is not a scoping database (its meta table was written by "
                        "something else); point --db at a new or scoping database"
                    )
                version = int(values["schema_version"])
                if version > migrations.SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"{where} was written by a newer scoping (schema {version}, this "
                        f"version reads {migrations.SCHEMA_VERSION}); upgrade scoping to open it"
                    )
                if version < migrations.SCHEMA_VERSION and self.is_sqlite:
                    self._lock_schema(conn)  # and read the version again: another may have upgraded it
                    version = int(conn.execute(_SCHEMA_VERSION).scalar_one())
                if version < migrations.SCHEMA_VERSION:
                    migrations.upgrade(conn, version, now=utc_now())
        except sa.exc.DatabaseError as exc:  # cannot connect, or not a database file at all
            if getattr(exc.orig, "sqlstate", None) == "42501":  # a role without the privilege
                raise StoreError(
                    f"cannot open the database {where}: {str(exc.orig).splitlines()[0]}; your role "
                    "lacks this privilege - ask the database's owner to run 'scoping team setup' "
                    "(or to grant it), and check that --db connects as your own role"
                ) from exc
            raise StoreError(
                f"cannot open the database {where}: {exc.orig}; point --db at a "
                "scoping database or a new file"
            ) from exc

    @staticmethod
    def _lock_schema(conn: Connection) -> set[str]:
        """Start SQLite's write transaction before the schema is made or upgraded, and return the
        tables as they are under it.

        Python's sqlite3 module (Python 3.11) opens a transaction only before INSERT, UPDATE or
        DELETE, so CREATE TABLE and ALTER TABLE ran one by one, each committed on its own: a
        creation or upgrade cut short left half a schema, which the next open refused as "not a
        scoping database". Inside ``BEGIN IMMEDIATE`` all of it is stored or none (and one
        commit, not one per table, makes a new review's database about twice as fast).
        ``IMMEDIATE`` also takes the write lock first, so that two processes opening one new
        file do not both make it: the second waits and then finds the tables."""
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return set(sa.inspect(conn).get_table_names())

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(_SCHEMA_VERSION).scalar_one()
        return int(value)

    # -- imports --------------------------------------------------------------------------

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """One transaction for everything this thread writes inside the block (through
        :meth:`transaction`: imports, a re-linking of works and what follows it): all of it is
        stored, or (when anything fails) none, and reads inside it see the block's own writes.

        A block inside another is part of the outer one. The outermost block also refuses to
        commit a re-linking of works that nobody followed (:meth:`relinked`): it raises
        :class:`~scoping.errors.StoreError` and nothing of the block is stored.
        """
        if self._together is not None and self._together_thread == threading.get_ident():
            yield  # part of the outer block
            return
        if self._together is not None:  # pragma: no cover - a programming error
            raise StoreError("another thread holds this store's transaction")
        try:
            with self.engine.begin() as conn:
                self._together, self._together_thread = conn, threading.get_ident()
                try:
                    yield
                    if self._relinks:
                        raise StoreError(
                            "works were re-linked after screening began, but screening's "
                            "decisions were not carried to the new works, so nothing was "
                            "stored; re-link them through scoping.open_review(...) (dedupe, "
                            "pair_review, undo_work) or the scoping command"
                        )
                finally:
                    self._together, self._together_thread = None, 0
        finally:
            self._relinks.clear()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """The connection of this thread's :meth:`together` block, else a new transaction (for
        the table modules of this package)."""
        if self._together is not None and self._together_thread == threading.get_ident():
            yield self._together
            return
        with self.engine.begin() as conn:
            yield conn

    def relinked(self, change: WorkChange) -> None:
        """Note, inside a :meth:`together` block, that records moved between works while rows
        keyed by work (screening's) exist: the block commits only once someone has taken the
        change (:meth:`take_relinks`) and brought those rows in line with it."""
        if self._together is None:  # pragma: no cover - a programming error
            raise StoreError("re-link works inside Store.together()")
        self._relinks.append(change)

    def take_relinks(self) -> list[WorkChange]:
        """The re-linkings noted in this block and not yet followed, oldest first (and forget them)."""
        taken, self._relinks = self._relinks, []
        return taken

    def find_imports_by_hash(self, sha256: str) -> list[ImportRow]:
        with self.transaction() as conn:
            rows = conn.execute(
                sa.select(schema.imports)
                .where(schema.imports.c.sha256 == sha256)
                .order_by(schema.imports.c.id)
            ).all()
        return [ImportRow(**row._mapping) for row in rows]

    def list_imports(self) -> list[ImportRow]:
        with self.transaction() as conn:
            rows = conn.execute(sa.select(schema.imports).order_by(schema.imports.c.id)).all()
        return [ImportRow(**row._mapping) for row in rows]

    def add_import(
        self,
        *,
        source: str,
        file_path: str,
        sha256: str | Callable[[], str],
        size: int,
        format: str,
        encoding: str,
        records: Iterable[Record | RecordValues],
        search_run: str | None = None,
        note: str | Callable[[], str | None] | None = None,
        progress: Any = None,
        again: bool = False,
    ) -> ImportRow:
        """Store one file's records in one transaction; nothing is stored if any record fails.

        ``records`` (:class:`~scoping.records.Record` objects, or their
        :func:`record_values`) is consumed lazily in batches, so memory stays bounded.
        ``progress`` (if given) is called with the number of records stored so far after each
        batch. ``sha256`` may be a function that gives the file's hash (computed while the
        records are read): it is called after the last record, still inside the transaction,
        so that it can refuse the file by raising.

        Content imported before (the same ``sha256``, not a search run's page) is refused with
        :class:`~scoping.errors.DuplicateImportError` by the database's unique index, also when
        another command stores it at the same moment; ``again`` stores it as a repeat.
        """
        try:
            return self._add_import(
                source=source,
                file_path=file_path,
                sha256=sha256,
                size=size,
                format=format,
                encoding=encoding,
                records=records,
                search_run=search_run,
                note=note,
                progress=progress,
                again=again,
            )
        except sa.exc.IntegrityError as exc:
            if "uq_imports_content" not in str(exc.orig) and "imports.sha256" not in str(exc.orig):
                raise
            raise DuplicateImportError(
                file_path,
                "this content was imported by another command at the same moment, or earlier",
                "run 'scoping records --imports' to see it; pass --again to import it a second time",
            ) from None

    def _add_import(
        self,
        *,
        source: str,
        file_path: str,
        sha256: str | Callable[[], str],
        size: int,
        format: str,
        encoding: str,
        records: Iterable[Record | RecordValues],
        search_run: str | None,
        note: str | Callable[[], str | None] | None,
        progress: Any,
        again: bool,
    ) -> ImportRow:
        imported_at = utc_now()
        with self.transaction() as conn:
            import_id = conn.execute(
                schema.imports.insert()
                .values(
                    source=source,
                    file_name=Path(file_path).name,
                    file_path=file_path,
                    sha256=sha256 if isinstance(sha256, str) else "",
                    size=size,
                    format=format,
                    encoding=encoding,
                    n_records=0,
                    imported_at=imported_at,
                    search_run=search_run,
                    note=note if isinstance(note, str) or note is None else None,
                    again=1 if again else 0,
                )
                .returning(schema.imports.c.id)
            ).scalar_one()
            count = 0
            insert = self._record_insert_sql()
            batch: list[tuple[Any, ...]] = []
            for record in records:
                values = record if isinstance(record, tuple) else record_values(record)
                batch.append((import_id, count, source, *values))
                count += 1
                if len(batch) >= BATCH:
                    conn.exec_driver_sql(insert, batch)
                    batch = []
                    if progress is not None:
                        progress(count)
            if batch:
                conn.exec_driver_sql(insert, batch)
                if progress is not None:
                    progress(count)
            finished: dict[str, Any] = {"n_records": count}
            if not isinstance(sha256, str):
                finished["sha256"] = sha256()
            if callable(note):  # known only once the records are read (import --skip-incomplete)
                finished["note"] = note()
            conn.execute(schema.imports.update().where(schema.imports.c.id == import_id), finished)
            row = conn.execute(sa.select(schema.imports).where(schema.imports.c.id == import_id)).one()
        return ImportRow(**row._mapping)

    # -- records --------------------------------------------------------------------------

    def _record_insert_sql(self) -> str:
        """The bulk insert of records, in the driver's own placeholder style.

        Bulk imports bypass SQLAlchemy's per-row parameter processing (a third of the import
        time) but still bind every value as a parameter.
        """
        style = self.engine.dialect.paramstyle
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(style)
        if mark is None:  # pragma: no cover - only SQLite and psycopg are supported
            raise StoreError(f"unsupported database driver parameter style {style!r}")
        names = ", ".join(_RECORD_COLUMNS)
        marks = ", ".join([mark] * len(_RECORD_COLUMNS))
        return f"INSERT INTO records ({names}) VALUES ({marks})"

    def count_records(self, *, source: str | None = None, import_id: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(schema.records)
        if source is not None:
            query = query.where(schema.records.c.source == source)
        if import_id is not None:
            query = query.where(schema.records.c.import_id == import_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_by_source(self) -> list[tuple[str, int]]:
        query = (
            sa.select(schema.records.c.source, sa.func.count())
            .group_by(schema.records.c.source)
            .order_by(schema.records.c.source)
        )
        with self.engine.connect() as conn:
            return [(str(s), int(n)) for s, n in conn.execute(query).all()]

    def iter_records(
        self,
        *,
        source: str | None = None,
        import_id: int | None = None,
        ids: Sequence[int] | None = None,
        batch: int = BATCH,
    ) -> Iterator[StoredRecord]:
        """Yield stored records in import order, fetching ``batch`` rows at a time."""
        table = schema.records
        base = sa.select(table)
        if source is not None:
            base = base.where(table.c.source == source)
        if import_id is not None:
            base = base.where(table.c.import_id == import_id)
        if ids is not None:
            id_list = list(ids)
            for start in range(0, len(id_list), batch):
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        base.where(table.c.id.in_(id_list[start : start + batch])).order_by(table.c.id)
                    ).all()
                yield from (stored_record(row._mapping) for row in rows)
            return
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(base.where(table.c.id > last).order_by(table.c.id).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield stored_record(row._mapping)
            last = rows[-1].id


_RECORD_COLUMNS: tuple[str, ...] = (
    "import_id",
    "position",
    "source",
    "line",
    *FIELDS,
    "extra",
    "raw",
)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_quote = json.encoder.encode_basestring  # the JSON string, as _dumps writes it (C when available)
_LIST_FIELDS = frozenset({"authors", "keywords"})
_FIELD_INDEX = tuple((name, name in _LIST_FIELDS) for name in FIELDS)

RecordValues = tuple[Any, ...]
"""A record encoded for the records table by :func:`record_values`."""


def _json_list(items: list[Any]) -> str:
    """``_dumps(items)``, without the encoder's set-up for the usual list of strings."""
    if not items:
        return "[]"
    for item in items:
        if type(item) is not str:
            return _dumps(items)
    return "[" + ",".join(map(_quote, items)) + "]"


def record_values(record: Record) -> RecordValues:
    """The values a record is stored as: its line, every field (lists as JSON text), the
    extra fields as JSON text and the raw text, in the order of the records table's columns.

    A pure function of the record, so a parser process can encode records before handing
    them over (a tuple of strings crosses a process boundary several times faster than a
    :class:`~scoping.records.Record`); :meth:`Store.add_import` takes either.
    """
    values: list[Any] = [record.line]
    for name, is_list in _FIELD_INDEX:
        value = getattr(record, name)
        values.append(_json_list(value) if is_list else value)
    extra = record.extra
    values.append(_dumps(extra) if extra else "{}")
    values.append(record.raw)
    return tuple(values)
