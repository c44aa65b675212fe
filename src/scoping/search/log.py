"""The search log for PRISMA-S: every API run and every imported export, by database.

An API run logs itself (database, platform, exact query, limits, date and time, hit count,
records retrieved). A database without an open API is searched by hand and its export is
imported with ``scoping import FILE --source NAME``: an import whose source is one of the
strategy's databases counts as that database's search, logged with the query the plan gives
for it and the date of the import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from scoping.search.platforms import PLATFORMS
from scoping.search.strategy import Strategy
from scoping.search.translate import translate
from scoping.store import Store
from scoping.store import search_tables as tables

__all__ = ["LogEntry", "search_log"]


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One search of one database."""

    database: str
    platform: str
    """Platform key (``pubmed``, ``ovid``...); empty for a source the strategy does not list."""
    interface: str
    method: str
    """``"api"`` (run by ``scoping search run``) or ``"export"`` (searched by hand, imported)."""
    date: str
    """When the run started, or when the export was imported (ISO 8601, UTC)."""
    finished: str | None
    query: str
    limits: dict[str, Any]
    hit_count: int | None
    retrieved: int
    status: str
    """Run status (``complete``, ``interrupted``, ``running``, ``failed``) or ``imported``."""
    reference: str
    """The run id, or the imported file's name."""
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def search_log(store: Store, strategy: Strategy, *, database: str | None = None) -> list[LogEntry]:
    """The log, in the strategy's database order (then other sources), oldest first."""
    tables.ensure_tables(store)
    entries: list[LogEntry] = []
    for run in tables.list_runs(store):
        entries.append(
            LogEntry(
                database=run.database,
                platform=run.platform,
                interface=PLATFORMS[run.platform].label if run.platform in PLATFORMS else run.platform,
                method="api",
                date=run.started_at,
                finished=run.finished_at,
                query=run.query,
                limits=run.limits,
                hit_count=run.hit_count,
                retrieved=run.retrieved,
                status=run.status,
                reference=run.id,
                note=run.message,
                extra={"folder": run.folder, "requests": run.requests, "params": run.params},
            )
        )
    known = {db.name.casefold(): db for db in strategy.databases}
    planned: dict[str, str] = {}
    for imp in store.list_imports():
        if imp.search_run is not None:
            continue
        db = known.get(imp.source.casefold())
        if db is not None:
            if db.name not in planned:
                planned[db.name] = translate(strategy, db).text
            entries.append(
                LogEntry(
                    database=db.name,
                    platform=db.platform,
                    interface=PLATFORMS[db.platform].label,
                    method="export",
                    date=imp.imported_at,
                    finished=None,
                    query=planned[db.name],
                    limits=strategy.limits.to_dict(),
                    hit_count=None,
                    retrieved=imp.n_records,
                    status="imported",
                    reference=imp.file_name,
                    note=imp.note or "searched by hand; the query is the one 'scoping search plan' gives",
                    extra={"import": imp.id, "format": imp.format, "sha256": imp.sha256},
                )
            )
        else:
            entries.append(
                LogEntry(
                    database=imp.source,
                    platform="",
                    interface="",
                    method="export",
                    date=imp.imported_at,
                    finished=None,
                    query="",
                    limits={},
                    hit_count=None,
                    retrieved=imp.n_records,
                    status="imported",
                    reference=imp.file_name,
                    note=imp.note or "not a database of the strategy (another source)",
                    extra={"import": imp.id, "format": imp.format, "sha256": imp.sha256},
                )
            )
    order = {db.name.casefold(): i for i, db in enumerate(strategy.databases)}
    entries.sort(key=lambda e: (order.get(e.database.casefold(), len(order)), e.database.casefold(), e.date))
    if database is not None:
        wanted = strategy.find_database(database)
        name = (wanted.name if wanted else database).casefold()
        entries = [e for e in entries if e.database.casefold() == name]
    return entries
