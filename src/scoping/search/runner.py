"""Run a strategy against an API, resumably, keeping every raw page and a log for PRISMA-S.

A run is a folder ``searches/runs/<run-id>/`` and a row of ``search_runs``:

::

    run.json            database, platform, exact query, request parameters, limits, settings
    pages/<key>.<ext>   every response page, exactly as received (written once, never changed)
    rejected/           responses that did not parse, kept for inspection
    summary.json        hit count, records retrieved, requests, times (written when complete)

Each page is checked (it must parse) before it is saved, saved before its records are stored,
and its records are stored in one import per page (``search_run`` = the run id). An interrupted
run (network failure, Ctrl-C, a crash) continues from the last completed page: saved pages are
read back instead of fetched again, a page whose records were stored is skipped, and a record
the run already stored is never stored again.

PubMed: one esearch lists at most ``pubmed_cap`` (9,999) PMIDs, so larger result sets (10,000
hits included) are cut into publication-date ranges (and a range that still holds more is cut
again), the PMIDs of every range are collected with esearch and checked against the total, and the records
are fetched with efetch in batches of ``pubmed_batch`` PMIDs: a frozen list, so a resumed run
fetches exactly the records it set out to. The next pages are fetched in a thread while the
current one is stored, and long runs parse pages in worker processes. Europe PMC, OpenAlex and
Crossref are paged with their cursors.

What the database said about the query is kept with the run (``search_details`` and
``pubmed.json`` in the run folder): PubMed's own translation of the query, its ErrorList (a
phrase or field it could not find) and WarningList (a quoted phrase not found, a truncation cut
at 600 forms), and any shortfall between the hits reported and the records retrieved. A record
that an earlier run or import of the same database already stored (same PMID, OpenAlex id,
DOI...) is not stored again: running a search again, or an update search, adds only new
records, so PRISMA never counts a database's record twice. An update search (``update``) runs
the database's earlier query again, limited by the date each record entered the database
(PubMed ``[edat]``, Europe PMC ``FIRST_IDATE``, OpenAlex ``from_created_date``, Crossref
``from-created-date``).

OpenAlex needs an API key (``OPENALEX_API_KEY``); its HTTP 429 is a used-up daily allowance
(developers.openalex.org/api-reference/errors), which stops the run at once with when it resets
instead of being retried.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from scoping.errors import ConfigError, NetworkError, UsageError
from scoping.records import Record
from scoping.review import Review
from scoping.search import responses
from scoping.search.config import PAGE_SIZES, SearchConfig
from scoping.search.platforms import ENTRY_DATE_FIELDS, PLATFORMS
from scoping.search.redact import scrub, scrub_bytes
from scoping.search.strategy import Database, Strategy
from scoping.search.translate import DEFAULT_URLS, Query, translate
from scoping.search.transport import (
    EUtils,
    HTTPStatusError,
    HttpTransport,
    QuotaExceeded,
    RateLimiter,
    Stats,
)
from scoping.spawn import child_start
from scoping.store import Store, utc_now
from scoping.store import search_tables as tables

__all__ = ["ProgressEvent", "RunResult", "run_search"]

T = TypeVar("T")

MALFORMED_TRIES = 3
"""How often a page that does not parse is fetched before the run stops."""


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where a run is: ``done`` of ``total`` records (``total`` is ``None`` until known)."""

    run_id: str
    database: str
    stage: str
    """``"searching"`` (counting, collecting PubMed ids) or ``"fetching"`` (records)."""
    done: int
    total: int | None


@dataclass(frozen=True, slots=True)
class RunResult:
    run: tables.RunRow
    resumed: bool
    stored: int
    """Records stored by this invocation (a resumed run stores only what was missing)."""
    requests: int
    seconds: float
    details: dict[str, Any] | None = None
    """What the run learnt beyond its counts: ``query_translation`` (PubMed), ``errors`` and
    ``warnings`` (the database's), ``shortfall`` (records reported but not retrieved),
    ``already_stored`` (records an earlier run or import of the database holds),
    ``ranked_matches`` (Crossref's number of works matching any word: not a hit count)."""


@dataclass(frozen=True, slots=True)
class Staged:
    """A fetched page written beside its final name (``part``), with its SHA-256."""

    part: Path
    sha256: str


Ahead = tuple[bytes, Callable[[], Any], Staged | None]
"""A page fetched ahead: its bytes, a function giving it parsed, and where it was staged."""


