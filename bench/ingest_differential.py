"""Our readers against reference parsers written by others, field by field, on real exports.

For every real export file in tests/data (and in ../shared/data when it is there), each
record's fields as our reader gives them are compared with what a reference parser gives:

=============  ======================================================================
format         reference
=============  ======================================================================
RIS            rispy (``rispy.load``, its default tag names)
MEDLINE        Bio.Medline (``Bio.Medline.parse``)
PubMed XML     Bio.Entrez (``Bio.Entrez.read``)
BibTeX         bibtexparser 1 (``convert_to_unicode``, common month strings)
CSV            pandas (``read_csv``, every cell a string), columns picked by name
=============  ======================================================================

Records are paired in file order. Fields compared (when either side has a value): title,
abstract, authors, year, journal, volume, issue, pages, doi, pmid, keywords, language and
doc_type, both sides put through the same light canonical form first (letters and digits
only, case folded, for text; the year's four digits; a DOI without resolver prefix; pages as
start-end, a short end page filled out; languages by their first two letters; document types
through our vocabulary), so that what is compared is what each parser read, not how it is
spelled. Each difference is judged by :func:`judge` as *ours wrong*, *reference wrong* or
*ambiguous*, with the reason.

    python bench/ingest_differential.py [--limit N] [--list] [--only FORMAT]

prints one table (files, records, fields compared, differences by verdict) per format, and
with ``--list`` every difference. To measure the code before a change, run it with that
code first on the path, e.g. ``PYTHONPATH=/tmp/before/src python bench/ingest_differential.py``.
The tests (tests/test_ingest_differential.py) use the same comparison and hold the table of
every known difference.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import os
import re
import sys
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TESTS_DATA = REPO / "tests" / "data"

FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "keywords",
    "language",
    "doc_type",
)
FORMATS = ("ris", "medline", "pubmed-xml", "bibtex", "csv")
VERDICTS = ("ours wrong", "reference wrong", "ambiguous")


def shared_data_dir() -> Path | None:
    """../shared/data beside the repository (or $SCOPING_SHARED_DATA), if present."""
    env = os.environ.get("SCOPING_SHARED_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if candidate.is_dir():
            return candidate
    return None


# -- canonical forms ----------------------------------------------------------------------------

_NOT_ALNUM = re.compile(r"[\W_]+")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def canon_text(value: Any) -> str:
    """Letters and digits only, case folded, accents kept (markup and entities dropped)."""
    if value is None:
        return ""
    text = " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    for _ in range(3):  # entities escaped twice (OpenAlex abstracts: "&amp;lt;") on either side
        if "&" not in text or html.unescape(text) == text:
            break
        text = html.unescape(text)
    text = _TAG.sub(" ", text)
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFC", text).casefold())


def canon_year(value: Any) -> str:
    match = re.search(r"(?<!\d)(1\d{3}|2\d{3})(?!\d)", str(value or ""))
    return match.group(1) if match else ""


def canon_doi(value: Any) -> str:
    """The DOI-shaped part (``10.nnnn/...``), lower case; "" when there is none ("doi1")."""
    match = re.search(r"10\.\d{3,9}/\S+", unquote(str(value or "")))
    return match.group(0).lower().rstrip(".") if match else ""


def canon_pages(value: Any) -> str:
    text = re.sub(r"\s+", "", str(value or "")).replace("--", "-").replace("–", "-")
    start, _, end = text.partition("-")
    if start.isdigit() and end.isdigit() and len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    if end == start:
        end = ""
    return f"{start}-{end}" if end else start


def canon_language(value: Any) -> str:
    from scoping.records import normalise_language

    return (normalise_language(value) or "").casefold()


def canon_doc_type(value: Any) -> str:
    from scoping.records import normalise_doc_type

    return (normalise_doc_type(value) or "").casefold()


def canon_list(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(text for text in (canon_text(v) for v in values) if text)


CANON: dict[str, Callable[[Any], Any]] = {
    "title": canon_text,
    "abstract": canon_text,
    "journal": canon_text,
    "volume": canon_text,
    "issue": canon_text,
    "year": canon_year,
    "doi": canon_doi,
    "pages": canon_pages,
    "pmid": lambda v: (re.findall(r"\d+", str(v or "")) or [""])[-1].lstrip("0"),
    "language": canon_language,
    "doc_type": canon_doc_type,
    "authors": canon_list,
    "keywords": lambda v: tuple(sorted(set(canon_list(v)))),
}


# -- the files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    path: Path
    name: str  # "tests/data/..." or "shared/..."
    format: str


def _has_title_column(path: Path) -> bool:
    with path.open("rb") as stream:
        head = stream.read(64 * 1024)
    first = head.decode("utf-8", errors="replace").split("\n", 1)[0].lower()
    return any(name.replace(" ", sep) in first for name in _CSV_COLUMNS["title"] for sep in (" ", "_"))


def discover(roots: Iterable[tuple[str, Path]]) -> list[Source]:
    """Every file under the roots whose detected format has a reference parser."""
    from scoping.errors import ScopingError
    from scoping.ingest import inspect_file

    found: list[Source] = []
    for label, root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.suffix.lower() in {".zip", ".json", ".toml", ".md", ".xlsx", ".gz", ".py", ".svg"}:
                continue
            try:
                info = inspect_file(path, whole=False)
            except ScopingError:
                continue
            if info.format == "csv" and not _has_title_column(path):
                continue  # a table of labels or ids, not of records
            if info.format in FORMATS:
                found.append(Source(path, f"{label}/{path.relative_to(root).as_posix()}", info.format))
    return found


# -- our side and the reference side -------------------------------------------------------------


def ours(source: Source) -> list[dict[str, Any]]:
    """Our reader's records (as field dicts); raises the reader's error."""
    from scoping.ingest import inspect_file, iter_records

    info = inspect_file(source.path, fmt=source.format, whole=False)
    return [
        {name: getattr(record, name) for name in FIELDS} | {"_raw": record.raw, "_key": record.source_id}
        for record in iter_records(info)
    ]


def _first(entry: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = next((v for v in value if v), None)
        if value not in (None, ""):
            return value
    return None


def _text(path: Path) -> str:
    """The file's text as a text-mode ``open`` gives it (line ends as ``\\n``)."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def reference_ris(path: Path) -> list[dict[str, Any]]:
    import rispy

    out = []
    for e in rispy.loads(_text(path)):
        ty = (e.get("type_of_reference") or "").strip()
        authors = list(e.get("authors") or []) + list(e.get("first_authors") or [])
        out.append(
            {
                "title": _first(e, "title", "primary_title", "short_title"),
                "abstract": _first(e, "abstract", "notes_abstract"),
                "authors": authors or list(e.get("secondary_authors") or []),
                "year": _first(e, "year", "publication_year", "date"),
                "journal": None
                if ty == "BOOK"
                else _first(
                    e,
                    "secondary_title",
                    "alternate_title3",
                    "journal_name",
                    "alternate_title2",
                    "alternate_title1",
                ),
                "volume": _first(e, "volume"),
                "issue": _first(e, "number"),
                "pages": "-".join(p for p in (_first(e, "start_page"), _first(e, "end_page")) if p) or None,
                "doi": _first(e, "doi"),
                "keywords": list(e.get("keywords") or []),
                "language": _first(e, "language"),
                "doc_type": ty or None,
            }
        )
    return out


