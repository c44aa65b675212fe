"""Tables and queries of the screening stage: allocation, decisions, resolutions.

::

    screen_assign_runs   one row per 'scoping assign' run that allocated work (who, seed, counts)
    screen_assignments   (stage, work, reviewer): who screens which work; never changed or deleted
    screen_decisions     a reviewer's decision on a work at a stage, appended; the latest row per
                         (stage, work, reviewer) is the current decision ("undone" withdraws it)
    screen_resolutions   a lead's decision on a work at a stage, appended; the latest row per
                         (stage, work) settles the work ("undone" withdraws it; "conflict",
                         written when de-duplication joined works with different outcomes,
                         puts it back to the lead)
    screen_stop_events   the stopping rule's events, appended: random sampling began ("sample"),
                         the lead stopped screening because the rule was met ("stop", with the
                         test in ``details``), took the stop back ("resume"), or called
                         off a sample before any stop ("cancel": the ranked order again)
    screen_stop_sample   the random order of the works unscreened when sampling began (or, for
                         a stop by the default rule, the works it excluded)
    screen_labels        a reviewer's own labels (tags) on works, appended ("add"/"remove"),
                         kept on a record of the work so they follow it through joins/splits

Nothing here is ever updated or deleted. Every decision is one INSERT in its own transaction,
so reviewers screening at the same time from separate processes never touch the same row, and
a decision is stored once and for all when :func:`add_decision` returns. Each row carries a
``uid`` made by the caller: writing the same ``uid`` twice (a retry after a lost connection)
stores it once.

This module stores and reads rows; it decides nothing. The final outcome of a work at a stage
is derived, never typed, by the screening stage (:mod:`scoping.screen.outcomes`).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scoping.records import Record
from scoping.store.schema import metadata, record_work, records
from scoping.store.values import os_user, stored_record, utc_now

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = [
    "DECISIONS",
    "RESOLUTIONS",
    "AssignRun",
    "ChangedMeanwhileError",
    "DecisionRow",
    "NotAssignedError",
    "ResolutionRow",
    "StopEvent",
    "add_decision",
    "add_decisions",
    "add_labels",
    "add_resolution",
    "add_stop_event",
    "assign",
    "assigned_reviewers",
    "assigned_works",
    "assignment_counts",
    "assignments",
    "count_by",
    "current_decision",
    "current_decisions",
    "current_labels",
    "current_resolutions",
    "decision_history",
    "first_decided_by_others",
    "is_assigned",
    "others_decisions_mark",
    "resolution_history",
    "screen_assign_runs",
    "screen_assignments",
    "screen_decisions",
    "screen_labels",
    "screen_resolutions",
    "screen_scopes",
    "screen_stop_events",
    "screen_stop_sample",
    "stop_events",
    "stop_sample",
    "work_ids",
    "work_records",
    "works_records",
    "writer",
]

DECISIONS = ("include", "exclude", "maybe", "not-retrieved", "undone")
"""Values of ``screen_decisions.decision`` ("undone" withdraws the reviewer's decision)."""
RESOLUTIONS = ("include", "exclude", "not-retrieved", "undone")
"""Values of ``screen_resolutions.decision``."""

screen_assign_runs = sa.Table(
    "screen_assign_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("dual_fraction", sa.Float, nullable=False),
    sa.Column("reviewers", sa.Text, nullable=False),  # JSON list of the screeners of this run
    sa.Column("n_works", sa.Integer, nullable=False),
    sa.Column("n_dual", sa.Integer, nullable=False),
)

screen_assignments = sa.Table(
    "screen_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("work_id", sa.Integer, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("screen_assign_runs.id"), nullable=False),
    sa.UniqueConstraint("stage", "work_id", "reviewer", name="uq_screen_assignments"),
    sa.Index("ix_screen_assignments_reviewer", "stage", "reviewer", "work_id"),
)

screen_decisions = sa.Table(
    "screen_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(40), nullable=False, unique=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("work_id", sa.Integer, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("fulltext", sa.Text, nullable=True),  # a file path or URL of the full text
    sa.Column("via", sa.Text, nullable=False),  # "tui", "plain", "csv:<file>", "api"
    sa.Column("decided_at", sa.String(40), nullable=False),
    # who wrote the row: the database role (PostgreSQL) or operating-system user (SQLite);
    # empty in rows stored before schema 3
    sa.Column("written_by", sa.Text, nullable=True),
    sa.Index("ix_screen_decisions_reviewer", "stage", "reviewer", "work_id", "id"),
    sa.Index("ix_screen_decisions_work", "stage", "work_id"),
)

screen_resolutions = sa.Table(
    "screen_resolutions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(40), nullable=False, unique=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("work_id", sa.Integer, nullable=False),
    sa.Column("lead", sa.Text, nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Column("written_by", sa.Text, nullable=True),  # as in screen_decisions
    sa.Index("ix_screen_resolutions_work", "stage", "work_id", "id"),
)

screen_stop_events = sa.Table(
    "screen_stop_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("event", sa.String(20), nullable=False),  # "sample", "stop" or "resume"
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON: the rule, the test, counts, seed
)

screen_stop_sample = sa.Table(
    "screen_stop_sample",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("screen_stop_events.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("work_id", sa.Integer, nullable=False),
    sa.UniqueConstraint("event_id", "position", name="uq_screen_stop_sample"),
)

screen_labels = sa.Table(
    "screen_labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # the label sits on a record of the work, so it follows the record when works join or split
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("work_id", sa.Integer, nullable=False),  # the work when the label was set
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),  # "add" or "remove"
    sa.Column("at", sa.String(40), nullable=False),
    sa.Index("ix_screen_labels_reviewer", "reviewer", "record_id"),
)

screen_scopes = sa.Table(
    "screen_scopes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(1), nullable=False),  # "d": screen_decisions, "r": screen_resolutions
    sa.Column("row_id", sa.Integer, nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Index("ix_screen_scopes_row", "kind", "row_id"),
)
"""The records a decision (``kind`` "d") or resolution ("r") was made on, written when the
links of its work first change (:mod:`scoping.screen.carry`)."""

STOP_EVENTS = ("sample", "stop", "resume", "cancel")

TABLES = (
    screen_assign_runs,
    screen_assignments,
    screen_decisions,
    screen_resolutions,
    screen_stop_events,
    screen_stop_sample,
    screen_labels,
    screen_scopes,
)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ASSIGN_LOCK = 5_170_001  # PostgreSQL advisory lock key serialising 'scoping assign' runs


def _now() -> str:
    return utc_now()


_readers: weakref.WeakKeyDictionary[Store, Engine] = weakref.WeakKeyDictionary()


def writer(conn: Connection) -> Any:
    """The SQL value of ``written_by`` for rows ``conn`` writes: the connection's role on
    PostgreSQL (``CURRENT_USER``, decided by the server), the operating-system user on SQLite."""
    if conn.dialect.name == "postgresql":
        return sa.func.current_user(type_=sa.Text)
    return sa.literal(os_user(), sa.Text)


def _reader(store: Store) -> Engine:
    """The store's engine without a transaction around each read: one round trip per query
    instead of three on PostgreSQL (the hot reads of the screening window use it)."""
    engine = _readers.get(store)
    if engine is None:
        engine = _readers[store] = store.engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


# -- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One stored decision of one reviewer."""

    id: int
    uid: str
    stage: str
    work_id: int
    reviewer: str
    decision: str
    reason: str | None
    note: str | None
    fulltext: str | None
    via: str
    decided_at: str
    written_by: str | None = None
    """The database role (PostgreSQL) or operating-system user (SQLite) that wrote the row."""


@dataclass(frozen=True, slots=True)
class ResolutionRow:
    """One stored decision of a lead settling a work."""

    id: int
    uid: str
    stage: str
    work_id: int
    lead: str
    decision: str
    reason: str | None
    note: str | None
    decided_at: str
    written_by: str | None = None
    """As :attr:`DecisionRow.written_by`."""


@dataclass(frozen=True, slots=True)
class AssignRun:
    id: int
    stage: str
    n_works: int
    n_dual: int
    assignments: tuple[tuple[int, str], ...]
    """``(work id, reviewer)`` rows this run added."""


def _decision(row: Any) -> DecisionRow:
    m = row._mapping
    return DecisionRow(
        id=int(m["id"]),
        uid=m["uid"],
        stage=m["stage"],
        work_id=int(m["work_id"]),
        reviewer=m["reviewer"],
        decision=m["decision"],
        reason=m["reason"],
        note=m["note"],
        fulltext=m["fulltext"],
        via=m["via"],
        decided_at=m["decided_at"],
        written_by=m["written_by"],
    )


def _resolution(row: Any) -> ResolutionRow:
    m = row._mapping
    return ResolutionRow(
        id=int(m["id"]),
        uid=m["uid"],
        stage=m["stage"],
        work_id=int(m["work_id"]),
        lead=m["lead"],
        decision=m["decision"],
        reason=m["reason"],
        note=m["note"],
        decided_at=m["decided_at"],
        written_by=m["written_by"],
    )


# -- works and assignments -------------------------------------------------------------------


def work_ids(store: Store) -> list[int]:
    """Every work of the de-duplicated store, in id order."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(record_work.c.work_id).distinct().order_by(record_work.c.work_id))
        return [int(w) for (w,) in rows]


def work_records(store: Store, work_id: int) -> list[tuple[int, str, Record]]:
    """``(record id, source, record)`` of the records of one work, in one query."""
    query = (
        sa.select(records)
        .join(record_work, record_work.c.record_id == records.c.id)
        .where(record_work.c.work_id == work_id)
        .order_by(records.c.id)
    )
    with _reader(store).connect() as conn:
        found = [stored_record(row._mapping) for row in conn.execute(query)]
    return [(s.id, s.source, s.record) for s in found]


def works_records(store: Store, work_ids: Sequence[int]) -> dict[int, list[tuple[int, str, Record]]]:
    """:func:`work_records` of many works, a few hundred per query."""
    out: dict[int, list[tuple[int, str, Record]]] = {}
    with _reader(store).connect() as conn:
        for chunk in _chunks(work_ids):
            query = (
                sa.select(records, record_work.c.work_id.label("_work"))
                .join(record_work, record_work.c.record_id == records.c.id)
                .where(record_work.c.work_id.in_(chunk or []))
                .order_by(records.c.id)
            )
            for row in conn.execute(query):
                found = stored_record(row._mapping)
                out.setdefault(int(row._mapping["_work"]), []).append((found.id, found.source, found.record))
    return out


def assignments(store: Store, stage: str) -> list[tuple[int, str]]:
    """``(work id, reviewer)`` of every assignment at ``stage``, in the order they were made."""
    with store.engine.connect() as conn:
        return _assignments(conn, stage)


def _assignments(conn: Connection, stage: str) -> list[tuple[int, str]]:
    a = screen_assignments.c
    rows = conn.execute(sa.select(a.work_id, a.reviewer).where(a.stage == stage).order_by(a.id))
    return [(int(w), str(r)) for w, r in rows]


def assigned_works(store: Store, stage: str, reviewer: str) -> list[int]:
    """The works assigned to ``reviewer`` at ``stage``, in id order (works that de-duplication
    joined to another work are left out: the assignment went with them)."""
    a = screen_assignments.c
    exists = sa.exists().where(record_work.c.work_id == a.work_id)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.work_id).where(a.stage == stage, a.reviewer == reviewer, exists).order_by(a.work_id)
        )
        return [int(w) for (w,) in rows]


def assigned_reviewers(
    store: Store, stage: str, work_ids: Sequence[int] | None = None
) -> dict[int, list[str]]:
    """work id -> the reviewers assigned to it at ``stage`` (all works, or those given)."""
    a = screen_assignments.c
    out: dict[int, list[str]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(work_ids):
            query = sa.select(a.work_id, a.reviewer).where(a.stage == stage).order_by(a.id)
            if chunk is not None:
                query = query.where(a.work_id.in_(chunk))
            for w, r in conn.execute(query):
                out.setdefault(int(w), []).append(str(r))
    return out


def is_assigned(store: Store, stage: str, work_id: int, reviewer: str) -> bool:
    a = screen_assignments.c
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(a.id).where(a.stage == stage, a.work_id == work_id, a.reviewer == reviewer).limit(1)
        ).first()
    return found is not None


def assignment_counts(store: Store, stage: str) -> dict[str, int]:
    """reviewer -> number of works assigned at ``stage``."""
    a = screen_assignments.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.reviewer, sa.func.count()).where(a.stage == stage).group_by(a.reviewer)
        )
        return {str(r): int(n) for r, n in rows}


Planner = Callable[[list[tuple[int, str]]], tuple[list[tuple[int, str]], int]]
"""Given the existing ``(work, reviewer)`` assignments of a stage, the rows to add and how many
of the newly allocated works are dual-screened."""


def assign(
    store: Store,
    stage: str,
    plan: Planner,
    *,
    by: str,
    seed: int,
    dual_fraction: float,
    reviewers: Sequence[str],
) -> AssignRun | None:
    """Add assignments at ``stage`` in one transaction, serialised against other assign runs.

    ``plan`` is called inside the transaction with the existing assignments, so two leads
    running ``scoping assign`` at once cannot allocate the same work twice. Returns ``None``
    (and stores nothing) when the plan adds nothing.
    """
    with store.engine.connect() as conn, conn.begin() as transaction:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_ASSIGN_LOCK)))
        # the first write takes SQLite's write lock before the existing rows are read
        run_id = int(
            conn.execute(
                screen_assign_runs.insert()
                .values(
                    stage=stage,
                    by=by,
                    at=_now(),
                    seed=seed,
                    dual_fraction=dual_fraction,
                    reviewers=_dumps(list(reviewers)),
                    n_works=0,
                    n_dual=0,
                )
                .returning(screen_assign_runs.c.id)
            ).scalar_one()
        )
        existing = _assignments(conn, stage)
        rows, n_dual = plan(existing)
        if not rows:
            transaction.rollback()
            return None
        conn.execute(
            screen_assignments.insert(),
            [
                {"stage": stage, "work_id": work, "reviewer": reviewer, "run_id": run_id}
                for work, reviewer in rows
            ],
        )
        n_works = len({work for work, _ in rows})
        # the run's own row, written a moment ago in this transaction: not a shared row
        conn.execute(
            screen_assign_runs.update().where(screen_assign_runs.c.id == run_id),
            {"n_works": n_works, "n_dual": n_dual},
        )
    return AssignRun(id=run_id, stage=stage, n_works=n_works, n_dual=n_dual, assignments=tuple(rows))


# -- decisions -------------------------------------------------------------------------------


def _insert_ignoring_uid(conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> int | None:
    """INSERT one row unless a row with its uid exists; the new id, or ``None``."""
    stmt = _dialect_insert(conn, table).values(**values)
    new = conn.execute(_ignore_uid(stmt).returning(table.c.id)).scalar_one_or_none()
    return None if new is None else int(new)


def _dialect_insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _ignore_uid(stmt: Any) -> Any:
    return stmt.on_conflict_do_nothing(index_elements=["uid"])


class NotAssignedError(LookupError):
    """The work is not assigned to the reviewer at the stage (nothing was stored)."""


class ChangedMeanwhileError(LookupError):
    """The reviewer's current decision on the work is not the one the caller saw (another
    session wrote since); nothing was stored. ``current`` is the current decision now."""

    def __init__(self, work_id: int, current: DecisionRow | None) -> None:
        super().__init__(f"work {work_id}: the current decision changed meanwhile")
        self.work_id = work_id
        self.current = current


# made once: an alias copies every column of the table, which cost more than the rest of
# building the statement when it was made again for each decision
_SEEN_LATEST = screen_decisions.alias("seen_latest")
_SEEN_CURRENT = screen_decisions.alias("seen_current")


def _still_current(stage: str, work_id: int, reviewer: str, seen: int | None) -> Any:
    """SQL: the reviewer's current decision on the work is still row ``seen`` (``None``: the
    reviewer has no current decision on it)."""
    d = _SEEN_LATEST
    latest = (
        sa.select(sa.func.max(d.c.id))
        .where(d.c.stage == stage, d.c.work_id == work_id, d.c.reviewer == reviewer)
        .scalar_subquery()
    )
    if seen is not None:
        return latest == seen
    e = _SEEN_CURRENT
    return ~sa.exists().where(e.c.id == latest, e.c.decision != "undone")


def _lock_decisions_of(conn: Connection, stage: str, work_id: int, reviewer: str) -> None:
    """PostgreSQL: serialise writers of one reviewer's decisions on one work until commit (so
    the check of :func:`_still_current` and the insert are one step; SQLite's single writer
    gives that by itself)."""
    if conn.dialect.name == "postgresql":
        key = sa.func.hashtext(sa.literal(f"scoping-decision:{stage}:{reviewer}"))
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key, sa.literal(work_id, sa.Integer))))


def add_decision(
    store: Store,
    *,
    uid: str,
    stage: str,
    work_id: int,
    reviewer: str,
    decision: str,
    reason: str | None = None,
    note: str | None = None,
    fulltext: str | None = None,
    via: str = "api",
    require_assignment: bool = False,
    check_current: bool = False,
    seen: int | None = None,
) -> DecisionRow:
    """Append one decision in its own transaction; it is committed when this returns.

    Checks nothing but the value of ``decision``, and with ``require_assignment`` that the work
    is assigned to the reviewer at the stage and still exists (in the same statement;
    :class:`NotAssignedError` otherwise). With ``check_current``, the reviewer's current
    decision on the work must still be row ``seen`` (``None``: none), the one the caller
    showed: checked in the same statement, under a lock per reviewer and work on PostgreSQL;
    :class:`ChangedMeanwhileError` otherwise, so two windows of one reviewer never both
    decide a work unseen. Writing an ``uid`` that is already stored returns the stored row
    and adds nothing.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    values = {
        "uid": uid,
        "stage": stage,
        "work_id": work_id,
        "reviewer": reviewer,
        "decision": decision,
        "reason": reason,
        "note": note,
        "fulltext": fulltext,
        "via": via,
        "decided_at": _now(),
    }
    d = screen_decisions
    with store.engine.begin() as conn:
        conditions = []
        if require_assignment:
            a = screen_assignments.c
            conditions += [
                sa.exists().where(a.stage == stage, a.work_id == work_id, a.reviewer == reviewer),
                # a work joined to another meanwhile (de-duplication) takes no new decisions
                sa.exists().where(record_work.c.work_id == work_id),
            ]
        if check_current:
            _lock_decisions_of(conn, stage, work_id, reviewer)
            conditions.append(_still_current(stage, work_id, reviewer, seen))
        if conditions:
            source = sa.select(
                *(sa.literal(v, d.c[k].type).label(k) for k, v in values.items()),
                writer(conn).label("written_by"),
            ).where(*conditions)
            stmt = _dialect_insert(conn, d).from_select([*values, "written_by"], source)
        else:
            stmt = _dialect_insert(conn, d).values(**values, written_by=writer(conn))
        row = conn.execute(_ignore_uid(stmt).returning(*d.c)).first()
        if row is None:  # the uid was stored before (a retry), the work is not assigned, or
            # another session changed the decision since the caller showed the work
            row = conn.execute(sa.select(d).where(d.c.uid == uid)).first()
            if row is None:
                if (
                    check_current
                    and not conn.execute(
                        sa.select(_still_current(stage, work_id, reviewer, seen))
                    ).scalar_one()
                ):
                    latest = conn.execute(
                        sa.select(d)
                        .where(d.c.stage == stage, d.c.work_id == work_id, d.c.reviewer == reviewer)
                        .order_by(d.c.id.desc())
                        .limit(1)
                    ).first()
                    now = None if latest is None else _decision(latest)
                    raise ChangedMeanwhileError(work_id, now if now and now.decision != "undone" else None)
                raise NotAssignedError(f"work {work_id} is not assigned to {reviewer} at {stage}")
    return _decision(row)


