"""RIS dialects read from real exports; round trip; malformed files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scoping.errors import FormatError
from scoping.ingest import inspect_file, iter_records, ris
from scoping.records import FIELDS

DATA = Path(__file__).parent / "data"


def read(name: str) -> list:
    info = inspect_file(DATA / name)
    assert info.format == "ris"
    return list(iter_records(info))


def test_ovid_psycinfo_dialect() -> None:
    records = read("asreview/ovid_psycinfo.ris")
    assert len(records) == 6
    first = records[0]
    assert first.title.startswith("The influence of self-criticism on depression symptoms")
    assert first.doi == "10.1002/cpp.2398"  # DO given as an http://dx.doi.org/ link
    assert first.authors[:2] == ["Trindade, Ines A", "Irons, Chris"]
    assert first.year == 2019  # Y1 "2019//"
    assert first.journal == "Clinical Psychology & Psychotherapy"  # JF
    assert first.pages is None  # SP "No" EP "Specified" is Ovid's "No Pagination Specified"
    assert first.abstract.startswith("Considering that self-criticism")  # N2
    assert first.source_id == "2019-65183-001"
    assert first.line == 2  # after the "1." record-number line
    assert first.raw.startswith("TY  - JOUR\n") and first.raw.rstrip().endswith("ER  -")


def test_pubmed_via_endnote_dialect_gives_pmid() -> None:
    records = read("asreview/pubmed_endnote.txt")
    second = records[1]
    assert second.pmid == "29459515"  # AN of a record whose DP is NLM
    assert second.doi == "10.5650/jos.ess17184"
    assert second.pages == "335-344"  # SP holds the whole range
    assert second.journal == "J Oleo Sci"
    assert second.authors[0] == "Abe, H."
    assert second.language == "English"  # "eng"


def test_zotero_scopus_embase_wos_proquest_dialects() -> None:
    zotero = read("asreview/pubmed_zotero.ris")[1]
    assert (zotero.pages, zotero.volume, zotero.issue) == ("947-955", "23", "10")
    assert zotero.journal == "Techniques in coloproctology"

    scopus = read("asreview/scopus.ris")[1]
    assert scopus.doi == "10.1016/j.mehy.2019.109324"
    assert scopus.issn == "03069877 (ISSN)"
    assert scopus.journal == "Medical Hypotheses"

    embase = read("asreview/embase.ris")[2]  # the first record starts after a BOM
    assert embase.authors[:2] == ["Nakashima S.", "Yamada T."]  # A1 tags
    assert embase.pages == "83-86"
    assert embase.journal == "International Journal of Surgery Case Reports"  # JF before JO
    assert embase.pmid is None

    wos = read("asreview/web_of_science.txt")[1]
    assert wos.source_id == "WOS:000376252000001"
    assert wos.doi == "10.1037/law0000080"
    assert wos.year == 2016

    proquest = read("asreview/proquest.ris")[1]
    assert proquest.doi == "10.1080/20008198.2019.1586266"
    assert proquest.title.startswith("Trajectories of posttraumatic stress disorders")  # T1


def test_bom_multiline_and_extraneous_text() -> None:
    assert len(read("rispy/example_bom.ris")) == 1
    multiline = read("rispy/example_multiline.ris")
    assert len(multiline) == 3
    # continuation lines (indented or not) stay part of the field, never a new tag
    assert multiline[2].abstract == "first line, ER then second line and at the end the last line"
    extraneous = read("rispy/example_extraneous_data.ris")  # "Record #1 of 2" headers
    assert [r.source_id for r in extraneous] == ["12345", "12345"]
    assert extraneous[0].authors == ["Marx, Karl", "Lindgren, Astrid"]
    utf = read("rispy/example_utf_chars.ris")
    assert utf[0].title.startswith("Состояние рецепторного аппарата")
    assert utf[0].authors[0] == "Dobrokhotova, Yu E."


@pytest.mark.parametrize(
    "name",
    [
        "asreview/ovid_psycinfo.ris",
        "asreview/embase.ris",
        "asreview/pubmed_endnote.txt",
        "asreview/web_of_science.txt",
        "rispy/example_full.ris",
    ],
)
def test_round_trip(name: str) -> None:
    records = read(name)
    buffer = io.StringIO()
    assert ris.write(records, buffer) == len(records)
    back = list(ris.read(io.StringIO(buffer.getvalue()), "round-trip.ris"))
    assert len(back) == len(records)
    for before, after in zip(records, back, strict=True):
        for field in FIELDS:
            if field in ("doc_type",):
                continue
            assert getattr(after, field) == getattr(before, field), field


def test_truncated_file_is_an_error(tmp_path: Path) -> None:
    text = (DATA / "asreview/scopus.ris").read_text(encoding="utf-8")
    cut = tmp_path / "cut.ris"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(FormatError, match=r"cut\.ris.*no ER line.*truncated"):
        list(iter_records(inspect_file(cut)))


def test_record_opened_twice_is_an_error() -> None:
    text = "TY  - JOUR\nTI  - one\nTY  - JOUR\nTI  - two\nER  - \n"
    with pytest.raises(FormatError, match=r"x\.ris, line 3: a new record starts"):
        list(ris.read(io.StringIO(text), "x.ris"))


def test_no_records_is_an_error() -> None:
    with pytest.raises(FormatError, match="no RIS records"):
        list(ris.read(io.StringIO("AU  - Someone\nTI  - no type line\n"), "x.ris"))
