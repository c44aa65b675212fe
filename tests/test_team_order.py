"""The shared queue's question, "which works has someone else decided, and since when?",
answered in the database (``first_decided_by_others``) as the decision history defines it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoping.screen import TITLE_ABSTRACT, new_uid
from scoping.screen.rank_order import TeamOrder, decided_by_others
from scoping.store import Store, screen_tables

REVIEWERS = ("alice", "bob", "carol")
decisions = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.sampled_from(REVIEWERS),
        st.sampled_from(["include", "exclude", "maybe", "undone"]),
        st.sampled_from([TITLE_ABSTRACT, "full-text"]),
    ),
    max_size=40,
)


def by_the_history(store: Store, stage: str, reviewer: str) -> dict[int, int]:
    """The definition: each colleague's current decision (their latest row, unless it is
    "undone"); per work the id of the earliest of them."""
    first: dict[int, int] = {}
    for (work, who), row in screen_tables.current_decisions(store, stage).items():
        if who != reviewer:
            first[work] = min(row.id, first.get(work, row.id))
    return first


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store: SQLite, then PostgreSQL (the same query, another dialect)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else tmp_path / "review.db"
    with Store.open(url) as opened:
        yield opened


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=decisions)
def test_the_database_answer_is_the_historys(store: Store, made: list[tuple[int, str, str, str]]) -> None:
    with store.engine.begin() as conn:  # each example on an empty decision table
        conn.execute(screen_tables.screen_decisions.delete())
    rows = [
        {"uid": new_uid(), "stage": stage, "work_id": work, "reviewer": who, "decision": decision}
        for work, who, decision, stage in made
    ]
    screen_tables.add_decisions(store, rows, via="test")  # ids in the order made
    for stage in (TITLE_ABSTRACT, "full-text"):
        for reviewer in (*REVIEWERS, "lead"):
            expected = by_the_history(store, stage, reviewer)
            assert screen_tables.first_decided_by_others(store, stage, reviewer) == expected
            assert decided_by_others(store, stage, reviewer) == expected


def test_a_colleagues_new_decision_comes_first_and_ones_own_change_nothing(store: Store) -> None:
    """The shared queue re-reads the colleagues' decisions only when their mark changed: a
    colleague's new decision still reaches it, one's own decisions leave the mark alone."""
    ids = list(range(1, 11))

    def decide(reviewer: str, work: int) -> None:
        row = {"uid": new_uid(), "stage": TITLE_ABSTRACT, "work_id": work, "reviewer": reviewer}
        screen_tables.add_decisions(store, [{**row, "decision": "exclude"}], via="test")

    order = TeamOrder(store, TITLE_ABSTRACT, "alice")
    try:
        assert order(ids) == ids
        mark = screen_tables.others_decisions_mark(store, TITLE_ABSTRACT, "alice")
        decide("alice", 3)
        assert screen_tables.others_decisions_mark(store, TITLE_ABSTRACT, "alice") == mark
        decide("bob", 7)
        assert screen_tables.others_decisions_mark(store, TITLE_ABSTRACT, "alice") != mark
        deadline = time.monotonic() + 30
        while (shown := order(ids))[0] != 7 and time.monotonic() < deadline:
            time.sleep(0.02)  # the reader thread, woken by each call, reads them meanwhile
        assert shown == [7, *(w for w in ids if w != 7)]
        assert order(shown) == shown  # nothing new: the same order, not re-sorted
    finally:
        order.close()


def test_the_order_line_counts_the_teams_works_in_words(tmp_path: Path) -> None:
    from scoping.screen import assign_works, load_protocol, queue_order
    from test_screen_stopping import STOPPING
    from test_screen_support import LEAD, cached_review

    rv = cached_review(tmp_path / "rv", protocol=STOPPING)
    protocol = load_protocol(rv.protocol_path)
    with rv.open_store() as store:
        assign_works(store, protocol, LEAD)
        work = screen_tables.assigned_works(store, TITLE_ABSTRACT, "alice")[0]
        screen_tables.add_decisions(
            store,
            [
                {
                    "uid": new_uid(),
                    "stage": TITLE_ABSTRACT,
                    "work_id": work,
                    "reviewer": "alice",
                    "decision": "include",
                }
            ],
            via="test",
        )
        with queue_order(store, protocol, TITLE_ABSTRACT, reviewer="bob") as order:
            assert order.model is not None and order.model.sync(timeout=60)
            said = order.describe()
    assert said.endswith("to learn from (1 work screened by the team so far)"), said
