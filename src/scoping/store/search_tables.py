"""Tables and queries of the search stage: the log of search runs and the pages each fetched.

``search_runs`` has one row per executed search (database, platform, exact query, limits,
times, hit count, records retrieved, status); ``search_pages`` one row per raw response page
saved under ``searches/runs/<run>/``. A page's records are stored with
:meth:`~scoping.store.Store.add_import` (``search_run`` = the run id, ``file_path`` = the page
file); the page row then points at that import, which is how a resumed run knows a page is
done and never stores it twice.

``search_details`` keeps what a run learnt beyond its counts, as JSON (the database's own
translation of the query, its errors and warnings, the notes of the translation, shortfalls);
``search_exports`` freezes, at import time, the search behind an imported export (the query as
pasted, platform, date searched, hits the database reported, search history), so that the log
never re-derives an earlier search from today's strategy.

The tables are made with every other table (:mod:`scoping.store.migrations`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scoping.store.schema import imports, metadata, records

if TYPE_CHECKING:  # core imports this module through schema
    from scoping.store.core import Store

__all__ = [
    "ExportRow",
    "PageRow",
    "RunRow",
    "add_details",
    "create_run",
    "find_page_import",
    "get_details",
    "get_export",
    "get_page",
    "get_run",
    "link_page_import",
    "list_exports",
    "list_pages",
    "list_runs",
    "run_source_ids",
    "save_export",
    "save_page",
    "search_pages",
    "search_runs",
    "source_ids",
    "update_run",
]

search_runs = sa.Table(
    "search_runs",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("database", sa.Text, nullable=False, index=True),
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: the request's search parameters
    sa.Column("limits", sa.Text, nullable=False),  # JSON
    sa.Column("settings", sa.Text, nullable=False),  # JSON: batch size, cap... fixed for resumes
    sa.Column("folder", sa.Text, nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=True),
    sa.Column("hit_count", sa.Integer, nullable=True),
    sa.Column("retrieved", sa.Integer, nullable=False, default=0),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
)

search_pages = sa.Table(
    "search_pages",
    metadata,
    sa.Column("run_id", sa.String(80), sa.ForeignKey("search_runs.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # "search" (ids, counts) or "records"
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("next_token", sa.Text, nullable=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
    sa.Column("fetched_at", sa.String(40), nullable=False),
)

search_details = sa.Table(
    "search_details",
    metadata,
    sa.Column("run_id", sa.String(80), sa.ForeignKey("search_runs.id"), primary_key=True),
    sa.Column("details", sa.Text, nullable=False),  # JSON object
)

search_exports = sa.Table(
    "search_exports",
    metadata,
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), primary_key=True),
    sa.Column("database", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=True),  # as the user named it ("Ovid", "EBSCOhost")
    sa.Column("query", sa.Text, nullable=True),
    sa.Column("query_origin", sa.String(20), nullable=False),  # "given" or "plan" (at import)
    sa.Column("limits", sa.Text, nullable=True),  # JSON, the strategy's limits at import
    sa.Column("date_searched", sa.String(40), nullable=True),
    sa.Column("hit_count", sa.Integer, nullable=True),
    sa.Column("history", sa.Text, nullable=True),  # the platform's search history, as pasted
    sa.Column("recorded_at", sa.String(40), nullable=False),
)

RUN_STATUSES = ("running", "interrupted", "failed", "complete")


@dataclass(frozen=True, slots=True)
class ExportRow:
    """The search behind one imported export, as recorded when it was imported."""

    import_id: int
    database: str
    platform: str | None
    query: str | None
    query_origin: str
    """``given`` (the user gave the query as run) or ``plan`` (the plan's query at import)."""
    limits: dict[str, Any] | None
    date_searched: str | None
    hit_count: int | None
    history: str | None
    recorded_at: str


@dataclass(frozen=True, slots=True)
class RunRow:
    """One search run as logged."""

    id: str
    database: str
    platform: str
    query: str
    params: dict[str, Any]
    limits: dict[str, Any]
    settings: dict[str, Any]
    folder: str
    started_at: str
    updated_at: str
    finished_at: str | None
    hit_count: int | None
    retrieved: int
    requests: int
    status: str
    message: str | None


@dataclass(frozen=True, slots=True)
class PageRow:
    """One saved response page of a run."""

    run_id: str
    key: str
    seq: int
    kind: str
    file: str
    sha256: str
    size: int
    n_records: int
    next_token: str | None
    import_id: int | None
    fetched_at: str

    @property
    def done(self) -> bool:
        return self.kind != "records" or self.import_id is not None


def _engine(store: Store) -> sa.engine.Engine:
    return store.engine


def _run(row: Mapping[str, Any] | sa.RowMapping) -> RunRow:
    values = dict(row)
    for name in ("params", "limits", "settings"):
        values[name] = json.loads(values[name])
    return RunRow(**values)


def create_run(
    store: Store,
    *,
    id: str,
    database: str,
    platform: str,
    query: str,
    params: Mapping[str, Any],
    limits: Mapping[str, Any],
    settings: Mapping[str, Any],
    folder: str,
    started_at: str,
) -> RunRow:
    with _engine(store).begin() as conn:
        conn.execute(
            search_runs.insert().values(
                id=id,
                database=database,
                platform=platform,
                query=query,
                params=json.dumps(dict(params), ensure_ascii=False),
                limits=json.dumps(dict(limits), ensure_ascii=False),
                settings=json.dumps(dict(settings), ensure_ascii=False),
                folder=folder,
                started_at=started_at,
                updated_at=started_at,
                retrieved=0,
                requests=0,
                status="running",
            )
        )
        row = conn.execute(sa.select(search_runs).where(search_runs.c.id == id)).one()
    return _run(row._mapping)


def get_run(store: Store, run_id: str) -> RunRow | None:
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(search_runs).where(search_runs.c.id == run_id)).first()
    return None if row is None else _run(row._mapping)


