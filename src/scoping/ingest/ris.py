"""RIS: read the dialects databases and reference managers write, and write RIS back out.

Records are cut out of the stream (``TY`` opens one, ``ER`` closes it) so that each keeps its
original text and first line number. Text between records (Ovid's record numbers and link
lines, EndNote headers) is ignored. A record still open at the end of the file means a
truncated export and is an error. Reading is our own chunked scanner rather than rispy's
line-by-line parser, which silently drops a truncated last record, gives no line numbers, and
is several times slower on large files; writing uses rispy.

Where dialects put a field under different tags, the first tag present wins:

==========  ===========================================================
field       tags, in order
==========  ===========================================================
title       TI, T1, CT, BT (books), ST
abstract    AB, N2
authors     AU, A1 (then A2 only when there is no other author tag)
year        PY, Y1, DA (not Y2: many exports put the access date there)
journal     T2, JF, JO, JA, J2, SO (not for whole books, where T2 is the series)
pages       SP + EP ("No Pagination Specified" reads as no pages)
doi         DO, DI, then a doi.org link or a link resolver's ``id=doi:`` in UR / L2 / M3 / N1
pmid        PMID (PsycINFO), AN when the record is from MEDLINE/PubMed (DB, DP or an Ovid link says so),
            a PubMed link, or "PMID: n" in a note
issn/isbn   SN (an ISBN-shaped SN, or any SN of a book, is an ISBN)
doc_type    M3 when it names a document type (Scopus: "Review", "Letter"; our writer for
            types TY cannot say), else TY
keywords    KW, one keyword per line (EndNote/Ovid continue one KW tag over several lines)
==========  ===========================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO
from urllib.parse import unquote

import rispy

from scoping.errors import FormatError, TruncatedFileError
from scoping.records import (
    DOC_TYPES,
    Record,
    make_record,
    normalise_doc_type,
    normalise_doi,
    normalise_pmid,
)

__all__ = ["read", "write"]


# starts with a literal newline so the regex engine can jump from line to line; a tag has two
# characters, but some exports add longer ones (PsycINFO's "PMID  - 33355555" right after TY)
_TAG_SPLIT = re.compile(r"\n([A-Z][A-Z0-9]|PMID)  -(?: |(?=\n)|$)")
_CHUNK = 1 << 20


_READ_TAGS = frozenset(
    [
        "TY",
        "TI",
        "T1",
        "CT",
        "BT",
        "ST",
        "AB",
        "N2",
        "AU",
        "A1",
        "A2",
        "PY",
        "Y1",
        "DA",
        "Y2",
        "T2",
        "JF",
        "JO",
        "JA",
        "J2",
        "SO",
        "VL",
        "IS",
        "CP",
        "SP",
        "EP",
        "DO",
        "DI",
        "UR",
        "L1",
        "L2",
        "L3",
        "LK",
        "M3",
        "C2",
        "AN",
        "DB",
        "DP",
        "SN",
        "PB",
        "KW",
        "LA",
        "ID",
        "U1",
        "PMID",
    ]
)
"""Tags whose continuation lines are joined (the others stay only in the raw text)."""

_LINE_LISTS = frozenset(["KW"])
"""Tags whose continuation lines are further values: EndNote and Ovid write one ``KW`` line
followed by one keyword per line (``KW  - Adolescent`` / ``Adult`` / ``Female``)."""


def _tags(text: str) -> dict[str, list[str]]:
    """Every tag of one record with its values in order; continuation lines join the value above."""
    parts = _TAG_SPLIT.split("\n" + text)
    tags: dict[str, list[str]] = {}
    for i in range(1, len(parts) - 1, 2):
        value = parts[i + 1].strip()
        if "\n" in value and parts[i] in _LINE_LISTS:
            pieces = [piece for piece in (p.strip() for p in value.split("\n")) if piece]
            tags.setdefault(parts[i], []).extend(pieces)
            continue
        if "\n" in value and parts[i] in _READ_TAGS:
            value = " ".join(piece for piece in (p.strip() for p in value.split("\n")) if piece)
        values = tags.get(parts[i])
        if values is None:
            tags[parts[i]] = [value]
        else:
            values.append(value)
    tags.pop("ER", None)
    return tags


def _line_start(text: str, marker: str, start: int = 0) -> int:
    """Index of the first line at or after ``start`` that begins with ``marker``, or -1."""
    if start == 0 and text.startswith(marker):
        return 0
    found = text.find("\n" + marker, max(start - 1, 0))
    return -1 if found == -1 else found + 1


def _records(stream: TextIO, path: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, original text) of each TY..ER block.

    The stream is read in large chunks and cut with string searches (fast on files of hundreds
    of megabytes); text between records is skipped.
    """
    buffer = ""
    line_at_buffer = 1
    first = True
    while True:
        chunk = stream.read(_CHUNK)
        if first:
            chunk = chunk.removeprefix("\ufeff")
            first = False
        buffer += chunk
        pos = 0
        while True:
            end = _line_start(buffer, "ER  -", pos)
            if end == -1:
                break
            end_of_line = buffer.find("\n", end)
            if end_of_line == -1:
                if chunk:
                    break  # the ER line goes on in the next chunk
                end_of_line = len(buffer)
            else:
                end_of_line += 1
            opening = _line_start(buffer, "TY  -", pos)
            if opening == -1 or opening > end:
                where = line_at_buffer + buffer.count("\n", pos, end)
                raise FormatError(
                    path,
                    "an ER line closes a record that was never opened with TY",
                    "check the export is complete RIS",
                    where=f"line {where}",
                )
            start_line = line_at_buffer + buffer.count("\n", pos, opening)
            again = _line_start(buffer, "TY  -", opening + 1)
            if again != -1 and again < end:
                where = start_line + buffer.count("\n", opening, again)
                raise FormatError(
                    path,
                    f"a new record starts before the one from line {start_line} ended (no ER)",
                    "export the records again",
                    where=f"line {where}",
                )
            yield start_line, buffer[opening:end_of_line]
            line_at_buffer = start_line + buffer.count("\n", opening, end_of_line)
            pos = end_of_line
        if pos:
            buffer = buffer[pos:]
        if not chunk:
            break
    opening = _line_start(buffer, "TY  -")
    if opening != -1:
        start_line = line_at_buffer + buffer.count("\n", 0, opening)
        raise TruncatedFileError(
            path,
            f"the file ends inside the record that starts on line {start_line} (no ER line)",
            "the export looks truncated: export the records again, or pass --skip-incomplete "
            "to import the complete records",
            where=f"line {start_line}",
        )


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
_NOT_ISXN = re.compile(r"[^0-9Xx]")
_PUBMED_LINK = re.compile(
    r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/|[?&]id=pmid:)(\d+)", re.I
)
_OVID_MEDLINE = re.compile(r"[?&]D=(?:medl|med\d|prem|mesz|medp)", re.I)
_PMID_NOTE = re.compile(r"\bPMID:?\s*(\d{1,9})\b")
_NO_PAGES = re.compile(r"^\s*no\s*pagination\s*specified\s*$", re.I)
# a DOI inside a link resolver's query string (Ovid, SFX, OpenURL): id=doi:..., rft_id=info:doi/...
_RESOLVER_DOI = re.compile(r"[?&](?:id|rft_id|doi)=(?:doi:|info:doi/|info%3Adoi%2F)?(10\.[^&\s]+)", re.I)
# an M3 that can be a document type: words only ("Review", "Clinical Trial, Phase III"), not
# Ovid's classification codes ("Health & Mental Health Treatment & Prevention [3300]") or a DOI
_TYPE_WORDS = re.compile(r"[A-Za-z][A-Za-z ,;'-]{1,59}")
_M3_TY = frozenset({"JOUR", "GEN", "EJOUR", "MGZN", "NEWS"})


