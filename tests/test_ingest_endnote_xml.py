"""EndNote XML: a hand-built export of two real (CC0) SYNERGY records; edge cases; malformed XML."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scoping.errors import FormatError
from scoping.ingest import endnote_xml, inspect_file, iter_records
from scoping.records import Record

DATA = Path(__file__).parent / "data"
SYNERGY = DATA / "endnote/sep_2021_synergy.xml"

STYLE = '<style face="normal" font="default" size="100%">'


def read(path: Path) -> list[Record]:
    info = inspect_file(path)
    assert info.format == "endnote-xml"
    return list(iter_records(info))


def read_text(text: str, name: str = "library.xml") -> list[Record]:
    return list(endnote_xml.read(io.StringIO(text), name))


def one_record(body: str) -> Record:
    (record,) = read_text(
        f'<?xml version="1.0" encoding="UTF-8" ?><xml><records><record>{body}</record></records></xml>'
    )
    return record


def styled(text: str) -> str:
    return f"{STYLE}{text}</style>"


def test_full_record() -> None:
    first, _second = read(SYNERGY)
    assert first.source_id == "1"  # rec-number
    assert first.doc_type == "journal article"  # ref-type name "Journal Article"
    # two <style> runs (normal, italic) make one title; U+2010 kept
    assert first.title == "Lateral entorhinal cortex is critical for novel object‐context recognition"
    assert first.authors == [
        "Wilson, David",
        "Langston, Rosamund F.",
        "Schlesiger, Magdalene I.",
        "Wagner, Monica",
        "Watanabe, Sakurako",
        "Ainge, James A.",
    ]
    assert first.journal == "Hippocampus"  # titles/secondary-title
    assert first.year == 2013
    assert (first.volume, first.issue, first.pages) == ("23", "5", "352-366")  # pages "352-66"
    assert first.doi == "10.1002/hipo.22095"
    assert first.pmid == "23389958"  # numeric accession-num, no other database named
    assert first.issn == "1098-1063"  # the first of two ISSNs in <isbn>
    assert first.isbn is None
    assert first.keywords == [
        "Entorhinal Cortex",
        "Exploratory Behavior",
        "Functional Laterality",
        "Recognition, Psychology",
        "Spatial Behavior",
    ]
    assert first.url == "https://onlinelibrary.wiley.com/doi/pdfdirect/10.1002/hipo.22095"
    assert first.abstract is not None
    assert first.abstract.startswith("Episodic memory incorporates information about specific")
    assert first.abstract.endswith("to form episodic memory in the hippocampus.")
    assert first.line == 3


def test_record_with_missing_fields() -> None:
    _first, second = read(SYNERGY)
    assert second.source_id == "2"
    assert second.issue is None  # no <number>
    assert second.keywords == []  # no <keywords>
    assert second.language is None
    assert second.pages == "159-166"
    assert second.pmid == "25451612"  # remote-database-name PubMed
    assert second.extra == {"database": "PubMed"}
    assert second.authors[-1] == "Guzowski, John F."
    assert second.title is not None
    assert second.title.startswith(
        "Systemic lipopolysaccharide administration impairs retrieval of context–object discrimination"
    )
    # highlights separated by &#xD; line breaks read as one paragraph
    assert second.abstract is not None
    assert second.abstract.startswith(
        "• We tested if acute neuroinflammation impairs retrieval of "
        "different memory tasks. • Systemic LPS administration"
    )
    assert "\r" not in second.abstract
    assert second.line == 4


def test_raw_is_the_record_as_in_the_file() -> None:
    text = SYNERGY.read_text(encoding="utf-8")
    records = read(SYNERGY)
    lines = text.split("\n")
    assert [r.raw for r in records] == [lines[2], lines[3]]
    assert records[0].raw.startswith("<record><database name=")
    assert records[1].raw.endswith("</abstract></record>")


def test_detected_as_endnote_xml() -> None:
    assert inspect_file(SYNERGY).format == "endnote-xml"


def test_accession_number_of_another_database_is_not_a_pmid() -> None:
    record = one_record(
        f"<rec-number>7</rec-number><accession-num>{styled('107891234')}</accession-num>"
        f"<remote-database-name>{styled('CINAHL')}</remote-database-name>"
    )
    assert record.pmid is None
    assert record.extra == {"accession_num": "107891234", "database": "CINAHL"}
    wos = one_record(f"<accession-num>{styled('WOS:A1987J750300004')}</accession-num>")
    assert wos.pmid is None and wos.extra == {"accession_num": "WOS:A1987J750300004"}


def test_isbn_doi_link_and_wos_style_doi() -> None:
    book = one_record(
        '<ref-type name="Book">6</ref-type>'
        f"<titles><title>{styled('A book')}</title>"
        f"<secondary-title>{styled('A series')}</secondary-title></titles>"
        f"<contributors><secondary-authors><author>{styled('Editor, Ed')}</author>"
        "</secondary-authors></contributors>"
        f"<isbn>{styled('978-0-19-850673-7')}</isbn>"
        f"<urls><related-urls><url>{styled('https://doi.org/10.1093/ABC.001')}</url>"
        "</related-urls></urls>"
        f"<publisher>{styled('Oxford University Press')}</publisher>"
    )
    assert book.doc_type == "book"
    assert book.journal is None  # a whole book's secondary title is its series
    assert book.authors == ["Editor, Ed"]  # editors when there are no authors
    assert book.isbn == "978-0-19-850673-7" and book.issn is None
    assert book.doi == "10.1093/abc.001"  # from the doi.org link
    assert book.publisher == "Oxford University Press"
    wos = one_record(
        f"<electronic-resource-num>{styled('DOI 10.1002/jcc.540080605')}</electronic-resource-num>"
        f"<periodical><full-title>{styled('J Comput Chem')}</full-title></periodical>"
    )
    assert wos.doi == "10.1002/jcc.540080605"
    assert wos.journal == "J Comput Chem"  # periodical/full-title when no secondary-title


def test_keyword_holding_several_lines() -> None:
    record = one_record(
        f"<keywords><keyword>{STYLE}peer support&#xD;mental health</style>"
        f"</keyword><keyword>{styled('recovery')}</keyword></keywords>"
    )
    assert record.keywords == ["peer support", "mental health", "recovery"]


def test_text_without_style_wrappers() -> None:
    record = one_record("<titles><title>Plain <b>title</b></title></titles><dates><year>1999</year></dates>")
    assert record.title == "Plain title"
    assert record.year == 1999


def test_record_with_neither_title_nor_identifier_is_kept() -> None:
    record = one_record(f"<abstract>{styled('Only an abstract.')}</abstract>")
    assert record.title is None and record.source_id is None and record.doi is None
    assert record.abstract == "Only an abstract."


def test_truncated_file() -> None:
    text = SYNERGY.read_text(encoding="utf-8")
    with pytest.raises(FormatError) as err:
        read_text(text[: text.index("<rec-number>2")], "sep_2021_synergy.xml")
    assert str(err.value).startswith("sep_2021_synergy.xml, line 4: malformed XML: ")
    assert "truncated" in str(err.value)


def test_garbage_in_the_middle() -> None:
    text = SYNERGY.read_text(encoding="utf-8").replace(
        "</record>\n<record>", "</record>\n</records>\n<record>", 1
    )
    with pytest.raises(FormatError) as err:
        read_text(text, "library.xml")
    assert str(err.value) == (
        "library.xml, line 6: malformed XML: Opening and ending tag mismatch: "
        "xml line 2 and records; export the records again"
    )


def test_no_records() -> None:
    with pytest.raises(FormatError) as err:
        read_text('<?xml version="1.0" encoding="UTF-8" ?><xml><records></records></xml>', "e.xml")
    assert str(err.value).startswith("e.xml: no records: the file is EndNote XML without any")


def test_pubmed_xml_given_as_endnote() -> None:
    with pytest.raises(FormatError) as err, (DATA / "biopython/pubmed1.xml").open() as stream:
        list(endnote_xml.read(stream, "p.xml"))
    assert str(err.value).startswith("p.xml: not EndNote XML: the document element is <PubmedArticleSet>")


@pytest.mark.parametrize("chunk", [1, 9, 333])
def test_chunk_size_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    from scoping.ingest import pubmed_xml

    expected = [(r.raw, r.line, r.title) for r in read(SYNERGY)]
    monkeypatch.setattr(pubmed_xml, "_CHUNK", chunk)
    assert [(r.raw, r.line, r.title) for r in read(SYNERGY)] == expected
