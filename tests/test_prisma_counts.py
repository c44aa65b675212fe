"""PRISMA counts as plain data: derivation from the store's facts, checks, hand-entered counts,
JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from prisma_fixtures import (
    ASSESSED,
    DATABASES,
    DUPLICATES,
    FT_EXCLUDED,
    FT_REASONS,
    IDENTIFIED,
    INCLUDED,
    NOT_RETRIEVED,
    SOUGHT,
    TA_EXCLUDED,
    TOPICS,
    WORKS,
    seed_facts,
)
from scoping.errors import ConfigError
from scoping.report import prisma
from scoping.report.facts import (
    PrismaFacts,
    RunFacts,
    SourceFacts,
    WorkFacts,
    tally_outcomes,
)
from scoping.report.prisma import (
    COUNT_KEYS,
    LIST_KEYS,
    Count,
    PrismaCounts,
    derive_counts,
    from_dict,
    parse_manual,
    to_csv,
    to_dict,
    to_json,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "prisma-json.md"


def n(counts: PrismaCounts, key: str) -> int | None:
    return counts.count(key).n


def test_seed_review_counts_are_exactly_the_published_ones() -> None:
    counts = derive_counts(seed_facts(), title="Mental health peer support work")
    data = json.loads(to_json(counts))
    ident, screening, included = data["identification"], data["screening"], data["included"]
    assert ident["records_identified"] == {"n": IDENTIFIED, "source": "store", "complete": True, "note": None}
    assert {d["name"]: d["n"] for d in ident["databases"]} == DATABASES
    assert ident["databases_total"]["n"] == IDENTIFIED and ident["registers_total"]["n"] == 0
    assert ident["duplicates_removed"]["n"] == DUPLICATES
    assert (ident["automation_removed"]["n"], ident["other_removed"]["n"]) == (0, 0)
    assert screening["records_screened"]["n"] == WORKS
    assert screening["records_excluded"]["n"] == TA_EXCLUDED
    assert screening["reports_sought"]["n"] == SOUGHT
    assert screening["reports_not_retrieved"]["n"] == NOT_RETRIEVED
    assert screening["reports_assessed"]["n"] == ASSESSED
    assert screening["reports_excluded"]["n"] == FT_EXCLUDED
    assert {d["name"]: d["n"] for d in screening["reports_excluded_reasons"]} == FT_REASONS
    assert included["studies"]["n"] == INCLUDED == included["reports"]["n"]
    assert [(t["name"], t["n"]) for t in included["topics"]] == TOPICS
    assert data["other_methods"] is None
    assert data["complete"] is True and data["notes"] == []
    assert data["checks"] and all(c["ok"] for c in data["checks"])
    assert {c["id"] for c in data["checks"]} >= {
        "identification",
        "title-abstract",
        "retrieval",
        "eligibility",
        "reports-excluded-reasons",
        "topics",
    }


def test_reasons_are_ordered_by_number_and_missing_reasons_come_last() -> None:
    counts = derive_counts(seed_facts())
    reasons = counts.screening.records_excluded_reasons
    assert reasons[-1].name == prisma.NO_REASON
    assert [r.n for r in reasons[:-1]] == sorted((r.n for r in reasons[:-1]), reverse=True)
    assert sum(r.n for r in reasons) == TA_EXCLUDED
    assert [r.name for r in counts.screening.reports_excluded_reasons][:2] == [
        "not peer support work",
        "not mental health",
    ]


def test_unscreened_works_give_a_note_not_a_wrong_number() -> None:
    counts = derive_counts(seed_facts(unscreened=312))
    screened = counts.screening.records_screened
    assert screened == Count(WORKS - 312, "store", False, "312 works not yet screened at title-abstract")
    assert not counts.screening.records_excluded.complete
    assert not counts.screening.reports_sought.complete
    assert not counts.included.studies.complete
    assert not counts.identification.automation_removed.complete
    assert counts.notes == ["312 works not yet screened at title-abstract"]
    assert not counts.complete
    # the sums that cannot hold yet are not reported as errors
    assert not any(c.message.startswith("Does not add up") for c in counts.checks)
    assert json.loads(to_json(counts))["screening"]["records_screened"]["complete"] is False


def test_conflicts_waiting_for_the_lead_are_named() -> None:
    counts = derive_counts(seed_facts(unscreened=10, conflicts=5))
    assert counts.notes == [
        "15 works not yet screened at title-abstract (5 waiting for the lead to settle a conflict)"
    ]


def test_full_text_not_yet_assessed() -> None:
    facts = seed_facts()
    rows = [r for r in _rows(facts) if not (r[1] == "full-text" and r[0] % 50 == 0)]
    missing = len(_rows(facts)) - len(rows)
    counts = derive_counts(_with_outcomes(facts, rows))
    assert counts.notes == [f"{missing} reports not yet assessed at full text"]
    assert counts.screening.records_screened.complete
    assert not counts.screening.reports_assessed.complete
    assert counts.screening.reports_assessed.note == f"{missing} reports not yet assessed at full text"


def _rows(facts: PrismaFacts) -> list[tuple[int, str, str, str | None]]:
    """Rebuild outcome rows from the seed (works 1..4,794)."""
    from prisma_fixtures import seed_outcomes

    return seed_outcomes(list(range(1, WORKS + 1)))


def _with_outcomes(facts: PrismaFacts, rows: list[tuple[int, str, str, str | None]]) -> PrismaFacts:
    return PrismaFacts(facts.sources, facts.works, tally_outcomes(rows), facts.stopping_rule, facts.topics)


def test_deduplication_not_run_or_not_current() -> None:
    facts = seed_facts()
    not_run = derive_counts(PrismaFacts(facts.sources, WorkFacts(ran=False), None))
    dup = not_run.identification.duplicates_removed
    assert dup.n is None and dup.note == "de-duplication has not run"
    assert "De-duplication has not run ('scoping dedupe'), so duplicates are not known" in not_run.notes
    assert not_run.screening.records_screened.n is None
    assert "No screening decisions in the store yet ('scoping screen')" in not_run.notes

    stale = derive_counts(
        PrismaFacts(
            facts.sources,
            WorkFacts(ran=True, main_records=IDENTIFIED - 40, main_works=WORKS, main_unassigned=40),
            facts.outcomes,
            None,
            facts.topics,
        )
    )
    assert stale.identification.duplicates_removed == Count(
        DUPLICATES - 40, "store", False, "40 records imported after the last de-duplication run"
    )
    assert "40 records imported after the last de-duplication run; run 'scoping dedupe'" in stale.notes
    # the works still to screen are not known until the new records are de-duplicated
    assert not stale.screening.records_screened.complete


def test_stopping_rule_and_removed_records_come_before_screening() -> None:
    rows = _rows(seed_facts())
    excluded = [r for r in rows if r[1] == "title-abstract" and r[2] == "exclude"]
    changed = {r[0] for r in excluded[:1500]}
    removed = {r[0] for r in excluded[1500:1510]}
    rows = [
        (
            w,
            s,
            "automation"
            if w in changed and s == "title-abstract"
            else "removed"
            if w in removed and s == "title-abstract"
            else o,
            "retracted" if w in removed else r,
        )
        for w, s, o, r in rows
    ]
    facts = _with_outcomes(seed_facts(), rows)
    facts = PrismaFacts(
        facts.sources, facts.works, facts.outcomes, "stopped after 200 irrelevant in a row", facts.topics
    )
    counts = derive_counts(facts)
    assert n(counts, "identification.automation_removed") == 1500
    assert n(counts, "identification.other_removed") == 10
    assert n(counts, "screening.records_screened") == WORKS - 1510
    assert n(counts, "screening.records_excluded") == TA_EXCLUDED - 1510
    assert counts.stopping_rule == "stopped after 200 irrelevant in a row"
    assert counts.complete, counts.notes


def test_unfinished_search_runs_and_repeated_files_are_noted() -> None:
    facts = seed_facts()
    sources = (
        SourceFacts(
            "MEDLINE", 2046, 3, ("pubmed-1.xml",), (RunFacts("medline-2026-01", "interrupted", 2100, 2046),)
        ),
        *[s for s in facts.sources if s.name != "MEDLINE"],
    )
    counts = derive_counts(PrismaFacts(sources, facts.works, facts.outcomes, None, facts.topics))
    medline = next(line for line in counts.identification.databases if line.name == "MEDLINE")
    assert not medline.complete
    assert not counts.identification.records_identified.complete
    assert counts.notes[:2] == [
        "MEDLINE: search run medline-2026-01 is interrupted (2,046 of 2,100 records retrieved)",
        "MEDLINE: pubmed-1.xml was imported more than once; its records count more than once in "
        "identification",
    ]


def test_hits_beyond_the_records_retrieved_are_an_assumption_not_a_count() -> None:
    facts = seed_facts()
    sources = (
        SourceFacts("MEDLINE", 2046, 1, (), (RunFacts("medline-1", "complete", 2050, 2046),)),
        *[s for s in facts.sources if s.name != "MEDLINE"],
    )
    counts = derive_counts(PrismaFacts(sources, facts.works, facts.outcomes, None, facts.topics))
    assert counts.complete and n(counts, "identification.records_identified") == IDENTIFIED
    assert (
        "MEDLINE: search run medline-1 reported 2,050 hits and retrieved 2,046 records; records "
        "identified count the records retrieved"
    ) in counts.assumptions


def test_empty_store_says_so() -> None:
    counts = derive_counts(PrismaFacts((), WorkFacts(ran=False), None))
    assert counts.notes == ["No records in the store yet ('scoping import')"]
    assert n(counts, "identification.records_identified") == 0


def test_other_methods_column() -> None:
    facts = seed_facts()
    other_works = frozenset(range(10_001, 10_051))  # 50 works found only by citation searching
    rows = _rows(facts)
    rows += [(w, "title-abstract", "include", None) for w in sorted(other_works)[:40]]
    rows += [(w, "title-abstract", "exclude", "not mental health") for w in sorted(other_works)[40:]]
    rows += [(w, "full-text", "not-retrieved", None) for w in sorted(other_works)[:4]]
    rows += [(w, "full-text", "exclude", "no relevant content") for w in sorted(other_works)[4:10]]
    rows += [(w, "full-text", "include", None) for w in sorted(other_works)[10:40]]
    works = WorkFacts(
        ran=True,
        main_records=IDENTIFIED,
        main_works=WORKS,
        other_records=60,
        other_records_in_main=5,
        other_works=other_works,
    )
    sources = (*facts.sources, SourceFacts("Citation searching", 60, 1))
    manual = parse_manual(
        '[sources]\nother_methods = ["Citation searching"]\n[other_methods.sources]\n"Websites" = 12\n'
    )
    counts = derive_counts(
        PrismaFacts(
            sources,
            works,
            tally_outcomes(rows, other_works),
            None,
            facts.topics,
            frozenset({"Citation searching"}),
        ),
        manual,
    )
    om = counts.other_methods
    assert om is not None
    assert [(s.name, s.n, s.source) for s in om.sources] == [
        ("Citation searching", 60, "store"),
        ("Websites", 12, "manual"),
    ]
    assert om.records_identified == Count(72, "store+manual", True)
    assert (om.records_screened.n, om.records_excluded.n, om.reports_sought.n) == (50, 10, 40)
    assert (om.reports_not_retrieved.n, om.reports_assessed.n, om.reports_excluded.n) == (4, 36, 6)
    assert n(counts, "included.reports") == INCLUDED + 30
    assert n(counts, "identification.records_identified") == IDENTIFIED  # databases only
    assert counts.complete, counts.notes
    assert any("5 records from other methods were also found in databases" in a for a in counts.assumptions)
    data = json.loads(to_json(counts))
    assert data["other_methods"]["records_identified"]["source"] == "store+manual"
    assert data["other_methods"]["sources"][1] == {
        "name": "Websites",
        "n": 12,
        "source": "manual",
        "complete": True,
    }


# -- hand-entered counts --------------------------------------------------------------------

SEED_BY_HAND = f"""
# The seed review was screened outside scoping: everything after identification by hand.
[identification]
duplicates_removed = {DUPLICATES}
automation_removed = 0
other_removed = 0

