"""The dedupe stage on plain rows: keys, pair rules, grouping, merged view, overlap, scoring."""

from __future__ import annotations

from typing import Any

import pytest

from scoping.dedupe import (
    DISTINCT,
    DUPLICATE,
    UNCERTAIN,
    MatchRow,
    deduplicate,
    merge_records,
    prepare,
    source_overlap,
)
from scoping.dedupe.evaluate import removal_counts
from scoping.dedupe.keys import parse_author
from scoping.records import make_record
from test_dedupe_support import row, verdict

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


# -- keys --------------------------------------------------------------------------------------


def test_title_keys_fold_markup_case_accents_and_greek() -> None:
    k = prepare(row(title="<i>In vitro</i> study of β-blockers &amp; CO<sub>2</sub> in Zürich."), 0)
    assert k.title == "in vitro study of beta blockers and co2 in zurich"


def test_translated_titles_in_brackets_become_a_second_title() -> None:
    k = prepare(row(title="Crowdwork: applying a theory [Arbeiten in der Crowd: eine Theorie]"), 0)
    assert k.title == "crowdwork applying a theory"
    assert k.alt_title == "arbeiten in der crowd eine theorie"
    whole = prepare(row(title="[Early chest tube removal after surgery]."), 0)
    assert whole.title == "early chest tube removal after surgery"


def test_database_annotations_are_not_part_of_the_title() -> None:
    k = prepare(row(title="Eculizumab for atypical HUS.[Erratum appears in N Engl J Med. 2009;360:2487]"), 0)
    assert k.title == "eculizumab for atypical hus"
    assert not k.markers
    assert prepare(row(title="Colposcopy in 2008. [Review] [57 refs]"), 0).numbers == {"2008"}


def test_cyrillic_titles_are_transliterated_other_scripts_keep_their_letters() -> None:
    k = prepare(row(title="Платформенная занятость: масштабы и признаки"), 0)
    assert k.title == "platformennaya zanyatost masshtaby i priznaki"
    assert prepare(row(title="플랫폼 노동시장의 구직기간"), 0).title == "플랫폼 노동시장의 구직기간"


@pytest.mark.parametrize(
    ("name", "family", "initials"),
    [
        ("Smith, John A.", "smith", "ja"),
        ("J. A. Smith", "smith", "ja"),
        ("Smith JA", "smith", "ja"),
        ("van der Berg, Anna", "berg", "a"),
        ("Le Quintrec, M.", "quintrec", "m"),
        ("Müller, Jörg", "muller", "j"),
        ("Si Hyun Kang, null", "kang", "sh"),
    ],
)
def test_author_names_in_any_layout(name: str, family: str, initials: str) -> None:
    author = parse_author(name)
    assert author is not None
    assert (author.family, author.initials) == (family, initials)


def test_authors_run_together_are_split() -> None:
    k = prepare(row(authors=["Hirata T.Fukuse T.Ishikawa S.O'Rourke B."]), 0)
    assert [a.family for a in k.authors] == ["hirata", "fukuse", "ishikawa", "orourke"]


@pytest.mark.parametrize(
    ("pages", "first", "last"),
    [
        ("1391-402", "1391", "1402"),
        ("352-9", "352", "359"),
        ("e0123456", "e123456", ""),
        ("II-221-5; discussion II-225-6", "221", "225"),
        ("11-Jul", "11", "17"),
        ("Nov-17", "11", "17"),
        ("H1327-H1336", "h1327", "h1336"),
        ("215 p", "", ""),
    ],
)
def test_pages(pages: str, first: str, last: str) -> None:
    k = prepare(row(pages=pages), 0)
    assert (k.first_page, k.last_page) == (first, last)


def test_dois_escaped_or_hyphenated_compare_equal() -> None:
    a = prepare(row(doi="10.1016/0167-5273%2890%2990084-i"), 0)
    b = prepare(row(doi="10.1016/0167-5273(90)90084-I"), 1)
    assert a.doi == b.doi
    assert prepare(row(doi="10.1101/2020.01.01.123456"), 0).doi_preprint