def list_runs(store: Store, *, database: str | None = None, platform: str | None = None) -> list[RunRow]:
    """Runs in the order they started."""
    query = sa.select(search_runs).order_by(search_runs.c.started_at, search_runs.c.id)
    if database is not None:
        query = query.where(search_runs.c.database == database)
    if platform is not None:
        query = query.where(search_runs.c.platform == platform)
    with _engine(store).connect() as conn:
        return [_run(r._mapping) for r in conn.execute(query).all()]


def update_run(store: Store, run_id: str, **values: Any) -> None:
    """Set columns of a run (``status``, ``hit_count``, ``retrieved``, ``message``...)."""
    unknown = set(values) - set(search_runs.c.keys())
    if unknown:
        raise ValueError(f"no such search_runs column: {sorted(unknown)[0]}")
    if "status" in values and values["status"] not in RUN_STATUSES:
        raise ValueError(f"unknown run status {values['status']!r}")
    with _engine(store).begin() as conn:
        conn.execute(search_runs.update().where(search_runs.c.id == run_id).values(**values))


def save_page(
    store: Store,
    *,
    run_id: str,
    key: str,
    seq: int,
    kind: str,
    file: str,
    sha256: str,
    size: int,
    n_records: int,
    next_token: str | None,
    fetched_at: str,
) -> None:
    """Record a page saved to disk (once: a page that is already recorded is left as it is)."""
    with _engine(store).begin() as conn:
        exists = conn.execute(
            sa.select(search_pages.c.key).where(search_pages.c.run_id == run_id, search_pages.c.key == key)
        ).first()
        if exists is None:
            conn.execute(
                search_pages.insert().values(
                    run_id=run_id,
                    key=key,
                    seq=seq,
                    kind=kind,
                    file=file,
                    sha256=sha256,
                    size=size,
                    n_records=n_records,
                    next_token=next_token,
                    fetched_at=fetched_at,
                )
            )


def link_page_import(store: Store, run_id: str, key: str, import_id: int, n_records: int) -> None:
    """Mark a records page as stored by import ``import_id``."""
    with _engine(store).begin() as conn:
        conn.execute(
            search_pages.update()
            .where(
                search_pages.c.run_id == run_id,
                search_pages.c.key == key,
            )
            .values(import_id=import_id, n_records=n_records)
        )


