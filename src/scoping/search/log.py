"""The search log for PRISMA-S: every API run and every imported export, by database, frozen as
it was run.

An API run logs itself (database, platform, exact query as sent, the database's own translation,
its errors and warnings, limits, date and time, hit count, records retrieved and how many of
them were new). A database without an open API is searched by hand and its export is imported
with ``scoping import FILE --source NAME``; the import records the search behind it
(:func:`record_export`): the query as pasted (``--query``), or else the query the plan gave at
that moment, marked as such; the limits of that moment; the platform, the date searched and the
hits the database reported when the user gives them. Nothing in the log is re-derived from
today's ``strategy.toml``: an import made before searches were recorded says that its query was
not recorded.

:func:`update_arms` splits each database's records as PRISMA 2020 splits an updated review's
identification: the records the earlier searches found (previous) and those the update searches
added (new), each record in exactly one arm.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from scoping.errors import UsageError
from scoping.search.history import parse_history
from scoping.search.platforms import PLATFORMS
from scoping.search.strategy import Strategy
from scoping.search.translate import translate
from scoping.store import ImportRow, Store, utc_now
from scoping.store import search_tables as tables

__all__ = [
    "ExportInfo",
    "LogEntry",
    "UpdateArms",
    "import_arms",
    "record_export",
    "search_log",
    "update_arms",
]


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
    """When the run started, or the date the export's search was run (as the user gave it; the
    import time when they did not, see ``date_known``) (ISO 8601, UTC)."""
    finished: str | None
    query: str
    """The query as run (API), as pasted by the user, or as the plan gave it at import time
    (``query_origin``); empty when it was never recorded."""
    limits: dict[str, Any]
    hit_count: int | None
    """Hits the database reported (never Crossref's ranked matches: see ``extra``)."""
    retrieved: int
    status: str
    """Run status (``complete``, ``interrupted``, ``running``, ``failed``) or ``imported``."""
    reference: str
    """The run id, or the imported file's name."""
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    translation: str | None = None
    """The database's own translation of the query (PubMed's QueryTranslation)."""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the database said about the query, and shortfalls between hits and records."""
    query_origin: str = "run"
    """``run`` (API), ``given`` (pasted at import), ``plan`` (the plan's at import), ``none``."""
    date_known: bool = True
    """False for an export whose search date was not given: ``date`` is then the import time."""
    imported: str | None = None
    """When an export was imported."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What the user says about the search behind an export, at import."""

    query: str | None = None
    platform: str | None = None
    date_searched: str | None = None
    """``YYYY-MM-DD``."""
    hit_count: int | None = None
    history: str | None = None
    """The platform's search history (numbered lines with their counts), as pasted. A
    ``query`` that reads as a history (:func:`~scoping.search.history.parse_history`) is taken
    as one at :func:`record_export`, its last line's count as the hits when none are given."""

    def check(self) -> None:
        """Raise :class:`~scoping.errors.UsageError` for a value that cannot be right."""
        if self.date_searched is not None:
            try:
                day = dt.date.fromisoformat(self.date_searched)
            except ValueError:
                raise UsageError(
                    f"--date-searched {self.date_searched!r} is not a date such as 2026-11-30"
                ) from None
            if day > dt.datetime.now(dt.UTC).date():
                raise UsageError(f"--date-searched {self.date_searched} is in the future")
        if self.hit_count is not None and self.hit_count < 0:
            raise UsageError("--hits must be the number of records the database reported (0 or more)")
        if self.query is not None and not self.query.strip():
            raise UsageError("--query is empty; paste the query as it was run, or leave the option out")


def record_export(
    store: Store, strategy: Strategy | None, imports: list[ImportRow], info: ExportInfo
) -> list[str]:
    """Freeze the search behind the exports ``imports`` (one command's files, one search):
    what the user gave, else the strategy's plan for the database now, marked as the plan's.
    Returns warnings to show (fewer records in the files than the hits reported)."""
    if not imports:
        return []
    warnings: list[str] = []
    history = parse_history(info.query) if info.query is not None and info.history is None else None
    if history is not None:  # the query given is the platform's search history, line by line
        final = history.final_hits
        if info.hit_count is not None and final is not None and final != info.hit_count:
            warnings.append(
                f"--hits {info.hit_count:,} but the search history's last line "
                f"({history.lines[-1].number}) found {final:,}: check which is the search exported"
            )
        info = replace(
            info,
            history=info.query,
            hit_count=info.hit_count if info.hit_count is not None else final,
        )
    source = imports[0].source
    db = None
    if strategy is not None:
        db = next((d for d in strategy.databases if d.name.casefold() == source.casefold()), None)
    query, origin = info.query, "given"
    limits = strategy.limits.to_dict() if strategy is not None and db is not None else None
    if query is None:
        origin = "none"
        if strategy is not None and db is not None:
            query, origin = translate(strategy, db).text, "plan"
    platform = info.platform or (PLATFORMS[db.platform].label if db is not None else None)
    now = utc_now()
    for imp in imports:
        tables.save_export(
            store,
            tables.ExportRow(
                import_id=imp.id,
                database=db.name if db is not None else source,
                platform=platform,
                query=query,
                query_origin=origin,
                limits=limits if origin != "given" else None,
                date_searched=info.date_searched,
                hit_count=info.hit_count,
                history=info.history,
                recorded_at=now,
            ),
        )
    held = sum(imp.n_records for imp in imports)
    if info.hit_count is not None and held < info.hit_count:
        files = "the file holds" if len(imports) == 1 else f"the {len(imports)} files hold"
        warnings.append(
            f"{files} {held:,} records but {source} reported {info.hit_count:,} hits: "
            f"{info.hit_count - held:,} are missing (an export cut at the platform's limit per file, "
            "or records left unselected?); import the rest with the same --source"
        )
    return warnings


def _run_entry(run: tables.RunRow, details: dict[str, Any], new_records: int | None) -> LogEntry:
    hit_count = run.hit_count
    extra: dict[str, Any] = {"folder": run.folder, "requests": run.requests, "params": run.params}
    if run.platform == "crossref":  # a ranked match count, never a hit count
        matches = details.get("ranked_matches", run.hit_count)
        extra["ranked_matches"] = matches
        hit_count = None
    warnings = list(details.get("warnings", []))
    if details.get("shortfall"):
        warnings.append(str(details["shortfall"]))
    extra["new_records"] = new_records
    if details.get("already_stored"):
        extra["already_stored"] = details["already_stored"]
    if details.get("notes"):
        extra["notes"] = details["notes"]
    if details.get("update_of"):
        extra["update_of"] = details["update_of"]
        extra["update_since"] = details.get("update_since")
    note = run.message if run.message and run.message != details.get("shortfall") else None
    return LogEntry(
        database=run.database,
        platform=run.platform,
        interface=PLATFORMS[run.platform].label if run.platform in PLATFORMS else run.platform,
        method="api",
        date=run.started_at,
        finished=run.finished_at,
        query=run.query,
        limits=run.limits,
        hit_count=hit_count,
        retrieved=run.retrieved,
        status=run.status,
        reference=run.id,
        note=note,
        extra=extra,
        translation=details.get("query_translation"),
        errors=list(details.get("errors", [])),
        warnings=warnings,
    )


def _export_entry(imp: ImportRow, row: tables.ExportRow | None, strategy: Strategy) -> LogEntry:
    extra: dict[str, Any] = {"import": imp.id, "format": imp.format, "sha256": imp.sha256}
    known = {db.name.casefold(): db for db in strategy.databases}
    if row is None:
        db = known.get(imp.source.casefold())
        return LogEntry(
            database=db.name if db else imp.source,
            platform=db.platform if db else "",
            interface=PLATFORMS[db.platform].label if db else "",
            method="export",
            date=imp.imported_at,
            finished=None,
            query="",
            limits={},
            hit_count=None,
            retrieved=imp.n_records,
            status="imported",
            reference=imp.file_name,
            note=imp.note
            or "the search behind this export was not recorded when it was imported (before "
            "scoping recorded searches); see 'scoping import --help' for --query, --date-searched "
            "and --hits",
            extra=extra,
            query_origin="none",
            date_known=False,
            imported=imp.imported_at,
        )
    db = known.get(row.database.casefold())
    notes = {
        "given": None,
        "plan": "the query is the one 'scoping search plan' gave when the file was imported, not "
        "confirmed as run (give the query as run with --query when importing)",
        "none": "no query was recorded for this export",
    }
    note = "; ".join(n for n in (imp.note, notes[row.query_origin]) if n) or None
    if row.date_searched is None:
        note = (note + "; " if note else "") + "the date searched was not given: the date is the import's"
    if row.history:
        extra["history"] = row.history
        history = parse_history(row.history)
        if history is not None:
            extra["history_lines"] = [asdict(line) for line in history.lines]
            if history.database:
                extra["history_database"] = history.database
    return LogEntry(
        database=row.database,
        platform=db.platform if db else "",
        interface=row.platform or "",
        method="export",
        date=row.date_searched or imp.imported_at,
        finished=None,
        query=row.query or "",
        limits=row.limits or {},
        hit_count=row.hit_count,
        retrieved=imp.n_records,
        status="imported",
        reference=imp.file_name,
        note=note,
        extra=extra,
        query_origin=row.query_origin,
        date_known=row.date_searched is not None,
        imported=imp.imported_at,
    )


def search_log(store: Store, strategy: Strategy, *, database: str | None = None) -> list[LogEntry]:
    """The log, in the strategy's database order (then other sources), oldest first."""
    entries: list[LogEntry] = []
    all_imports = store.list_imports()
    new_by_run: Counter[str] = Counter()
    for imp in all_imports:
        if imp.search_run is not None:
            new_by_run[imp.search_run] += imp.n_records
    for run in tables.list_runs(store):
        entries.append(_run_entry(run, tables.get_details(store, run.id), new_by_run.get(run.id, 0)))
    exports = tables.list_exports(store)
    for imp in all_imports:
        if imp.search_run is None:
            entries.append(_export_entry(imp, exports.get(imp.id), strategy))
    order = {db.name.casefold(): i for i, db in enumerate(strategy.databases)}
    entries.sort(key=lambda e: (order.get(e.database.casefold(), len(order)), e.database.casefold(), e.date))
    if database is not None:
        try:
            wanted = strategy.find_database(database)
        except UsageError:
            wanted = None
        name = (wanted.name if wanted else database).casefold()
        entries = [e for e in entries if e.database.casefold() == name]
    return entries


@dataclass(frozen=True, slots=True)
class UpdateArms:
    """One database's records, split at the review's first update search."""

    database: str
    previous: int
    """Records stored by the searches before the update: API runs started before it, exports
    searched (or, without a date searched, imported) before its day."""
    new: int
    """Records stored by the update searches and every later search: none of them had been
    stored by an earlier search of the database (a record is never stored twice)."""
    found_again: int
    """Records the searches of the new arm retrieved that an earlier search had stored (in
    ``previous``, not counted again)."""
    previous_searches: tuple[str, ...]
    """Run ids and imported file names, oldest first."""
    new_searches: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.previous + self.new

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def update_arms(store: Store, *, since: str | None = None) -> tuple[str | None, list[UpdateArms]]:
    """Each database's records in PRISMA 2020's previous and new arms of an updated review.

    The boundary is ``since`` (an ISO date or time) or else the start of the review's first
    update search (``scoping search run --update``); searches from then on are the new arm,
    including exports of a database searched by hand for the update (their date searched counts,
    else their import time). Returns the boundary (``None``: no update search yet, every record
    is in the previous arm) and one row per database that has records, in the order the
    databases were first searched.
    """
    runs = tables.list_runs(store)
    details = {run.id: tables.get_details(store, run.id) for run in runs}
    since = _boundary(runs, details, since)
    stored: Counter[str] = Counter()
    exports = tables.list_exports(store)
    searches: list[tuple[str, str, str, int, int]] = []  # date, database, reference, stored, again
    for imp in store.list_imports():
        if imp.search_run is not None:
            stored[imp.search_run] += imp.n_records
            continue
        row = exports.get(imp.id)
        date = (row.date_searched if row is not None else None) or imp.imported_at
        database = row.database if row is not None else imp.source
        searches.append((date, database, imp.file_name, imp.n_records, 0))
    for run in runs:
        again = int(details[run.id].get("already_stored", 0))
        searches.append((run.started_at, run.database, run.id, stored[run.id], again))
    searches.sort(key=lambda s: s[0])
    arms: dict[str, dict[str, Any]] = {}
    for date, database, reference, n, again in searches:
        arm = arms.setdefault(
            database.casefold(),
            {"database": database, "previous": 0, "new": 0, "found_again": 0, "prev": [], "next": []},
        )
        later = _later(date, since)
        side = "new" if later else "previous"
        arm[side] += n
        arm["found_again"] += again if later else 0
        arm["next" if later else "prev"].append(reference)
    out = [
        UpdateArms(
            database=a["database"],
            previous=a["previous"],
            new=a["new"],
            found_again=a["found_again"],
            previous_searches=tuple(a["prev"]),
            new_searches=tuple(a["next"]),
        )
        for a in arms.values()
    ]
    return since, out


def _boundary(runs: list[tables.RunRow], details: dict[str, dict[str, Any]], since: str | None) -> str | None:
    if since is None:
        starts = [run.started_at for run in runs if details[run.id].get("update_of")]
        since = min(starts) if starts else None
    return since


def _later(date: str, since: str | None) -> bool:
    # an export's date searched is a day: compared as a day with the update's start
    return since is not None and (date >= since if len(date) > 10 else date >= since[:10])


def import_arms(store: Store, *, since: str | None = None) -> tuple[str | None, dict[int, str]]:
    """The arm of every imported file, as :func:`update_arms` splits them: ``(boundary,
    {import id: "previous" or "new"})``; the boundary is ``None`` (and every file is in the
    previous arm) when the review has no update search. Each stored record is in the arm of
    the file (or search run page) that stored it."""
    runs = tables.list_runs(store)
    details = {run.id: tables.get_details(store, run.id) for run in runs}
    since = _boundary(runs, details, since)
    started = {run.id: run.started_at for run in runs}
    exports = tables.list_exports(store)
    out: dict[int, str] = {}
    for imp in store.list_imports():
        if imp.search_run is not None:
            date = started.get(imp.search_run, imp.imported_at)
        else:
            row = exports.get(imp.id)
            date = (row.date_searched if row is not None else None) or imp.imported_at
        out[imp.id] = "new" if _later(date, since) else "previous"
    return since, out
