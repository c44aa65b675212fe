"""A local HTTP server on 127.0.0.1 that answers like the bibliographic APIs, from real responses.

The search tests and the benchmark point the real HTTP client (requests) at it. It
serves:

- ``/entrez/eutils/esearch.fcgi`` and ``efetch.fcgi`` (GET and POST), like NCBI E-utilities:
  the records are real PubMed articles (tests/data/api/pubmed*.xml) repeated with changed PMIDs;
  esearch honours ``mindate``/``maxdate`` (by each article's PubDate) and lists at most
  ``pubmed_cap`` (9,999) PMIDs, refusing to page past them, as PubMed does; answers are the real
  esearch2.xml with its Count/RetMax/RetStart/IdList replaced, its QueryTranslation replaced by
  ``pubmed_translation`` (default: the term as sent), and ``pubmed_notices`` (ErrorList/
  WarningList XML) added when set.
- ``/europepmc/webservices/rest/search`` (cursorMark paging), ``/openalex/works`` (cursor) and
  ``/crossref/works`` (cursor), from the real responses in tests/data/api repeated with changed
  identifiers; with ``entered``, their records carry the date they entered the database and
  the entry-date filters of update searches are honoured.

Faults are programmed with :meth:`Replay.fault`: an HTTP status (429, 500...) with optional
``Retry-After``, other ``headers`` and a ``body``, a 200 answer with another ``body``
(``replace``), a dropped connection, a truncated body, a malformed 200 page, or a slow
answer; each after a number of matching requests and for a number of times. ``rate_limit``
rejects requests over N per second with HTTP 429 (sliding one-second window), as NCBI does.
Every request is logged in :attr:`Replay.log`.

Run it on its own (the benchmark does) with ``python tests/replay_server.py --pubmed N``: it
prints ``READY <port>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import datetime as dt
import json
import re
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_DATA = Path(__file__).resolve().parent / "data" / "api"
PUBMED_FILES = ("pubmed1.xml", "pubmed2.xml", "pubmed4.xml", "pubmed5.xml", "pubmed6.xml", "pubmed7.xml")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


# -- PubMed articles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    pmid: str
    parts: tuple[str, ...]
    """The article's XML split at each occurrence of its own PMID."""
    pdat: dt.date


def _pub_date(element: ET.Element) -> dt.date:
    date = element.find(".//Article/Journal/JournalIssue/PubDate")
    if date is None:
        return dt.date(2000, 1, 1)
    year_text = date.findtext("Year") or (date.findtext("MedlineDate") or "2000")[:4]
    month_text = (date.findtext("Month") or "1").strip().lower()
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text[:3], 1)
    day = int(date.findtext("Day") or 1)
    return dt.date(int(year_text), month, day)


_SLIMMED = re.compile(
    r"<(Abstract|AuthorList|GrantList|MeshHeadingList|ChemicalList|KeywordList|CommentsCorrectionsList"
    r"|ReferenceList|SupplMeshList|InvestigatorList|History)\b[^>]*>.*?</\1>",
    re.S,
)
"""What a slim article leaves out: all but its identifiers, title, journal and dates."""


def load_articles(files: tuple[str, ...] = PUBMED_FILES, *, slim: bool = False) -> list[Article]:
    """The real PubmedArticle elements of ``files``, as templates with their PMID marked;
    ``slim``: without their abstracts, authors, grants, MeSH terms, keywords and references
    (about a twentieth of the XML to write and read)."""
    out: list[Article] = []
    for name in files:
        text = (API_DATA / name).read_text(encoding="utf-8")
        for match in re.finditer(r"<PubmedArticle>.*?</PubmedArticle>", text, re.S):
            raw = _SLIMMED.sub("", match.group(0)) if slim else match.group(0)
            element = ET.fromstring(raw)
            pmid = element.findtext("MedlineCitation/PMID") or ""
            own = (f'<PMID Version="1">{pmid}</PMID>', f'<ArticleId IdType="pubmed">{pmid}</ArticleId>')
            pattern = "|".join(re.escape(o) for o in own)
            pieces = re.split(f"({pattern})", raw)
            out.append(Article(pmid=pmid, parts=tuple(pieces), pdat=_pub_date(element)))
    return out


