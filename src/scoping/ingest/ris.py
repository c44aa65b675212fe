"""RIS: read the dialects databases and reference managers write, and write RIS back out.

Records are cut out of the stream line by line (``TY`` opens one, ``ER`` closes it) so that each
keeps its original text and first line number; the tags inside a record are parsed by rispy.
Text between records (Ovid's record numbers and link lines, EndNote headers) is ignored. A
record still open at the end of the file means a truncated export and is an error.

Where dialects put a field under different tags, the first tag present wins:

==========  ===========================================================
field       tags, in order
==========  ===========================================================
title       TI, T1, CT, BT (books), ST
abstract    AB, N2
authors     AU, A1 (then A2 only when there is no other author tag)
year        PY, Y1, DA, Y2
journal     T2, JF, JO, JA, J2, SO (not for whole books, where T2 is the series)
pages       SP + EP ("No Pagination Specified" reads as no pages)
doi         DO, DI, then a doi.org link in UR / L2 / M3 / N1
pmid        AN when the record is from MEDLINE/PubMed (DB, DP or an Ovid link says so),
            a PubMed link, or "PMID: n" in a note
issn/isbn   SN (an ISBN-shaped SN, or any SN of a book, is an ISBN)
==========  ===========================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import rispy

from scoping.errors import FormatError
from scoping.records import Record, make_record, normalise_doi, normalise_pmid

__all__ = ["read", "write"]

_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: |$)")


class _AllTags(dict[str, str]):
    """A rispy mapping that keeps every tag under its own name."""

    def __missing__(self, key: str) -> str:
        return key


class _Everything:
    """A rispy list-tag set that holds every tag: each tag's values come back as a list."""

    def __contains__(self, item: object) -> bool:
        return True


_PARSER = rispy.RisParser(mapping=_AllTags(), list_tags=_Everything(), delimiter_tags_mapping={})


