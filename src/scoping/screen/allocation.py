"""Who screens which work: seeded, even, incremental allocation (``scoping assign``).

:func:`plan_allocation` is the pure rule; :func:`assign_works` applies it to a store.

- **Dual or single.** ``dual_fraction`` of the works are screened independently by two
  reviewers, the rest by one. The share holds over everything allocated at a stage, so a later
  batch tops it up rather than starting afresh.
- **Even.** Each work goes to the screeners with the fewest works so far (counting earlier
  batches), so loads never differ by more than one work per batch; among equally loaded
  second reviewers the one who shares the fewest works with the first is chosen, so every pair
  of reviewers overlaps about equally (which keeps the agreement statistics comparable).
- **Reproducible.** Ties and the choice of dual works come from a random generator seeded with
  the protocol's ``seed`` and the stage: the same works, reviewers and seed give the same
  allocation.
- **Incremental.** Assignments are never changed or removed. Running it again allocates only
  works that have none at that stage (new records after a new de-duplication run, or works
  newly included at title-abstract for the full-text stage); reviewers added to the protocol
  have no works yet, so they receive new work first until the loads are even.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scoping.errors import UsageError
from scoping.screen.outcomes import final_outcomes
from scoping.screen.protocol import FULL_TEXT, STAGES, TITLE_ABSTRACT, Protocol
from scoping.store import Store, dedupe_tables
from scoping.store import screen_tables as tables

__all__ = ["AllocationPlan", "StageAllocation", "assign_works", "eligible_works", "plan_allocation"]


@dataclass(frozen=True, slots=True)
class AllocationPlan:
    rows: tuple[tuple[int, str], ...]
    """``(work id, reviewer)`` to add, in allocation order."""
    n_works: int
    n_dual: int


def plan_allocation(
    works: Iterable[int],
    screeners: Sequence[str],
    existing: Iterable[tuple[int, str]] = (),
    *,
    dual_fraction: float,
    seed: int,
    stage: str,
) -> AllocationPlan:
    """Allocate the works of ``works`` that have no assignment in ``existing``.

    ``existing`` are the ``(work, reviewer)`` assignments already made at the stage (they may
    name people no longer in the protocol; their works count, their loads do not).
    """
    if not screeners:
        raise UsageError('nobody screens: give at least one person role = "reviewer"')
    if len(set(screeners)) != len(screeners):
        raise ValueError("screeners must be distinct")
    if not 0 <= dual_fraction <= 1:
        raise ValueError("dual_fraction must be between 0 and 1")
    by_work: dict[int, list[str]] = {}
    for work, reviewer in existing:
        by_work.setdefault(work, []).append(reviewer)
    new = sorted(set(works) - by_work.keys())
    if not new:
        return AllocationPlan((), 0, 0)
    total = len(by_work) + len(new)
    dual_so_far = sum(1 for names in by_work.values() if len(names) >= 2)
    target = int(dual_fraction * total + 0.5)
    n_dual = max(0, min(len(new), target - dual_so_far))
    if n_dual and len(screeners) < 2:
        raise UsageError(
            "dual screening needs two people who screen; add a reviewer to the "
            "protocol or set allocation.dual_fraction = 0"
        )

    active = set(screeners)
    load: Counter[str] = Counter({name: 0 for name in screeners})
    pairs: Counter[tuple[str, str]] = Counter()
    for names in by_work.values():
        for name in names:
            if name in active:
                load[name] += 1
        mine = sorted(n for n in names if n in active)
        for i, a in enumerate(mine):
            for b in mine[i + 1 :]:
                pairs[(a, b)] += 1

    rng = random.Random(f"scoping-allocation:{seed}:{stage}")
    rng.shuffle(new)
    rows: list[tuple[int, str]] = []
    for position, work in enumerate(new):
        tiebreak = {name: rng.random() for name in screeners}
        first = min(screeners, key=lambda n: (load[n], tiebreak[n]))
        chosen = [first]
        if position < n_dual:
            second = min(
                (n for n in screeners if n != first),
                key=lambda n: (load[n], pairs[_pair(first, n)], tiebreak[n]),
            )
            chosen.append(second)
            pairs[_pair(first, second)] += 1
        for name in chosen:
            load[name] += 1
            rows.append((work, name))
    return AllocationPlan(tuple(rows), len(new), n_dual)


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def doubtful_pairs(store: Store) -> int:
    """How many doubtful duplicate pairs wait for 'scoping dedupe review' (a pair decided
    "same" later joins two works; their screening decisions carry over)."""
    return len(dedupe_tables.uncertain_queue(store))


def eligible_works(store: Store, stage: str) -> list[int]:
    """The works that may be screened at ``stage``.

    Title-abstract: every work of the de-duplicated store. Full text: the works whose final
    title-abstract decision is "include" (agreed by the reviewers, or settled by a lead).
    """
    if stage == TITLE_ABSTRACT:
        return tables.work_ids(store)
    if stage == FULL_TEXT:
        return sorted(
            work
            for work, outcome in final_outcomes(store, TITLE_ABSTRACT).items()
            if outcome.outcome == "include"
        )
    raise UsageError(f"unknown stage {stage!r}; use {' or '.join(STAGES)}")


@dataclass(frozen=True, slots=True)
class StageAllocation:
    """What one stage's allocation did, and where it stands."""

    stage: str
    eligible: int
    """Works that may be screened at this stage."""
    added_works: int
    added_dual: int
    assigned_works: int
    """Works with an assignment at this stage, after this run."""
    loads: dict[str, int]
    """Screener -> works assigned at this stage, after this run."""
    run_id: int | None


def assign_works(
    store: Store, protocol: Protocol, lead: str, stages: Sequence[str] | None = None
) -> list[StageAllocation]:
    """Allocate the unallocated eligible works of each stage (default: every stage the
    protocol has) to the protocol's screeners. Only a lead may allocate."""
    person = protocol.lead(lead)
    wanted = list(stages) if stages else [s for s in STAGES if s in protocol.stages]
    for stage in wanted:
        protocol.stage(stage)
    missing = dedupe_tables.unassigned_count(store)
    if missing:
        raise UsageError(f"{missing:,} records have no work yet; run 'scoping dedupe' first")
    screeners = [r.name for r in protocol.screeners]
    allocation = protocol.allocation
    results: list[StageAllocation] = []
    for stage in wanted:
        works = eligible_works(store, stage)
        if stage == TITLE_ABSTRACT and not works:
            raise UsageError(
                "there are no works to screen yet; import records and run 'scoping dedupe' first"
            )

        def plan(
            existing: list[tuple[int, str]], stage: str = stage, works: list[int] = works
        ) -> tuple[list[tuple[int, str]], int]:
            result = plan_allocation(
                works,
                screeners,
                existing,
                dual_fraction=allocation.dual_fraction,
                seed=allocation.seed,
                stage=stage,
            )
            return list(result.rows), result.n_dual

        run = tables.assign(
            store,
            stage,
            plan,
            by=person.name,
            seed=allocation.seed,
            dual_fraction=allocation.dual_fraction,
            reviewers=screeners,
        )
        loads = tables.assignment_counts(store, stage)
        results.append(
            StageAllocation(
                stage=stage,
                eligible=len(works),
                added_works=run.n_works if run else 0,
                added_dual=run.n_dual if run else 0,
                assigned_works=len({w for w, _ in tables.assignments(store, stage)}),
                loads={
                    name: loads.get(name, 0)
                    for name in [*screeners, *sorted(n for n in loads if n not in screeners)]
                },
                run_id=run.id if run else None,
            )
        )
    return results
