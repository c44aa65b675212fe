"""The seed review's PRISMA flow as test data, as plain facts and as a store state.

Published counts of the worked example (DESIGN.md): 7,406 records identified from four
databases (Social Sciences Citation Index, PsycINFO, MEDLINE, Social Policy and Practice), 663
sources included, in overlapping topics: values and principles 82, role 188, implementation 85,
experiences 124, recruitment 9, training 33, effectiveness 142.

Not published, so SYNTHETIC here (chosen to add up, and to be told apart from the published
numbers): the split of the 7,406 records by database, the duplicates (2,612), the records
excluded at title-abstract (3,700), the reports not retrieved (31) and the reports excluded at
full text with their reasons (400).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from scoping.records import Record
from scoping.report.facts import PrismaFacts, SourceFacts, TopicCount, WorkFacts, tally_outcomes
from scoping.store import Store
from scoping.store.dedupe_tables import record_work
from scoping.store.schema import records

IDENTIFIED = 7406
INCLUDED = 663
TOPICS = [
    ("values and principles", 82),
    ("role", 188),
    ("implementation", 85),
    ("experiences", 124),
    ("recruitment", 9),
    ("training", 33),
    ("effectiveness", 142),
]

# synthetic (see the module docstring)
DATABASES = {
    "Social Sciences Citation Index": 1946,
    "PsycINFO": 2311,
    "MEDLINE": 2046,
    "Social Policy and Practice": 1103,
}
DUPLICATES = 2612
WORKS = IDENTIFIED - DUPLICATES  # 4,794
TA_EXCLUDED = 3700
SOUGHT = WORKS - TA_EXCLUDED  # 1,094
NOT_RETRIEVED = 31
ASSESSED = SOUGHT - NOT_RETRIEVED  # 1,063
FT_REASONS = {
    "not peer support work": 142,
    "no relevant content": 88,
    "not mental health": 97,
    "peer support among staff": 61,
    "duplicate": 12,
}
FT_EXCLUDED = sum(FT_REASONS.values())  # 400
TA_REASONS = ["not peer support work", "not mental health", "", "peer support among staff"]

assert sum(DATABASES.values()) == IDENTIFIED
assert ASSESSED - FT_EXCLUDED == INCLUDED
assert sum(n for _, n in TOPICS) == INCLUDED

Outcome = tuple[int, str, str, "str | None"]


def seed_outcomes(work_ids: Sequence[int], *, unscreened: int = 0, conflicts: int = 0) -> list[Outcome]:
    """Final outcomes for the seed review's works (``unscreened`` of the excluded works left
    without a title-abstract outcome, ``conflicts`` more waiting for the lead)."""
    assert len(work_ids) == WORKS
    rows: list[Outcome] = []
    excluded, included = work_ids[:TA_EXCLUDED], work_ids[TA_EXCLUDED:]
    for k, work in enumerate(excluded[unscreened:]):
        if k < conflicts:
            rows.append((work, "title-abstract", "conflict", None))
        else:
            rows.append((work, "title-abstract", "exclude", TA_REASONS[k % len(TA_REASONS)] or None))
    rows += [(work, "title-abstract", "include", None) for work in included]
    rows += [(work, "full-text", "not-retrieved", None) for work in included[:NOT_RETRIEVED]]
    rest = iter(included[NOT_RETRIEVED:])
    for reason, n in FT_REASONS.items():
        rows += [(next(rest), "full-text", "exclude", reason) for _ in range(n)]
    rows += [(work, "full-text", "include", None) for work in rest]
    return rows


def seed_facts(**kwargs: Any) -> PrismaFacts:
    """The seed review as plain facts (no store): works are numbered 1..4,794."""
    outcomes = seed_outcomes(list(range(1, WORKS + 1)), **kwargs)
    return PrismaFacts(
        sources=tuple(SourceFacts(name, n, 1) for name, n in sorted(DATABASES.items())),
        works=WorkFacts(ran=True, main_records=IDENTIFIED, main_works=WORKS),
        outcomes=tally_outcomes(outcomes),
        topics=tuple(TopicCount(name, n) for name, n in TOPICS),
    )


def _records(source: str, n: int) -> Iterator[Record]:
    for i in range(n):
        yield Record(title=f"{source} record {i}", year=1990 + i % 30, source_id=f"{source[:3]}{i}")


def fill_seed_store(store: Store) -> list[int]:
    """Import the seed review's 7,406 records and link them into 4,794 works; return the work ids.

    What de-duplication would leave: every record linked to a work (2,612 of them duplicates).
    """
    for name, n in DATABASES.items():
        store.add_import(
            source=name,
            file_path=f"/exports/{name}.ris",
            sha256=f"sha-{name}",
            size=n,
            format="ris",
            encoding="utf-8",
            records=_records(name, n),
        )
    with store.engine.begin() as conn:
        ids = [int(r) for (r,) in conn.execute(sa.select(records.c.id).order_by(records.c.id))]
        works = ids[:WORKS]
        rows = [
            {
                "record_id": rid,
                "work_id": rid,
                "run_id": 1,
                "linked_by": "rule",
                "updated_at": "2026-01-01T00:00:00Z",
            }
            for rid in works
        ]
        rows += [
            {
                "record_id": rid,
                "work_id": works[k * 7 % WORKS],
                "run_id": 1,
                "linked_by": "rule",
                "updated_at": "2026-01-01T00:00:00Z",
            }
            for k, rid in enumerate(ids[WORKS:])
        ]
        conn.execute(record_work.insert(), rows)
    return works
