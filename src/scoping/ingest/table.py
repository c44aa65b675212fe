"""Tables: CSV, TSV and semicolon-separated files with a header row, and CSV export.

The delimiter is read off the header line (the most frequent of tab, comma and semicolon
outside quotes; an Excel ``sep=;`` first line is honoured). Column names are matched after
folding case, trimming and treating ``_`` like a space, so ``publication_year``, ``Publication
Year`` and ``publication year `` are the same column. Where several columns can hold a field,
the first non-empty one in the order below wins for each row; the others are kept in
``extra`` under their own column names, as is every column that maps to no field (ASReview's
``label_included``, Rayyan's ``notes``, Scopus's ``Cited by``...). Nothing is dropped.

==========  ===================================================================================
field       columns, in order
==========  ===================================================================================
source_id   source_id, ID / id, record_id, key, EID, openalex_id, then UT, Lens ID, Record ID
title       title, document title (IEEE), item title (Springer), article title, primary title,
            display_name (OpenAlex works CSV)
abstract    abstract, abstract note (Zotero)
authors     authors, author, author names (Embase), author/s (Lens), first_authors (ASReview),
            author full names (Scopus, without the ids), authorships.author.display_name
            (OpenAlex, names separated by ``|``)
year        year, publication year, publication_year, py, then date / publication date
journal     journal, source title (Scopus), journal/book (PubMed), publication title, publication,
            journal title, secondary title, booktitle, primary_location.source.display_name
volume      volume, journal volume (Springer)
issue       issue, number, journal issue (Springer)
pages       pages, else page start / start page / start_page + page end / end page / end_page
doi         doi, item doi (Springer)
pmid        pmid, pubmed id, ids.pmid (OpenAlex)
issn        issn, issns, eissn, primary_location.source.issn_l (OpenAlex)
isbn        isbn, isbns
publisher   publisher
keywords    keywords, keyword, author keywords, index keywords (all of them, merged)
language    language, language of original document (Scopus)
doc_type    doc_type, document type, type, entrytype, publication type, content type, item type,
            reference type, type_of_reference
url         url, link, urls, pdf link
==========  ===================================================================================

Columns named with RIS or Web of Science tags (TI, AU, PY, SO, T2, JO, DO, DI, UR, SP, EP, KW,
DE...) are matched too, after the names above.

Lists in a cell: authors and keywords are split on ``;`` when there is one, read as a list
when the cell is a Python list (ASReview: ``['Marx, Karl', 'Lindgren, Astrid']``), split on
`` and `` (BibTeX-style, bib-dedupe) or ``|`` (OpenAlex); authors are split on commas only
when every part is a family name with initials ("Smith J., Doe A." from Scopus/Embase, "Smith
A, Walter B" from PubMed), or when there are three or more parts of two words or more ("Joseph
Rottman, Erran Carmel, Mary Lacity" from IEEE), never one "Family, Given" name ("Marx, Karl",
"Perez Cachon, Ana Lucia", "Hunter III, Starling David"); keywords are split on commas
outside parentheses (Embase's Emtree terms).
Springer runs author names together ("Andy SmithTom Weber"); they are split where a lower-case
letter meets a capital. Names run together after an initial or a suffix ("Przyklenk
K.Kloner R. A.", "Mentzer R. M. Jr.Lasley R. D.", from EndNote via bib-dedupe) are split
there. Embase puts journal, year, volume, issue
and pages in its ``Source`` cell and the DOI in ``Open URL Link``; they are read from there
when no column holds them.

Cells holding ``NA`` or ``#N/A`` (R's and Excel's missing values) count as empty for the
fields above (they stay in ``extra`` when the column maps to no field). A value a normaliser
rejects (a ``doi`` of ``doi1``, a year of ``unknown``) is kept in ``extra`` under its column
name.

``raw`` is each row's exact original text (all its physical lines, without the final line
end): the stream is read line by line and the csv module is fed those lines, so the text a row
was parsed from is known without re-serialising it. Open the stream with ``newline=""``.

A row with more fields than the header (other than trailing empty ones), fewer fields, or
broken quoting is a :class:`~scoping.errors.FormatError` naming its first line.
"""

from __future__ import annotations

import ast
import csv
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TextIO
from urllib.parse import unquote

