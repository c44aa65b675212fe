"""The rows the carry-forward of screening reads and writes when works join or split.

The rule (which decisions follow which records, when the lead must decide again) is the
screening stage's: :mod:`scoping.screen.carry`. This module only reads and appends rows of the
screening tables (:mod:`scoping.store.screen_tables`) for it, through
:meth:`Store.transaction <scoping.store.Store.transaction>`: inside the
:meth:`Store.together <scoping.store.Store.together>` block that re-links the records, so the
carry and the re-linking are stored together or not at all. Rows are appended, never updated
or deleted.

``uid`` of the rows the carry appends: ``carry:<id of the original row>:<random>`` for a copy
(same reviewer, value, reason, note, time and ``via``), ``split:<random>`` for a withdrawal,
``join:<random>`` for a join's "conflict" resolution. The records a row was made on (its
*scope*) are in ``screen_scopes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

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
    "SPLIT",
    "HistoryRow",
    "add_assignments",
    "append_copy",
    "append_join_conflict",
    "append_withdrawal",
    "assignments_of",
    "history",
    "history_by_id",
    "is_copy",
    "scopes_of",
    "screening_started",
]

CARRY = "carry:"
"""``uid`` prefix of a carried copy: ``carry:<id of the original row>:<random>``."""
SPLIT = "split:"
"""``uid`` prefix of a withdrawal written when a work split."""
JOIN_CONFLICT = "conflict"
"""``screen_resolutions.decision`` of a row appended when joined works had different outcomes."""
_JOIN_UID = "join:"

_TABLES = {"d": screen_decisions, "r": screen_resolutions}
"""The two histories the carry follows: "d" decisions (by reviewer), "r" resolutions (by lead)."""


def is_copy(uid: str) -> bool:
    """Whether a decision or resolution row was written by a change of works (a carried copy,
    a withdrawal) rather than by a person. A join's "conflict" is the merger's own."""
    return uid.startswith((CARRY, SPLIT))


def _uid(prefix: str, origin: int | None = None) -> str:
    tail = uuid.uuid4().hex[:16]
    return f"{prefix}{origin}:{tail}" if origin is not None else f"{prefix}{tail}"


def _origin(uid: str, row_id: int) -> int:
    if uid.startswith(CARRY):
        return int(uid.split(":", 2)[1])
    return row_id


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A decision ("d") or resolution ("r") row: ``who`` is the reviewer (or the lead),
    ``origin`` the id of the row it copies (its own id when it is no copy), ``values`` every
    column."""

    id: int
    origin: int
    uid: str
    stage: str
    work_id: int
    who: str
    decision: str
    values: dict[str, Any]


