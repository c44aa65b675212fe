"""What a reviewer sees next, and the screening session both screens (full-screen and plain) drive.

The queue of a reviewer at a stage is the works assigned to them that they have not decided,
in a fixed order: by default a random order seeded with the protocol's seed and the stage,
the same for every reviewer of the team (so two reviewers meet on the same works early), that
survives quitting and coming back. A ``rank`` function can
replace it::

    rank(work_ids: Sequence[int]) -> Sequence[int]   # the same ids, most worth screening first

(a prioritisation model plugs in here; with ``rerank_every=N`` the session asks it again
after every N decisions, so it can learn from them).

:class:`ScreeningSession` holds the queue, shows one work at a time and stores each decision
(committed before the next work is shown). Undo withdraws the session's latest decision by
appending an "undone" row, so the history keeps both.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from scoping.errors import DecidedElsewhereError, UsageError
from scoping.screen.cards import Card, load_card, load_cards
from scoping.screen.decisions import new_uid, record_decision, withdraw_decision
from scoping.screen.outcomes import automation_excluded, final_outcomes
from scoping.screen.protocol import FULL_TEXT, TITLE_ABSTRACT, Protocol
from scoping.screen.rank_order import sample_rank
from scoping.store import Store, team
from scoping.store import screen_tables as tables
from scoping.store.screen_tables import DecisionRow

__all__ = [
    "WORKSHEET_COLUMNS",
    "Progress",
    "Rank",
    "ScreeningSession",
    "label_work",
    "my_decisions",
    "my_labels",
    "order_works",
    "parse_labels",
    "pending_works",
    "seeded_order",
    "worksheet",
]

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$", re.IGNORECASE)

MIN_FOR_RATE = 10
MIN_FOR_ETA = 25

Rank = Callable[[Sequence[int]], Sequence[int]]
"""``rank(work_ids) -> the same ids in the order to screen them``."""


def seeded_order(work_ids: Sequence[int], *, seed: int, stage: str) -> list[int]:
    """``work_ids`` in a random order fixed by the seed and the stage: one order for the team.

    Each work gets its own random key, so any subset keeps its relative order: after quitting,
    the works left come in the order they would have come, and every reviewer's queue is the
    team's order less what they have decided.
    """
    prefix = f"scoping-queue:{seed}:{stage}:".encode()

    def key(work: int) -> bytes:
        return hashlib.blake2b(prefix + str(work).encode(), digest_size=8).digest()

    return sorted(work_ids, key=key)


def order_works(work_ids: Sequence[int], *, seed: int, stage: str, rank: Rank | None = None) -> list[int]:
    """The order to screen ``work_ids`` in: ``rank``'s, or :func:`seeded_order`.

    A ranking must return every id exactly once (a :class:`ValueError` otherwise), so a
    faulty model cannot hide a work from a reviewer.
    """
    base = seeded_order(work_ids, seed=seed, stage=stage)
    if rank is None:
        return base
    ranked = [int(w) for w in rank(base)]
    if len(ranked) != len(base) or set(ranked) != set(base):
        raise ValueError("the ranking must return each of the given work ids exactly once")
    return ranked


def my_decisions(
    store: Store,
    reviewer: str,
    stage: str | None = None,
    *,
    decision: str | None = None,
    with_note: bool = False,
    reason: str | None = None,
    label: str | None = None,
) -> list[DecisionRow]:
    """``reviewer``'s own current decisions (never anyone else's), newest first, filtered by
    stage, decision, having a note, or reason (any case). A changed decision shows as it is
    now; the history keeps every row."""
    stages = [stage] if stage is not None else [TITLE_ABSTRACT, FULL_TEXT]
    rows: list[DecisionRow] = []
    for name in stages:
        rows += tables.current_decisions(store, name, reviewer=reviewer).values()
    if decision is not None:
        rows = [r for r in rows if r.decision == decision]
    if with_note:
        rows = [r for r in rows if r.note]
    if reason is not None:
        rows = [r for r in rows if (r.reason or "").casefold() == reason.casefold()]
    if label is not None:
        labelled = {
            w
            for w, labels in my_labels(store, reviewer).items()
            if label.casefold() in map(str.casefold, labels)
        }
        rows = [r for r in rows if r.work_id in labelled]
    return sorted(rows, key=lambda r: r.id, reverse=True)


def parse_labels(text: str) -> tuple[list[str], list[str]]:
    """``(add, remove)`` from what a reviewer types: ``"rct, follow-up, -animal"`` adds two
    labels and removes one. A label is at most 60 characters, without commas."""
    add: list[str] = []
    remove: list[str] = []
    for part in text.split(","):
        label = " ".join(part.split())
        target = add
        if label.startswith("-"):
            label, target = label[1:].strip(), remove
        if not label:
            continue
        if len(label) > 60:
            raise UsageError(f"the label {label[:20]!r}... is longer than 60 characters; shorten it")
        if label not in target:
            target.append(label)
    return add, remove


def label_work(store: Store, protocol: Protocol, reviewer: str, work_id: int, text: str) -> list[str]:
    """Add and remove ``reviewer``'s labels on ``work_id`` (see :func:`parse_labels`); gives
    back the labels in force. Labels are private to their reviewer (a lead sees everyone's)."""
    person = protocol.reviewer(reviewer)
    add, remove = parse_labels(text)
    try:
        tables.add_labels(store, person.name, work_id, add=add, remove=remove)
    except LookupError:
        raise UsageError(f"there is no work {work_id}; see 'scoping decisions' for yours") from None
    return _labels_of(store, person.name, work_id)


def my_labels(store: Store, reviewer: str) -> dict[int, list[str]]:
    """``reviewer``'s own labels in force, per work."""
    return {work: labels for (work, _), labels in tables.current_labels(store, reviewer=reviewer).items()}


def _labels_of(store: Store, reviewer: str, work_id: int) -> list[str]:
    """``reviewer``'s labels in force on one work (read for that work only: the screens ask
    for each work they show)."""
    return tables.current_labels(store, reviewer=reviewer, work_id=work_id).get((work_id, reviewer), [])


def pending_works(store: Store, stage: str, reviewer: str) -> list[int]:
    """Works assigned to ``reviewer`` at ``stage`` without a current decision of theirs (works
    the stopping rule excluded are left out)."""
    decided = {work for work, _ in tables.current_decisions(store, stage, reviewer=reviewer)}
    if stage == TITLE_ABSTRACT:
        decided |= set(automation_excluded(store, stage))
    return [w for w in tables.assigned_works(store, stage, reviewer) if w not in decided]


WORKSHEET_COLUMNS = (
    "work_id",
    "title",
    "authors",
    "year",
    "journal",
    "doi",
    "abstract",
    "keywords",
    "decision",
    "reason",
    "note",
)
"""Columns of a reviewer's worksheet (``fulltext`` is added at the full-text stage)."""


def worksheet(
    store: Store,
    protocol: Protocol,
    reviewer: str,
    stage: str = TITLE_ABSTRACT,
) -> Iterator[dict[str, str]]:
    """Rows for screening elsewhere: the reviewer's undecided works, in their queue order,
    with empty decision columns to fill in and load back with
    :func:`~scoping.screen.load_decisions_csv`."""
    person = protocol.reviewer(reviewer)
    protocol.stage(stage)
    order = seeded_order(pending_works(store, stage, person.name), seed=protocol.allocation.seed, stage=stage)
    in_sample = sample_rank(store, stage)  # the stopping rule's random sample keeps its order
    if in_sample is not None:
        order = in_sample(order)
    extra = {"fulltext": ""} if stage == FULL_TEXT else {}
    for card in load_cards(store, order):
        yield {
            "work_id": str(card.work_id),
            "title": card.title or "",
            "authors": "; ".join(card.authors),
            "year": str(card.year or ""),
            "journal": card.journal or "",
            "doi": card.doi or "",
            "abstract": card.abstract or "",
            "keywords": "; ".join(card.keywords),
            "decision": "",
            "reason": "",
            "note": "",
            **extra,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    assigned: int
    session_saved: int
    """Decisions saved in this session (withdrawn ones included)."""
    session_undone: int
    """Decisions of this session withdrawn with undo."""
    per_hour: float | None
    """Decisions per hour in this session (``None`` until there are a few)."""
    seconds_left: float | None

    @property
    def remaining(self) -> int:
        return self.assigned - self.done


class ScreeningSession:
    """One reviewer screening one stage: the current work, decide, skip, undo, progress."""

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        reviewer: str,
        stage: str = TITLE_ABSTRACT,
        *,
        rank: Rank | None = None,
        rerank_every: int | None = None,
        via: str = "api",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.protocol = protocol
        self.reviewer = protocol.reviewer(reviewer)
        self.rules = protocol.stage(stage)
        self.stage = stage
        self.via = via
        self._rank = rank
        self._rerank_every = rerank_every
        self._clock = clock
        assigned = tables.assigned_works(store, stage, self.reviewer.name)
        if stage == FULL_TEXT and assigned:  # only works still included at title-abstract
            # in team mode a reviewer cannot read the others' rows: the store's function says
            included = team.included_at_title_abstract(store)
            if included is None:
                included = {
                    work
                    for work, o in final_outcomes(store, TITLE_ABSTRACT).items()
                    if o.outcome == "include"
                }
            assigned = [work for work in assigned if work in included]
        if not assigned:
            raise UsageError(
                f"no works are assigned to {self.reviewer.name!r} at {stage} yet; "
                "the lead allocates them with 'scoping assign'"
            )
        mine = set(assigned)
        decided = {
            w for w, _ in tables.current_decisions(store, stage, reviewer=self.reviewer.name) if w in mine
        }
        if stage == TITLE_ABSTRACT:  # excluded by the stopping rule: not this reviewer's to do
            stopped = set(automation_excluded(store, stage)) & mine
            assigned = [w for w in assigned if w not in stopped]
            mine -= stopped
        self._assigned = len(assigned)
        self._done = len(decided)
        self._queue: deque[int] = deque(
            order_works(
                [w for w in assigned if w not in decided],
                seed=protocol.allocation.seed,
                stage=stage,
                rank=rank,
            )
        )
        self._card: Card | None = None
        self._history: list[DecisionRow] = []
        self._started = clock()
        self._last: float | None = None
        self._since_rank = 0
        self._saved = 0
        self._undone = 0
        self._attempt: tuple[tuple[object, ...], str] | None = None
        self._seen: int | None = None
        """The reviewer's current decision on the work shown (its row id) when it was shown."""
        self.note: str | None = None
        """A note for the current work, stored with its decision."""
        self.fulltext: str | None = None
        """A full-text link (path or URL) for the current work, stored with its decision."""

    # -- what is shown -------------------------------------------------------------------------

    def current(self) -> Card | None:
        """The work to screen now (``None`` when nothing is left)."""
        while self._card is None and self._queue:
            work = self._queue[0]
            # decided meanwhile in another window of the same reviewer: move on
            if tables.current_decision(self.store, self.stage, work, self.reviewer.name) is not None:
                self._queue.popleft()
                self._done += 1
                continue
            card = load_card(self.store, work)
            if card is None:  # the work no longer exists (joined to another by de-duplication)
                self._queue.popleft()
                self._assigned -= 1
                continue
            self._card = card
            self._seen = None
        return self._card

    def progress(self) -> Progress:
        saved = self._saved
        per_hour = None
        seconds_left = None
        # a pace from a handful of decisions (the first ones take longest) is noise: the rate
        # shows after MIN_FOR_RATE decisions of this session, the time left after MIN_FOR_ETA
        if saved >= MIN_FOR_RATE and self._last is not None and self._last > self._started:
            per_hour = saved / (self._last - self._started) * 3600
            if saved >= MIN_FOR_ETA:
                seconds_left = (self._assigned - self._done) / per_hour * 3600
        return Progress(self._done, self._assigned, saved, self._undone, per_hour, seconds_left)

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    # -- actions ---------------------------------------------------------------------------

    def decide(
        self,
        decision: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        fulltext: str | None = None,
    ) -> DecisionRow:
        """Store a decision on the current work (committed on return) and move to the next.

        ``note`` and ``fulltext`` default to :attr:`note` and :attr:`fulltext`. If another
        session of this reviewer (a second window) decided the work, or changed or withdrew
        its decision, since this session showed it, nothing is stored: a
        :class:`DecidedElsewhereError` says what the decision is now, the work stays on
        screen, and deciding again replaces that decision (ask first), while
        :meth:`leave_decided` moves on and keeps it.
        """
        card = self.current()
        if card is None:
            raise UsageError("nothing is left to screen")
        note = note if note is not None else self.note
        fulltext = fulltext if fulltext is not None else self.fulltext
        # a retry of the same decision after a failed write reuses its uid: stored once
        attempt = (card.work_id, decision, reason, note, fulltext)
        if self._attempt is None or self._attempt[0] != attempt:
            self._attempt = (attempt, new_uid())
        try:
            row = record_decision(
                self.store,
                self.protocol,
                self.reviewer.name,
                self.stage,
                card.work_id,
                decision,
                reason=reason,
                note=note,
                fulltext=fulltext,
                via=self.via,
                uid=self._attempt[1],
                check_current=True,
                seen=self._seen,
            )
        except DecidedElsewhereError as exc:
            self._seen = exc.current_id  # seen now: deciding again replaces it
            raise
        self._attempt = None
        self._saved += 1
        self._history.append(row)
        self._last = self._clock()
        self._advance()
        self._done += 1
        self._since_rank += 1
        if self._rank is not None and self._rerank_every and self._since_rank >= self._rerank_every:
            self._rerank()
        return row

    def leave_decided(self) -> None:
        """Move on from the current work, keeping the decision another session of this
        reviewer made on it (after :class:`DecidedElsewhereError`); a work whose decision
        was withdrawn there goes to the end of the queue, as with :meth:`skip`."""
        if self.current() is None:
            return
        if self._seen is None:
            self.skip()
            return
        self._advance()
        self._done += 1

    def skip(self) -> None:
        """Put the current work at the end of this session's queue (nothing is stored)."""
        if self.current() is None:
            return
        work = self._queue.popleft()
        self._queue.append(work)
        self._card = None
        self.note = self.fulltext = None

    def goto(self, work_id: int) -> Card:
        """Show work ``work_id`` now, decided already or not (to look at a past decision again
        or change it: a new decision is appended, the history keeps both). It must be one of
        this reviewer's works at this stage."""
        if work_id not in set(tables.assigned_works(self.store, self.stage, self.reviewer.name)):
            raise UsageError(
                f"work {work_id} is not one of your works at {self.stage}; "
                f"'scoping decisions --reviewer {self.reviewer.name}' lists the ones you decided"
            )
        card = load_card(self.store, work_id)
        if card is None:
            raise UsageError(f"there is no work {work_id} (joined to another by de-duplication?)")
        if work_id in self._queue:
            self._queue.remove(work_id)
        else:  # decided before: it is in the queue again until decided now
            self._done -= 1
        self._queue.appendleft(work_id)
        self._card = card
        row = tables.current_decision(self.store, self.stage, work_id, self.reviewer.name)
        self._seen = row.id if row is not None else None
        self.note = row.note if row is not None else None
        self.fulltext = row.fulltext if row is not None else None
        return card

    def attach_fulltext(self, text: str | None, *, base: Path | None = None) -> str | None:
        """Keep a full-text link for the current work (stored with the decision): an existing
        file (relative to ``base``, default the current folder) or an http(s) URL; empty
        clears it. A :class:`UsageError` says what is wrong with anything else."""
        value = (text or "").strip()
        if not value:
            self.fulltext = None
            return None
        if _URL.match(value):
            self.fulltext = value
            return value
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        if not path.is_file():
            raise UsageError(
                f"{value}: no such file, and not an http(s) URL; give a file that exists or a link"
            )
        self.fulltext = str(path.resolve())
        return self.fulltext

    def team_fulltext(self, work_id: int) -> str | None:
        """A full text attached to ``work_id`` at this stage by anyone of the team (the latest),
        so the second reviewer need not find it again; says nothing of any decision."""
        links = [
            row.fulltext
            for row in tables.decision_history(self.store, self.stage, work_id=work_id)
            if row.fulltext
        ]
        return links[-1] if links else None

    def search(self, text: str, *, chunk: int = 500) -> Card | None:
        """Bring the next work in this reviewer's queue whose title, abstract, keywords or
        authors contain ``text`` (any case; every word of it) to the front, and return it
        (``None``: no work left matches)."""
        words = [w for w in text.casefold().split() if w]
        if not words:
            return None
        queue = list(self._queue)
        start = 1 if self._card is not None else 0  # from the work after the one on screen
        for at in range(start, len(queue), chunk):
            for card in load_cards(self.store, queue[at : at + chunk]):
                haystack = " ".join(
                    [card.title or "", card.abstract or "", " ".join(card.keywords), " ".join(card.authors)]
                ).casefold()
                if all(w in haystack for w in words):
                    self._queue.remove(card.work_id)
                    self._queue.appendleft(card.work_id)
                    self._card = card
                    self._seen = None
                    self.note = self.fulltext = None
                    return card
        return None

    def labels(self, work_id: int) -> list[str]:
        """This reviewer's labels on ``work_id``."""
        return _labels_of(self.store, self.reviewer.name, work_id)

    def label(self, text: str) -> list[str]:
        """Add/remove this reviewer's labels on the current work (``"rct, -animal"``); stored
        at once, whether or not a decision follows."""
        card = self.current()
        if card is None:
            raise UsageError("there is no work to label")
        return label_work(self.store, self.protocol, self.reviewer.name, card.work_id, text)

    def previous(self, work_id: int) -> DecisionRow | None:
        """This reviewer's current decision on ``work_id`` at this stage (their own only)."""
        return tables.current_decision(self.store, self.stage, work_id, self.reviewer.name)

    def undo(self) -> DecisionRow | None:
        """Withdraw the latest decision and show that work again: this session's, or when this
        session has made none, the reviewer's latest at this stage from an earlier session.

        Returns the decision withdrawn (``None`` if there is none). If another session of
        this reviewer changed that decision meanwhile, nothing is withdrawn: a
        :class:`DecidedElsewhereError` says what it is now.
        """
        if not self._history:
            earlier = my_decisions(self.store, self.reviewer.name, self.stage)
            if not earlier:
                return None
            self._history.append(earlier[0])
        last = self._history[-1]
        try:
            withdraw_decision(
                self.store,
                self.protocol,
                self.reviewer.name,
                self.stage,
                last.work_id,
                via=self.via,
                seen=last.id,
            )
        finally:
            self._history.pop()  # changed elsewhere: this session's decision is not current
        self._done -= 1
        self._undone += 1
        self._queue.appendleft(last.work_id)
        self._card = None
        self.note, self.fulltext = last.note, last.fulltext
        return last

    def _advance(self) -> None:
        self._queue.popleft()
        self._card = None
        self.note = self.fulltext = None

    def _rerank(self) -> None:
        # the queue is already in a settled order: the ranking only reorders it (the seeded
        # base order of order_works is not recomputed, which would cost a hash per work)
        self._since_rank = 0
        if self._rank is None or not self._queue:
            return
        current = list(self._queue)
        given = self._rank(current)
        if given == current:
            return  # in this order already: nothing to check or move
        ranked = [int(w) for w in given]
        if len(ranked) != len(current) or set(ranked) != set(current):
            raise ValueError("the ranking must return each of the given work ids exactly once")
        if self._card is not None and ranked[0] != self._card.work_id:
            # the work on screen stays on screen
            ranked.remove(self._card.work_id)
            ranked.insert(0, self._card.work_id)
        self._queue = deque(ranked)
