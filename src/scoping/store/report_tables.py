"""What the store knows for the PRISMA 2020 flow: the report stage's read-only queries.

:func:`prisma_facts` reads everything the PRISMA counts are derived from, in one call, and
returns plain data (:class:`PrismaFacts`); :mod:`scoping.report.prisma` turns it into the
counts of the flow diagram. This module has no tables of its own and writes nothing.

Where the numbers come from:

- **records identified**: the ``records`` table, per ``source`` (the database a file or a
  search run was imported as), with the ``imports`` table for files imported more than once and
  the search log (``search_runs``) for runs that did not finish;
- **duplicates removed**: records minus works, from the dedupe stage's ``record_work`` table;
- **screening** (records screened and excluded, reports sought, not retrieved, assessed and
  excluded, studies included, records removed by the stopping rule): the screening stage's
  final outcome per work and stage, read through the seam below;
- **topics**: the topics stage's number of included works per topic, through the seam below.

The seams to the screening and topics stages
--------------------------------------------

The screening stage provides, in ``scoping/store/screen_tables.py``::

    def final_outcomes(store) -> Iterable[tuple[int, str, str, str | None]]:
        # (work id, stage, outcome, reason): at most one row per work and stage, for every
        # work that has an outcome at that stage (works without a row are "not yet screened")

    def stopping_rule_note(store) -> str | None:   # optional
        # a short description of the stopping rule that ended title-abstract screening

with ``stage`` one of :data:`STAGES` and ``outcome`` one of :data:`OUTCOMES`:

=================  ===============  =========================================================
stage              outcome          meaning
=================  ===============  =========================================================
title-abstract     include          final decision (agreed, or settled by the lead): include
title-abstract     exclude          final decision: exclude (``reason`` optional)
title-abstract     pending          some decisions, no final one yet
title-abstract     conflict         reviewers disagree; waiting for the lead
title-abstract     automation       not screened by a person: excluded by the stopping rule
title-abstract     removed          removed before screening for another reason (``reason``)
full-text          include          final decision: include (a study in the review)
full-text          exclude          final decision: exclude (``reason`` required)
full-text          pending          some decisions, no final one yet
full-text          conflict         reviewers disagree; waiting for the lead
full-text          not-retrieved    the full text could not be obtained
=================  ===============  =========================================================

The topics stage provides, in ``scoping/store/topics_tables.py``::

    def topic_counts(store) -> Iterable[tuple[str, int]]:
        # (topic label, number of included works in it), in the order to report them;
        # a work may be in several topics

A missing module or function means "this stage has no data yet": the counts it would give are
left unknown (``None``), and the report says so.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scoping.store.schema import imports, records

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = [
    "OUTCOMES",
    "STAGES",
    "OutcomeTally",
    "PrismaFacts",
    "RunFacts",
    "SourceFacts",
    "TopicCount",
    "WorkFacts",
    "prisma_facts",
    "tally_outcomes",
]

STAGES = ("title-abstract", "full-text")
OUTCOMES: dict[str, tuple[str, ...]] = {
    "title-abstract": ("include", "exclude", "pending", "conflict", "automation", "removed"),
    "full-text": ("include", "exclude", "pending", "conflict", "not-retrieved"),
}
COLUMNS = ("main", "other")
"""``main``: works with a record from a database or register; ``other``: works found only by
other methods (websites, citation searching...)."""

OutcomeRow = tuple[int, str, str, "str | None"]


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


@dataclass(frozen=True, slots=True)
class TopicCount:
    name: str
    n: int


@dataclass(frozen=True, slots=True)
class OutcomeTally:
    """Final screening outcomes counted by column, stage and outcome (and reasons of exclusion).

    ``counts[(column, stage, outcome)]`` and ``reasons[(column, stage, outcome)]`` is a
    Counter of reasons (``""`` when none was given).
    """

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    reasons: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    rows: int = 0
    repeated: int = 0
    """(work, stage) pairs given more than once (only the first was counted)."""
    unexpected: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(stage, outcome)`` pairs outside :data:`OUTCOMES`, counted but in no box."""

    def n(self, column: str, stage: str, *outcomes: str) -> int:
        return sum(self.counts.get((column, stage, o), 0) for o in outcomes)

    def reasons_of(self, column: str, stage: str, outcome: str) -> dict[str, int]:
        return dict(self.reasons.get((column, stage, outcome), {}))


@dataclass(frozen=True, slots=True)
class PrismaFacts:
    """Everything the store knows for the PRISMA flow, as plain data."""

    sources: tuple[SourceFacts, ...]
    works: WorkFacts
    outcomes: OutcomeTally | None
    """``None`` when the screening stage has no outcomes in the store."""
    stopping_rule: str | None = None
    topics: tuple[TopicCount, ...] | None = None
    """``None`` when the topics stage has no topics in the store."""
    other_sources: frozenset[str] = frozenset()


