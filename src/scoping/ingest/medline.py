"""MEDLINE/PubMed text (``.nbib``, ``.txt``): PubMed's "MEDLINE" format and exports that copy it.

A record is a block of tagged lines: a tag of up to four characters padded to four, ``"- "`` and
the value (``PMID- 12345``, ``TI  - A title``); values wrap onto continuation lines that start
with six spaces. Records are separated by blank lines. ERIC's .nbib exports use the same layout
with a few longer tags (``ISSN - ``) and no PMID.

The reader cuts records out of the stream in large blocks (never the whole file at once) and
parses each one with a regular expression, so every record keeps its original text and first
line number. Bio.Medline parses the same layout, but it keeps neither the text nor the line
numbers and reads ERIC's five-letter tags wrongly, so it is not used here.

Field mapping (first tag present wins):

=========  ================================================================================
field      tags
=========  ================================================================================
title      TI, then BTI (books)
authors    FAU (with CN group authors in file order), else AU (with CN)
year       DP
journal    JT, then TA
pages      PG (``296-302``; ``616-7`` becomes ``616-617``)
doi        an LID/AID value marked ``[doi]`` (or an unmarked doi.org link), then ``doi:`` in SO
issn       the first IS value (``1467-5463 (Print)`` reads as ``1467-5463``), then ERIC's ISSN
isbn       ISBN (books); publisher: PB
url        an unmarked http(s) link in LID/AID that is not a DOI (ERIC's record page)
doc_type   the first PT
keywords   OT, then the MH descriptors (the ``*`` major-topic marks and MH ``/qualifiers`` dropped,
           as PubMed XML gives them)
source_id  PMID, then AN, then OID (ERIC's ``EJ...``/``ED...`` number)
extra      ``pmcid`` from PMC
=========  ================================================================================

Errors: a line that is neither a tag line, a continuation line nor blank is reported with its
line number. The last record of a file is checked for the tag that closes a complete record
(``SO`` in every PubMed record; otherwise the tag every earlier record of the file ended with):
a record cut short means a truncated download and is an error, not a shorter import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TextIO

from scoping.errors import FormatError, TruncatedFileError
from scoping.records import Record, make_record, normalise_doi

__all__ = ["read"]

_CHUNK = 1 << 18
# one field: the tag line and its continuation lines (which start with white space)
_FIELD = re.compile(r"([A-Z][A-Z0-9]{1,4}) *+- ?+([^\n]*+)((?:\n[ \t]++[^\n]*+)*+)(?:\n|\Z)")
# between records: one or more blank lines, or none before a new PMID line
_SEPARATOR = re.compile(r"\n(?:[ \t]*\n)+|\n(?=PMID- )")
_SEPARATOR_LONGEST = len("\nPMID- ")  # the longest text a separator needs to be recognised
_LEADING_BLANKS = re.compile(r"(?:[ \t]*\n)+")
_TRAILING_BLANKS = re.compile(r"\n[ \t\n]*\Z")
_ID_MARK = re.compile(r"\s*\[([a-z-]+)\]\s*$")
_ISSN = re.compile(r"\b(\d{4}-?\d{3}[\dXx])\b")
_SO_DOI = re.compile(r"\bdoi:\s*(10\.\S+)", re.I)

_CLOSING_TAG_PUBMED = "SO"


def _blocks(stream: TextIO) -> Iterator[tuple[int, str]]:
    """Yield ``(first line number, text)`` of each record of the stream, in file order."""
    buffer = ""
    line = 1  # line number of buffer[0]
    scan = 0  # where the search for the next separator resumes in buffer
    first = True
    while True:
        chunk = stream.read(_CHUNK)
        if first and chunk.startswith("\ufeff"):
            chunk = chunk[1:]
        first = False
        if not chunk:
            break
        buffer += chunk
        start = 0
        for match in _SEPARATOR.finditer(buffer, scan):
            if match.end() == len(buffer):
                scan = match.start()  # the next chunk may continue this run of blank lines
                break
            block = buffer[start : match.start() + 1]
            if block.strip():
                yield _trimmed(line, block)
            line += buffer.count("\n", start, match.end())
            start = match.end()
        else:
            scan = max(len(buffer) - _SEPARATOR_LONGEST, start)
        buffer = buffer[start:]
        scan -= start
    if buffer.strip():
        trailing = _TRAILING_BLANKS.search(buffer)
        if trailing:
            buffer = buffer[: trailing.start() + 1]
        yield _trimmed(line, buffer)


def _trimmed(line: int, block: str) -> tuple[int, str]:
    blanks = _LEADING_BLANKS.match(block)
    if blanks:
        line += block.count("\n", 0, blanks.end())
        block = block[blanks.end() :]
    return line, block


def _parse_block(block: str, path: str, line: int) -> list[tuple[str, str]]:
    """The ``(tag, value)`` pairs of one record, in file order."""
    fields: list[tuple[str, str]] = []
    pos = 0
    for m in _FIELD.finditer(block):
        if m.start() != pos:
            break
        tag, value, more = m.group(1, 2, 3)
        if more:  # continuation lines: PubMed indents them by six spaces, others may not
            joined = more.replace("\n      ", " ")
            if "\n" in joined:
                joined = " ".join(part.strip() for part in more.split("\n"))
            value += joined
        fields.append((tag, value.strip()))
        pos = m.end()
    if pos < len(block):
        _not_a_field(block, pos, path, line)
    return fields


def _not_a_field(block: str, pos: int, path: str, line: int) -> None:
    where = line + block.count("\n", 0, pos)
    end = block.find("\n", pos)
    bad = block[pos : end if end >= 0 else len(block)]
    if bad[:1].isspace():
        problem = "a continuation line (starting with spaces) comes before any tag"
    else:
        shown = bad if len(bad) <= 40 else bad[:37] + "..."
        problem = f"a line that is not a MEDLINE tag line ({shown!r})"
    raise FormatError(
        path, problem, "check the file is a complete PubMed/MEDLINE export", where=f"line {where}"
    )


def _issn(value: str | None) -> str | None:
    if not value:
        return None
    match = _ISSN.search(value)
    return match.group(1) if match else value


def _doi_and_url(ids: list[str], source: str | None) -> tuple[str | None, str | None]:
    doi = url = None
    for value in ids:
        mark = _ID_MARK.search(value)
        kind = mark.group(1) if mark else None
        text = value[: mark.start()] if mark else value
        if kind == "doi":
            doi = doi or normalise_doi(text)
        elif kind is None:
            found = normalise_doi(text) if ("doi" in text.lower() or text.startswith("10.")) else None
            if found:
                doi = doi or found
            elif text.startswith(("http://", "https://")):
                url = url or text
    if doi is None and source:
        match = _SO_DOI.search(source)
        if match:
            doi = normalise_doi(match.group(1))
    return doi, url


def _mesh_descriptor(value: str) -> str:
    return value.split("/", 1)[0].replace("*", "").strip()


def _to_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    tags: dict[str, list[str]] = {}
    with_fau: list[str] = []
    with_au: list[str] = []
    for tag, value in pairs:
        tags.setdefault(tag, []).append(value)
        if tag == "FAU":
            with_fau.append(value)
        elif tag == "AU":
            with_au.append(value)
        elif tag == "CN":
            with_fau.append(value)
            with_au.append(value)

    def first(*names: str) -> str | None:
        for name in names:
            for value in tags.get(name, ()):
                if value:
                    return value
        return None

    authors = with_fau if "FAU" in tags else with_au
    keywords = [v.lstrip("*").strip() for v in tags.get("OT", ())]
    keywords.extend(_mesh_descriptor(v) for v in tags.get("MH", ()))
    source = first("SO")
    doi, url = _doi_and_url(tags.get("LID", []) + tags.get("AID", []), source)
    fields: dict[str, Any] = {
        "title": first("TI", "BTI"),
        "abstract": first("AB"),
        "authors": authors,
        "year": first("DP"),
        "journal": first("JT", "TA"),
        "volume": first("VI"),
        "issue": first("IP"),
        "pages": first("PG"),
        "doi": doi,
        "pmid": first("PMID"),
        "issn": _issn(first("IS", "ISSN")),
        "isbn": first("ISBN"),
        "publisher": first("PB"),
        "keywords": keywords,
        "language": first("LA"),
        "doc_type": first("PT"),
        "url": url,
        "source_id": first("PMID", "AN", "OID"),
    }
    pmc = first("PMC")
    if pmc:
        fields["pmcid"] = pmc
    return fields


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the records of a MEDLINE/PubMed text stream, each with its original text."""
    pending: tuple[int, str, list[tuple[str, str]]] | None = None
    closing: str | None = None  # the tag all earlier records ended with ("" once they differ)
    for line, block in _blocks(stream):
        pairs = _parse_block(block, path, line)
        if pending is not None:
            last = pending[2][-1][0]
            closing = last if closing in (None, last) else ""
            yield _record(pending)
        pending = (line, block, pairs)
    if pending is None:
        raise FormatError(
            path,
            "no MEDLINE records found (no lines like 'PMID- ' or 'TI  - ')",
            "check the file is a PubMed/MEDLINE export, or pass --format",
        )
    _check_complete(pending, closing, path)
    yield _record(pending)


def _record(item: tuple[int, str, list[tuple[str, str]]]) -> Record:
    line, block, pairs = item
    return make_record(_to_fields(pairs), raw=block, line=line)


def _check_complete(item: tuple[int, str, list[tuple[str, str]]], closing: str | None, path: str) -> None:
    """Raise if the last record of the file was cut short."""
    line, block, pairs = item
    tags = {tag for tag, _value in pairs}
    expected = None
    if "PMID" in tags and _CLOSING_TAG_PUBMED not in tags:
        expected = _CLOSING_TAG_PUBMED
    elif closing and closing not in tags:
        expected = closing  # only set when earlier records all ended with this tag
    if expected is not None:
        last_line = line + block.rstrip("\n").count("\n")
        raise TruncatedFileError(
            path,
            f"the last record (from line {line}) stops before its {expected} line",
            "the file looks truncated: export the records again, or pass --skip-incomplete "
            "to import the complete records",
            where=f"line {last_line}",
        )
