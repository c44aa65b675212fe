"""Web of Science plain text and tab-delimited exports: real files, agreement, malformed files."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoping.errors import FormatError
from scoping.ingest import detect_format, inspect_file, iter_records, wos
from scoping.records import FIELDS, Record

DATA = Path(__file__).parent / "data"
PLAIN = DATA / "wosfile" / "wos_plaintext.txt"
TAB8 = DATA / "wosfile" / "wos_tab_delimited_win_utf8.txt"
TAB16 = DATA / "wosfile" / "wos_tab_delimited_win_utf16.txt"


def read_plain(path: Path) -> list[Record]:
    with path.open(encoding="utf-8-sig") as stream:
        return list(wos.read(stream, str(path)))


def read_tab(path: Path, encoding: str) -> list[Record]:
    with path.open(encoding=encoding, newline="") as stream:
        return list(wos.read_tab(stream, str(path)))


def fields(record: Record) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS}


# -- plain text -------------------------------------------------------------------------------


def test_plain_text_reads_all_50_records_with_their_fields() -> None:
    records = read_plain(PLAIN)
    assert len(records) == 50
    first = records[0]
    assert first.source_id == "WOS:000220015600001"
    assert first.title == (
        "Knowledge networks as channels and conduits: The effects of spillovers "
        "in the Boston biotechnology community"
    )  # TI over two lines
    assert first.authors == ["Owen-Smith, J", "Powell, WW"]
    assert first.year == 2004
    assert first.journal == "ORGANIZATION SCIENCE"
    assert (first.volume, first.issue, first.pages) == ("15", "1", "5-21")
    assert first.doi == "10.1287/orsc.1030.0054"
    assert first.issn == "1047-7039"
    assert first.language == "English"
    assert first.doc_type == "journal article"  # DT Article
    assert first.publisher == "INST OPERATIONS RESEARCH MANAGEMENT SCIENCES"
    # DE (author keywords, wrapped over two lines) then ID (Keywords Plus)
    assert first.keywords[:6] == [
        "knowledge networks",
        "economic geography",
        "spillovers",
        "biotechnology",
        "patenting",
        "STRATEGIC ALLIANCE FORMATION",
    ]
    assert first.abstract is not None
    assert first.abstract.startswith("We contend that two important, nonrelational, features")
    assert first.extra["wos"]["UT"] == "WOS:000220015600001"
    assert first.extra["wos"]["PT"] == "J"
    assert first.extra["wos"]["TC"] == "420"
    assert "CR" not in first.extra["wos"]  # cited references stay in raw only
    assert "Ahuja G, 2000, ADMIN SCI QUART" in first.raw

    last = records[-1]
    assert last.source_id == "WOS:000231798300005"
    assert last.authors == ["Dastidar, PG", "Ramachandran, S"]
    assert last.title == "Engineering research in ocean sector: An international profile"
    assert (last.year, last.journal, last.volume, last.issue, last.pages) == (
        2005,
        "SCIENTOMETRICS",
        "65",
        "2",
        "199-213",
    )
    assert last.doi == "10.1007/s11192-005-0268-1"
    assert last.issn == "0138-9130"
    assert sum(1 for record in records if record.doi) == 47


def test_full_names_from_af_article_numbers_and_proceedings() -> None:
    records = read_plain(PLAIN)
    reactome = records[2]
    assert reactome.authors[:3] == ["Croft, David", "O'Kelly, Gavin", "Wu, Guanming"]  # AF
    assert reactome.extra["wos"]["AU"].startswith("Croft, D; O'Kelly, G; Wu, GM")  # AU kept
    assert reactome.pages == "D691-D697"

    plos = records[35]
    assert plos.source_id == "WOS:000269220900008"
    assert plos.pages == "e501"  # no BP/EP: the article number AR
    assert plos.extra["wos"]["C1"].startswith(
        "[Morel, Carlos Medicis] Oswaldo Cruz Fdn Fiocruz, Ctr Technol Dev Hlth CDTS"
    )

    proceedings = records[26]
    assert proceedings.extra["wos"]["PT"] == "S"
    assert proceedings.doc_type == "conference paper"  # DT Proceedings Paper
    assert proceedings.isbn == "1-4244-0223-9"
    assert proceedings.journal == "IEEE Virtual Reality 2006, Proceedings"
    assert proceedings.pages == "223"  # BP 223, EP "+"
    assert proceedings.extra["wos"]["EP"] == "+"
    assert proceedings.extra["wos"]["BE"] == "Frolich, B; Bowman, D; Iwata, H"


def test_raw_text_and_line_numbers_are_kept() -> None:
    records = read_plain(PLAIN)
    lines = PLAIN.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    first = records[0]
    assert first.line == 3  # after FN and VR
    assert first.raw.startswith("PT J\nAU Owen-Smith, J\n   Powell, WW\nAF Owen-Smith, J\n")
    assert first.raw.endswith("UT WOS:000220015600001\nER\n")
    count = first.raw.count("\n")
    assert "".join(lines[2 : 2 + count]) == first.raw
    for record in records:
        assert record.line is not None
        assert lines[record.line - 1].startswith("PT ")
        assert record.raw.startswith(lines[record.line - 1])
    assert records[-1].line == 5358


def test_a_wos_file_named_ris_pmids_and_no_bom() -> None:
    path = DATA / "rispy-wos" / "example_wos.ris"
    info = inspect_file(path)
    assert info.format == "wos"  # the content says WoS whatever the name says
    records = list(iter_records(info))
    assert [record.pmid for record in records] == ["15170338", "15170339"]
    assert [record.source_id for record in records] == ["WOS:000221807500019", "WOS:000221807500020"]
    assert records[1].doi == "10.1021/bi0497291"
    assert records[1].authors[:2] == ["Cao, WX", "Ye, X"]
    assert records[1].pages == "7017-7027"
    assert records[1].extra["wos"]["DA"] == "2019-03-18"
    assert records[0].line == 3


# -- tab-delimited ----------------------------------------------------------------------------


def test_tab_utf8_utf16_and_plain_text_give_the_same_records() -> None:
    plain = read_plain(PLAIN)
    utf8 = read_tab(TAB8, "utf-8-sig")
    utf16 = read_tab(TAB16, "utf-16")
    assert len(plain) == len(utf8) == len(utf16) == 50
    for a, b, c in zip(plain, utf8, utf16, strict=True):
        assert fields(a) == fields(b) == fields(c)
        assert a.extra == b.extra == c.extra
    assert [r.doi for r in utf16] == [r.doi for r in plain]
    assert [r.title for r in utf16] == [r.title for r in plain]


def test_tab_rows_keep_their_line_as_raw() -> None:
    records = read_tab(TAB16, "utf-16")
    with TAB16.open(encoding="utf-16", newline="") as stream:
        lines = stream.read().split("\r\n")
    assert [record.line for record in records] == list(range(2, 52))
    for record in records:
        assert record.line is not None
        assert record.raw == lines[record.line - 1]
        assert not record.raw.endswith(("\r", "\n"))
    assert records[0].raw.startswith("J\tOwen-Smith, J; Powell, WW\t")
    assert records[0].raw.endswith("\tWOS:000220015600001\t")  # the trailing tab is kept


def test_detect_format_on_the_real_exports() -> None:
    for path, expected in [
        (PLAIN, "wos"),
        (TAB8, "wos-tab"),
        (TAB16, "wos-tab"),
        (DATA / "rispy-wos" / "example_wos.ris", "wos"),
    ]:
        info = inspect_file(path)
        assert info.format == expected, path
        assert detect_format(path, info.head) == expected
    assert inspect_file(TAB16).encoding == "utf-16"


def test_iter_records_reads_both_tab_encodings() -> None:
    utf8 = list(iter_records(inspect_file(TAB8)))
    utf16 = list(iter_records(inspect_file(TAB16)))
    assert [fields(r) for r in utf8] == [fields(r) for r in utf16]


def test_a_tab_export_resaved_as_csv_reads_the_same(tmp_path: Path) -> None:
    with TAB8.open(encoding="utf-8-sig", newline="") as stream:
        rows = [line.rstrip("\r\n").split("\t") for line in stream]
    path = tmp_path / "savedrecs.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    info = inspect_file(path)
    assert info.format == "wos-tab"  # "PT,AU,..."
    records = list(iter_records(info))
    assert [fields(r) for r in records] == [fields(r) for r in read_tab(TAB8, "utf-8-sig")]


def test_tab_row_with_a_missing_field_is_an_error(tmp_path: Path) -> None:
    text = TAB8.read_text(encoding="utf-8-sig")
    lines = text.split("\n")
    lines[3] = lines[3].replace("\t", " ", 1)  # two fields run together
    path = tmp_path / "broken_tab.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    with (
        path.open(encoding="utf-8", newline="") as stream,
        pytest.raises(
            FormatError,
            match=r"broken_tab\.txt, line 4: the row has 59 "
            r"tab-separated fields, the header has 59 \(and the rows before end ",
        ),
    ):
        list(wos.read_tab(stream, str(path)))


def test_tab_header_without_wos_tags_is_an_error() -> None:
    stream = io.StringIO("PT\tfoo\tbar\nJ\tx\ty\n", newline="")
    with pytest.raises(FormatError, match="not Web of Science tags"):
        list(wos.read_tab(stream, "odd.txt"))


# -- malformed plain text ---------------------------------------------------------------------


def write_variant(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_truncated_export_is_an_error_naming_the_record(tmp_path: Path) -> None:
    text = PLAIN.read_text(encoding="utf-8-sig")
    cut = text[: text.index("UT WOS:000231798300005")]  # the last record loses UT, ER and EF
    path = write_variant(tmp_path, "cut.txt", cut)
    records: list[Record] = []
    with path.open(encoding="utf-8") as stream, pytest.raises(FormatError) as caught:
        records.extend(wos.read(stream, str(path)))
    message = str(caught.value)
    assert message.startswith(
        f"{path}, line 5358: the file ends inside the record that starts on line 5358 (no ER line)"
    )
    assert "export" in message
    assert len(records) == 49  # every complete record before it was read


def test_missing_ef_is_an_error(tmp_path: Path) -> None:
    text = PLAIN.read_text(encoding="utf-8-sig")
    path = write_variant(tmp_path, "no_ef.txt", text[: text.rindex("EF")])
    with (
        path.open(encoding="utf-8") as stream,
        pytest.raises(FormatError, match=r"no_ef\.txt, line \d+: no EF line after the last"),
    ):
        list(wos.read(stream, str(path)))


def test_new_record_before_er_and_junk_lines_are_errors(tmp_path: Path) -> None:
    text = PLAIN.read_text(encoding="utf-8-sig")
    first_er = text.index("\nER\n")
    no_er = write_variant(tmp_path, "no_er.txt", text[:first_er] + text[first_er + 3 :])
    with (
        no_er.open(encoding="utf-8") as stream,
        pytest.raises(
            FormatError,
            match=r"no_er\.txt, line 108: a new record starts before "
            r"the one from line 3 ended",
        ),
    ):
        list(wos.read(stream, str(no_er)))
    junk = write_variant(tmp_path, "junk.txt", text.replace("\nTC 420\n", "\nTC420\n"))
    with (
        junk.open(encoding="utf-8") as stream,
        pytest.raises(FormatError, match=r"junk\.txt, line \d+: line 'TC420' is neither"),
    ):
        list(wos.read(stream, str(junk)))


def test_concatenated_exports_read_as_one(tmp_path: Path) -> None:
    text = PLAIN.read_text(encoding="utf-8-sig")
    path = write_variant(tmp_path, "twice.txt", text + text)
    with path.open(encoding="utf-8") as stream:
        assert len(list(wos.read(stream, str(path)))) == 100


class CountingLines:
    """A text stream that counts the lines handed out."""

    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text).readlines()
        self.given = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.given += 1
            yield line

    def readline(self) -> str:
        if self.given >= len(self.lines):
            return ""
        self.given += 1
        return self.lines[self.given - 1]


def test_reading_streams_record_by_record() -> None:
    stream = CountingLines(PLAIN.read_text(encoding="utf-8-sig"))
    records = wos.read(stream, "x.txt")  # type: ignore[arg-type]
    first = next(records)
    assert first.source_id == "WOS:000220015600001"
    assert stream.given < 120 < len(stream.lines)  # the first record only, not the whole file


# -- real files under another licence, read in place -------------------------------------------


def test_metaknowledge_savedrecs_and_its_broken_copies(shared_data: Path) -> None:
    folder = shared_data / "metaknowledge"
    good = folder / "docs" / "examples" / "savedrecs.txt"
    if not good.exists():
        pytest.skip("metaknowledge files are absent from the shared data")
    records = list(iter_records(inspect_file(good)))
    assert len(records) == 32
    assert all(record.source_id and record.source_id.startswith("WOS:") for record in records)
    # badFile.isi: the same export with a field pasted in and the final EF cut off
    bad = folder / "metaknowledge" / "tests" / "badFile.isi"
    with pytest.raises(FormatError, match=r"badFile\.isi, line \d+: no EF line"):
        list(iter_records(inspect_file(bad)))
    # testFile.isi: a tag run into its value ("AUGilles, H")
    with pytest.raises(FormatError, match=r"testFile\.isi, line 416: line 'AUGilles, H'"):
        list(iter_records(inspect_file(folder / "metaknowledge" / "tests" / "testFile.isi")))


def test_synthesisr_and_bibliometrix_wos_exports(shared_data: Path) -> None:
    zoorec = shared_data / "synthesisr" / "inst" / "extdata" / "zoorec.txt"
    ciw = shared_data / "synthesisr" / "tests" / "testthat" / "testdata" / "WoS_ciw_example.ciw"
    sample = shared_data / "bibliometrix" / "tests" / "testthat" / "fixtures" / "wos_sample.txt"
    for path in (zoorec, ciw, sample):
        if not path.exists():
            pytest.skip(f"{path.name} is absent from the shared data")
    assert inspect_file(ciw).format == "wos"
    assert len(list(iter_records(inspect_file(zoorec)))) == 134  # Zoological Record, WoS layout
    assert len(list(iter_records(inspect_file(ciw)))) == 5
    bibliometrix = list(iter_records(inspect_file(sample)))  # "ER" then "EF", no blank line
    assert len(bibliometrix) == 8
    assert all(record.doi for record in bibliometrix)


def test_tab_table_of_ris_tags_falls_back_to_the_table_reader(shared_data: Path) -> None:
    path = shared_data / "synthesisr" / "tests" / "testthat" / "testdata" / "eviatlas.tsv"
    if not path.exists():
        pytest.skip("synthesisr's eviatlas.tsv is absent from the shared data")
    info = inspect_file(path)
    assert info.format == "csv"  # RIS tags as column names, but no PT column: not WoS
    (record,) = list(iter_records(info))
    assert record.title == "EviAtlas: a tool for visualising evidence synthesis databases"
    assert record.doi == "10.1186/s13750-019-0167-1"