def get_page(store: Store, run_id: str, key: str) -> PageRow | None:
    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(search_pages).where(search_pages.c.run_id == run_id, search_pages.c.key == key)
        ).first()
    return None if row is None else PageRow(**row._mapping)


def list_pages(store: Store, run_id: str) -> list[PageRow]:
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(search_pages)
            .where(search_pages.c.run_id == run_id)
            .order_by(search_pages.c.seq, search_pages.c.key)
        ).all()
    return [PageRow(**r._mapping) for r in rows]


def find_page_import(store: Store, run_id: str, file_path: str) -> tuple[int, int] | None:
    """``(import id, records)`` of the import that stored ``file_path`` for ``run_id``, if any.

    A run that stopped between storing a page and marking it done finds its import here.
    """
    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(imports.c.id, imports.c.n_records)
            .where(
                imports.c.search_run == run_id,
                imports.c.file_path == file_path,
            )
            .order_by(imports.c.id)
        ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def run_source_ids(store: Store, run_id: str) -> set[str]:
    """The ``source_id`` of every record stored by ``run_id`` (PMIDs, OpenAlex ids, DOIs...)."""
    query = (
        sa.select(records.c.source_id)
        .join(imports, records.c.import_id == imports.c.id)
        .where(imports.c.search_run == run_id, records.c.source_id.is_not(None))
    )
    with _engine(store).connect() as conn:
        return {str(r[0]) for r in conn.execute(query)}


def source_ids(store: Store, source: str) -> set[str]:
    """The ``source_id`` of every record stored for ``source`` (a database), by any import or
    run: what a new run of the same database must not store again."""
    query = sa.select(records.c.source_id).where(records.c.source == source, records.c.source_id.is_not(None))
    with _engine(store).connect() as conn:
        return {str(r[0]) for r in conn.execute(query)}


def get_details(store: Store, run_id: str) -> dict[str, Any]:
    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(search_details.c.details).where(search_details.c.run_id == run_id)
        ).first()
    return {} if row is None else dict(json.loads(row[0]))


def add_details(store: Store, run_id: str, **values: Any) -> dict[str, Any]:
    """Merge ``values`` into the run's details (lists are extended without repeats)."""
    with _engine(store).begin() as conn:
        row = conn.execute(
            sa.select(search_details.c.details).where(search_details.c.run_id == run_id)
        ).first()
        details: dict[str, Any] = {} if row is None else dict(json.loads(row[0]))
        for key, value in values.items():
            if isinstance(value, list) and isinstance(details.get(key), list):
                details[key] = details[key] + [v for v in value if v not in details[key]]
            else:
                details[key] = value
        text = json.dumps(details, ensure_ascii=False)
        if row is None:
            conn.execute(search_details.insert().values(run_id=run_id, details=text))
        else:
            conn.execute(
                search_details.update().where(search_details.c.run_id == run_id).values(details=text)
            )
    return details


def _export(row: Mapping[str, Any] | sa.RowMapping) -> ExportRow:
    values = dict(row)
    values["limits"] = json.loads(values["limits"]) if values["limits"] else None
    return ExportRow(**values)


def save_export(store: Store, row: ExportRow) -> None:
    with _engine(store).begin() as conn:
        conn.execute(
            search_exports.insert().values(
                import_id=row.import_id,
                database=row.database,
                platform=row.platform,
                query=row.query,
                query_origin=row.query_origin,
                limits=json.dumps(row.limits, ensure_ascii=False) if row.limits is not None else None,
                date_searched=row.date_searched,
                hit_count=row.hit_count,
                history=row.history,
                recorded_at=row.recorded_at,
            )
        )


def get_export(store: Store, import_id: int) -> ExportRow | None:
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(search_exports).where(search_exports.c.import_id == import_id)).first()
    return None if row is None else _export(row._mapping)


def list_exports(store: Store) -> dict[int, ExportRow]:
    with _engine(store).connect() as conn:
        return {int(r.import_id): _export(r._mapping) for r in conn.execute(sa.select(search_exports)).all()}