def render_article(article: Article, pmid: str) -> str:
    """The article with its own PMID replaced by ``pmid``."""
    out: list[str] = []
    for piece in article.parts:
        if piece.startswith("<PMID Version="):
            out.append(f'<PMID Version="1">{pmid}</PMID>')
        elif piece.startswith('<ArticleId IdType="pubmed">'):
            out.append(f'<ArticleId IdType="pubmed">{pmid}</ArticleId>')
        else:
            out.append(piece)
    return "".join(out)


# -- faults ------------------------------------------------------------------------------------


@dataclass
class Fault:
    path: str
    """Applies to requests whose path contains this."""
    kind: str
    """``status``, ``drop``, ``truncate`` (cut the body short), ``malformed`` (a complete 200
    answer whose body is cut), ``slow`` (answer after ``delay`` seconds)."""
    status: int = 500
    retry_after: float | None = None
    after: int = 0
    times: int = 1
    """How many matching requests it hits (-1: all)."""
    delay: float = 0.0
    body: bytes | None = None
    """For ``status``: ``{request}`` in it is replaced by the request's path and query string,
    ``{api_key}`` by the ``api_key`` parameter it carried."""
    headers: dict[str, str] = field(default_factory=dict)
    seen: int = 0
    hits: int = 0

    def take(self) -> bool:
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times >= 0 and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class Logged:
    time: float
    method: str
    path: str
    params: dict[str, list[str]]
    status: int


