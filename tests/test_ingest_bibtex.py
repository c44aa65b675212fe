"""BibTeX: real exports, LaTeX, agreement with bibtexparser, writing, round trips, bad files."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bibtexparser.bparser import BibTexParser

from scoping.errors import FormatError
from scoping.ingest import bibtex, inspect_file, iter_records, wos
from scoping.records import FIELDS, Record, make_record

DATA = Path(__file__).parent / "data"
COLREV = DATA / "colrev-bib"
GOOD_FILES = sorted(path for path in COLREV.glob("*.bib") if path.name != "ebsco_bib.bib")


def read(path: Path) -> list[Record]:
    with path.open(encoding="utf-8-sig") as stream:
        return list(bibtex.read(stream, str(path)))


def reads(text: str) -> list[Record]:
    return list(bibtex.read(io.StringIO(text), "test.bib"))


def fields(record: Record, *, without: tuple[str, ...] = ()) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS if name not in without}


def test_web_of_science_bibtex() -> None:
    first, second = read(COLREV / "web_of_science_bib.bib")  # BOM and blank lines first
    assert first.source_id == "WOS:000223334444221"  # "@inproceedings{ WOS:..."
    assert first.doc_type == "conference paper"  # @inproceedings
    assert first.authors == ["Writerone, Julia", "Writertwo, Paul"]
    assert first.journal == "A BOOKTITLE"  # booktitle
    assert (first.year, first.volume, first.pages) == (2017, "123456", "48-98")
    assert first.doi == "10.1007/999-9-999-99999-9_3"  # "\_" decoded
    assert first.issn == "0111-9119"
    assert first.isbn == "999-9-999-99999-9; 999-8-888-99999-8"
    assert first.extra["bibtex"]["eissn"] == "1111-3333"
    assert first.extra["bibtex"]["editor"] == "Editorone, M and Editortwo, M"
    assert first.extra["bibtex"]["researcherid-numbers"] == (
        "Writerone, Julia/GLU-2222-2022 Writertwo, Paul/F-3333-2012"
    )
    assert first.line == 3
    assert first.raw.startswith("@inproceedings{ WOS:000223334444221,\nAuthor = {Writerone")
    assert first.raw.endswith("Unique-ID = {WOS:000223334444221},\n}")
    assert second.title == "A dummy title's"  # &apos; in the export
    assert second.doc_type == "journal article"  # @article
    assert (second.volume, second.issue, second.pages) == ("22", "3", "111-188")
    assert second.extra["bibtex"]["month"] == "MAR 1"
    assert second.extra["bibtex"]["article-number"] == "6756"
    assert second.raw.endswith("}")  # the file ends right after the brace


def test_scopus_bibtex_keeps_the_entry_bibtexparser_drops() -> None:
    records = read(COLREV / "scopus_bib.bib")
    assert len(records) == 11
    assert [r.doc_type for r in records].count("conference paper") == 2  # @conference
    odd = records[9]
    assert odd.source_id == "Conference paper2022775"  # a key with a space
    assert odd.line == 129
    first = records[0]
    assert first.authors == ["Firstwriter, Z.", "Secondwriter, T.", "Thirdwriter, L."]
    assert first.doi == "10.1111/88888888.2022.7777777"
    assert first.url == "https://www.scopus.com/inward/record.uri?eid=11111111111111111111"
    assert first.extra["bibtex"] == {"note": "cited By 0", "document_type": "Article", "source": "Scopus"}
    with (COLREV / "scopus_bib.bib").open(encoding="utf-8") as stream:
        parsed = BibTexParser(common_strings=True, ignore_nonstandard_types=False).parse(stream.read())
    assert len(parsed.entries) == 10


def test_colrev_loader_file_repeated_key_odd_field_name_crossref() -> None:
    records = read(COLREV / "bib_data.bib")
    assert len(records) == 6
    first, second = records[:2]
    assert first.source_id == second.source_id == "articlewriter_firstrandomword_2020"
    assert first.authors == ["Articlewriter, Laura, III"]
    assert first.pages == "99-123"  # "99--123"
    assert first.keywords == ["Dummy", "Template", "Void", "Example"]  # ","-separated
    assert first.abstract == "This is a nice abstract."  # a value over two lines
    assert first.language == "German"
    assert second.doi == "10.3333/xyz.v4444.04a"
    assert second.extra["bibtex"]["key words"] == "Dummy, Template, Void, Example"
    assert records[2].source_id == "mouse;2015"
    assert records[2].extra["bibtex"]["crossref"] == "ICRC2015"
    assert records[4].doc_type == "proceedings"  # @proceedings
    assert records[4].journal == "Proceedings of the 34th International Cosmic Ray Conference"
    last = records[5]
    assert last.source_id == "WOS:000072095400011"
    assert last.authors == ["Andreica, D", "Schmid, H"]  # "and" at a line end
    assert last.title == (
        "Magnetic properties and phase transitions of iron boracites, Fe3B7O13X (X = Cl, Br OR I)"
    )


def test_europe_pmc_acm_dblp_wiley_records() -> None:
    pmc, misc = read(COLREV / "europe_pmc_bib.bib")  # "@article {PMID:18888888,", tabs
    assert pmc.source_id == "PMID:18888888"
    assert pmc.pmid == "18888888"  # from the key
    assert pmc.abstract is not None
    assert pmc.abstract.startswith("Be Aware of percentage symbols in abstract.")
    assert pmc.issn == "1111-2222"
    assert misc.doc_type == "other"  # @misc
    assert misc.publisher == "Misc Square"
    acm = read(COLREV / "acm_bib.bib")
    assert acm[0].keywords == ["creative writing", "funny writing", "lazy writing"]
    assert acm[0].extra["bibtex"]["numpages"] == "54"
    assert acm[1].year is None
    assert acm[1].extra["bibtex"]["year"] == "888"  # not a year: kept, not dropped
    dblp = read(COLREV / "dblp_bib.bib")
    assert dblp[0].source_id == "DBLP:journals/shortjournalname/Articlewriter22"
    assert dblp[1].pages == "465:1-465:20"
    wiley = read(COLREV / "wiley_bib.bib")
    assert wiley[0].doc_type == "book chapter"  # @inbook
    assert wiley[0].isbn == "1111222233334"
    assert wiley[0].journal == "Dummy in Practice"
    assert len(read(COLREV / "records.bib")) == 21


def test_every_good_colrev_file_is_detected_and_read() -> None:
    counts = {}
    for path in [*GOOD_FILES, COLREV / "ebsco_bib.bib"]:
        assert inspect_file(path).format == "bibtex", path
    for path in GOOD_FILES:
        counts[path.name] = len(list(iter_records(inspect_file(path))))
    assert counts == {
        "abi_inform_proquest_bib.bib": 2,
        "acm_bib.bib": 2,
        "bib_data.bib": 6,
        "crossref_bib.bib": 1,
        "crossref_feed.bib": 3,
        "dblp_bib.bib": 2,
        "enl_data_expected.bib": 3,
        "europe_pmc_bib.bib": 2,
        "files_dir_bib.bib": 3,
        "records.bib": 21,
        "scopus_bib.bib": 11,
        "taylor_and_francis_bib.bib": 2,
        "unknown_source_bib.bib": 1,
        "web_of_science_bib.bib": 2,
        "wiley_bib.bib": 2,
    }


def test_raw_text_and_lines() -> None:
    text = (COLREV / "crossref_feed.bib").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for record in read(COLREV / "crossref_feed.bib"):
        assert record.raw.startswith("@")
        assert record.line is not None
        assert lines[record.line - 1].startswith(record.raw.split("\n", 1)[0])
        assert record.raw in text
        assert record.raw.endswith("}")


# -- the tokenizer against bibtexparser ---------------------------------------------------------


def parse_both(text: str) -> tuple[list[tuple[str | None, str, dict[str, str]]], list[dict[str, str]]]:
    ours = []
    for entry in bibtex._entries(io.StringIO(text), "x.bib"):
        if entry.kind in ("comment", "preamble", "string"):
            continue
        key, pos = bibtex._split_key(entry.body)
        pairs = bibtex._parse_fields(entry.body, pos, dict(bibtex._MONTHS), "x.bib", entry.line)
        ours.append((key, entry.kind, dict(pairs)))
    theirs = (
        BibTexParser(common_strings=True, ignore_nonstandard_types=False).parse(text, partial=True).entries
    )
    return ours, theirs


def squash(values: dict[str, str]) -> dict[str, str]:
    return {name: " ".join(value.split()) for name, value in values.items()}


def compare_with_bibtexparser(text: str) -> int:
    """Entries that both read must have the same key, type and field values; return how many."""
    ours, theirs = parse_both(text)
    by_key: dict[str, list[dict[str, str]]] = {}
    for entry in theirs:
        by_key.setdefault(entry["ID"], []).append(entry)
    same = 0
    for key, kind, values in ours:
        candidates = by_key.get(key or "")
        if not candidates:
            continue  # bibtexparser dropped it
        theirs_entry = dict(candidates.pop(0))
        assert theirs_entry.pop("ENTRYTYPE") == kind
        theirs_entry.pop("ID")
        assert squash(values) == squash(theirs_entry), key
        same += 1
    return same


def test_field_values_agree_with_bibtexparser_on_the_colrev_files() -> None:
    total = 0
    for path in GOOD_FILES:
        total += compare_with_bibtexparser(path.read_text(encoding="utf-8-sig"))
    assert total == 61  # all 63 entries but the two bibtexparser 1.4 silently drops


def test_field_values_agree_with_bibtexparser_on_a_zotero_export(shared_data: Path) -> None:
    path = shared_data / "ASySD" / "tests" / "testthat" / "zotero_export.bib"
    if not path.exists():
        pytest.skip("ASySD's zotero_export.bib is absent from the shared data")
    text = path.read_text(encoding="utf-8")
    # bibtexparser 1.4 (pyparsing) takes about 20 s of CPU for all 1,000 entries; its values
    # are compared on the first 250, and our reader alone reads the whole file
    entries = re.split(r"(?m)^(?=@)", text)
    assert compare_with_bibtexparser("".join(entries[:251])) == 250
    records = list(iter_records(inspect_file(path)))
    assert len(records) == 1000
    assert records[0].source_id == "larsen_microangiography_1999"


def test_real_scopus_export_with_a_space_in_a_field_name(shared_data: Path) -> None:
    path = shared_data / "synthesisr" / "tests" / "testthat" / "testdata" / "Scopus_bib_example.bib"
    if not path.exists():
        pytest.skip("synthesisr's Scopus_bib_example.bib is absent from the shared data")
    records = list(iter_records(inspect_file(path)))
    assert [r.source_id for r in records] == ["Li2020", "Cao2020", "Tang2020"]
    li = records[0]
    assert li.doi == "10.1080/20964129.2020.1722034"
    assert li.keywords[:2] == ["Environmental factors", "Lake Taihu"]  # author_keywords
    assert "funding_text 1" in li.extra["bibtex"]  # "funding_text\xa01" in the file
    assert li.extra["bibtex"]["funding_details"].count("; ") == 1  # the field is given twice
    text = path.read_text(encoding="utf-8")
    assert len(BibTexParser(common_strings=True).parse(text, partial=True).entries) == 1


# -- LaTeX, @string, odd syntax -------------------------------------------------------------


def test_latex_is_decoded() -> None:
    (record,) = reads(r"""
