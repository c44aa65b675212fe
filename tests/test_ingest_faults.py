"""Issue 16: each field fault found by comparing our readers with other parsers, on a tiny real
file per case (tests/data/ingest-cases, see its SOURCE.md), and the fix that holds."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scoping import errors
from scoping.errors import FormatError
from scoping.ingest import bibtex, inspect_file, iter_records, ris, table
from scoping.records import Record, make_record, normalise_pages

CASES = Path(__file__).parent / "data" / "ingest-cases"


def read(name: str) -> list[Record]:
    return list(iter_records(inspect_file(CASES / name)))


# 1. RIS keywords, EndNote style: one KW tag, then one keyword per line


def test_ris_keyword_per_continuation_line() -> None:
    (record,) = read("endnote_keyword_lines.ris")
    assert record.keywords == [
        "Health Facility Administration",
        "Joint Commission",
        "Standards",
        "Medication Errors",
        "Prevention and Control",
        "Medication Reconciliation",
        "Organizational Compliance",
        "Quality Improvement",
        "Electronic Health Records",
        "Consumer Participation",
        "Literacy",
        "Medication History",
        "Patient Education",
    ]
    assert record.raw == (CASES / "endnote_keyword_lines.ris").read_text()  # raw: the file, unchanged


def test_ris_keywords_one_per_tag_still_read() -> None:
    (record,) = read("psycinfo_pmid_tag.ris")
    assert record.keywords[:2] == ["*Keyword one", "*Keyword two"]
    assert len(record.keywords) == 8


# 2. RIS DOI from an Ovid link resolver URL


def test_ris_doi_from_link_resolver_query_string() -> None:
    (record,) = read("ovid_resolver_doi.ris")
    assert record.doi == "10.1002/cpp.2398"  # not "10.1002/cpp.2398&issn=1063-3995&isbn=..."
    assert record.pmid is None  # "id=pmid:" is empty


# 3. BibTeX export escapes LaTeX's special characters (and reads them back)


def test_bibtex_export_escapes_special_characters() -> None:
    record = make_record(
        {
            "title": "50% of {A} & B_c #1 costs $5 ~x^2 a\\b",
            "authors": ["O'Brien & Sons", "Smith, J"],
            "abstract": "Most (45%) improved; an unbalanced { stays",
            "journal": "Health & Social Care",
            "doi": "10.1002/(sici)1097-4679(199901)55:1<3::aid-jclp2>3.0.co;2-x",
            "url": "https://example.org/a_b%20c",
            "keywords": ["R&D", "50%"],
        }
    )
    out = io.StringIO()
    bibtex.write([record], out)
    text = out.getvalue()
    assert (
        "title = {50\\% of \\textbraceleft{}A\\textbraceright{} \\& B\\_c \\#1 costs \\textdollar{}5" in text
    )
    assert "\\textasciitilde{}x\\^{}2 a\\textbackslash{}b}" in text
    assert "author = {O'Brien \\& Sons and Smith, J}" in text
    assert "keywords = {R\\&D; 50\\%}" in text
    assert "url = {https://example.org/a_b%20c}" in text  # verbatim fields are not escaped
    assert "doi = {10.1002/(sici)1097-4679(199901)55:1<3::aid-jclp2>3.0.co;2-x}" in text
    (back,) = bibtex.read(io.StringIO(text), "out.bib")
    for name in ("title", "authors", "abstract", "journal", "doi", "url", "keywords"):
        assert getattr(back, name) == getattr(record, name), name


# 4. CSV author splitting


def test_csv_one_family_given_name_is_not_split() -> None:
    records = {r.source_id: r for r in read("stroke_authors_pages.csv")}
    assert records["id_0000744"].authors == ["Perez Cachon, Ana Lucia"]
    assert records["id_0001195"].authors == ["Bowen, Ceri", "Yeats, Giles", "Palmer, Siobhan"]
    hunter, cui = read("digital_work_suffix.csv")
    assert hunter.authors == ["Hunter III, Starling David"]
    assert cui.authors == ["Cui, G.", "Lui, H.-K.", "Guo, X."]  # "...; and Guo, X."


def test_csv_names_run_together_after_a_suffix() -> None:
    (record,) = read("cardiac_suffix_issn.csv")
    assert record.authors == [
        "Tock C. L.",
        "Bosley J. P.",
        "Parnis S. M.",
        "Clubb F. J. Jr.",
        "Macris M. P.",
        "Frazier O. H.",
        "Scott-Burden T.",
    ]


def test_csv_names_with_initials_and_ieee_lists_still_split() -> None:
    assert table.split_authors_cell("Smith J., Doe A.") == ["Smith J.", "Doe A."]
    assert table.split_authors_cell("Smith AB, Walter B") == ["Smith AB", "Walter B"]
    assert table.split_authors_cell("Joseph Rottman, Erran Carmel, Mary Lacity") == [
        "Joseph Rottman",
        "Erran Carmel",
        "Mary Lacity",
    ]


# 5. RIS year: Y2 is the access date, not the publication year


def test_ris_year_not_from_access_date() -> None:
    (record,) = read("access_date_y2.ris")
    assert record.year is None  # only "Y2  - 2022/09/20/"
    assert record.doc_type == "web page"


# 6. A "PMID  - n" line right after TY


def test_ris_pmid_tag_after_ty() -> None:
    (record,) = read("psycinfo_pmid_tag.ris")
    assert record.doc_type == "journal article"  # not "JOUR PMID - 33355555"
    assert record.pmid == "33355555"
    assert record.doi == "10.1011/hea0004444"
    assert record.title == "Primary Title"


# 7. Pages: "to" separates page numbers only


def test_pages_text_with_to_is_kept() -> None:
    records = {r.source_id: r for r in read("stroke_authors_pages.csv")}
    assert records["id_0001195"].pages == (
        "A relational approach to rehabilitation: Thinking about relationships after brain injury. xvi, 376"
    )
    assert normalise_pages("123 to 129") == "123-129"
    assert normalise_pages("e12 to e19") == "e12-e19"


# 8. RIS error line numbers


def test_ris_stray_er_reported_at_its_line() -> None:
    with pytest.raises(FormatError) as caught:
        read("stray_er.ris")
    assert caught.value.where == "line 42"
    assert "an ER line closes a record that was never opened with TY" in str(caught.value)


# 9. OpenAlex works CSV


def test_openalex_works_csv() -> None:
    records = read("openalex_works.csv")
    assert len(records) == 3
    first = records[0]
    assert first.title is not None and first.title.startswith("Contextual control of the extinction")
    assert first.source_id == "https://openalex.org/W1979978981"
    assert len(first.authors) >= 1 and all("|" not in name for name in first.authors)
    assert first.journal and first.issn and first.pmid and first.year and first.doi
    assert first.abstract and first.abstract.startswith("Four conditioned suppression experiments")


# 10. Consistency across readers and writers


def test_issn_in_isbn_column_is_the_issn() -> None:
    (record,) = read("cardiac_suffix_issn.csv")
    assert record.isbn is None
    assert record.issn == "1058-2916 (Print) 1058-2916 (Linking)"


def test_no_pagination_specified_is_no_pages_in_every_reader() -> None:
    records = {r.source_id: r for r in read("stroke_authors_pages.csv")}
    assert records["id_0000525"].pages is None  # CSV
    (ovid,) = read("ovid_resolver_doi.ris")
    assert ovid.pages is None  # RIS: SP "No", EP "Specified"
    assert make_record({"pages": "No Pagination Specified"}).pages is None


def test_mojibake_repaired_in_fields_raw_kept() -> None:
    (record,) = read("respiratory_mojibake.csv")
    assert record.authors[-1] == "Fioretto, José Roberto"
    assert "JosÃ© Roberto" in record.raw
    for name in ("OliÃ©", "BayÃ©s"):  # the names
        assert make_record({"authors": [name]}).authors == [name.replace("Ã©", "é")]
    assert make_record({"title": "Zürich “quoted” – naïve"}).title == "Zürich “quoted” – naïve"


TYPES_TY_CANNOT_SAY = [
    "review",
    "letter",
    "editorial",
    "Clinical Trial, Phase III",
    "preprint",
    "conference abstract",
]


@pytest.mark.parametrize("doc_type", TYPES_TY_CANNOT_SAY)
def test_document_types_survive_ris_and_bibtex_export(doc_type: str) -> None:
    record = make_record({"title": "T", "journal": "J", "year": 2020, "doc_type": doc_type})
    for write, reader in ((ris.write, ris.read), (bibtex.write, bibtex.read)):
        out = io.StringIO()
        write([record], out)
        (back,) = reader(io.StringIO(out.getvalue()), "out")
        assert back.doc_type == record.doc_type, (write.__module__, out.getvalue())


def test_no_type_is_the_same_in_ris_and_bibtex() -> None:
    in_journal = make_record({"title": "T", "journal": "J"})
    alone = make_record({"title": "T"})
    for write, reader in ((ris.write, ris.read), (bibtex.write, bibtex.read)):
        out = io.StringIO()
        write([in_journal, alone], out)
        first, second = reader(io.StringIO(out.getvalue()), "out")
        assert (first.doc_type, second.doc_type) == ("journal article", "other")


def test_scopus_m3_document_type() -> None:
    records = list(ris.read(io.StringIO("TY  - JOUR\nTI  - A\nM3  - Review\nER  - \n"), "x.ris"))
    assert records[0].doc_type == "review"
    ovid = read("ovid_resolver_doi.ris")[0]  # M3 is Ovid's classification there
    assert ovid.doc_type == "journal article"


# 11. Truncated files


def test_truncated_file_is_refused_with_the_line() -> None:
    with pytest.raises(FormatError) as caught:
        read("truncated.ris")
    assert isinstance(caught.value, errors.TruncatedFileError)
    assert caught.value.where == "line 52"
    assert "--skip-incomplete" in str(caught.value)


def _run(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from scoping.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_skip_incomplete_imports_the_complete_records_and_logs_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "rv"
    assert _run("init", str(root))[0] == 0
    path = str(CASES / "truncated.ris")
    code, out, err = _run("--review", str(root), "import", path, "--source", "Scopus")
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and err.count("\n") == 1 and "line 52" in err
    assert _run("--review", str(root), "records", "--count")[1] == "0\n"  # nothing half-written

    code, out, err = _run("--review", str(root), "import", path, "--source", "Scopus", "--skip-incomplete")
    assert code == 0, err
    assert out.splitlines()[0].startswith("Imported 2 records from truncated.ris")
    assert "--skip-incomplete: the incomplete end of the file was skipped" in out
    assert _run("--review", str(root), "records", "--count")[1] == "2\n"
    code, log, _ = _run("--review", str(root), "search", "log")
    assert code == 0
    assert "the file ends inside the record that starts on line 52 (no ER line)" in log


def test_skip_incomplete_changes_nothing_for_a_whole_file(tmp_path: Path) -> None:
    root = tmp_path / "rv"
    assert _run("init", str(root))[0] == 0
    path = str(CASES / "stray_er.ris")  # malformed, but not cut short: still refused
    code, _, err = _run("--review", str(root), "import", path, "--source", "X", "--skip-incomplete")
    assert code == 1 and "line 42" in err
    path = str(CASES / "access_date_y2.ris")
    code, out, _ = _run("--review", str(root), "import", path, "--source", "X", "--skip-incomplete")
    assert code == 0 and out.count("\n") == 1