def reference_medline(path: Path) -> list[dict[str, Any]]:
    from Bio import Medline

    out = []
    with io.StringIO(_text(path)) as handle:
        for r in Medline.parse(handle):
            ids = list(r.get("LID", [])) if isinstance(r.get("LID"), list) else [r.get("LID", "")]
            ids += list(r.get("AID", []))
            marked = (re.fullmatch(r"(\S+) \[doi\]", i.strip()) for i in ids if i)
            doi = next((m.group(1) for m in marked if m), None)
            out.append(
                {
                    "title": _first(r, "TI", "BTI"),
                    "abstract": _first(r, "AB"),
                    "authors": list(r.get("FAU") or r.get("AU") or []),
                    "year": _first(r, "DP"),
                    "journal": _first(r, "JT", "TA"),
                    "volume": _first(r, "VI"),
                    "issue": _first(r, "IP"),
                    "pages": _first(r, "PG"),
                    "doi": doi,
                    "pmid": _first(r, "PMID"),
                    "keywords": list(r.get("OT") or [])
                    + [m.split("/")[0].strip("*") for m in r.get("MH") or []],
                    "language": _first(r, "LA"),
                    "doc_type": _first(r, "PT"),
                }
            )
    return out


def reference_pubmed_xml(path: Path) -> list[dict[str, Any]]:
    from Bio import Entrez

    with path.open("rb") as handle:
        data = Entrez.read(handle)
    out = []
    for article in data.get("PubmedArticle", []):
        citation = article["MedlineCitation"]
        art = citation["Article"]
        journal = art.get("Journal", {})
        issue = journal.get("JournalIssue", {})
        date = issue.get("PubDate", {})
        authors = []
        for author in art.get("AuthorList", []):
            if "CollectiveName" in author:
                authors.append(str(author["CollectiveName"]))
            else:
                given = author.get("ForeName") or author.get("Initials") or ""
                authors.append(", ".join(p for p in (str(author.get("LastName", "")), str(given)) if p))
        doi = next((str(e) for e in art.get("ELocationID", []) if e.attributes.get("EIdType") == "doi"), None)
        if doi is None:
            ids = article.get("PubmedData", {}).get("ArticleIdList", [])
            doi = next((str(i) for i in ids if i.attributes.get("IdType") == "doi"), None)
        abstract = art.get("Abstract", {}).get("AbstractText", [])
        parts = [
            (f"{t.attributes['Label']}: " if getattr(t, "attributes", {}).get("Label") else "") + str(t)
            for t in abstract
        ]
        keywords = [str(k) for group in citation.get("KeywordList", []) for k in group]
        keywords += [str(h["DescriptorName"]) for h in citation.get("MeshHeadingList", [])]
        out.append(
            {
                "title": str(art.get("ArticleTitle", "")) or None,
                "abstract": " ".join(parts) or None,
                "authors": authors,
                "year": date.get("Year") or date.get("MedlineDate"),
                "journal": journal.get("Title"),
                "volume": issue.get("Volume"),
                "issue": issue.get("Issue"),
                "pages": art.get("Pagination", {}).get("MedlinePgn"),
                "doi": doi,
                "pmid": str(citation.get("PMID", "")) or None,
                "keywords": keywords,
                "language": next(iter(art.get("Language", [])), None),
                "doc_type": next(iter(art.get("PublicationTypeList", [])), None),
            }
        )
    return out