from scoping.errors import FormatError
from scoping.records import Record, make_record

__all__ = ["WRITE_COLUMNS", "iter_rows", "read", "read_after_header", "write"]

WRITE_COLUMNS: tuple[str, ...] = (
    "source_id",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "issn",
    "isbn",
    "publisher",
    "keywords",
    "language",
    "doc_type",
    "url",
    "abstract",
)
"""The columns :func:`write` writes, in order."""

_CANDIDATES: dict[str, tuple[str, ...]] = {
    "source_id": (
        "source id",
        "id",
        "record id",
        "key",
        "eid",
        "openalex id",
        "ut",
        "unique wos id",
        "lens id",
    ),
    "title": (
        "title",
        "document title",
        "item title",
        "article title",
        "primary title",
        "ti",
        "t1",
        "display name",
    ),
    "abstract": ("abstract", "abstract note", "ab", "n2"),
    "authors": (
        "authors",
        "author",
        "author names",
        "author/s",
        "author(s)",
        "first authors",
        "au",
        "a1",
        "author full names",
        "authorships.author.display name",
    ),
    "year": (
        "year",
        "publication year",
        "py",
        "year published",
        "pubyear",
        "date",
        "publication date",
        "date published",
        "y1",
        "da",
    ),
    "journal": (
        "journal",
        "source title",
        "journal/book",
        "publication title",
        "publication",
        "publication name",
        "publicationname",
        "journal title",
        "journal name",
        "secondary title",
        "so",
        "t2",
        "jo",
        "jf",
        "booktitle",
        "book title",
        "primary location.source.display name",
    ),
    "volume": ("volume", "journal volume", "vl"),
    "issue": ("issue", "number", "journal issue", "issue number", "is"),
    "pages": ("pages", "page", "page range", "pp"),
    "start_page": ("page start", "start page", "first page", "bp", "sp"),
    "end_page": ("page end", "end page", "last page", "ep"),
    "doi": ("doi", "item doi", "di", "do"),
    "pmid": ("pmid", "pubmed id", "pm", "ids.pmid"),
    "issn": ("issn", "issns", "sn", "eissn", "e-issn", "ei", "primary location.source.issn l"),
    "isbn": ("isbn", "isbns", "bn"),
    "publisher": ("publisher", "pu", "pb"),
    "language": ("language", "language of original document", "la", "lang"),
    "doc_type": (
        "doc type",
        "document type",
        "type",
        "entrytype",
        "publication type",
        "content type",
        "item type",
        "reference type",
        "type of reference",
        "dt",
        "ty",
    ),
    "url": ("url", "link", "urls", "pdf link", "ur"),
}
_MERGED: dict[str, tuple[str, ...]] = {
    "keywords": ("keywords", "keyword", "author keywords", "index keywords", "de", "kw"),
}
_CHECKED = ("doi", "pmid", "year")  # normalisers that can reject a value
_MISSING = frozenset({"NA", "#N/A"})  # R's and Excel's missing values
_TITLE_NAMES = _CANDIDATES["title"]

_KEY_FOLD = re.compile(r"[\s_]+")
_QUOTED = re.compile(r'"[^"]*"')
_SPRINGER_JOIN = re.compile(r"(?<=[a-zß-ÿ])(?=[A-ZÀ-Þ])")
_NAME_PREFIX = frozenset({"Mc", "Mac", "De", "Di", "Da", "Du", "La", "Le", "Van", "Von", "O'"})
# where EndNote runs two names together: after an initial or a suffix, before a capital word
_INITIAL_THEN_NAME = re.compile(r"(?:(?<=\b[A-Z]\.)|(?<=\bJr\.)|(?<=\bSr\.))(?=[A-Z][a-z])")
# "Smith J.", "Doe A", "Walter AB", "Li X.-Y.": a family name then initials (not II, III, IV)
_NAME_INITIALS = re.compile(r"\S.*\s(?!(?:II|III|IV)\b)[A-Z](?:[.-]?\s?-?[A-Z])*\.?")
_SCOPUS_ID = re.compile(r"\s*\(\d+\)\s*$")
_AND = re.compile(r"\s+and\s+")
_LEADING_AND = re.compile(r"^(?:and|&)\s+")
_EMBASE_SOURCE = re.compile(
    r"^(?P<journal>.+?) \((?P<year>\d{4})\)(?: (?P<volume>[^:\s(]+)(?::(?P<issue>[^\s(]+))?)?"
    r"(?: \((?P<pages>[^)]*)\))?"
)
_OPENURL_DOI = re.compile(r"[?&]id=doi:([^&]+)")


