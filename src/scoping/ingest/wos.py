"""Web of Science: plain text (savedrecs.txt, .ciw, .isi) and tab-delimited exports.

Plain text is a header (``FN``, ``VR``), records that open with ``PT`` and close with ``ER``,
and a final ``EF``. Inside a record every line starts with a two-letter tag and a space, or
with three spaces to continue the tag above. Records are cut out of the stream line by line,
so each keeps its original text (``PT`` to ``ER``, line ends included) and its first line
number. A record still open at the end of the file, or a missing ``EF`` after the last
record, means the export was cut short: both are a :class:`~scoping.errors.FormatError`.
Several exports pasted one after the other (``EF`` then ``FN`` again) read as one file.

The tab-delimited export has the same tags as its header row (``PT AU BA ... UT``); fields
are never quoted (a ``"`` is an ordinary character) and rows often end with an extra tab.
It is read as UTF-8 or UTF-16 alike (the stream is already decoded); each record's ``raw``
is its line without the line end. A comma-separated variant (``PT,AU,...``, a tab export
re-saved by a spreadsheet) is read with the csv module instead, and a tab-separated table
without a ``PT`` column (taken for this format because it has an ``AU`` column) is read as a
plain table (:mod:`scoping.ingest.table`).

Both give the same records for the same export:

========  ================================================================
field     tags
========  ================================================================
source_id UT (also kept in ``extra["wos"]["UT"]``)
title     TI
abstract  AB
authors   AF (full names), else AU
year      PY, else the year of EA (early access)
journal   SO
volume    VL
issue     IS
pages     BP-EP (BP alone when EP is "+"), else AR (article number)
doi       DI
pmid      PM
issn      SN, else EI (EI kept in extra when both are given)
isbn      BN
publisher PU
language  LA
doc_type  DT
keywords  DE (author keywords) then ID (Keywords Plus), split on ";"
========  ================================================================

Every other tag goes into ``extra["wos"]`` (``PT``, ``C1``, ``TC``, ``WC``...), white space
collapsed, except the cited references (``CR``), which only stay in ``raw``. Tags with one
value per line in plain text (authors, addresses, cited references) are joined with ``"; "``
there, as in the tab-delimited export.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from typing import TextIO

from scoping.errors import FormatError, TruncatedFileError
from scoping.records import Record, make_record

__all__ = ["read", "read_tab"]

_TAG = re.compile(r"[A-Z][A-Z0-9]\Z")
# tags whose plain-text continuation lines are separate values, not wrapped text
_LINE_LIST_TAGS = frozenset({"AU", "AF", "BA", "BF", "BE", "CA", "GP", "CR", "C1"})
_NOT_KEPT = frozenset({"CR"})
_HINT_AGAIN = "export the records from Web of Science again"


def _fields(tags: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """Map one record's tag values (already joined) to record fields and the extra tags."""
    used = {"TI", "AB", "PY", "SO", "VL", "IS", "DI", "PM", "BN", "PU", "LA", "DT", "DE", "ID"}

    def get(tag: str) -> str | None:
        value = tags.get(tag)
        return value if value else None

    authors = get("AF")
    if authors is not None:
        used.add("AF")
    else:
        authors = get("AU")
        used.add("AU")
    year: str | None = get("PY")
    if year is None and get("EA"):
        year = get("EA")
        used.add("EA")
    start, end = get("BP"), get("EP")
    pages: str | None = None
    if start or end:
        used.add("BP")
        if end != "+":  # "223-+": WoS does not know the last page; EP "+" stays in extra
            used.add("EP")
        else:
            end = None
        pages = f"{start}-{end}" if start and end and start != end else start or end
    elif get("AR"):
        pages = get("AR")
        used.add("AR")
    issn = get("SN")
    used.add("SN")
    if issn is None:
        issn = get("EI")
        used.add("EI")
    keywords: list[str] = []
    for tag in ("DE", "ID"):
        value = get(tag)
        if value:
            keywords.extend(value.split(";"))
    fields: dict[str, object] = {
        "source_id": get("UT"),
        "title": get("TI"),
        "abstract": get("AB"),
        "authors": authors.split(";") if authors else None,
        "year": year,
        "journal": get("SO"),
        "volume": get("VL"),
        "issue": get("IS"),
        "pages": pages,
        "doi": get("DI"),
        "pmid": get("PM"),
        "issn": issn,
        "isbn": get("BN"),
        "publisher": get("PU"),
        "language": get("LA"),
        "doc_type": get("DT"),
        "keywords": keywords,
    }
    extra = {tag: value for tag, value in tags.items() if value and tag not in used and tag not in _NOT_KEPT}
    return fields, extra


