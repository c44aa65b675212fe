"""CSV/TSV tables: real database and tool exports, column matching, raw rows, round trips."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoping.errors import FormatError
from scoping.ingest import inspect_file, iter_records, table
from scoping.records import FIELDS, Record, make_record

DATA = Path(__file__).parent / "data"


def read(path: Path) -> list[Record]:
    info = inspect_file(path)
    assert info.format == "csv", path
    return list(iter_records(info))


def reads(text: str, name: str = "test.csv") -> list[Record]:
    return list(table.read(io.StringIO(text, newline=""), name))


def fields(record: Record) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS}


# -- ASReview and friends ---------------------------------------------------------------------


def test_asreview_generic_in_three_dialects() -> None:
    comma = read(DATA / "asreview-csv" / "generic.csv")
    semicolon = read(DATA / "asreview-csv" / "generic_semicolon.csv")
    tab = read(DATA / "asreview-csv" / "generic_tab.csv")  # tab-separated, .csv name
    assert [fields(r) for r in comma] == [fields(r) for r in semicolon] == [fields(r) for r in tab]
    first = comma[0]
    assert first.title == "Title of reference"
    assert first.authors == ["Marx, Karl", "Lindgren, Astrid"]  # a Python list in the cell
    assert first.keywords == ["Pippi", "Nordwind", "Piraten"]
    assert first.year == 2014  # "2014//"
    assert (first.volume, first.issue, first.pages) == ("9", "3", "e0815")
    assert (first.issn, first.publisher, first.doc_type) == ("1932-6208", "Fun Factory", "journal article")
    assert first.source_id == "12345"  # id
    assert first.url == "http://example_url.com"
    assert first.extra["secondary_authors"] == "['Glattauer, Daniel']"
    assert first.extra["place_published"] == "United States"
    assert first.abstract is not None
    assert first.abstract.startswith("BACKGROUND: Lorem ipsum dolor sit amet")
    assert first.raw.startswith('"BACKGROUND: Lorem ipsum dolor sit amet')
    assert (
        tab[0].raw == (DATA / "asreview-csv" / "generic_tab.csv").read_text(encoding="utf-8").splitlines()[1]
    )


def test_labels_and_record_ids_go_to_extra_and_source_id() -> None:
    labelled = read(DATA / "asreview-csv" / "generic_labels.csv")
    assert [r.extra["label_included"] for r in labelled] == ["1", "0", "1", "0", "1", "0"]
    assert labelled[1].keywords == ["Pippi Langstrumpf", "Nordwind", "Piraten"]
    ids = read(DATA / "asreview-csv" / "record_id.csv")
    assert [r.source_id for r in ids] == [str(n) for n in range(12, 2, -1)]
    assert ids[0].extra == {"final_included": "1"}
    assert "final_included" not in ids[2].extra  # empty cells are not kept
    spaced = read(DATA / "asreview-csv" / "generic_column_names_with_spaces.csv")
    assert spaced[0].abstract is not None
    assert spaced[0].abstract.startswith("BACKGROUND")  # the column is "abstract "
    missing = read(DATA / "asreview-csv" / "missing_values.csv")
    assert len(missing) == 4
    assert missing[0].abstract is None and missing[2].abstract is None
    assert missing[1].title is None and missing[3].title is None
    assert missing[3].abstract is not None
    assert missing[3].abstract.startswith("BACKGROUND")


def test_no_title_column_is_an_error_listing_the_columns() -> None:
    path = DATA / "asreview-csv" / "generic_labels_no_title.csv"
    with pytest.raises(FormatError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}: no title column (columns: abstract, file_attachments2, "
        "authors, id, issn, keywords, note, number, place_published, "
    )
    assert "rename the title column to 'title'" in message


def test_comma_space_separated_files_and_rejected_dois() -> None:
    records = read(DATA / "asreview-datatools" / "duplicate_data_with_doi.csv")
    assert len(records) == 5
    assert records[4].title == 'an "exact" copy of title without stopwords'
    assert records[4].year == 2007
    assert records[0].doi is None  # "doi1" is not a DOI ...
    assert records[0].extra["doi"] == "doi1"  # ... and is kept, not dropped
    sample = read(DATA / "asreview-datatools" / "sample_data.csv")
    assert [r.title for r in sample][:2] == ["title1", "title2"]


def test_openalex_ids_and_an_unnamed_index_column() -> None:
    records = read(DATA / "asreview-datatools" / "snowballing_openalex.csv")
    assert records[0].source_id == "https://openalex.org/W2051970045"
    assert records[0].extra == {"column 1": "0", "included": "1"}
    assert records[1].title == (
        "Mimicking the one-dimensional marginal distributions of processes having an ito differential"
    )


def test_synergy_flat_csv() -> None:
    records = read(DATA / "synergy-csv" / "Sep_2021_first30.csv")
    assert len(records) == 30
    first = records[0]
    assert first.source_id is not None
    assert first.source_id.startswith("https://openalex.org/W")
    assert first.pmid == "24847228"  # from https://pubmed.ncbi.nlm.nih.gov/24847228
    assert first.doi and not first.doi.startswith("http")
    assert first.extra["label_included"] in ("0", "1")
    assert all(r.pmid and r.year for r in records)


# -- database exports --------------------------------------------------------------------------


def test_scopus_csv_then_a_misaligned_row() -> None:
    path = DATA / "litstudy-csv" / "scopus_first5.csv"
    records: list[Record] = []
    with pytest.raises(FormatError) as caught:
        records.extend(iter_records(inspect_file(path)))
    assert str(caught.value).startswith(
        f"{path}, line 4: the row has 46 fields, more than the 45 columns of the header"
    )
    assert len(records) == 2  # the rows before it
    namd = records[0]
    assert namd.title == "Scalable molecular dynamics with NAMD"
    assert namd.authors[:3] == ["Phillips J.C.", "Braun R.", "Wang W."]
    assert len(namd.authors) == 10
    assert (namd.year, namd.journal, namd.volume, namd.issue, namd.pages) == (
        2005,
        "Journal of Computational Chemistry",
        "26",
        "16",
        "1781-1802",
    )
    assert namd.doi == "10.1002/jcc.20289"
    assert namd.source_id == "2-s2.0-27344436659"  # EID
    assert namd.language == "English"
    assert namd.doc_type == "review"
    assert namd.keywords[:3] == [
        "Biomolecular simulation",
        "Molecular dynamics",
        "Parallel computing",
    ]  # author then index keywords
    assert "Algorithms" in namd.keywords
    assert namd.extra["Cited by"] == "13169"
    assert namd.extra["Source"] == "Scopus"


def test_pubmed_csv() -> None:
    (record,) = read(DATA / "colrev-csv" / "pubmed_csv.csv")  # UTF-8 BOM
    assert record.pmid == "11223344"
    assert record.authors == ["Smith A", "Walter B"]
    assert (record.journal, record.year, record.doi) == ("Nature", 2021, "10.1111/nature1111")
    assert record.extra["PMCID"] == "PMC1122334"
    chatbot = read(DATA / "colrev-csv" / "pubmed-chatbot.csv")
    assert len(chatbot) == 6
    assert chatbot[0].authors == ["Lim SM", "Shiau CWC", "Cheng LJ", "Lau Y"]  # "Lau Y."
    assert chatbot[0].journal == "Behav Ther"
    assert chatbot[1].pmid == "34847056"


def test_rows_one_field_longer_than_the_header() -> None:
    first, second = read(DATA / "colrev-csv" / "csv_data.csv")
    assert first.journal == "MISQ"  # "journal" wins over "Journal/Book" ...
    assert first.extra["Journal/Book"] == "Nature"  # ... which is kept
    assert second.journal == "Nature"  # Journal/Book when journal is empty ...
    assert second.extra["booktitle"] == "ICIS"  # ... and booktitle is kept
    assert second.extra["citation_key"] == "test"


def test_springer_ieee_embase_and_retraction_watch() -> None:
    (springer,) = read(DATA / "colrev-csv" / "springer_csv.csv")
    assert springer.authors == ["Andy Smith", "Tom Weber"]  # "Andy SmithTom Weber"
    assert (springer.journal, springer.volume, springer.issue) == ("Nature", "17", "3")
    assert springer.doi == "10.1007/11111"
    assert springer.doc_type == "journal article"
    books = read(DATA / "litstudy-csv" / "springer.csv")
    assert len(books) == 18
    assert books[2].authors == [
        "Barnabás Bede",
        "Prof. Martine Ceberio",
        "Dr. Martine De Cock",
        "Prof. Vladik Kreinovich",
    ]
    assert books[9].authors[:2] == ["Mario Rüttgers", "Moritz Waldmann"]

    ieee = read(DATA / "litstudy-csv" / "ieee.csv")
    assert len(ieee) == 10
    assert ieee[0].authors == ["P. Kogge", "J. Shalf"]
    assert ieee[0].pages == "16-26"  # Start Page, End Page
    assert ieee[0].journal == "Computing in Science & Engineering"
    assert ieee[0].url == "https://ieeexplore.ieee.org/stamp/stamp.jsp?arnumber=6634083"
    short = read(DATA / "colrev-csv" / "ieee_csv.csv")
    assert short[0].authors == ["Joseph Rottman", "Erran Carmel", "Mary Lacity"]
    assert short[0].journal == "Computer"

    embase = read(DATA / "asreview-csv" / "embase.csv")
    first = embase[0]
    assert first.authors == ["Liu R.", "Adler D.G."]
    # from "Endoscopic Ultrasound (2014) 3:3 (152-160). Date of Publication: 2014"
    assert (first.journal, first.year, first.volume, first.issue, first.pages) == (
        "Endoscopic Ultrasound",
        2014,
        "3",
        "3",
        "152-160",
    )
    assert first.doi == "10.4103/2303-9027.138783"  # from the Open URL link
    assert "bronchogenic duplication cyst (diagnosis, surgery)" in first.keywords
    assert embase[2].volume == "54" and embase[2].issue is None

    (retraction,) = read(DATA / "litstudy-csv" / "retraction_watch.csv")
    assert retraction.source_id == "4242"  # Record ID
    assert retraction.authors == ["Patrick Bos"]
    assert retraction.extra["RetractionDOI"] == "10.4242/2024/01"


def test_bib_dedupe_records() -> None:
    cardiac = read(DATA / "bib-dedupe-csv" / "cardiac_first30.csv")
    assert len(cardiac) == 30
    first = cardiac[0]
    assert first.source_id == "id_0003268"
    assert first.authors == ["Przyklenk K.", "Kloner R. A."]  # "Przyklenk K.Kloner R. A."
    assert first.pages == "139-154"  # "139-54"
    # a line break in the cell; ISSNs in the isbn column are the ISSN (issue 16)
    assert (first.issn, first.isbn) == ("0300-8428 (Print) 0300-8428 (Linking)", None)
    assert first.raw.count("\n") == 1 and first.line == 2
    assert cardiac[1].line == 4  # the row above took two lines
    stroke = read(DATA / "bib-dedupe-csv" / "stroke_first30.csv")
    assert stroke[0].authors == ["Zhai, Q. J.", "Yue, X. Y.", "Hong, Z.", "Xu, G. L.", "Liu, X. F."]
    digital = read(DATA / "bib-dedupe-csv" / "digital_work_first30.csv")
    assert digital[0].title is not None
    assert digital[0].title.startswith("ЗАЙНЯТІСТЬ І МОТИВАЦІЯ")
    assert digital[0].pages == "376-383"  # "376 -- 383"
    assert digital[0].extra["ID_old"] == "2017"
    special = read(DATA / "bib-dedupe-csv" / "special_cases.csv")
    assert special[0].journal == "Americas Conference on Information Systems"  # booktitle
    assert special[0].doc_type == "conference paper"


def test_raw_is_the_exact_row_text() -> None:
    for path in [
        DATA / "bib-dedupe-csv" / "cardiac_first30.csv",
        DATA / "colrev-csv" / "csv_data.csv",
        DATA / "asreview-csv" / "embase.csv",
    ]:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            text = stream.read()
        records = read(path)
        joined = "\n".join(record.raw for record in records)
        body = text.split("\n", 1)[1].rstrip("\r\n").replace("\r\n", "\n")
        assert joined.replace("\r\n", "\n") == body
        rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
        for record, row in zip(records, rows, strict=True):
            assert next(csv.reader(io.StringIO(record.raw, newline=""))) == row


def test_every_copied_table_is_detected_as_csv() -> None:
    for folder in (
        "asreview-csv",
        "asreview-datatools",
        "bib-dedupe-csv",
        "colrev-csv",
        "litstudy-csv",
        "synergy-csv",
    ):
        for path in (DATA / folder).glob("*.csv"):
            assert inspect_file(path).format == "csv", path


# -- malformed tables ---------------------------------------------------------------------------


def test_broken_quoting_and_short_rows_are_errors() -> None:
    with pytest.raises(FormatError, match=r"bad\.csv, line 3: broken quoting"):
        reads('title,year\nfine,2000\n"quoted"tail,2001\n', "bad.csv")
    with pytest.raises(FormatError, match=r"bad\.csv, line 3: a quoted field is never closed"):
        reads('title,year\nfine,2000\n"never closed,2001\nmore,2002\n', "bad.csv")
    with pytest.raises(
        FormatError,
        match=r"bad\.csv, line 4: the row has 1 fields, fewer than "
        r"the 2 columns",
    ):
        reads("title,year\na,1\n\nb\n", "bad.csv")
    with pytest.raises(FormatError, match=r"bad\.csv: the first line is empty"):
        reads("\ntitle\n", "bad.csv")


def test_a_huge_abstract_is_read() -> None:
    abstract = "word " * 200_000  # 1 MB, beyond the csv module's default field limit
    (record,) = reads(f'title,abstract\nBig,"{abstract}"\n')
    assert record.abstract == abstract.strip()


def test_delimiter_sniffing_and_excel_sep_line() -> None:
    assert table.sniff_delimiter("title\tabstract\tyear") == "\t"
    assert table.sniff_delimiter('title;abstract;"a, b"') == ";"
    assert table.sniff_delimiter("title,abstract") == ","
    assert table.sniff_delimiter("title") == ","
    (record,) = reads("sep=;\ntitle;year\nA, B;2001\n")
    assert (record.title, record.year, record.line) == ("A, B", 2001, 3)


def test_cell_splitting_rules() -> None:
    split = table.split_authors_cell
    assert split("Marx, Karl") == ["Marx, Karl"]
    assert split("Smith A, Walter B") == ["Smith A", "Walter B"]
    assert split("Zhai, Q. J. and Yue, X. Y.") == ["Zhai, Q. J.", "Yue, X. Y."]
    assert split("Liu F.; Li C.") == ["Liu F.", "Li C."]
    assert split("McDonald, R") == ["McDonald, R"]
    assert split("Ann McDonaldTom Weber", run_together=True) == ["Ann McDonald", "Tom Weber"]
    assert table.split_keywords_cell("a (b, c), d") == ["a (b, c)", " d"]
    assert table.split_keywords_cell("['x', 'y']") == ["x", "y"]


# -- writing --------------------------------------------------------------------------------


def write(records: list[Record]) -> str:
    out = io.StringIO(newline="")
    assert table.write(records, out) == len(records)
    return out.getvalue()


def test_write_columns() -> None:
    text = write([])
    assert text == (
        "source_id,title,authors,year,journal,volume,issue,pages,doi,pmid,issn,isbn,"
        "publisher,keywords,language,doc_type,url,abstract\n"
    )


def test_round_trip_of_real_tables() -> None:
    paths = [
        DATA / "asreview-csv" / "generic_labels.csv",
        DATA / "asreview-csv" / "embase.csv",
        DATA / "litstudy-csv" / "ieee.csv",
        DATA / "litstudy-csv" / "springer.csv",
        DATA / "colrev-csv" / "pubmed-chatbot.csv",
        DATA / "synergy-csv" / "Sep_2021_first30.csv",
        DATA / "bib-dedupe-csv" / "cardiac_first30.csv",
        DATA / "bib-dedupe-csv" / "digital_work_first30.csv",
    ]
    for path in paths:
        records = read(path)
        again = reads(write(records))
        assert [fields(r) for r in again] == [fields(r) for r in records], path


def test_round_trip_of_records_from_other_formats() -> None:
    from scoping.ingest import bibtex, wos

    with (DATA / "wosfile" / "wos_plaintext.txt").open(encoding="utf-8-sig") as stream:
        records = list(wos.read(stream, "wos.txt"))
    with (DATA / "colrev-bib" / "records.bib").open(encoding="utf-8") as stream:
        records += list(bibtex.read(stream, "records.bib"))
    again = reads(write(records))
    assert [fields(r) for r in again] == [fields(r) for r in records]


def test_round_trip_of_awkward_values() -> None:
    records = [
        make_record(
            {
                "title": 'Quotes "inside", commas, and\nline breaks',
                "authors": ["Department of Health and Social Care"],
                "keywords": ["depression, postnatal"],
                "year": 1999,
            }
        ),
        make_record(
            {"title": "One author with a comma", "authors": ["Smith, John Paul"], "keywords": ["a (b, c)"]}
        ),
        make_record(
            {
                "title": "Two corporate",
                "authors": ["World Health Organization, Europe", "Ministry of Health and Welfare"],
            }
        ),
        make_record({"title": "Initial run", "authors": ["J.Smith"], "pages": "e1-e5"}),
        make_record(
            {
                "title": "Ünïcödé ∑",
                "abstract": "x" * 200_000,
                "doi": "10.1000/ABC",
                "pmid": "PMID: 123",
                "source_id": "id;1",
            }
        ),
    ]
    again = reads(write(records))
    assert [fields(r) for r in again] == [fields(r) for r in records]
    assert again[0].authors == ["Department of Health and Social Care"]
    assert again[1].keywords == ["a (b, c)"]


def test_writing_after_reading_with_iter_records(tmp_path: Path) -> None:
    records = read(DATA / "litstudy-csv" / "ieee.csv")
    path = tmp_path / "out.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        table.write(records, out)
    again = read(path)
    assert [fields(r) for r in again] == [fields(r) for r in records]
    assert [r.line for r in again] == list(range(2, 12))


# -- streaming and files under other licences ----------------------------------------------------


class CountingLines:
    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text, newline="").readlines()
        self.given = 0

    def readline(self) -> str:
        self.given += 1
        return self.lines[self.given - 1] if self.given <= len(self.lines) else ""

    def __iter__(self) -> Iterator[str]:
        while self.given < len(self.lines):
            self.given += 1
            yield self.lines[self.given - 1]


def test_reading_streams_row_by_row() -> None:
    text = (DATA / "synergy-csv" / "Sep_2021_first30.csv").read_text(encoding="utf-8")
    stream = CountingLines(text)
    first = next(table.read(stream, "x.csv"))  # type: ignore[arg-type]
    assert first.line == 2
    assert stream.given < 5 < len(stream.lines)


def test_new_scopus_format_and_r_missing_values(shared_data: Path) -> None:
    path = shared_data / "bibliometrix" / "tests" / "testthat" / "fixtures" / "scopus_sample.csv"
    if not path.exists():
        pytest.skip("bibliometrix's scopus_sample.csv is absent from the shared data")
    records = read(path)
    assert len(records) == 8
    first = records[0]
    assert first.authors == ["Liu F.", "Li C.", "Liu Y.", "Li Y."]  # "; "-separated
    assert first.isbn is None  # "NA"
    assert first.extra["Author full names"].startswith("Liu, Fengyuan (60410297700)")
    assert first.doi == "10.1177/20552076261415846"


def test_gpl_csv_exports_read_in_place(shared_data: Path) -> None:
    asysd = shared_data / "ASySD" / "tests" / "testthat" / "test_export.csv"
    eviatlas = shared_data / "synthesisr" / "tests" / "testthat" / "testdata" / "eviatlas.csv"
    lens = shared_data / "bibliometrix" / "tests" / "testthat" / "fixtures" / "lens_sample.csv"
    for path in (asysd, eviatlas, lens):
        if not path.exists():
            pytest.skip(f"{path.name} is absent from the shared data")
    assert [r.title for r in read(asysd)] == ["Title 1", "Title 2", "Title 3"]
    (record,) = read(eviatlas)  # RIS tags as column names
    assert record.doi == "10.1186/s13750-019-0167-1"  # DO
    assert record.authors[0] == "Haddaway, Neal R."  # "... and ..."
    lens_records = read(lens)
    assert lens_records[0].source_id == "000-360-106-493-122"  # Lens ID
    assert lens_records[0].authors[:2] == ["Petar Radanliev", "David De Roure"]
