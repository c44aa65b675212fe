"""Database listing errors that are not a second publication, and their near misses.

- a correction indexed under the corrected article's title with the article's citation
  (Web of Science, Embase): an erratum, not the article;

Each rule has tests that it links what it should and that it does not link a different
publication that looks almost the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from scoping.dedupe import DISTINCT, DUPLICATE, MatchRow, compare, decide, prepare

_ids = iter(range(1, 1_000_000))


def row(**fields: Any) -> MatchRow:
    fields.setdefault("id", next(_ids))
    return MatchRow(**fields)


def verdict(a: MatchRow, b: MatchRow) -> str:
    ka, kb = prepare(a, 0), prepare(b, 1)
    return decide(ka, kb, compare(ka, kb)).label


# -- corrections indexed under the article's title ---------------------------------------------

ARTICLE = {
    "title": "Eculizumab for atypical hemolytic-uremic syndrome in adults and children",
    "authors": ["Nurnberger, J.", "Philipp, T.", "Witzke, O."],
    "year": 2009, "journal": "New England Journal of Medicine", "volume": "360", "issue": "5",
    "pages": "542-544",
}
CORRECTION = {**ARTICLE, "authors": ["Philipp, T."], "issue": "23", "pages": "2487"}


@pytest.mark.parametrize(
    "title",
    [ARTICLE["title"] + " (vol 360, pg 542, 2009)",
     ARTICLE["title"] + " (New England Journal of Medicine (2009) 360 (542-544))",
     ARTICLE["title"] + " (Circulation (1992) 87 (1) (208-215))"],
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
    ["Results of the STROKE cohort (STROKE (2010) follow up)", "Anti-factor H antibodies (ADAMTS 13) in aHUS",
     "Outcomes in dialysis (vol 2 of the registry report)"],
)
def test_other_parentheses_are_no_correction(title: str) -> None:
    assert not prepare(row(title=title), 0).markers


def test_two_records_of_one_correction_link_but_not_with_the_article() -> None:
    wos = row(**{**CORRECTION, "title": ARTICLE["title"] + " (vol 360, pg 542, 2009)"})
    embase = row(**{**CORRECTION, "title": ARTICLE["title"]
                    + " (New England Journal of Medicine (2009) 360 (542-544))"})
    assert verdict(wos, embase) == DUPLICATE
    assert verdict(row(**ARTICLE), wos) == DISTINCT
    assert verdict(row(**ARTICLE), embase) == DISTINCT
