"""Prioritised queues and the stopping rule in a real review: ranked phase, random sample, the
test, the stop (works excluded by automation, counted for PRISMA), and taking it back.

The review is 539 real works from many databases (tests/data). The "truth" the simulated
reviewers follow is whether a work is about the heart: its merged title or abstract mentions
cardiac, heart, myocardial or coronary terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoping.errors import ConfigError, UsageError
from scoping.report.facts import prisma_facts
from scoping.report.prisma import derive_counts
from scoping.screen import (
    TITLE_ABSTRACT,
    Protocol,
    ScreeningSession,
    apply_stop,
    assign_works,
    cancel_sampling,
    load_cards,
    load_protocol,
    parse_protocol,
    queue_order,
    rank_order,
    record_decision,
    resume_screening,
    start_sampling,
    status,
    stopping_status,
)
from scoping.screen.outcomes import automation_excluded, outcome_rows, stopping_rule_note
from scoping.store import Store, screen_tables
from test_screen_support import LEAD, MANY, PROTOCOL, cached_review

HEART = re.compile(r"cardi|heart|myocard|coronar|ischaem|ischem", re.IGNORECASE)

STOPPING = (
    PROTOCOL.replace(
        'exclusion_reasons = ["wrong population", "wrong intervention", "wrong design"]\n',
        'exclusion_reasons = ["wrong population", "wrong intervention", "wrong design"]\nprioritise = true\n',
        1,
    )
    + "\n[stopping]\nrecall_target = 0.8\nconfidence = 0.9\n"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def review(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Store, Protocol, dict[int, int]]]:
    """The review on SQLite, then on a real PostgreSQL server (team mode)."""
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    folder = cached_review(tmp_path / "rv", files=MANY, protocol=STOPPING, server=server)
    protocol = load_protocol(folder.protocol_path)
    with folder.open_store() as store:
        assign_works(store, protocol, LEAD)
        ids = screen_tables.work_ids(store)
        truth = {
            card.work_id: int(bool(HEART.search(f"{card.title} {card.abstract}")))
            for card in load_cards(store, ids)
        }
        yield store, protocol, truth


def both_decide(store: Store, protocol: Protocol, work: int, include: int) -> None:
    for reviewer in ("alice", "bob"):
        record_decision(store, protocol, reviewer, TITLE_ABSTRACT, work, "include" if include else "exclude")


def test_protocol_settings() -> None:
    protocol = parse_protocol(STOPPING)
    assert protocol.stages[TITLE_ABSTRACT].prioritise
    assert protocol.stopping is not None
    assert (protocol.stopping.recall_target, protocol.stopping.confidence) == (0.8, 0.9)
    assert parse_protocol(PROTOCOL).stopping is None
    with pytest.raises(ConfigError, match=r"stopping.confidence must be a number between 0 and 1"):
        parse_protocol(PROTOCOL + "\n[stopping]\nconfidence = 95\n")
    with pytest.raises(ConfigError, match=r"prioritise must be true or false"):
        parse_protocol(STOPPING.replace("prioritise = true", 'prioritise = "yes"'))


def test_prioritised_queue_finds_includes_sooner(
    review: tuple[Store, Protocol, dict[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The features are built in the ranking thread on SQLite, and in a child process (which
    reads the server itself) on PostgreSQL: both ways of a real review, small and large."""
    store, protocol, truth = review
    prevalence = sum(truth.values()) / len(truth)
    assert 0.1 < prevalence < 0.5, prevalence
    in_child = store.url.startswith("postgresql")
    monkeypatch.setattr(rank_order, "FEATURES_IN_CHILD_FROM", 1 if in_child else len(truth) + 1)
    with queue_order(store, protocol, TITLE_ABSTRACT, rerank_every=1, workers=1) as order:
        assert order.kind == "prioritised" and order.model is not None
        assert order.model.in_child is in_child
        session = ScreeningSession(store, protocol, "alice", rank=order.rank, rerank_every=order.rerank_every)
        seen: list[int] = []
        for _ in range(80):
            card = session.current()
            assert card is not None
            label = truth[card.work_id]
            session.decide("include" if label else "exclude")
            record_decision(
                store, protocol, "bob", TITLE_ABSTRACT, card.work_id, "include" if label else "exclude"
            )
            seen.append(label)
            assert order.model.sync(timeout=60)
            session._rerank()  # the session asks after every decision; the model is fresh now
        assert order.model.trained
    first_half, second_half = sum(seen[:40]), sum(seen[40:])
    # the cold start is random; once trained, includes come far above their share
    assert second_half >= 2.5 * 40 * prevalence, (first_half, second_half, prevalence)


