"""What a change of works does to screening: decisions follow the records when works join or split.

De-duplication links records to works (:mod:`scoping.dedupe`); screening rows are keyed by
work id. When the links change after screening began, the dedupe tables note the change in the
store's transaction (:meth:`Store.relinked <scoping.store.Store.relinked>`), and
:func:`carry_forward` appends rows in that same transaction (it never updates or deletes one),
so that no decision is lost; the store refuses to commit a change nobody carried. The rule, for
every work after the change:

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
gives another decision than the work's current one, a copy of that decision is appended, or a
withdrawal when it gives none (:mod:`scoping.store.screen_carry` says how they are marked).
Assignments: a work that has none at a stage after the change gets those of the works its
records came from; a reviewer whose decision it receives is assigned to it.

Who runs it: the application layer (:mod:`scoping.app`), in one
:meth:`Store.together <scoping.store.Store.together>` block with the dedupe call that
re-links (:func:`relinking`). :func:`screening_of`, :func:`join_impact`, :func:`split_impact`
and :func:`run_joins` are the read-only views the dedupe commands show before a change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scoping.screen.outcomes import derive_outcome
from scoping.store import Store, WorkChange
from scoping.store import dedupe_tables as links
from scoping.store import screen_carry as rows_of
from scoping.store.screen_carry import JOIN_CONFLICT, SPLIT, HistoryRow

if TYPE_CHECKING:
    from scoping.dedupe.engine import DedupeResult

__all__ = [
    "Impact",
    "StageView",
    "carry_forward",
    "join_impact",
    "relinking",
    "run_joins",
    "screening_of",
    "split_impact",
]

_STAGE_ORDER = {"title-abstract": 0, "full-text": 1}

Outcome = tuple[str, str | None]


@contextmanager
def relinking(store: Store) -> Iterator[None]:
    """A block in which dedupe calls re-link works (``dedupe.api.run_dedupe``, ``decide_pair``,
    ``undo_decision``, ``undo_work``): at its end screening is carried to the new works, and
    the re-linking and the carry are stored together, or (when either fails) neither."""
    with store.together():
        yield
        carry_forward(store)


def carry_forward(store: Store) -> None:
    """Bring screening in line with every re-linking of works noted in the store's open
    :meth:`~scoping.store.Store.together` block (see the module docstring)."""
    for change in store.take_relinks():
        _follow(store, change)


# -- the rule --------------------------------------------------------------------------------


def _latest(rows: Iterable[HistoryRow], work: int, stage: str) -> dict[str, HistoryRow]:
    """Per reviewer (or lead), the latest row on ``work`` at ``stage``."""
    out: dict[str, HistoryRow] = {}
    for row in rows:
        if row.work_id == work and row.stage == stage:
            out[row.who] = row
    return out


def _latest_resolution(rows: Iterable[HistoryRow], work: int, stage: str) -> HistoryRow | None:
    found = None
    for row in rows:
        if row.work_id == work and row.stage == stage:
            found = row
    return found


def _outcome(
    stage: str, assigned: Iterable[str], decisions: Mapping[str, HistoryRow], resolution: HistoryRow | None
) -> Outcome | None:
    current = {
        who: (row.decision, row.values["reason"])
        for who, row in decisions.items()
        if row.decision != "undone"
    }
    standing = None
    if resolution is not None and resolution.decision != "undone":
        standing = (resolution.decision, resolution.values["reason"])
    return derive_outcome(stage, list(assigned), current, standing)


def _differ(stage: str, outcomes: list[Outcome]) -> bool:
    final = [o for o in outcomes if o[0] != "pending"]
    if len(final) < 2:
        return False
    if any(o[0] == "conflict" for o in final):
        return True
    if stage == "full-text":
        return len(set(final)) > 1
    return len({o[0] for o in final}) > 1


def _describe(outcome: Outcome | None) -> str:
    if outcome is None:
        return "not screened"
    value, reason = outcome
    return f"{value} ({reason})" if reason else value


def _own(row: HistoryRow | None) -> int | None:
    """The origin of a current row, or None for none (or a withdrawal written by a split)."""
    return row.origin if row is not None and not row.uid.startswith(SPLIT) else None


@dataclass
class _Change:
    """What :func:`_follow` reads once for a change of works."""

    change: WorkChange
    rows: dict[str, list[HistoryRow]]
    """"d" decisions and "r" resolutions on every work and record the change touches."""
    origins: dict[str, dict[int, HistoryRow]]
    """The rows those are copies of (or are), by id."""
    scopes: dict[str, dict[int, frozenset[int]]]
    """The records each origin row was made on."""
    assigned: dict[tuple[str, int], dict[str, int]]
    stages: list[str]
    before_outcomes: dict[tuple[str, int], Outcome | None] = field(default_factory=dict)


def _read(store: Store, change: WorkChange) -> _Change:
    before, after = change.before, change.after
    records = {int(r) for recs in (*before.values(), *after.values()) for r in recs}
    places = records | set(before) | set(after)
    read = _Change(change, {}, {}, {}, rows_of.assignments_of(store, places), [])
    for kind in ("d", "r"):
        read.rows[kind] = rows_of.history(store, kind, places)
        known = {r.id: r for r in read.rows[kind]}
        wanted = {r.origin for r in read.rows[kind] if not r.uid.startswith(SPLIT)}
        known.update(rows_of.history_by_id(store, kind, [o for o in wanted if o not in known]))
        read.origins[kind] = {o: known[o] for o in wanted if o in known}
        read.scopes[kind] = rows_of.scopes_of(store, kind, list(read.origins[kind]), before, known)
    read.stages = sorted(
        {r.stage for kind in read.rows for r in read.rows[kind]} | {stage for stage, _ in read.assigned},
        key=lambda s: (_STAGE_ORDER.get(s, 9), s),
    )
    # the outcome of each changing work before the change (for the join's conflict)
    for stage in read.stages:
        for work in before:
            read.before_outcomes[(stage, work)] = _outcome(
                stage,
                read.assigned.get((stage, work), {}),
                _latest(read.rows["d"], work, stage),
                _latest_resolution(read.rows["r"], work, stage),
            )
    return read


def _follow(store: Store, change: WorkChange) -> None:
    """Carry screening across one change of works."""
    if not change.before:
        return
    read = _read(store, change)
    for work, members in sorted(change.after.items()):
        part = frozenset(int(r) for r in members)
        sources = [w for w, recs in change.before.items() if part & set(recs)]
        for stage in read.stages:
            receives = _carry_decisions(store, read, work, part, stage)
            _carry_assignments(store, read, work, stage, sources, receives)
            _carry_resolution(store, read, work, part, stage)
            _join_conflict(store, read, work, stage, sources)


def _carry_decisions(store: Store, read: _Change, work: int, part: frozenset[int], stage: str) -> set[str]:
    """Per reviewer, the latest decision made on records of ``work`` becomes its current one;
    returns the reviewers who received a decision."""
    latest: dict[str, HistoryRow] = {}
    for origin in sorted(read.origins["d"]):
        row = read.origins["d"][origin]
        if row.stage == stage and read.scopes["d"][origin] & part:
            latest[row.who] = row
    current = _latest(read.rows["d"], work, stage)
    receives: set[str] = set()
    for who in sorted(set(latest) | set(current)):
        want, have = latest.get(who), current.get(who)
        if want is not None and want.origin == _own(have):
            continue
        if want is not None and want.decision != "undone":
            rows_of.append_copy(store, "d", want, work)
            receives.add(who)
        elif have is not None and have.decision != "undone":
            if want is not None:  # a withdrawal made on these records: copied
                rows_of.append_copy(store, "d", want, work)
            else:
                came = read.origins["d"].get(have.origin)
                where = f" (it was made on work {came.work_id})" if came is not None else ""
                note = f"work {work} changed{where}"
                rows_of.append_withdrawal(store, "d", have, work, note, read.change.at)
    return receives


def _carry_assignments(
    store: Store, read: _Change, work: int, stage: str, sources: list[int], receives: Collection[str]
) -> None:
    """A work with no assignment at ``stage`` gets those of the works its records came from;
    a reviewer whose decision it received is assigned to it."""
    have_assigned = read.assigned.setdefault((stage, work), {})
    pool: dict[str, int] = {}
    for source in sources:
        for name, run in read.assigned.get((stage, source), {}).items():
            pool.setdefault(name, run)
    add = dict(pool) if not have_assigned else {}
    for who in receives:
        if who not in have_assigned and who not in add:
            batch = (
                pool.get(who) or next(iter(pool.values()), None) or next(iter(have_assigned.values()), None)
            )
            if batch is not None:
                add[who] = batch
    add = {k: v for k, v in add.items() if k not in have_assigned}
    if add:
        rows_of.add_assignments(store, stage, work, add)
        have_assigned.update(add)


def _carry_resolution(store: Store, read: _Change, work: int, part: frozenset[int], stage: str) -> None:
    """The latest resolution made on records of ``work`` becomes its current one; a join's
    conflict only while the works it joined are still one."""
    want: HistoryRow | None = None
    for origin in sorted(read.origins["r"]):
        row = read.origins["r"][origin]
        scope = read.scopes["r"][origin]
        if row.stage != stage or not scope & part:
            continue
        if row.decision == JOIN_CONFLICT and not scope <= part:
            continue
        want = row
    have = _latest_resolution(read.rows["r"], work, stage)
    settled = have is not None and have.decision != "undone"
    if want is not None and want.decision == "undone" and not settled:
        return
    if want is not None and want.origin != _own(have):
        rows_of.append_copy(store, "r", want, work)
    elif want is None and have is not None and settled:
        rows_of.append_withdrawal(store, "r", have, work, f"work {work} changed", read.change.at)


def _join_conflict(store: Store, read: _Change, work: int, stage: str, sources: list[int]) -> None:
    """Works with different outcomes joined: the lead decides again."""
    outcomes = read.before_outcomes
    joined = [o for w in sources if (o := outcomes.get((stage, w))) is not None]
    if len(sources) > 1 and _differ(stage, joined):
        told = "; ".join(f"work {w}: {_describe(outcomes.get((stage, w)))}" for w in sorted(sources))
        rows_of.append_join_conflict(
            store,
            stage,
            work,
            lead=read.change.by,
            note=f"works joined with different outcomes ({told}): decide again",
            now=read.change.at,
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


def screening_of(store: Store, works: Iterable[int]) -> dict[int, list[StageView]]:
    """work id -> where it stands at each stage it has screening rows (works without any are
    left out). Read-only; shows everyone's decisions: callers blind it for reviewers."""
    ids = sorted(set(works))
    if not ids:
        return {}
    decisions = rows_of.history(store, "d", ids)
    resolutions = rows_of.history(store, "r", ids)
    assigned = rows_of.assignments_of(store, ids)
    out: dict[int, list[StageView]] = {}
    for work in ids:
        stages = sorted(
            {r.stage for r in decisions if r.work_id == work}
            | {r.stage for r in resolutions if r.work_id == work},
            key=lambda s: (s != "title-abstract", s),
        )
        for stage in stages:
            view = _stage_view(stage, assigned.get((stage, work), {}), decisions, resolutions, work)
            if view is not None:
                out.setdefault(work, []).append(view)
    return out


