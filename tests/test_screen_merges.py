"""Later changes of works never lose a screening decision (issue 14, point 3).

Works are joined and split after screening by every path that changes links: a person's
"same" in ``dedupe review`` (and its undo), ``dedupe undo`` (a split), and a later ``scoping
dedupe`` run. Reviews are built from real records in tests/data (the ASySD cardiac slice).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scoping.screen import (
    TITLE_ABSTRACT,
    Protocol,
    assign_works,
    conflicts,
    final_outcomes,
    load_protocol,
    record_decision,
    resolve,
    status,
    withdraw_decision,
)
from scoping.store import Store
from scoping.store import dedupe_tables as dt
from scoping.store import screen_tables as st
from scoping.store.dedupe_tables import Applied
from test_screen_support import LEAD, cached_review, relinked

TA = TITLE_ABSTRACT


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[Store, Protocol]]:
    review = cached_review(tmp_path / "rv")
    protocol = load_protocol(review.protocol_path)
    with review.open_store() as store:
        assign_works(store, protocol, LEAD, [TA])
        yield store, protocol


def _singles(store: Store, n: int) -> list[int]:
    """``n`` works of one record each (their id is their record's id)."""
    works: dict[int, list[int]] = {}
    for rid, work in dt.load_assignment(store).items():
        works.setdefault(work, []).append(rid)
    return sorted(w for w, members in works.items() if members == [w])[:n]


def _decide(store: Store, protocol: Protocol, who: str, work: int, value: str) -> None:
    record_decision(store, protocol, who, TA, work, value)


def _outcome(store: Store, work: int) -> str | None:
    found = final_outcomes(store, TA).get(work)
    return found.outcome if found else None


def _lead_counts(store: Store, protocol: Protocol) -> dict[str, int]:
    (stage,) = status(store, protocol, LEAD, [TA])
    assert stage.outcomes is not None
    return stage.outcomes


def test_join_carries_decisions_to_the_surviving_work(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    keep, gone = _singles(store, 2)
    # both reviewers included the work that joins; nobody had screened the one that survives
    _decide(store, protocol, "alice", gone, "include")
    _decide(store, protocol, "bob", gone, "include")
    before = _lead_counts(store, protocol)
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    assert _outcome(store, keep) == "include"
    after = _lead_counts(store, protocol)
    assert after["include"] == before["include"] == 1
    # the joined work is no longer "not started" for anyone: one work fewer to screen
    assert after["not started"] == before["not started"] - 1
    for mine in status(store, protocol, "alice", [TA])[0].reviewers:
        assert (mine.done, mine.decisions["include"]) == (1, 1)
        assert keep not in st.assigned_works(store, TA, "alice") or mine.remaining == mine.assigned - 1
    # the reviewer's queue does not offer the work again, nor the work that vanished
    from scoping.screen import pending_works

    assert keep not in pending_works(store, TA, "alice")
    assert gone not in pending_works(store, TA, "alice")


def test_the_same_reviewers_latest_decision_counts_and_both_stay(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    keep, gone = _singles(store, 2)
    _decide(store, protocol, "alice", gone, "include")  # earlier, on the work that joins
    _decide(store, protocol, "alice", keep, "exclude")  # later, on the work that survives
    _decide(store, protocol, "bob", gone, "exclude")
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    current = st.current_decisions(store, TA)
    assert current[(keep, "alice")].decision == "exclude"
    assert current[(keep, "bob")].decision == "exclude"
    history = [(r.work_id, r.decision) for r in st.decision_history(store, TA, reviewer="alice")]
    assert (gone, "include") in history and (keep, "exclude") in history
    assert _outcome(store, keep) == "exclude"
    # the later one wins whichever side it is on
    keep2, gone2 = _singles(store, 4)[2:]
    _decide(store, protocol, "alice", keep2, "exclude")
    _decide(store, protocol, "alice", gone2, "include")
    relinked.decide_pair(store, keep2, gone2, "same", reviewer="anna")
    assert st.current_decisions(store, TA)[(keep2, "alice")].decision == "include"


def test_different_outcomes_become_a_conflict_for_the_lead(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    keep, gone = _singles(store, 2)
    for who in ("alice", "bob"):
        _decide(store, protocol, who, keep, "include")
    for who in ("alice", "bob"):
        _decide(store, protocol, who, gone, "exclude")  # later: on its own, the latest would win
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    assert _outcome(store, keep) == "conflict"
    (found,) = conflicts(store, protocol, LEAD, TA)
    assert found.work_id == keep
    assert found.note is not None
    assert f"work {keep}: include" in found.note and f"work {gone}: exclude" in found.note
    resolve(store, protocol, LEAD, TA, keep, "include")
    assert _outcome(store, keep) == "include"
    assert conflicts(store, protocol, LEAD, TA) == []
    # the same outcome on both sides is no conflict
    keep2, gone2 = _singles(store, 4)[2:]
    for work in (keep2, gone2):
        for who in ("alice", "bob"):
            _decide(store, protocol, who, work, "exclude")
    relinked.decide_pair(store, keep2, gone2, "same", reviewer="anna")
    assert _outcome(store, keep2) == "exclude"


def test_a_resolution_comes_along(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    keep, gone = _singles(store, 2)
    _decide(store, protocol, "alice", gone, "include")
    _decide(store, protocol, "bob", gone, "exclude")
    resolve(store, protocol, LEAD, TA, gone, "include")
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    outcome = final_outcomes(store, TA)[keep]
    assert (outcome.outcome, outcome.resolved_by) == ("include", LEAD)


def test_undoing_a_join_gives_each_work_back_its_own(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    keep, gone = _singles(store, 2)
    for who in ("alice", "bob"):
        _decide(store, protocol, who, keep, "include")
        _decide(store, protocol, who, gone, "exclude")
    before = {w: _outcome(store, w) for w in (keep, gone)}
    counts = _lead_counts(store, protocol)
    applied = relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    assert _outcome(store, keep) == "conflict"
    relinked.undo_decision(store, applied, reviewer="anna")
    assert {w: _outcome(store, w) for w in (keep, gone)} == before == {keep: "include", gone: "exclude"}
    assert _lead_counts(store, protocol) == counts
    # the same through 'dedupe undo' (a split of the joined work)
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    relinked.undo_work(store, keep, by="anna")
    assert {w: _outcome(store, w) for w in (keep, gone)} == before
    assert _lead_counts(store, protocol) == counts


def test_a_split_applies_decisions_made_on_the_joined_work_to_every_part(
    team: tuple[Store, Protocol],
) -> None:
    store, protocol = team
    keep, gone, third = _singles(store, 3)
    _decide(store, protocol, "alice", gone, "exclude")  # made on the part, before the join
    _decide(store, protocol, "bob", third, "include")  # on another work: not carried
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    _decide(store, protocol, "bob", keep, "include")  # made on the joined work
    relinked.undo_work(store, keep, by="anna")
    current = st.current_decisions(store, TA)
    assert current[(keep, "bob")].decision == "include"
    assert current[(gone, "bob")].decision == "include"
    assert current[(gone, "alice")].decision == "exclude"
    assert (keep, "alice") not in current  # alice decided only on the other part
    # a part's own later decision beats the joined work's
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    _decide(store, protocol, "alice", keep, "include")
    relinked.undo_work(store, keep, by="anna")
    current = st.current_decisions(store, TA)
    assert current[(gone, "alice")].decision == "include"
    # ...and a withdrawal on the joined work withdraws it from every part
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    withdraw_decision(store, protocol, "bob", TA, keep)
    relinked.undo_work(store, keep, by="anna")
    current = st.current_decisions(store, TA)
    assert (keep, "bob") not in current and (gone, "bob") not in current


def test_splitting_a_linked_work_gives_every_record_its_decisions(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    works: dict[int, list[int]] = {}
    for rid, work in dt.load_assignment(store).items():
        works.setdefault(work, []).append(rid)
    work = min(w for w, members in works.items() if len(members) > 1)
    for who in ("alice", "bob"):
        _decide(store, protocol, who, work, "include")
    counts = _lead_counts(store, protocol)
    parts = relinked.undo_work(store, work, by="anna")
    for part in parts:
        assert _outcome(store, part) == "include"
        assert set(st.assigned_reviewers(store, TA, [part])[part]) == {"alice", "bob"}
    after = _lead_counts(store, protocol)
    assert after["include"] == counts["include"] + len(parts) - 1
    assert after["not started"] == counts["not started"]


def test_a_later_dedupe_run_carries_decisions(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    works: dict[int, list[int]] = {}
    for rid, work in dt.load_assignment(store).items():
        works.setdefault(work, []).append(rid)
    work = min(w for w, members in works.items() if len(members) == 2)
    other = max(works[work])
    # as an older run might have left them: the two records in works of their own
    with store.engine.begin() as conn:
        conn.execute(dt.record_work.update().where(dt.record_work.c.record_id == other).values(work_id=other))
    assign_works(store, protocol, LEAD, [TA])
    for who in ("alice", "bob"):
        _decide(store, protocol, who, other, "include")
    assert _outcome(store, work) is None
    relinked.run_dedupe(store, rebuild=True)
    assert dt.works_of(store, [other])[other] == work
    assert _outcome(store, work) == "include"


def test_decisions_made_by_simulated_reviewers_are_not_counted_twice(team: tuple[Store, Protocol]) -> None:
    store, protocol = team
    keep, gone = _singles(store, 2)
    _decide(store, protocol, "alice", gone, "include")
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    assert st.count_by(store, via="api") == (1, 1)


def test_a_decision_on_a_work_joined_meanwhile_is_refused_not_lost(team: tuple[Store, Protocol]) -> None:
    """A reviewer whose queue still shows a work that a join just removed is told where it went."""
    from scoping.errors import UsageError

    store, protocol = team
    keep, gone = _singles(store, 2)
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    with pytest.raises(UsageError, match=f"work {gone} was joined to work {keep} in de-duplication"):
        _decide(store, protocol, "alice", gone, "include")
    assert st.decision_history(store, TA, work_id=gone) == []


def test_full_text_reasons_that_differ_are_a_conflict(team: tuple[Store, Protocol]) -> None:
    from scoping.screen import FULL_TEXT

    store, protocol = team
    keep, gone = _singles(store, 2)
    for work in (keep, gone):
        for who in ("alice", "bob"):
            _decide(store, protocol, who, work, "include")
    assign_works(store, protocol, LEAD, [FULL_TEXT])
    for work, reason in ((keep, "wrong design"), (gone, "no outcome data")):
        for who in ("alice", "bob"):
            record_decision(store, protocol, who, FULL_TEXT, work, "exclude", reason=reason)
    relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    assert _outcome(store, keep) == "include"  # title-abstract agreed
    ft = final_outcomes(store, FULL_TEXT)[keep]
    assert ft.outcome == "conflict"
    (found,) = conflicts(store, protocol, LEAD, FULL_TEXT)
    assert found.note is not None and "no outcome data" in found.note and "wrong design" in found.note


def test_labels_follow_their_records_through_a_join_and_its_undo(team: tuple[Store, Protocol]) -> None:
    from scoping.screen import label_work, my_labels

    store, protocol = team
    keep, gone = _singles(store, 2)
    assert label_work(store, protocol, "alice", keep, "rct, follow-up") == ["follow-up", "rct"]
    label_work(store, protocol, "alice", gone, "animal, -nothing")
    label_work(store, protocol, "bob", gone, "unsure")
    applied = relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    assert my_labels(store, "alice") == {keep: ["animal", "follow-up", "rct"]}
    assert my_labels(store, "bob") == {keep: ["unsure"]}  # each reviewer sees only their own
    label_work(store, protocol, "alice", keep, "-animal")
    assert my_labels(store, "alice") == {keep: ["follow-up", "rct"]}
    relinked.undo_decision(store, applied, reviewer="anna")  # the two works apart again
    assert my_labels(store, "alice") == {keep: ["follow-up", "rct"], gone: ["animal"]}
    assert my_labels(store, "bob") == {gone: ["unsure"]}


# -- the re-linking and the carry: one transaction ---------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Protocol]]:
    """The screened review on SQLite, then on a real PostgreSQL server."""
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    review = cached_review(tmp_path / "rv", server=server)
    protocol = load_protocol(review.protocol_path)
    with review.open_store() as store:
        assign_works(store, protocol, LEAD, [TA])
        yield store, protocol


def _everything(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a re-linking of works and its carry write."""
    import sqlalchemy as sa

    names = [
        "record_work",
        "dedupe_decisions",
        "work_events",
        "screen_decisions",
        "screen_resolutions",
        "screen_scopes",
        "screen_assignments",
    ]
    with store.engine.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn, only=names)
        return {
            name: sorted(tuple(row) for row in conn.execute(sa.select(meta.tables[name]))) for name in names
        }


def _failing_after_the_first_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The carry's first copied decision is written, then the database fails."""
    import scoping.store.screen_carry as carry_rows

    real = carry_rows.append_copy

    def append_then_fail(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(carry_rows, "append_copy", append_then_fail)


def _relink(store: Store, change: str, keep: int, gone: int, applied: Applied | None) -> None:
    if change == "join":
        relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
    elif change == "undo the join":
        assert applied is not None
        relinked.undo_decision(store, applied, reviewer="anna")
    else:
        relinked.undo_work(store, keep, by="anna")


@pytest.mark.parametrize("change", ["join", "undo the join", "split"])
def test_a_carry_that_fails_leaves_the_works_as_they_were(
    either: tuple[Store, Protocol], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The re-linking and the carry of screening are one transaction: when the carry fails
    half-way (a copied decision already written), neither the new links, nor the dedupe
    decision, nor the work's event, nor any screening row is stored."""
    store, protocol = either
    keep, gone = _singles(store, 2)
    _decide(store, protocol, "alice", gone, "include")
    _decide(store, protocol, "bob", keep, "exclude")
    applied = None
    if change != "join":
        applied = relinked.decide_pair(store, keep, gone, "same", reviewer="anna")
        _decide(store, protocol, "alice", keep, "exclude")  # on the joined work: every part gets it
    before = _everything(store)
    _failing_after_the_first_copy(monkeypatch)
    with pytest.raises(RuntimeError, match="disk is full"):
        _relink(store, change, keep, gone, applied)
    assert _everything(store) == before
    monkeypatch.undo()  # and the same change, without the failure, goes through
    _relink(store, change, keep, gone, applied)
    changed = _everything(store)
    assert changed["record_work"] != before["record_work"]
    assert len(changed["screen_decisions"]) > len(before["screen_decisions"])


def test_a_relinking_nobody_carries_is_not_stored(either: tuple[Store, Protocol]) -> None:
    """Calling the dedupe stage alone once screening has begun (not through the application
    layer, which carries screening) stores nothing and says what to do."""
    from scoping.dedupe import api as dedupe_api
    from scoping.errors import StoreError

    store, protocol = either
    keep, gone = _singles(store, 2)
    _decide(store, protocol, "alice", gone, "include")
    before = _everything(store)
    with pytest.raises(StoreError, match="not carried to the new works"):
        dedupe_api.decide_pair(store, keep, gone, "same", reviewer="anna")
    with pytest.raises(StoreError, match="open_review"):
        dedupe_api.undo_work(store, gone, by="anna")
    assert _everything(store) == before