def add_decisions(store: Store, rows: Iterable[Mapping[str, Any]], *, via: str) -> int:
    """Append many decisions in one transaction (all or none); rows whose uid exists are skipped.

    Each row has the keyword arguments of :func:`add_decision`. Returns how many were added.
    """
    added = 0
    now = _now()
    with store.engine.begin() as conn:
        for row in rows:
            if row["decision"] not in DECISIONS:
                raise ValueError(f"unknown decision {row['decision']!r}")
            values = {
                "reason": None,
                "note": None,
                "fulltext": None,
                **row,
                "via": via,
                "decided_at": now,
                "written_by": writer(conn),
            }
            if _insert_ignoring_uid(conn, screen_decisions, values) is not None:
                added += 1
    return added


def _latest_ids(stage: str, *, reviewer: str | None = None) -> Any:
    d = screen_decisions.c
    query = sa.select(sa.func.max(d.id).label("id")).where(d.stage == stage)
    if reviewer is not None:
        query = query.where(d.reviewer == reviewer)
    return query.group_by(d.work_id, d.reviewer).subquery()


def current_decisions(
    store: Store, stage: str, *, reviewer: str | None = None, keep_undone: bool = False
) -> dict[tuple[int, str], DecisionRow]:
    """The current decision per ``(work, reviewer)`` at ``stage`` (one reviewer's, or all).

    Works whose latest row is "undone" are left out unless ``keep_undone``.
    """
    latest = _latest_ids(stage, reviewer=reviewer)
    query = sa.select(screen_decisions).join(latest, latest.c.id == screen_decisions.c.id)
    out: dict[tuple[int, str], DecisionRow] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            decision = _decision(row)
            if keep_undone or decision.decision != "undone":
                out[(decision.work_id, decision.reviewer)] = decision
    return out