def test_journal_subtitles_and_volume_fragments() -> None:
    k = prepare(
        row(
            journal="Journal of clinical oncology : official journal of ASCO",
            volume="1)",
            issue="Suppl. 2",
            year=2010,
        ),
        0,
    )
    assert k.journal_key == "journal clinical oncology"
    assert k.volume == "" and k.supplement == "2" and k.issue == ""
    assert prepare(row(volume="2016", year=2016), 0).volume == ""


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("am j physiol heart circ physiol", "american journal physiology", True),
        ("american journal physiology", "am j physiol heart circ physiol", True),
        ("am j physiol heart circ physiol", "american journal cardiology", False),
        ("am j physiol", "american journal physiology heart", True),
    ],
)
def test_a_full_journal_name_without_its_section_meets_the_abbreviation(a: str, b: str, same: bool) -> None:
    """A database that drops the section ("Heart and Circulatory Physiology") of a journal."""
    from scoping.dedupe.compare import journal_similarity

    assert (journal_similarity(a, b) >= 0.9) is same


# -- pair rules: links that must be made -------------------------------------------------------


def test_same_doi_with_formatting_differences_is_a_duplicate() -> None:
    other = {
        **ARTICLE,
        "title": "ISCHAEMIC PRECONDITIONING PROTECTS THE RAT HEART AGAINST REPERFUSION ARRHYTHMIAS.",
        "authors": ["Smith J A", "Jones M", "Brown P"],
        "journal": "J Mol Cell Cardiol",
        "pages": "711-20",
        "doi": "https://doi.org/10.1006/JMCC.2001.1330",
    }
    assert verdict(row(**ARTICLE), row(**other)) == DUPLICATE


def test_no_doi_but_title_authors_year_journal_pages_is_a_duplicate() -> None:
    other = {
        **ARTICLE,
        "doi": None,
        "authors": ["Smith J.", "Jones M.", "Brown P."],
        "journal": "J Mol Cell Cardiol",
        "title": ARTICLE["title"].replace("Ischaemic", "Ischemic"),
    }
    assert verdict(row(**ARTICLE), row(**other)) == DUPLICATE


def test_identical_records_imported_twice_are_duplicates() -> None:
    assert verdict(row(**ARTICLE), row(**ARTICLE)) == DUPLICATE


def test_translated_title_with_the_same_place_in_the_journal_is_a_duplicate() -> None:
    a = row(
        title="[Pleurodesis in malignant pleural effusion: bleomycin vs. mitoxantrone]",
        authors=["Schmidt, M.", "Chemaissani, A."],
        year=1997,
        journal="Pneumologie",
        volume="51",
        pages="367-372",
    )
    b = row(
        title="Pleurodesis bei malignem Pleuraerguss: Bleomycin versus Mitoxantron "
        "[Pleurodesis in malignant pleural effusion: bleomycin vs. mitoxantrone]",
        authors=["Schmidt M", "Chemaissani A"],
        year=1997,
        journal="Pneumologie (Stuttgart, Germany)",
        volume="51",
        pages="367-72",
    )
    assert verdict(a, b) == DUPLICATE


def test_non_latin_duplicates_link() -> None:
    fields = {
        "title": "Платформенная занятость: масштабы и признаки неустойчивости",
        "authors": ["Бобков, В. Н.", "Черных, Е. А."],
        "year": 2020,
        "journal": "Мир новой экономики",
        "volume": "14",
        "pages": "6-15",
    }
    assert verdict(row(**fields), row(**{**fields, "authors": ["Бобков В.Н.", "Черных Е.А."]})) == DUPLICATE


# -- pair rules: links that must never be made -------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Erratum: " + ARTICLE["title"], "pages": "1201", "doi": None},
        {"title": "Correction to: " + ARTICLE["title"], "doi": None, "pages": None},
        {"title": "Reply: " + ARTICLE["title"], "doi": None, "pages": None},
        {"title": "Comment on: " + ARTICLE["title"], "doi": None, "pages": None},
        {"title": "Retracted: " + ARTICLE["title"], "doi": None, "pages": None},
        {"doi": "10.1006/jmcc.2001.1399", "pages": "721-730"},
        {"year": 2005, "doi": None},
        {"pages": "801-810", "doi": None},
        {"volume": "34", "doi": None},
        {"issue": "5", "pages": None, "doi": None},
    ],
    ids=[
        "erratum",
        "correction",
        "reply",
        "comment",
        "retraction",
        "other-doi",
        "years-apart",
        "other-pages",
        "other-volume",
        "other-issue",
    ],
)
def test_conflicting_records_are_never_linked(change: dict[str, Any]) -> None:
    assert verdict(row(**ARTICLE), row(**{**ARTICLE, **change})) == DISTINCT


