"""The prioritisation model in a child process (scoping.screen.rank_child): the child reads
the team's decisions itself and counts them; when it is killed mid-review, the queue keeps the
last model's order, says so, counts on, and loses no decision; and a new order applied to the
queue keeps each of its works once.

The review is the 539 real works of test_screen_stopping (tests/data, the same cached
template); the child is forced by lowering ``FEATURES_IN_CHILD_FROM``, as the command's
``workers`` would do for a review of thousands of works. One child is started (3-4 s of CPU).
"""

from __future__ import annotations

import logging
import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.screen import (
    TITLE_ABSTRACT,
    ScreeningSession,
    assign_works,
    load_cards,
    load_protocol,
    queue_order,
    rank_order,
)
from scoping.screen.rank_child import ChildRanker
from scoping.store import screen_tables
from test_screen_support import LEAD, MANY, PROTOCOL, cached_review

HEART = re.compile(r"cardi|heart|myocard|coronar|ischaem|ischem", re.IGNORECASE)

PRIORITISED = (  # as test_screen_stopping's protocol, so the cached review is shared
    PROTOCOL.replace(
        'exclusion_reasons = ["wrong population", "wrong intervention", "wrong design"]\n',
        'exclusion_reasons = ["wrong population", "wrong intervention", "wrong design"]\nprioritise = true\n',
        1,
    )
    + "\n[stopping]\nrecall_target = 0.8\nconfidence = 0.9\n"
)


def test_a_killed_ranking_process_leaves_the_last_order_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = cached_review(tmp_path / "rv", files=MANY, protocol=PRIORITISED)
    protocol = load_protocol(folder.protocol_path)
    monkeypatch.setattr(rank_order, "FEATURES_IN_CHILD_FROM", 1)
    with folder.open_store() as store:
        assign_works(store, protocol, LEAD)
        ids = screen_tables.work_ids(store)
        truth = {
            c.work_id: int(bool(HEART.search(f"{c.title} {c.abstract}"))) for c in load_cards(store, ids)
        }
        with queue_order(store, protocol, TITLE_ABSTRACT, rerank_every=1, workers=1) as order:
            model = order.model
            assert model is not None and isinstance(model.ranker, ChildRanker)
            session = ScreeningSession(store, protocol, "alice", rank=order.rank, rerank_every=1)
            for _ in range(20):  # the seeded cold start: includes and excludes both come
                card = session.current()
                assert card is not None
                session.decide("include" if truth[card.work_id] else "exclude")
            assert model.sync(timeout=120) and model.trained and model.ranker.error is None
            # the child read the decisions itself (this process never did) and counted them
            assert model.reads_here == 0 and model.n_labels == 20
            assert order.describe() == "ranked: model of 20 screened works, updated 0 works ago"
            child = model.ranker.child
            assert child is not None and child.pid is not None and child.pid != os.getpid()
            assert model.ranker.fits >= 1  # fitted there: this process never built the features
            last = model.ranker.current()
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            with caplog.at_level(logging.WARNING, logger="scoping.screen"):
                for _ in range(5):  # screening goes on, every decision stored
                    card = session.current()
                    assert card is not None
                    session.decide("include" if truth[card.work_id] else "exclude")
                model.sync(timeout=60)
                said = order.describe()
            decided = {
                w for (w, who) in screen_tables.current_decisions(store, TITLE_ABSTRACT) if who == "alice"
            }
            assert len(decided) == 25
            assert model.ranker.current() is last  # the last model's order stays in service
            # the count goes on here: 5 decided since the model in service was fitted
            assert said.startswith("ranked: model of 20 screened works, updated 5 works ago"), said
            assert "the ranking process stopped (exit code -9); the queue keeps its last order" in said
            assert any("ranking process stopped" in r.getMessage() for r in caplog.records)
            # the next work is the first of that order the reviewer has not decided
            card = session.current()
            assert card is not None
            expected = next(int(model._ids[p]) for p in last.order if int(model._ids[p]) not in decided)
            assert card.work_id == expected
            session.decide("exclude")
        assert not child.is_alive()


@settings(max_examples=60, deadline=None)
@given(
    ranked=st.lists(st.integers(1, 60), unique=True, max_size=40),
    given_ids=st.lists(st.integers(1, 60), unique=True, max_size=40),
)
def test_a_new_order_keeps_every_work_of_the_queue_once(ranked: list[int], given_ids: list[int]) -> None:
    """What the queue gets when a new order arrives (:func:`rank_order.in_order`): each of its
    works once, those the order holds in that order, then the rest as they were."""
    out = rank_order.in_order(np.array(ranked, dtype=np.int64), given_ids)
    assert sorted(out) == sorted(given_ids)
    held = [w for w in ranked if w in set(given_ids)]
    assert out[: len(held)] == held
    assert out[len(held) :] == [w for w in given_ids if w not in set(ranked)]