def first_decided_by_others(store: Store, stage: str, reviewer: str) -> dict[int, int]:
    """The works with a current decision of a reviewer other than ``reviewer`` at ``stage``
    -> the id of the first such decision (what :func:`current_decisions` would give, reduced
    in the database: a shared queue asks after every decision, so at tens of thousands of
    decisions it must not build a row object per decision; 20,000 decisions, SQLite: about
    360 ms of CPU that way, a few tens here, most of it outside the interpreter's lock)."""
    d = screen_decisions.c
    latest = (
        sa.select(sa.func.max(d.id).label("id"))
        .where(d.stage == stage, d.reviewer != reviewer)
        .group_by(d.work_id, d.reviewer)
        .subquery()
    )
    query = (
        sa.select(d.work_id, sa.func.min(d.id))
        .join(latest, latest.c.id == d.id)
        .where(d.decision != "undone")
        .group_by(d.work_id)
    )
    with _reader(store).connect() as conn:
        return {int(work): int(first) for work, first in conn.execute(query)}


def others_decisions_mark(store: Store, stage: str, reviewer: str) -> tuple[int, int, int]:
    """A mark that changes whenever a reviewer other than ``reviewer`` adds a decision row at
    ``stage`` (rows are only appended) or a row of theirs moves to another work (works joined
    in de-duplication): their rows' count, highest id and sum of work ids. A few milliseconds
    where :func:`first_decided_by_others` takes tens, so a shared queue asks it after every
    decision and reads the rest only when it changed.

    In team mode the rows are out of a reviewer's reach (this would count none of them): there
    the mark is :func:`scoping.store.team.others_decisions_mark`'s."""
    d = screen_decisions.c
    query = sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.max(d.id), 0), sa.func.coalesce(sa.func.sum(d.work_id), 0)
    ).where(d.stage == stage, d.reviewer != reviewer)
    with _reader(store).connect() as conn:
        count, top, total = conn.execute(query).one()
    return int(count), int(top), int(total)


