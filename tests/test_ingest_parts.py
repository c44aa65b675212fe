"""Large RIS and PubMed XML files are read in parts by several processes: the records, their
raw text and their lines are exactly those of reading the file straight through, and a broken
file gives exactly the same error. Processes start only when the caller gives ``workers`` (the
one switch, see :mod:`scoping.spawn`), and the rows stored are the same with or without."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import pytest

import scoping.ingest as ingest
import scoping.ingest.parallel as parallel
from scoping.errors import FormatError
from scoping.ingest import inspect_file, iter_records
from scoping.ingest.api import import_files
from scoping.store import Store

DATA = Path(__file__).parent / "data"
RIS = [
    "ovid_psycinfo.ris",
    "scopus.ris",
    "embase.ris",
    "pubmed_endnote.txt",
    "pubmed_zotero.ris",
    "web_of_science.txt",
    "proquest.ris",
]


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PART_BYTES", 64 * 1024)
    monkeypatch.setattr(ingest, "BACKGROUND_BYTES", 64 * 1024)  # these files count as large


def ris_file(path: Path, copies: int = 12, *, crlf: bool = False, bom: bool = False) -> Path:
    text = "\n".join((DATA / "asreview" / name).read_text(encoding="utf-8-sig") for name in RIS)
    body = "\n".join([text] * copies)
    data = body.replace("\n", "\r\n") if crlf else body
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def xml_file(path: Path, copies: int = 40) -> Path:
    articles: list[str] = []
    for name in ("pubmed1.xml", "pubmed2.xml", "pubmed4.xml", "pubmed6.xml", "pubmed7.xml"):
        text = (DATA / "api" / name).read_text(encoding="utf-8")
        articles += re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, flags=re.S)
    body = "\n".join(articles * copies)
    path.write_text(
        '<?xml version="1.0" ?>\n<PubmedArticleSet>\n' + body + "\n</PubmedArticleSet>\n", encoding="utf-8"
    )
    return path


def fields(records) -> list[tuple]:
    return [(r.raw, r.line, r.title, r.authors, r.pmid, r.doi, r.year, r.pages, r.keywords) for r in records]


def both(path: Path) -> tuple[list[tuple], list[tuple]]:
    info = inspect_file(path)
    assert ingest.reads_in_parts(info, 2) and len(parallel._cuts(info)) > 4
    straight = fields(iter_records(info))
    in_parts = fields(iter_records(info, workers=2))
    return straight, in_parts


@pytest.mark.parametrize(("crlf", "bom"), [(False, False), (True, True)])
def test_ris_in_parts_is_the_file_read_straight(tmp_path: Path, crlf: bool, bom: bool) -> None:
    straight, in_parts = both(ris_file(tmp_path / "many.ris", crlf=crlf, bom=bom))
    assert in_parts == straight and len(straight) > 500


def test_pubmed_xml_in_parts_is_the_file_read_straight(tmp_path: Path) -> None:
    straight, in_parts = both(xml_file(tmp_path / "many.xml"))
    assert in_parts == straight and len(straight) == 280  # 7 articles x 40


def errors(path: Path) -> tuple[str, str, int]:
    info = inspect_file(path)
    with pytest.raises(FormatError) as straight:
        list(iter_records(info))
    given: list[object] = []
    with pytest.raises(FormatError) as in_parts:
        given.extend(iter_records(info, workers=2))  # list.extend keeps what came first
    return str(straight.value), str(in_parts.value), len(given)


def test_truncated_ris_fails_the_same(tmp_path: Path) -> None:
    path = ris_file(tmp_path / "cut.ris")
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"ER  -") - 40])
    straight, in_parts, given = errors(path)
    assert in_parts == straight and "ends inside the record" in straight and given > 0


def test_malformed_xml_in_a_middle_part_fails_the_same(tmp_path: Path) -> None:
    path = xml_file(tmp_path / "bad.xml")
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(len(lines) * 2 // 3, "<<<<<<< HEAD")
    path.write_text("\n".join(lines), encoding="utf-8")
    straight, in_parts, given = errors(path)
    assert in_parts == straight and "malformed XML" in straight
    assert given > 100  # the parts before the broken one were given first


def test_encoded_in_parts_are_the_records_read_straight_and_encoded(tmp_path: Path) -> None:
    """Parser processes can hand over records already encoded for the store; the values, and
    the line each starts on (counted in the whole file), are those of encoding here."""
    from scoping.store import record_values

    for path in (ris_file(tmp_path / "many.ris", crlf=True), xml_file(tmp_path / "many.xml")):
        info = inspect_file(path)
        straight = [record_values(r) for r in iter_records(info)]
        in_parts = list(iter_records(info, workers=2, encode=record_values))
        assert in_parts == straight and len({v[0] for v in in_parts}) == len(in_parts) > 200


def test_one_large_file_is_hashed_while_its_parts_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single file read in parts is only sniffed before the import; the hash stored with the
    import is still the file's, and a repeat is still refused before anything is read."""
    import hashlib

    from scoping.errors import DuplicateImportError
    from scoping.ingest.api import import_file, inspect_files
    from scoping.store import Store

    path = ris_file(tmp_path / "many.ris")
    other = ris_file(tmp_path / "other.ris", copies=3)
    [info] = inspect_files([path], workers=2)
    assert info.sha256 == "" and ingest.reads_in_parts(info, 2)
    assert all(i.sha256 for i in inspect_files([path, other], workers=2))  # several: each checked first
    with Store.open(tmp_path / "review.db") as store:
        row = import_file(store, info, source="Mixed", workers=2).row
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row.n_records == store.count_records() == len(list(iter_records(inspect_file(path))))
        with pytest.raises(DuplicateImportError, match="imported before"):
            import_file(store, inspect_files([path], workers=2)[0], source="Mixed", workers=2)
        again = import_file(
            store, inspect_files([path], workers=2)[0], source="Mixed", again=True, workers=2
        ).row
        assert again.sha256 == row.sha256 and store.count_records() == 2 * row.n_records