def reference_bibtex(path: Path) -> list[dict[str, Any]]:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser
    from bibtexparser.customization import convert_to_unicode

    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    parser.customization = convert_to_unicode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries = bibtexparser.loads(_text(path), parser).entries

    def keywords(entry: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for name in ("keywords", "keyword", "author_keywords"):
            value = entry.get(name)
            if value:
                found.extend(value.split(";") if ";" in value else value.split(","))
        return found

    return [
        {
            "title": e.get("title"),
            "abstract": e.get("abstract"),
            "authors": [
                a for a in re.split(r"\s+and\s+", e.get("author", "")) if a and a.lower() != "others"
            ],
            "year": e.get("year") or e.get("date"),
            "journal": e.get("journal") or e.get("journaltitle") or e.get("booktitle"),
            "volume": e.get("volume"),
            "issue": e.get("number") or e.get("issue"),
            "pages": e.get("pages"),
            "doi": e.get("doi"),
            "pmid": e.get("pmid"),
            "keywords": keywords(e),
            "language": e.get("language") or e.get("langid"),
            "doc_type": e.get("ENTRYTYPE"),
            "_key": e.get("ID"),
        }
        for e in entries
    ]


_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    # an independent, short list of the usual column names (not our reader's table)
    "title": ("title", "document title", "item title", "article title", "primary title", "display name"),
    "abstract": ("abstract",),
    "authors": ("authors", "author", "author names", "author/s", "first authors"),
    "year": ("year", "publication year", "py"),
    "journal": ("journal", "source title", "journal/book", "publication title"),
    "volume": ("volume", "journal volume"),
    "issue": ("issue", "number", "journal issue"),
    "pages": ("pages",),
    "doi": ("doi", "item doi"),
    "pmid": ("pmid", "pubmed id"),
    "keywords": ("keywords", "author keywords", "index keywords"),
    "language": ("language",),
    "doc_type": ("document type", "type", "entrytype", "publication type", "content type"),
}