def current_decision(store: Store, stage: str, work_id: int, reviewer: str) -> DecisionRow | None:
    """``reviewer``'s current decision on one work (``None``: none, or withdrawn)."""
    d = screen_decisions.c
    with _reader(store).connect() as conn:
        row = conn.execute(
            sa.select(screen_decisions)
            .where(d.stage == stage, d.reviewer == reviewer, d.work_id == work_id)
            .order_by(d.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    decision = _decision(row)
    return None if decision.decision == "undone" else decision


def decision_history(
    store: Store, stage: str | None = None, *, work_id: int | None = None, reviewer: str | None = None
) -> list[DecisionRow]:
    """Every stored decision row (optionally of one stage, work or reviewer), oldest first."""
    d = screen_decisions.c
    query = sa.select(screen_decisions).order_by(d.id)
    if stage is not None:
        query = query.where(d.stage == stage)
    if work_id is not None:
        query = query.where(d.work_id == work_id)
    if reviewer is not None:
        query = query.where(d.reviewer == reviewer)
    with store.engine.connect() as conn:
        return [_decision(row) for row in conn.execute(query)]


# -- resolutions -----------------------------------------------------------------------------


def add_resolution(
    store: Store,
    *,
    uid: str,
    stage: str,
    work_id: int,
    lead: str,
    decision: str,
    reason: str | None = None,
    note: str | None = None,
) -> ResolutionRow:
    """Append one lead's resolution in its own transaction (idempotent by ``uid``)."""
    if decision not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {decision!r}")
    values = {
        "uid": uid,
        "stage": stage,
        "work_id": work_id,
        "lead": lead,
        "decision": decision,
        "reason": reason,
        "note": note,
        "decided_at": _now(),
    }
    with store.engine.begin() as conn:
        _insert_ignoring_uid(conn, screen_resolutions, {**values, "written_by": writer(conn)})
        row = conn.execute(sa.select(screen_resolutions).where(screen_resolutions.c.uid == uid)).one()
    return _resolution(row)


def current_resolutions(store: Store, stage: str) -> dict[int, ResolutionRow]:
    """The standing resolution per work at ``stage`` (withdrawn ones left out)."""
    r = screen_resolutions.c
    latest = sa.select(sa.func.max(r.id).label("id")).where(r.stage == stage).group_by(r.work_id).subquery()
    out: dict[int, ResolutionRow] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(screen_resolutions).join(latest, latest.c.id == r.id)):
            resolution = _resolution(row)
            if resolution.decision != "undone":
                out[resolution.work_id] = resolution
    return out


def resolution_history(
    store: Store, stage: str | None = None, *, work_id: int | None = None
) -> list[ResolutionRow]:
    r = screen_resolutions.c
    query = sa.select(screen_resolutions).order_by(r.id)
    if stage is not None:
        query = query.where(r.stage == stage)
    if work_id is not None:
        query = query.where(r.work_id == work_id)
    with store.engine.connect() as conn:
        return [_resolution(row) for row in conn.execute(query)]


# -- outcomes --------------------------------------------------------------------------------


def count_by(store: Store, *, via: str | None = None, note: str | None = None) -> tuple[int, int]:
    """``(matching, all)`` of the stored decisions (``via``) or resolutions (``note``),
    withdrawals ("undone") left out: how many were made through ``via`` / carry ``note``."""
    table, column, value = (
        (screen_decisions, screen_decisions.c.via, via)
        if via is not None
        else (screen_resolutions, screen_resolutions.c.note, note)
    )
    # rows a change of works wrote (copies carried to the joined work, a join's "conflict")
    # are not decisions of their own
    copies = sa.or_(*(table.c.uid.startswith(prefix) for prefix in ("carry:", "join:", "split:")))
    query = sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((column == value, 1), else_=0)), 0)
    ).where(table.c.decision.not_in(("undone", "conflict")), sa.not_(copies))
    with _reader(store).connect() as conn:
        total, matching = conn.execute(query).one()
    return int(matching), int(total)


