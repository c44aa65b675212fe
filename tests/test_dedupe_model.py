"""The pair model: normalisation before comparison, DOI fit, comparison levels, the shipped
weights, bands and explanations, and the blocking keys added with it. No shared data needed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from scoping.dedupe import DUPLICATE, UNCERTAIN, MatchRow, compare, deduplicate, prepare
from scoping.dedupe.blocking import candidate_pairs
from scoping.dedupe.compare import DOI_CONFLICT
from scoping.dedupe.engine import model_decide, model_vetoes, prepare_all
from scoping.dedupe.keys import fold, mark_doi_fit
from scoping.dedupe.model import FEATURES, FIELD_OF, PairModel, default_model, features
from test_dedupe_support import row

ARTICLE: dict[str, Any] = {
    "title": "Ischaemic preconditioning protects the rat heart against reperfusion arrhythmias",
    "authors": ["Smith, John A.", "Jones, Mary", "Brown, Peter"],
    "year": 2001,
    "journal": "Journal of Molecular and Cellular Cardiology",
    "volume": "33",
    "issue": "4",
    "pages": "711-720",
    "doi": "10.1006/jmcc.2001.1330",
}


# -- normalisation -----------------------------------------------------------------------------


def test_mojibake_is_repaired_before_folding() -> None:
    assert fold("OliÃ©, Jean-Pierre") == fold("Olié, Jean-Pierre") == "olie jean pierre"
    assert fold("Alzheimerâ€™s disease") == fold("Alzheimer’s disease")


def test_clean_text_is_left_as_it_is() -> None:
    assert fold("Ã la carte") != ""  # a capital A with tilde alone is not mojibake
    assert fold("Zürich") == "zurich"


def test_cyrillic_names_are_transliterated_so_they_meet_the_latin_spelling() -> None:
    a = prepare(row(authors=["АЗЬМУК, Н. А."]), 0)
    b = prepare(row(authors=["Azmuk, N A"]), 1)
    assert a.authors[0].family == b.authors[0].family == "azmuk"


def test_transliteration_spells_out_greek_and_cyrillic_and_drops_accents_but_keeps_other_scripts() -> None:
    from scoping.dedupe.keys import transliterate

    assert transliterate("tnf-α") == "tnf- alpha "
    assert transliterate("азьмук") == "azmuk"
    assert transliterate("zürich façade") == "zurich facade"
    assert transliterate("心臓") == "心臓"  # no reading is guessed for Chinese or Japanese
    assert fold("TNF-α") == fold("TNF alpha") == "tnf alpha"


# -- DOI prefixes that do not fit the journal ---------------------------------------------------


def _journal_rows(dois: list[str], journal: str = "Information Systems Journal") -> list[MatchRow]:
    return [
        row(title=f"Article number {n} of this issue", journal=journal, doi=d) for n, d in enumerate(dois)
    ]


def test_a_doi_whose_registrant_no_other_record_of_the_journal_has_does_not_fit() -> None:
    keys = prepare_all(_journal_rows(["10.1046/j.1.a", "10.1046/j.1.b", "10.1046/j.1.c", "10.9999/x.1"]))
    assert [k.doi_fit for k in keys] == [True, True, True, False]


def test_doi_fit_is_unknown_without_enough_evidence() -> None:
    keys = prepare_all(_journal_rows(["10.1046/j.1.a", "10.9999/x.1"]))
    assert [k.doi_fit for k in keys] == [None, None]


def test_an_elsevier_code_of_another_journal_does_not_fit() -> None:
    keys = [prepare(row(journal="Appetite", doi="10.1016/j.ijcard.2012.05.003"), 0)]
    keys.append(prepare(row(journal="Appetite", doi="10.1016/j.appet.2012.05.003"), 1))
    mark_doi_fit(keys)
    assert keys[0].doi_fit is False
    assert keys[1].doi_fit is not False


def test_a_second_doi_that_does_not_fit_is_weak_evidence_not_a_veto() -> None:
    rows = _journal_rows(["10.1046/j.1.a", "10.1046/j.1.b", "10.1046/j.1.c"])
    same = {**ARTICLE, "journal": "Information Systems Journal", "pages": "711"}
    rows += [row(**{**same, "doi": "10.1046/j.1.d"}), row(**{**same, "doi": "10.9999/x.1"})]
    keys = prepare_all(rows)
    c = compare(keys[3], keys[4])
    assert DOI_CONFLICT in c.conflicts and c.doi_weak
    assert model_vetoes(c) == []
    x = features(keys[3], keys[4], c)
    assert x[FEATURES.index("doi_differs_weak")] == 1 and x[FEATURES.index("doi_differs")] == 0


def test_two_dois_that_both_fit_stay_a_veto() -> None:
    rows = _journal_rows(["10.1046/j.1.a", "10.1046/j.1.b", "10.1046/j.1.c"])
    same = {**ARTICLE, "journal": "Information Systems Journal", "pages": "711"}
    rows += [row(**{**same, "doi": "10.1046/j.1.d"}), row(**{**same, "doi": "10.1046/j.1.e"})]
    keys = prepare_all(rows)
    c = compare(keys[3], keys[4])
    assert model_vetoes(c) == [DOI_CONFLICT]
    decision, _ = model_decide(keys[3], keys[4], c, default_model())
    assert decision.label != DUPLICATE and "veto: different DOIs" in decision.rule
    result = deduplicate(rows, model="default")
    assert result.works[rows[3].id] != result.works[rows[4].id]


# -- comparison levels ---------------------------------------------------------------------------


def _levels(a: MatchRow, b: MatchRow) -> set[str]:
    ka, kb = prepare(a, 0), prepare(b, 1)
    x = features(ka, kb, compare(ka, kb))
    assert set(x) <= {0, 1} and len(x) == len(FEATURES)
    return {name for name, v in zip(FEATURES, x, strict=True) if v}


def test_each_field_has_exactly_one_level() -> None:
    on = _levels(row(**ARTICLE), row(**ARTICLE))
    for prefix in ("title_exact", "year_same", "journal_same", "volume_same", "doi_same"):
        assert prefix in on
    assert {"all_agree", "id_and_title", "place_same"} <= on
    for group in (("title_exact", "title_097", "title_090", "title_080", "title_060", "title_low"),):
        assert len(on & set(group)) == 1


def test_a_different_title_without_a_shared_identifier_is_its_own_level() -> None:
    other = {**ARTICLE, "title": "Something else entirely about kidneys in mice", "doi": None}
    on = _levels(row(**ARTICLE), row(**other))
    assert {"title_low", "title_weak_no_id"} <= on
    assert "all_agree" not in on


def test_a_weak_title_with_a_place_that_disagrees_is_a_level_of_its_own() -> None:
    other = {**ARTICLE, "title": "Something else entirely about kidneys in mice", "doi": None, "issue": "5"}
    on = _levels(row(**ARTICLE), row(**other))
    assert {"title_weak_no_id", "title_weak_place_differs", "issue_differs"} <= on
    same_place = _levels(row(**ARTICLE), row(**{**other, "issue": "4"}))
    assert "title_weak_no_id" in same_place and "title_weak_place_differs" not in same_place
    assert default_model().weights["title_weak_place_differs"] < 0


def test_every_feature_belongs_to_a_field() -> None:
    assert set(FIELD_OF) == set(FEATURES)
    assert FIELD_OF["doi_differs_weak"] == "DOI" and FIELD_OF["page_range_same"] == "pages"


# -- the shipped model ---------------------------------------------------------------------------


def test_the_shipped_model_loads_and_names_only_known_features() -> None:
    model = default_model()
    assert set(model.weights) == set(FEATURES)
    assert 0.5 < model.link < 1.0 and 0.0 < model.review < model.link
    assert set(model.bands) == {"link", "review", "distinct"}
    assert len(model.meta["trained_on"]) == 7


def test_the_shipped_weights_point_the_right_way() -> None:
    w = default_model().weights
    assert w["title_exact"] > w["title_low"]
    assert w["first_author_same"] > w["first_author_differs"]
    assert w["journal_same"] > w["journal_differs"]
    assert w["year_same"] > w["year_one"]


def test_contributions_add_up_to_the_log_odds() -> None:
    model = default_model()
    other = {**ARTICLE, "doi": None, "journal": "J Mol Cell Cardiol"}
    ka, kb = prepare(row(**ARTICLE), 0), prepare(row(**other), 1)
    x = features(ka, kb, compare(ka, kb))
    parts = model.explain(x)
    assert math.isclose(sum(parts.values()), model.logit(x), abs_tol=0.05)
    assert parts["title"] > 0 and "prior" in parts


def test_a_model_file_with_an_unknown_feature_is_refused() -> None:
    data = default_model().to_json()
    data["weights"] = {**data["weights"], "colour_of_cover": 1.0}
    with pytest.raises(ValueError, match="colour_of_cover"):
        PairModel.from_json(data)


# -- deduplicate with the model --------------------------------------------------------------------


def test_the_model_links_one_article_from_two_databases_and_says_why() -> None:
    a = row(id=1, **ARTICLE)
    b = row(
        id=2,
        **{
            **ARTICLE,
            "title": ARTICLE["title"].upper(),
            "authors": ["Smith JA", "Jones M", "Brown P"],
            "journal": "J Mol Cell Cardiol",
            "pages": "711-20",
            "doi": None,
        },
    )
    result = deduplicate([a, b], model="default")
    assert result.works == {1: 1, 2: 1}
    (pair,) = result.pairs
    assert pair.label == DUPLICATE and pair.rule.startswith("model P=")
    contributions = pair.fields["contributions"]
    assert isinstance(contributions, dict) and contributions["title"] > 0


def test_the_model_does_not_link_two_articles_of_one_issue() -> None:
    a = row(id=1, **ARTICLE)
    b = row(
        id=2,
        **{**ARTICLE, "title": "Reperfusion injury of the isolated heart", "pages": "721-730", "doi": None},
    )
    result = deduplicate([a, b], model="default")
    assert result.works[1] != result.works[2]


def test_a_record_without_a_title_is_never_linked_by_the_model() -> None:
    a = row(id=1, **ARTICLE)
    b = row(id=2, **{**ARTICLE, "title": None})
    result = deduplicate([a, b], model="default")
    assert result.works[1] != result.works[2]
    assert [p.label for p in result.pairs] in ([UNCERTAIN], [])


def test_rules_remain_the_default() -> None:
    result = deduplicate([row(id=1, **ARTICLE), row(id=2, **ARTICLE)])
    assert not result.pairs[0].rule.startswith("model")


# -- blocking keys -------------------------------------------------------------------------------


def test_abbreviated_and_full_journal_names_meet_on_volume_and_first_page() -> None:
    a = row(title="Kappa opioid receptors in preconditioning", journal="Am J Physiol Heart Circ Physiol")
    b = row(title="#NAME?", journal="American Journal of Physiology - Heart and Circulatory Physiology")
    for r in (a, b):
        r.volume, r.pages = "280", "H384-91"
    pairs, _ = candidate_pairs([prepare(a, 0), prepare(b, 1)])
    assert pairs.tolist() == [[0, 1]]


def test_one_author_year_and_journal_meet_whatever_the_pages_and_title() -> None:
    common = {"authors": ["Avison, David E."], "year": 2001, "journal": "Information Systems Journal"}
    a = row(title="Editorial", pages="271", **common)
    b = row(title="Guest editorial: open source software", pages="273-276", **common)
    pairs, _ = candidate_pairs([prepare(a, 0), prepare(b, 1)])
    assert pairs.tolist() == [[0, 1]]


def test_a_series_prefix_on_one_title_counts_as_a_shortened_title() -> None:
    a = row(
        title="Case records of the Massachusetts General Hospital. Case 17-2012. A 54-year-old man with fever"
    )
    b = row(title="Case 17-2012: A 54-year-old man with fever")
    ka, kb = prepare(a, 0), prepare(b, 1)
    assert compare(ka, kb).title_prefix
    c = row(title="A 54-year-old man with fever")  # three words would be too few; these are six
    assert compare(prepare(a, 0), prepare(c, 1)).title_prefix
    d = row(title="man with fever")
    assert not compare(prepare(a, 0), prepare(d, 1)).title_prefix


def test_an_unknown_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        deduplicate([row(id=1, **ARTICLE)], model="bayes")
