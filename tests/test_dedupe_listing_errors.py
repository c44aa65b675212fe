"""Database listing errors that are not a second publication, and their near misses.

- a correction indexed under the corrected article's title with the article's citation
  (Web of Science, Embase): an erratum, not the article;
- one publication listed twice in one journal volume with a wrong page or issue;
- a second DOI that names another journal.
- one article printed twice by its journal, in two volumes under two DOIs.
- an erratum printed in the same issue right after the article, whose record carries the
  article's abstract: part of the article (other corrections stay apart from it).
- a citation shifted by one field (volume read as the issue, issue as the page): compared as
  volume and issue.

Each rule has tests that it links what it should and that it does not link a different
publication that looks almost the same.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from scoping.dedupe import DISTINCT, DUPLICATE, MatchRow, deduplicate, prepare
from scoping.dedupe.compare import _code_fits, hard_conflict
from scoping.dedupe.evaluate import removal_counts
from test_dedupe_support import row, verdict

# -- corrections indexed under the article's title ---------------------------------------------

ARTICLE: dict[str, Any] = {
    "title": "Eculizumab for atypical hemolytic-uremic syndrome in adults and children",
    "authors": ["Nurnberger, J.", "Philipp, T.", "Witzke, O."],
    "year": 2009,
    "journal": "New England Journal of Medicine",
    "volume": "360",
    "issue": "5",
    "pages": "542-544",
}
CORRECTION = {**ARTICLE, "authors": ["Philipp, T."], "issue": "23", "pages": "2487"}


@pytest.mark.parametrize(
    "title",
    [
        ARTICLE["title"] + " (vol 360, pg 542, 2009)",
        ARTICLE["title"] + " (New England Journal of Medicine (2009) 360 (542-544))",
        ARTICLE["title"] + " (Circulation (1992) 87 (1) (208-215))",
    ],
    ids=["web-of-science", "embase", "embase-with-issue"],
)
def test_a_correction_with_the_articles_citation_is_an_erratum(title: str) -> None:
    k = prepare(row(title=title), 0)
    assert k.markers == {"erratum"}
    assert k.title == "eculizumab for atypical hemolytic uremic syndrome in adults and children"
    assert not k.numbers


def test_a_cut_off_citation_is_dropped_only_from_an_erratum() -> None:
    cut = prepare(row(title="Erratum: " + ARTICLE["title"] + " (The Journal of Pediatrics (M"), 0)
    assert cut.title.endswith("in adults and children")
    assert cut.markers == {"erratum"}
    plain = prepare(row(title="Outcomes of sepsis in adults (The Lancet (M"), 0)
    assert plain.title == "outcomes of sepsis in adults the lancet m"
    assert not plain.markers


@pytest.mark.parametrize(
    "title",
    [
        "Results of the STROKE cohort (STROKE (2010) follow up)",
        "Anti-factor H antibodies (ADAMTS 13) in aHUS",
        "Outcomes in dialysis (vol 2 of the registry report)",
    ],
)
def test_other_parentheses_are_no_correction(title: str) -> None:
    assert not prepare(row(title=title), 0).markers


def test_two_records_of_one_correction_link_but_not_with_the_article() -> None:
    wos = row(**{**CORRECTION, "title": ARTICLE["title"] + " (vol 360, pg 542, 2009)"})
    embase = row(
        **{
            **CORRECTION,
            "title": ARTICLE["title"] + " (New England Journal of Medicine (2009) 360 (542-544))",
        }
    )
    assert verdict(wos, embase) == DUPLICATE
    assert verdict(row(**ARTICLE), wos) == DISTINCT
    assert verdict(row(**ARTICLE), embase) == DISTINCT


# -- one publication listed twice in one volume ------------------------------------------------

ABSTRACT = {
    "title": "Effects of incretin on artery lesions in a model of atherosclerosis in mice",
    "authors": ["Chen R.", "Wang Y.", "Liang L."],
    "year": 2014,
    "journal": "Diabetes/Metabolism Research and Reviews",
    "volume": "30",
    "issue": "S3",
    "pages": "51",
}
PAPER = {
    "title": "Incentive spirometry with expiratory positive airway pressure after thoracic surgery",
    "authors": ["Agostini, P.", "Calvert, R.", "Subramanian, H.", "Naidu, B."],
    "year": 2008,
    "journal": "Physiotherapy",
    "volume": "94",
    "issue": "3",
    "pages": "233-238",
}


@pytest.mark.parametrize(
    ("base", "change"),
    [
        (ABSTRACT, {"pages": "52"}),
        ({**ABSTRACT, "pages": "e3", "issue": "10"}, {"pages": "e8-e9"}),
        (PAPER, {"pages": "230-235"}),
        (PAPER, {"pages": "235-240", "issue": None}),
    ],
    ids=["abstract-number-and-page", "e-pages", "shifted-range", "overlap-no-issue"],
)
def test_one_item_listed_with_a_wrong_page_is_a_duplicate(
    base: dict[str, Any], change: dict[str, Any]
) -> None:
    assert verdict(row(**base), row(**{**base, **change})) == DUPLICATE


@pytest.mark.parametrize(
    ("base", "change"),
    [
        (PAPER, {"pages": "801-810"}),
        (PAPER, {"pages": "238-245"}),
        (PAPER, {"pages": "239"}),
        (ABSTRACT, {"pages": "52", "issue": "S4"}),
        ({**ABSTRACT, "issue": "3"}, {"pages": "52", "issue": "4"}),
    ],
    ids=["two-full-ranges", "touching-ranges", "page-after-range", "other-supplement", "other-issue"],
)
def test_the_same_title_and_authors_elsewhere_in_the_volume_stay_apart(
    base: dict[str, Any], change: dict[str, Any]
) -> None:
    a, b = row(**base), row(**{**base, **change})
    assert verdict(a, b) == DISTINCT
    assert hard_conflict(prepare(a, 0), prepare(b, 1)) is not None  # never chained together either


@pytest.mark.parametrize(
    ("base", "change"),
    [
        (ABSTRACT, {"pages": "52", "authors": ["Chen R.", "Li X.", "Zhou Q."]}),
        (ABSTRACT, {"pages": "52", "title": "Effects of incretin on artery lesions in a model of diabetes"}),
        (ABSTRACT, {"pages": "52", "year": 2015}),
        ({**ABSTRACT, "title": "Incretin effects on lesions"}, {"pages": "52"}),
        ({**ABSTRACT, "title": "Editor's comments"}, {"pages": "52"}),
    ],
    ids=["other-authors", "other-title", "other-year", "title-of-four-words", "generic-title"],
)
def test_short_items_on_neighbouring_pages_need_the_same_title_authors_and_year(
    base: dict[str, Any], change: dict[str, Any]
) -> None:
    a, b = row(**base), row(**{**base, **change})
    assert verdict(a, b) != DUPLICATE
    assert hard_conflict(prepare(a, 0), prepare(b, 1)) is not None


def test_the_same_first_page_under_another_issue_is_one_article() -> None:
    article = {**ARTICLE, "issue": "1", "pages": "240-245"}
    assert verdict(row(**article), row(**{**article, "issue": "25", "pages": "240"})) == DUPLICATE
    # not another article of the same authors, nor without pages to compare
    other = {**article, "title": "Complement factor B mutations in familial haemolytic uraemic syndrome"}
    assert verdict(row(**article), row(**{**other, "issue": "25", "pages": "240"})) == DISTINCT
    assert verdict(row(**article), row(**{**article, "issue": "25", "pages": None})) == DISTINCT


def test_records_of_one_abstract_with_and_without_its_doi_form_one_work() -> None:
    """Two records carry the DOI and pages 51 and 52; two more have no DOI: the pages conflict
    must not split the work when the chain is checked."""
    doi = "10.1002/dmrr.2604"
    rows = [
        row(**ABSTRACT, doi=doi),
        row(**{**ABSTRACT, "pages": "52", "doi": doi}),
        row(**{**ABSTRACT, "issue": None}),
        row(**{**ABSTRACT, "pages": "52", "issue": None}),
    ]
    result = deduplicate(rows)
    assert len(set(result.works.values())) == 1


# -- a second DOI of another journal -----------------------------------------------------------

MEETING = {
    "title": "Liraglutide and linagliptin improve glycemic control in a hamster model of obesity",
    "authors": ["Hansen F.", "Hansen G.", "Pedersen P. J.", "Vrang N."],
    "year": 2012,
    "journal": "Appetite",
    "volume": "59",
    "pages": "e24",
}


@pytest.mark.parametrize(
    ("code", "journal", "fits"),
    [
        ("appet", "appetite", True),
        ("ijcard", "int j cardiol", True),
        ("yjmcc", "j mol cell cardiol", True),
        ("jsis", "journal strategic information systems", True),
        ("regpep", "appetite", False),
        ("jacc", "appetite", False),
    ],
)
def test_doi_journal_codes(code: str, journal: str, fits: bool) -> None:
    assert _code_fits(code, journal) is fits


def test_a_doi_of_another_journal_is_no_conflict() -> None:
    right = row(**MEETING, doi="10.1016/j.appet.2012.05.003")
    wrong = row(**MEETING, doi="10.1016/j.regpep.2012.05.039")
    assert verdict(right, wrong) == DUPLICATE


@pytest.mark.parametrize(
    "change",
    [
        {"doi": "10.1016/j.appet.2012.05.009"},
        {"doi": "10.1016/j.regpep.2012.05.039", "pages": "e25"},
        {
            "doi": "10.1016/j.regpep.2012.05.039",
            "title": "Liraglutide improves glycemic control in obese rats",
        },
        {"doi": "10.1016/j.regpep.2012.05.039", "authors": ["Jelsing J.", "Vrang N."]},
        {"doi": "10.1016/j.regpep.2012.05.039", "journal": "Regulatory Peptides", "volume": "177"},
        {"doi": "10.1002/dmrr.2604"},
    ],
    ids=[
        "both-dois-of-the-journal",
        "other-page",
        "other-title",
        "other-authors",
        "other-journal",
        "doi-without-journal-code",
    ],
)
def test_two_dois_still_conflict_otherwise(change: dict[str, Any]) -> None:
    a = row(**MEETING, doi="10.1016/j.appet.2012.05.003")
    b = row(**{**MEETING, **change})
    assert verdict(a, b) != DUPLICATE
    assert hard_conflict(prepare(a, 0), prepare(b, 1)) is not None


# -- one article printed twice by its journal -------------------------------------------------

REPRINTED: dict[str, Any] = {
    "title": "Sponsorship and vendor management of information technology projects",
    "authors": ["Liu, Li", "Yetton, Philip"],
    "year": 2009,
    "journal": "Journal of Information Technology",
    "volume": "24",
    "issue": "1",
    "pages": "46-54",
    "doi": "10.1057/jit.2009.2",
    "abstract": "Project sponsorship is assumed to be critical to the success of information systems "
    "development and implementation. However, the role of the sponsor in managing an "
    "external vendor has received little attention. This paper draws on agency theory "
    "to explain how sponsors shape vendor behaviour in outsourced projects.",
}
PRINTED_AGAIN = {"year": 2010, "volume": "25", "pages": "56-64", "doi": "10.1057/jit.2008.23"}


def test_one_article_printed_in_two_volumes_is_one_publication() -> None:
    a, b = row(**REPRINTED), row(**{**REPRINTED, **PRINTED_AGAIN})
    assert verdict(a, b) == DUPLICATE
    assert hard_conflict(prepare(a, 0), prepare(b, 1)) is None
    # at two places in one issue, under one DOI each
    assert verdict(a, row(**{**REPRINTED, "pages": "64-72", "doi": "10.1057/jit.2009.9"})) == DUPLICATE


@pytest.mark.parametrize(
    ("both", "second"),
    [
        ({"abstract": None}, {}),
        (
            {},
            {
                "abstract": "Sponsors of information technology projects were interviewed about how they "
                "manage external vendors; the findings extend agency theory to sponsorship of "
                "outsourced projects and suggest how sponsors can shape the behaviour of vendors."
            },
        ),
        ({"abstract": REPRINTED["abstract"][:150]}, {}),
        ({"pages": "965-966"}, {"pages": "1161-1162"}),
        ({}, {"pages": "56-60"}),
        ({}, {"year": 2011}),
        ({}, {"authors": ["Liu, Li", "Yetton, Philip", "Sauer, Chris"]}),
        ({}, {"authors": ["Zimmer, Michael", "Yetton, Philip"]}),
        ({}, {"journal": "Journal of Management Information Systems"}),
        ({}, {"title": "Reply: " + REPRINTED["title"]}),
        ({"title": "From the editors"}, {}),
    ],
    ids=[
        "no-abstract",
        "other-abstract",
        "short-abstract",
        "two-pages-like-a-meeting-abstract",
        "other-length",
        "two-years-apart",
        "another-author",
        "other-first-author",
        "other-journal",
        "reply-under-the-articles-title",
        "generic-title",
    ],
)
def test_a_second_printing_needs_title_authors_abstract_journal_and_length(
    both: dict[str, Any], second: dict[str, Any]
) -> None:
    a = row(**{**REPRINTED, **both})
    b = row(**{**REPRINTED, **PRINTED_AGAIN, **both, **second})
    assert verdict(a, b) != DUPLICATE
    assert hard_conflict(prepare(a, 0), prepare(b, 1)) is not None


# -- an erratum printed with the article and indexed with its abstract ------------------------

REQUIREMENTS: dict[str, Any] = {
    "title": "How do requirements evolve over time? A case study of enterprise software in the cloud",
    "authors": ["Schneider, Stephan", "Wollersheim, Jan", "Krcmar, Helmut", "Sunyaev, Ali"],
    "year": 2018,
    "journal": "Journal of Information Technology",
    "volume": "33",
    "issue": "2",
    "pages": "151-170",
    "doi": "10.1057/s41265-016-0001-y",
    "abstract": "Organisations increasingly source cloud-based enterprise software, yet little is known "
    "about how their requirements for such software change once it is in use. This case "
    "study follows one organisation over four years and explains the role of context and "
    "experience in the evolution of its requirements.",
}
PRINTED_ERRATUM = {
    "title": "Erratum to: " + REQUIREMENTS["title"],
    "pages": "171",
    "doi": "10.1057/s41265-017-0039-5",
}


def test_an_erratum_printed_with_the_article_and_indexed_with_its_abstract_is_part_of_it() -> None:
    article, erratum = row(**REQUIREMENTS), row(**{**REQUIREMENTS, **PRINTED_ERRATUM})
    assert verdict(article, erratum) == DUPLICATE
    assert verdict(erratum, article) == DUPLICATE
    assert hard_conflict(prepare(article, 0), prepare(erratum, 1)) is None
    # both titles cut short by a database at different lengths
    cut = row(**{**REQUIREMENTS, **PRINTED_ERRATUM, "title": PRINTED_ERRATUM["title"][:70]})
    assert verdict(row(**{**REQUIREMENTS, "title": REQUIREMENTS["title"][:80]}), cut) == DUPLICATE


@pytest.mark.parametrize(
    ("both", "change"),
    [
        ({}, {"abstract": None}),
        (
            {},
            {
                "abstract": "The authors regret an error in the second table of the article: the number of "
                "interviews in the second round was misprinted. The corrected table is given "
                "below; the findings and conclusions of the article are not affected by it."
            },
        ),
        ({"abstract": REQUIREMENTS["abstract"][:150]}, {}),
        ({}, {"issue": "4", "pages": "361"}),
        ({}, {"volume": "34", "year": 2019, "issue": "1", "pages": "95"}),
        ({}, {"volume": "34"}),
        ({}, {"year": 2019}),
        ({}, {"pages": "160"}),
        ({}, {"pages": "171-173"}),
        ({}, {"authors": ["Schneider, Stephan", "Wollersheim, Jan", "Krcmar, Helmut"]}),
        ({}, {"authors": ["Zimmer, Michael", "Mason, Richard", "Krcmar, Helmut", "Sunyaev, Ali"]}),
        (
            {},
            {"title": "Erratum to: How do requirements for enterprise software change in the public sector?"},
        ),
        ({}, {"title": "Erratum to: How do requirements"}),
        ({}, {"title": "Erratum to: " + REQUIREMENTS["title"] + ": the authors reply"}),
        ({}, {"title": "Retraction: " + REQUIREMENTS["title"]}),
        ({}, {"title": REQUIREMENTS["title"], "authors": ["Zimmer, Michael"], "pages": "171-172"}),
    ],
    ids=[
        "no-abstract",
        "its-own-abstract",
        "short-abstract",
        "later-issue",
        "later-volume",
        "other-volume",
        "other-year",
        "inside-the-article",
        "three-pages",
        "fewer-authors",
        "other-authors",
        "other-article",
        "title-of-three-words",
        "erratum-of-a-reply",
        "retraction",
        "comment-by-another-author-under-the-title",
    ],
)
def test_other_corrections_and_notices_stay_apart_from_the_article(
    both: dict[str, Any], change: dict[str, Any]
) -> None:
    article = row(**{**REQUIREMENTS, **both})
    notice = row(**{**REQUIREMENTS, **PRINTED_ERRATUM, **both, **change})
    assert verdict(article, notice) != DUPLICATE
    assert hard_conflict(prepare(article, 0), prepare(notice, 1)) is not None


# -- a citation shifted by one field ------------------------------------------------------------

MEETING_ABSTRACT = {
    "title": "The treatment of atypical HUS",
    "authors": ["Loirat, C."],
    "year": 2011,
    "journal": "Pediatric Nephrology. Conference: 44th Annual Scientific Meeting of the European "
    "Society for Paediatric Nephrology",
    "volume": "26",
    "issue": "9",
    "pages": "1746",
}
SHIFTED = {"volume": None, "issue": "26", "pages": "9"}
"""The same abstract exported without its volume: volume 26 read as the issue, issue 9 as the page."""


def test_a_citation_shifted_by_one_field_is_read_as_volume_and_issue() -> None:
    full, shifted = row(**MEETING_ABSTRACT), row(**{**MEETING_ABSTRACT, **SHIFTED})
    assert verdict(full, shifted) == DUPLICATE
    assert verdict(shifted, full) == DUPLICATE
    assert hard_conflict(prepare(full, 0), prepare(shifted, 1)) is None


@pytest.mark.parametrize(
    "change",
    [
        {"pages": "10"},  # the "page" is not the other record's issue
        {"issue": "25"},  # the issue is not the other record's volume
        {"volume": "26"},  # a volume of its own: the page is a page
        {"pages": "9-10"},  # a page range is no issue number
        {"year": 2012},
    ],  # another year: another volume of a yearly meeting
    ids=["other-page", "other-issue", "own-volume", "page-range", "other-year"],
)
def test_numbers_that_do_not_fit_the_shift_stay_a_conflict(change: dict[str, Any]) -> None:
    full, other = row(**MEETING_ABSTRACT), row(**{**MEETING_ABSTRACT, **SHIFTED, **change})
    assert verdict(full, other) != DUPLICATE
    assert hard_conflict(prepare(full, 0), prepare(other, 1)) is not None


def test_a_shifted_citation_is_no_proof_in_another_journal() -> None:
    authors = ["Loirat, C.", "Fremeaux-Bacchi, V."]
    full = row(**{**MEETING_ABSTRACT, "authors": authors})
    other = row(
        **{
            **MEETING_ABSTRACT,
            **SHIFTED,
            "authors": authors,
            "journal": "Nephrology Dialysis Transplantation",
        }
    )
    assert verdict(full, other) != DUPLICATE


def test_a_shifted_citation_does_not_join_another_title_in_that_issue() -> None:
    full = row(**MEETING_ABSTRACT)
    other = row(**{**MEETING_ABSTRACT, **SHIFTED, "title": "Eculizumab in atypical HUS after a transplant"})
    assert verdict(full, other) == DISTINCT


# -- the benchmark sets these rules came from --------------------------------------------------


def _benchmark(folder: Path) -> tuple[list[str], list[list[str]], list[MatchRow]]:
    from scoping.ingest import inspect_file, iter_records

    csv.field_size_limit(2**31 - 1)
    records = list(iter_records(inspect_file(folder / "records_pre_merged.csv")))
    with (folder / "merged_record_ids.csv").open(encoding="utf-8", newline="") as f:
        truth = [r["merged_ids"].split(";") for r in csv.DictReader(f)]
    ids = [r.source_id or "" for r in records]
    return ids, truth, [MatchRow.from_record(i, r) for i, r in enumerate(records)]


@pytest.mark.parametrize(
    ("name", "max_fn"), [("diabetes", 0), ("haematology", 14), ("stroke", 2), ("digital_work", 1)]
)
def test_benchmark_sets_without_false_links(shared_data: Path, name: str, max_fn: int) -> None:
    folder = shared_data / "bib-dedupe-0.7.2" / "bib_dedupe" / "data" / name
    if not folder.is_dir():
        pytest.skip(f"benchmark set {name} is absent")
    ids, truth, rows = _benchmark(folder)
    result = deduplicate(rows)
    groups: dict[int, list[str]] = {}
    for rid, work in result.works.items():
        groups.setdefault(work, []).append(ids[rid])
    linked = [g for g in groups.values() if len(g) > 1]
    of = {x: n for n, g in enumerate(truth) for x in g}
    mixed = [sorted(g) for g in linked if len({of.get(x, x) for x in g}) > 1]
    counts = removal_counts(ids, truth, linked)
    assert mixed in ([], TRUTH_ERRORS.get(name, []))
    assert counts.fp == len(mixed)
    assert counts.fn <= max_fn


TRUTH_ERRORS = {
    "digital_work": [["id_0000000", "id_3000384"]],
}
"""Pairs the ground truth keeps apart that are one publication: since names and titles in
Cyrillic are transliterated (issue 17), these two records meet on everything. Both are
"ЗАЙНЯТІСТЬ І МОТИВАЦІЯ ПРАЦІ В ІНФОРМАЦІЙНІЙ ЕКОНОМІЦІ" (one with "ПРАЩ", a misread
letter) by Azmuk N. A. (one record in Cyrillic), Problems of Economy / Problemy Ekonomiky,
issue 4, pages 376-383, 2017, with the same abstract. The benchmark counts the link as a false
positive; the test allows that one link and no other."""
