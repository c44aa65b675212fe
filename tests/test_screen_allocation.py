"""Allocation: dual or single, even, seeded, incremental; and applied to real stores."""

from __future__ import annotations

import threading
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from scoping.errors import UsageError
from scoping.screen import TITLE_ABSTRACT, assign_works, load_protocol, plan_allocation
from scoping.store import screen_tables as tables
from test_screen_support import LEAD, build_review, cached_review, team_protocol

NAMES = ["alice", "bob", "carol", "dave"]


def plan(
    works: range | list[int],
    names: list[str] = NAMES,
    existing: tuple = (),
    *,
    fraction: float = 1.0,
    seed: int = 1,
) -> list[tuple[int, str]]:
    return list(
        plan_allocation(works, names, existing, dual_fraction=fraction, seed=seed, stage=TITLE_ABSTRACT).rows
    )


def loads(rows: list[tuple[int, str]]) -> Counter[str]:
    return Counter(name for _, name in rows)


def test_every_work_to_two_different_reviewers_evenly() -> None:
    rows = plan(range(1, 1001))
    by_work: dict[int, list[str]] = {}
    for work, name in rows:
        by_work.setdefault(work, []).append(name)
    assert sorted(by_work) == list(range(1, 1001))
    assert all(len(names) == 2 and len(set(names)) == 2 for names in by_work.values())
    assert sorted(loads(rows).values()) == [500, 500, 500, 500]
    pairs = Counter(tuple(sorted(names)) for names in by_work.values())
    assert set(pairs) == {tuple(sorted(p)) for p in combinations(NAMES, 2)}
    assert max(pairs.values()) - min(pairs.values()) <= 2  # every pair overlaps about equally


@pytest.mark.parametrize(("fraction", "dual"), [(0.0, 0), (0.25, 25), (0.333, 33), (1.0, 100)])
def test_a_fraction_dual_and_the_rest_single(fraction: float, dual: int) -> None:
    result = plan_allocation(range(100), NAMES, dual_fraction=fraction, seed=3, stage=TITLE_ABSTRACT)
    per_work = Counter(work for work, _ in result.rows)
    assert result.n_dual == dual == sum(1 for n in per_work.values() if n == 2)
    assert result.n_works == 100 == len(per_work)
    counts = loads(list(result.rows)).values()
    assert max(counts) - min(counts) <= 1


def test_reproducible_from_the_seed_and_stage() -> None:
    assert plan(range(200), fraction=0.5, seed=11) == plan(range(200), fraction=0.5, seed=11)
    assert plan(range(200), fraction=0.5, seed=11) != plan(range(200), fraction=0.5, seed=12)
    full = plan_allocation(range(200), NAMES, dual_fraction=0.5, seed=11, stage="full-text")
    assert list(full.rows) != plan(range(200), fraction=0.5, seed=11)
    # the input order of the works does not matter
    assert plan(list(reversed(range(200))), seed=5) == plan(range(200), seed=5)


def test_incremental_new_works_only_and_fraction_kept_overall() -> None:
    first = plan(range(100), fraction=0.5)
    again = plan(range(100), existing=tuple(first), fraction=0.5)
    assert again == []
    more = plan(range(150), existing=tuple(first), fraction=0.5)
    assert {work for work, _ in more} == set(range(100, 150))
    per_work = Counter(work for work, _ in first + more)
    assert sum(1 for n in per_work.values() if n == 2) == 75  # half of all 150
    counts = loads(first + more).values()
    assert max(counts) - min(counts) <= 1


def test_added_reviewer_gets_new_work_until_even() -> None:
    first = plan(range(100), names=["alice", "bob"])
    assert loads(first) == {"alice": 100, "bob": 100}
    more = plan(range(400), names=["alice", "bob", "carol"], existing=tuple(first))
    total = loads(first + more)
    assert max(total.values()) - min(total.values()) <= 1
    assert loads(more)["carol"] > loads(more)["alice"]
    # a reviewer who left keeps their works; only people in the protocol get new ones
    later = plan(range(460), names=["bob", "carol"], existing=tuple(first + more))
    assert set(loads(later)) == {"bob", "carol"}


def test_refusals() -> None:
    with pytest.raises(UsageError, match="dual screening needs two people"):
        plan(range(3), names=["alice"])
    assert len(plan(range(3), names=["alice"], fraction=0.0)) == 3
    with pytest.raises(UsageError, match="nobody screens"):
        plan(range(3), names=[])


def test_assign_on_a_real_store(tmp_path: Path, store_url: str) -> None:
    review = build_review(tmp_path / "rv", db=store_url)
    protocol = load_protocol(review.protocol_path)
    with review.open_store() as store:
        with pytest.raises(UsageError, match="only a lead"):
            assign_works(store, protocol, "alice")
        (ta, ft) = assign_works(store, protocol, LEAD)
        assert (ta.eligible, ta.added_works, ta.added_dual, ta.assigned_works) == (135, 135, 135, 135)
        assert ta.loads == {"alice": 135, "bob": 135}
        assert (ft.eligible, ft.added_works, ft.run_id) == (0, 0, None)
        again = assign_works(store, protocol, LEAD, [TITLE_ABSTRACT])
        assert (again[0].added_works, again[0].run_id) == (0, None)
        rows = tables.assignments(store, TITLE_ABSTRACT)
        assert len(rows) == 270 and len(set(rows)) == 270
        assert {w for w, _ in rows} == set(tables.work_ids(store))


def test_new_records_and_reviewers_are_allocated_later(tmp_path: Path) -> None:
    from scoping.dedupe import api as dedupe_api
    from scoping.ingest.api import import_file, inspect_files
    from test_screen_support import DATA

    review = cached_review(tmp_path / "rv", protocol=team_protocol(["alice", "bob"], dual_fraction=0.5))
    with review.open_store() as store:
        (ta, _) = assign_works(store, load_protocol(review.protocol_path), LEAD)
        assert (ta.added_works, ta.added_dual) == (135, 68)
        before = set(tables.assignments(store, TITLE_ABSTRACT))
        review.protocol_path.write_text(team_protocol(["alice", "bob", "carol"], dual_fraction=0.5))
        import_file(store, inspect_files([DATA / "dedupe" / "digital_work.csv"])[0], source="x")
        with pytest.raises(UsageError, match="198 records have no work yet; run 'scoping dedupe'"):
            assign_works(store, load_protocol(review.protocol_path), LEAD)
        dedupe_api.run_dedupe(store)
        (ta2, _) = assign_works(store, load_protocol(review.protocol_path), LEAD)
        assert ta2.added_works == 172 and ta2.assigned_works == 307
        after = set(tables.assignments(store, TITLE_ABSTRACT))
        assert before < after  # nothing moved
        assert max(ta2.loads.values()) - min(ta2.loads.values()) <= 1
        assert ta2.loads["carol"] > 0


@pytest.mark.postgres
def test_two_leads_assigning_at_once_allocate_each_work_once(tmp_path: Path, pg_url: str) -> None:
    review = build_review(tmp_path / "rv", db=pg_url)
    protocol = load_protocol(review.protocol_path)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with review.open_store() as store:
                assign_works(store, protocol, LEAD, [TITLE_ABSTRACT])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with review.open_store() as store:
        rows = tables.assignments(store, TITLE_ABSTRACT)
    per_work = Counter(work for work, _ in rows)
    assert len(per_work) == 135 and set(per_work.values()) == {2}
