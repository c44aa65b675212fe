"""Reading API responses: hit counts, cursors and records, from the raw bytes of one page.

Every parser takes the page's bytes and a ``label`` naming the page in error messages, and
raises :class:`MalformedResponse` (with the parser's own detail: line, character) when the
page is not what the API sends. Records come out as :class:`~scoping.records.Record`, built
with :func:`~scoping.records.make_record`; ``raw`` is the record's own JSON (or, for PubMed,
its ``PubmedArticle`` element) and ``source_id`` the API's identifier of the record.

PubMed's efetch XML is read by :func:`scoping.ingest.pubmed_xml.read`, the reader of PubMed XML
exports, so a record searched through the API and one exported by hand come out the same.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scoping.errors import FormatError
from scoping.ingest import pubmed_xml
from scoping.records import Record, make_record

__all__ = [
    "ESearch",
    "MalformedResponse",
    "Page",
    "QueryRejected",
    "crossref_record",
    "europepmc_record",
    "openalex_record",
    "parse_crossref",
    "parse_esearch",
    "parse_europepmc",
    "parse_openalex",
    "parse_pubmed",
]


def ready() -> bool:
    """Nothing: called in a worker process to have this module imported there ahead of time."""
    return True


class MalformedResponse(Exception):
    """A response page that does not parse as what the API sends."""


class QueryRejected(Exception):
    """The service answered, well-formed, that it cannot run the query (PubMed's esearch
    ``<ERROR>`` without a count): fetching the page again cannot help."""


_BACKEND_TROUBLE = ("backend", "temporarily", "timeout", "timed out", "unavailable", "try again")


@dataclass(frozen=True, slots=True)
class ESearch:
    """An E-utilities esearch result."""

    count: int
    ids: tuple[str, ...]
    query_translation: str | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a cursor-paged API."""

    hit_count: int
    next_cursor: str | None
    records: list[Record] = field(default_factory=list)


