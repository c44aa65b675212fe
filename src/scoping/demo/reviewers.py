"""Simulated reviewers for the demo review (clearly labelled as simulated everywhere).

The demo's records come from a real review whose decisions were published (SYNERGY
van_der_Valk_2021, ``truth.csv``). Two simulated reviewers screen every work independently
through the same library calls a person's screen makes, erring the way people do: generous at
title-abstract (they keep some works the review excluded, and now and then say "maybe"),
stricter at full text, with a few honest mistakes either way. A simulated lead settles each
conflict by the published decision. Every simulated decision carries the note
"simulated reviewer (demo)" and ``via="demo-simulation"``, and every simulated resolution the
note of :data:`scoping.screen.SIMULATED_LEAD_NOTE`, so nothing can pass for a person's: the
markers are screening's vocabulary (``scoping.screen.decisions``), and the report counts
simulated decisions by them without knowing the demo.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scoping.screen import (
    FULL_TEXT,
    SIMULATED_LEAD_NOTE,
    SIMULATED_NOTE,
    SIMULATED_VIA,
    TITLE_ABSTRACT,
    Protocol,
    assign_works,
    conflicts,
    record_decisions,
    resolve,
)
from scoping.screen.session import pending_works
from scoping.store import Store, dedupe_tables

__all__ = [
    "ScreeningSummary",
    "load_truth",
    "simulate_screening",
    "work_truth",
]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How often a simulated reviewer decides what, given the published decision."""

    include_if_included: float
    maybe_if_included: float
    include_if_excluded: float
    maybe_if_excluded: float


BEHAVIOUR = {
    TITLE_ABSTRACT: Behaviour(0.93, 0.04, 0.07, 0.03),
    FULL_TEXT: Behaviour(0.95, 0.0, 0.04, 0.0),
}
NOT_RETRIEVED = 0.02
"""Share of full texts a simulated reviewer cannot obtain."""


@dataclass(slots=True)
class ScreeningSummary:
    """What the simulation did, stage by stage."""

    decisions: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)
    included: dict[str, int] = field(default_factory=dict)


def load_truth(path: Path) -> dict[str, bool]:
    """Published decision by every identifier a record may carry: PMID, DOI, OpenAlex id."""
    truth: dict[str, bool] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            included = row["label_included"] == "1"
            work = row["openalex_id"].rsplit("/", 1)[-1]
            for key in (row["pmid"], row["doi"].lower(), work, "2-s2.0-" + work.lstrip("W")):
                if key:
                    truth[key] = included
    return truth


def work_truth(store: Store, truth: dict[str, bool]) -> dict[int, bool]:
    """Published decision of each work, through any of its records' identifiers."""
    assignment = dedupe_tables.load_assignment(store)
    result: dict[int, bool] = {}
    for stored in store.iter_records():
        work = assignment.get(stored.id)
        if work is None:
            continue
        record = stored.record
        for key in (record.source_id, record.pmid, record.doi):
            if key and key in truth:
                result[work] = result.get(work, False) or truth[key]
                break
    return result


def _decide(rng: random.Random, stage: str, included: bool) -> str:
    rates = BEHAVIOUR[stage]
    roll = rng.random()
    if stage == FULL_TEXT and roll < NOT_RETRIEVED:
        return "not-retrieved"
    include, maybe = (
        (rates.include_if_included, rates.maybe_if_included)
        if included
        else (rates.include_if_excluded, rates.maybe_if_excluded)
    )
    roll = rng.random()
    if roll < include:
        return "include"
    if roll < include + maybe:
        return "maybe"
    return "exclude"


def simulate_screening(
    store: Store,
    protocol: Protocol,
    truth: dict[int, bool],
    *,
    seed: int = 2021,
    say: Callable[[str], None] | None = None,
) -> ScreeningSummary:
    """Screen both stages with the protocol's screeners and settle conflicts with its lead."""
    tell = say or (lambda _msg: None)
    lead = next(r.name for r in protocol.reviewers if r.role == "lead")
    rng = random.Random(seed)
    summary = ScreeningSummary()
    for stage in (TITLE_ABSTRACT, FULL_TEXT):
        allocation = assign_works(store, protocol, lead, [stage])
        total = sum(a.assigned_works for a in allocation)
        tell(
            f"{stage}: {total:,} works allocated to "
            f"{', '.join(r.name for r in protocol.screeners)} (simulated reviewers)"
        )
        reasons = list(protocol.stage(stage).exclusion_reasons)
        made = 0
        for reviewer in protocol.screeners:  # each reviewer's decisions in one transaction
            decided: list[tuple[int, str, str | None, str | None]] = []
            for work in pending_works(store, stage, reviewer.name):
                decision = _decide(rng, stage, truth.get(work, False))
                reason = None
                if decision == "exclude" and reasons and (stage == FULL_TEXT or rng.random() < 0.5):
                    reason = rng.choice(reasons)
                decided.append((work, decision, reason, SIMULATED_NOTE))
            made += record_decisions(store, protocol, reviewer.name, stage, decided, via=SIMULATED_VIA)
        summary.decisions[stage] = made
        open_conflicts = conflicts(store, protocol, lead, stage)
        summary.conflicts[stage] = len(open_conflicts)
        for conflict in open_conflicts:
            included = truth.get(conflict.work_id, False)
            reason = None if included or not reasons else reasons[0]
            resolve(
                store,
                protocol,
                lead,
                stage,
                conflict.work_id,
                "include" if included else "exclude",
                reason=reason,
                note=SIMULATED_LEAD_NOTE,
            )
        tell(
            f"{stage}: {made:,} simulated decisions, {len(open_conflicts):,} conflicts "
            f"settled by the simulated lead"
        )
    return summary