def _link_doi(text: str) -> str | None:
    """The DOI in a link or note: a link resolver's query parameter first (its value ends at the
    next ``&``), else the first DOI-shaped text."""
    if "=" in text:
        match = _RESOLVER_DOI.search(text)
        if match:
            return normalise_doi(unquote(match.group(1)))
    return normalise_doi(text)


def _doc_type(ty: str, tags: dict[str, list[str]]) -> str | None:
    """TY, unless M3 names the document type more exactly (see the module docstring)."""
    kind = _first(tags, "M3")
    if kind and _TYPE_WORDS.fullmatch(kind):
        term = normalise_doc_type(kind)
        if term in DOC_TYPES or ty in _M3_TY or not ty:
            return kind
    return ty or None


def _doi(tags: dict[str, list[str]], links: list[str]) -> str | None:
    """The DOI: its own tag, else the first link or note (M3, N1) that holds one."""
    doi = normalise_doi(_first(tags, "DO", "DI"))
    if doi is None:
        for text in links + [v for v in tags.get("M3", ())] + [v for v in tags.get("N1", ())]:
            if "doi" in text.lower() or text.strip().startswith("10."):
                doi = _link_doi(text)
                if doi:
                    break
    return doi


def _pmid(tags: dict[str, list[str]], links: list[str], notes: list[str]) -> str | None:
    """The PMID: its own tag; else the accession number of a MEDLINE record; else a PubMed
    link; else a note that names it."""
    pmid = _first(tags, "PMID")
    database = " ".join(tags.get("DB", []) + tags.get("DP", [])).lower()
    accession = _first(tags, "AN")
    from_medline = any(k in database for k in ("medline", "pubmed", "nlm")) or any(
        _OVID_MEDLINE.search(link) for link in links if "D=" in link
    )
    if pmid is None and accession and from_medline and accession.strip().isdigit():
        pmid = accession.strip()
    if pmid is None:
        for link in links:
            match = _PUBMED_LINK.search(link) if "pubmed" in link or "pmid" in link else None
            if match:
                return match.group(1)
    if pmid is None:
        for note in notes:
            match = _PMID_NOTE.search(note) if "PMID" in note else None
            if match:
                return match.group(1)
    return pmid


