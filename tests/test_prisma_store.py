"""What the store knows for PRISMA (SQLite, then PostgreSQL), and the seed review as a store state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from prisma_fixtures import (
    DATABASES,
    DUPLICATES,
    IDENTIFIED,
    INCLUDED,
    TOPICS,
    WORKS,
    fill_seed_store,
    seed_outcomes,
)
from scoping.records import Record
from scoping.report.diagram import render
from scoping.report.facts import prisma_facts
from scoping.report.prisma import derive_counts, parse_manual, to_json
from scoping.screen import outcomes as screen_outcomes
from scoping.store import Store, search_tables
from scoping.store.dedupe_tables import record_work
from scoping.topics import api as topics_api


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as s:
        yield s


def add(
    store: Store, source: str, n: int, sha: str, name: str = "export.ris", *, again: bool = False
) -> None:
    store.add_import(
        again=again,
        source=source,
        file_path=f"/x/{name}",
        sha256=sha,
        size=1,
        format="ris",
        encoding="utf-8",
        records=[Record(title=f"{source} {i}") for i in range(n)],
    )


def link(store: Store, pairs: dict[int, int]) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            record_work.insert(),
            [
                {"record_id": r, "work_id": w, "run_id": 1, "linked_by": "rule", "updated_at": "t"}
                for r, w in pairs.items()
            ],
        )


def no_stage(_store: Store) -> None:
    return None


def ids(store: Store) -> list[int]:
    return [s.id for s in store.iter_records()]


def test_sources_imports_and_search_runs(store: Store) -> None:
    add(store, "PsycINFO", 3, "a", "psycinfo.ris")
    add(store, "PsycINFO", 3, "a", "psycinfo.ris", again=True)  # the same file again (--again)
    add(store, "MEDLINE", 2, "b")
    for run_id, status in (
        ("medline-1", "interrupted"),
        ("medline-2", "complete"),
        ("europepmc-1", "failed"),
    ):
        search_tables.create_run(
            store,
            id=run_id,
            database=run_id.split("-")[0].replace("medline", "MEDLINE").replace("europepmc", "Europe PMC"),
            platform="pubmed",
            query="q",
            params={},
            limits={},
            settings={},
            folder=f"searches/runs/{run_id}",
            started_at=f"2026-01-0{run_id[-1]}T00:00:00Z",
        )
        search_tables.update_run(store, run_id, status=status, hit_count=10, retrieved=2)
    facts = prisma_facts(store, screening=no_stage, topics=no_stage)
    by_name = {s.name: s for s in facts.sources}
    assert list(by_name) == ["Europe PMC", "MEDLINE", "PsycINFO"]
    assert (by_name["PsycINFO"].records, by_name["PsycINFO"].imports) == (6, 2)
    assert by_name["PsycINFO"].repeated_files == ("psycinfo.ris",)
    assert [r.status for r in by_name["MEDLINE"].runs] == ["interrupted", "complete"]
    assert by_name["Europe PMC"].records == 0
    assert not facts.works.ran and facts.outcomes is None and facts.topics is None

    counts = derive_counts(facts)
    assert counts.notes[:2] == [
        "Europe PMC: search run europepmc-1 is failed (2 of 10 records retrieved)",
        "PsycINFO: psycinfo.ris was imported more than once; its records count more than once in "
        "identification",
    ]  # MEDLINE's interrupted run was followed by a complete one
    assert counts.identification.records_identified.n == 8


def test_works_split_between_databases_and_other_methods(store: Store) -> None:
    add(store, "MEDLINE", 4, "m")
    add(store, "PsycINFO", 3, "p")
    add(store, "Citation searching", 3, "c")
    m1, m2, m3, _m4, p1, p2, p3, c1, c2, c3 = ids(store)
    assert prisma_facts(store, screening=no_stage, topics=no_stage).works.ran is False
    # works: {m1, p1, c1} {m2, p2} {m3} {p3} {c2, c3}; m4 imported after the run
    link(store, {m1: m1, p1: m1, c1: m1, m2: m2, p2: m2, m3: m3, p3: p3, c2: c2, c3: c2})
    facts = prisma_facts(store, other_sources=["Citation searching"], screening=no_stage, topics=no_stage)
    w = facts.works
    assert w.ran
    assert (w.main_records, w.main_works, w.main_unassigned) == (6, 4, 1)
    assert (w.other_records, w.other_records_in_main, w.other_unassigned) == (3, 1, 0)
    assert w.other_works == frozenset({c2})

    plain = prisma_facts(store, screening=no_stage, topics=no_stage).works
    assert (plain.main_records, plain.main_works, plain.other_works) == (9, 5, frozenset())


def test_screening_and_topics_stages_are_read_through_their_functions(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, "MEDLINE", 2, "m")
    a, b = ids(store)
    link(store, {a: a, b: b})
    rows = [
        (a, "title-abstract", "include", None),
        (a, "full-text", "include", None),
        (b, "title-abstract", "exclude", "not English"),
    ]
    monkeypatch.setattr(screen_outcomes, "outcome_rows", lambda s: iter(rows))
    monkeypatch.setattr(screen_outcomes, "stopping_rule_note", lambda s: "no stopping rule")
    monkeypatch.setattr(topics_api, "topic_counts", lambda s: [("role", 1)])
    facts = prisma_facts(store)
    assert facts.outcomes is not None and facts.outcomes.rows == 3
    assert facts.stopping_rule == "no stopping rule"
    assert [(t.name, t.n) for t in facts.topics or ()] == [("role", 1)]
    counts = derive_counts(facts)
    assert counts.complete, counts.notes
    assert (counts.included.studies.n, counts.screening.records_excluded.n) == (1, 1)


def test_a_stage_that_has_not_run_has_no_data(store: Store) -> None:
    add(store, "MEDLINE", 2, "m")
    facts = prisma_facts(store)
    assert (facts.outcomes, facts.stopping_rule, facts.topics) == (None, None, None)
    assert facts.works.ran is False and [s.records for s in facts.sources] == [2]


def test_the_seed_review_as_a_store_state(tmp_path: Path) -> None:
    """7,406 records in four databases, de-duplicated into works, screened, 663 included, seven
    topics: the JSON and the diagram show exactly the published numbers.

    The per-database split and the numbers between identification and inclusion are synthetic
    (not published); see prisma_fixtures.
    """
    with Store.open(tmp_path / "review.db") as store:
        works = fill_seed_store(store)
        facts = prisma_facts(store, screening=lambda s: seed_outcomes(works), topics=lambda s: TOPICS)
    counts = derive_counts(facts, title="Mental health peer support work: a rapid scoping review")
    data = json.loads(to_json(counts))
    assert data["identification"]["records_identified"]["n"] == IDENTIFIED == 7406
    assert {d["name"]: d["n"] for d in data["identification"]["databases"]} == DATABASES
    assert data["identification"]["duplicates_removed"]["n"] == DUPLICATES
    assert data["screening"]["records_screened"]["n"] == WORKS
    assert data["included"]["studies"]["n"] == data["included"]["reports"]["n"] == INCLUDED == 663
    assert [(t["name"], t["n"]) for t in data["included"]["topics"]] == TOPICS
    assert data["complete"] is True, data["notes"]

    svg = render(counts, "svg").decode("utf-8")
    text = " ".join(re.findall(r">([^<>]+)</text>", svg))
    assert "Records identified (n = 7,406):" in text
    assert "Studies included in review (n = 663)" in text
    assert "Reports of included studies (n = 663)" in text
    for name, n in TOPICS:
        assert f"{name} (n = {n:,})" in text
    for name, n in DATABASES.items():
        assert f"(n = {n:,})" in text and name.split()[0] in text


def test_hand_entered_registers_beside_store_databases(store: Store) -> None:
    add(store, "MEDLINE", 2, "m")
    facts = prisma_facts(store, screening=no_stage, topics=no_stage)
    counts = derive_counts(facts, parse_manual('[identification.registers]\n"ICTRP" = 4\n'))
    assert counts.identification.records_identified.n == 6
    assert counts.identification.records_identified.source == "store+manual"


def test_no_sql_outside_the_store() -> None:
    """The report package never imports SQLAlchemy (the store is the only place that speaks SQL)."""
    import scoping.report.api
    import scoping.report.diagram
    import scoping.report.prisma

    for module in (scoping.report.api, scoping.report.diagram, scoping.report.prisma):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert "sqlalchemy" not in source and "import click" not in source
    assert sa.__name__ == "sqlalchemy"


def test_without_providers_the_topics_of_the_latest_fit_are_counted(tmp_path: Path) -> None:
    """The default topics seam looked up a function the topics stage never had, so every
    caller that did not pass ``topics=`` got no topics, silently."""
    from scoping.ingest import inspect_file, iter_records

    data = Path(__file__).resolve().parent / "data" / "topics"
    records = [
        r
        for name in ("Sep_2021", "van_der_Valk_2021")
        for r in iter_records(inspect_file(data / f"{name}.csv"))
    ]
    with Store.open(tmp_path / "review.db") as store:
        works = topics_api.works_from_records(records, source="two reviews").works
        fitted = topics_api.fit_topics(store, works, source="two reviews", made_by="lead", n_topics=2)
        expected = [
            (t.label, len(t.members)) for t in sorted(fitted.loaded.state.topics.values(), key=lambda t: t.id)
        ]
        facts = prisma_facts(store)
    assert facts.topics is not None, "the default topics provider found nothing"
    assert [(t.name, t.n) for t in facts.topics] == expected


def test_record_links_give_each_record_its_file_and_work(store: Store) -> None:
    from scoping.store.report_tables import record_links

    add(store, "MEDLINE", 2, "a")
    add(store, "Embase", 1, "b", name="embase.ris")
    first, second = store.list_imports()
    assert sorted(record_links(store)) == sorted(
        [(first.id, "MEDLINE", None), (first.id, "MEDLINE", None), (second.id, "Embase", None)]
    )
    r = ids(store)
    link(store, {r[0]: 7, r[2]: 7})
    assert sorted(record_links(store), key=lambda x: (x[0], x[2] or 0)) == [
        (first.id, "MEDLINE", None),
        (first.id, "MEDLINE", 7),
        (second.id, "Embase", 7),
    ]