def _make(tags: Mapping[str, str], raw: str, line: int) -> Record:
    fields, extra = _fields(tags)
    record = make_record(fields, raw=raw, line=line, extra={"wos": extra} if extra else None)
    for field, tag in (("doi", "DI"), ("pmid", "PM"), ("year", "PY")):
        if tags.get(tag) and getattr(record, field) is None:  # rejected by the normaliser
            record.extra.setdefault("wos", {})[tag] = tags[tag]
    return record


def _join(values: dict[str, list[str]]) -> dict[str, str]:
    """One string per tag, white space collapsed (``"; "`` between one-per-line values)."""
    joined: dict[str, str] = {}
    for tag, parts in values.items():
        if tag not in _LINE_LIST_TAGS:
            joined[tag] = _squash(parts[0] if len(parts) == 1 else " ".join(parts))
            continue
        if tag in _NOT_KEPT:
            continue
        if tag == "C1":  # addresses end with "." in plain text, not in the tab export
            parts = [p[:-1] if p.endswith(".") else p for p in parts]
        joined[tag] = "; ".join(_squash(p) for p in parts if p and not p.isspace())
    return joined


def _squash(text: str) -> str:
    """White space collapsed (most values have none to collapse: only strip them)."""
    if "  " in text or "\t" in text or "\xa0" in text:
        return " ".join(text.split())
    return text.strip()


def _unclosed(path: str, tag: str, start: int, number: int) -> FormatError:
    """The error for a PT or EF line inside the record that starts on line ``start``."""
    if tag == "PT":
        problem = f"a new record starts before the one from line {start} ended (no ER line)"
    else:
        problem = f"the file ends (EF) inside the record that starts on line {start} (no ER line)"
    return FormatError(path, problem, _HINT_AGAIN, where=f"line {number}")