def test_the_rule_from_sample_to_stop(review: tuple[Store, Protocol, dict[int, int]]) -> None:
    store, protocol, truth = review
    with pytest.raises(UsageError, match="only a lead"):
        stopping_status(store, protocol, "alice")
    with pytest.raises(UsageError, match="the default stopping rule is not met yet"):
        apply_stop(store, protocol, LEAD)
    # ranked phase: the includes first (as a good ranking would), then a run of excludes
    includes = [w for w, v in truth.items() if v]
    excludes = [w for w, v in truth.items() if not v]
    for work in includes[:-6]:
        both_decide(store, protocol, work, 1)
    for work in excludes[:60]:
        both_decide(store, protocol, work, 0)
    state = stopping_status(store, protocol, LEAD)
    assert state.phase == "ranked" and state.includes == len(includes) - 6
    assert state.excludes_in_a_row == 60 and state.switch_suggested

    state = start_sampling(store, protocol, LEAD)
    assert state.phase == "sampling"
    untouched = len(truth) - (len(includes) - 6) - 60
    assert state.population == untouched and state.sampled == 0
    with pytest.raises(UsageError, match="already begun"):
        start_sampling(store, protocol, LEAD)
    events = screen_tables.stop_events(store)
    sample = screen_tables.stop_sample(store, events[-1].id)
    assert sorted(sample) == sorted(set(truth) - set(includes[:-6]) - set(excludes[:60]))

    # the queue now serves the sample in its random order
    with queue_order(store, protocol, TITLE_ABSTRACT) as order:
        assert order.kind == "random sample for the stopping rule"
        session = ScreeningSession(store, protocol, "alice", rank=order.rank)
        card = session.current()
        assert card is not None and card.work_id == sample[0]

    # a sampled work waiting for its second reviewer ends the prefix the test may use
    record_decision(store, protocol, "alice", TITLE_ABSTRACT, sample[0], "exclude")
    both_decide(store, protocol, sample[1], truth[sample[1]])
    assert stopping_status(store, protocol, LEAD).sampled == 0
    record_decision(
        store, protocol, "bob", TITLE_ABSTRACT, sample[0], "include" if truth[sample[0]] else "exclude"
    )
    record_decision(
        store, protocol, "alice", TITLE_ABSTRACT, sample[0], "include" if truth[sample[0]] else "exclude"
    )
    assert stopping_status(store, protocol, LEAD).sampled == 2

    with pytest.raises(UsageError, match="not met yet"):
        apply_stop(store, protocol, LEAD)
    screened = 2
    state = stopping_status(store, protocol, LEAD)
    assert state.test is not None
    while not state.test.met:
        both_decide(store, protocol, sample[screened], truth[sample[screened]])
        screened += 1
        state = stopping_status(store, protocol, LEAD)
        assert state.test is not None
    assert state.sampled == screened < len(sample)
    # the rule is sound here: recall at the stop is at least the target
    found = sum(truth[w] for w in includes[:-6]) + sum(truth[w] for w in sample[:screened])
    assert found / sum(truth.values()) >= 0.8

    state = apply_stop(store, protocol, LEAD)
    left = len(sample) - screened
    assert state.phase == "stopped" and state.automation == left
    assert set(automation_excluded(store)) == set(sample[screened:])
    outcomes = {w: o for w, stage, o, _ in outcome_rows(store) if stage == TITLE_ABSTRACT}
    assert sum(1 for o in outcomes.values() if o == "automation") == left
    lead_view = status(store, protocol, LEAD, [TITLE_ABSTRACT])[0]
    assert lead_view.outcomes is not None
    assert lead_view.outcomes["excluded by the stopping rule"] == left
    assert lead_view.outcomes["not started"] == 0
    # the stopped works leave the reviewers' queues
    session = ScreeningSession(store, protocol, "alice")
    assert session.progress().remaining == 0 and session.current() is None

    # PRISMA: excluded by automation tools, with the rule in the notes
    counts = derive_counts(prisma_facts(store), None)
    assert counts.identification.automation_removed.n == left
    assert counts.stopping_rule is not None and "Callaghan" in counts.stopping_rule
    stop = screen_tables.stop_events(store)[-1]
    assert stop.event == "stop" and stop.details["count"] == left
    assert stop.details["test"]["met"] and stop.details["recall_target"] == 0.8
    assert stopping_rule_note(store) == stop.details["note"]
    assert "Callaghan & Müller-Hansen 2020" in stop.details["note"]

    # taken back: the works return, and the history keeps every event
    state = resume_screening(store, protocol, LEAD)
    assert state.phase == "sampling" and state.automation == 0
    assert automation_excluded(store) == []
    assert ScreeningSession(store, protocol, "alice").progress().remaining == left
    assert [e.event for e in screen_tables.stop_events(store)] == ["sample", "stop", "resume"]
    with pytest.raises(UsageError, match="nothing to resume"):
        resume_screening(store, protocol, LEAD)