def _row(kind: str, m: Any) -> HistoryRow:
    who = "reviewer" if kind == "d" else "lead"
    return HistoryRow(
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


def screening_started(store: Store) -> bool:
    """Whether any work has been allocated for screening."""
    with store.transaction() as conn:
        return conn.execute(sa.select(screen_assignments.c.id).limit(1)).first() is not None


def history(store: Store, kind: str, works: Iterable[int]) -> list[HistoryRow]:
    """Every decision ("d") or resolution ("r") row on ``works``, oldest first."""
    table = _TABLES[kind]
    out: list[HistoryRow] = []
    with store.transaction() as conn:
        for chunk in _chunks(works):
            for row in conn.execute(sa.select(table).where(table.c.work_id.in_(chunk))):
                out.append(_row(kind, row._mapping))
    out.sort(key=lambda r: r.id)
    return out


def history_by_id(store: Store, kind: str, ids: Iterable[int]) -> dict[int, HistoryRow]:
    """The decision ("d") or resolution ("r") rows with these ids, by id."""
    table = _TABLES[kind]
    out: dict[int, HistoryRow] = {}
    with store.transaction() as conn:
        for chunk in _chunks(ids):
            for row in conn.execute(sa.select(table).where(table.c.id.in_(chunk))):
                found = _row(kind, row._mapping)
                out[found.id] = found
    return out


def assignments_of(store: Store, works: Iterable[int]) -> dict[tuple[str, int], dict[str, int]]:
    """(stage, work) -> reviewer -> assignment run id, for ``works``."""
    a = screen_assignments.c
    out: dict[tuple[str, int], dict[str, int]] = {}
    with store.transaction() as conn:
        for chunk in _chunks(works):
            query = sa.select(a.stage, a.work_id, a.reviewer, a.run_id).where(a.work_id.in_(chunk))
            for stage, work, reviewer, run in conn.execute(query.order_by(a.id)):
                out.setdefault((str(stage), int(work)), {})[str(reviewer)] = int(run)
    return out


def scopes_of(
    store: Store,
    kind: str,
    origins: Collection[int],
    before: Mapping[int, Collection[int]],
    rows: Mapping[int, HistoryRow],
) -> dict[int, frozenset[int]]:
    """Origin row id -> the records it was made on. A row on a work in ``before`` (a work whose
    links change now) without a stored scope gets that work's records before the change, stored
    now; a row made before scopes were kept, on another work, gets the record naming its work."""
    s = screen_scopes.c
    found: dict[int, set[int]] = {}
    new: list[dict[str, Any]] = []
    with store.transaction() as conn:
        for chunk in _chunks(origins):
            for row_id, record in conn.execute(
                sa.select(s.row_id, s.record_id).where(s.kind == kind, s.row_id.in_(chunk))
            ):
                found.setdefault(int(row_id), set()).add(int(record))
        for origin in origins:
            if origin in found:
                continue
            row = rows.get(origin)
            if row is None:
                found[origin] = set()
            elif row.work_id in before:
                found[origin] = {int(r) for r in before[row.work_id]}
                new.extend({"kind": kind, "row_id": origin, "record_id": r} for r in sorted(found[origin]))
            else:
                found[origin] = {row.work_id}
        for start in range(0, len(new), 5000):
            conn.execute(screen_scopes.insert(), new[start : start + 5000])
    return {k: frozenset(v) for k, v in found.items()}


def append_copy(store: Store, kind: str, row: HistoryRow, work: int) -> None:
    """Append a copy of ``row`` on ``work`` (its ``uid`` names the original)."""
    values = {k: v for k, v in row.values.items() if k != "id"}
    with store.transaction() as conn:
        values.update(work_id=work, uid=_uid(CARRY, row.origin), written_by=writer(conn))
        conn.execute(_TABLES[kind].insert().values(**values))


def append_withdrawal(store: Store, kind: str, row: HistoryRow, work: int, note: str, now: str) -> None:
    """Append an "undone" row on ``work`` for the person of ``row`` (who has no decision there
    any more), with ``note`` saying why."""
    values = {k: v for k, v in row.values.items() if k != "id"}
    with store.transaction() as conn:
        values.update(
            work_id=work,
            uid=_uid(SPLIT),
            decision="undone",
            reason=None,
            note=note,
            decided_at=now,
            written_by=writer(conn),
        )
        if kind == "d":
            values.update(fulltext=None, via="dedupe")
        conn.execute(_TABLES[kind].insert().values(**values))


def add_assignments(store: Store, stage: str, work: int, reviewers: Mapping[str, int]) -> None:
    """Assign ``work`` at ``stage`` to each reviewer (name -> assignment run id)."""
    with store.transaction() as conn:
        conn.execute(
            screen_assignments.insert(),
            [
                {"stage": stage, "work_id": work, "reviewer": k, "run_id": v}
                for k, v in sorted(reviewers.items())
            ],
        )


def append_join_conflict(store: Store, stage: str, work: int, *, lead: str, note: str, now: str) -> None:
    """Append the "conflict" resolution of a join of works with different outcomes."""
    with store.transaction() as conn:
        conn.execute(
            screen_resolutions.insert().values(
                uid=_uid(_JOIN_UID),
                stage=stage,
                work_id=work,
                lead=lead,
                decision=JOIN_CONFLICT,
                reason=None,
                note=note,
                decided_at=now,
                written_by=writer(conn),
            )
        )