def test_parts_and_numbers_in_titles_keep_records_apart() -> None:
    base = {**ARTICLE, "doi": None, "pages": None, "volume": None}
    one = row(**{**base, "title": "Cardiac rehabilitation after infarction. Part 1: exercise"})
    two = row(**{**base, "title": "Cardiac rehabilitation after infarction. Part 2: exercise"})
    assert verdict(one, two) == DISTINCT
    t1 = row(**{**base, "title": "Outcomes of the STROKE-1 trial at 6 months"})
    t2 = row(**{**base, "title": "Outcomes of the STROKE-1 trial at 12 months"})
    assert verdict(t1, t2) == DISTINCT


def test_a_doi_shared_by_a_whole_book_links_no_chapters() -> None:
    book = {
        "doi": "10.1007/978-3-642-72497-8",
        "year": 2010,
        "journal": "Handbook of cardiology",
        "authors": ["Editor, E."],
    }
    a = row(**book, title="Chapter on myocardial ischaemia in rodents and larger mammals")
    b = row(**book, title="Chapter on the treatment of heart failure in older patients")
    assert verdict(a, b) == DISTINCT


def test_one_word_and_missing_titles_are_not_evidence() -> None:
    ed = {"authors": ["Lee, Allen S."], "year": 2000, "journal": "MIS Quarterly", "volume": "24"}
    editorial = row(title="Editorial", **ed, issue="1")
    assert verdict(editorial, row(title="Editorial", **ed, issue="1")) != DUPLICATE
    assert verdict(row(title=None, **ed), row(title=None, **ed)) == DISTINCT
    recurring = "Remarks from MIS Quarterly Editor - Editor's Comments"
    assert verdict(row(title=recurring, **ed, issue="1"), row(title=recurring, **ed, issue="2")) == DISTINCT


def test_preprint_and_published_version_go_to_a_person() -> None:
    preprint = {
        **ARTICLE,
        "doi": "10.1101/2020.05.01.20087890",
        "journal": "medRxiv",
        "volume": None,
        "issue": None,
        "pages": None,
        "year": 2020,
    }
    published = {**ARTICLE, "year": 2021}
    assert verdict(row(**preprint), row(**published)) == UNCERTAIN


def test_two_dois_of_one_article_link_only_when_everything_else_places_it() -> None:
    # publishers gave some older articles a second DOI (Springer "BF" DOIs, Elsevier's moves)
    a = {**ARTICLE, "doi": "10.1007/bf00796217"}
    b = {**ARTICLE, "doi": "10.1007/s003950050053", "journal": "J Mol Cell Cardiol"}
    assert verdict(row(**a), row(**b)) == DUPLICATE
    assert verdict(row(**a), row(**{**b, "pages": "721-730"})) == DISTINCT
    assert verdict(row(**a), row(**{**b, "title": "Erratum: " + ARTICLE["title"]})) == DISTINCT


@pytest.mark.parametrize(
    ("pages", "expected"),
    [("720", DUPLICATE), ("712-720", DUPLICATE), ("720-725", DISTINCT), ("721", DISTINCT)],
    ids=["last-page-only", "same-end", "touching-ranges", "page-after"],
)
def test_page_ranges_that_overlap(pages: str, expected: str) -> None:
    a = {**ARTICLE, "doi": None}
    assert verdict(row(**a), row(**{**a, "pages": pages})) == expected


