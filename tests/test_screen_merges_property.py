"""Property: after any sequence of decisions, resolutions, joins, undos and splits, no decision is
lost and every count agrees with a recomputation from the decision history.

A small real review (the ASySD cardiac slice in tests/data: 191 records, 135 works; two
reviewers screen every work, a lead resolves) gets random sequences of

- decisions (include, exclude, maybe, or a withdrawal) by either reviewer on the work of one of
  a few records, and the lead's resolutions;
- joins of two of those records' works (``dedupe review``'s "same"), the undo of the join just
  made (``u`` in ``dedupe review``), and splits (``dedupe undo``).

After every step two things are checked:

1. **The model.** The test keeps its own account: every decision and resolution with the
   records its work had when it was made. The rule of the feature, stated once: a reviewer's
   current decision on a work is their latest decision (or withdrawal) made on a work that
   shared a record with it; the same for the lead; when works with different final outcomes
   (or one waiting for the lead) join, the joined work is a conflict for the lead until they
   resolve it or the works part again. The store's current decisions and final outcomes of the
   works must be the model's.
2. **The counts.** From the raw tables alone (the latest row per work and reviewer, the
   assignments, the links), the outcomes are recomputed and compared with
   :func:`~scoping.screen.final_outcomes`, every number of ``scoping status`` (the lead's
   view, each reviewer's own view) and the PRISMA counts.

Runs derandomized with a bounded number of examples so that CI is deterministic and quick.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from scoping.report.api import prisma_counts
from scoping.review import Review
from scoping.screen import (
    TITLE_ABSTRACT,
    Protocol,
    assign_works,
    final_outcomes,
    load_protocol,
    record_decision,
    resolve,
    status,
    withdraw_decision,
)
from scoping.store import Store
from scoping.store import dedupe_tables as dt
from scoping.store import screen_tables as sct
from test_screen_support import LEAD, cached_review, relinked

TA = TITLE_ABSTRACT
REVIEWERS = ("alice", "bob")
N_RECORDS = 6

_template: dict[str, Path] = {}


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="scoping-merges-"))
    review = cached_review(root / "rv")
    protocol = load_protocol(review.protocol_path)
    with review.open_store() as store:
        assign_works(store, protocol, LEAD, [TA])
    yield review.root
    shutil.rmtree(root, ignore_errors=True)


def _tracked(store: Store) -> list[int]:
    """A few records: those of the lowest works with two records, then single records."""
    works: dict[int, list[int]] = {}
    for rid, work in dt.load_assignment(store).items():
        works.setdefault(work, []).append(rid)
    pairs = sorted(w for w, m in works.items() if len(m) == 2)[:1]
    singles = sorted(w for w, m in works.items() if len(m) == 1)
    chosen = [r for w in pairs for r in sorted(works[w])]
    chosen += singles[: N_RECORDS - len(chosen)]
    return chosen


# -- the model -------------------------------------------------------------------------------


@dataclass
class Event:
    seq: int
    kind: str  # "d" decision, "r" resolution, "c" the conflict of a join
    who: str
    value: str
    scope: frozenset[int]


@dataclass
class Model:
    work_of: dict[int, int]
    events: list[Event] = field(default_factory=list)

    def members(self, work: int) -> frozenset[int]:
        return frozenset(r for r, w in self.work_of.items() if w == work)

    def works(self) -> list[int]:
        return sorted(set(self.work_of.values()))

    def add(self, kind: str, who: str, value: str, work: int) -> None:
        self.events.append(Event(len(self.events), kind, who, value, self.members(work)))

    def decision(self, work: int, who: str) -> str | None:
        part = self.members(work)
        latest = None
        for e in self.events:
            if e.kind == "d" and e.who == who and e.scope & part:
                latest = e
        return None if latest is None or latest.value == "undone" else latest.value

    def resolution(self, work: int) -> str | None:
        part = self.members(work)
        latest = None
        for e in self.events:
            if (e.kind == "r" and e.scope & part) or (e.kind == "c" and e.scope <= part):
                latest = e
        return None if latest is None else ("conflict" if latest.kind == "c" else latest.value)

    def outcome(self, work: int) -> str | None:
        settled = self.resolution(work)
        if settled is not None:
            return settled
        given = {who: d for who in REVIEWERS if (d := self.decision(work, who)) is not None}
        if not given:
            return None
        if len(given) < len(REVIEWERS):
            return "pending"
        values = set(given.values())
        if "maybe" in values or len(values) > 1:
            return "conflict"
        return values.pop()

    def join(self, keep: int, gone: int) -> None:
        outcomes = [o for o in (self.outcome(keep), self.outcome(gone)) if o not in (None, "pending")]
        for rid, work in self.work_of.items():
            if work == gone:
                self.work_of[rid] = keep
        if len(outcomes) == 2 and ("conflict" in outcomes or outcomes[0] != outcomes[1]):
            self.add("c", "", "conflict", keep)

    def split(self, parts: dict[int, int]) -> None:
        self.work_of.update(parts)


# -- recomputation from the raw tables ---------------------------------------------------------


def _recompute(store: Store) -> tuple[dict[int, str], dict[str, set[int]], dict[str, Counter[str]], set[int]]:
    """(work -> outcome, reviewer -> assigned existing works, reviewer -> current decisions on
    them by value, existing works), from the rows of the tables alone."""
    with store.engine.connect() as conn:
        existing = {int(w) for (w,) in conn.execute(sa.select(dt.record_work.c.work_id).distinct())}
        assigned: dict[int, set[str]] = {}
        for w, r in conn.execute(
            sa.select(sct.screen_assignments.c.work_id, sct.screen_assignments.c.reviewer).where(
                sct.screen_assignments.c.stage == TA
            )
        ):
            assigned.setdefault(int(w), set()).add(str(r))
        latest: dict[tuple[int, str], str] = {}
        d = sct.screen_decisions.c
        for w, r, value in conn.execute(
            sa.select(d.work_id, d.reviewer, d.decision).where(d.stage == TA).order_by(d.id)
        ):
            latest[(int(w), str(r))] = str(value)
        resolved: dict[int, str] = {}
        q = sct.screen_resolutions.c
        for w, value in conn.execute(sa.select(q.work_id, q.decision).where(q.stage == TA).order_by(q.id)):
            resolved[int(w)] = str(value)
    outcomes: dict[int, str] = {}
    for work in existing:
        if resolved.get(work, "undone") != "undone":
            outcomes[work] = resolved[work]
            continue
        given = {r: v for (w, r), v in latest.items() if w == work and v != "undone"}
        if not given:
            continue
        if any(r not in given for r in assigned.get(work, ())):
            outcomes[work] = "pending"
        elif "maybe" in given.values() or len(set(given.values())) > 1:
            outcomes[work] = "conflict"
        else:
            outcomes[work] = next(iter(given.values()))
    mine: dict[str, set[int]] = {}
    for work, names in assigned.items():
        if work in existing:
            for name in names:
                mine.setdefault(name, set()).add(work)
    values: dict[str, Counter[str]] = {}
    for (work, name), value in latest.items():
        if value != "undone" and work in mine.get(name, set()):
            values.setdefault(name, Counter())[value] += 1
    return outcomes, mine, values, existing


def _check_counts(review: Review, store: Store, protocol: Protocol) -> None:
    outcomes, mine, values, existing = _recompute(store)
    library = {w: o.outcome for w, o in final_outcomes(store, TA).items()}
    assert library == outcomes
    tally = Counter(outcomes.values())
    (lead,) = status(store, protocol, LEAD, [TA])
    assert lead.outcomes is not None
    allocated = set().union(*mine.values())
    assert lead.allocated == len(allocated)
    assert lead.works == len(existing)
    assert lead.outcomes == {
        "include": tally["include"],
        "exclude": tally["exclude"],
        "conflict": tally["conflict"],
        "pending": tally["pending"],
        "not started": len(allocated) - sum(tally.values()),
    }
    for row in lead.reviewers:
        assert row.assigned == len(mine.get(row.reviewer, set()))
        assert row.done == sum(values.get(row.reviewer, Counter()).values())
        assert row.decisions == {
            k: values.get(row.reviewer, Counter())[k] for k in ("include", "exclude", "maybe")
        }
        (own,) = status(store, protocol, row.reviewer, [TA])
        assert own.reviewers == (row,)
    counts = prisma_counts(review)
    screening = counts.screening
    if outcomes:
        assert screening.records_screened.n == tally["include"] + tally["exclude"]
        assert screening.records_excluded.n == tally["exclude"]
        assert screening.reports_sought.n == tally["include"]
    else:
        assert screening.records_screened.n is None
    assert counts.identification.duplicates_removed.n == store.count_records() - len(existing)


# -- the steps -------------------------------------------------------------------------------

_decide = st.tuples(
    st.just("decide"),
    st.sampled_from(REVIEWERS),
    st.integers(0, N_RECORDS - 1),
    st.sampled_from(["include", "exclude", "include", "exclude", "maybe", "undone"]),
)
_join = st.tuples(st.just("join"), st.integers(0, N_RECORDS - 1), st.integers(0, N_RECORDS - 1))
steps = st.lists(
    st.one_of(
        _decide,
        _decide,
        _decide,
        _join,
        _join,
        st.tuples(st.just("resolve"), st.integers(0, N_RECORDS - 1), st.sampled_from(["include", "exclude"])),
        st.tuples(st.just("undo-join")),
        st.tuples(st.just("split"), st.integers(0, N_RECORDS - 1)),
    ),
    min_size=6,
    max_size=30,
)


_first = st.sampled_from([None, "include", "exclude", "include", "exclude", "maybe"])
starts = st.lists(st.tuples(_first, _first), min_size=N_RECORDS, max_size=N_RECORDS)
"""Both reviewers' first decisions on the work of each record (None: not yet)."""


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=starts, steps=steps)
# works with different outcomes join, the lead settles the conflict, the work splits again
@example(
    start=[(None, None)] * N_RECORDS,
    steps=[
        ("decide", "alice", 2, "include"),
        ("decide", "bob", 2, "include"),
        ("decide", "alice", 3, "exclude"),
        ("decide", "bob", 3, "exclude"),
        ("join", 3, 2),
        ("decide", "alice", 2, "maybe"),
        ("resolve", 3, "include"),
        ("join", 4, 3),
        ("split", 2),
        ("decide", "bob", 4, "undone"),
        ("join", 2, 4),
    ],
)
# a join undone at once gives each work back its own; a linked work split after screening
@example(
    start=[(None, None)] * N_RECORDS,
    steps=[
        ("decide", "alice", 0, "include"),
        ("resolve", 2, "exclude"),
        ("decide", "bob", 2, "include"),
        ("join", 0, 2),
        ("undo-join",),
        ("join", 1, 3),
        ("decide", "alice", 1, "exclude"),
        ("split", 0),
        ("decide", "alice", 0, "undone"),
    ],
)
def test_no_decision_is_lost_and_every_count_agrees(
    template: Path,
    start: list[tuple[str | None, str | None]],
    steps: list[tuple],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="scoping-merges-run-"))
    try:
        shutil.copytree(template, root / "rv")
        review = Review(root=(root / "rv").resolve())
        protocol = load_protocol(review.protocol_path)
        with review.open_store() as store:
            records = _tracked(store)
            links = dt.load_assignment(store)
            model = Model({r: w for r, w in links.items() if w in {links[t] for t in records}})
            for i, values in enumerate(start):
                for who, value in zip(REVIEWERS, values, strict=True):
                    work = model.work_of[records[i]]
                    if value is not None and model.decision(work, who) is None:
                        record_decision(store, protocol, who, TA, work, value)
                        model.add("d", who, value, work)
            last_join = None
            for step in steps:
                kind = step[0]
                if kind == "decide":
                    _, who, i, value = step
                    work = model.work_of[records[i]]
                    if value == "undone":
                        if withdraw_decision(store, protocol, who, TA, work) is None:
                            continue
                    else:
                        record_decision(store, protocol, who, TA, work, value)
                    model.add("d", who, value, work)
                elif kind == "resolve":
                    _, i, value = step
                    work = model.work_of[records[i]]
                    resolve(store, protocol, LEAD, TA, work, value)
                    model.add("r", LEAD, value, work)
                elif kind == "join":
                    _, i, j = step
                    wa, wb = model.work_of[records[i]], model.work_of[records[j]]
                    if wa == wb:
                        continue
                    last_join = relinked.decide_pair(store, records[i], records[j], "same", reviewer=LEAD)
                    model.join(min(wa, wb), max(wa, wb))
                    event(
                        "join"
                        + (" of different outcomes" if model.events and model.events[-1].kind == "c" else "")
                    )
                    _check_model(store, model)
                    continue  # an undo may follow at once
                elif kind == "undo-join":
                    if last_join is None:
                        continue
                    relinked.undo_decision(store, last_join, reviewer=LEAD)
                    model.split(dict(last_join.before))
                elif kind == "split":
                    _, i = step
                    work = model.work_of[records[i]]
                    members = model.members(work)
                    if len(members) < 2:
                        continue
                    relinked.undo_work(store, work, by=LEAD)
                    model.split({r: r for r in members})
                event(kind)
                last_join = None
                _check_model(store, model)
            _check_model(store, model)
            _check_counts(review, store, protocol)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check_model(store: Store, model: Model) -> None:
    assert dt.load_assignment(store).items() >= model.work_of.items()
    current = sct.current_decisions(store, TA)
    library = final_outcomes(store, TA)
    for work in model.works():
        for who in REVIEWERS:
            found = current.get((work, who))
            assert (found.decision if found else None) == model.decision(work, who), (work, who)
        found_outcome = library.get(work)
        assert (found_outcome.outcome if found_outcome else None) == model.outcome(work), work