@article{k1,
  author = {M{\"u}ller, J{\"o}rg and {Barnes and Noble} and Erd\H{o}s, P{\'a}l and {\O}rsted, H. and others},
  title = {{COVID}-19 and {\textless}0.05 \& \textit{in vitro} {\it E. coli}: Caf\'{e} 10\% \v{S}koda},
  journal = {Rev. {\"O}kon.},
  pages = {123--9},
  keywords = {a; b, c; {\ss}},
}
""")
    assert record.authors == ["Müller, Jörg", "Barnes and Noble", "Erdős, Pál", "Ørsted, H."]
    assert record.title == "COVID-19 and <0.05 & in vitro E. coli: Café 10% Škoda"
    assert record.journal == "Rev. Ökon."
    assert record.pages == "123-129"
    assert record.keywords == ["a", "b, c", "ß"]
    assert record.line == 2


def test_strings_concatenation_months_comments_and_parentheses() -> None:
    records = reads("""% a comment line
@comment{jabref-meta: databaseType:bibtex;}
@preamble{"\\newcommand{\\noopsort}[1]{}"}
@string{jpr = "Journal of Peer Research"}
@STRING(vol = "12")
Free text between entries is a comment.
@Article{a1, journal = jpr # { (Online)}, volume = vol, month = apr, year = 2021}
@book(b2, title = "A (parenthesised) entry", year = {1999})
""")
    first, second = records
    assert first.journal == "Journal of Peer Research (Online)"
    assert first.volume == "12"
    assert first.year == 2021
    assert first.doc_type == "journal article"
    assert first.extra["bibtex"]["month"] == "April"
    assert second.source_id == "b2"
    assert second.title == "A (parenthesised) entry"
    assert second.line == 8


def test_two_entries_on_one_line_and_an_entry_without_fields() -> None:
    records = reads("@misc{a, title={One}}@misc{b, title={Two}}\n@misc{c}\n")
    assert [(r.source_id, r.title, r.line) for r in records] == [
        ("a", "One", 1),
        ("b", "Two", 1),
        ("c", None, 2),
    ]


# -- malformed files ----------------------------------------------------------------------------


def test_real_ebsco_export_with_stray_braces_is_an_error() -> None:
    path = COLREV / "ebsco_bib.bib"
    records: list[Record] = []
    with path.open(encoding="utf-8") as stream, pytest.raises(FormatError) as caught:
        records.extend(bibtex.read(stream, str(path)))
    assert str(caught.value).startswith(
        f"{path}, line 19: text after the end of the entry that starts on line 15: "
        "', a more nuanced picture emerg'"
    )
    assert len(records) == 1 and records[0].source_id == "11111111111111111"


def test_unterminated_entry_is_an_error_naming_its_line(tmp_path: Path) -> None:
    text = (COLREV / "crossref_feed.bib").read_text(encoding="utf-8")
    path = tmp_path / "cut.bib"
    path.write_text(text[: text.rindex("}") - 2], encoding="utf-8")  # the last entry is cut
    with (
        path.open(encoding="utf-8") as stream,
        pytest.raises(
            FormatError,
            match=r"cut\.bib, line 25: the entry that starts on line 25 is not "
            r"closed at the end of the file",
        ),
    ):
        list(bibtex.read(stream, str(path)))
    unclosed = tmp_path / "unclosed.bib"
    unclosed.write_text(text.replace("\n}\n\n@article{00002", "\n\n@article{00002", 1), encoding="utf-8")
    with (
        unclosed.open(encoding="utf-8") as stream,
        pytest.raises(
            FormatError,
            match=r"unclosed\.bib, line 1: the entry that starts on line 1 is not "
            r"closed before the next entry on line 12",
        ),
    ):
        list(bibtex.read(stream, str(unclosed)))


def test_unreadable_fields_are_errors() -> None:
    with pytest.raises(
        FormatError,
        match=r"test\.bib, line 3: expected a ',' after the field "
        r"'title'",
    ):
        reads("@article{a,\n  year = 2000,\n  title = {x} {y},\n}\n")
    with pytest.raises(FormatError, match=r"test\.bib, line 2: cannot read a field name"):
        reads("@article{a,\n  = {x},\n}\n")
    with pytest.raises(FormatError, match=r"test\.bib, line 3: a field outside any entry"):
        reads("@article{a, title = {x}}\n\n  journal = {Stray},\n")


# -- writing ---------------------------------------------------------------------------------


def write(records: list[Record]) -> str:
    out = io.StringIO()
    assert bibtex.write(records, out) == len(records)
    return out.getvalue()


def test_round_trip_of_every_colrev_file() -> None:
    for path in GOOD_FILES:
        records = read(path)
        again = reads(write(records))
        assert len(again) == len(records)
        for before, after in zip(records, again, strict=True):
            assert fields(after, without=("source_id",)) == fields(before, without=("source_id",))
        keys = [r.source_id for r in again]
        assert len({k.lower() for k in keys if k}) == len(keys), path  # unique keys
        for before, after in zip(records, again, strict=True):
            if before.source_id == after.source_id:
                continue
            # a key that is not usable (a space) or already taken gets a new one
            assert before.source_id is not None
            assert " " in before.source_id or after.source_id == before.source_id + "a"


def test_keys_are_generated_unique_and_stable() -> None:
    base = {"title": "The peer support worker role", "authors": ["Smith, Jane"], "year": 2020}
    records = [
        make_record(base),
        make_record(base),
        make_record(base | {"source_id": "My key"}),
        make_record({"title": "Ünïcode title", "authors": ["José Ñúñez"]}),
        make_record({"title": "A"}),
        make_record(base | {"source_id": "Smith2020Peer"}),
    ]
    text = write(records)
    keys = re.findall(r"^@\w+\{([^,]+),", text, re.M)
    assert keys == [
        "Smith2020Peer",
        "Smith2020Peera",
        "Smith2020Peerb",
        "NunezndUnicode",
        "Anonnd",
        "Smith2020Peerc",
    ]
    assert write(records) == text  # the same records give the same keys


def test_wos_records_written_as_bibtex_read_back_the_same() -> None:
    with (DATA / "wosfile" / "wos_plaintext.txt").open(encoding="utf-8-sig") as stream:
        records = list(wos.read(stream, "wos_plaintext.txt"))
    text = write(records)
    again = reads(text)
    assert [r.source_id for r in again] == [r.source_id for r in records]  # WOS:... keys
    for before, after in zip(records, again, strict=True):
        assert fields(after) == fields(before)  # the document type too (issue 16)
    proceedings = sum(
        1 for r in records if "Proceedings Paper" in (r.doc_type or "") or r.doc_type == "conference paper"
    )
    assert proceedings == 5
    assert text.count("@inproceedings{") == proceedings
    assert "type = {Article; Proceedings Paper}" in text
    assert "  pages = {5--21}," in text


def test_awkward_values_survive_writing() -> None:
    record = make_record(
        {
            "title": "Braces { unbalanced and a % sign",
            "authors": ["Department of Health and Social Care"],
            "keywords": ["depression, postnatal"],
            "pages": "e1234",
            "year": 2001,
            "doc_type": "Conference Paper",
            "journal": "Proc. of Things",
        }
    )
    text = write([record])
    assert text.startswith("@inproceedings{Care2001Braces,")  # the last word of a name
    (again,) = reads(text)
    assert again.authors == ["Department of Health and Social Care"]
    assert again.keywords == ["depression, postnatal"]
    assert again.title == "Braces { unbalanced and a % sign"  # escaped (issue 16): nothing lost
    assert again.journal == "Proc. of Things"
    assert again.pages == "e1234"


# -- streaming ----------------------------------------------------------------------------------


class CountingLines:
    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text).readlines()
        self.given = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.given += 1
            yield line


def test_reading_streams_entry_by_entry() -> None:
    stream = CountingLines((COLREV / "records.bib").read_text(encoding="utf-8") * 10)
    first = next(bibtex.read(stream, "x.bib"))  # type: ignore[arg-type]
    assert first.source_id == "Staehr2010"
    assert stream.given < 40 < len(stream.lines)