def _records(stream: TextIO, path: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, lines) of each TY..ER block."""
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(stream, start=1):
        if number == 1:
            line = line.lstrip("\ufeff")
        match = _TAG_LINE.match(line)
        tag = match.group(1) if match else None
        if current is None:
            if tag == "TY":
                current = [line]
                start = number
            elif tag == "ER":
                raise FormatError(path, "an ER line closes a record that was never opened with TY",
                                  "check the export is complete RIS", where=f"line {number}")
            continue
        if tag == "TY":
            raise FormatError(path, f"a new record starts before the one from line {start} ended (no ER)",
                              "export the records again", where=f"line {number}")
        current.append(line)
        if tag == "ER":
            yield start, current
            current = None
    if current is not None:
        raise FormatError(path, f"the file ends inside the record that starts on line {start} (no ER line)",
                          "the export looks truncated: export the records again", where=f"line {start}")


def _first(tags: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        for value in tags.get(name, ()):
            if value and value.strip():
                return value.strip()
    return None


def _joined(tags: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        values = [v.strip() for v in tags.get(name, ()) if v and v.strip()]
        if values:
            return " ".join(values)
    return None


_BOOK_TYPES = {"BOOK", "EBOOK", "EDBOOK", "CHAP", "ECHAP"}
_ISBN = re.compile(r"^(?:97[89][-\s]?)?(?:\d[-\s]?){9}[\dXx]\b")
_PUBMED_LINK = re.compile(
    r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/|[?&]id=pmid:)(\d+)", re.I
)
_OVID_MEDLINE = re.compile(r"[?&]D=(?:medl|med\d|prem|mesz|medp)", re.I)
_PMID_NOTE = re.compile(r"\bPMID:?\s*(\d{1,9})\b")
_NO_PAGES = re.compile(r"^\s*no\s*pagination\s*specified\s*$", re.I)


def _fields(tags: dict[str, list[str]]) -> dict[str, Any]:
    ty = (_first(tags, "TY") or "").upper()
    is_book = ty in _BOOK_TYPES
    title = _joined(tags, "TI", "T1", "CT") or (_joined(tags, "BT") if is_book else None) \
        or _joined(tags, "ST")
    authors = [a for name in ("AU", "A1") for a in tags.get(name, ())]
    if not authors:
        authors = list(tags.get("A2", ()))
    journal = None if ty == "BOOK" else _first(tags, "T2", "JF", "JO", "JA", "J2", "SO")
    start, end = _first(tags, "SP"), _first(tags, "EP")
    if start and end and start.lower() == "no" and end.lower().startswith("specified"):
        start = end = None  # Ovid writes "No Pagination Specified" as SP "No", EP "Specified"
    elif start and _NO_PAGES.match(start):
        start = end = None

    links = [v for name in ("UR", "L1", "L2", "L3", "LK") for v in tags.get(name, ())]
    notes = [v for name in ("N1", "M1", "M3", "C2", "AN") for v in tags.get(name, ())]

    doi = normalise_doi(_first(tags, "DO", "DI"))
    if doi is None:
        for text in links + [v for v in tags.get("M3", ())] + [v for v in tags.get("N1", ())]:
            if "doi" in text.lower() or text.strip().startswith("10."):
                doi = normalise_doi(text)
                if doi:
                    break

    pmid = None
    database = " ".join(tags.get("DB", []) + tags.get("DP", [])).lower()
    accession = _first(tags, "AN")
    from_medline = any(k in database for k in ("medline", "pubmed", "nlm")) or any(
        _OVID_MEDLINE.search(link) for link in links
    )
    if accession and from_medline and accession.strip().isdigit():
        pmid = accession.strip()
    if pmid is None:
        for link in links:
            match = _PUBMED_LINK.search(link)
            if match:
                pmid = match.group(1)
                break
    if pmid is None:
        for note in notes:
            match = _PMID_NOTE.search(note)
            if match:
                pmid = match.group(1)
                break

    issn = isbn = None
    for sn in tags.get("SN", ()):
        value = sn.strip()
        if not value:
            continue
        if is_book or (_ISBN.match(value) and len(re.sub(r"\D", "", value)) >= 10):
            isbn = isbn or value
        else:
            issn = issn or value

    # a PubMed link is how RIS carries a PMID (our writer puts it there); it is not the URL
    url = next((link.strip() for link in tags.get("UR", ())
                if link.strip() and not _PUBMED_LINK.search(link)), None)
    return {
        "doc_type": ty or None,
        "title": title,
        "abstract": _joined(tags, "AB", "N2"),
        "authors": authors,
        "year": _first(tags, "PY", "Y1", "DA", "Y2"),
        "journal": journal,
        "volume": _first(tags, "VL"),
        "issue": _first(tags, "IS", "CP"),
        "start_page": start,
        "end_page": end,
        "doi": doi,
        "pmid": normalise_pmid(pmid),
        "issn": issn,
        "isbn": isbn,
        "publisher": _first(tags, "PB"),
        "keywords": [k for k in tags.get("KW", ())],
        "language": _first(tags, "LA"),
        "url": url,
        "source_id": _first(tags, "ID", "AN", "U1"),
    }


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the records of a RIS stream (any dialect), each with its original text."""
    found = False
    for start, lines in _records(stream, path):
        found = True
        try:
            parsed: list[dict[str, Any]] = _PARSER.parse_lines(iter(lines))
        except Exception as exc:  # rispy raises bare errors on odd input
            raise FormatError(path, f"cannot parse the record: {exc}", "check the RIS export",
                              where=f"line {start}") from exc
        if not parsed:
            raise FormatError(path, "cannot parse the record", "check the RIS export",
                              where=f"line {start}")
        tags: dict[str, list[str]] = {
            k: (v if isinstance(v, list) else [v]) for k, v in parsed[0].items()
        }
        fields = _fields(tags)
        extra = {k: v for k, v in tags.items() if k in {"DB", "DP", "AN", "M3", "N1"} and v}
        yield make_record(fields, raw="".join(lines), line=start, extra={"ris": extra} if extra else None)
    if not found:
        raise FormatError(path, "no RIS records found (no line starts with 'TY  - ')",
                          "check the file is a RIS export, or pass --format")


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    if "-" in pages:
        start, end = pages.split("-", 1)
        return start, end
    return pages, None


def to_ris_entry(record: Record) -> dict[str, Any]:
    """The rispy entry (rispy's default key names) for ``record``."""
    start, end = _pages(record.pages)
    entry: dict[str, Any] = {"type_of_reference": record.doc_type if record.doc_type and
                             len(record.doc_type) <= 6 and record.doc_type.isupper() else "JOUR"}
    optional: dict[str, Any] = {
        "id": record.source_id,
        "title": record.title,
        "authors": record.authors or None,
        "year": str(record.year) if record.year else None,
        "secondary_title": record.journal,
        "volume": record.volume,
        "number": record.issue,
        "start_page": start,
        "end_page": end,
        "doi": record.doi,
        "issn": record.issn or record.isbn,
        "publisher": record.publisher,
        "abstract": record.abstract,
        "keywords": record.keywords or None,
        "language": record.language,
        "urls": [u for u in (record.url,
                             f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/" if record.pmid else None)
                 if u] or None,
    }
    entry.update({k: v for k, v in optional.items() if v})
    return entry


class _Writer(rispy.RisWriter):
    """rispy's writer without the record-number line before each record."""

    def set_header(self, count: int) -> str:
        return ""


def write(records: Iterable[Record], stream: TextIO) -> int:
    """Write ``records`` as RIS, one at a time; return how many were written.

    The PMID goes out as a PubMed link in ``UR`` (RIS has no PMID tag), which :func:`read`
    recognises.
    """
    writer = _Writer()
    count = 0
    for record in records:
        writer.format_lines(stream, [to_ris_entry(record)])
        stream.write("\n")
        count += 1
    return count