[identification.databases]
"Four databases (split not published)" = {IDENTIFIED}

[screening]
records_screened = {WORKS}
records_excluded = {TA_EXCLUDED}
reports_sought = {SOUGHT}
reports_not_retrieved = {NOT_RETRIEVED}
reports_assessed = {ASSESSED}
reports_excluded = {FT_EXCLUDED}

[screening.reports_excluded_reasons]
{chr(10).join(f'"{k}" = {v}' for k, v in FT_REASONS.items())}

[included]
studies = {INCLUDED}
reports = {INCLUDED}

[included.topics]
{chr(10).join(f'"{k}" = {v}' for k, v in TOPICS)}
"""


def test_a_review_screened_elsewhere_entered_by_hand() -> None:
    manual = parse_manual(SEED_BY_HAND)
    counts = derive_counts(PrismaFacts((), WorkFacts(ran=False), None), manual)
    data = json.loads(to_json(counts))
    assert data["identification"]["databases"] == [
        {
            "name": "Four databases (split not published)",
            "n": IDENTIFIED,
            "source": "manual",
            "complete": True,
        }
    ]
    assert data["identification"]["records_identified"]["source"] == "manual"
    for key, count in counts.iter_counts():
        if key != "identification.registers_total":
            assert count.source == "manual", key
    assert counts.manual_keys() == [
        "identification.duplicates_removed",
        "identification.automation_removed",
        "identification.other_removed",
        "screening.records_screened",
        "screening.records_excluded",
        "screening.reports_sought",
        "screening.reports_not_retrieved",
        "screening.reports_assessed",
        "screening.reports_excluded",
        "included.studies",
        "included.reports",
        "identification.databases",
        "screening.reports_excluded_reasons",
        "included.topics",
    ]
    assert data["included"]["studies"] == {"n": INCLUDED, "source": "manual", "complete": True, "note": None}
    assert [(t["name"], t["n"], t["source"]) for t in data["included"]["topics"]] == [
        (name, k, "manual") for name, k in TOPICS
    ]
    assert data["complete"] is True and data["notes"] == []
    assert all(c["ok"] for c in data["checks"])


def test_hand_entered_counts_fill_only_what_the_store_does_not_know() -> None:
    facts = seed_facts()
    with pytest.raises(ConfigError) as err:
        derive_counts(facts, parse_manual("[identification]\nduplicates_removed = 10\n", "pm.toml"))
    assert str(err.value) == (
        "pm.toml: identification.duplicates_removed is known from the store (2,612); hand-entered "
        "counts are only for what the store cannot know - remove it"
    )
    with pytest.raises(ConfigError, match=r"'MEDLINE' is known from the store \(2,046 records\)"):
        derive_counts(facts, parse_manual("[identification.databases]\nMEDLINE = 3\n"))
    with pytest.raises(ConfigError, match=r"screening\.reports_excluded_reasons is known from the store"):
        derive_counts(facts, parse_manual("[screening.reports_excluded_reasons]\nx = 3\n"))
    # a study can have several reports: the store assumes one each, a person may say otherwise
    counts = derive_counts(facts, parse_manual("[included]\nstudies = 640\n"))
    assert counts.included.studies == Count(640, "manual")
    assert counts.included.reports == Count(INCLUDED, "store")
    assert counts.complete


def test_hand_entered_counts_supersede_the_not_known_notes() -> None:
    facts = seed_facts()
    counts = derive_counts(
        PrismaFacts(facts.sources, WorkFacts(ran=False), None, None, None),
        parse_manual(f"[identification]\nduplicates_removed = {DUPLICATES}\n"),
    )
    assert counts.notes == ["No screening decisions in the store yet ('scoping screen')"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[screening]\nrecords_screend = 3\n",
            "[screening] has no key 'records_screend'; use one of records_screened, records_excluded",
        ),
        ("[screen]\nx = 1\n", "unknown section [screen]"),
        ("[screening]\nrecords_screened = -1\n", "screening.records_screened must be a whole number"),
        ("[screening]\nrecords_screened = true\n", "must be a whole number of 0 or more, not True"),
        ("[screening]\nrecords_screened = 2.5\n", "must be a whole number"),
        (
            "[identification]\nrecords_identified = 7406\n",
            "no key 'records_identified' (it is the sum of its list; enter the list)",
        ),
        ("[identification]\ndatabases = 3\n", "[identification.databases] must be a table of name = number"),
        ("[sources]\nregisters = 'x'\n", "[sources] registers must be a list of source names"),
        ("[sources]\ndatabases = []\n", "[sources] has no key 'databases'"),
        ('[sources]\nregisters = ["A"]\nother_methods = ["A"]\n', "'A' is listed both as a register"),
        ("[screening\n", "is not valid TOML"),
    ],
)
def test_bad_manual_files_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_manual(text, "screening/prisma-manual.toml")
    assert str(err.value).startswith("screening/prisma-manual.toml")
    assert message in str(err.value)


def test_load_manual_without_a_file_is_none(tmp_path: Path) -> None:
    assert prisma.load_manual(tmp_path / "nothing.toml") is None
    (tmp_path / "m.toml").write_text('[sources]\nregisters = ["ICTRP"]\n', encoding="utf-8")
    manual = prisma.load_manual(tmp_path / "m.toml")
    assert manual is not None and manual.registers == ("ICTRP",)


def test_registers_are_reported_apart_from_databases() -> None:
    facts = seed_facts()
    sources = (*facts.sources, SourceFacts("ClinicalTrials.gov", 40, 1))
    works = WorkFacts(ran=True, main_records=IDENTIFIED + 40, main_works=WORKS)
    counts = derive_counts(
        PrismaFacts(sources, works, None), parse_manual('[sources]\nregisters = ["ClinicalTrials.gov"]\n')
    )
    assert [line.name for line in counts.identification.registers] == ["ClinicalTrials.gov"]
    assert n(counts, "identification.registers_total") == 40
    assert n(counts, "identification.databases_total") == IDENTIFIED
    assert n(counts, "identification.records_identified") == IDENTIFIED + 40
    assert n(counts, "identification.duplicates_removed") == DUPLICATES + 40


# -- checks ---------------------------------------------------------------------------------


def test_sums_that_do_not_add_up_are_reported() -> None:
    text = SEED_BY_HAND.replace(f"records_screened = {WORKS}", "records_screened = 4700")
    text = text.replace('"duplicate" = 12', '"duplicate" = 13')
    counts = derive_counts(PrismaFacts((), WorkFacts(ran=False), None), parse_manual(text))
    assert counts.notes == [
        "Does not add up: Records identified (7,406) − duplicate records removed (2,612) − records "
        "marked as ineligible by automation tools (0) − records removed for other reasons (0) = "
        "4,794, but records screened is 4,700",
        "Does not add up: Records screened (4,700) − records excluded (3,700) = 1,000, but reports "
        "sought for retrieval is 1,094",
        "Does not add up: the reasons listed for reports excluded come to 401, but reports excluded is 400",
    ]
    failed = {c.id: c.keys for c in counts.checks if not c.ok}
    assert failed["identification"] == (
        "identification.records_identified",
        "identification.duplicates_removed",
        "identification.automation_removed",
        "identification.other_removed",
        "screening.records_screened",
    )
    assert not counts.complete


def test_studies_reports_and_topics_checks() -> None:
    text = SEED_BY_HAND.replace(f"studies = {INCLUDED}", "studies = 700").replace(
        '"role" = 188', '"role" = 900'
    )
    counts = derive_counts(PrismaFacts((), WorkFacts(ran=False), None), parse_manual(text))
    assert counts.notes == [
        "Does not add up: more studies included (700) than reports of included studies (663)",
        "Does not add up: topic 'role' holds 900 sources, but 663 were included",
    ]


def test_outcome_tally_contract() -> None:
    tally = tally_outcomes(
        [
            (1, "title-abstract", "include", None),
            (1, "title-abstract", "exclude", "x"),
            (2, "full-text", "exclude", " wrong population "),
            (3, "title-abstract", "include", None),
        ],
        frozenset({3}),
    )
    assert tally.repeated == 1 and tally.rows == 4
    assert tally.n("main", "title-abstract", "include") == 1
    assert tally.n("other", "title-abstract", "include") == 1
    assert tally.reasons_of("main", "full-text", "exclude") == {"wrong population": 1}
    odd = tally_outcomes(
        [
            (1, "title-abstract", "not-retrieved", None),
            (2, "abstract", "include", None),
            (3, "title-abstract", "not-retrieved", None),
        ]
    )
    assert odd.unexpected == {("title-abstract", "not-retrieved"): 2, ("abstract", "include"): 1}
    assert odd.counts == {}
    facts = seed_facts()
    rows = [*_rows(facts), (WORKS + 1, "title-abstract", "not-retrieved", None)]
    counts = derive_counts(_with_outcomes(facts, rows))
    assert counts.notes == [
        "1 work has the outcome 'not-retrieved' at title-abstract, which the PRISMA flow has no box for"
    ]


def test_outcomes_for_works_that_do_not_exist_are_reported() -> None:
    rows = [*_rows(seed_facts()), (99999, "title-abstract", "exclude", None)]
    rows += [
        (r[0], "full-text", "include", None) for r in _rows(seed_facts())[:3] if r[1] == "title-abstract"
    ]
    counts = derive_counts(_with_outcomes(seed_facts(), rows))
    assert "1 title-abstract outcome more than there are works" in counts.notes
    assert "3 works have a full-text outcome but no include at title-abstract" in counts.notes


# -- JSON and CSV ---------------------------------------------------------------------------


def test_json_keys_are_stable_and_documented() -> None:
    data = json.loads(to_json(derive_counts(seed_facts())))
    assert list(data) == [
        "format",
        "format_version",
        "title",
        "complete",
        "identification",
        "screening",
        "other_methods",
        "included",
        "previous",
        "update",
        "stopping_rule",
        "checks",
        "notes",
        "assumptions",
    ]
    assert (data["format"], data["format_version"]) == ("scoping-prisma", 1)
    for section in ("identification", "screening", "included"):
        assert list(data[section]) == [*LIST_KEYS[section], *COUNT_KEYS[section]]
    docs = DOCS.read_text(encoding="utf-8")
    for section, names in {**COUNT_KEYS}.items():
        assert f"`{section}`" in docs
        for name in (*names, *LIST_KEYS[section]):
            assert f"`{name}`" in docs, f"{section}.{name} is not documented in {DOCS.name}"
    for key in (
        "format",
        "format_version",
        "complete",
        "stopping_rule",
        "checks",
        "notes",
        "assumptions",
        "source",
        "store+manual",
        "manual",
    ):
        assert f"`{key}`" in docs or f'"{key}"' in docs, key


def test_json_round_trip() -> None:
    for counts in (
        derive_counts(seed_facts(unscreened=5)),
        derive_counts(PrismaFacts((), WorkFacts(ran=False), None), parse_manual(SEED_BY_HAND)),
    ):
        again = from_dict(to_dict(counts))
        assert to_json(again) == to_json(counts)
    with pytest.raises(ConfigError, match="not a scoping PRISMA file"):
        from_dict({"format": "other"})
    with pytest.raises(ConfigError, match="newer than this scoping reads"):
        from_dict({"format": "scoping-prisma", "format_version": 99})


def test_csv_has_every_count_and_item() -> None:
    counts = derive_counts(seed_facts(unscreened=2))
    rows = list(csv.DictReader(io.StringIO(to_csv(counts))))
    assert list(rows[0]) == ["key", "label", "name", "n", "source", "complete", "note"]
    by_key = {r["key"]: r for r in rows if not r["name"]}
    assert by_key["identification.records_identified"]["n"] == str(IDENTIFIED)
    assert by_key["screening.records_screened"] == {
        "key": "screening.records_screened",
        "label": "Records screened",
        "name": "",
        "n": str(WORKS - 2),
        "source": "store",
        "complete": "false",
        "note": "2 works not yet screened at title-abstract",
    }
    assert by_key["included.studies"]["label"] == "Studies included in review"
    topics = [(r["name"], int(r["n"])) for r in rows if r["key"] == "included.topics"]
    assert topics == TOPICS
    dbs = {r["name"]: int(r["n"]) for r in rows if r["key"] == "identification.databases"}
    assert dbs == DATABASES
    assert len(rows) == (
        len(list(counts.iter_counts()))
        + len(DATABASES)
        + len(TOPICS)
        + len(counts.screening.records_excluded_reasons)
        + len(FT_REASONS)
    )


def test_numbers_in_messages_are_written_with_thousands_separators() -> None:
    counts = derive_counts(seed_facts(unscreened=1234))
    assert counts.notes == ["1,234 works not yet screened at title-abstract"]
    assert not re.search(r"\d{4}", " ".join(counts.notes))
