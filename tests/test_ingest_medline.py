"""MEDLINE/PubMed text (.nbib/.txt) read from real exports; malformed and truncated files.

Files under tests/data are copies with free licences (see each SOURCE.md). The GPL-licensed
exports (metaknowledge, synthesisr) are only read in place from ../shared/data, so those tests
skip when that folder is absent.
"""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest

from scoping.errors import FormatError
from scoping.ingest import inspect_file, iter_records, medline
from scoping.records import Record

DATA = Path(__file__).parent / "data"


def read(path: Path) -> list[Record]:
    info = inspect_file(path)
    assert info.format == "medline"
    return list(iter_records(info))


def read_text(text: str, name: str = "export.nbib") -> list[Record]:
    return list(medline.read(io.StringIO(text), name))


def shared_file(shared_data: Path, relative: str) -> Path:
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in {shared_data}")
    return path


def test_one_pubmed_record_every_field() -> None:
    (record,) = read(DATA / "biopython/pubmed_result1.txt")
    assert record.pmid == record.source_id == "12230038"
    assert record.title == "The Bio* toolkits--a brief overview."
    assert record.authors == ["Mangalam, Harry"]  # FAU, not "Mangalam H"
    assert record.year == 2002  # DP "2002 Sep"
    assert record.journal == "Briefings in bioinformatics"  # JT before TA
    assert (record.volume, record.issue, record.pages) == ("3", "3", "296-302")
    assert record.issn == "1467-5463"  # "1467-5463 (Print)"
    assert record.language == "English"  # "eng"
    assert record.doc_type == "journal article"  # PT  - Journal Article
    assert record.doi is None
    assert record.abstract is not None
    assert record.abstract.startswith(
        "Bioinformatics research is often difficult to do with commercial software. The Open Source BioPerl"
    )
    assert record.keywords[:2] == ["Computational Biology", "Computer Systems"]  # "*" dropped
    assert record.line == 2  # the file starts with a blank line
    assert record.raw.startswith("PMID- 12230038\nOWN - NLM\n")
    assert record.raw.endswith("SO  - Brief Bioinform. 2002 Sep;3(3):296-302.\n")


def test_several_records_doi_pmc_and_compressed_pages() -> None:
    records = read(DATA / "biopython/pubmed_result2.txt")
    assert [r.pmid for r in records] == ["16403221", "16377612", "14871861", "14630660"]
    assert [r.line for r in records] == [2, 67, 127, 192]
    first, second = records[0], records[1]
    assert first.doi == "10.1186/1471-2105-7-10"  # AID ... [doi], after an AID [pii]
    assert first.extra == {"pmcid": "PMC1373603"}
    assert first.authors == ["Casbon, James A", "Crooks, Gavin E", "Saqi, Mansoor A S"]
    assert first.doc_type == "Evaluation Studies"  # the first of two PT lines
    assert first.pages == "10"
    assert first.issue is None
    assert "Sequence Alignment" in first.keywords  # "Sequence Alignment/*methods"
    # a title wrapped onto a continuation line, and PG "616-7"
    assert second.title == (
        "GenomeDiagram: a python package for the visualization of large-scale genomic data."
    )
    assert second.pages == "616-617"
    assert second.doi == "10.1093/bioinformatics/btk021"
    assert records[3].doi is None
    # each record's raw text is its own block of the file, nothing more
    text = (DATA / "biopython/pubmed_result2.txt").read_text(encoding="utf-8")
    for record in records:
        assert record.raw in text
        assert record.raw.startswith(f"PMID- {record.pmid}\n")
        assert "\n\n" not in record.raw


def test_wrapped_mesh_heading_and_lid_doi() -> None:
    (record,) = read(DATA / "biopython/pubmed_result3.txt")
    assert record.doi == "10.1118/1.4748329"  # LID ... [doi]
    assert record.pages == "5795-5813"
    # "MH  - High-Intensity Focused Ultrasound Ablation/adverse\n      effects/..."
    assert "High-Intensity Focused Ultrasound Ablation" in record.keywords
    assert record.authors[-1] == "Chen, Yazhu"