def test_conference_abstracts_named_by_journal_or_by_congress() -> None:
    fields = {
        "title": "Eculizumab therapy for atypical hemolytic uremic syndrome in pediatric patients",
        "authors": ["Gruppo, R.", "Rodig, N.", "Vilalta, R."],
        "year": 2011,
        "volume": "9",
    }
    a = row(
        **fields,
        journal="Journal of Thrombosis and Haemostasis.Conference: 23rd Congress of the "
        "International Society on Thrombosis and Haemostasis Kyoto Japan.",
    )
    b = row(
        **fields,
        journal="23rd Congress of the International Society on Thrombosis and Haemostasis Kyoto Japan",
    )
    assert verdict(a, b) == DUPLICATE
    c = row(
        **{**fields, "year": 2012},
        journal="24th Congress of the International Society on Thrombosis and Haemostasis Amsterdam",
    )
    assert verdict(a, c) != DUPLICATE


def test_thousands_of_authors_compare_as_one_list() -> None:
    # How fast this is (a consortium paper against a truncated copy) is measured by
    # bench/unit_timings.py; a test checks behaviour only.
    consortium = [f"Author{i}, A." for i in range(5000)]
    a = row(**{**ARTICLE, "authors": consortium})
    b = row(**{**ARTICLE, "authors": consortium[:3000]})
    assert verdict(a, b) == DUPLICATE


# -- grouping into works -----------------------------------------------------------------------


def _work_sets(rows: list[MatchRow], **kwargs: Any) -> set[frozenset[int]]:
    result = deduplicate(rows, **kwargs)
    groups: dict[int, set[int]] = {}
    for rid, work in result.works.items():
        groups.setdefault(work, set()).add(rid)
    return {frozenset(g) for g in groups.values()}


def test_chains_never_join_conflicting_records() -> None:
    base = {k: v for k, v in ARTICLE.items() if k != "doi"}
    a = row(id=1, **base, pmid="111")
    b = row(id=2, **base)  # no PMID: links to both
    c = row(id=3, **base, pmid="222")
    works = _work_sets([a, b, c])
    assert frozenset({1, 3}) not in works and not any({1, 3} <= w for w in works)


def test_work_ids_are_lowest_record_ids_and_stable_on_rerun() -> None:
    rows = [row(id=10, **ARTICLE), row(id=11, **{**ARTICLE, "doi": None}), row(id=12, title="Other")]
    first = deduplicate(rows)
    assert first.works == {10: 10, 11: 10, 12: 12}
    new = row(id=13, **{**ARTICLE, "journal": "J Mol Cell Cardiol"})
    second = deduplicate([*rows, new], existing=first.works)
    assert second.works[13] == 10
    assert second.changed == {13: 10}
    assert second.report.n_new == 1


def test_reruns_never_join_two_existing_works_without_a_person() -> None:
    a, b = row(id=1, **ARTICLE), row(id=2, **{**ARTICLE, "doi": None})
    existing = {1: 1, 2: 2}  # kept apart earlier (e.g. split by a person)
    result = deduplicate([a, b], existing=existing)
    assert result.works == {1: 1, 2: 2}
    result = deduplicate([a, b], existing=existing, decisions={(1, 2): "same"})
    assert result.works == {1: 1, 2: 1}
    assert result.merges == [(1, [1, 2])]


def test_a_persons_different_wins_over_the_rules() -> None:
    a, b = row(id=1, **ARTICLE), row(id=2, **ARTICLE)
    assert deduplicate([a, b]).works[2] == 1
    assert deduplicate([a, b], decisions={(1, 2): "different"}).works[2] == 2


def test_bad_input_is_reported_and_never_linked() -> None:
    rows = [
        row(id=1, title=None, authors=["A, B"]),
        row(id=2, title=None, authors=["A, B"]),
        row(id=3, title="Editorial", year=2000),
        row(id=4, title="Editorial", year=2000),
        row(id=5, title="", doi=""),
        *[row(id=6 + i, title="Letter to the editor", journal="J") for i in range(200)],
    ]
    result = deduplicate(rows)
    assert len(set(result.works.values())) == len(rows)
    assert result.report.problems["no title"] == [1, 2, 5]
    assert 3 in result.report.problems["one-word title"]
    assert result.report.large_blocks[0][2] == 200  # paired by neighbourhood only


