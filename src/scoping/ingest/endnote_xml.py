"""EndNote XML: the ``<xml><records><record>...`` file EndNote's "Export > XML" writes.

The stream is parsed incrementally with the PubMed XML reader's machinery
(:func:`scoping.ingest.pubmed_xml.iter_xml_records`), so each record keeps its original text and
the line of its ``<record>`` tag, and memory stays bounded. EndNote wraps most values in
``<style face=... font=... size=...>`` elements (one per run of formatting); all the text inside
an element is read, whatever the styling.

Field mapping:

===========  ===================================================================================
field        elements (below ``record``)
===========  ===================================================================================
doc_type     ref-type's ``name`` attribute (``Journal Article``, ``Book Section``...)
title        titles/title
authors      contributors/authors/author (then contributors/secondary-authors for edited books)
journal      titles/secondary-title, then periodical/full-title, then alt-periodical/full-title,
             then periodical/abbr-1 (none for whole books, where the secondary title is a series)
year         dates/year
volume       volume
issue        number
pages        pages (``352-66`` becomes ``352-366``)
abstract     abstract
keywords     keywords/keyword (a keyword holding several lines gives one keyword per line)
doi          electronic-resource-num, then a doi.org link among the URLs
issn/isbn    isbn (EndNote keeps both there): ISSN-shaped values are the ISSN, others the ISBN
url          urls/related-urls/url, then urls/web-urls/url
pmid         accession-num when it is all digits and the record does not name another database
publisher    publisher
language     language
source_id    rec-number
extra        ``accession_num`` (when it is not a PMID), ``database`` (remote-database-name)
===========  ===================================================================================
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any, TextIO

from scoping.ingest.pubmed_xml import iter_xml_records
from scoping.records import Record, make_record

__all__ = ["read"]

_RECORD_TAGS = frozenset({"record"})
_ROOT_TAGS = frozenset({"xml"})
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]\b")
_LINES = re.compile(r"[\r\n]+")
_WHOLE_BOOKS = {"book", "edited book", "electronic book"}
_PUBMED_NAMES = ("pubmed", "medline", "nlm")


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _first(record: ET.Element, *paths: str) -> str | None:
    for path in paths:
        for element in record.iterfind(path):
            text = _text(element)
            if text:
                return text
    return None


def _all(record: ET.Element, path: str) -> list[str]:
    return [text for element in record.iterfind(path) if (text := _text(element))]


def _split_isbn(values: list[str]) -> tuple[str | None, str | None]:
    issn = isbn = None
    for value in values:
        for part in _LINES.split(value):
            part = part.strip()
            if not part:
                continue
            shape = _ISSN.match(part)
            if shape:
                issn = issn or shape.group(0)
            else:
                isbn = isbn or part
    return issn, isbn


def _fields(record: ET.Element) -> dict[str, Any]:
    ref_type = record.find("ref-type")
    doc_type = ref_type.get("name") if ref_type is not None else None
    if not doc_type and ref_type is not None:
        doc_type = _text(ref_type)
    whole_book = (doc_type or "").lower() in _WHOLE_BOOKS

    authors = _all(record, "contributors/authors/author")
    if not authors:
        authors = _all(record, "contributors/secondary-authors/author")

    urls = _all(record, "urls/related-urls/url") + _all(record, "urls/web-urls/url")
    doi = _first(record, "electronic-resource-num")
    if doi is None:
        doi = next((u for u in urls if "doi.org/" in u.lower()), None)

    databases = _all(record, "remote-database-name") + _all(record, "remote-database-provider")
    accession = _first(record, "accession-num")
    pmid = None
    if (
        accession
        and accession.isdigit()
        and (not databases or any(n in d.lower() for d in databases for n in _PUBMED_NAMES))
    ):
        pmid = accession

    keywords = [
        part.strip() for kw in _all(record, "keywords/keyword") for part in _LINES.split(kw) if part.strip()
    ]
    issn, isbn = _split_isbn(_all(record, "isbn"))
    fields: dict[str, Any] = {
        "doc_type": doc_type,
        "title": _first(record, "titles/title"),
        "authors": authors,
        "journal": None
        if whole_book
        else _first(
            record,
            "titles/secondary-title",
            "periodical/full-title",
            "alt-periodical/full-title",
            "periodical/abbr-1",
        ),
        "year": _first(record, "dates/year"),
        "volume": _first(record, "volume"),
        "issue": _first(record, "number"),
        "pages": _first(record, "pages"),
        "abstract": _first(record, "abstract"),
        "keywords": keywords,
        "doi": doi,
        "issn": issn,
        "isbn": isbn,
        "url": urls[0] if urls else None,
        "pmid": pmid,
        "publisher": _first(record, "publisher"),
        "language": _first(record, "language"),
        "source_id": _first(record, "rec-number"),
    }
    if accession and pmid is None:
        fields["accession_num"] = accession
    if databases:
        fields["database"] = databases[0]
    return fields


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the records of an EndNote XML stream, each with its original text."""
    for record, raw, line in iter_xml_records(stream, path, _RECORD_TAGS, _ROOT_TAGS, "EndNote XML"):
        yield make_record(_fields(record), raw=raw, line=line)