def test_eric_nbib_without_pmid() -> None:
    (record,) = read(DATA / "colrev/eric_nbib.nbib")
    assert record.pmid is None
    assert record.source_id == "EJ1131633"  # OID
    assert record.title == "Paper title"
    assert record.authors == ["Smith, Tom", "Hunter, Shawn"]  # AU only, already "Family, Given"
    assert record.doi == "10.1000/123456789"  # AID as a dx.doi.org link, no [doi] mark
    assert record.url == "http://eric.ed.gov/?id=EJ1131633"  # LID
    assert record.issn == "1234-4567"  # "ISSN - ISSN-1234-4567": a five-letter tag
    assert record.year == 2000
    assert record.pages == "1-9"
    assert record.doc_type == "journal article"  # "Journal Articles"
    assert record.keywords == ["Keyword 1", "Keyword 2"]
    assert record.line == 2
    assert record.raw.startswith("OWN - ERIC\n") and record.raw.endswith("Reports - Research\n")


def test_gpl_metaknowledge_export_is_truncated(shared_data: Path) -> None:
    """This real export stops in the middle of its 175th record: an error, not 174 records."""
    path = shared_file(shared_data, "metaknowledge/metaknowledge/tests/medline_test.medline")
    assert inspect_file(path).format == "medline"
    got: list[Record] = []
    with pytest.raises(FormatError) as err, path.open(encoding="utf-8") as stream:
        got.extend(medline.read(stream, str(path)))
    assert len(got) == 174
    message = str(err.value)
    assert message.startswith(
        f"{path}, line 14936: the last record (from line 14925) stops before its SO line"
    )
    assert "truncated" in message
    first = got[0]
    assert first.pmid == "26524502"
    assert first.doi == "10.1016/j.gene.2015.10.064"
    assert first.issue == "1 Pt 3"
    assert first.pages == "466-475"
    assert first.keywords == ["ABC transporters", "Dermatophytes", "Drug resistance", "Phylogenetics"]


def test_gpl_synthesisr_export_without_final_newline(shared_data: Path) -> None:
    path = shared_file(shared_data, "synthesisr/tests/testthat/testdata/PubMed_example.txt")
    records = read(path)
    assert [r.pmid for r in records] == ["28441597", "30868313", "29967742"]
    first = records[0]
    assert first.line == 1
    assert first.title is not None
    assert first.title.startswith(
        "Differences in nitrate and phosphorus export between wooded and grassed riparian zones"
    )
    assert first.doi == "10.1016/j.scitotenv.2017.04.075"  # the LID [doi] after a LID [pii]
    assert first.authors[0] == "Neilen, Amanda D"
    assert first.issn == "1879-1026"
    assert records[1].authors[-1] == "Mahy, Grégory"
    assert records[1].keywords[0] == "Agri-environment Schemes"  # OT "*Agri-environment Schemes"
    assert records[2].pages == "e5082"
    assert records[2].raw.endswith("2018.")  # the file has no final newline


def test_detected_as_medline() -> None:
    for name in (
        "biopython/pubmed_result1.txt",
        "biopython/pubmed_result2.txt",
        "biopython/pubmed_result3.txt",
        "colrev/eric_nbib.nbib",
    ):
        assert inspect_file(DATA / name).format == "medline", name


def test_windows_line_endings(tmp_path: Path) -> None:
    original = (DATA / "biopython/pubmed_result2.txt").read_bytes()
    path = tmp_path / "crlf.nbib"
    path.write_bytes(original.replace(b"\n", b"\r\n"))
    records = read(path)
    assert [r.line for r in records] == [2, 67, 127, 192]
    assert records[1].title is not None
    assert records[1].title.endswith("large-scale genomic data.")
    assert "\r" not in records[1].raw