def test_titles_in_scripts_without_spaces() -> None:
    """A Chinese or Japanese title has no spaces between words: it is not a "one-word title"."""
    chinese = {
        "title": "基于深度学习的医学图像分割方法研究",
        "authors": ["王, 伟", "李, 娜"],
        "year": 2020,
        "journal": "中国医学影像技术",
        "volume": "36",
        "pages": "1-8",
    }
    other = {**chinese, "title": "基于机器学习的心电图自动诊断方法研究", "pages": "9-16"}
    japanese: dict[str, Any] = {
        "title": "深層学習による医用画像のセグメンテーションに関する研究",
        "authors": ["山田, 太郎"],
        "year": 2019,
        "journal": "医用画像情報学会雑誌",
    }
    rows = [
        row(id=1, **chinese),
        row(id=2, **chinese),
        row(id=3, **other),
        row(id=4, **japanese),
        row(id=5, **{**japanese, "title": japanese["title"] + "。"}),
        row(id=6, title="研究", year=2020),
        row(id=7, title="研究", year=2020),
    ]
    result = deduplicate(rows)
    works = result.works
    assert works[1] == works[2] and works[4] == works[5]
    assert len({works[1], works[3], works[4], works[6], works[7]}) == 5
    assert prepare(row(**chinese), 0).title_words >= 5
    assert result.report.problems["one-word title"] == [6, 7]


def test_empty_input() -> None:
    result = deduplicate([])
    assert result.works == {} and result.pairs == []


# -- merged view, overlap, scoring -------------------------------------------------------------


def test_merged_view_takes_the_most_complete_value_and_names_its_record() -> None:
    a = make_record(
        {
            "title": "ISCHAEMIC PRECONDITIONING",
            "authors": ["Smith J"],
            "year": 2001,
            "journal": "J Mol Cell Cardiol",
            "pages": "711",
        }
    )
    b = make_record(
        {
            "title": "Ischaemic preconditioning",
            "authors": ["Smith, John", "Jones, Mary"],
            "year": 2001,
            "journal": "Journal of Molecular and Cellular Cardiology",
            "pages": "711-720",
            "doi": "10.1006/x",
        }
    )
    c = make_record({"title": "Ischaemic preconditioning in the rat. [Chinese]", "year": 2001})
    merged = merge_records(5, [(5, "MEDLINE", a), (9, "Embase", b), (12, "CNKI", c)])
    assert merged.value("title") == "Ischaemic preconditioning"
    assert merged.fields["title"].record_id == 9 and merged.fields["title"].source == "Embase"
    assert merged.value("authors") == ["Smith, John", "Jones, Mary"]
    assert merged.value("pages") == "711-720"
    assert merged.value("journal") == "Journal of Molecular and Cellular Cardiology"
    assert merged.fields["year"].record_id == 5  # a tie goes to the lowest record id
    assert merged.sources == ["CNKI", "Embase", "MEDLINE"]


def test_source_overlap() -> None:
    table = source_overlap([("A", 1), ("B", 1), ("A", 2), ("A", 2), ("B", 3), ("C", 4)])
    by = {s.source: s for s in table.sources}
    assert (by["A"].records, by["A"].works, by["A"].unique_works, by["A"].internal_duplicates) == (3, 2, 1, 1)
    assert by["A"].shared == {"B": 1}
    assert (by["C"].works, by["C"].unique_works) == (1, 1)
    assert (table.total_records, table.total_works, table.works_in_several_sources) == (6, 4, 1)


def test_removal_counts_like_the_published_benchmarks() -> None:
    ids = ["a", "b", "c", "d", "e", "f"]
    truth = [["a", "b", "c"], ["d", "e"]]
    assert removal_counts(ids, truth, [["a", "b", "c"], ["d", "e"]]).as_dict()["TP"] == 3
    counts = removal_counts(ids, truth, [["a", "b"], ["e", "f"]])  # c missed; f removed wrongly
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (1, 1, 2, 2)
    lost = removal_counts(ids, truth, [["a", "b", "c", "d", "e"]])  # two works joined: one lost
    assert (lost.tp, lost.fp, lost.fn, lost.tn) == (3, 1, 0, 2)