class _Context:
    """A run in progress: its folder, its pages, the store, and progress reporting."""

    def __init__(
        self,
        store: Store,
        run: tables.RunRow,
        folder: Path,
        database: Database,
        stats: Stats,
        progress: Callable[[ProgressEvent], None] | None,
    ) -> None:
        self.store = store
        self.run = run
        self.folder = folder
        self.pages_dir = folder / "pages"
        self.pages_dir.mkdir(parents=True, exist_ok=True)
        self.database = database
        self.stats = stats
        self._progress = progress
        self.pages = {p.key: p for p in tables.list_pages(store, run.id)}
        self.seq = max((p.seq for p in self.pages.values()), default=0)
        self._seen: set[str] | None = None
        self.stored = 0
        self.retrieved = sum(
            p.n_records for p in self.pages.values() if p.kind == "records" and p.import_id is not None
        )
        self.total: int | None = run.hit_count
        self.already = 0
        """Records of this invocation that an earlier run or import had stored already."""
        self.stored_page: Callable[[], None] = lambda: None
        """Called after each page's records are stored (lets the store tidy up meanwhile)."""

    # -- progress ---------------------------------------------------------------------------

    def report(self, stage: str, done: int | None = None) -> None:
        if self._progress is not None:
            self._progress(
                ProgressEvent(
                    self.run.id,
                    self.database.name,
                    stage,
                    self.retrieved if done is None else done,
                    self.total,
                )
            )

    # -- pages ------------------------------------------------------------------------------

    def label(self, key: str) -> str:
        return f"{PLATFORMS[self.run.platform].label.split(' (')[0]} page {key} of run {self.run.id}"

    def path(self, key: str, ext: str) -> Path:
        return self.pages_dir / f"{key}.{ext}"

    def done(self, key: str) -> bool:
        row = self.pages.get(key)
        return row is not None and row.done

    def stage(self, key: str, ext: str, data: bytes) -> Staged:
        """Write a fetched page beside its final name and hash it (from the fetching thread, so
        that the thread that stores records does not wait for the disk)."""
        return Staged(self._write_part(self.path(key, ext), data), hashlib.sha256(data).hexdigest())

    def page(
        self,
        key: str,
        ext: str,
        kind: str,
        fetch: Callable[[], bytes],
        parse: Callable[[bytes, str], T],
        *,
        first: Ahead | None = None,
        next_token: Callable[[T], str | None] = lambda _parsed: None,
        n_records: Callable[[T], int] = lambda _parsed: 0,
    ) -> T:
        """The parsed page ``key``: read back if saved earlier, else fetched, checked and saved.

        ``first`` is a response fetched (and being parsed) ahead: its bytes, a function that
        returns the parsed page or raises :class:`~scoping.search.responses.MalformedResponse`,
        and the page as staged on disk (:meth:`stage`), if it was.
        """
        path = self.path(key, ext)
        label = self.label(key)
        if path.exists():
            data = path.read_bytes()
            try:
                parsed = parse(data, label)
            except responses.MalformedResponse as exc:  # pragma: no cover - pages are checked first
                raise NetworkError(
                    f"{exc}; the saved page {path} is damaged: delete it and run "
                    f"'scoping search run --resume {self.run.id}'"
                ) from None
            if key not in self.pages:
                self._record_page(key, kind, path, data, parsed, next_token, n_records)
            return parsed
        staged: Staged | None = None
        if first is not None:
            data, get, staged = first
        else:
            data = fetch()
            get = functools.partial(parse, data, label)
        for attempt in range(1, MALFORMED_TRIES + 1):
            try:
                parsed = get()
                break
            except responses.MalformedResponse as exc:
                kept = self._reject(key, ext, data, attempt)
                if staged is not None:
                    staged.part.unlink(missing_ok=True)
                    staged = None
                if attempt == MALFORMED_TRIES:
                    raise NetworkError(
                        f"{exc} (the same page was malformed {MALFORMED_TRIES} times; the last "
                        f"response is kept in {kept})"
                    ) from None
                data = fetch()
                get = functools.partial(parse, data, label)
        if staged is None:
            staged = Staged(self._write_part(path, data), hashlib.sha256(data).hexdigest())
        os.chmod(staged.part, 0o444)  # a raw page is never changed
        os.replace(staged.part, path)
        self._record_page(key, kind, path, data, parsed, next_token, n_records, staged.sha256)
        return parsed

    def _record_page(
        self,
        key: str,
        kind: str,
        path: Path,
        data: bytes,
        parsed: Any,
        next_token: Callable[[Any], str | None],
        n_records: Callable[[Any], int],
        digest: str | None = None,
    ) -> None:
        self.seq += 1
        tables.save_page(
            self.store,
            run_id=self.run.id,
            key=key,
            seq=self.seq,
            kind=kind,
            file=str(path.relative_to(self.folder)),
            sha256=digest or hashlib.sha256(data).hexdigest(),
            size=len(data),
            n_records=n_records(parsed),
            next_token=next_token(parsed),
            fetched_at=utc_now(),
        )
        self._reload(key)

    def _reload(self, key: str) -> None:
        row = tables.get_page(self.store, self.run.id, key)
        if row is not None:
            self.pages[key] = row

    def _reject(self, key: str, ext: str, data: bytes, attempt: int) -> Path:
        folder = self.folder / "rejected"
        folder.mkdir(exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{key}.{stamp}.{attempt}.{ext}"
        target.write_bytes(scrub_bytes(data))
        return target

    @staticmethod
    def _write_part(path: Path, data: bytes) -> Path:
        """``data`` written and synced beside ``path`` (renamed to it once the page is checked)."""
        part = path.with_name(f".{path.name}.part")
        with contextlib.suppress(FileNotFoundError):
            part.unlink()  # left read-only by a run that stopped between chmod and rename
        with open(part, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        return part

    # -- records ----------------------------------------------------------------------------

    def seen(self) -> set[str]:
        """Source ids stored for this database by this run, earlier runs and imports."""
        if self._seen is None:
            self._seen = tables.source_ids(self.store, self.database.name)
            self._seen |= tables.run_source_ids(self.store, self.run.id)
        return self._seen

    def store_records(self, key: str, ext: str, fmt: str, records: Sequence[Record]) -> int:
        """Store the records of saved page ``key`` once; the number the page holds."""
        row = self.pages[key]
        if row.import_id is not None:
            return row.n_records
        path = self.path(key, ext)
        file_path = str(path.resolve())
        found = tables.find_page_import(self.store, self.run.id, file_path)
        if found is not None:  # stored before the run stopped, not yet marked
            tables.link_page_import(self.store, self.run.id, key, found[0], len(records))
            self.retrieved += len(records)
            self.seen().update(r.source_id for r in records if r.source_id)
            self._reload(key)
            return len(records)
        seen = self.seen()
        fresh: list[Record] = []
        for record in records:
            if record.source_id and record.source_id in seen:
                self.already += 1
                continue
            if record.source_id:
                seen.add(record.source_id)
            fresh.append(record)
        imported = self.store.add_import(
            source=self.database.name,
            file_path=file_path,
            sha256=row.sha256,
            size=row.size,
            format=fmt,
            encoding="utf-8",
            records=fresh,
            search_run=self.run.id,
            note=f"{PLATFORMS[self.run.platform].label} {key}",
        )
        tables.link_page_import(self.store, self.run.id, key, imported.id, len(records))
        self._reload(key)
        self.stored += imported.n_records
        self.retrieved += len(records)
        tables.update_run(
            self.store,
            self.run.id,
            retrieved=self.retrieved,
            requests=self.run.requests + self.stats.requests,
            updated_at=utc_now(),
        )
        self.stored_page()
        return len(records)


# -- PubMed -----------------------------------------------------------------------------------


def _day(value: dt.date) -> str:
    return value.strftime("%Y/%m/%d")


def _pubmed(ctx: _Context, config: SearchConfig) -> None:
    settings = ctx.run.settings
    cap = int(settings["cap"])
    batch = int(settings["batch"])
    limiter = RateLimiter(config.rates["pubmed"])
    with EUtils(
        base_url=config.urls["pubmed"],
        policy=config.policy,
        limiter=limiter,
        stats=ctx.stats,
        email=config.email,
        api_key=config.ncbi_api_key,
    ) as eutils:
        _pubmed_search(ctx, eutils, cap, batch, config.parse_workers)


def _pubmed_search(ctx: _Context, eutils: EUtils, cap: int, batch: int, parse_workers: int) -> None:
    settings = ctx.run.settings
    query = _PubMedQuery(
        ctx,
        eutils,
        ctx.run.params["term"],
        cap,
        dt.date(int(settings["from_year"]), 1, 1),
        dt.date(int(settings["to_year"]), 12, 31),
    )
    ctx.report("searching", 0)
    first = query.esearch("esearch-all", {})
    ctx.total = first.count
    tables.update_run(ctx.store, ctx.run.id, hit_count=first.count, updated_at=utc_now())
    ctx.report("searching", 0)
    # long runs parse pages in worker processes, started now so they are ready when pages come
    stored_pages = sum(1 for p in ctx.pages.values() if p.kind == "records" and p.done)
    workers = parse_workers if -(-first.count // batch) - stored_pages >= 4 else 0
    with _Parsers(workers) as parsers:
        ids = query.all_ids(first)
        ctx.report("fetching")
        _pubmed_fetch(ctx, eutils, ids, batch, parsers)
    _pubmed_shortfall(ctx, ids)


@dataclass(slots=True)
class _PubMedQuery:
    """One PubMed query's esearch calls: all of it, or cut by publication date into ranges of
    fewer than ``cap`` records when PubMed would list more than ``cap`` for one query."""

    ctx: _Context
    eutils: EUtils
    term: str
    cap: int
    soft_lo: dt.date  # the strategy's years: where the records are
    soft_hi: dt.date

    def esearch(self, key: str, extra: dict[str, Any]) -> responses.ESearch:
        ctx, cap = self.ctx, self.cap

        def fetch() -> bytes:
            return self.eutils.call(
                f"PubMed esearch ({ctx.label(key)})",
                "esearch",
                db="pubmed",
                term=self.term,
                retmax=cap,
                **extra,
            )

        result = ctx.page(key, "xml", "search", fetch, responses.parse_esearch)
        _pubmed_notices(ctx, result, first=key == "esearch-all")
        if result.count <= cap and len(result.ids) < result.count:
            raise NetworkError(
                f"{ctx.label(key)}: PubMed reported {result.count} records but listed "
                f"{len(result.ids)}; run 'scoping search run --new' to search again"
            )
        return result

    def all_ids(self, first: responses.ESearch) -> list[str]:
        """The PMIDs of the query, in PubMed's order, each once."""
        if first.count <= self.cap:
            return list(dict.fromkeys(first.ids))
        lo, hi = dt.date(1000, 1, 1), dt.date(2999, 12, 31)
        ids = list(dict.fromkeys(self.collect(lo, hi, first.count)))
        if len(ids) < first.count:
            raise NetworkError(
                f"PubMed reports {first.count:,} records for the query but its publication-date "
                f"ranges hold {len(ids):,}: records would be missed; run 'scoping search run "
                "--new' to search again"
            )
        return ids

    def parts(self, lo: dt.date, hi: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
        """``lo``-``hi`` cut into ranges expected to hold fewer than ``cap`` records each.

        The cuts fall inside the strategy's years (where the records are); the first and
        last range reach out to ``lo`` and ``hi`` so that no record falls between ranges.
        """
        cap = self.cap
        a, b = max(lo, self.soft_lo), min(hi, self.soft_hi)
        if a >= b:
            a, b = lo, hi
        n = max(2, min(-(-count * 5 // (cap * 4)), (b - a).days + 1))
        step = ((b - a).days + 1) / n
        cuts = sorted({a + dt.timedelta(days=int(step * i)) for i in range(1, n)})
        cuts = [c for c in cuts if lo < c <= hi]
        starts = [lo, *cuts]
        ends = [c - dt.timedelta(days=1) for c in cuts] + [hi]
        return list(zip(starts, ends, strict=True))

    def collect(self, lo: dt.date, hi: dt.date, known: int | None = None) -> Iterator[str]:
        cap = self.cap
        if known is None:
            key = f"esearch-{lo:%Y%m%d}-{hi:%Y%m%d}"
            result = self.esearch(key, {"datetype": "pdat", "mindate": _day(lo), "maxdate": _day(hi)})
            if result.count <= cap:
                yield from result.ids
                return
            known = result.count
        if lo >= hi:
            raise NetworkError(
                f"PubMed finds {known:,} records published on {lo:%Y-%m-%d}, more than the "
                f"{cap:,} one query can return; narrow the strategy"
            )
        for start, end in self.parts(lo, hi, known):
            yield from self.collect(start, end)


def _pubmed_fetch(ctx: _Context, eutils: EUtils, ids: list[str], batch: int, parsers: _Parsers) -> None:
    """efetch the records of ``ids`` in batches (pages not stored yet), prefetching ahead."""
    batches = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    keys = [f"efetch-{n:05d}" for n in range(1, len(batches) + 1)]
    pending = [(k, b) for k, b in zip(keys, batches, strict=True) if not ctx.done(k)]

    def fetch_batch(key: str, chunk: list[str]) -> Callable[[], bytes]:
        def fetch() -> bytes:
            return eutils.call(
                f"PubMed efetch ({ctx.label(key)})",
                "efetch",
                db="pubmed",
                id=",".join(chunk),
                retmode="xml",
            )

        return fetch

    ahead_jobs = [(k, fetch_batch(k, b)) for k, b in pending if not ctx.path(k, "xml").exists()]

    def stage(key: str, data: bytes) -> Staged:
        return ctx.stage(key, "xml", data)

    with _prefetch(
        ahead_jobs, parsers.parse_pubmed, ctx.label, depth=parsers.workers + 2, stage=stage
    ) as ahead:
        for key, chunk in pending:
            fetch = fetch_batch(key, chunk)
            records = ctx.page(
                key, "xml", "records", fetch, responses.parse_pubmed, first=ahead(key), n_records=len
            )
            wanted = set(chunk)
            stray = [r.pmid for r in records if r.pmid not in wanted]
            if stray:
                raise NetworkError(
                    f"{ctx.label(key)}: PubMed sent PMID {stray[0]}, which was not "
                    "asked for; run 'scoping search run --new' to search again"
                )
            ctx.store_records(key, "xml", "pubmed-xml", records)
            ctx.report("fetching")


def _pubmed_shortfall(ctx: _Context, ids: list[str]) -> None:
    """Note with the run the PMIDs esearch listed and efetch returned no record for."""
    missing = len(ids) - ctx.retrieved
    if missing > 0:
        text = (
            f"{missing:,} of the {len(ids):,} PMIDs PubMed listed returned no record from efetch "
            "(deleted or withdrawn records)"
        )
        tables.update_run(ctx.store, ctx.run.id, message=text)
        tables.add_details(ctx.store, ctx.run.id, shortfall=text)


def _pubmed_notices(ctx: _Context, result: responses.ESearch, *, first: bool) -> None:
    """Keep PubMed's translation, errors and warnings with the run (store and run folder)."""
    values: dict[str, Any] = {"errors": list(result.errors), "warnings": list(result.warnings)}
    if first and result.query_translation:
        values["query_translation"] = result.query_translation
    details = tables.add_details(ctx.store, ctx.run.id, **values)
    notices = {k: details.get(k) for k in ("query_translation", "errors", "warnings")}
    target = ctx.folder / "pubmed.json"
    tmp = target.with_name(".pubmed.json.part")
    tmp.write_text(json.dumps(notices, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)


class _Parsers:
    """Parses PubMed pages in worker processes, so that parsing, storing and waiting for the
    next request overlap on a machine with more than one core (``workers=0``: in this process).

    A large page is cut at article boundaries into one document per worker, parsed side by
    side and put back together (record lines counted in the whole page), so that the last pages
    of a run do not wait for a single worker. If any part fails, the whole page is parsed again
    in this process, which gives the exact error.
    """

    SPLIT_BYTES = 4 << 20
    """Pages at least this long are cut into parts (smaller ones parse in a tenth of a second)."""

    def __init__(self, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.workers = max(workers, 0)
        if self.workers:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=child_start,
                initargs=(os.getpid(),),
            )
            # start the workers (and their imports) now, from this thread: a worker dies with
            # the thread that started it (see child_start), and this one outlives the pool
            for _ in range(workers):
                self._pool.submit(responses.ready)

    def parse_pubmed(self, data: bytes, label: str) -> Callable[[], list[Record]]:
        if self._pool is None:
            return functools.partial(responses.parse_pubmed, data, label)
        parts = _split_pubmed(data, self.workers) if len(data) >= self.SPLIT_BYTES else []
        if len(parts) < 2:
            return self._pool.submit(responses.parse_pubmed, data, label).result
        futures = [(shift, self._pool.submit(responses.parse_pubmed, part, label)) for part, shift in parts]

        def gather() -> list[Record]:
            records: list[Record] = []
            try:
                for shift, future in futures:
                    for record in future.result():
                        if record.line is not None:
                            record.line += shift
                        records.append(record)
            except responses.MalformedResponse:
                return responses.parse_pubmed(data, label)  # raises with the whole page's line
            return records

        return gather

    def __enter__(self) -> _Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


_ARTICLE_END = b"</PubmedArticle>"
_SET_END = b"</PubmedArticleSet>"


def _split_pubmed(data: bytes, n: int) -> list[tuple[bytes, int]]:
    """An efetch page cut into ``n`` documents at article boundaries: ``(document, lines)``
    where ``lines`` is the number of lines of the page that the document leaves out before
    its first article; ``[]`` when the page cannot be cut (a book set, one huge article)."""
    opening = data.find(b"<PubmedArticleSet")
    head_end = data.find(b">", opening) + 1 if opening != -1 else 0
    tail = data.rfind(_SET_END)
    if opening == -1 or head_end == 0 or tail == -1 or n < 2:
        return []
    head = data[:head_end]
    cuts = [head_end]
    for i in range(1, n):
        at = data.find(_ARTICLE_END, max(cuts[-1], len(data) * i // n))
        if at == -1 or data.find(b"<PubmedArticle", at, tail) == -1:
            break  # no article after this one: no further part
        cuts.append(at + len(_ARTICLE_END))
    if len(cuts) < 2:
        return []
    cuts.append(len(data))
    parts: list[tuple[bytes, int]] = []
    for start, end in itertools.pairwise(cuts):
        body = data[start:end]
        if start == head_end:
            document = data[:end] + (b"" if end == len(data) else _SET_END)
            shift = 0
        else:
            document = head + body + (b"" if end == len(data) else _SET_END)
            shift = data.count(b"\n", head_end, start)
        parts.append((document, shift))
    return parts


class _Prefetcher:
    """Fetches the next pages in a thread (and starts parsing each, and stages it on disk)
    while the caller stores."""

    def __init__(
        self,
        jobs: list[tuple[str, Callable[[], bytes]]],
        parse: Callable[[bytes, str], Callable[[], Any]],
        label: Callable[[str], str],
        depth: int = 2,
        stage: Callable[[str, bytes], Staged] | None = None,
    ) -> None:
        self._jobs = deque(jobs)
        self._parse = parse
        self._label = label
        self._stage = stage
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoping-fetch")
        self._futures: dict[str, Future[Ahead]] = {}
        self._depth = depth
        self._fill()

    def _job(self, key: str, fetch: Callable[[], bytes]) -> Ahead:
        data = fetch()
        parsed = self._parse(data, self._label(key))
        return data, parsed, self._stage(key, data) if self._stage is not None else None

    def _fill(self) -> None:
        while self._jobs and len(self._futures) < self._depth:
            key, fetch = self._jobs.popleft()
            self._futures[key] = self._pool.submit(self._job, key, fetch)

    def __call__(self, key: str) -> Ahead | None:
        future = self._futures.pop(key, None)
        if future is None:
            return None
        try:
            return future.result()
        finally:
            self._fill()

    def close(self) -> None:
        self._jobs.clear()
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for future in self._futures.values():  # collect errors of fetches nobody waited for
            if not future.cancelled():
                with contextlib.suppress(BaseException):
                    staged = future.result()[2]
                    if staged is not None:  # fetched, never checked: fetched again next time
                        staged.part.unlink(missing_ok=True)


@contextlib.contextmanager
def _prefetch(
    jobs: list[tuple[str, Callable[[], bytes]]],
    parse: Callable[[bytes, str], Callable[[], Any]],
    label: Callable[[str], str],
    depth: int = 2,
    stage: Callable[[str, bytes], Staged] | None = None,
) -> Iterator[Callable[[str], Ahead | None]]:
    prefetcher = _Prefetcher(jobs, parse, label, depth, stage)
    try:
        yield prefetcher
    finally:
        prefetcher.close()


# -- Europe PMC, OpenAlex, Crossref ----------------------------------------------------------


_CURSOR_START = {"europepmc": "*", "openalex": "*", "crossref": "*"}
_FORMATS = {"europepmc": "europepmc-json", "openalex": "openalex-json", "crossref": "crossref-json"}
_PARSERS: dict[str, Callable[[bytes, str], responses.Page]] = {
    "europepmc": responses.parse_europepmc,
    "openalex": responses.parse_openalex,
    "crossref": responses.parse_crossref,
}


def _cursor_request(
    platform: str, config: SearchConfig, params: dict[str, str], cursor: str, size: int
) -> tuple[str, dict[str, Any]]:
    base = config.urls[platform]
    if platform == "europepmc":
        return base + "search", {
            **params,
            "format": "json",
            "resultType": "core",
            "synonym": "false",
            "pageSize": size,
            "cursorMark": cursor,
        }
    if platform == "openalex":
        extra: dict[str, Any] = {"per-page": size, "cursor": cursor}
        if config.openalex_api_key:
            extra["api_key"] = config.openalex_api_key
        if config.email:
            extra["mailto"] = config.email
        return base + "works", {**params, **extra}
    extra = {"rows": size, "cursor": cursor}
    if config.email:
        extra["mailto"] = config.email
    return base + "works", {**params, **extra}


def _cursor_api(ctx: _Context, config: SearchConfig) -> None:
    platform = ctx.run.platform
    settings = ctx.run.settings
    size = int(settings["page_size"])
    max_records = settings.get("max_records")
    parse = _PARSERS[platform]
    headers = {
        "User-Agent": "scoping (literature scoping reviews)"
        + (f"; mailto:{config.email}" if config.email else "")
    }
    limiter = RateLimiter(config.rates[platform])
    quota = openalex_quota(bool(config.openalex_api_key)) if platform == "openalex" else None
    _cursor_known_total(ctx, max_records)
    number, cursor = _cursor_resume_point(ctx)
    ctx.report("fetching")
    resuming = cursor not in (None, _CURSOR_START[platform])
    with HttpTransport(
        policy=config.policy, limiter=limiter, stats=ctx.stats, headers=headers, quota=quota
    ) as transport:
        while True:
            if max_records is not None and ctx.retrieved >= int(max_records):
                break
            if ctx.total is not None and ctx.retrieved >= ctx.total and number:
                break
            if cursor is None:
                break
            number += 1
            key = f"page-{number:05d}"
            want = size if max_records is None else min(size, int(max_records) - ctx.retrieved)
            url, params = _cursor_request(platform, config, dict(ctx.run.params), cursor, want)
            here = cursor

            def fetch(
                url: str = url, params: dict[str, Any] = params, key: str = key, resumed: bool = resuming
            ) -> bytes:
                try:
                    return transport.get(ctx.label(key), url, params)
                except HTTPStatusError as exc:
                    if resumed and exc.status in (400, 404, 410):
                        raise NetworkError(
                            f"{exc}; the cursor saved with the previous page may have expired "
                            "(Crossref's last five minutes): start the search again with "
                            "'scoping search run --new'"
                        ) from None
                    raise

            page = ctx.page(
                key,
                "json",
                "records",
                fetch,
                parse,
                next_token=lambda p: p.next_cursor,
                n_records=lambda p: len(p.records),
            )
            if ctx.total is None or number == 1:
                ctx.total = page.hit_count if max_records is None else min(page.hit_count, int(max_records))
                if platform == "crossref":  # a ranked match count, not a Boolean hit count
                    tables.add_details(ctx.store, ctx.run.id, ranked_matches=page.hit_count)
                else:
                    tables.update_run(ctx.store, ctx.run.id, hit_count=page.hit_count, updated_at=utc_now())
            ctx.store_records(key, "json", _FORMATS[platform], page.records)
            ctx.report("fetching")
            resuming = False
            if not page.records or page.next_cursor == here:
                break
            cursor = page.next_cursor
    _cursor_shortfall(ctx)


def _cursor_known_total(ctx: _Context, max_records: Any) -> None:
    """The total a resumed Crossref run already knows (its ranked matches), capped by max_records."""
    if ctx.run.platform == "crossref":
        ranked = tables.get_details(ctx.store, ctx.run.id).get("ranked_matches")
        ctx.total = None if ranked is None else int(ranked)
    if max_records is not None and ctx.total is not None:
        ctx.total = min(ctx.total, int(max_records))


def _cursor_resume_point(ctx: _Context) -> tuple[int, str | None]:
    """The number of the last page whose records are stored, and the cursor that follows it."""
    cursor: str | None = _CURSOR_START[ctx.run.platform]
    rows = sorted((p for p in ctx.pages.values() if p.kind == "records"), key=lambda p: p.seq)
    number = 0
    for row in rows:  # resume after the last page whose records are stored
        if not row.done:
            break
        number = int(row.key.rsplit("-", 1)[1])
        cursor = row.next_token
    return number, cursor


def _cursor_shortfall(ctx: _Context) -> None:
    """Note with the run when the database ended its list short of the total it reported."""
    platform = ctx.run.platform
    if ctx.total is not None and ctx.retrieved < ctx.total:
        label = PLATFORMS[platform].label.split(" (")[0]
        what = "matches it kept (max_records)" if platform == "crossref" else "records it reported"
        text = (
            f"retrieved {ctx.retrieved:,} of the {ctx.total:,} {what}: {label} ended the list "
            f"{ctx.total - ctx.retrieved:,} short"
        )
        tables.update_run(ctx.store, ctx.run.id, message=text)
        tables.add_details(ctx.store, ctx.run.id, shortfall=text)


def openalex_quota(has_key: bool) -> Callable[[int, Any, bytes], str | None]:
    """Recognises OpenAlex's answer to a used-up daily allowance: HTTP 429 (OpenAlex's error
    reference: "429 Too Many Requests - Daily limit exceeded") without a short ``Retry-After``.
    The allowance is counted per API key and day and resets at midnight UTC; the remaining
    allowance and the seconds to the reset come in ``X-RateLimit-*`` headers when present."""

    def check(status: int, headers: Any, body: bytes) -> str | None:
        if status != 429:
            return None
        retry = headers.get("Retry-After")
        with contextlib.suppress(ValueError):
            if retry is not None and float(retry) <= 60:
                return None  # a short pause asked for: retried as usual
        detail = ""
        with contextlib.suppress(ValueError, AttributeError):
            doc = json.loads(body)
            detail = " ".join(str(doc.get(k, "")) for k in ("error", "message")).strip()
        now = dt.datetime.now(dt.UTC)
        reset = now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        with contextlib.suppress(TypeError, ValueError):
            reset = now + dt.timedelta(seconds=float(headers.get("X-RateLimit-Reset")))
        left = (reset - now).total_seconds()
        hours, minutes = int(left // 3600), int(left % 3600 // 60)
        key = (
            "the daily allowance of your API key is used up"
            if has_key
            else "no API key was sent, and the allowance without one is tiny: set OPENALEX_API_KEY "
            "(free at openalex.org/settings/api)"
        )
        return (
            f"OpenAlex answered HTTP 429{f' ({detail})' if detail else ''}: {key}; it renews at "
            f"{reset:%Y-%m-%d %H:%M} UTC (in {hours} h {minutes:02d} min). Asking again before then "
            "cannot help, so scoping stopped instead of retrying"
        )

    return check


# -- the run ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(folder: Path, run_id: str) -> Iterator[None]:
    """Hold the run's lock file: a second process working on the same run would store pages
    twice. ``filelock`` (an OS lock on the file, on POSIX and on Windows) is released by the
    operating system if the process dies, so a crashed run never stays locked."""
    from filelock import FileLock, Timeout

    lock = FileLock(folder / "run.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UsageError(
            f"run {run_id} is being searched by another scoping process; wait for it to finish"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _new_run_id(review: Review, platform: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{platform}-{stamp}"
    run_id, n = base, 1
    while (review.runs_dir / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def _settings(platform: str, strategy: Strategy, db: Database, config: SearchConfig) -> dict[str, Any]:
    if platform == "pubmed":
        limits = strategy.limits
        return {
            "batch": config.pubmed_batch,
            "cap": config.pubmed_cap,
            "from_year": limits.from_year or 1950,
            "to_year": limits.to_year or dt.date.today().year,
        }
    size = min(config.page_size or PAGE_SIZES[platform], PAGE_SIZES[platform])
    out: dict[str, Any] = {"page_size": size}
    if platform == "crossref":
        out["max_records"] = db.max_records or 1000
    return out


NO_OPENALEX_KEY = (
    "OpenAlex needs an API key since 13 February 2026 (free: openalex.org/settings/api); set "
    "OPENALEX_API_KEY, or write it under [keys] openalex in ~/.config/scoping/config.toml "
    "(never in the review folder)"
)


def _request_template(
    platform: str, config: SearchConfig, params: dict[str, str], settings: dict[str, Any]
) -> dict[str, Any]:
    """What the run sends, for the record (API keys left out)."""
    if platform == "pubmed":
        return {
            "esearch": {
                "url": config.urls["pubmed"] + "esearch.fcgi",
                "db": "pubmed",
                **params,
                "retmax": settings["cap"],
                "split": "datetype=pdat, mindate/maxdate when over retmax",
            },
            "efetch": {
                "url": config.urls["pubmed"] + "efetch.fcgi",
                "db": "pubmed",
                "retmode": "xml",
                "id": f"up to {settings['batch']} PMIDs",
            },
        }
    url, values = _cursor_request(platform, config, params, "*", int(settings["page_size"]))
    values.pop("api_key", None)
    name = "cursorMark" if platform == "europepmc" else "cursor"
    values[name] = "* then each page's next cursor"
    return {"url": url, **values}


def _write_json_once(path: Path, value: Any) -> None:
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _original_run(store: Store, run: tables.RunRow) -> tables.RunRow:
    """The run an update search (or a chain of them) started from: its query is searched again."""
    seen = {run.id}
    while True:
        of = tables.get_details(store, run.id).get("update_of")
        earlier = tables.get_run(store, str(of)) if of else None
        if earlier is None or earlier.id in seen:
            return run
        seen.add(earlier.id)
        run = earlier


def _entry_limited(platform: str, base: tables.RunRow, since: str) -> tuple[str, dict[str, str]]:
    """``base``'s query as it was run, limited to records that entered the database on or after
    ``since`` (``YYYY-MM-DD``): the query text as logged, and the request parameters."""
    params = dict(base.params)
    if platform == "pubmed":
        # PubMed Help, "Entry Date [EDAT]" and date ranges (pubmed.ncbi.nlm.nih.gov/help/#dp):
        # "YYYY/MM/DD"[edat] : "3000"[edat] finds records added on or after that day
        day = since.replace("-", "/")
        text = f'({base.query}) AND ("{day}"[edat] : "3000"[edat])'
        return text, {**params, "term": text}
    if platform == "europepmc":
        # The range syntax is Europe PMC's own: its RESTful Web Service reference guide, Appendix 1
        # (europepmc.org/docs/EBI_Europe_PMC_Web_Service_Reference.pdf; its table as copied in
        # ContentMine/workshop-resources, getpapers-eupmc-queries.md) gives date fields such as
        # FIRST_PDATE and E_PDATE as FIELD:YYYY-MM-DD or FIELD:[YYYY-MM-DD TO YYYY-MM-DD]; an end
        # in the year 3000 leaves the range open (Europe PMC reads 3000 as "to the present", as
        # Nested Knowledge's Europe PMC search guide says: a third party's word, not Europe PMC's).
        # FIRST_IDATE (and FIRST_IDATE_D to sort by it) is in Europe PMC's list of search fields
        # as clients copy it, and the core result gives each record's firstIndexDate; that
        # FIRST_IDATE is that first index date (when Europe PMC first indexed the record, not
        # when it was published: what an update needs) is how clients that poll for new records
        # use it. Checked December 2026: no page of Europe PMC's own that defines FIRST_IDATE in
        # words was found (the search syntax reference, europepmc.org/searchsyntax, was not at
        # hand); the filter is kept, and the log names the field (ENTRY_DATE_FIELDS).
        text = f"({params['query']}) AND FIRST_IDATE:[{since} TO 3000-12-31]"
        return text, {**params, "query": text}
    if platform == "openalex":
        # OpenAlex, Filter works (docs.openalex.org/api-entities/works/filter-works,
        # from_created_date): works added to OpenAlex on or after the date
        value = ",".join(v for v in (params.get("filter", ""), f"from_created_date:{since}") if v)
        params["filter"] = value
        return f"{DEFAULT_URLS['openalex']}works?filter={value}", params
    # Crossref REST API filters (crossref.org/documentation/retrieve-metadata/rest-api/
    # rest-api-filters): from-created-date, metadata first deposited on or after the date
    # (from-index-date moves whenever a record is re-indexed, so it would bring old records back)
    value = ",".join(v for v in (params.get("filter", ""), f"from-created-date:{since}") if v)
    params["filter"] = value
    text = f"{DEFAULT_URLS['crossref']}works?" + "&".join(f"{k}={v}" for k, v in params.items())
    return text, params


def _update_query(store: Store, db: Database, query: Query) -> tuple[Query, tables.RunRow]:
    """The query of the last complete run of ``db`` (as that search was first run, not today's
    strategy), limited to records the database added since that run's day."""
    done = [
        r for r in tables.list_runs(store, database=db.name, platform=db.platform) if r.status == "complete"
    ]
    if not done:
        raise UsageError(f"--update needs a complete earlier run of {db.name}; run it first without --update")
    last = done[-1]
    base = _original_run(store, last)
    # the day of the last run is searched again: a record entered that day later is not missed,
    # and the records already stored are not stored twice
    since = last.started_at[:10]
    text, params = _entry_limited(db.platform, base, since)
    label = PLATFORMS[db.platform].label.split(" (")[0]
    note = (
        f"update search: records {label} added from {since} (the day of run {last.id}) on, by "
        f"{ENTRY_DATE_FIELDS[db.platform]}; the query of run {base.id} as it was run"
    )
    notes = (*query.notes, note)
    if db.platform == "openalex":
        notes = (
            *notes,
            "OpenAlex long offered from_created_date to premium keys only: if it refuses the filter "
            "(HTTP 403), run OpenAlex again with --new instead (records stored before are not stored "
            "again)",
        )
    return replace(query, text=text, params=params, notes=notes), last


def _failed(store: Store, run: tables.RunRow, stats: Stats, folder: Path, exc: Exception) -> str:
    """Mark ``run`` failed by ``exc`` (a query or a limit the database refused: resuming would
    fail again) and free its folder; returns the message, scrubbed of keys (the server's words
    may repeat the request)."""
    told = scrub(str(exc))
    tables.update_run(
        store,
        run.id,
        status="failed",
        message=told,
        requests=run.requests + stats.requests,
        updated_at=utc_now(),
    )
    (folder / "run.lock").unlink(missing_ok=True)
    return told


def _interrupted(
    store: Store, run: tables.RunRow, stats: Stats, exc: NetworkError, retrieved: int
) -> NoReturn:
    """Mark ``run`` interrupted by ``exc`` and raise the error that says how to resume it
    (the server's words scrubbed of keys first: they may repeat the request)."""
    told = scrub(str(exc))
    if isinstance(exc, QuotaExceeded):
        tables.add_details(store, run.id, errors=[told])
    tables.update_run(
        store,
        run.id,
        status="interrupted",
        message=told,
        requests=run.requests + stats.requests,
        updated_at=utc_now(),
    )
    raise NetworkError(
        f"{told}. {retrieved:,} records are stored; run 'scoping search "
        f"run --resume {run.id}' to continue from there"
    ) from None


def _pick_run(
    store: Store, db: Database, query: Query, *, new: bool, resume: str | None
) -> tables.RunRow | None:
    if resume is not None:
        run = tables.get_run(store, resume)
        if run is None:
            raise UsageError(f"there is no search run {resume!r}; 'scoping search log' lists the runs")
        if run.status == "complete":
            raise UsageError(f"run {resume} is complete; run 'scoping search run --new' to search again")
        return run
    if new:
        return None
    for run in reversed(tables.list_runs(store, database=db.name, platform=db.platform)):
        if run.status != "complete" and run.query == query.text:
            return run
    return None


def run_search(
    review: Review,
    strategy: Strategy,
    database: str | Database,
    *,
    store: Store,
    config: SearchConfig | None = None,
    new: bool = False,
    resume: str | None = None,
    update: bool = False,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> RunResult:
    """Search one API database, store its records and log the run; resumable.

    Without ``new``, an unfinished run of the same database with the same query is continued
    (``resume`` names one explicitly). Raises :class:`~scoping.errors.NetworkError` when the
    service keeps failing; the run is then ``interrupted`` and can be resumed.

    ``update`` is an update search: the query of the database's earlier search, as it was run,
    limited to records the database added from the day of its last complete run on (by the
    entry date each API offers: :data:`~scoping.search.platforms.ENTRY_DATE_FIELDS`). Either
    way a record an earlier run stored is not stored again; the records an update search
    stores are the "new" arm of :func:`~scoping.search.update_arms`.
    """
    config = config or SearchConfig.load(strategy)
    db = _database_to_search(strategy, database, store, config, resume)
    query = translate(strategy, db)
    update_of: tables.RunRow | None = None
    if update:
        if resume is not None:
            raise UsageError("--update starts a new run; it cannot --resume one")
        query, update_of = _update_query(store, db, query)
        new = True
    run = _pick_run(store, db, query, new=new, resume=resume)
    resumed = run is not None
    started = time.monotonic()
    if run is None:
        run, folder = _start_run(review, strategy, db, query, store, config, update_of)
    else:
        folder = review.root / run.folder
        folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder, run.id):
        if resumed:
            tables.update_run(store, run.id, status="running", message=None, updated_at=utc_now())
        stats = Stats()
        ctx = _Context(store, run, folder, db, stats, progress)
        _fetch_run(ctx, config, update_of)
    final, details = _finish_run(ctx, folder)
    return RunResult(
        run=final,
        resumed=resumed,
        stored=ctx.stored,
        requests=stats.requests,
        seconds=time.monotonic() - started,
        details=details,
    )


def _database_to_search(
    strategy: Strategy, database: str | Database, store: Store, config: SearchConfig, resume: str | None
) -> Database:
    """The database to search (the resumed run's, if any); refuses one that cannot be searched here."""
    if resume is not None:
        earlier = tables.get_run(store, resume)
        if earlier is not None:
            database = strategy.find_database(earlier.database) or Database(
                earlier.database, earlier.platform
            )
    db = strategy.database(database) if isinstance(database, str) else database
    if not PLATFORMS[db.platform].api:
        raise UsageError(
            f"{db.name} is searched on {PLATFORMS[db.platform].label}, which has no open API: run "
            f"the query of 'scoping search plan --database \"{db.name}\"' there, export the "
            f"records and import them with 'scoping import FILE --source \"{db.name}\"'"
        )
    if db.platform == "pubmed" and not config.email:
        raise ConfigError(
            "PubMed needs an e-mail address (NCBI's usage policy): set SCOPING_EMAIL "
            "or email in the [search] table of searches/strategy.toml"
        )
    if db.platform == "openalex" and not config.openalex_api_key:
        raise ConfigError(NO_OPENALEX_KEY)
    return db


def _start_run(
    review: Review,
    strategy: Strategy,
    db: Database,
    query: Query,
    store: Store,
    config: SearchConfig,
    update_of: tables.RunRow | None,
) -> tuple[tables.RunRow, Path]:
    """A new run: its row in the store and its folder, with ``run.json``."""
    run_id = _new_run_id(review, db.platform)
    folder = review.runs_dir / run_id
    folder.mkdir(parents=True)
    now = utc_now()
    settings = _settings(db.platform, strategy, db, config)
    run = tables.create_run(
        store,
        id=run_id,
        database=db.name,
        platform=db.platform,
        query=query.text,
        params=query.params,
        limits=strategy.limits.to_dict(),
        settings=settings,
        folder=str(folder.relative_to(review.root)),
        started_at=now,
    )
    tables.add_details(store, run_id, notes=list(query.notes))
    if update_of is not None:
        tables.add_details(store, run_id, update_of=update_of.id, update_since=update_of.started_at[:10])
    _write_json_once(
        folder / "run.json",
        {
            "run": run_id,
            "database": db.name,
            "platform": db.platform,
            "interface": PLATFORMS[db.platform].label,
            "url": config.urls[db.platform],
            "query": query.text,
            "params": query.params,
            "notes": list(query.notes),
            "requests": _request_template(db.platform, config, query.params, settings),
            "limits": strategy.limits.to_dict(),
            "settings": settings,
            "started": now,
            "strategy": strategy.path,
        },
    )
    return run, folder


def _fetch_run(ctx: _Context, config: SearchConfig, update_of: tables.RunRow | None) -> None:
    """Fetch and store the run's records; a failure marks the run failed or interrupted."""
    store, run, stats, folder, db = ctx.store, ctx.run, ctx.stats, ctx.folder, ctx.database
    try:
        with store.background_checkpoints() as ctx.stored_page:
            if db.platform == "pubmed":
                _pubmed(ctx, config)
            else:
                _cursor_api(ctx, config)
    except responses.QueryRejected as exc:
        told = _failed(store, run, stats, folder, exc)
        raise ConfigError(
            f"{told}; run {run.id} is marked failed: check the query with 'scoping search plan "
            f'--database "{db.name}"\', correct strategy.toml and run the search again'
        ) from None
    except NetworkError as exc:
        refused = isinstance(exc, HTTPStatusError) and exc.status in (400, 403)
        if not (refused and update_of is not None and not ctx.retrieved):
            _interrupted(store, run, stats, exc, ctx.retrieved)
        told = _failed(store, run, stats, folder, exc)
        raise ConfigError(
            f"{told}; {db.name} refused the update search's entry-date limit "
            f"({ENTRY_DATE_FIELDS[db.platform].split(' (')[0]}): run {run.id} is marked failed; "
            f"search {db.name} again with --new instead (records stored before are not stored again)"
        ) from None
    except BaseException:
        tables.update_run(
            store,
            run.id,
            status="interrupted",
            message="interrupted",
            requests=run.requests + stats.requests,
            updated_at=utc_now(),
        )
        raise


def _finish_run(ctx: _Context, folder: Path) -> tuple[tables.RunRow, dict[str, Any]]:
    """Mark the run complete and write its ``summary.json``; the final row and its details."""
    store, run, stats, db = ctx.store, ctx.run, ctx.stats, ctx.database
    finished = utc_now()
    tables.update_run(
        store,
        run.id,
        status="complete",
        finished_at=finished,
        retrieved=ctx.retrieved,
        requests=run.requests + stats.requests,
        updated_at=finished,
    )
    final = tables.get_run(store, run.id)
    assert final is not None
    (folder / "run.lock").unlink(missing_ok=True)
    if ctx.already:
        earlier = tables.get_details(store, run.id).get("already_stored", 0)
        tables.add_details(store, run.id, already_stored=int(earlier) + ctx.already)
    details = tables.get_details(store, run.id)
    _write_json_once(
        folder / "summary.json",
        {
            "run": run.id,
            "database": db.name,
            "platform": db.platform,
            "query": final.query,
            "started": final.started_at,
            "finished": finished,
            "hit_count": final.hit_count,
            "retrieved": final.retrieved,
            "requests": final.requests,
            "message": final.message,
            **{k: v for k, v in details.items() if k != "notes"},
        },
    )
    return final, details