# -- the stopping rule -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StopEvent:
    id: int
    stage: str
    event: str
    by: str
    at: str
    details: dict[str, Any]


def add_stop_event(
    store: Store,
    *,
    stage: str,
    event: str,
    by: str,
    details: Mapping[str, Any],
    sample: Sequence[int] = (),
    works: Sequence[int] = (),
) -> StopEvent:
    """Append one event of the stopping rule in one transaction: for "sample", the random
    order of the works to sample (``sample``); for a "stop" with no sample in force (the
    default rule), the works it excludes (``works``), kept in the same table."""
    if event not in STOP_EVENTS:
        raise ValueError(f"unknown stopping event {event!r}")
    if sample and event != "sample":
        raise ValueError("only a 'sample' event has a sample")
    if works and event != "stop":
        raise ValueError("only a 'stop' event excludes works")
    sample = list(sample) or list(works)
    at = _now()
    values = {"stage": stage, "event": event, "by": by, "at": at, "details": _dumps(dict(details))}
    with store.engine.begin() as conn:
        key = conn.execute(screen_stop_events.insert().values(**values)).inserted_primary_key
        assert key is not None
        event_id = int(key[0])
        rows = [{"event_id": event_id, "position": i, "work_id": int(w)} for i, w in enumerate(sample)]
        for start in range(0, len(rows), 5000):
            conn.execute(screen_stop_sample.insert(), rows[start : start + 5000])
    return StopEvent(event_id, stage, event, by, at, dict(details))


