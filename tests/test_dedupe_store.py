"""The dedupe stage over a real store (SQLite, then PostgreSQL): runs, re-runs, decisions, undo."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from scoping.dedupe import api
from scoping.errors import UsageError
from scoping.records import Record, make_record
from scoping.store import Store
from scoping.store import dedupe_tables as tables

PAPER: dict[str, Any] = {
    "title": "Peer support workers in mental health services: a qualitative study of their role",
    "authors": ["Gillard, Steve", "Edwards, Christine", "Gibson, Sarah"],
    "year": 2013,
    "journal": "Journal of Mental Health",
    "volume": "22",
    "issue": "3",
    "pages": "237-245",
    "doi": "10.3109/09638237.2012.745187",
}


def rec(source_id: str, **fields: Any) -> Record:
    return make_record({**fields, "source_id": source_id})


def add(store: Store, source: str, records: list[Record], name: str = "x") -> None:
    store.add_import(
        source=source,
        file_path=f"/tmp/{name}-{source}.ris",
        sha256=f"{name}{source}",
        size=1,
        format="ris",
        encoding="utf-8",
        records=records,
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as s:
        yield s


def groups(store: Store) -> dict[str, int]:
    return {sid: work for sid, work, _, _ in api.iter_groups(store)}


def first_batch(store: Store) -> None:
    add(
        store,
        "MEDLINE",
        [
            rec("M1", **PAPER),
            rec(
                "M2",
                title="Recovery colleges and peer trainers: an evaluation",
                authors=["Perkins, R."],
                year=2018,
                journal="BJPsych Bulletin",
                volume="42",
                pages="1-5",
            ),
        ],
        "one",
    )
    add(
        store,
        "PsycINFO",
        [
            rec(
                "P1",
                **{
                    **PAPER,
                    "doi": None,
                    "authors": ["Gillard S", "Edwards C", "Gibson S"],
                    "journal": "J Ment Health",
                    "pages": "237-45",
                },
            ),
            rec(
                "P2",
                title="Something else entirely about housing first programmes",
                authors=["Other, A."],
                year=2010,
            ),
        ],
        "two",
    )


def test_run_links_records_and_groups_name_their_source_ids(store: Store) -> None:
    first_batch(store)
    result = api.run_dedupe(store)
    assert result.report.n_records == 4 and result.report.n_new == 4
    g = groups(store)
    assert g["M1"] == g["P1"] == 1
    assert len({g["M2"], g["P2"], g["M1"]}) == 3
    run = tables.last_run(store)
    assert run is not None and run.n_works == 3 and run.report["n_records"] == 4
    view = api.show_work(store, 3)  # P1 is record 3: shows its work
    assert view.work_id == 1 and view.asked_for == 3
    assert [p.label for p in view.pairs] == ["duplicate"]
    assert view.pairs[0].fields["title"] == 1.0
    assert view.merged.value("doi") == "10.3109/09638237.2012.745187"
    assert view.merged.fields["pages"].record_id == 1


def test_rerun_only_links_new_records_and_keeps_work_ids(store: Store) -> None:
    first_batch(store)
    api.run_dedupe(store)
    before = groups(store)
    add(
        store,
        "Embase",
        [
            rec("E1", **{**PAPER, "title": PAPER["title"].upper()}),
            rec(
                "E2",
                title="Recovery colleges and peer trainers: an evaluation",
                authors=["Perkins R"],
                year=2018,
                journal="BJPsych Bull",
                volume="42",
                pages="1-5",
            ),
        ],
        "three",
    )
    assert tables.unassigned_count(store) == 2
    with pytest.raises(UsageError, match="run 'scoping dedupe' first"):
        list(api.iter_groups(store))
    result = api.run_dedupe(store)
    assert result.report.n_new == 2
    assert set(result.changed) == {5, 6}  # only the new records got (new) works
    after = groups(store)
    assert {k: after[k] for k in before} == before
    assert after["E1"] == before["M1"] and after["E2"] == before["M2"]
    # nothing new: nothing compared, nothing changed
    again = api.run_dedupe(store)
    assert again.report.n_candidates == 0 and again.changed == {}


def test_decisions_are_stored_applied_undone_and_respected(store: Store) -> None:
    add(store, "A", [rec("A1", **PAPER)])
    add(
        store,
        "B",
        [
            rec(
                "B1",
                **{
                    **PAPER,
                    "doi": None,
                    "pages": None,
                    "issue": None,
                    "volume": None,
                    "journal": "Mental Health Review",
                    "year": 2014,
                },
            )
        ],
    )
    api.run_dedupe(store)
    queue = api.review_queue(store)
    assert [(q.pair.record_a, q.pair.record_b) for q in queue] == [(1, 2)]
    assert queue[0].a[2].source_id == "A1"
    applied = api.decide_pair(store, 2, 1, "same", reviewer="anna")
    assert groups(store) == {"A1": 1, "B1": 1}
    assert api.review_queue(store) == []
    api.undo_decision(store, applied, reviewer="anna")
    assert groups(store) == {"A1": 1, "B1": 2}
    api.decide_pair(store, 1, 2, "different", reviewer="anna")
    assert api.review_queue(store) == []
    api.run_dedupe(store, rebuild=True)
    assert groups(store) == {"A1": 1, "B1": 2}
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.dedupe_decisions.c.decision, tables.dedupe_decisions.c.reviewer).order_by(
                tables.dedupe_decisions.c.id
            )
        ).all()
        events = conn.execute(sa.select(tables.work_events.c.event)).scalars().all()
    assert [tuple(r) for r in rows] == [("same", "anna"), ("undone", "anna"), ("different", "anna")]
    assert sorted(events) == ["merge", "revert"]


def test_undo_splits_a_work_for_good(store: Store) -> None:
    add(store, "A", [rec("A1", **PAPER), rec("A2", **PAPER), rec("A3", **PAPER)])
    api.run_dedupe(store)
    assert set(groups(store).values()) == {1}
    assert api.undo_work(store, 1, by="lead") == [1, 2, 3]
    assert groups(store) == {"A1": 1, "A2": 2, "A3": 3}
    api.run_dedupe(store, rebuild=True)
    assert groups(store) == {"A1": 1, "A2": 2, "A3": 3}
    with pytest.raises(UsageError, match="no work 99"):
        api.undo_work(store, 99, by="lead")
    with pytest.raises(UsageError, match="no work or record 99"):
        api.show_work(store, 99)


def test_a_persons_same_joins_existing_works_and_later_runs_keep_it(store: Store) -> None:
    add(
        store,
        "A",
        [
            rec("A1", **PAPER),
            rec(
                "A2",
                title="A completely different paper about peer support training",
                authors=["Other, A."],
                year=2013,
            ),
        ],
    )
    api.run_dedupe(store)
    api.decide_pair(store, 1, 2, "same", reviewer="lead")
    assert groups(store) == {"A1": 1, "A2": 1}
    api.run_dedupe(store, rebuild=True)
    assert groups(store) == {"A1": 1, "A2": 1}


def test_overlap_and_csv_outputs(store: Store) -> None:
    first_batch(store)
    api.run_dedupe(store)
    table = api.overlap(store)
    by = {s.source: s for s in table.sources}
    assert (by["MEDLINE"].works, by["MEDLINE"].unique_works) == (2, 1)
    assert by["MEDLINE"].shared == {"PsycINFO": 1}
    stream = io.StringIO()
    api.write_overlap_csv(table, stream)
    lines = stream.getvalue().splitlines()
    assert lines[0] == (
        "source,records,works,unique_works,unique_share,internal_duplicates,"
        "shared_with:MEDLINE,shared_with:PsycINFO"
    )
    assert lines[1] == "MEDLINE,2,2,1,0.5,0,,1"
    assert lines[-1].startswith("(all),4,3,2,")
    out = io.StringIO()
    assert api.write_groups_csv(api.iter_groups(store), out) == 4
    assert out.getvalue().splitlines()[:2] == ["source_id,work_id,record_id,source", "M1,1,1,MEDLINE"]


def test_tables_are_created_in_a_store_made_without_them(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.begin() as conn:
        for table in reversed(tables.TABLES):
            table.drop(conn)
        # a store of schema 3, when the tables of a stage were made on first use
        conn.execute(sa.text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    with Store.open(store_url) as store:
        first_batch(store)
        api.run_dedupe(store)
        assert len(set(groups(store).values())) == 3


def test_nothing_to_show_before_a_run(store: Store) -> None:
    first_batch(store)
    for call in (
        lambda: api.show_work(store, 1),
        lambda: api.review_queue(store),
        lambda: list(api.iter_groups(store)),
    ):
        with pytest.raises(UsageError, match="run 'scoping dedupe' first"):
            call()


def test_a_link_by_the_pair_model_is_stored_with_each_fields_contribution(store: Store) -> None:
    other = {**PAPER, "title": PAPER["title"].upper(), "journal": "J Ment Health", "doi": None}
    add(store, "MEDLINE", [rec("m1", **PAPER)])
    add(store, "PsycINFO", [rec("p1", **other)])
    api.run_dedupe(store, model="default")
    assert len(set(groups(store).values())) == 1
    view = api.show_work(store, 1)
    (pair,) = view.pairs
    assert pair.label == "duplicate" and pair.rule.startswith("model P=")
    contributions = pair.fields["contributions"]
    assert isinstance(contributions, dict) and contributions["title"] > 0
