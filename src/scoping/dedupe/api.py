"""The dedupe stage over a store: what each ``scoping dedupe`` command calls.

Every function takes an open :class:`~scoping.store.Store`; reading and writing go through
:mod:`scoping.store.dedupe_tables`, the matching itself through :func:`deduplicate`.

=============================  ==================================================================
command                        library call
=============================  ==================================================================
``scoping dedupe``             :func:`run_dedupe`
``scoping dedupe show W``      :func:`show_work`
``scoping dedupe review``      :func:`review_queue`, :func:`decide_pair`, :func:`undo_decision`
``scoping dedupe undo W``      :func:`undo_work`
``scoping dedupe groups``      :func:`iter_groups`, :func:`write_groups_csv`
``scoping dedupe overlap``     :func:`overlap`, :func:`write_overlap_csv`
=============================  ==================================================================
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from scoping.dedupe.engine import DedupeResult, deduplicate
from scoping.dedupe.keys import MatchRow
from scoping.dedupe.merge import MergedWork, merge_records
from scoping.dedupe.model import PairModel
from scoping.dedupe.overlap import OVERLAP_COLUMNS, Overlap, source_overlap
from scoping.errors import UsageError
from scoping.records import Record
from scoping.store import Store, utc_now
from scoping.store import dedupe_tables as tables
from scoping.store.dedupe_tables import Applied, PairRow

__all__ = [
    "GROUP_COLUMNS",
    "QueueItem",
    "WorkView",
    "decide_pair",
    "iter_groups",
    "overlap",
    "pending_count",
    "review_queue",
    "run_dedupe",
    "show_work",
    "still_pending",
    "undo_decision",
    "undo_work",
    "work_records",
    "works_of_pair",
    "write_groups_csv",
    "write_overlap_csv",
]

Progress = Callable[[str, int, int], None]


def run_dedupe(
    store: Store,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    before_save: Callable[[DedupeResult], None] | None = None,
    model: PairModel | str | None = None,
) -> DedupeResult:
    """De-duplicate the store: link new records into works and store the outcome.

    Records that already belong to a work keep it; only pairs with a new record are compared.
    With ``rebuild``, every automatic link is computed afresh (people's decisions still hold).
    ``before_save`` sees the result before it is stored (to tell what it means for screening,
    :func:`scoping.screen.carry.run_joins`). Once screening has begun, call it in
    :func:`scoping.screen.carry.relinking` (as :mod:`scoping.app` does), which carries the
    screening decisions of works that join others; on its own it then stores nothing.
    ``model`` is passed to :func:`~scoping.dedupe.engine.deduplicate` (``None``: the rules).
    """
    started = utc_now()
    total = store.count_records()
    existing = {} if rebuild else tables.load_assignment(store)
    decisions = tables.load_decisions(store)

    def rows() -> Iterator[MatchRow]:
        for n, values in enumerate(tables.iter_match_rows(store), start=1):
            if progress is not None and n % 20_000 == 0:
                progress("reading", n, total)
            yield MatchRow(*values)

    result = deduplicate(
        rows(), total=total, existing=existing, decisions=decisions, progress=progress, model=model
    )
    if before_save is not None:
        before_save(result)
    if progress is not None:
        progress("saving", 0, 1)
    tables.save_run(store, result, started_at=started, rebuild=rebuild)
    if progress is not None:
        progress("saving", 1, 1)
    return result


@dataclass(slots=True)
class WorkView:
    """One work: its records side by side, the links between them and the merged view."""

    work_id: int
    records: list[tuple[int, str, Record]]
    pairs: list[PairRow]
    merged: MergedWork
    asked_for: int
    """The id that was asked for (a record id resolves to that record's work)."""
    doubtful: list[PairRow] = field(default_factory=list)
    """Doubtful pairs from this work's records to records of other works."""


def _records(store: Store, ids: list[int]) -> list[tuple[int, str, Record]]:
    return [(s.id, s.source, s.record) for s in store.iter_records(ids=ids)]


def show_work(store: Store, work_id: int) -> WorkView:
    """The work ``work_id`` (or the work of record ``work_id``) with its links explained."""
    members = tables.work_members(store, work_id)
    asked = work_id
    if not members:
        work = tables.works_of(store, [work_id]).get(work_id)
        if work is None:
            if tables.last_run(store) is None:
                raise UsageError("nothing is de-duplicated yet; run 'scoping dedupe' first")
            raise UsageError(
                f"there is no work or record {work_id}; "
                "list works with 'scoping dedupe groups --out FILE.csv'"
            )
        work_id = work
        members = tables.work_members(store, work_id)
    records = _records(store, members)
    pairs = tables.pairs_among(store, members)
    doubtful = [
        p for p in tables.uncertain_queue(store) if (p.record_a in members) != (p.record_b in members)
    ]
    return WorkView(
        work_id=work_id,
        records=records,
        pairs=pairs,
        merged=merge_records(work_id, records),
        asked_for=asked,
        doubtful=doubtful,
    )


@dataclass(slots=True)
class QueueItem:
    """A doubtful pair waiting for a person, with both records."""

    pair: PairRow
    a: tuple[int, str, Record]
    b: tuple[int, str, Record]


def review_queue(store: Store, *, limit: int | None = None) -> list[QueueItem]:
    """The doubtful pairs nobody has decided yet, best score first."""
    if tables.last_run(store) is None:
        raise UsageError("nothing is de-duplicated yet; run 'scoping dedupe' first")
    pairs = tables.uncertain_queue(store)
    if limit is not None:
        pairs = pairs[:limit]
    ids = sorted({p.record_a for p in pairs} | {p.record_b for p in pairs})
    found = {rid: (rid, source, rec) for rid, source, rec in _records(store, ids)}
    return [QueueItem(p, found[p.record_a], found[p.record_b]) for p in pairs]


def pending_count(store: Store) -> int:
    """How many doubtful pairs wait for a person."""
    return len(tables.uncertain_queue(store))


def still_pending(store: Store, item: QueueItem) -> bool:
    """Whether the pair's records are still in two different works."""
    work = tables.works_of(store, [item.pair.record_a, item.pair.record_b])
    return work.get(item.pair.record_a) != work.get(item.pair.record_b)


def decide_pair(
    store: Store, record_a: int, record_b: int, decision: str, *, reviewer: str, note: str | None = None
) -> Applied:
    """A person's decision on a pair: "same" joins the works, "different" keeps them apart."""
    if decision not in ("same", "different", "skip"):
        raise UsageError(f"unknown decision {decision!r}; use same, different or skip")
    return tables.apply_decision(store, record_a, record_b, decision, reviewer=reviewer, note=note)


def undo_decision(store: Store, applied: Applied, *, reviewer: str) -> None:
    """Undo a decision made in this session (restores the works it joined)."""
    tables.revert(store, applied, reviewer=reviewer)


def undo_work(store: Store, work_id: int, *, by: str) -> list[int]:
    """Split a work back into its records; later runs keep them apart."""
    members = tables.split_work(store, work_id, by=by)
    if not members:
        raise UsageError(
            f"there is no work {work_id}; list works with 'scoping dedupe groups --out FILE.csv'"
        )
    return members


GROUP_COLUMNS = ("source_id", "work_id", "record_id", "source")


def iter_groups(store: Store) -> Iterator[tuple[str, int, int, str]]:
    """``(source id, work id, record id, source)`` of every record, in record order.

    Raises :class:`UsageError` when some records have no work yet (run ``scoping dedupe``).
    """
    if tables.last_run(store) is None:
        raise UsageError("nothing is de-duplicated yet; run 'scoping dedupe' first")
    missing = tables.unassigned_count(store)
    if missing:
        raise UsageError(
            f"{missing:,} records were imported after the last de-duplication; run 'scoping dedupe' first"
        )
    for rid, source, source_id, work in tables.iter_assignment(store):
        yield (source_id or "", work if work is not None else rid, rid, source)


def write_groups_csv(rows: Iterator[tuple[str, int, int, str]], stream: TextIO) -> int:
    """Write :data:`GROUP_COLUMNS` rows as CSV; return the number of records written."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(GROUP_COLUMNS)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def overlap(store: Store) -> Overlap:
    """How many works each source contributed and how many only it found."""
    rows = list(iter_groups(store))
    return source_overlap((source, work) for _, work, _, source in rows)


def write_overlap_csv(table: Overlap, stream: TextIO) -> None:
    names = [s.source for s in table.sources]
    columns = [*OVERLAP_COLUMNS, *(f"shared_with:{name}" for name in names)]
    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in table.rows():
        writer.writerow(row)


def works_of_pair(store: Store, record_a: int, record_b: int) -> list[int]:
    """The distinct works of two records, lowest first."""
    return sorted(set(tables.works_of(store, [record_a, record_b]).values()))


def work_records(store: Store, work_id: int) -> list[int]:
    """The record ids of a work (empty when there is no such work)."""
    return tables.work_members(store, work_id)