def tally_outcomes(rows: Iterable[OutcomeRow], other_works: frozenset[int] = frozenset()) -> OutcomeTally:
    """Count final outcomes ``(work, stage, outcome, reason)`` by column, stage and outcome.

    A stage or outcome outside :data:`OUTCOMES` is counted in ``unexpected`` (the report names
    it) rather than raising: a newer screening stage must not stop the report.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    reasons: dict[tuple[str, str, str], Counter[str]] = {}
    seen: set[tuple[int, str]] = set()
    unexpected: Counter[tuple[str, str]] = Counter()
    n_rows = repeated = 0
    for work_id, stage, outcome, reason in rows:
        n_rows += 1
        if outcome not in OUTCOMES.get(stage, ()):
            unexpected[(str(stage), str(outcome))] += 1
            continue
        key = (int(work_id), stage)
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        column = "other" if key[0] in other_works else "main"
        counts[(column, stage, outcome)] += 1
        if outcome in ("exclude", "removed"):
            reasons.setdefault((column, stage, outcome), Counter())[(reason or "").strip()] += 1
    return OutcomeTally(
        counts=dict(counts),
        reasons={k: dict(v) for k, v in reasons.items()},
        rows=n_rows,
        repeated=repeated,
        unexpected=dict(unexpected),
    )


def _provider(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if the stage module and its function exist, else ``None``."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise
    found = getattr(mod, name, None)
    return found if callable(found) else None


def _table_names(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _sources(store: Store, names: set[str]) -> list[SourceFacts]:
    with store.engine.connect() as conn:
        counts: dict[str, int] = {
            str(source): int(n)
            for source, n in conn.execute(
                sa.select(records.c.source, sa.func.count()).group_by(records.c.source)
            )
        }
        import_rows = conn.execute(
            sa.select(imports.c.source, imports.c.file_name, imports.c.sha256).order_by(imports.c.id)
        ).all()
        runs: dict[str, list[RunFacts]] = {}
        if "search_runs" in names:
            from scoping.store.search_tables import search_runs

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
    for source, file_name, sha in import_rows:
        n_imports[source] += 1
        if (source, sha) in seen and file_name not in repeated.get(source, []):
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


def _works(store: Store, names: set[str], other_sources: frozenset[str]) -> WorkFacts:
    if "record_work" not in names:
        return WorkFacts(ran=False)
    from scoping.store.dedupe_tables import record_work

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
        waiting = 0
        if {"dedupe_pairs", "dedupe_decisions"} <= names:
            from scoping.store.dedupe_tables import waiting_pairs

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


ScreeningProvider = Callable[["Store"], "Iterable[OutcomeRow] | None"]
TopicsProvider = Callable[["Store"], "Iterable[tuple[str, int]] | None"]


def prisma_facts(
    store: Store,
    *,
    other_sources: Iterable[str] = (),
    screening: ScreeningProvider | None = None,
    stopping_rule: Callable[[Store], str | None] | None = None,
    topics: TopicsProvider | None = None,
) -> PrismaFacts:
    """Read what the store knows for the PRISMA flow.

    ``other_sources`` names the sources reported under "other methods" (websites, citation
    searching...). ``screening``, ``stopping_rule`` and ``topics`` replace the stage seams
    described in the module docstring (tests and tools that hold outcomes elsewhere); by
    default they are looked up in ``screen_tables`` and ``topics_tables``.
    """
    names = _table_names(store)
    others = frozenset(other_sources)
    sources = _sources(store, names)
    works = _works(store, names, others)
    if screening is None:
        screening = _provider("scoping.store.screen_tables", "final_outcomes")
        if stopping_rule is None:
            stopping_rule = _provider("scoping.store.screen_tables", "stopping_rule_note")
    if topics is None:
        topics = _provider("scoping.store.topics_tables", "topic_counts")
    tally: OutcomeTally | None = None
    if screening is not None:
        rows = screening(store)
        if rows is not None:
            tally = tally_outcomes(rows, works.other_works)
            if tally.rows == 0:
                tally = None
    rule = stopping_rule(store) if stopping_rule is not None else None
    topic_list: tuple[TopicCount, ...] | None = None
    if topics is not None:
        found = topics(store)
        if found is not None:
            topic_list = tuple(TopicCount(str(name), int(n)) for name, n in found) or None
    return PrismaFacts(
        sources=tuple(sources),
        works=works,
        outcomes=tally,
        stopping_rule=rule,
        topics=topic_list,
        other_sources=others,
    )