def _fold(name: str) -> str:
    return _KEY_FOLD.sub(" ", name.strip().lower())


def _raise_field_limit() -> None:
    limit = sys.maxsize
    while True:  # the C long behind the limit is 32 bits on some platforms
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: the most frequent of tab, semicolon, comma."""
    bare = _QUOTED.sub("", header_line)
    counts = {sep: bare.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=lambda sep: counts[sep])  # ties: tab, then semicolon, then comma
    return best if counts[best] else ","


def iter_rows(
    stream: Iterable[str],
    path: str,
    delimiter: str,
    width: int,
    *,
    first_line: int = 2,
    skipinitialspace: bool = False,
) -> Iterator[tuple[int, str, list[str]]]:
    """Yield ``(first line number, original text, cells)`` of each row after the header.

    Blank lines are skipped. A row wider than ``width`` loses trailing empty cells; any other
    width, and broken quoting, raise :class:`FormatError` naming the row's first line.
    """
    _raise_field_limit()
    pending: list[str] = []

    def lines() -> Iterator[str]:
        for line in stream:
            pending.append(line)
            yield line

    reader = csv.reader(
        lines(),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=skipinitialspace,
        strict=True,
    )
    number = first_line
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem = str(exc)
            if "end of data" in problem or "EOF" in problem:
                problem = "a quoted field is never closed (a '\"' is missing)"
            else:
                problem = f"broken quoting ({problem})"
            raise FormatError(
                path,
                problem,
                "quote fields that hold the delimiter, a quote or a line break, "
                'and double quotes inside them ("")',
                where=f"line {number}",
            ) from exc
        start = number
        number += len(pending)
        raw = "".join(pending)
        pending.clear()
        if not cells:
            continue
        if raw.endswith("\r\n"):
            raw = raw[:-2]
        elif raw.endswith(("\n", "\r")):
            raw = raw[:-1]
        if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
            del cells[width:]
        if len(cells) != width:
            more = "more" if len(cells) > width else "fewer"
            raise FormatError(
                path,
                f"the row has {len(cells)} fields, {more} than the {width} columns of the header",
                "a field holding the delimiter must be quoted; check the row and export again",
                where=f"line {start}",
            )
        yield start, raw, cells


def _split_list_literal(value: str) -> list[str] | None:
    if value.startswith("[") and value.endswith("]"):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
    return None


def split_authors_cell(value: str, *, run_together: bool = False) -> list[str]:
    """The names packed in one cell (see the module docstring for the rules)."""
    value = value.strip()
    if not value:
        return []
    listed = _split_list_literal(value)
    if listed is not None:
        return listed
    if ";" in value:  # "Cui, G.; Lui, H.-K.; and Guo, X.": the last name's "and" goes
        return [_LEADING_AND.sub("", name.strip()) for name in value.split(";") if name.strip()]
    if _AND.search(value):
        return _AND.split(value)
    if "|" in value:  # OpenAlex
        return [name.strip() for name in value.split("|") if name.strip()]
    if run_together:
        parts: list[str] = []
        for piece in _SPRINGER_JOIN.split(value):
            if parts and parts[-1].rsplit(" ", 1)[-1] in _NAME_PREFIX:
                parts[-1] += piece
            else:
                parts.append(piece)
        return parts
    if "," in value:
        parts = [part.strip() for part in value.split(",")]
        if len(parts) > 1 and all(_NAME_INITIALS.fullmatch(part) for part in parts if part):
            return parts
        if len(parts) > 2 and all(" " in part for part in parts if part):
            return parts  # IEEE: "Joseph Rottman, Erran Carmel, Mary Lacity"
    if _INITIAL_THEN_NAME.search(value):  # EndNote's "Przyklenk K.Kloner R. A."
        return _INITIAL_THEN_NAME.split(value)
    return [value]


def split_keywords_cell(value: str) -> list[str]:
    """The keywords packed in one cell: ``;``-separated, a list, or commas outside brackets."""
    value = value.strip()
    if not value:
        return []
    listed = _split_list_literal(value)
    if listed is not None:
        return listed
    if ";" in value:
        return value.split(";")
    if "," not in value:
        return [value]
    out: list[str] = []
    depth = 0
    begin = 0
    for index, char in enumerate(value):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            out.append(value[begin:index])
            begin = index + 1
    out.append(value[begin:])
    return out


class _Plan:
    """Which columns feed which field, worked out once from the header."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        folded = [_fold(name) for name in header]
        self.extra_names = self._extra_names(header)
        taken: set[int] = set()
        self.single: dict[str, list[int]] = {}
        for field, names in _CANDIDATES.items():
            columns = [i for name in names for i, key in enumerate(folded) if key == name]
            columns = list(dict.fromkeys(columns))
            if columns:
                self.single[field] = columns
                taken.update(columns)
        self.merged: dict[str, list[int]] = {}
        for field, names in _MERGED.items():
            columns = [i for name in names for i, key in enumerate(folded) if key == name]
            if columns:
                self.merged[field] = list(dict.fromkeys(columns))
                taken.update(columns)
        self.unmapped = [i for i in range(len(header)) if i not in taken]
        present = set(folded)
        self.springer = {"item title", "content type"} <= present
        self.pubmed = "journal/book" in present
        self.embase = {"author names", "source"} <= present
        self.embase_link = folded.index("open url link") if "open url link" in present else None
        self.embase_source = folded.index("source") if self.embase else None
        full_names = [i for i, key in enumerate(folded) if key == "author full names"]
        self.scopus_full_names = full_names[0] if full_names else None

    @staticmethod
    def _extra_names(header: list[str]) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        for index, name in enumerate(header):
            name = name or f"column {index + 1}"
            candidate = name
            count = 2
            while candidate in seen:
                candidate = f"{name} ({count})"
                count += 1
            seen.add(candidate)
            names.append(candidate)
        return names

    def record(self, cells: list[str], raw: str, line: int) -> Record:
        fields: dict[str, object] = {}
        extra: dict[str, str] = {}
        names = self.extra_names
        chosen_columns = self._single_fields(cells, fields, extra)
        for field, columns in self.merged.items():
            items: list[str] = []
            for index in columns:
                if cells[index] not in _MISSING:
                    items.extend(split_keywords_cell(cells[index]))
            fields[field] = items
        for index in self.unmapped:
            value = cells[index]
            if value.strip():
                extra[names[index]] = value
        if "pages" in fields:
            for key in ("start_page", "end_page"):
                for index in self.single.get(key, ()):
                    if cells[index].strip():
                        extra[names[index]] = cells[index]
                fields.pop(key, None)
        if self.embase:
            self._embase(fields, cells)
        record = make_record(fields, raw=raw, line=line, extra=extra)
        for field in _CHECKED:  # a value the normaliser rejected ("doi1") stays in extra
            if field in chosen_columns and getattr(record, field) is None:
                index = chosen_columns[field]
                record.extra[names[index]] = cells[index]
        return record

    def _single_fields(
        self, cells: list[str], fields: dict[str, object], extra: dict[str, str]
    ) -> dict[str, int]:
        """Fill ``fields`` from the first column with a value of each single-valued field (the
        other columns' values go to ``extra``); return the column each field was taken from."""
        chosen_columns: dict[str, int] = {}
        for field, columns in self.single.items():
            chosen = None
            for index in columns:
                value = cells[index]
                if not value.strip() or value in _MISSING:
                    continue
                if chosen is None:
                    chosen = index
                else:
                    extra[self.extra_names[index]] = value
            if chosen is not None:
                fields[field] = self._value(field, chosen, cells[chosen])
                chosen_columns[field] = chosen
        return chosen_columns

    def _value(self, field: str, index: int, value: str) -> object:
        if field == "authors":
            if index == self.scopus_full_names:
                return [_SCOPUS_ID.sub("", name) for name in value.split(";")]
            if self.pubmed:
                value = value.rstrip(" .")
            return split_authors_cell(value, run_together=self.springer)
        return value

    def _embase(self, fields: dict[str, object], cells: list[str]) -> None:
        if self.embase_source is not None:
            match = _EMBASE_SOURCE.match(cells[self.embase_source].strip())
            if match:
                for key in ("journal", "year", "volume", "issue", "pages"):
                    if match.group(key) and not fields.get(key):
                        fields[key] = match.group(key)
        if self.embase_link is not None and not fields.get("doi"):
            match = _OPENURL_DOI.search(cells[self.embase_link])
            if match:
                fields["doi"] = unquote(match.group(1))


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the rows of a CSV/TSV file as records, in file order.

    Open the stream with ``newline=""``. ``raw`` is each row's exact original text.
    """
    first = stream.readline()
    if first.startswith("\ufeff"):
        first = first[1:]
    first_line = 2
    delimiter = ""
    match = re.fullmatch(r'"?sep=(.)"?[\r\n]*', first)
    if match:  # Excel's "sep=;" line
        delimiter = match.group(1)
        first = stream.readline()
        first_line = 3
    yield from read_after_header(first, stream, path, first_line=first_line, delimiter=delimiter)


def read_after_header(
    first: str, stream: TextIO, path: str, *, first_line: int = 2, delimiter: str = ""
) -> Iterator[Record]:
    """:func:`read` for a stream whose header line (``first``) was already read."""
    if not first.strip():
        raise FormatError(
            path,
            "the first line is empty, not a header row",
            "the first line must name the columns (title, abstract, ...)",
        )
    header_text = first.rstrip("\r\n")
    delimiter = delimiter or sniff_delimiter(header_text)
    skip_space = (
        delimiter == "," and ", " in header_text and header_text.count(", ") == header_text.count(",")
    )
    _raise_field_limit()
    try:
        header = next(
            csv.reader([header_text], delimiter=delimiter, strict=True, skipinitialspace=skip_space)
        )
    except csv.Error as exc:
        raise FormatError(
            path,
            f"the header row has broken quoting ({exc})",
            "fix the first line of the file",
            where=f"line {first_line - 1}",
        ) from exc
    header = [name.strip() for name in header]
    while len(header) > 1 and not header[-1]:
        header.pop()
    folded = {_fold(name) for name in header}
    if not folded & set(_TITLE_NAMES):
        shown = ", ".join(name or "(empty)" for name in header[:15])
        if len(header) > 15:
            shown += ", ..."
        raise FormatError(
            path,
            f"no title column (columns: {shown})",
            "rename the title column to 'title' or pass --format if this is not a table of records",
        )
    plan = _Plan(header)
    for number, raw, cells in iter_rows(
        stream, path, delimiter, len(header), first_line=first_line, skipinitialspace=skip_space
    ):
        yield plan.record(cells, raw, number)


def _joined(items: list[str], split: Callable[[str], list[str]]) -> str:
    """``items`` joined with "; ", so that ``split`` (a reader's rule) gives them back."""
    text = "; ".join(items)
    if len(items) == 1 and [s.strip() for s in split(text)] != [text.strip()]:
        text += ";"  # one name that the reader would otherwise split on "," or " and "
    return text


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def write(records: Iterable[Record], stream: TextIO, *, extra_fields: Sequence[str] = ()) -> int:
    """Write ``records`` as CSV with :data:`WRITE_COLUMNS`; return how many were written.

    ``extra_fields`` are columns (before :data:`WRITE_COLUMNS`) taken from each record's
    ``extra``; a missing or ``None`` value is an empty cell.
    ``read`` gives back the same normalised fields. Authors and keywords are joined with
    ``"; "`` (a single name that would otherwise split, such as "Health and Social Care",
    gets a trailing ``;``). Open the stream with ``newline=""``; rows end with ``\\n``.
    """
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([*extra_fields, *WRITE_COLUMNS])
    count = 0
    for record in records:
        row: list[str] = [_cell(record.extra.get(name)) for name in extra_fields]
        for column in WRITE_COLUMNS:
            value = getattr(record, column)
            if column == "authors":
                row.append(_joined(value, split_authors_cell))
            elif column == "keywords":
                row.append(_joined(value, split_keywords_cell))
            else:
                row.append("" if value is None else str(value))
        writer.writerow(row)
        count += 1
    return count