def _stage_view(
    stage: str,
    assigned: Mapping[str, int],
    decisions: list[HistoryRow],
    resolutions: list[HistoryRow],
    work: int,
) -> StageView | None:
    current = _latest(decisions, work, stage)
    resolution = _latest_resolution(resolutions, work, stage)
    derived = _outcome(stage, assigned, current, resolution)
    shown = {
        who: (f"{row.decision} ({row.values['reason']})" if row.values["reason"] else row.decision)
        for who, row in sorted(current.items())
        if row.decision != "undone"
    }
    standing = resolution is not None and resolution.decision not in ("undone", JOIN_CONFLICT)
    if derived is None and not shown:
        return None
    return StageView(
        stage,
        derived[0] if derived else None,
        derived[1] if derived else None,
        shown,
        resolution.who if standing and resolution is not None else None,
    )


@dataclass(frozen=True, slots=True)
class Impact:
    """Where the works of a join or split stand in screening, as the person asking may see it.

    ``works`` maps each work to its stages (:class:`StageView`); for a reviewer who is not a
    lead (``blinded``), a stage shows no outcome and only their own decision.
    """

    works: dict[int, list[StageView]]
    blinded: bool
    differ: list[str] = field(default_factory=list)
    """Stages at which the joined works have different outcomes (the lead will see a conflict);
    empty when blinded."""

    started: bool = False
    """Whether screening has begun in the store (what a blinded view goes by: whether a work
    has others' decisions is not shown)."""

    @property
    def screened(self) -> bool:
        return self.started if self.blinded else bool(self.works)


