"""Normalisers shared by every reader."""

from __future__ import annotations

import pytest

from scoping.records import (
    make_record,
    normalise_authors,
    normalise_doi,
    normalise_keywords,
    normalise_pages,
    normalise_pmid,
    normalise_text,
    normalise_title_key,
    normalise_year,
)


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("10.1002/CPP.2398", "10.1002/cpp.2398"),
        ("https://doi.org/10.1192/bjp.bp.112.117762", "10.1192/bjp.bp.112.117762"),
        ("http://dx.doi.org/10.1080/20008198.2019.1586266", "10.1080/20008198.2019.1586266"),
        ("doi: 10.1016/j.ijscr.2018.11.060.", "10.1016/j.ijscr.2018.11.060"),
        ("10.1016/S0022-2836(84)80011-X", "10.1016/s0022-2836(84)80011-x"),
        ("https://doi.org/10.1016%2Fj.mehy.2019.109324", "10.1016/j.mehy.2019.109324"),
        ("10.1016/S0735-1097%2801%2901396-2", "10.1016/s0735-1097(01)01396-2"),
        ("[doi] 10.5650/jos.ess17184", "10.5650/jos.ess17184"),
        ("(doi:10.1002/(SICI)1097-0258(19980815)17:15)", "10.1002/(sici)1097-0258(19980815)17:15"),
        ("", None),
        ("not a doi", None),
        (None, None),
    ],
)
def test_doi(raw: str | None, doi: str | None) -> None:
    assert normalise_doi(raw) == doi


@pytest.mark.parametrize(
    ("raw", "pmid"),
    [
        ("29459515", "29459515"),
        ("PMID: 23637110 [Indexed for MEDLINE]", "23637110"),
        ("https://pubmed.ncbi.nlm.nih.gov/24847228", "24847228"),
        ("", None),
        ("abc", None),
    ],
)
def test_pmid(raw: str, pmid: str | None) -> None:
    assert normalise_pmid(raw) == pmid


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("2019//", 2019),
        ("2018/05/01/", 2018),
        ("Spring 2007", 2007),
        (2020, 2020),
        (2020.0, 2020),
        (float("nan"), None),
        ("n.d.", None),
        ("12345", None),
        (None, None),
    ],
)
def test_year(raw: object, year: int | None) -> None:
    assert normalise_year(raw) == year


@pytest.mark.parametrize(
    ("start", "end", "pages"),
    [
        ("123-9", None, "123-129"),
        ("1275--1281", None, "1275-1281"),
        ("335", "344", "335-344"),
        ("e0815", None, "e0815"),
        ("121–128", None, "121-128"),
        ("99", "99", "99"),
        ("1199", "201", "1199-1201"),
        (None, None, None),
    ],
)
def test_pages(start: str | None, end: str | None, pages: str | None) -> None:
    assert normalise_pages(start, end) == pages


def test_authors_and_keywords() -> None:
    assert normalise_authors("Smith, J.; Jones, A. B.") == ["Smith, J.", "Jones, A. B."]
    assert normalise_authors("Smith, John and Jones, Ann") == ["Smith, John", "Jones, Ann"]
    assert normalise_authors(["  Smith,  J ", "", None]) == ["Smith, J"]
    assert normalise_keywords(["Stress", "stress", " Memory ", ""]) == ["Stress", "Memory"]
    assert normalise_keywords("a; b;\nc") == ["a", "b", "c"]


def test_text_cleaning() -> None:
    assert normalise_text("  <i>In vivo</i>   study&amp;more\n") == "In vivo study&more"
    assert normalise_text("NaN") is None
    assert normalise_text("") is None
    assert normalise_text(["a", None, "b"]) == "a b"
    assert normalise_title_key("Éffect of <b>X</b>: a trial!") == "effect of b x b a trial"


def test_make_record_keeps_unknown_fields_in_extra() -> None:
    record = make_record(
        {"title": "T", "start_page": "5", "end_page": "9", "label_included": 1, "doi": ["", "10.1234/X"]},
        raw="raw text",
        line=3,
    )
    assert record.pages == "5-9"
    assert record.doi == "10.1234/x"
    assert record.extra == {"label_included": 1}
    assert (record.raw, record.line) == ("raw text", 3)


def test_document_types_in_one_vocabulary() -> None:
    from scoping.records import DOC_TYPES, normalise_doc_type

    same = {
        "JOUR": "journal article",
        "Article": "journal article",
        "journal-article": "journal article",
        "Journal Article": "journal article",
        "Proceedings Paper": "conference paper",
        "CPAPER": "conference paper",
        "inproceedings": "conference paper",
        "Book Section": "book chapter",
        "book-chapter": "book chapter",
        "CHAP": "book chapter",
        "posted-content": "preprint",
        "Editorial Material": "editorial",
        "phdthesis": "thesis",
        "Review": "review",
        "misc": "other",
        "  ELEC ": "web page",
    }
    for given, term in same.items():
        assert normalise_doc_type(given) == term, given
    for term in DOC_TYPES:  # a stored term reads back as itself
        assert normalise_doc_type(term) == term
    assert normalise_doc_type("Clinical Trial, Phase III") == "Clinical Trial, Phase III"
    assert normalise_doc_type(" ") is None and normalise_doc_type(None) is None
    assert make_record({"doc_type": "JOUR"}).doc_type == "journal article"


def test_languages_by_their_english_name() -> None:
    from scoping.records import normalise_language

    for given in ("eng", "EN", "English", "english "):
        assert normalise_language(given) == "English"
    assert normalise_language("fre") == normalise_language("fra") == normalise_language("fr") == "French"
    assert normalise_language("Spanish, eng; Spanish") == "Spanish; English"
    assert normalise_language("Klingon") == "Klingon"
    assert make_record({"language": ["ger"]}).language == "German"


def test_document_types_in_words() -> None:
    from scoping.records import doc_type_label

    shown = {
        "ser": "Serial",  # RIS codes
        "JOUR": "Journal article",
        "CHAP": "Book chapter",
        "NEWS": "Newspaper article",
        "inproceedings": "Conference paper",  # BibTeX entry types
        "phdthesis": "Thesis",
        "periodical": "Serial",
        "Journal Article": "Journal article",  # PubMed publication types
        "Review": "Review",
        "Clinical Trial, Phase III": "Clinical Trial, Phase III",  # outside the vocabulary: as given
        "case reports": "Case reports",
    }
    for given, label in shown.items():
        assert doc_type_label(given) == label, given
    assert doc_type_label(None) is None and doc_type_label("  ") is None
