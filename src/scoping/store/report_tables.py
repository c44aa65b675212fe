"""The store's part of the PRISMA 2020 flow: read-only queries that return plain rows.

:func:`source_facts` and :func:`work_facts` read what the flow's identification boxes are
derived from; :func:`scoping.report.facts.prisma_facts` adds the screening and topics stages'
results and :mod:`scoping.report.prisma` turns it all into the counts. This module has no
tables of its own and writes nothing.

- **records identified**: the ``records`` table, per ``source`` (the database a file or a
  search run was imported as), with the ``imports`` table for files imported more than once and
  the search log (``search_runs``) for runs that did not finish;
- **duplicates removed**: records minus works, from the dedupe stage's ``record_work`` table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from scoping.store.dedupe_tables import waiting_pairs
from scoping.store.schema import imports, record_work, records
from scoping.store.search_tables import search_runs

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = ["RunFacts", "SourceFacts", "WorkFacts", "record_links", "source_facts", "work_facts"]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """One logged search run of a source."""

    id: str
    status: str
    hit_count: int | None
    retrieved: int


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """The records stored from one source (database, register, or other method)."""

    name: str
    records: int
    imports: int
    repeated_files: tuple[str, ...] = ()
    """Names of files whose content was imported more than once for this source (``--again``)."""
    runs: tuple[RunFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkFacts:
    """The outcome of de-duplication, split by the PRISMA column a work belongs to."""

    ran: bool
    """Whether de-duplication has linked any record to a work."""
    main_records: int = 0
    """Records from databases and registers that belong to a work."""
    main_works: int = 0
    """Works with at least one record from a database or register."""
    main_unassigned: int = 0
    """Records from databases and registers not linked to a work (imported after the last run)."""
    other_records: int = 0
    """Records from other methods that belong to a work."""
    other_records_in_main: int = 0
    """Records from other methods whose work also has a database record (counted there)."""
    other_unassigned: int = 0
    other_works: frozenset[int] = frozenset()
    """Ids of works made only of records from other methods."""
    doubtful_pairs: int = 0
    """Doubtful pairs of records still waiting for a person ('scoping dedupe review')."""


def source_facts(store: Store) -> list[SourceFacts]:
    """The records, imports and logged search runs of every source, by source name."""
    with store.engine.connect() as conn:
        counts: dict[str, int] = {
            str(source): int(n)
            for source, n in conn.execute(
                sa.select(records.c.source, sa.func.count()).group_by(records.c.source)
            )
        }
        import_rows = conn.execute(
            sa.select(imports.c.source, imports.c.file_name, imports.c.sha256, imports.c.n_records).order_by(
                imports.c.id
            )
        ).all()
        runs: dict[str, list[RunFacts]] = {}
        s = search_runs.c
        for database, run_id, status, hits, retrieved in conn.execute(
            sa.select(s.database, s.id, s.status, s.hit_count, s.retrieved).order_by(s.started_at, s.id)
        ):
            runs.setdefault(str(database), []).append(
                RunFacts(
                    id=str(run_id),
                    status=str(status),
                    hit_count=None if hits is None else int(hits),
                    retrieved=int(retrieved),
                )
            )
    n_imports: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    repeated: dict[str, list[str]] = {}
    for source, file_name, sha, n_records in import_rows:
        n_imports[source] += 1
        # a page of a search run again stores none of the records an earlier run stored
        if (source, sha) in seen and n_records and file_name not in repeated.get(source, []):
            repeated.setdefault(source, []).append(str(file_name))
        seen.add((source, sha))
    out = []
    for name in sorted(set(counts) | set(runs)):
        out.append(
            SourceFacts(
                name=str(name),
                records=int(counts.get(name, 0)),
                imports=n_imports[name],
                repeated_files=tuple(repeated.get(name, [])),
                runs=tuple(runs.get(name, [])),
            )
        )
    return out


def work_facts(store: Store, other_sources: frozenset[str] = frozenset()) -> WorkFacts:
    """The outcome of de-duplication, split by PRISMA column (``other_sources``: the sources
    reported under "other methods")."""
    r, w = records.c, record_work.c
    joined = records.join(record_work, w.record_id == r.id)
    others = sorted(other_sources)
    is_other = r.source.in_(others) if others else sa.false()
    with store.engine.connect() as conn:
        assigned = conn.execute(sa.select(sa.func.count()).select_from(record_work)).scalar_one()
        if not assigned:
            return WorkFacts(ran=False)
        unassigned = (
            sa.select(sa.func.count())
            .select_from(records.outerjoin(record_work, w.record_id == r.id))
            .where(w.record_id.is_(None))
        )
        main_unassigned = conn.execute(unassigned.where(sa.not_(is_other))).scalar_one()
        other_unassigned = conn.execute(unassigned.where(is_other)).scalar_one() if others else 0
        main_records = conn.execute(
            sa.select(sa.func.count()).select_from(joined).where(sa.not_(is_other))
        ).scalar_one()
        main_works = conn.execute(
            sa.select(sa.func.count(sa.distinct(w.work_id))).select_from(joined).where(sa.not_(is_other))
        ).scalar_one()
        other_records = 0
        other_works: frozenset[int] = frozenset()
        in_other_only = 0
        if others:
            other_records = conn.execute(
                sa.select(sa.func.count()).select_from(joined).where(is_other)
            ).scalar_one()
            main_flag = sa.case((is_other, 0), else_=1)
            other_only = (
                sa.select(w.work_id)
                .select_from(joined)
                .group_by(w.work_id)
                .having(sa.func.sum(main_flag) == 0)
            )
            other_works = frozenset(int(x) for (x,) in conn.execute(other_only))
            in_other_only = (
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(record_work)
                    .where(w.work_id.in_(other_only.scalar_subquery()))
                ).scalar_one()
                if other_works
                else 0
            )
        waiting = waiting_pairs(conn)
    return WorkFacts(
        ran=True,
        doubtful_pairs=waiting,
        main_records=int(main_records),
        main_works=int(main_works),
        main_unassigned=int(main_unassigned),
        other_records=int(other_records),
        other_records_in_main=int(other_records) - int(in_other_only),
        other_unassigned=int(other_unassigned),
        other_works=other_works,
    )


def record_links(store: Store) -> list[tuple[int, str, int | None]]:
    """``(import id, source, work id or None)`` of every stored record (``None``: not linked to
    a work, or de-duplication has not run): what an updated review's arms are counted from."""
    r = records.c
    with store.engine.connect() as conn:
        w = record_work.c
        rows = conn.execute(
            sa.select(r.import_id, r.source, w.work_id).select_from(
                records.outerjoin(record_work, w.record_id == r.id)
            )
        )
        return [(int(i), str(s), None if k is None else int(k)) for i, s, k in rows]
