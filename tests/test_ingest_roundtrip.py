"""Round trips (issue 16): real records from every export file in tests/data, written as RIS,
BibTeX and CSV, read back by our importer and by other tools (rispy, bibtexparser, pandas):
no field the format can carry is lost or changed, document types included."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TextIO

import bibtexparser
import pandas as pd
import pytest
import rispy
from bibtexparser.bparser import BibTexParser
from bibtexparser.customization import convert_to_unicode
from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.errors import ScopingError
from scoping.ingest import bibtex, inspect_file, iter_records, ris, table
from scoping.records import FIELDS, Record, make_record

DATA = Path(__file__).parent / "data"
PER_FILE = 40
_PUBMED = ris._PUBMED_LINK  # the PubMed links RIS reads as a PMID
Reader = Callable[[TextIO, str], Iterator[Record]]


def _corpus() -> list[Record]:
    records: list[Record] = []
    for path in sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix not in {".md", ".json"}):
        try:
            info = inspect_file(path, whole=False)
            records.extend(itertools.islice(iter_records(info), PER_FILE))
        except ScopingError:
            continue  # not an export (API pages, label files) or a deliberately broken one
    return records


CORPUS = _corpus()


def test_the_corpus_is_every_kind_of_record() -> None:
    assert len(CORPUS) > 700
    kinds = {r.doc_type for r in CORPUS}
    assert {"journal article", "review", "book chapter", "conference paper", "editorial"} <= kinds
    assert any("%" in (r.abstract or "") for r in CORPUS)
    assert any("&" in (r.title or "") for r in CORPUS)


def _write(module: ModuleType, records: list[Record]) -> str:
    out = io.StringIO(newline="")
    module.write(records, out)
    return out.getvalue()


def _fields(record: Record, without: frozenset[str] = frozenset()) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS if name not in without}


# -- our importer reads our exports back --------------------------------------------------------

# what a format has no place for, or gives back in its own words
RIS_LOSES = frozenset({"doc_type"})  # checked apart: see test_document_types_round_trip
BIB_LOSES = frozenset({"doc_type", "source_id"})  # a key is made when the id cannot be one
CSV_LOSES: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("module", "reader", "loses"),
    [(ris, ris.read, RIS_LOSES), (bibtex, bibtex.read, BIB_LOSES), (table, table.read, CSV_LOSES)],
    ids=["ris", "bibtex", "csv"],
)
def test_our_exports_read_back_the_same(module: ModuleType, reader: Reader, loses: frozenset[str]) -> None:
    text = _write(module, CORPUS)
    again = list(reader(io.StringIO(text, newline=""), "export"))
    assert len(again) == len(CORPUS)
    for before, after in zip(CORPUS, again, strict=True):
        expected = _fields(before, loses)
        if module is ris and before.pmid is None and before.url and (link := _PUBMED.search(before.url)):
            # RIS has no PMID tag: a PubMed link is how it carries one, and reads as the PMID
            expected.update(pmid=link.group(1), url=None)
        assert _fields(after, loses) == expected, before.raw[:200]


def test_document_types_round_trip() -> None:
    for module, reader in ((ris, ris.read), (bibtex, bibtex.read), (table, table.read)):
        again = list(reader(io.StringIO(_write(module, CORPUS), newline=""), "export"))
        for before, after in zip(CORPUS, again, strict=True):
            if before.doc_type is None:  # RIS and BibTeX must name a type: JOUR/@article or GEN/@misc
                assert after.doc_type in (None, "journal article", "other")
            else:
                assert after.doc_type == before.doc_type, (module.__name__, before.doc_type)


# -- other tools read our exports ----------------------------------------------------------------


def _pages(start: str | None, end: str | None) -> str | None:
    return "-".join(p for p in (start, end) if p) or None


def test_rispy_reads_our_ris() -> None:
    entries = rispy.loads(_write(ris, CORPUS))
    assert len(entries) == len(CORPUS)
    for record, entry in zip(CORPUS, entries, strict=True):
        assert entry.get("title") == record.title
        assert entry.get("authors", []) == record.authors
        assert entry.get("year") == (str(record.year) if record.year else None)
        assert entry.get("doi") == record.doi
        assert entry.get("keywords", []) == record.keywords
        assert entry.get("secondary_title") == record.journal
        assert entry.get("volume") == record.volume
        assert entry.get("number") == record.issue
        assert _pages(entry.get("start_page"), entry.get("end_page")) == record.pages
        assert entry.get("abstract") == record.abstract
        assert entry.get("language") == record.language
        if record.pmid:
            assert f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/" in entry["urls"]
        kind = entry.get("type_of_work") or entry["type_of_reference"]
        if record.doc_type:
            assert make_record({"doc_type": kind}).doc_type == record.doc_type


def _bibtexparser(text: str) -> list[dict[str, str]]:
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    parser.customization = convert_to_unicode
    entries: list[dict[str, str]] = bibtexparser.loads(text, parser).entries
    return entries


def test_bibtexparser_reads_our_bibtex() -> None:
    # every third record (bibtexparser 1.4 takes some 10 s of CPU for the whole corpus), and
    # the first of each kind of record the third left out
    sample = CORPUS[::3]
    kinds = {r.doc_type for r in sample}
    for record in CORPUS:
        if record.doc_type not in kinds:
            sample.append(record)
            kinds.add(record.doc_type)
    assert {r.doc_type for r in sample} == {r.doc_type for r in CORPUS}
    entries = _bibtexparser(_write(bibtex, sample))
    assert len(entries) == len(sample)
    braces = 0
    for record, entry in zip(sample, entries, strict=True):
        text = " ".join(str(v) for v in (record.title, record.abstract, record.journal, *record.authors))
        if "{" in text or "}" in text:  # bibtexparser has no form of an escaped brace
            braces += 1
            continue
        assert entry.get("title") == record.title
        assert entry.get("abstract") == record.abstract
        assert entry.get("journal", entry.get("booktitle")) == record.journal
        names = entry.get("author", "")
        assert ([n.strip("{}") for n in names.split(" and ")] if names else []) == record.authors
        assert entry.get("year") == (str(record.year) if record.year else None)
        assert entry.get("doi") == record.doi
        assert entry.get("volume") == record.volume
        assert entry.get("number") == record.issue
        assert (entry.get("pages") or "").replace("--", "-") == (record.pages or "")
        keywords = [k.strip() for k in entry.get("keywords", "").split(";") if k.strip()]
        assert keywords == record.keywords
        if record.doc_type:
            kind = entry.get("type") or entry["ENTRYTYPE"]
            assert make_record({"doc_type": kind}).doc_type == record.doc_type
    assert braces < len(sample) / 100


def test_pandas_reads_our_csv() -> None:
    frame = pd.read_csv(io.StringIO(_write(table, CORPUS)), dtype=str, keep_default_na=False)
    assert len(frame) == len(CORPUS)
    assert {"title", "authors", "year", "doi", "keywords"} <= set(frame.columns)
    for record, row in zip(CORPUS, frame.to_dict("records"), strict=True):
        for name in ("title", "abstract", "journal", "volume", "issue", "pages", "doi", "pmid", "doc_type"):
            assert row[name] == (getattr(record, name) or ""), name
        assert row["year"] == (str(record.year) if record.year else "")
        assert [a for a in row["authors"].split("; ") if a] == [a.rstrip(";") for a in record.authors] or (
            len(record.authors) == 1 and row["authors"] == record.authors[0] + ";"
        )
        assert [k for k in row["keywords"].split("; ") if k] == record.keywords or (
            len(record.keywords) == 1 and row["keywords"] == record.keywords[0] + ";"
        )


# -- BibTeX's special characters, any text -----------------------------------------------------

_TEXT = st.text(
    alphabet=st.sampled_from([*"ab Zé%&_#$~^\\{}[]\"'@,;=", "ß", "—", "😀"]), min_size=1, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(title=_TEXT, author=_TEXT, keyword=_TEXT.filter(lambda k: ";" not in k))
def test_bibtex_escaping_round_trips_any_text(title: str, author: str, keyword: str) -> None:
    """Any text survives (a keyword cannot hold ";", BibTeX's keyword separator)."""
    record = make_record({"title": title, "authors": [author], "keywords": [keyword], "year": 2020})
    (again,) = bibtex.read(io.StringIO(_write(bibtex, [record])), "x.bib")
    assert again.title == record.title
    assert again.keywords == record.keywords
    assert again.authors == record.authors


# -- the commands: scoping import, then scoping export --------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from scoping.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_import_then_export_every_format(tmp_path: Path) -> None:
    root = tmp_path / "rv"
    assert _run("init", str(root))[0] == 0
    files = [
        DATA / "asreview" / "scopus.ris",
        DATA / "asreview" / "pubmed_endnote.txt",
        DATA / "wosfile" / "wos_plaintext.txt",
        DATA / "ingest-cases" / "openalex_works.csv",
        DATA / "colrev-bib" / "web_of_science_bib.bib",
    ]
    originals: list[Record] = []
    for number, path in enumerate(files):
        code, _out, err = _run("--review", str(root), "import", str(path), "--source", f"db{number}")
        assert code == 0, err
        originals.extend(iter_records(inspect_file(path)))
    for fmt in ("ris", "bib", "csv"):
        target = tmp_path / f"all.{fmt}"
        code, out, err = _run("--review", str(root), "export", "--format", fmt, "--out", str(target))
        assert (code, out) == (0, f"Wrote {len(originals)} records to {target}\n"), err
        again = list(iter_records(inspect_file(target)))
        assert len(again) == len(originals)
        for before, after in zip(originals, again, strict=True):
            for name in (
                "title",
                "authors",
                "year",
                "doi",
                "keywords",
                "abstract",
                "journal",
                "pages",
                "pmid",
            ):
                assert getattr(after, name) == getattr(before, name), (fmt, name)
            assert after.doc_type == before.doc_type or before.doc_type is None, fmt