@dataclass
class Replay:
    """The server's state: corpora, faults, rate limits and the request log."""

    pubmed_records: int = 0
    europepmc_records: int = 0
    openalex_records: int = 0
    crossref_records: int = 0
    pubmed_slim: bool = False
    """Serve slim articles (:func:`load_articles`): for tests of how many records move, where
    what is in each one is not what is tested."""
    pubmed_cap: int = 9_999
    """PMIDs one esearch lists at most (PubMed: 9,999 even with retmax=10000)."""
    pubmed_translation: str | None = None
    pubmed_notices: str = ""
    """XML added to every esearch answer (``<ErrorList>...</ErrorList><WarningList>...``)."""
    rate_limit: float | None = None
    """Requests per second allowed on each service (sliding one-second window); over: 429."""
    reported: dict[str, int] = field(default_factory=dict)
    """Hit counts to report instead of the corpus size, by service (a server that reports
    more records than it then lists)."""
    count_for: Callable[[str, str], int] | None = None
    """``(service, query) -> hit count`` for count requests; default: the corpus size."""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    """Extra headers of successful answers, by service (``crossref``...)."""
    entered: dict[str, int] = field(default_factory=dict)
    """For Europe PMC, OpenAlex and Crossref: the records before this index entered the
    database on 2000-01-01, the others on the day the server started (default: all of them).
    A request with an entry-date filter (``FIRST_IDATE:[A TO B]``, ``from_created_date:``,
    ``from-created-date:``) lists only the records entered in it, and each record carries its
    date (``firstIndexDate``, ``created_date``, ``created``)."""
    log: list[Logged] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._articles = load_articles(slim=self.pubmed_slim) if self.pubmed_records else []
        self.pmids: list[str] = [str(30_000_000 + i) for i in range(1, self.pubmed_records + 1)]
        self._article_of: dict[str, Article] = {}
        for i, pmid in enumerate(self.pmids):
            if self._articles:
                self._article_of[pmid] = self._articles[i % len(self._articles)]
        # newest first, as PubMed sorts
        self._sorted = sorted(self.pmids, key=lambda p: (self._article_of[p].pdat, int(p)), reverse=True)
        self._esearch_template = (API_DATA / "esearch2.xml").read_text(encoding="utf-8")
        first = (API_DATA / "pubmed1.xml").read_text(encoding="utf-8")
        self._efetch_head = first[: first.index("<PubmedArticleSet>")] + "<PubmedArticleSet>\n"
        self._epmc = json.loads((API_DATA / "europepmc_search_cancer_core.json").read_text("utf-8"))
        self._openalex_work = json.loads((API_DATA / "openalex_W2741809807.json").read_text("utf-8"))
        self._crossref = json.loads((API_DATA / "crossref_test_cursor.json").read_text("utf-8"))
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Replay:
        replay = self

        class Handler(_Handler):
            state = replay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(5)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def url(self, service: str) -> str:
        path = {
            "pubmed": "entrez/eutils/",
            "europepmc": "europepmc/webservices/rest/",
            "openalex": "openalex/",
            "crossref": "crossref/",
        }[service]
        return f"http://127.0.0.1:{self.port}/{path}"

    def env(self) -> dict[str, str]:
        """Environment variables pointing scoping at this server."""
        return {
            f"SCOPING_{s.upper()}_URL": self.url(s) for s in ("pubmed", "europepmc", "openalex", "crossref")
        }

    # -- faults and log --------------------------------------------------------------------

    def fault(self, path: str, kind: str = "status", **options: Any) -> Fault:
        f = Fault(path=path, kind=kind, **options)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def requests_to(self, part: str) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if part in r.path]

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.path in path and f.take():
                    return f
        return None

    def _over_rate(self, service: str) -> bool:
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        with self.lock:
            window = self._windows.setdefault(service, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                return True
            window.append(now)
            return False

    # -- PubMed ----------------------------------------------------------------------------

    def esearch(self, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        term = _one(params, "term") or ""
        retmax = int(_one(params, "retmax") or 20)
        retstart = int(_one(params, "retstart") or 0)
        ids = self._sorted
        lo, hi = _one(params, "mindate"), _one(params, "maxdate")
        if lo or hi:
            low = _date(lo) if lo else dt.date.min
            high = _date(hi) if hi else dt.date.max
            ids = [p for p in ids if low <= self._article_of[p].pdat <= high]
        count = len(ids)
        if self.count_for is not None and retmax == 0:
            count = self.count_for("pubmed", term)
        if retstart + min(retmax, 1) > self.pubmed_cap and retmax:
            body = (
                '<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult><ERROR>Search Backend '
                f"failed: Exception:\n'retstart' cannot be larger than {self.pubmed_cap - 1}. For "
                "PubMed, ESearch can only retrieve the first 9,999 records matching the query."
                "</ERROR></eSearchResult>"
            )
            return 200, "text/xml; charset=UTF-8", body.encode()
        page = ids[retstart : retstart + min(retmax, self.pubmed_cap - retstart)]
        text = self._esearch_template
        text = re.sub(r"<Count>\d+</Count>", f"<Count>{count}</Count>", text)
        text = re.sub(r"<RetMax>\d+</RetMax>", f"<RetMax>{len(page)}</RetMax>", text)
        text = re.sub(r"<RetStart>\d+</RetStart>", f"<RetStart>{retstart}</RetStart>", text)
        id_list = "".join(f"<Id>{p}</Id>\n" for p in page)
        text = re.sub(r"<IdList>.*</IdList>", f"<IdList>\n{id_list}</IdList>", text, flags=re.S)
        translation = self.pubmed_translation if self.pubmed_translation is not None else term or ""
        translation = translation.replace("&", "&amp;").replace("<", "&lt;")
        text = re.sub(
            r"<QueryTranslation>.*?</QueryTranslation>",
            lambda _m: f"<QueryTranslation>{translation}</QueryTranslation>",
            text,
            flags=re.S,
        )
        if self.pubmed_notices:
            text = text.replace("</eSearchResult>", self.pubmed_notices + "</eSearchResult>")
        return 200, "text/xml; charset=UTF-8", text.encode()

    def efetch(self, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        wanted = [p.strip() for p in (_one(params, "id") or "").split(",") if p.strip()]
        parts = [self._efetch_head]
        for pmid in wanted:
            article = self._article_of.get(pmid)
            if article is not None:
                parts.append(render_article(article, pmid))
                parts.append("\n")
        parts.append("</PubmedArticleSet>\n")
        return 200, "text/xml; charset=UTF-8", "".join(parts).encode()

    # -- cursor APIs -----------------------------------------------------------------------

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.b64encode(f"offset:{offset}".encode()).decode()

    @staticmethod
    def _offset(cursor: str | None) -> int:
        if not cursor or cursor == "*":
            return 0
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])

    OLD_ENTRY = dt.date(2000, 1, 1)

    def entry_date(self, service: str, n: int) -> dt.date:
        """When record ``n`` of ``service`` entered the database."""
        return self.OLD_ENTRY if n < self.entered.get(service, 0) else dt.date.today()

    def listed(self, service: str, size: int, window: tuple[dt.date, dt.date] | None) -> list[int]:
        """The indexes of the records a request with entry-date ``window`` lists."""
        out = range(size)
        if window is None:
            return list(out)
        return [n for n in out if window[0] <= self.entry_date(service, n) <= window[1]]

    def europepmc(self, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        query = _one(params, "query") or ""
        size = int(_one(params, "pageSize") or 25)
        cursor = _one(params, "cursorMark") or "*"
        window = None
        found = re.search(r"FIRST_IDATE:\[(\d{4}-\d{2}-\d{2}) TO (\d{4}-\d{2}-\d{2})\]", query)
        if found:
            window = (_date(found.group(1)), _date(found.group(2)))
        listed = self.listed("europepmc", self.europepmc_records, window)
        total = self.reported.get("europepmc", len(listed))
        if self.count_for is not None and size == 1:
            total = self.count_for("europepmc", query)
        start = self._offset(cursor)
        results = []
        if size > 1 or self.count_for is None:
            templates = self._epmc["resultList"]["result"]
            for n in listed[start : start + size]:
                item = copy.deepcopy(templates[n % len(templates)])
                new = str(50_000_000 + n)
                item["id"] = new
                if "pmid" in item:
                    item["pmid"] = new
                item["firstIndexDate"] = self.entry_date("europepmc", n).isoformat()
                results.append(item)
        next_cursor = self._cursor(start + len(results)) if results else cursor
        doc = {
            "version": self._epmc["version"],
            "hitCount": total,
            "nextCursorMark": next_cursor,
            "request": {
                **self._epmc["request"],
                "queryString": query,
                "cursorMark": cursor,
                "pageSize": size,
            },
            "resultList": {"result": results},
        }
        return 200, "application/json;charset=UTF-8", json.dumps(doc).encode()

    def openalex(self, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        filt = _one(params, "filter") or ""
        size = int(_one(params, "per-page") or _one(params, "per_page") or 25)
        cursor = _one(params, "cursor")
        found = re.search(r"(?:^|,)from_created_date:(\d{4}-\d{2}-\d{2})", filt)
        window = (_date(found.group(1)), dt.date.max) if found else None
        listed = self.listed("openalex", self.openalex_records, window)
        total = len(listed)
        if self.count_for is not None and size == 1:
            total = self.count_for("openalex", filt)
        start = self._offset(cursor)
        results = []
        if size > 1 or self.count_for is None:
            for n in listed[start : start + size]:
                work = copy.deepcopy(self._openalex_work)
                wid = f"https://openalex.org/W{9_000_000_000 + n}"
                work["id"] = wid
                work["ids"] = {**work["ids"], "openalex": wid}
                work["created_date"] = self.entry_date("openalex", n).isoformat()
                results.append(work)
        done = start + len(results) >= total or not results
        doc = {
            "meta": {
                "count": total,
                "db_response_time_ms": 12,
                "page": None,
                "per_page": size,
                "next_cursor": None if done else self._cursor(start + len(results)),
                "groups_count": None,
            },
            "results": results,
            "group_by": [],
        }
        return 200, "application/json", json.dumps(doc).encode()

    def crossref(self, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        rows = int(_one(params, "rows") or 20)
        cursor = _one(params, "cursor")
        start = self._offset(cursor)
        found = re.search(r"(?:^|,)from-created-date:(\d{4}-\d{2}-\d{2})", _one(params, "filter") or "")
        window = (_date(found.group(1)), dt.date.max) if found else None
        listed = self.listed("crossref", self.crossref_records, window)
        templates = self._crossref["message"]["items"]
        items = []
        for n in listed[start : start + rows]:
            item = copy.deepcopy(templates[n % len(templates)])
            item["DOI"] = f"{item['DOI']}.replay{n}"
            day = self.entry_date("crossref", n)
            item["created"] = {
                "date-parts": [[day.year, day.month, day.day]],
                "date-time": f"{day.isoformat()}T00:00:00Z",
                "timestamp": int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000),
            }
            items.append(item)
        message = {
            **self._crossref["message"],
            "items": items,
            "total-results": len(listed),
            "items-per-page": rows,
            "next-cursor": self._cursor(start + len(items)),
            "query": {"start-index": 0, "search-terms": _one(params, "query.bibliographic")},
        }
        doc = {**self._crossref, "message": message}
        return 200, "application/json;charset=utf-8", json.dumps(doc).encode()

    def answer(self, method: str, path: str, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        if path.endswith("/esearch.fcgi"):
            return self.esearch(params)
        if path.endswith("/efetch.fcgi"):
            return self.efetch(params)
        if path.startswith("/europepmc/") and path.endswith("/search"):
            return self.europepmc(params)
        if path == "/openalex/works":
            return self.openalex(params)
        if path == "/crossref/works":
            return self.crossref(params)
        return 404, "text/plain", b"not found"


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _date(text: str) -> dt.date:
    parts = [int(p) for p in re.split(r"[/-]", text)]
    while len(parts) < 3:
        parts.append(1)
    return dt.date(*parts[:3])


def _service(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


class _Handler(BaseHTTPRequestHandler):
    state: Replay
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _params(self) -> tuple[str, dict[str, list[str]]]:
        split = urlsplit(self.path)
        params = parse_qs(split.query, keep_blank_values=True)
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            for key, values in parse_qs(body, keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        return split.path, params

    def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        """Answer one request; it is logged, with its status, before any byte of the answer goes
        out, so a client that has its answer always finds the request in the log."""
        state = self.state
        path, params = self._params()
        entry = Logged(time.monotonic(), self.command, path, params, 0)
        fault = state._take_fault(path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None

        def log(status: int) -> None:
            entry.status = status
            with state.lock:
                state.log.append(entry)

        if state._over_rate(_service(path)):
            body = json.dumps(
                {"error": "API rate limit exceeded", "count": "4", "limit": str(state.rate_limit)}
            ).encode()
            log(429)
            self._send(429, "application/json", body, {"Retry-After": "1"})
            return
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            headers.update(fault.headers)
            body = fault.body if fault.body is not None else f"replayed fault {fault.status}".encode()
            # echo what was sent, as NCBI (the key) and OpenAlex (the request URL) do
            body = body.replace(b"{request}", self.path.encode()).replace(
                b"{api_key}", "".join(params.get("api_key", [])).encode()
            )
            ctype = "application/json" if body.startswith(b"{") else "text/plain"
            log(fault.status)
            self._send(fault.status, ctype, body, headers)
            return
        if fault is not None and fault.kind == "replace":
            log(200)
            self._send(200, "text/xml; charset=UTF-8", fault.body or b"", fault.headers)
            return
        if fault is not None and fault.kind == "drop":
            log(0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, ctype, body = state.answer(self.command, path, params)
        if fault is not None and fault.kind == "truncate":
            log(-200)
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.kind == "malformed":
            body = body[: len(body) // 2]
        log(status)
        self._send(status, ctype, body, state.headers.get(_service(path)))

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pubmed", type=int, default=0, help="PubMed records to serve")
    parser.add_argument("--cap", type=int, default=9_999, help="PMIDs one PubMed esearch lists")
    parser.add_argument("--rate", type=float, default=None, help="requests/second before HTTP 429")
    args = parser.parse_args(argv)
    replay = Replay(pubmed_records=args.pubmed, pubmed_cap=args.cap, rate_limit=args.rate).start()
    print(f"READY {replay.port}", flush=True)
    try:
        for line in sys.stdin:  # serve until stdin closes, then report
            if line.strip() == "STATS":
                with replay.lock:
                    entries = list(replay.log)
                print(
                    json.dumps(
                        {
                            "requests": len(entries),
                            "cpu_seconds": time.process_time(),
                            "throttled": sum(1 for e in entries if e.status == 429),
                            "times": [e.time for e in entries],
                            "by_path": {
                                p: sum(1 for e in entries if e.path == p)
                                for p in sorted({e.path for e in entries})
                            },
                        }
                    ),
                    flush=True,
                )
    finally:
        replay.stop()


@contextlib.contextmanager
def serving(**options: Any) -> Iterator[Replay]:
    """A :class:`Replay` server running for the ``with`` block (the tests' one way to start it)."""
    replay = Replay(**options).start()
    try:
        yield replay
    finally:
        replay.stop()


if __name__ == "__main__":
    main()