def _between_records(path: str, text: str, number: int) -> str:
    """What a line outside any record is: "PT" (a record opens), "EF" (the file's end), or ""
    (nothing: blank, or the FN and VR header lines); anything else is refused."""
    tag = text[:2]
    if not text.strip() or (tag in ("FN", "VR") and text[2:3] in ("", " ")):
        return ""
    if tag == "PT" and text[2:3] in ("", " "):
        return "PT"
    if tag == "EF" and not text[2:].strip():
        return "EF"
    if tag == "ER" and not text[2:].strip():
        raise FormatError(
            path,
            "an ER line closes a record that was never opened with PT",
            _HINT_AGAIN,
            where=f"line {number}",
        )
    raise FormatError(
        path,
        f"unexpected text between records: {text[:30]!r}",
        "records start with PT and end with ER; export the file again",
        where=f"line {number}",
    )


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the records of a Web of Science plain-text export, in file order."""
    values: dict[str, list[str]] | None = None  # the open record's tags
    lines: list[str] = []  # the open record's lines
    current: list[str] = []  # the values of the tag being read
    start = 0
    records = 0
    ef_after_last = True  # no records yet: nothing to close
    number = 0
    for number, line in enumerate(stream, start=1):
        if number == 1:
            line = line.removeprefix("\ufeff")
        text = line.rstrip("\r\n")
        if values is not None:
            lines.append(line)
            if text.startswith("   "):
                current.append(text[3:])
                continue
            tag = text[:2]
            if text[2:3] in ("", " ") and _TAG.match(tag):
                if tag == "ER":
                    yield _make(_join(values), "".join(lines), start)
                    values = None
                    records += 1
                    ef_after_last = False
                elif tag in ("PT", "EF"):
                    raise _unclosed(path, tag, start, number)
                else:
                    current = values.setdefault(tag, [])
                    current.append(text[3:])
                continue
            if not text.strip():
                continue  # a stray blank line inside a record holds nothing
            raise FormatError(
                path,
                f"line {text[:30]!r} is neither a tagged field (two letters and a space) "
                "nor a continuation (three spaces)",
                "the file was edited or is not Web of Science plain text; export it again",
                where=f"line {number}",
            )
        between = _between_records(path, text, number)
        if between == "PT":
            values = {"PT": [text[3:]]}
            current = values["PT"]
            lines = [line]
            start = number
        elif between == "EF":
            ef_after_last = True
    if values is not None:
        raise TruncatedFileError(
            path,
            f"the file ends inside the record that starts on line {start} (no ER line)",
            "the export is truncated; "
            + _HINT_AGAIN
            + " (or pass --skip-incomplete to import the complete records)",
            where=f"line {start}",
        )
    if records and not ef_after_last:
        raise TruncatedFileError(
            path,
            "no EF line after the last record (the export was cut short?)",
            _HINT_AGAIN,
            where=f"line {number}",
        )


def read_tab(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the records of a Web of Science tab-delimited export, in file order.

    Open the stream with ``newline=""``; ``raw`` is each record's line without its line end.
    """
    first = stream.readline()
    if first.startswith("\ufeff"):
        first = first[1:]
    header_text = first.rstrip("\r\n")
    if "\t" not in header_text and "," in header_text:
        yield from _read_comma(header_text, stream, path)
        return
    header = [name.strip() for name in header_text.split("\t")]
    while header and not header[-1]:
        header.pop()
    if "PT" not in header:  # a tab-separated table of another kind (RIS tags as columns...)
        from scoping.ingest.table import read_after_header

        yield from read_after_header(first, stream, path, delimiter="\t")
        return
    _check_header(header, path)
    width = len(header)
    shape = 0  # the number of cells of the first row: the header's, or one more (a final tab)
    for number, line in enumerate(stream, start=2):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        cells = text.split("\t")
        if not shape and (len(cells) == width or (len(cells) == width + 1 and not cells[-1])):
            shape = len(cells)
        if len(cells) != shape or (shape > width and cells[-1]):
            raise FormatError(
                path,
                f"the row has {len(cells)} tab-separated fields, the header has {width}"
                + (" (and the rows before end with a tab)" if shape > width else ""),
                "a field holds a tab or a line break, or the file was cut; export it again",
                where=f"line {number}",
            )
        del cells[width:]
        yield _make(_collapse(header, cells), text, number)


def _collapse(header: list[str], cells: list[str]) -> dict[str, str]:
    return {tag: _squash(cell) for tag, cell in zip(header, cells, strict=True) if cell}


def _check_header(header: list[str], path: str) -> None:
    if "PT" not in header or ("UT" not in header and "TI" not in header):
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise FormatError(
            path,
            f"the header row is not Web of Science tags (columns: {shown})",
            "pass --format csv if this is another kind of table",
        )


def _read_comma(header_text: str, stream: TextIO, path: str) -> Iterator[Record]:
    """A Web of Science tab export re-saved as CSV (quoted fields, commas)."""
    from scoping.ingest.table import iter_rows  # shared csv machinery

    header_row = next(csv.reader([header_text]))
    header = [name.strip() for name in header_row]
    while header and not header[-1]:
        header.pop()
    _check_header(header, path)
    for number, raw, cells in iter_rows(stream, path, ",", len(header), first_line=2):
        yield _make(_collapse(header, cells), raw, number)