def _blind(views: dict[int, list[StageView]], viewer: str) -> dict[int, list[StageView]]:
    """Only the viewer's own decisions, and only the stages where they have one."""
    out: dict[int, list[StageView]] = {}
    for work, stages in views.items():
        mine = [
            StageView(v.stage, None, None, {viewer: v.decisions[viewer]})
            for v in stages
            if viewer in v.decisions
        ]
        if mine:
            out[work] = mine
    return out


def _impact(store: Store, works: list[int], viewer: str, sees_all: bool) -> Impact:
    views = screening_of(store, works)
    if not sees_all:
        return Impact(_blind(views, viewer), True, started=rows_of.screening_started(store))
    differ: list[str] = []
    if len(works) > 1:
        stages = {v.stage for vs in views.values() for v in vs}
        for stage in sorted(stages, key=lambda s: (s != "title-abstract", s)):
            final = {
                (v.outcome, v.reason if stage == "full-text" else None)
                for w in works
                for v in views.get(w, [])
                if v.stage == stage and v.outcome not in (None, "pending")
            }
            if len(final) > 1 or any(o == "conflict" for o, _ in final):
                differ.append(stage)
    return Impact(views, False, differ)


def join_impact(store: Store, keep: int, gone: int, *, viewer: str, sees_all: bool) -> Impact:
    """What joining work ``gone`` into work ``keep`` would mean for screening. ``sees_all``:
    the person asking is a lead and may see everyone's decisions."""
    return _impact(store, [keep, gone], viewer, sees_all)


def split_impact(store: Store, work_id: int, *, viewer: str, sees_all: bool) -> Impact:
    """What splitting a work into its records would mean for screening."""
    return _impact(store, [work_id], viewer, sees_all)


def run_joins(store: Store, result: DedupeResult) -> list[tuple[int, list[int]]]:
    """``(work, [works joining it])`` of a run's result for the works that carry screening rows."""
    if not result.changed or not rows_of.screening_started(store):
        return []
    before = links.works_of(store, list(result.changed))
    joins: dict[int, set[int]] = {}
    for rid, new in result.changed.items():
        old = before.get(rid)
        if old is not None and old != new:
            joins.setdefault(new, set()).add(old)
    if not joins:
        return []
    screened = set(screening_of(store, {w for olds in joins.values() for w in olds}))
    return [(new, sorted(olds)) for new, olds in sorted(joins.items()) if olds & screened]
