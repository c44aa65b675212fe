"""Differential tests: our readers against reference parsers written by others (rispy,
Bio.Medline, Bio.Entrez, bibtexparser, pandas), field by field, on every real export file in
tests/data and, when it is there, ../shared/data (large files: their first 100 records).

The comparison is bench/ingest_differential.py's (``python bench/ingest_differential.py``
prints the whole table). Every difference it finds must be in :data:`KNOWN`, the one table of
known and justified differences, with its count and reason; a new difference (or one that
went away) fails, and none may be judged "ours wrong".
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "ingest_differential.py"
LIMIT = 100  # records compared per file (the first ones: a sample of the large files)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ingest_differential", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


differential = _load()

# -- the reasons --------------------------------------------------------------------------------
REF = "reference wrong"
AMB = "ambiguous"
REASONS: dict[str, tuple[str, str]] = {
    "STRAY_BRACES": (
        AMB,
        "a malformed file (stray braces): refused here, read with garbled fields by the reference",
    ),
    "NO_ER": (AMB, "a record without its ER line: refused here, split at the next TY by the reference"),
    "REPEATED_TAG": (AMB, "a repeated tag or continuation lines joined differently"),
    "NAN_TEXT": (AMB, "the file holds the text 'nan' (a missing value written out by pandas)"),
    "NO_PAGINATION": (REF, "'No Pagination Specified' is not pages"),
    "CUT_SHORT_ACCEPTED": (
        REF,
        "a truncated or malformed file (stray ER) accepted silently by the reference",
    ),
    "LATEX_LEFT": (REF, "bibtexparser's convert_to_unicode leaves LaTeX undecoded"),
    "GROUP_AUTHORS": (REF, "group authors (CN) are authors too; the reference helper reads FAU/AU only"),
    "M3_TYPE": (REF, "rispy does not read the type in M3 (Scopus 'Review', 'Letter')"),
    "RIS_DOI_ELSEWHERE": (REF, "rispy reads DO only; the DOI is in a link, a note or DI"),
    "MEDLINE_DOI_ELSEWHERE": (
        REF,
        "the DOI is in an unmarked link (ERIC) or in SO; the reference reads [doi] ids only",
    ),
    "PMID_IN_KEY": (REF, "the PMID is in the citation key (Europe PMC: PMID:n)"),
    "MOJIBAKE": (REF, "the file's mojibake kept by the reference (repaired here with ftfy)"),
    "DROPS_RECORDS": (REF, "the reference drops records (truncated or unparsable entries)"),
    "AND_IN_NAME": (REF, "the 'and' before the last of ';'-separated names is not part of it"),
}

# -- every known difference: (file, field, how many, reason) -----------------------------------
KNOWN: list[tuple[str, str, int, str]] = [
    ("tests/data/ingest-cases/digital_work_suffix.csv", "authors", 1, "AND_IN_NAME"),
    ("shared/ASySD/tests/testthat/ris_export.txt", "doc_type", 6, "M3_TYPE"),
    ("shared/ASySD/tests/testthat/ris_export.txt", "doi", 1, "RIS_DOI_ELSEWHERE"),
    ("shared/ASySD/tests/testthat/scopus.ris", "doc_type", 1, "M3_TYPE"),
    ("shared/ASySD/tests/testthat/zotero_export.bib", "abstract", 20, "LATEX_LEFT"),
    ("shared/asreview-datatools/tests/demo_data/dataset_1.ris", "doi", 1, "RIS_DOI_ELSEWHERE"),
    ("shared/asreview-datatools/tests/demo_data/dataset_2.ris", "doi", 1, "RIS_DOI_ELSEWHERE"),
    (
        "shared/asreview/tests/demo_data/baseline_tag_and_field_definitions.ris",
        "file",
        1,
        "CUT_SHORT_ACCEPTED",
    ),
    ("shared/asreview/tests/demo_data/baseline_zotero.ris", "issue", 25, "NAN_TEXT"),
    ("shared/asreview/tests/demo_data/baseline_zotero.ris", "pages", 28, "NAN_TEXT"),
    ("shared/asreview/tests/demo_data/baseline_zotero.ris", "volume", 1, "NAN_TEXT"),
    ("shared/asreview/tests/demo_data/embase.ris", "doc_type", 1, "M3_TYPE"),
    ("shared/asreview/tests/demo_data/ovid_psycinfo.ris", "pages", 3, "NO_PAGINATION"),
    ("shared/asreview/tests/demo_data/ovid_zotero.ris", "pages", 3, "NO_PAGINATION"),
    ("shared/asreview/tests/demo_data/scopus.ris", "doc_type", 2, "M3_TYPE"),
    ("shared/colrev/tests/2_loader/data/bib_data.bib", "records", 1, "DROPS_RECORDS"),
    ("shared/colrev/tests/2_loader/data/nbib_data.nbib", "doi", 1, "MEDLINE_DOI_ELSEWHERE"),
    ("shared/colrev/tests/2_loader/data/ris_data.ris", "file", 1, "NO_ER"),
    ("shared/colrev/tests/review_manager/3_packages_search/data/ebsco_bib.bib", "file", 1, "STRAY_BRACES"),
    (
        "shared/colrev/tests/review_manager/3_packages_search/data/eric_nbib.nbib",
        "doi",
        1,
        "MEDLINE_DOI_ELSEWHERE",
    ),
    (
        "shared/colrev/tests/review_manager/3_packages_search/data/europe_pmc_bib.bib",
        "pmid",
        1,
        "PMID_IN_KEY",
    ),
    (
        "shared/colrev/tests/review_manager/3_packages_search/data/scopus_bib.bib",
        "records",
        1,
        "DROPS_RECORDS",
    ),
    ("shared/colrev/tests/review_manager/3_packages_search/data/trid_ris.ris", "doc_type", 2, "M3_TYPE"),
    ("shared/metaknowledge/metaknowledge/tests/medline_test.medline", "authors", 4, "GROUP_AUTHORS"),
    (
        "shared/paper-evaluating-models-across-research-areas/datasets/sim_datasets/virus.csv",
        "abstract",
        38,
        "MOJIBAKE",
    ),
    (
        "shared/paper-evaluating-models-across-research-areas/datasets/sim_datasets/virus.csv",
        "title",
        3,
        "MOJIBAKE",
    ),
    ("shared/synthesisr/inst/extdata/scopus.ris", "doc_type", 8, "M3_TYPE"),
    ("shared/synthesisr/tests/testthat/testdata/ASP_ris_example.ris", "abstract", 2, "REPEATED_TAG"),
    ("shared/synthesisr/tests/testthat/testdata/ASP_ris_example.ris", "doi", 2, "RIS_DOI_ELSEWHERE"),
    ("shared/synthesisr/tests/testthat/testdata/Scopus_bib_example.bib", "records", 1, "DROPS_RECORDS"),
    ("tests/data/asreview/embase.ris", "doc_type", 1, "M3_TYPE"),
    ("tests/data/asreview/ovid_psycinfo.ris", "pages", 3, "NO_PAGINATION"),
    ("tests/data/asreview/scopus.ris", "doc_type", 2, "M3_TYPE"),
    ("tests/data/colrev-bib/bib_data.bib", "records", 1, "DROPS_RECORDS"),
    ("tests/data/colrev-bib/ebsco_bib.bib", "file", 1, "STRAY_BRACES"),
    ("tests/data/colrev-bib/europe_pmc_bib.bib", "pmid", 1, "PMID_IN_KEY"),
    ("tests/data/colrev-bib/scopus_bib.bib", "records", 1, "DROPS_RECORDS"),
    ("tests/data/colrev/eric_nbib.nbib", "doi", 1, "MEDLINE_DOI_ELSEWHERE"),
    ("tests/data/ingest-cases/access_date_y2.ris", "doi", 1, "RIS_DOI_ELSEWHERE"),
    ("tests/data/ingest-cases/ovid_resolver_doi.ris", "doi", 1, "RIS_DOI_ELSEWHERE"),
    ("tests/data/ingest-cases/ovid_resolver_doi.ris", "pages", 1, "NO_PAGINATION"),
    ("tests/data/ingest-cases/respiratory_mojibake.csv", "authors", 1, "MOJIBAKE"),
    ("tests/data/ingest-cases/stray_er.ris", "file", 1, "CUT_SHORT_ACCEPTED"),
    ("tests/data/ingest-cases/stroke_authors_pages.csv", "pages", 1, "NO_PAGINATION"),
    ("tests/data/ingest-cases/truncated.ris", "file", 1, "CUT_SHORT_ACCEPTED"),
]


@functools.cache
def _sources(label: str) -> tuple[Any, ...]:
    return tuple(differential.discover([r for r in differential.roots() if r[0] == label]))


def _found(label: str, fmt: str) -> dict[tuple[str, str], tuple[int, str, str]]:
    sources = [s for s in _sources(label) if s.format == fmt]
    assert sources, f"no {fmt} files under {label}"
    result = differential.run(sources, LIMIT)
    grouped = Counter((d.file, d.field, d.verdict, d.reason) for d in result["differences"])
    found: dict[tuple[str, str], tuple[int, str, str]] = {}
    for (file, field, verdict, reason), n in grouped.items():
        assert (file, field) not in found, f"two reasons for {file} {field}"
        found[(file, field)] = (n, verdict, reason)
    return found


def _known(label: str, fmt: str) -> dict[tuple[str, str], tuple[int, str, str]]:
    formats = {s.name: s.format for s in _sources(label)}
    return {
        (file, field): (n, *REASONS[code])
        for file, field, n, code in KNOWN
        if file.startswith(label + "/") and formats.get(file) == fmt
    }


@pytest.mark.parametrize("fmt", differential.FORMATS)
@pytest.mark.parametrize("label", ["tests/data", "shared"])
def test_readers_agree_with_reference_parsers(label: str, fmt: str) -> None:
    if label == "shared" and differential.shared_data_dir() is None:
        pytest.skip("../shared/data is absent (set SCOPING_SHARED_DATA to compare on its files too)")
    found = _found(label, fmt)
    known = _known(label, fmt)
    new = {key: value for key, value in found.items() if known.get(key) != value}
    gone = {key: value for key, value in known.items() if key not in found}
    assert not new, f"differences not in KNOWN (or with another count): {new}"
    assert not gone, f"differences in KNOWN that no longer occur (remove them): {gone}"
    assert all(verdict != "ours wrong" for _n, verdict, _reason in found.values())


def test_the_table_names_only_real_files_and_reasons() -> None:
    assert len({(file, field) for file, field, _n, _code in KNOWN}) == len(KNOWN)
    assert all(code in REASONS for *_rest, code in KNOWN)
    assert all(n > 0 for _file, _field, n, _code in KNOWN)
    local = [file for file, *_rest in KNOWN if file.startswith("tests/data/")]
    root = Path(__file__).parent / "data"
    assert all((root / file.removeprefix("tests/data/")).is_file() for file in local)


def test_a_new_difference_is_caught(tmp_path: Path) -> None:
    """A field read differently is found and judged: Scopus's M3 type (rispy ignores M3) on a
    real-shaped record, and the EndNote keyword lines of fault 1 as our old reader read them."""
    path = tmp_path / "one.ris"
    path.write_text("TY  - JOUR\nTI  - A title\nM3  - Review\nPY  - 2020\nER  - \n", encoding="utf-8")
    records, compared, found = differential.compare(differential.Source(path, "tmp/one.ris", "ris"))
    assert (records, compared) == (1, 3)  # title, year, type
    assert [(d.field, d.ours, d.reference, d.verdict) for d in found] == [
        ("doc_type", "review", "JOUR", "reference wrong")
    ]
    joined = differential.Difference(
        "x.ris", "ris", 0, "keywords", ["Adolescent Adult"], ["Adolescent", "Adult"]
    )
    judged = differential.judge(joined, {"_raw": "KW  - Adolescent\nAdult\n"})
    assert (judged.verdict, judged.reason) == (
        "ours wrong",
        "EndNote-style KW lines joined into one keyword (fault 1)",
    )