def reference_csv(path: Path) -> list[dict[str, Any]]:
    import pandas as pd

    text = _text(path)
    first = text.split("\n", 1)[0]
    if re.fullmatch(r'"?sep=(.)"?\r?', first):
        text = text.split("\n", 1)[1]
        first = text.split("\n", 1)[0]
    counts = {sep: re.sub(r'"[^"]*"', "", first).count(sep) for sep in ("\t", ";", ",")}
    sep = max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True)
    folded = {re.sub(r"[\s_]+", " ", str(c).strip().lower()): c for c in frame.columns}
    columns = {field: [folded[n] for n in names if n in folded] for field, names in _CSV_COLUMNS.items()}
    out = []
    for row in frame.to_dict("records"):
        entry: dict[str, Any] = {}
        for field, names in columns.items():
            value = next(
                (row[n] for n in names if str(row[n]).strip() and row[n] not in ("NA", "#N/A")), None
            )
            entry[field] = value
        if len(columns["keywords"]) > 1:  # every keyword column, as one list
            cells = [
                row[n] for n in columns["keywords"] if str(row[n]).strip() and row[n] not in ("NA", "#N/A")
            ]
            entry["keywords"] = "; ".join(cells) or None
        entry["_columns"] = {field for field, names in columns.items() if names}
        out.append(entry)
    return out


REFERENCES: dict[str, Callable[[Path], list[dict[str, Any]]]] = {
    "ris": reference_ris,
    "medline": reference_medline,
    "pubmed-xml": reference_pubmed_xml,
    "bibtex": reference_bibtex,
    "csv": reference_csv,
}


# -- comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    file: str
    format: str
    record: int  # 0-based, in file order; -1 for the file as a whole
    field: str
    ours: Any
    reference: Any
    verdict: str = ""
    reason: str = ""


