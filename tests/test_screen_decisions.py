"""Decisions, history, outcomes, conflicts, resolutions, CSV loading and the session, on
SQLite and PostgreSQL stores built from real records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scoping.errors import UsageError
from scoping.screen import (
    FULL_TEXT,
    TITLE_ABSTRACT,
    Protocol,
    ScreeningSession,
    assign_works,
    conflicts,
    final_outcomes,
    load_decisions_csv,
    load_protocol,
    record_decision,
    record_decisions,
    resolve,
    status,
    withdraw_decision,
    work_decisions,
)
from scoping.screen.outcomes import derive_outcome, outcome_rows, vanished_works
from scoping.store import Store, screen_tables
from test_screen_support import LEAD, cached_review, relinked


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Protocol, list[int]]]:
    """A review of 135 real works on SQLite, then on PostgreSQL, allocated to alice and bob."""
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    review = cached_review(tmp_path / "rv", server=server)
    protocol = load_protocol(review.protocol_path)
    with review.open_store() as store:
        assign_works(store, protocol, LEAD)
        works = screen_tables.assigned_works(store, TITLE_ABSTRACT, "alice")
        yield store, protocol, works


def test_a_store_without_screening_has_no_outcomes(tmp_path: Path) -> None:
    with Store.open(tmp_path / "old.db") as store:  # as if made before the screening stage
        for table in reversed(screen_tables.TABLES):
            table.drop(store.engine)
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    with Store.open(tmp_path / "old.db") as store:  # the one migration path makes the tables
        assert "screen_decisions" in sa.inspect(store.engine).get_table_names()
        assert list(outcome_rows(store)) == []


def test_the_rule() -> None:
    both = ("alice", "bob")
    assert derive_outcome(TITLE_ABSTRACT, both, {}) is None
    assert derive_outcome(TITLE_ABSTRACT, both, {"alice": ("include", None)}) == ("pending", None)
    agreed = {"alice": ("exclude", "a"), "bob": ("exclude", "a")}
    assert derive_outcome(TITLE_ABSTRACT, both, agreed) == ("exclude", "a")
    differ = {"alice": ("exclude", "a"), "bob": ("exclude", None)}
    assert derive_outcome(TITLE_ABSTRACT, both, differ) == ("exclude", None)
    assert derive_outcome(FULL_TEXT, both, differ) == ("conflict", None)
    split = {"alice": ("include", None), "bob": ("exclude", None)}
    assert derive_outcome(TITLE_ABSTRACT, both, split) == ("conflict", None)
    assert derive_outcome(TITLE_ABSTRACT, both, split, ("include", None)) == ("include", None)
    assert derive_outcome(TITLE_ABSTRACT, ("alice",), {"alice": ("maybe", None)}) == ("conflict", None)
    maybes = {"alice": ("maybe", None), "bob": ("maybe", None)}
    assert derive_outcome(TITLE_ABSTRACT, both, maybes) == ("conflict", None)
    gone = {"alice": ("not-retrieved", None), "bob": ("not-retrieved", None)}
    assert derive_outcome(FULL_TEXT, both, gone) == ("not-retrieved", None)
    assert derive_outcome(TITLE_ABSTRACT, ("alice",), {"alice": ("include", None)}) == ("include", None)


def test_decisions_are_appended_and_history_kept(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    work = works[0]
    first = record_decision(store, protocol, "alice", TITLE_ABSTRACT, work, "Include", note="  first ")
    assert (first.decision, first.note, first.reviewer, first.via) == ("include", "first", "alice", "api")
    second = record_decision(
        store, protocol, "alice", TITLE_ABSTRACT, work, "exclude", reason="WRONG POPULATION"
    )
    assert second.reason == "wrong population" and second.id > first.id
    current = screen_tables.current_decision(store, TITLE_ABSTRACT, work, "alice")
    assert current == second
    withdrawn = withdraw_decision(store, protocol, "alice", TITLE_ABSTRACT, work)
    assert withdrawn is not None and withdrawn.decision == "undone"
    assert screen_tables.current_decision(store, TITLE_ABSTRACT, work, "alice") is None
    assert withdraw_decision(store, protocol, "alice", TITLE_ABSTRACT, work) is None
    history = screen_tables.decision_history(store, TITLE_ABSTRACT, work_id=work)
    assert [r.decision for r in history] == ["include", "exclude", "undone"]


def test_same_uid_is_stored_once(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    a = record_decision(store, protocol, "alice", TITLE_ABSTRACT, works[0], "include", uid="retry-1")
    b = record_decision(store, protocol, "alice", TITLE_ABSTRACT, works[0], "include", uid="retry-1")
    assert a == b
    assert len(screen_tables.decision_history(store, TITLE_ABSTRACT, work_id=works[0])) == 1


def test_what_is_refused(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    work = works[0]
    cases: list[tuple[tuple[str, str, int, str], dict[str, Any], str]] = [
        (("mallory", TITLE_ABSTRACT, work, "include"), {}, "'mallory' is not a reviewer"),
        (("lena", TITLE_ABSTRACT, work, "include"), {}, "is not assigned to you"),
        (("alice", TITLE_ABSTRACT, work, "perhaps"), {}, "use include, exclude, maybe"),
        (("alice", TITLE_ABSTRACT, work, "not-retrieved"), {}, "use include, exclude, maybe"),
        (("alice", TITLE_ABSTRACT, work, "include"), {"reason": "wrong design"}, "exclude only"),
        (("alice", TITLE_ABSTRACT, work, "exclude"), {"reason": "too long"}, "not an exclusion reason"),
        (("alice", TITLE_ABSTRACT, work, "include"), {"fulltext": "x.pdf"}, "full-text stage"),
        (("alice", FULL_TEXT, work, "include"), {}, "is not assigned to you at full-text"),
        (("alice", FULL_TEXT, work, "exclude"), {}, "excluding at full-text needs a reason"),
    ]
    for args, options, message in cases:
        with pytest.raises(UsageError, match=message):
            record_decision(store, protocol, *args, **options)
    assert screen_tables.decision_history(store) == []


def test_a_batch_is_checked_and_stored_all_or_none(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    good = [(works[0], "include", None, None), (works[1], "exclude", "wrong design", " a note ")]
    refused = [
        ([*good, (10**9, "include", None, None)], "is not assigned to alice"),
        ([*good, (works[0], "exclude", None, None)], "decided twice"),
        ([*good, (works[2], "exclude", "too long", None)], "not an exclusion reason"),
        ([*good, (works[2], "perhaps", None, None)], "use include, exclude, maybe"),
    ]
    for batch, message in refused:
        with pytest.raises(UsageError, match=message):
            record_decisions(store, protocol, "alice", TITLE_ABSTRACT, batch, via="script")
        assert screen_tables.decision_history(store) == []  # none of the batch
    assert record_decisions(store, protocol, "alice", TITLE_ABSTRACT, good, via="script") == 2
    stored = {row.work_id: row for row in screen_tables.decision_history(store, TITLE_ABSTRACT)}
    assert set(stored) == {works[0], works[1]}
    assert (stored[works[1]].decision, stored[works[1]].reason, stored[works[1]].note) == (
        "exclude",
        "wrong design",
        "a note",
    )
    assert {row.via for row in stored.values()} == {"script"}
    # they count as one-at-a-time decisions do: alice has decided, bob not yet
    assert final_outcomes(store, TITLE_ABSTRACT)[works[0]].outcome == "pending"


def _both(
    store: Store,
    protocol: Protocol,
    work: int,
    a: str,
    b: str,
    stage: str = TITLE_ABSTRACT,
    reasons: tuple[str | None, str | None] = (None, None),
) -> None:
    record_decision(store, protocol, "alice", stage, work, a, reason=reasons[0])
    record_decision(store, protocol, "bob", stage, work, b, reason=reasons[1])


def test_outcomes_conflicts_and_resolutions(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    w1, w2, w3, w4, w5 = works[:5]
    _both(store, protocol, w1, "include", "include")
    _both(store, protocol, w2, "exclude", "exclude", reasons=("wrong design", None))
    _both(store, protocol, w3, "include", "exclude")
    _both(store, protocol, w4, "maybe", "include")
    record_decision(store, protocol, "alice", TITLE_ABSTRACT, w5, "include")
    found = {c.work_id: c for c in conflicts(store, protocol, LEAD, TITLE_ABSTRACT)}
    assert sorted(found) == sorted([w3, w4])
    assert found[w3].kind == "exclude vs include" and found[w4].kind == "maybe"
    assert [r.reviewer for r in found[w3].decisions] == ["alice", "bob"]
    with pytest.raises(UsageError, match="only a lead"):
        conflicts(store, protocol, "alice", TITLE_ABSTRACT)
    with pytest.raises(UsageError, match="only a lead"):
        resolve(store, protocol, "bob", TITLE_ABSTRACT, w3, "include")
    with pytest.raises(UsageError, match="use include, exclude"):
        resolve(store, protocol, LEAD, TITLE_ABSTRACT, w3, "maybe")
    resolve(store, protocol, LEAD, TITLE_ABSTRACT, w3, "include", note="about the heart")
    outcome = final_outcomes(store, TITLE_ABSTRACT)
    assert {w: (o.outcome, o.reason) for w, o in outcome.items()} == {
        w1: ("include", None),
        w2: ("exclude", None),
        w3: ("include", None),
        w4: ("conflict", None),
        w5: ("pending", None),
    }
    assert outcome[w3].resolved_by == LEAD and outcome[w1].resolved_by is None
    # a reviewer changing their mind later does not undo the lead's settlement
    record_decision(store, protocol, "bob", TITLE_ABSTRACT, w3, "exclude", reason="wrong design")
    assert final_outcomes(store, TITLE_ABSTRACT)[w3].outcome == "include"
    # the lead can change their own decision; the history keeps both
    resolve(store, protocol, LEAD, TITLE_ABSTRACT, w3, "exclude", reason="wrong population")
    assert final_outcomes(store, TITLE_ABSTRACT)[w3].outcome == "exclude"
    assert len(screen_tables.resolution_history(store, TITLE_ABSTRACT, work_id=w3)) == 2
    assert [r.reviewer for r in work_decisions(store, protocol, LEAD, TITLE_ABSTRACT, w4)] == ["alice", "bob"]

    # the report's seam: one row per work and stage, outcomes it knows
    rows = list(outcome_rows(store))
    assert len(rows) == len({(w, s) for w, s, _, _ in rows}) == 5
    from scoping.report.facts import OUTCOMES, prisma_facts

    assert all(outcome in OUTCOMES[stage] for _, stage, outcome, _ in rows)
    tally = prisma_facts(store).outcomes
    assert tally is not None
    assert tally.n("main", TITLE_ABSTRACT, "include") == 1
    assert tally.n("main", TITLE_ABSTRACT, "exclude", "conflict", "pending") == 4


def test_full_text_stage(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    w1, w2, w3 = works[:3]
    _both(store, protocol, w1, "include", "include")
    _both(store, protocol, w2, "include", "exclude")
    _both(store, protocol, w3, "exclude", "exclude")
    resolve(store, protocol, LEAD, TITLE_ABSTRACT, w2, "include")
    (ft,) = assign_works(store, protocol, LEAD, [FULL_TEXT])
    assert (ft.eligible, ft.added_works) == (2, 2)
    assert set(screen_tables.assigned_works(store, FULL_TEXT, "alice")) == {w1, w2}
    with pytest.raises(UsageError, match="is not assigned to you at full-text"):
        record_decision(store, protocol, "alice", FULL_TEXT, w3, "include")
    record_decision(
        store, protocol, "alice", FULL_TEXT, w1, "exclude", reason="no outcome data", fulltext="papers/w1.pdf"
    )
    record_decision(store, protocol, "bob", FULL_TEXT, w1, "exclude", reason="wrong design")
    _both(store, protocol, w2, "not retrieved", "not-retrieved", stage=FULL_TEXT)
    outcome = final_outcomes(store, FULL_TEXT)
    assert (outcome[w1].outcome, outcome[w2].outcome) == ("conflict", "not-retrieved")
    (conflict,) = conflicts(store, protocol, LEAD, FULL_TEXT)
    assert conflict.kind == "different reasons"
    assert conflict.decisions[0].fulltext == "papers/w1.pdf"
    with pytest.raises(UsageError, match="needs a reason"):
        resolve(store, protocol, LEAD, FULL_TEXT, w1, "exclude")
    resolve(store, protocol, LEAD, FULL_TEXT, w1, "exclude", reason="no outcome data")
    assert final_outcomes(store, FULL_TEXT)[w1].reason == "no outcome data"
    ft_rows = [r for r in outcome_rows(store) if r[1] == FULL_TEXT]
    assert sorted(ft_rows) == sorted(
        [(w1, FULL_TEXT, "exclude", "no outcome data"), (w2, FULL_TEXT, "not-retrieved", None)]
    )
    # the lead changes their mind on w2 at title-abstract: it leaves the full-text stage
    resolve(store, protocol, LEAD, TITLE_ABSTRACT, w2, "exclude")
    assert set(final_outcomes(store, FULL_TEXT)) == {w1}
    session = ScreeningSession(store, protocol, "alice", FULL_TEXT)
    assert session.progress().assigned == 1
    # and status agrees with the screen: the work left the stage, nothing "not started"
    (lead_view,) = status(store, protocol, LEAD, [FULL_TEXT])
    assert (lead_view.works, lead_view.allocated) == (1, 1)
    assert lead_view.outcomes is not None and lead_view.outcomes["not started"] == 0
    assert sum(lead_view.outcomes.values()) == 1
    assert [(r.reviewer, r.assigned, r.done) for r in lead_view.reviewers] == [("alice", 1, 1), ("bob", 1, 1)]
    (own,) = status(store, protocol, "alice", [FULL_TEXT])
    assert (own.reviewers[0].assigned, own.reviewers[0].done) == (1, 1)


def test_status_shows_a_reviewer_only_their_own(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    _both(store, protocol, works[0], "include", "exclude")
    record_decision(store, protocol, "bob", TITLE_ABSTRACT, works[1], "maybe")
    (mine, _) = status(store, protocol, "alice")
    assert [r.reviewer for r in mine.reviewers] == ["alice"]
    assert (mine.works, mine.allocated, mine.outcomes) == (None, None, None)
    assert (mine.reviewers[0].assigned, mine.reviewers[0].done) == (135, 1)
    (lead_view,) = status(store, protocol, LEAD, [TITLE_ABSTRACT])
    assert [(r.reviewer, r.done, r.remaining) for r in lead_view.reviewers] == [
        ("alice", 1, 134),
        ("bob", 2, 133),
    ]
    # bob's "maybe" waits for alice before it becomes a conflict
    assert lead_view.outcomes == {"include": 0, "exclude": 0, "conflict": 1, "pending": 1, "not started": 133}


def test_decisions_from_csv(tmp_path: Path, team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    good = tmp_path / "alice.csv"
    good.write_text(
        "Work ID;Decision;Reason;Note\n"
        f"{works[0]};include;;\n{works[1]};exclude;Wrong design;seen in Rayyan\n"
        f"{works[2]};Excluded;;\n",
        encoding="utf-8-sig",
    )
    report = load_decisions_csv(store, protocol, "alice", TITLE_ABSTRACT, good)
    assert (report.rows, report.added, report.unchanged, report.errors) == (3, 3, 0, [])
    again = load_decisions_csv(store, protocol, "alice", TITLE_ABSTRACT, good)
    assert (again.added, again.unchanged) == (0, 3)
    rows = screen_tables.decision_history(store, TITLE_ABSTRACT, reviewer="alice")
    assert [(r.decision, r.reason, r.note, r.via) for r in rows] == [
        ("include", None, None, "csv:alice.csv"),
        ("exclude", "wrong design", "seen in Rayyan", "csv:alice.csv"),
        ("exclude", None, None, "csv:alice.csv"),
    ]

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "work_id,decision,reason\n"
        f"{works[3]},include,\n"
        "x1,include,\n"
        f"{works[4]},exclude,too long\n"
        "999999,include,\n"
        f"{works[3]},exclude,\n"
        f"{works[5]},dunno,\n",
        encoding="utf-8",
    )
    report = load_decisions_csv(store, protocol, "alice", TITLE_ABSTRACT, bad)
    assert report.added == 0
    assert report.errors == [
        "line 3: work_id 'x1' is not a number",
        "line 4: 'too long' is not an exclusion reason at title-abstract (the reasons: wrong "
        "population; wrong intervention; wrong design)",
        "line 7: 'dunno' is not a decision at title-abstract; use include, exclude, maybe",
        "line 5: work 999999 is not assigned to you at title-abstract",
        f"line 6: work {works[3]} was already decided on line 2",
    ]
    assert len(screen_tables.decision_history(store, TITLE_ABSTRACT)) == 3  # nothing more stored

    by_record = tmp_path / "records.csv"
    member = screen_tables.work_ids(store)  # a work's id is one of its records' ids
    assert works[3] in member
    by_record.write_text(f"record_id,decision\n{works[3]},maybe\n999999,include\n", encoding="utf-8")
    assert load_decisions_csv(store, protocol, "alice", TITLE_ABSTRACT, by_record).errors == [
        "line 3: there is no record 999999"
    ]
    by_record.write_text(f"record_id,decision\n{works[3]},maybe\n", encoding="utf-8")
    assert load_decisions_csv(store, protocol, "alice", TITLE_ABSTRACT, by_record).added == 1
    header = tmp_path / "header.csv"
    header.write_text("id,verdict\n1,include\n", encoding="utf-8")
    with pytest.raises(UsageError, match="needs work_id"):
        load_decisions_csv(store, protocol, "alice", TITLE_ABSTRACT, header)


def test_session_queue_undo_and_resume(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    with pytest.raises(UsageError, match="no works are assigned to 'lena'"):
        ScreeningSession(store, protocol, LEAD)
    session = ScreeningSession(store, protocol, "alice", via="plain")
    order = []
    for value in ("include", "exclude", "maybe"):
        card = session.current()
        assert card is not None and card.work_id in works
        order.append(card.work_id)
        session.decide(value)
    assert session.progress().done == 3
    skipped = session.current()
    assert skipped is not None
    session.skip()
    assert session.current() != skipped
    undone = session.undo()
    assert undone is not None and undone.work_id == order[-1]
    shown = session.current()
    assert shown is not None and shown.work_id == order[-1]
    session.note = "on second thoughts"
    row = session.decide("include")
    assert (row.note, row.via) == ("on second thoughts", "plain")

    # a new session continues with the works not decided, in the same order
    again = ScreeningSession(store, protocol, "alice")
    assert again.progress().done == 3
    fresh = list(again._queue)
    assert len(fresh) == 132 and not set(order) & set(fresh)
    # the same reviewer deciding in another window is noticed before a work is shown
    nxt = again.current()
    assert nxt is not None
    record_decision(store, protocol, "alice", TITLE_ABSTRACT, nxt.work_id, "exclude")
    again._card = None  # as if the work had not been drawn yet
    after = again.current()
    assert after is not None and after.work_id != nxt.work_id
    assert again.progress().done == 4


def test_ranking_hook(team: tuple[Store, Protocol, list[int]]) -> None:
    store, protocol, works = team
    calls: list[int] = []

    def rank(ids):  # highest id first: a stand-in for a prioritisation model
        calls.append(len(ids))
        return sorted(ids, reverse=True)

    session = ScreeningSession(store, protocol, "alice", rank=rank, rerank_every=2)
    assert (card := session.current()) is not None and card.work_id == max(works)
    for _ in range(4):
        session.decide("exclude")
    assert calls == [135, 133, 131]
    assert (card := session.current()) is not None and card.work_id == sorted(works, reverse=True)[4]

    def bad(ids):
        return list(ids)[1:]

    with pytest.raises(ValueError, match="exactly once"):
        ScreeningSession(store, protocol, "bob", rank=bad)


def test_works_joined_by_dedupe_after_allocation(team: tuple[Store, Protocol, list[int]]) -> None:
    """De-duplication can join two allocated works later: the one that disappears stops
    counting (its decisions stay in the history) and nobody is asked to screen it."""

    store, protocol, works = team
    keep, gone = sorted(works[:2])
    _both(store, protocol, keep, "include", "include")
    _both(store, protocol, gone, "exclude", "exclude")
    relinked.decide_pair(store, keep, gone, "same", reviewer=LEAD)
    assert vanished_works(store, TITLE_ABSTRACT) == [gone]
    outcome = final_outcomes(store, TITLE_ABSTRACT)
    assert keep in outcome and gone not in outcome
    assert len(screen_tables.decision_history(store, TITLE_ABSTRACT, work_id=gone)) == 2
    (lead_view,) = status(store, protocol, LEAD, [TITLE_ABSTRACT])
    assert lead_view.vanished == 1 and lead_view.outcomes is not None
    assert lead_view.outcomes["not started"] == 135 - 2
    session = ScreeningSession(store, protocol, "alice")
    seen = set()
    while (card := session.current()) is not None:
        seen.add(card.work_id)
        session.decide("exclude")
    assert gone not in seen and len(seen) == 133