@pytest.mark.parametrize("chunk", [3, 7, 1 << 18])
def test_records_without_blank_line_between_them(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(medline, "_CHUNK", chunk)
    text = (DATA / "biopython/pubmed_result2.txt").read_text(encoding="utf-8")
    squeezed = "\n".join(line for line in text.split("\n") if line.strip()) + "\n"
    records = read_text(squeezed)
    assert [r.pmid for r in records] == ["16403221", "16377612", "14871861", "14630660"]
    assert [r.line for r in records] == [1, 65, 124, 188]


def test_record_with_neither_title_nor_identifier_is_kept() -> None:
    records = read_text("AB  - Only an abstract survived.\nLA  - eng\n")
    assert len(records) == 1
    assert records[0].title is None and records[0].pmid is None and records[0].source_id is None
    assert records[0].abstract == "Only an abstract survived."


def test_group_author_keeps_its_place() -> None:
    text = (
        "PMID- 1\nTI  - T.\nFAU - Guo, Fumin\nAU  - Guo F\nCN  - Canadian Respiratory "
        "Research Network\nFAU - Parraga, Grace\nAU  - Parraga G\nSO  - J. 2018.\n"
    )
    (record,) = read_text(text)
    assert record.authors == ["Guo, Fumin", "Canadian Respiratory Research Network", "Parraga, Grace"]


def test_garbage_line_in_the_middle() -> None:
    text = (DATA / "biopython/pubmed_result2.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    lines.insert(80, "<html><body>Service unavailable</body></html>")
    with pytest.raises(FormatError) as err:
        read_text("\n".join(lines), "pubmed.nbib")
    assert str(err.value).startswith("pubmed.nbib, line 81: a line that is not a MEDLINE tag line")


def test_truncated_single_record() -> None:
    text = (DATA / "biopython/pubmed_result1.txt").read_text(encoding="utf-8")
    cut = text[: text.index("FAU - Mangalam")]
    with pytest.raises(FormatError) as err:
        read_text(cut, "pubmed.nbib")
    assert str(err.value).startswith(
        "pubmed.nbib, line 22: the last record (from line 2) stops before its SO line"
    )


def test_truncated_eric_export_by_the_tag_earlier_records_end_with() -> None:
    text = (DATA / "colrev/eric_nbib.nbib").read_text(encoding="utf-8").strip("\n") + "\n"
    both = text + "\n" + text[: text.index("ISSN - ")]
    with pytest.raises(FormatError) as err:
        read_text(both, "eric.nbib")
    assert "stops before its PT line" in str(err.value)
    assert str(err.value).startswith("eric.nbib, line 37: the last record (from line 22)")


def test_continuation_before_any_tag() -> None:
    with pytest.raises(FormatError) as err:
        read_text("PMID- 1\nSO  - x\n\n      stray continuation\nTI  - x\n", "a.nbib")
    assert str(err.value) == (
        "a.nbib, line 4: a continuation line (starting with spaces) comes "
        "before any tag; check the file is a complete PubMed/MEDLINE export"
    )


def test_empty_file_has_no_records() -> None:
    with pytest.raises(FormatError) as err:
        read_text("\n\n", "empty.nbib")
    assert str(err.value).startswith("empty.nbib: no MEDLINE records found")


@pytest.mark.parametrize("chunk", [1, 5, 64, 4096])
def test_chunk_size_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    path = DATA / "biopython/pubmed_result2.txt"
    expected = [(r.raw, r.line, r.title) for r in read(path)]
    monkeypatch.setattr(medline, "_CHUNK", chunk)
    assert [(r.raw, r.line, r.title) for r in read(path)] == expected


def test_streams_with_bounded_memory(tmp_path: Path) -> None:
    block = (DATA / "biopython/pubmed_result3.txt").read_text(encoding="utf-8").strip("\n")
    path = tmp_path / "many.nbib"
    with path.open("w", encoding="utf-8") as out:
        for i in range(3000):
            out.write(block.replace("PMID- 23039619", f"PMID- {40000000 + i}") + "\n\n")
    size = path.stat().st_size
    count = 0
    tracemalloc.start()
    try:
        with path.open(encoding="utf-8") as stream:
            for record in medline.read(stream, str(path)):
                count += 1
                last = record
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 3000 and last.pmid == "40002999"
    # the whole file is 10 MB; the reader holds one 256 kB chunk and the records it cuts from it
    assert size > 9_000_000 and peak < 4_000_000, (peak, size)