def _xml(data: bytes, label: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise MalformedResponse(
            f"{label}: malformed XML at line {line}, column {column}: "
            f"{exc.msg if hasattr(exc, 'msg') else exc}"
        ) from exc


def parse_esearch(data: bytes, label: str) -> ESearch:
    root = _xml(data, label)
    if root.tag != "eSearchResult":
        raise MalformedResponse(f"{label}: not an esearch result (document element <{root.tag}>)")
    fatal = [" ".join((e.text or "").split()) for e in root.iter("ERROR")]
    count_text = root.findtext("Count")
    if count_text is None:
        if fatal and not any(word in fatal[0].lower() for word in _BACKEND_TROUBLE):
            raise QueryRejected(f"{label}: PubMed rejected the query: {fatal[0]}")
        if fatal:  # PubMed's search backend failed: worth asking again
            raise MalformedResponse(f"{label}: PubMed reported an error: {fatal[0]}")
        raise MalformedResponse(f"{label}: no <Count> in the esearch result")
    try:
        count = int(count_text)
    except ValueError:
        raise MalformedResponse(f"{label}: <Count> is {count_text!r}, not a number") from None
    ids = tuple((e.text or "").strip() for e in root.iterfind("IdList/Id"))
    errors = tuple(f"{e.tag}: {' '.join((e.text or '').split())}" for e in root.iterfind("ErrorList/*"))
    errors += tuple(f"ERROR: {f}" for f in fatal)
    warnings = tuple(f"{e.tag}: {' '.join((e.text or '').split())}" for e in root.iterfind("WarningList/*"))
    translation = root.findtext("QueryTranslation")
    return ESearch(
        count=count,
        ids=ids,
        query_translation=" ".join(translation.split()) if translation else None,
        errors=errors,
        warnings=warnings,
    )


def parse_pubmed(data: bytes, label: str) -> list[Record]:
    """The records of an efetch page (PubMed XML); an empty ``PubmedArticleSet`` gives ``[]``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponse(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return list(pubmed_xml.read_text(text, label))
    except FormatError as exc:
        if "no records" in exc.problem:
            return []
        raise MalformedResponse(
            f"{label}, {exc.where}: {exc.problem}" if exc.where else f"{label}: {exc.problem}"
        ) from exc


def _json(data: bytes, label: str) -> Any:
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise MalformedResponse(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise MalformedResponse(
            f"{label}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def _raw(item: Mapping[str, Any]) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _records(items: Iterable[Any], convert: Any, label: str) -> list[Record]:
    out: list[Record] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise MalformedResponse(f"{label}: result {i} is not an object")
        out.append(convert(item))
    return out


# -- Europe PMC -------------------------------------------------------------------------------


def parse_europepmc(data: bytes, label: str) -> Page:
    doc = _json(data, label)
    if not isinstance(doc, dict) or "hitCount" not in doc:
        raise MalformedResponse(f"{label}: not a Europe PMC search result (no hitCount)")
    results = (doc.get("resultList") or {}).get("result", [])
    if not isinstance(results, list):
        raise MalformedResponse(f"{label}: resultList.result is not a list")
    return Page(
        hit_count=int(doc["hitCount"]),
        next_cursor=doc.get("nextCursorMark"),
        records=_records(results, europepmc_record, label),
    )


def _epmc_authors(item: Mapping[str, Any]) -> list[str] | str:
    authors = (item.get("authorList") or {}).get("author")
    if isinstance(authors, list) and authors:
        names: list[str] = []
        for a in authors:
            if not isinstance(a, dict):
                continue
            if a.get("lastName"):
                given = a.get("firstName") or a.get("initials")
                names.append(f"{a['lastName']}, {given}" if given else str(a["lastName"]))
            elif a.get("collectiveName") or a.get("fullName"):
                names.append(str(a.get("collectiveName") or a.get("fullName")))
        return names
    text = str(item.get("authorString") or "").rstrip(".")
    return [n.strip() for n in text.split(",") if n.strip()]


def europepmc_record(item: Mapping[str, Any]) -> Record:
    """A Europe PMC ``result`` (resultType ``core`` or ``lite``) as a record."""
    info = item.get("journalInfo") or {}
    journal = info.get("journal") or {}
    keywords = (item.get("keywordList") or {}).get("keyword") or []
    mesh = [
        (m.get("descriptorName") if isinstance(m, dict) else None)
        for m in (item.get("meshHeadingList") or {}).get("meshHeading") or []
    ]
    types = (item.get("pubTypeList") or {}).get("pubType") or item.get("pubType")
    source = item.get("source")
    ident = item.get("id")
    fields = {
        "title": item.get("title"),
        "abstract": item.get("abstractText"),
        "authors": _epmc_authors(item),
        "year": item.get("pubYear") or info.get("yearOfPublication"),
        "journal": journal.get("title") or item.get("journalTitle"),
        "volume": info.get("volume") or item.get("journalVolume"),
        "issue": info.get("issue") or item.get("issue"),
        "pages": item.get("pageInfo"),
        "doi": item.get("doi"),
        "pmid": item.get("pmid"),
        "issn": journal.get("issn")
        or journal.get("essn")
        or str(item.get("journalIssn") or "").split(";")[0]
        or None,
        "keywords": [*keywords, *(m for m in mesh if m)],
        "language": item.get("language"),
        "doc_type": types[0] if isinstance(types, list) and types else types,
        "url": f"https://europepmc.org/article/{source}/{ident}" if source and ident else None,
        "source_id": f"{source}:{ident}" if source and ident else ident,
    }
    if item.get("pmcid"):
        fields["pmcid"] = item["pmcid"]
    return make_record(fields, raw=_raw(item))


# -- OpenAlex ---------------------------------------------------------------------------------


def parse_openalex(data: bytes, label: str) -> Page:
    doc = _json(data, label)
    if not isinstance(doc, dict) or not isinstance(doc.get("meta"), dict):
        if isinstance(doc, dict) and doc.get("error"):
            raise MalformedResponse(
                f"{label}: OpenAlex reported an error: {doc.get('error')} {doc.get('message', '')}".strip()
            )
        raise MalformedResponse(f"{label}: not an OpenAlex list of works (no meta)")
    results = doc.get("results", [])
    if not isinstance(results, list):
        raise MalformedResponse(f"{label}: results is not a list")
    meta = doc["meta"]
    return Page(
        hit_count=int(meta.get("count") or 0),
        next_cursor=meta.get("next_cursor"),
        records=_records(results, openalex_record, label),
    )


def _abstract(inverted: object) -> str | None:
    if not isinstance(inverted, dict) or not inverted:
        return None
    words: dict[int, str] = {}
    for word, positions in inverted.items():
        for pos in positions or []:
            if isinstance(pos, int):
                words[pos] = word
    return " ".join(words[i] for i in sorted(words)) or None


def _short_id(value: object, prefix: str) -> str | None:
    if not value:
        return None
    text = str(value)
    return text[len(prefix) :] if text.startswith(prefix) else text


def openalex_record(work: Mapping[str, Any]) -> Record:
    """An OpenAlex ``Work`` as a record."""
    location = work.get("primary_location") or {}
    source = location.get("source") or {}
    biblio = work.get("biblio") or {}
    ids = work.get("ids") or {}
    authors = []
    for authorship in work.get("authorships") or []:
        if not isinstance(authorship, dict):
            continue
        name = (authorship.get("author") or {}).get("display_name") or authorship.get("raw_author_name")
        if name:
            authors.append(name)
    fields = {
        "title": work.get("title") or work.get("display_name"),
        "abstract": _abstract(work.get("abstract_inverted_index")),
        "authors": authors,
        "year": work.get("publication_year"),
        "journal": source.get("display_name"),
        "volume": biblio.get("volume"),
        "issue": biblio.get("issue"),
        "start_page": biblio.get("first_page"),
        "end_page": biblio.get("last_page"),
        "doi": work.get("doi") or ids.get("doi"),
        "pmid": _short_id(ids.get("pmid"), "https://pubmed.ncbi.nlm.nih.gov/"),
        "issn": source.get("issn_l"),
        "publisher": source.get("host_organization_name"),
        "keywords": [
            k.get("display_name")
            for k in work.get("keywords") or []
            if isinstance(k, dict) and k.get("display_name")
        ],
        "language": work.get("language"),
        "doc_type": work.get("type"),
        "url": work.get("id"),
        "source_id": _short_id(work.get("id"), "https://openalex.org/"),
    }
    return make_record(fields, raw=_raw(work))


# -- Crossref ---------------------------------------------------------------------------------


def parse_crossref(data: bytes, label: str) -> Page:
    doc = _json(data, label)
    if not isinstance(doc, dict) or not isinstance(doc.get("message"), dict):
        raise MalformedResponse(f"{label}: not a Crossref response (no message)")
    if doc.get("status") not in (None, "ok"):
        raise MalformedResponse(
            f"{label}: Crossref reported {doc.get('status')}: {json.dumps(doc['message'])[:300]}"
        )
    message = doc["message"]
    items = message.get("items")
    if not isinstance(items, list):
        raise MalformedResponse(f"{label}: not a list of works (no message.items)")
    return Page(
        hit_count=int(message.get("total-results") or 0),
        next_cursor=message.get("next-cursor"),
        records=_records(items, crossref_record, label),
    )


def _first(value: object) -> object:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _crossref_year(item: Mapping[str, Any]) -> object:
    for key in ("issued", "published-print", "published-online", "published", "created"):
        parts = (item.get(key) or {}).get("date-parts") or []
        if parts and parts[0] and parts[0][0]:
            return parts[0][0]
    return None


def crossref_record(item: Mapping[str, Any]) -> Record:
    """A Crossref ``work`` item as a record."""
    authors = []
    for a in item.get("author") or []:
        if not isinstance(a, dict):
            continue
        if a.get("family"):
            authors.append(f"{a['family']}, {a['given']}" if a.get("given") else str(a["family"]))
        elif a.get("name"):
            authors.append(str(a["name"]))
    fields = {
        "title": _first(item.get("title")),
        "abstract": item.get("abstract"),
        "authors": authors,
        "year": _crossref_year(item),
        "journal": _first(item.get("container-title")),
        "volume": item.get("volume"),
        "issue": item.get("issue"),
        "pages": item.get("page"),
        "doi": item.get("DOI"),
        "issn": _first(item.get("ISSN")),
        "isbn": _first(item.get("ISBN")),
        "publisher": item.get("publisher"),
        "keywords": item.get("subject") or [],
        "language": item.get("language"),
        "doc_type": item.get("type"),
        "url": item.get("URL"),
        "source_id": item.get("DOI"),
    }
    return make_record(fields, raw=_raw(item))