def test_a_bad_byte_in_a_middle_part_is_the_same_encoding_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoping.errors import EncodingError
    from scoping.ingest.api import import_file, inspect_files
    from scoping.store import Store

    path = ris_file(tmp_path / "bad.ris")
    data = path.read_bytes()
    at = data.index(b"\nAB  - ", len(data) * 2 // 3) + 10
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    with pytest.raises(EncodingError) as checked_first:
        inspect_file(path)
    [info] = inspect_files([path], workers=2)
    assert info.sha256 == ""
    with Store.open(tmp_path / "review.db") as store:
        with pytest.raises(EncodingError) as while_read:
            import_file(store, info, source="Mixed", workers=2)
        assert store.count_records() == 0 and store.list_imports() == []
    line = data[:at].count(b"\n") + 1
    assert str(while_read.value) == str(checked_first.value)
    assert f"line {line}" in str(while_read.value) and "0xff" in str(while_read.value)


# -- the one switch: workers ------------------------------------------------------------------


def make(kind: str, folder: Path) -> Path:
    if kind == "ris":  # cut into parts
        return ris_file(folder / "many.ris", copies=6)
    if kind == "pubmed-xml":  # cut into parts
        return xml_file(folder / "many.xml", copies=20)
    # UTF-16 cannot be cut at a byte: one child process parses the whole file
    path = ris_file(folder / "many-utf8.ris", copies=3)
    wide = folder / "many-utf16.ris"
    wide.write_text(path.read_text(encoding="utf-8"), encoding="utf-16")
    return wide


def stored_rows(path: Path, db: Path, workers: int) -> list[tuple[object, ...]]:
    with Store.open(db) as store:
        [result] = import_files(store, [path], source="Mixed", workers=workers)
        assert result.row.n_records == store.count_records()
        return [(s.id, s.position, s.source, s.record) for s in store.iter_records()]


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("kind", ["ris", "pubmed-xml", "utf-16"])
def test_workers_store_the_rows_reading_here_stores(tmp_path: Path, kind: str, workers: int) -> None:
    path = make(kind, tmp_path)
    here = stored_rows(path, tmp_path / "here.db", 0)
    assert len(here) > 100
    assert stored_rows(path, tmp_path / "workers.db", workers) == here


@pytest.mark.parametrize(("workers", "children"), [(0, False), (1, True), (2, True)])
def test_processes_start_only_when_the_caller_gives_workers(
    tmp_path: Path, workers: int, children: bool
) -> None:
    info = inspect_file(make("ris", tmp_path))
    assert not multiprocessing.active_children()
    records = iter_records(info, workers=workers)
    first = next(records)
    assert (len(multiprocessing.active_children()) > 0) is children
    assert [first, *records] == list(iter_records(info))