def test_the_default_rule_stops_from_ranked_decisions(review: tuple[Store, Protocol, dict[int, int]]) -> None:
    store, protocol, truth = review
    includes = [w for w, v in truth.items() if v]
    excludes = [w for w, v in truth.items() if not v]
    for work in includes[:-3]:  # a good ranking: includes first, then a run of excludes
        both_decide(store, protocol, work, 1)
    state = stopping_status(store, protocol, LEAD)
    assert state.default_test is not None and not state.default_test.met
    more = state.default_test.excludes_needed
    assert more is not None and more < len(excludes)
    for work in excludes[: more - 1]:
        both_decide(store, protocol, work, 0)
    with pytest.raises(UsageError, match="1 more excludes in a row would meet it"):
        apply_stop(store, protocol, LEAD)
    both_decide(store, protocol, excludes[more - 1], 0)
    state = stopping_status(store, protocol, LEAD)
    assert state.default_test is not None and state.default_test.met
    # recall at the stop (the rule's target is 80 %)
    assert (len(includes) - 3) / len(includes) >= 0.8
    state = apply_stop(store, protocol, LEAD)
    left = set(truth) - set(includes[:-3]) - set(excludes[:more])
    assert state.phase == "stopped" and state.stopped_by == "default" and state.automation == len(left)
    assert set(automation_excluded(store)) == left
    stop = screen_tables.stop_events(store)[-1]
    assert stop.event == "stop" and stop.details["guarantee"] is False and stop.details["count"] == len(left)
    counts = derive_counts(prisma_facts(store), None)
    assert counts.identification.automation_removed.n == len(left)
    assert counts.stopping_rule is not None and "NO statistical guarantee" in counts.stopping_rule
    session = ScreeningSession(store, protocol, "alice")
    assert session.progress().remaining == 0 and session.current() is None
    with pytest.raises(UsageError, match="no sample to cancel"):
        cancel_sampling(store, protocol, LEAD)
    state = resume_screening(store, protocol, LEAD)
    assert state.phase == "ranked" and state.automation == 0
    assert ScreeningSession(store, protocol, "alice").progress().remaining == len(left)
    assert [e.event for e in screen_tables.stop_events(store)] == ["stop", "resume"]


def test_no_stopping_section_is_a_clear_error(tmp_path: Path) -> None:
    folder = cached_review(tmp_path / "rv")
    protocol = load_protocol(folder.protocol_path)
    with folder.open_store() as store, pytest.raises(UsageError, match=r"has no \[stopping\] section"):
        stopping_status(store, protocol, LEAD)


def test_cold_start_follows_the_protocol_criteria(review: tuple[Store, Protocol, dict[int, int]]) -> None:
    """Before any decision, a prioritised queue is ordered by the stage's criteria (about the
    heart), and the order line says so."""
    store, protocol, truth = review
    prevalence = sum(truth.values()) / len(truth)
    assert "heart" in protocol.stage(TITLE_ABSTRACT).criteria
    with queue_order(store, protocol, TITLE_ABSTRACT, rerank_every=1) as order:
        assert order.model is not None
        assert order.model.sync(timeout=120)
        said = order.describe()
        assert said.startswith("prior: protocol criteria until the model has an include and an exclude"), said
        assert not order.model.trained
        ids = screen_tables.work_ids(store)
        ranked = list(order.model(ids))
    assert sorted(ranked) == sorted(ids)
    top = ranked[:20]
    assert sum(truth[w] for w in top) / len(top) >= 2 * prevalence, (top, prevalence)


def test_the_models_order_is_the_same_with_its_features_built_in_a_child(tmp_path: Path) -> None:
    """``workers`` only moves the model's features to a child process (as the command asks):
    trained on the same decisions, the order is the same as with everything in this process."""
    folder = cached_review(tmp_path / "rv", files=MANY, protocol=STOPPING)
    protocol = load_protocol(folder.protocol_path)
    orders: list[list[int]] = []
    with folder.open_store() as store:
        assign_works(store, protocol, LEAD)
        ids = screen_tables.work_ids(store)
        cards = load_cards(store, ids[:40])
        for card in cards:
            both_decide(
                store, protocol, card.work_id, int(bool(HEART.search(f"{card.title} {card.abstract}")))
            )
        for workers in (0, 1):
            with queue_order(store, protocol, TITLE_ABSTRACT, workers=workers) as order:
                assert order.model is not None and order.model.in_child is bool(workers)
                assert order.model.sync(timeout=120) and order.model.trained
                assert order.model.notes == []
                orders.append(order.model(ids))
    assert orders[0] == orders[1] and sorted(orders[0]) == sorted(ids)
