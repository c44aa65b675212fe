"""What a change of works does to screening: decisions follow the records when works join or split.

De-duplication links records to works (:mod:`scoping.store.dedupe_tables`); screening rows are
keyed by work id (:mod:`scoping.store.screen_tables`). When the links change after screening
began, :func:`on_change` appends rows (it never updates or deletes one) in the transaction of
the link change, so that no decision is lost. The rule, for every work after the change:

    A reviewer's current decision on a work is their latest decision (or withdrawal, "undone")
    made on a work that shared a record with it; the same for a lead's resolution.

So when work 12 joins work 7, each reviewer's latest decision on either counts (both stay in
the history); when a work splits, each part keeps the decisions made on it, and decisions made
on the joined work apply to every part unless the part has a later one of its own; undoing a
join gives each work back what it had. When works with different outcomes join (or either was
waiting for the lead), a resolution "conflict" is appended: the lead sees the joined work
among the conflicts until they resolve it (it no longer applies once the work splits).

How: the records a decision was made on (its *scope*) are written to ``screen_scopes`` when
the links of its work first change (until then they are the work's records). Where the rule
gives another decision than the work's current one, a copy of that decision is appended
(``uid`` ``carry:<id of the original row>:...``; same reviewer, value, reason, note, time and
``via``), or a withdrawal when it gives none (``uid`` ``split:...``). Copies and these
withdrawals are not decisions of their own (:func:`is_copy`). Assignments: a work that has
none at a stage after the change gets those of the works its records came from; a reviewer
whose decision it receives is assigned to it.

:func:`screening_of` is the read-only view the dedupe commands show before a change.

Why this screening rule is in the store: the carry runs inside the transaction that re-links
records to works, and that transaction is the dedupe stage's, which sits below screening in
the stage graph (screening uses dedupe, not the other way). So the rule it needs to compare
outcomes, :func:`derive_outcome`, is defined here once; the screening stage uses this same
function (:mod:`scoping.screen.outcomes` re-exports it) and adds everything else about outcomes.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scoping.store.screen_tables import (
    screen_assignments,
    screen_decisions,
    screen_resolutions,
    screen_scopes,
    writer,
)

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = [
    "CARRY",
    "JOIN_CONFLICT",
    "StageView",
    "derive_outcome",
    "is_copy",
    "on_change",
    "screening_of",
    "screening_started",
]

CARRY = "carry:"
"""``uid`` prefix of a carried copy: ``carry:<id of the original row>:<random>``."""
JOIN_CONFLICT = "conflict"
"""``screen_resolutions.decision`` of a row appended when joined works had different outcomes."""
_JOIN_UID = "join:"
_SPLIT_UID = "split:"
_STAGE_ORDER = {"title-abstract": 0, "full-text": 1}


def derive_outcome(
    stage: str,
    assigned: Collection[str],
    decisions: Mapping[str, tuple[str, str | None]],
    resolution: tuple[str, str | None] | None = None,
) -> tuple[str, str | None] | None:
    """The one rule that turns decisions into a work's outcome at a stage.

    ``assigned`` are the reviewers the work was allocated to; ``decisions`` maps each reviewer
    with a current decision to ``(decision, reason)``; ``resolution`` is the lead's standing
    resolution. Returns ``(outcome, reason)`` or ``None`` when nobody has decided yet:

    - a lead's resolution settles the work, whatever the reviewers said;
    - while an assigned reviewer has not decided: "pending";
    - every reviewer gave the same decision: that decision ("maybe" excepted);
    - otherwise "conflict": include against exclude, any "maybe" (also a single reviewer's),
      "not-retrieved" against a decision, or, at full text, two different exclusion reasons.

    The reason of an agreed exclusion is the reason the reviewers share (``None`` if they gave
    different ones at title-abstract, where reasons are optional).
    """
    if resolution is not None:
        return resolution
    if not decisions:
        return None
    if any(name not in decisions for name in assigned):
        return ("pending", None)
    given = {value for value, _ in decisions.values()}
    if "maybe" in given or len(given) != 1:
        return ("conflict", None)
    (value,) = given
    reasons = {reason for _, reason in decisions.values()}
    if value == "exclude" and stage == "full-text" and len(reasons) != 1:
        return ("conflict", None)
    reason = next(iter(reasons)) if len(reasons) == 1 else None
    return (value, reason if value == "exclude" else None)


def is_copy(uid: str) -> bool:
    """Whether a decision or resolution row was written by a change of works (a carried copy,
    a withdrawal) rather than by a person. A join's "conflict" is the merger's own."""
    return uid.startswith((CARRY, _SPLIT_UID))


def _uid(prefix: str, origin: int | None = None) -> str:
    tail = uuid.uuid4().hex[:16]
    return f"{prefix}{origin}:{tail}" if origin is not None else f"{prefix}{tail}"


def _origin(uid: str, row_id: int) -> int:
    if uid.startswith(CARRY):
        return int(uid.split(":", 2)[1])
    return row_id


def _has_screening(conn: Connection) -> bool:
    return conn.execute(sa.select(screen_assignments.c.id).limit(1)).first() is not None


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    origin: int
    uid: str
    stage: str
    work_id: int
    who: str
    decision: str
    values: dict[str, Any]


def _row(table: sa.Table, m: Any) -> _Row:
    who = "reviewer" if table is screen_decisions else "lead"
    return _Row(
        int(m["id"]),
        _origin(m["uid"], int(m["id"])),
        m["uid"],
        m["stage"],
        int(m["work_id"]),
        str(m[who]),
        m["decision"],
        dict(m),
    )


def _chunks(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    values = sorted(set(ids))
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rows(conn: Connection, table: sa.Table, works: Iterable[int]) -> list[_Row]:
    out: list[_Row] = []
    for chunk in _chunks(works):
        for row in conn.execute(sa.select(table).where(table.c.work_id.in_(chunk))):
            out.append(_row(table, row._mapping))
    out.sort(key=lambda r: r.id)
    return out


def _by_id(conn: Connection, table: sa.Table, ids: Iterable[int]) -> dict[int, _Row]:
    out: dict[int, _Row] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(sa.select(table).where(table.c.id.in_(chunk))):
            found = _row(table, row._mapping)
            out[found.id] = found
    return out


def _latest(rows: Iterable[_Row], work: int, stage: str) -> dict[str, _Row]:
    """Per reviewer (or lead), the latest row on ``work`` at ``stage``."""
    out: dict[str, _Row] = {}
    for row in rows:
        if row.work_id == work and row.stage == stage:
            out[row.who] = row
    return out


def _latest_resolution(rows: Iterable[_Row], work: int, stage: str) -> _Row | None:
    found = None
    for row in rows:
        if row.work_id == work and row.stage == stage:
            found = row
    return found


def _assigned(conn: Connection, works: Iterable[int]) -> dict[tuple[str, int], dict[str, int]]:
    """(stage, work) -> reviewer -> assignment run id."""
    a = screen_assignments.c
    out: dict[tuple[str, int], dict[str, int]] = {}
    for chunk in _chunks(works):
        query = sa.select(a.stage, a.work_id, a.reviewer, a.run_id).where(a.work_id.in_(chunk))
        for stage, work, reviewer, run in conn.execute(query.order_by(a.id)):
            out.setdefault((str(stage), int(work)), {})[str(reviewer)] = int(run)
    return out


def _outcome(
    stage: str, assigned: Iterable[str], decisions: Mapping[str, _Row], resolution: _Row | None
) -> tuple[str, str | None] | None:
    current = {
        who: (row.decision, row.values["reason"])
        for who, row in decisions.items()
        if row.decision != "undone"
    }
    standing = None
    if resolution is not None and resolution.decision != "undone":
        standing = (resolution.decision, resolution.values["reason"])
    return derive_outcome(stage, list(assigned), current, standing)


def _copy(conn: Connection, table: sa.Table, row: _Row, work: int) -> None:
    values = {k: v for k, v in row.values.items() if k != "id"}
    values["work_id"] = work
    values["uid"] = _uid(CARRY, row.origin)
    values["written_by"] = writer(conn)
    conn.execute(table.insert().values(**values))


def _withdraw(conn: Connection, table: sa.Table, row: _Row, work: int, note: str, now: str) -> None:
    values = {k: v for k, v in row.values.items() if k != "id"}
    values.update(
        work_id=work,
        uid=_uid(_SPLIT_UID),
        decision="undone",
        reason=None,
        note=note,
        decided_at=now,
        written_by=writer(conn),
    )
    if table is screen_decisions:
        values.update(fulltext=None, via="dedupe")
    conn.execute(table.insert().values(**values))


def _differ(stage: str, outcomes: list[tuple[str, str | None]]) -> bool:
    final = [o for o in outcomes if o[0] != "pending"]
    if len(final) < 2:
        return False
    if any(o[0] == "conflict" for o in final):
        return True
    if stage == "full-text":
        return len(set(final)) > 1
    return len({o[0] for o in final}) > 1


def _describe(outcome: tuple[str, str | None] | None) -> str:
    if outcome is None:
        return "not screened"
    value, reason = outcome
    return f"{value} ({reason})" if reason else value


def _scopes(
    conn: Connection,
    kind: str,
    origins: Collection[int],
    before: Mapping[int, Collection[int]],
    rows: Mapping[int, _Row],
) -> dict[int, frozenset[int]]:
    """origin row id -> the records it was made on; rows on a changing work without a stored
    scope get the work's records before the change (stored)."""
    s = screen_scopes.c
    found: dict[int, set[int]] = {}
    for chunk in _chunks(origins):
        for row_id, record in conn.execute(
            sa.select(s.row_id, s.record_id).where(s.kind == kind, s.row_id.in_(chunk))
        ):
            found.setdefault(int(row_id), set()).add(int(record))
    new: list[dict[str, Any]] = []
    for origin in origins:
        if origin in found:
            continue
        row = rows.get(origin)
        if row is None:
            found[origin] = set()
        elif row.work_id in before:
            found[origin] = {int(r) for r in before[row.work_id]}
            new.extend({"kind": kind, "row_id": origin, "record_id": r} for r in sorted(found[origin]))
        else:  # made before scopes were kept, on a work not changing now: the record naming it
            found[origin] = {row.work_id}
    for start in range(0, len(new), 5000):
        conn.execute(screen_scopes.insert(), new[start : start + 5000])
    return {k: frozenset(v) for k, v in found.items()}


def on_change(
    conn: Connection,
    before: Mapping[int, Collection[int]],
    after: Mapping[int, Collection[int]],
    *,
    by: str,
    now: str,
) -> None:
    """Bring the screening of the works in ``after`` in line with the rule of this module.

    ``before`` maps each work whose links change to its records before the change, ``after``
    each work holding those records afterwards to its records. Call inside the transaction that
    re-links the records (before or after the re-linking: only screening tables are read).
    """
    if not before or not _has_screening(conn):
        return
    records = {int(r) for recs in (*before.values(), *after.values()) for r in recs}
    places = records | set(before) | set(after)
    tables = {"d": screen_decisions, "r": screen_resolutions}
    rows: dict[str, list[_Row]] = {}
    origins: dict[str, dict[int, _Row]] = {}
    scopes: dict[str, dict[int, frozenset[int]]] = {}
    for kind, table in tables.items():
        rows[kind] = _rows(conn, table, places)
        known = {r.id: r for r in rows[kind]}
        wanted = {r.origin for r in rows[kind] if not r.uid.startswith(_SPLIT_UID)}
        missing = [o for o in wanted if o not in known]
        known.update(_by_id(conn, table, missing))
        origins[kind] = {o: known[o] for o in wanted if o in known}
        scopes[kind] = _scopes(conn, kind, list(origins[kind]), before, known)
    assigned = _assigned(conn, places)
    stages = sorted(
        {r.stage for kind in rows for r in rows[kind]} | {stage for stage, _ in assigned},
        key=lambda s: (_STAGE_ORDER.get(s, 9), s),
    )
    # the outcome of each changing work before the change (for the join's conflict)
    before_outcomes: dict[tuple[str, int], tuple[str, str | None] | None] = {}
    for stage in stages:
        for work in before:
            before_outcomes[(stage, work)] = _outcome(
                stage,
                assigned.get((stage, work), {}),
                _latest(rows["d"], work, stage),
                _latest_resolution(rows["r"], work, stage),
            )
    for work, members in sorted(after.items()):
        part = frozenset(int(r) for r in members)
        sources = [w for w, recs in before.items() if part & set(recs)]
        for stage in stages:
            # decisions: per reviewer, the latest event made on records of this work
            latest: dict[str, _Row] = {}
            for origin in sorted(origins["d"]):
                row = origins["d"][origin]
                if row.stage == stage and scopes["d"][origin] & part:
                    latest[row.who] = row
            current = _latest(rows["d"], work, stage)
            receives: set[str] = set()
            for who in sorted(set(latest) | set(current)):
                want = latest.get(who)
                have = current.get(who)
                have_origin = (
                    have.origin if have is not None and not have.uid.startswith(_SPLIT_UID) else None
                )
                if want is not None and want.origin == have_origin:
                    continue
                if want is None or want.decision == "undone":
                    if have is not None and have.decision != "undone":
                        came = origins["d"].get(have.origin)
                        where = f" (it was made on work {came.work_id})" if came is not None else ""
                        if want is None:
                            _withdraw(conn, screen_decisions, have, work, f"work {work} changed{where}", now)
                        else:
                            _copy(conn, screen_decisions, want, work)
                    continue
                _copy(conn, screen_decisions, want, work)
                receives.add(who)
            # assignments
            have_assigned = assigned.setdefault((stage, work), {})
            pool: dict[str, int] = {}
            for source in sources:
                for name, run in assigned.get((stage, source), {}).items():
                    pool.setdefault(name, run)
            add = dict(pool) if not have_assigned else {}
            for who in receives:
                if who not in have_assigned and who not in add:
                    batch = (
                        pool.get(who)
                        or next(iter(pool.values()), None)
                        or next(iter(have_assigned.values()), None)
                    )
                    if batch is not None:
                        add[who] = batch
            add = {k: v for k, v in add.items() if k not in have_assigned}
            if add:
                conn.execute(
                    screen_assignments.insert(),
                    [
                        {"stage": stage, "work_id": work, "reviewer": k, "run_id": v}
                        for k, v in sorted(add.items())
                    ],
                )
                have_assigned.update(add)
            # resolutions: the latest made on records of this work; a join's conflict only
            # while the works it joined are still one
            want_res: _Row | None = None
            for origin in sorted(origins["r"]):
                row = origins["r"][origin]
                scope = scopes["r"][origin]
                if row.stage != stage or not scope & part:
                    continue
                if row.decision == JOIN_CONFLICT and not scope <= part:
                    continue
                want_res = row
            have_res = _latest_resolution(rows["r"], work, stage)
            have_res_origin = (
                have_res.origin if have_res is not None and not have_res.uid.startswith(_SPLIT_UID) else None
            )
            settled = have_res is not None and have_res.decision != "undone"
            if want_res is not None and want_res.decision == "undone" and not settled:
                pass
            elif want_res is not None and want_res.origin != have_res_origin:
                _copy(conn, screen_resolutions, want_res, work)
            elif want_res is None and have_res is not None and have_res.decision != "undone":
                _withdraw(conn, screen_resolutions, have_res, work, f"work {work} changed", now)
            # works with different outcomes joined: the lead decides again
            joined = [w for w in sources if before_outcomes.get((stage, w)) is not None]
            if len(sources) > 1 and _differ(stage, [o for w in joined if (o := before_outcomes[(stage, w)])]):
                told = "; ".join(
                    f"work {w}: {_describe(before_outcomes[(stage, w)])}" for w in sorted(sources)
                )
                conn.execute(
                    screen_resolutions.insert().values(
                        uid=_uid(_JOIN_UID),
                        stage=stage,
                        work_id=work,
                        lead=by,
                        decision=JOIN_CONFLICT,
                        reason=None,
                        note=f"works joined with different outcomes ({told}): decide again",
                        decided_at=now,
                        written_by=writer(conn),
                    )
                )


# -- what a change would do, for the dedupe commands -------------------------------------------


@dataclass(frozen=True, slots=True)
class StageView:
    """Where one work stands at one stage."""

    stage: str
    outcome: str | None
    """The derived outcome ("include", "exclude", "pending", "conflict"...), ``None``: none yet."""
    reason: str | None
    decisions: dict[str, str] = field(default_factory=dict)
    """reviewer -> current decision (with its reason, "exclude (wrong design)")."""
    resolved_by: str | None = None


def screening_started(store: Store) -> bool:
    """Whether any work has been allocated for screening."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(screen_assignments.c.id).limit(1)).first() is not None


def screening_of(store: Store, works: Iterable[int]) -> dict[int, list[StageView]]:
    """work id -> where it stands at each stage it has screening rows (works without any are
    left out). Read-only; shows everyone's decisions: callers blind it for reviewers."""
    ids = sorted(set(works))
    with store.engine.connect() as conn:
        if not ids:
            return {}
        decisions = _rows(conn, screen_decisions, ids)
        resolutions = _rows(conn, screen_resolutions, ids)
        assigned = _assigned(conn, ids)
    out: dict[int, list[StageView]] = {}
    for work in ids:
        stages = sorted(
            {r.stage for r in decisions if r.work_id == work}
            | {r.stage for r in resolutions if r.work_id == work},
            key=lambda s: (s != "title-abstract", s),
        )
        for stage in stages:
            current = _latest(decisions, work, stage)
            resolution = _latest_resolution(resolutions, work, stage)
            derived = _outcome(stage, assigned.get((stage, work), {}), current, resolution)
            shown = {
                who: (f"{row.decision} ({row.values['reason']})" if row.values["reason"] else row.decision)
                for who, row in sorted(current.items())
                if row.decision != "undone"
            }
            standing = resolution is not None and resolution.decision not in ("undone", JOIN_CONFLICT)
            if derived is None and not shown:
                continue
            out.setdefault(work, []).append(
                StageView(
                    stage,
                    derived[0] if derived else None,
                    derived[1] if derived else None,
                    shown,
                    resolution.who if standing and resolution is not None else None,
                )
            )
    return out