def _csv_fields(mine: dict[str, Any], theirs: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """CSV cells hold packed lists: authors are compared as the letters of the whole cell
    (the split is the reader's judgement, see the fault tests), keywords as a set when the
    cell uses ";" (commas are ambiguous)."""
    if "authors" in theirs["_columns"]:
        cell = theirs["authors"] or ""
        # the names without the separators (";", else "|", else " and "): the letters must agree
        names = (
            cell.split(";")
            if ";" in cell
            else cell.split("|")
            if "|" in cell
            else re.split(r"\s+and\s+", cell)
        )
        yield "authors", canon_text(mine["authors"]), canon_text(names)
    cell = theirs["keywords"]
    if "keywords" in theirs["_columns"] and (cell is None or ";" in cell or "," not in cell):
        yield "keywords", CANON["keywords"](mine["keywords"]), CANON["keywords"]((cell or "").split(";"))


_JOINS = {"csv": "\n", "ris": "\n", "bibtex": "\n\n", "medline": "\n\n"}


def sample(source: Source, limit: int, folder: Path) -> Source:
    """The file cut down to its first ``limit`` records (what comes before the first record,
    such as a CSV header, then each record's original text), when it has more; else itself."""
    from itertools import islice

    from scoping.ingest import inspect_file, iter_records

    if source.format not in _JOINS or source.path.stat().st_size < 64 * 1024:
        return source
    info = inspect_file(source.path, fmt=source.format, whole=False)
    try:
        first = list(islice(iter_records(info), limit + 1))
    except Exception:
        return source
    if len(first) <= limit or first[0].line is None:
        return source
    text = _text(source.path)
    head = "".join(text.splitlines(keepends=True)[: first[0].line - 1])
    body = _JOINS[source.format].join(record.raw.rstrip("\n") for record in first[:limit])
    target = folder / source.name.replace("/", "__")
    target.write_text(head + body + "\n", encoding="utf-8")
    return Source(target, source.name, source.format)


def compare(source: Source) -> tuple[int, int, list[Difference]]:
    """(records compared, field values compared, differences) for one file."""
    mine: list[dict[str, Any]] | str
    theirs: list[dict[str, Any]] | str
    try:
        mine = ours(source)
    except Exception as exc:  # our reader refused the file
        mine = f"error: {exc}"
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            theirs = REFERENCES[source.format](source.path)
    except Exception as exc:
        theirs = f"error: {type(exc).__name__}: {exc}"
    if isinstance(mine, str) and isinstance(theirs, str):
        return 0, 0, []  # refused by both (a malformed file): they agree
    if isinstance(mine, str) or isinstance(theirs, str):
        found = Difference(source.name, source.format, -1, "file", str(mine)[:300], str(theirs)[:300])
        return 0, 0, [judge(found, None)]
    diffs: list[Difference] = []
    if len(mine) != len(theirs):
        diffs.append(Difference(source.name, source.format, -1, "records", len(mine), len(theirs)))
    if source.format == "bibtex":  # paired by citation key (bibtexparser skips entries it cannot read)
        by_key = {entry["_key"]: entry for entry in theirs}
        twice = {key for key, n in Counter(a["_key"] for a in mine).items() if n > 1}
        pairs = [(a, by_key[a["_key"]]) for a in mine if a["_key"] in by_key and a["_key"] not in twice]
    elif len(mine) == len(theirs):
        pairs = list(zip(mine, theirs, strict=True))
    else:
        pairs = []  # records cannot be paired in order: only the count is a difference
    compared = 0
    for index, (a, b) in enumerate(pairs):
        items: list[tuple[str, Any, Any]] = []
        for field in FIELDS:
            if source.format == "csv" and field in ("authors", "keywords"):
                continue
            if field not in b or ("_columns" in b and field not in b["_columns"]):
                continue
            items.append((field, CANON[field](a[field]), CANON[field](b[field])))
        if source.format == "csv":
            items.extend(_csv_fields(a, b))
        for field, x, y in items:
            if not x and not y:
                continue
            if source.format == "csv" and not y:
                continue  # our reader found the value in a column the reference's list lacks
            compared += 1
            if x != y:
                diffs.append(Difference(source.name, source.format, index, field, a.get(field), b.get(field)))
    judged = [judge(d, pairs[d.record][0] if d.record >= 0 else None) for d in diffs]
    return len(pairs), compared, judged


# -- judging ------------------------------------------------------------------------------------


def _has(raw: str, pattern: str) -> bool:
    return re.search(pattern, raw, re.M) is not None


def judge(d: Difference, record: dict[str, Any] | None) -> Difference:
    """The verdict on one difference, with its reason (the rules below, first match)."""
    raw = record["_raw"] if record else ""
    verdict, reason = _rule(d, raw)

    return Difference(d.file, d.format, d.record, d.field, d.ours, d.reference, verdict, reason)


def _rule(d: Difference, raw: str) -> tuple[str, str]:
    f, field, mine, theirs = d.format, d.field, d.ours, d.reference
    if field == "file" and re.search(
        r"ends inside|closes a record that was never opened|stops before its", str(mine)
    ):
        return (
            "reference wrong",
            "a truncated or malformed file (stray ER) accepted silently by the reference",
        )
    if field == "file" and "stray" in str(mine):
        return (
            "ambiguous",
            "a malformed file (stray braces): refused here, read with garbled fields by the reference",
        )
    if field == "file" and "no ER" in str(mine):
        return (
            "ambiguous",
            "a record without its ER line: refused here, split at the next TY by the reference",
        )
    if field == "file":
        if str(theirs).startswith("error"):
            return "reference wrong", "the reference parser fails on the file"
        return "ours wrong", "our reader refuses the file"
    if field == "records":
        return "reference wrong", "the reference drops records (truncated or unparsable entries)"
    if str(theirs).strip().lower() == "nan" or str(theirs).endswith("-nan"):
        return "ambiguous", "the file holds the text 'nan' (a missing value written out by pandas)"
    # -- RIS ----------------------------------------------------------------------------------
    if f == "ris":
        if field == "keywords" and mine and len(mine) == 1 and theirs and len(theirs) > 1:
            return "ours wrong", "EndNote-style KW lines joined into one keyword (fault 1)"
        if field == "doc_type" and isinstance(theirs, str) and "\n" in theirs:
            return "reference wrong", "rispy keeps a non-tag line (PMID  - n) in TY"
        if field == "doc_type" and isinstance(mine, str) and "PMID" in mine:
            return "ours wrong", "a 'PMID  - n' line after TY read into the type (fault 6)"
        if field == "doc_type" and _has(raw, r"^M3  - "):
            return "reference wrong", "rispy does not read the type in M3 (Scopus 'Review', 'Letter')"
        if field == "year" and not theirs and _has(raw, r"^Y2  - ") and not _has(raw, r"^(PY|Y1|DA)  - \S"):
            return "ours wrong", "the access date in Y2 taken as the year (fault 5)"
        if field == "doi" and isinstance(mine, str) and "&" in mine:
            return "ours wrong", "DOI keeps a link resolver's query string (fault 2)"
        if field == "doi" and not theirs and mine:
            return "reference wrong", "rispy reads DO only; the DOI is in a link, a note or DI"
        if field == "doi" and theirs and not mine:
            return "ours wrong", "DOI not read"
        if field == "pages" and theirs and re.search(r"no\s*pagination|^no-specified$", str(theirs), re.I):
            return "reference wrong", "'No Pagination Specified' is not pages"
        if field == "journal" and not theirs and mine and _has(raw, r"^(SO|JO)  - "):
            return "reference wrong", "rispy does not map SO to a journal"
        if field == "title" and not theirs and mine and _has(raw, r"^(CT|BT)  - "):
            return "reference wrong", "rispy does not read CT/BT titles"
        if field == "authors" and theirs and mine and len(theirs) > len(mine):
            return "ambiguous", "rispy reads A1 and AU both; we read one author list"
        if (
            field == "keywords"
            and theirs
            and mine
            and set(CANON["keywords"](mine)) < set(CANON["keywords"](theirs))
        ):
            return "ambiguous", "duplicate or empty keywords dropped"
        if field in ("title", "abstract", "journal") and mine and theirs:
            a, b = canon_text(mine), canon_text(theirs)
            if a.startswith(b) or b.startswith(a) or a in b or b in a:
                return "ambiguous", "a repeated tag or continuation lines joined differently"
    if f == "medline" and field == "authors" and mine and theirs and len(mine) > len(theirs):
        return "reference wrong", "group authors (CN) are authors too; the reference helper reads FAU/AU only"
    if f == "medline" and field == "doi" and mine and not theirs:
        return (
            "reference wrong",
            "the DOI is in an unmarked link (ERIC) or in SO; the reference reads [doi] ids only",
        )
    # -- CSV ----------------------------------------------------------------------------------
    if f == "csv":
        if (
            field == "pages"
            and theirs
            and re.fullmatch(r"\s*no\s*pagination\s*specified\s*", str(theirs), re.I)
        ):
            return "reference wrong", "'No Pagination Specified' is not pages"
        if field == "pages" and mine and theirs and " to " in str(theirs) and "to" not in str(mine):
            return "ours wrong", "'to' inside the text of a pages cell read as a range (fault 7)"
        if field == "doc_type":
            return "ambiguous", "the type column names the type in the source's own words"
        if field == "authors" and theirs and re.search(r";\s*and\s", str(theirs)):
            without = re.sub(r";\s*and\s+", ";", str(theirs))
            if canon_text(without.split(";")) == canon_text(mine):
                return "reference wrong", "the 'and' before the last of ';'-separated names is not part of it"
    # -- BibTeX -------------------------------------------------------------------------------
    if f == "bibtex":
        if field == "pmid" and mine and not theirs:
            return "reference wrong", "the PMID is in the citation key (Europe PMC: PMID:n)"
        if field == "doc_type" and theirs and str(theirs).lower() not in ("article", "misc", "inproceedings"):
            return "ambiguous", "the entry type read through our vocabulary"
        latex = "\\" in str(theirs) or "{" in str(theirs)
        if field in ("title", "abstract", "journal", "authors") and latex:
            return "reference wrong", "bibtexparser's convert_to_unicode leaves LaTeX undecoded"
    # -- everywhere ---------------------------------------------------------------------------
    if field in ("title", "abstract", "authors", "journal", "keywords") and mine and theirs:
        from ftfy import fix_encoding as repair_mojibake

        if repair_mojibake(str(theirs)) != str(theirs) and repair_mojibake(str(mine)) == str(mine):
            return "reference wrong", "the file's mojibake kept by the reference (repaired here with ftfy)"
        if repair_mojibake(str(mine)) != str(mine):
            return "ours wrong", "mojibake kept"
        if "<" in str(theirs):
            return "ambiguous", "inline markup in the source (broken tags) removed differently"
    if field == "year" and mine and theirs and canon_year(theirs) == "":
        return "reference wrong", "the reference's year field holds no year"
    if field == "language":
        return "ambiguous", "language names and codes differ in spelling"
    return "ambiguous", "unclassified"


# -- the table ----------------------------------------------------------------------------------


def run(sources: list[Source], limit: int | None = None) -> dict[str, Any]:
    """Compare every source (each cut to its first ``limit`` records when given)."""
    import tempfile

    per_format: dict[str, Counter[str]] = defaultdict(Counter)
    diffs: list[Difference] = []
    with tempfile.TemporaryDirectory(prefix="differential-") as folder:
        for source in sources:
            _one(sample(source, limit, Path(folder)) if limit else source, per_format, diffs)
    return {"per_format": per_format, "differences": diffs}


def _one(source: Source, per_format: dict[str, Counter[str]], diffs: list[Difference]) -> None:
    records, compared, found = compare(source)
    counter = per_format[source.format]
    counter["files"] += 1
    counter["records"] += records
    counter["fields"] += compared
    for d in found:
        counter[d.verdict] += 1
    diffs.extend(found)


def table(per_format: dict[str, Counter[str]]) -> str:
    head = (
        f"{'format':<11} {'files':>5} {'records':>8} {'fields':>8} "
        f"{'ours wrong':>11} {'ref. wrong':>11} {'ambiguous':>10}"
    )
    lines = [head, "-" * len(head)]
    total: Counter[str] = Counter()
    for fmt in FORMATS:
        c = per_format.get(fmt)
        if not c:
            continue
        total.update(c)
        lines.append(
            f"{fmt:<11} {c['files']:>5} {c['records']:>8} {c['fields']:>8} "
            f"{c['ours wrong']:>11} {c['reference wrong']:>11} {c['ambiguous']:>10}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{'all':<11} {total['files']:>5} {total['records']:>8} {total['fields']:>8} "
        f"{total['ours wrong']:>11} {total['reference wrong']:>11} {total['ambiguous']:>10}"
    )
    return "\n".join(lines)


def roots() -> list[tuple[str, Path]]:
    found = [("tests/data", TESTS_DATA)]
    shared = shared_data_dir()
    if shared is not None:
        found.append(("shared", shared))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="compare the first N records of each file (a sample of large ones)",
    )
    parser.add_argument("--list", action="store_true", help="print every difference")
    parser.add_argument("--only", choices=FORMATS, default=None, help="one format only")
    args = parser.parse_args(argv)
    import scoping

    print(f"scoping from {Path(scoping.__file__).resolve().parent}")
    where = roots()
    if len(where) == 1:
        print("../shared/data is absent (set SCOPING_SHARED_DATA): only tests/data is measured")
    else:
        print(f"files: tests/data and {where[1][1]}")
    started = time.perf_counter()
    sources = [s for s in discover(where) if args.only in (None, s.format)]
    result = run(sources, args.limit)
    print(table(result["per_format"]))
    reasons = Counter((d.format, d.verdict, d.reason) for d in result["differences"])
    print("\nreasons:")
    for (fmt, verdict, reason), n in sorted(reasons.items()):
        print(f"  {n:>5}  {fmt:<10} {verdict:<15} {reason}")
    if args.list:
        print("\ndifferences:")
        for d in result["differences"]:
            print(f"  {d.file} #{d.record} {d.field} [{d.verdict}: {d.reason}]")
            print(f"      ours: {str(d.ours)[:150]!r}")
            print(f"      ref:  {str(d.reference)[:150]!r}")
    print(f"\n{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
