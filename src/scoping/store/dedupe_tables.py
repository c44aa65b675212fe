"""Tables and queries of the dedupe stage: works, links, the review queue, decisions, runs.

::

    record_work       record id -> work id (every record of a de-duplicated store has a row;
                      records are never deleted or changed, only linked)
    dedupe_pairs      compared pairs worth keeping (links and doubtful pairs): label, rule,
                      score and the field-by-field comparison, by run
    dedupe_decisions  a person's word on a pair ("same", "different", "skip", "undone"), appended;
                      the latest row per pair is the current decision
    work_events       merges and splits of works (by a person, or "undo"), for the audit trail
    dedupe_runs       one row per de-duplication run, with its report

A work's id is the id of one of its records (the lowest when it was formed), so work ids stay
stable when new records join, and two works never share an id.

The tables are made with every other table (:mod:`scoping.store.migrations`).

The functions that re-link records to works (:func:`save_run`, :func:`apply_decision`,
:func:`revert`, :func:`split_work`) write inside :meth:`Store.together
<scoping.store.Store.together>` (their own block, or the caller's) and, once screening has
begun, note the change there (:meth:`Store.relinked <scoping.store.Store.relinked>`): the
block commits only if the screening stage has carried its decisions to the new works in it
(:func:`scoping.screen.carry.carry_forward`, which the application layer runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scoping.store.schema import metadata, record_work, records
from scoping.store.values import WorkChange, utc_now

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = [
    "MATCH_COLUMNS",
    "Applied",
    "PairRow",
    "RunRow",
    "apply_decision",
    "decided_pairs",
    "dedupe_decisions",
    "dedupe_pairs",
    "dedupe_runs",
    "iter_assignment",
    "iter_match_rows",
    "last_run",
    "load_assignment",
    "load_decisions",
    "pairs_among",
    "record_work",
    "revert",
    "save_run",
    "split_work",
    "unassigned_count",
    "uncertain_queue",
    "waiting_pairs",
    "work_events",
    "work_members",
    "works_of",
]

dedupe_runs = sa.Table(
    "dedupe_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),  # "run" or "rebuild"
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("n_new", sa.Integer, nullable=False),
    sa.Column("n_duplicate_pairs", sa.Integer, nullable=False),
    sa.Column("n_uncertain_pairs", sa.Integer, nullable=False),
    sa.Column("n_works", sa.Integer, nullable=False),
    sa.Column("report", sa.Text, nullable=False),  # JSON
)

dedupe_pairs = sa.Table(
    "dedupe_pairs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("label", sa.Text, nullable=False),  # "duplicate" or "uncertain"
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("fields", sa.Text, nullable=False),  # JSON
    sa.UniqueConstraint("record_a", "record_b", name="uq_dedupe_pairs_records"),
)

dedupe_decisions = sa.Table(
    "dedupe_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("decision", sa.Text, nullable=False),  # same / different / skip / undone
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Index("ix_dedupe_decisions_pair", "record_a", "record_b"),
)

work_events = sa.Table(
    "work_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("work_id", sa.Integer, nullable=False, index=True),
    sa.Column("event", sa.Text, nullable=False),  # merge / split / revert
    sa.Column("detail", sa.Text, nullable=False),  # JSON: records and works before and after
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)

TABLES = (record_work, dedupe_runs, dedupe_pairs, dedupe_decisions, work_events)
DECISIONS = ("same", "different", "skip", "undone")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _now() -> str:
    return utc_now()


def _placeholder(conn: Connection) -> str:
    style = conn.dialect.paramstyle
    return "?" if style == "qmark" else "%s"


def _bulk(conn: Connection, sql: str, rows: Iterable[tuple[Any, ...]], batch: int = 5000) -> None:
    """Driver-level executemany in batches (``?`` in ``sql`` becomes the driver's placeholder)."""
    mark = _placeholder(conn)
    if mark != "?":
        sql = sql.replace("?", mark)
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            conn.exec_driver_sql(sql, chunk)
            chunk = []
    if chunk:
        conn.exec_driver_sql(sql, chunk)


# -- reading ---------------------------------------------------------------------------------


MATCH_COLUMNS = (
    "id",
    "source",
    "source_id",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "isbn",
    "doc_type",
    "abstract",
)
"""The fields :func:`iter_match_rows` yields, in order (``abstract``: its first 400 characters)."""


def iter_match_rows(store: Store, *, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    """Every stored record as a tuple of :data:`MATCH_COLUMNS` (authors decoded), in id order.

    Only what matching needs is read (no raw text, the start of the abstract), streamed in
    batches, so that a million records fit in memory as keys.
    """
    t = records.c
    query = sa.select(
        t.id,
        t.source,
        t.source_id,
        t.title,
        t.authors,
        t.year,
        t.journal,
        t.volume,
        t.issue,
        t.pages,
        t.doi,
        t.pmid,
        t.isbn,
        t.doc_type,
        sa.func.substr(t.abstract, 1, 400),
    ).order_by(t.id)
    loads = json.loads
    with store.engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(query)
        for part in result.partitions():
            for row in part:
                values = tuple(row)
                authors = values[4]
                yield (*values[:4], loads(authors) if authors and authors != "[]" else (), *values[5:])


def load_assignment(store: Store) -> dict[int, int]:
    """record id -> work id for every record that has been de-duplicated."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(record_work.c.record_id, record_work.c.work_id))
        return {int(r): int(w) for r, w in rows}


def iter_assignment(store: Store) -> Iterator[tuple[int, str, str | None, int | None]]:
    """``(record id, source, source id, work id or None)`` of every record, in id order.

    The source id is the record's identifier in its file (an ID column, the RIS ID, the WoS
    UT...), or its PMID when the file gave it none (a PubMed CSV has a PMID column only).
    """
    query = (
        sa.select(
            records.c.id,
            records.c.source,
            sa.func.coalesce(sa.func.nullif(records.c.source_id, ""), records.c.pmid),
            record_work.c.work_id,
        )
        .select_from(records.outerjoin(record_work, record_work.c.record_id == records.c.id))
        .order_by(records.c.id)
    )
    with store.engine.connect() as conn:
        result = conn.execution_options(yield_per=20_000).execute(query)
        for part in result.partitions():
            for rid, source, source_id, work in part:
                yield int(rid), source, source_id, (int(work) if work is not None else None)


def unassigned_count(store: Store) -> int:
    """How many records have no work yet (imported after the last run, or never run)."""
    query = (
        sa.select(sa.func.count())
        .select_from(records.outerjoin(record_work, record_work.c.record_id == records.c.id))
        .where(record_work.c.record_id.is_(None))
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _latest_decisions(conn: Connection) -> dict[tuple[int, int], str]:
    d = dedupe_decisions.c
    latest = sa.select(sa.func.max(d.id).label("id")).group_by(d.record_a, d.record_b).subquery()
    rows = conn.execute(sa.select(d.record_a, d.record_b, d.decision).join(latest, latest.c.id == d.id))
    return {(int(a), int(b)): str(decision) for a, b, decision in rows}


def load_decisions(store: Store) -> dict[tuple[int, int], str]:
    """A person's current word per pair ``(a, b)``, ``a < b``: only "same" and "different"."""
    with store.engine.connect() as conn:
        latest = _latest_decisions(conn)
    return {pair: value for pair, value in latest.items() if value in ("same", "different")}


def work_members(store: Store, work_id: int) -> list[int]:
    """The record ids of one work (empty if there is no such work)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(record_work.c.record_id)
            .where(record_work.c.work_id == work_id)
            .order_by(record_work.c.record_id)
        )
        return [int(r) for (r,) in rows]


def works_of(store: Store, record_ids: Sequence[int]) -> dict[int, int]:
    """record id -> work id for the given records (records without a work are left out)."""
    ids = list(record_ids)
    out: dict[int, int] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                sa.select(record_work.c.record_id, record_work.c.work_id).where(
                    record_work.c.record_id.in_(ids[start : start + 500])
                )
            )
            out.update((int(r), int(w)) for r, w in rows)
    return out


@dataclass(frozen=True, slots=True)
class PairRow:
    """A stored pair: the two records, what the rules said, and the comparison."""

    record_a: int
    record_b: int
    label: str
    rule: str
    score: float
    fields: dict[str, Any]
    run_id: int


def _pair(row: Any) -> PairRow:
    return PairRow(
        record_a=int(row.record_a),
        record_b=int(row.record_b),
        label=row.label,
        rule=row.rule,
        score=float(row.score),
        fields=json.loads(row.fields),
        run_id=int(row.run_id),
    )


def pairs_among(store: Store, record_ids: Sequence[int]) -> list[PairRow]:
    """The stored pairs whose two records are both in ``record_ids``."""
    ids = list(record_ids)
    if len(ids) < 2:
        return []
    p = dedupe_pairs.c
    out: list[PairRow] = []
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(sa.select(dedupe_pairs).where(p.record_a.in_(chunk), p.record_b.in_(ids)))
            out.extend(_pair(r) for r in rows)
    return sorted(out, key=lambda r: (r.record_a, r.record_b))


def decided_pairs(store: Store) -> dict[tuple[int, int], str]:
    """The latest decision row per pair, including "skip" and "undone"."""
    with store.engine.connect() as conn:
        return _latest_decisions(conn)


def pair_deciders(store: Store) -> dict[tuple[str, str], int]:
    """``(reviewer, decision) -> pairs`` of the current word on each pair ("same" or
    "different"): who decided the duplicate links people made (the audit trail's summary)."""
    d = dedupe_decisions.c
    latest = sa.select(sa.func.max(d.id).label("id")).group_by(d.record_a, d.record_b).subquery()
    query = (
        sa.select(d.reviewer, d.decision, sa.func.count())
        .join(latest, latest.c.id == d.id)
        .where(d.decision.in_(("same", "different")))
        .group_by(d.reviewer, d.decision)
    )
    with store.engine.connect() as conn:
        return {(str(r), str(v)): int(n) for r, v, n in conn.execute(query)}


def waiting_pairs(conn: Connection) -> int:
    """How many doubtful pairs wait for a person (:func:`uncertain_queue`, counted; read-only,
    for a store that has this stage's tables)."""
    wa = record_work.alias("wa")
    wb = record_work.alias("wb")
    p = dedupe_pairs
    query = (
        sa.select(p.c.record_a, p.c.record_b)
        .join(wa, wa.c.record_id == p.c.record_a)
        .join(wb, wb.c.record_id == p.c.record_b)
        .where(p.c.label == "uncertain", wa.c.work_id != wb.c.work_id)
    )
    decided = _latest_decisions(conn)
    return sum(
        1 for a, b in conn.execute(query) if decided.get((int(a), int(b))) not in ("same", "different")
    )


def uncertain_queue(store: Store) -> list[PairRow]:
    """Doubtful pairs still waiting for a person, best score first.

    A pair leaves the queue when a person said "same" or "different", or when its two records
    ended up in one work anyway.
    """
    wa = record_work.alias("wa")
    wb = record_work.alias("wb")
    p = dedupe_pairs
    query = (
        sa.select(p)
        .join(wa, wa.c.record_id == p.c.record_a)
        .join(wb, wb.c.record_id == p.c.record_b)
        .where(p.c.label == "uncertain", wa.c.work_id != wb.c.work_id)
        .order_by(p.c.score.desc(), p.c.record_a, p.c.record_b)
    )
    with store.engine.connect() as conn:
        decided = _latest_decisions(conn)
        rows = conn.execute(query).all()
    return [
        _pair(r) for r in rows if decided.get((int(r.record_a), int(r.record_b))) not in ("same", "different")
    ]


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    kind: str
    started_at: str
    finished_at: str
    n_records: int
    n_new: int
    n_duplicate_pairs: int
    n_uncertain_pairs: int
    n_works: int
    report: dict[str, Any]


def last_run(store: Store) -> RunRow | None:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(dedupe_runs).order_by(dedupe_runs.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    values = dict(row._mapping)
    values["report"] = json.loads(values["report"])
    return RunRow(**values)


# -- writing ---------------------------------------------------------------------------------


def save_run(store: Store, result: Any, *, started_at: str, rebuild: bool = False) -> int:
    """Store one run's outcome (a :class:`~scoping.dedupe.engine.DedupeResult`) in one transaction.

    Writes the changed work assignments, the kept pairs (links and doubtful pairs; a rebuild
    replaces all pairs), one event per work joined by a person's earlier decision, and the run.
    """
    now = _now()
    report = result.report
    with store.together(), store.transaction() as conn:
        run_id = int(
            conn.execute(
                dedupe_runs.insert()
                .values(
                    kind="rebuild" if rebuild else "run",
                    started_at=started_at,
                    finished_at=now,
                    n_records=report.n_records,
                    n_new=report.n_new,
                    n_duplicate_pairs=report.n_duplicate_pairs,
                    n_uncertain_pairs=report.n_uncertain_pairs,
                    n_works=report.n_works,
                    report=_dumps(report.as_dict()),
                )
                .returning(dedupe_runs.c.id)
            ).scalar_one()
        )
        if rebuild:
            conn.execute(dedupe_pairs.delete())
        moves = _moves(conn, result.changed)
        _bulk(
            conn,
            "INSERT INTO record_work (record_id, work_id, run_id, linked_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (record_id) DO UPDATE SET "
            "work_id = excluded.work_id, run_id = excluded.run_id, "
            "linked_by = excluded.linked_by, updated_at = excluded.updated_at",
            ((rid, work, run_id, "rule", now) for rid, work in result.changed.items()),
        )
        _bulk(
            conn,
            "INSERT INTO dedupe_pairs (record_a, record_b, run_id, label, rule, score, fields) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_a, record_b) DO UPDATE SET "
            "run_id = excluded.run_id, label = excluded.label, rule = excluded.rule, "
            "score = excluded.score, fields = excluded.fields",
            ((p.a, p.b, run_id, p.label, p.rule, float(p.score), _dumps(p.fields)) for p in result.pairs),
        )
        if moves is not None:
            store.relinked(WorkChange(moves[0], moves[1], by="dedupe run", at=now))
        for work, olds in result.merges:
            conn.execute(
                work_events.insert().values(
                    work_id=work,
                    event="merge",
                    by="decision",
                    detail=_dumps({"works": olds, "run": run_id}),
                    at=now,
                )
            )
    return run_id


def _screening_started(conn: Connection) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM screen_assignments LIMIT 1").first() is not None


def _moves(
    conn: Connection, changed: dict[int, int]
) -> tuple[dict[int, list[int]], dict[int, list[int]]] | None:
    """(work -> records before, work -> records after) of the works whose records ``changed``
    moves from one work to another, once screening has begun (``None`` otherwise). Read before
    the new links are written."""
    if not changed or not _screening_started(conn):
        return None
    ids = sorted(changed)
    old: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(record_work.c.record_id, record_work.c.work_id).where(
                record_work.c.record_id.in_(ids[start : start + 500])
            )
        )
        old.update((int(r), int(w)) for r, w in rows)
    moved = {rid: work for rid, work in old.items() if changed[rid] != work}
    if not moved:
        return None
    works = sorted(set(moved.values()) | {changed[rid] for rid in moved})
    before: dict[int, list[int]] = {}
    for start in range(0, len(works), 500):
        rows = conn.execute(
            sa.select(record_work.c.record_id, record_work.c.work_id).where(
                record_work.c.work_id.in_(works[start : start + 500])
            )
        )
        for rid, work in rows:
            before.setdefault(int(work), []).append(int(rid))
    after: dict[int, list[int]] = {}
    for work, members in before.items():
        for rid in members:
            after.setdefault(changed.get(rid, work), []).append(rid)
    for rid, work in changed.items():
        if rid not in old and work in after:  # a new record joining a work that changes
            after[work].append(rid)
    return before, after


@dataclass(frozen=True, slots=True)
class Applied:
    """What one decision changed, so that it can be undone."""

    record_a: int
    record_b: int
    decision: str
    before: dict[int, int]
    """Work id of every record whose work changed, before the change."""
    after: dict[int, int]


def _assign(conn: Connection, changes: dict[int, int], by: str, now: str) -> None:
    for rid, work in changes.items():
        conn.execute(
            record_work.update().where(record_work.c.record_id == rid),
            {"work_id": work, "linked_by": by, "updated_at": now},
        )


def _members(conn: Connection, work_id: int) -> list[int]:
    rows = conn.execute(sa.select(record_work.c.record_id).where(record_work.c.work_id == work_id))
    return [int(r) for (r,) in rows]


def _work_of(conn: Connection, record_id: int) -> int | None:
    return conn.execute(
        sa.select(record_work.c.work_id).where(record_work.c.record_id == record_id)
    ).scalar_one_or_none()


def apply_decision(
    store: Store, record_a: int, record_b: int, decision: str, *, reviewer: str, note: str | None = None
) -> Applied:
    """Append a person's decision on a pair and apply it, in one transaction.

    "same" joins the two records' works (the joined work keeps the lower work id); "different"
    and "skip" change no work (a later run respects "different"); the decision row is written
    whatever it is.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    a, b = (record_a, record_b) if record_a < record_b else (record_b, record_a)
    now = _now()
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    with store.together(), store.transaction() as conn:
        conn.execute(
            dedupe_decisions.insert().values(
                record_a=a, record_b=b, decision=decision, reviewer=reviewer, note=note, decided_at=now
            )
        )
        if decision == "same":
            wa, wb = _work_of(conn, a), _work_of(conn, b)
            if wa is not None and wb is not None and wa != wb:
                keep, gone = min(wa, wb), max(wa, wb)
                moved = _members(conn, gone)
                before = dict.fromkeys(moved, gone)
                after = dict.fromkeys(moved, keep)
                _assign(conn, after, "person", now)
                stay = _members(conn, keep)
                if _screening_started(conn):
                    store.relinked(
                        WorkChange(
                            {keep: [r for r in stay if r not in after], gone: moved},
                            {keep: stay},
                            reviewer,
                            now,
                        )
                    )
                conn.execute(
                    work_events.insert().values(
                        work_id=keep,
                        event="merge",
                        by=reviewer,
                        at=now,
                        detail=_dumps({"works": [keep, gone], "records": moved, "pair": [a, b]}),
                    )
                )
    return Applied(a, b, decision, before, after)


def revert(store: Store, applied: Applied, *, reviewer: str) -> None:
    """Undo one applied decision: restore the works it changed and append an "undone" row."""
    now = _now()
    with store.together(), store.transaction() as conn:
        conn.execute(
            dedupe_decisions.insert().values(
                record_a=applied.record_a,
                record_b=applied.record_b,
                decision="undone",
                reviewer=reviewer,
                note=f"undid {applied.decision!r}",
                decided_at=now,
            )
        )
        if applied.before:
            work = min(applied.after.values())
            joined = _members(conn, work)
            _assign(conn, applied.before, "person", now)
            parts: dict[int, list[int]] = {work: _members(conn, work)}
            for rid, old in applied.before.items():
                parts.setdefault(old, []).append(rid)
            if _screening_started(conn):
                store.relinked(WorkChange({work: joined}, parts, reviewer, now))
            conn.execute(
                work_events.insert().values(
                    work_id=work,
                    event="revert",
                    by=reviewer,
                    at=now,
                    detail=_dumps(
                        {"records": sorted(applied.before), "works": sorted(set(applied.before.values()))}
                    ),
                )
            )


MAX_SPLIT_PAIRS = 100_000


def split_work(store: Store, work_id: int, *, by: str) -> list[int]:
    """Split a work back into its records; each becomes its own work (its id is the record's).

    "different" decisions are appended for every pair of its records, so later runs keep them
    apart. Returns the record ids; an empty list when there is no such work.
    """
    now = _now()
    with store.together(), store.transaction() as conn:
        members = sorted(_members(conn, work_id))
        if not members:
            return []
        pairs = [(x, y) for i, x in enumerate(members) for y in members[i + 1 :]]
        if len(pairs) > MAX_SPLIT_PAIRS:
            pairs = [(members[0], y) for y in members[1:]]
        _bulk(
            conn,
            "INSERT INTO dedupe_decisions (record_a, record_b, decision, reviewer, note, decided_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((x, y, "different", by, f"undo of work {work_id}", now) for x, y in pairs),
        )
        _assign(conn, {rid: rid for rid in members}, "person", now)
        if _screening_started(conn):
            store.relinked(WorkChange({work_id: members}, {rid: [rid] for rid in members}, by, now))
        conn.execute(
            work_events.insert().values(
                work_id=work_id, event="split", by=by, at=now, detail=_dumps({"records": members})
            )
        )
    return members