def _issn_isbn(tags: dict[str, list[str]], is_book: bool) -> tuple[str | None, str | None]:
    """The first ISSN and the first ISBN among the SN values (the tag holds either)."""
    issn = isbn = None
    for sn in tags.get("SN", ()):
        value = sn.strip()
        if not value:
            continue
        # an ISSN has 8 characters, an ISBN 10 or 13 (an X may end either)
        length = len(_NOT_ISXN.sub("", re.split(r"[;,(]", value)[0]))
        if length in (10, 13) or (is_book and length != 8):
            isbn = isbn or value
        else:
            issn = issn or value
    return issn, isbn


def _fields(tags: dict[str, list[str]]) -> dict[str, Any]:
    ty = (_first(tags, "TY") or "").upper()
    is_book = ty in _BOOK_TYPES
    title = (
        _joined(tags, "TI", "T1", "CT") or (_joined(tags, "BT") if is_book else None) or _joined(tags, "ST")
    )
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

    doi = _doi(tags, links)
    pmid = _pmid(tags, links, notes)
    issn, isbn = _issn_isbn(tags, is_book)

    # a PubMed link is how RIS carries a PMID (our writer puts it there); it is not the URL
    url = next(
        (link.strip() for link in tags.get("UR", ()) if link.strip() and not _PUBMED_LINK.search(link)), None
    )
    return {
        "doc_type": _doc_type(ty, tags),
        "title": title,
        "abstract": _joined(tags, "AB", "N2"),
        "authors": authors,
        "year": _first(tags, "PY", "Y1", "DA"),
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
    for start, text in _records(stream, path):
        found = True
        tags = _tags(text)
        fields = _fields(tags)
        extra = {k: v for k, v in tags.items() if k in {"DB", "DP", "AN", "M3"} and v}
        yield make_record(fields, raw=text, line=start, extra={"ris": extra} if extra else None)
    if not found:
        raise FormatError(
            path,
            "no RIS records found (no line starts with 'TY  - ')",
            "check the file is a RIS export, or pass --format",
        )


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    if "-" in pages:
        start, end = pages.split("-", 1)
        return start, end
    return pages, None


_RIS_TYPES = {
    "journal article": "JOUR",
    "review": "JOUR",
    "editorial": "JOUR",
    "letter": "JOUR",
    "comment": "JOUR",
    "erratum": "JOUR",
    "book": "BOOK",
    "book chapter": "CHAP",
    "conference paper": "CPAPER",
    "conference abstract": "ABST",
    "proceedings": "CONF",
    "thesis": "THES",
    "report": "RPRT",
    "preprint": "UNPB",
    "web page": "ELEC",
    "dataset": "DATA",
    "serial": "SER",
    "newspaper article": "NEWS",
    "magazine article": "MGZN",
    "government document": "GOVDOC",
    "other": "GEN",
}
"""The RIS type of each term of :data:`scoping.records.DOC_TYPES`."""


def _ris_type(doc_type: str | None, journal: str | None = None) -> str:
    """The TY code for a stored document type (a RIS code kept as given stays; else JOUR, or
    GEN for a record of no known type outside a journal, as BibTeX's ``@misc``)."""
    if not doc_type:
        return "JOUR" if journal else "GEN"
    if doc_type == "book" and journal:
        return "EDBOOK"  # a book in a series: BOOK would drop the series title (T2) on reading
    if doc_type in _RIS_TYPES:
        return _RIS_TYPES[doc_type]
    return doc_type if len(doc_type) <= 6 and doc_type.isupper() else "JOUR"


def to_ris_entry(record: Record) -> dict[str, Any]:
    """The rispy entry (rispy's default key names) for ``record``."""
    start, end = _pages(record.pages)
    ty = _ris_type(record.doc_type, record.journal)
    entry: dict[str, Any] = {"type_of_reference": ty}
    # a type TY cannot say (review, letter, "Clinical Trial, Phase III") goes in M3, Type of
    # Work, as Scopus writes it; read() takes it back from there
    kind = record.doc_type
    if kind and normalise_doc_type(ty) != kind and _TYPE_WORDS.fullmatch(kind):
        entry["type_of_work"] = kind
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
        # RIS has one SN tag for both: a second SN line carries the ISBN when there is an ISSN
        "unknown_tag": {"SN": [record.isbn]} if record.issn and record.isbn else None,
        "publisher": record.publisher,
        "abstract": record.abstract,
        "keywords": record.keywords or None,
        "language": record.language,
        "urls": [
            u
            for u in (record.url, f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/" if record.pmid else None)
            if u
        ]
        or None,
    }
    entry.update({k: v for k, v in optional.items() if v})
    return entry


class _Writer(rispy.RisWriter):
    """rispy's writer without the record-number line before each record."""

    def set_header(self, count: int) -> str:
        return ""


def write(records: Iterable[Record], stream: TextIO, *, extra_fields: Sequence[str] = ()) -> int:
    """Write ``records`` as RIS, one at a time; return how many were written.

    The PMID goes out as a PubMed link in ``UR`` (RIS has no PMID tag), which :func:`read`
    recognises. Each of ``extra_fields`` with a value in the record's ``extra`` is a note,
    ``N1  - name: value`` (reference managers keep notes with the reference).
    """
    writer = _Writer()
    count = 0
    for record in records:
        entry = to_ris_entry(record)
        notes = [
            f"{name}: {record.extra[name]}" for name in extra_fields if record.extra.get(name) is not None
        ]
        if notes:
            entry["notes"] = notes
        writer.format_lines(stream, [entry])
        stream.write("\n")
        count += 1
    return count