def stop_events(store: Store, stage: str = "title-abstract") -> list[StopEvent]:
    """The stopping rule's events at ``stage``, oldest first (none in a store without the tables)."""
    e = screen_stop_events.c
    with _reader(store).connect() as conn:
        rows = conn.execute(sa.select(screen_stop_events).where(e.stage == stage).order_by(e.id))
        return [
            StopEvent(row.id, row.stage, row.event, row.by, row.at, json.loads(row.details)) for row in rows
        ]


def stop_sample(store: Store, event_id: int) -> list[int]:
    """The works of a "sample" event, in their random order."""
    s = screen_stop_sample.c
    with _reader(store).connect() as conn:
        return [
            int(w)
            for (w,) in conn.execute(sa.select(s.work_id).where(s.event_id == event_id).order_by(s.position))
        ]


def _chunks(ids: Sequence[int] | None, size: int = 500) -> Iterator[list[int] | None]:
    if ids is None:
        yield None
        return
    values = list(ids)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- labels ----------------------------------------------------------------------------------


def add_labels(
    store: Store, reviewer: str, work_id: int, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> None:
    """Append label changes of ``reviewer`` on ``work_id`` in one transaction (nothing is
    updated or deleted: removing a label is a row too)."""
    at = _now()
    with store.engine.begin() as conn:
        record = conn.execute(
            sa.select(sa.func.min(record_work.c.record_id)).where(record_work.c.work_id == work_id)
        ).scalar()
        if record is None:
            raise LookupError(f"no work {work_id}")
        rows = [
            {
                "record_id": record,
                "work_id": work_id,
                "reviewer": reviewer,
                "label": label,
                "action": action,
                "at": at,
            }
            for action, labels in (("add", add), ("remove", remove))
            for label in labels
        ]
        if rows:
            conn.execute(screen_labels.insert(), rows)


def current_labels(
    store: Store, *, reviewer: str | None = None, work_id: int | None = None
) -> dict[tuple[int, str], list[str]]:
    """The labels in force per ``(work, reviewer)`` (one reviewer's, or everyone's; of one
    work, or of all), sorted.

    A label set on any record of a work is on the work: after a join both works' labels are
    on the joined work, after a split each part keeps the labels set on its records; where two
    rows disagree on a label the latest counts.
    """
    lab = screen_labels.c
    query = (
        sa.select(record_work.c.work_id, lab.reviewer, lab.label, lab.action)
        .join(record_work, record_work.c.record_id == lab.record_id)
        .order_by(lab.id)
    )
    if reviewer is not None:
        query = query.where(lab.reviewer == reviewer)
    if work_id is not None:
        query = query.where(record_work.c.work_id == work_id)
    state: dict[tuple[int, str], dict[str, bool]] = {}
    with store.engine.connect() as conn:
        for work, who, label, action in conn.execute(query):
            state.setdefault((int(work), str(who)), {})[str(label)] = action == "add"
    return {
        key: sorted(label for label, on in labels.items() if on)
        for key, labels in state.items()
        if any(labels.values())
    }
