"""The order of a reviewer's queue in a real review: prioritised, or the stopping rule's sample.

:func:`queue_order` picks what :class:`~scoping.screen.session.ScreeningSession` gets as its
``rank``:

- while the stopping rule's random sample is under way (title-abstract,
  :mod:`scoping.screen.stop_state`): the works the reviewer has left from before the sample,
  then the sample's works in its random order (the test depends on that order);
- else, when the protocol asks for it (``prioritise = true`` in the stage's section): a
  :class:`ModelRank`, most likely includes first; until the model has an include and an
  exclude to learn from, works are ordered by their TF-IDF similarity to the stage's criteria
  and the protocol's include highlight terms (:func:`prior_query`), when it has any;
- else nothing: the seeded random order.

:class:`ModelRank` trains :class:`~scoping.screen.rank_model.Ranker` on the decisions of the
whole team at the stage (a work counts as an include when any reviewer included it or was
unsure, or the lead included it; as an exclude when it was excluded: :func:`team_labels`), in
background threads: one reads the decisions and the works' texts from the store, the other
fits the model (:class:`~scoping.screen.rank_model.BackgroundRanker`). Asking for an order never waits: until
the first model is ready the given (seeded) order is kept. Nothing of other reviewers'
decisions is shown: they only move works up or down the queue.

Dual screening completes pairs early (as Covidence and EPPI-Reviewer do): the team shares one
order per stage (one model, or one seeded random order), and :class:`TeamOrder` puts first, in
each reviewer's queue, the works another reviewer has already decided and this one has not, in
the order they were first decided, so the second decision follows the first soon and conflicts
show while screening goes on. Which works those are is all it uses: never what was decided.

When the caller gives ``workers`` (the ``scoping`` command does) and the review has
:data:`FEATURES_IN_CHILD_FROM` works or more, the features are built, and the model fitted
and scored at every refit, in one child process spawned with ``multiprocessing`` (``spawn``;
:class:`~scoping.screen.rank_child.ChildRanker`); the child also reads the decisions (with
:func:`team_labels`, over its own connection to the same database, as the same role), so the
screen's process only sends it a refresh number and takes back the count of labelled works and
the order: neither a refit nor reading 10,000 decisions holds this process's GIL. Else all of
it runs in the background threads of this process. Either way the order is the same. The spawn's
resource tracker is started when the model is made, before any full-screen window runs:
started later, from inside Textual, it would be handed Textual's stand-in for standard error
(file descriptor -1) and the spawn fails with "bad value(s) in fds_to_keep". Should spawning
fail anyway, the model is built in this process and :attr:`ModelRank.notes` says so; should
the child stop, the queue keeps the order in service (the last model's, the prior's or the
seeded random one) and :meth:`QueueOrder.describe` says so; a model that cannot be trained at
all shows there too. Each is logged (logger ``scoping.screen``).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.resource_tracker
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from scoping.screen.cards import load_cards
from scoping.screen.outcomes import standing_stop
from scoping.screen.protocol import TITLE_ABSTRACT, Protocol
from scoping.store import Store, team
from scoping.store import screen_tables as tables

if TYPE_CHECKING:
    from scoping.screen.rank_child import ChildRanker
    from scoping.screen.rank_model import BackgroundRanker

# numpy and scikit-learn (scoping.screen.rank_model) load when a model is built, not when the
# package is imported: every command of the CLI imports it.

__all__ = [
    "ModelRank",
    "QueueOrder",
    "TeamOrder",
    "prior_query",
    "queue_order",
    "sample_rank",
    "team_labels",
]

log = logging.getLogger("scoping.screen")

FEATURES_IN_CHILD_FROM = 500
"""Reviews of at least this many works build the model's features in a child process; smaller
ones in the ranking thread of this process. Starting the child costs 3-4 s of CPU (a new
interpreter importing scikit-learn and the store), while the features of 300 works take about
0.1 s; building them in this process holds the GIL for stretches that grow with the review
(measured on 2 busy cores: longest stall of the screen about 60 ms at 250 works, 110 ms at 500,
200 ms at 750, 250 ms at 1,000 and 3 s at 6,000; bench/feature_stall.py)."""


def features_of(store: Store, ids: list[int], query: str = "") -> tuple[Any, Any]:
    """The TF-IDF rows of the works ``ids``, and their prior scores against ``query`` (or None)."""
    from scoping.screen.prior import prior_scores
    from scoping.screen.rank_model import TextFeatures, work_text

    texts = {
        card.work_id: work_text(card.title, card.abstract) + " " + " ".join(card.keywords)
        for card in load_cards(store, ids)
    }
    features = TextFeatures()
    matrix = features.fit_transform([texts.get(w, "") for w in ids])
    return matrix, (prior_scores(features, matrix, query) if query.strip() else None)


def prior_query(protocol: Protocol, stage: str) -> str:
    """The text the cold start ranks by: the stage's inclusion criteria and the protocol's
    highlight terms for includes (empty when the protocol has neither)."""
    rules = protocol.stage(stage)
    return " ".join(part for part in (rules.criteria, *protocol.highlight.include) if part.strip())


def in_order(ranked: Any, given: Sequence[int]) -> list[int]:
    """The works ``given`` (ids) in the order of ``ranked`` (a NumPy array of ids), those it
    does not hold after them in their given order: each given work exactly once.

    In NumPy: it runs on the screen's thread, between a decision and the next card (40,000
    works on a busy machine, load 11 on 2 cores: 124 ms with Python sets, 18 ms so)."""
    import numpy as np  # loaded already: the model that made ``ranked`` uses it

    asked = np.fromiter(given, dtype=np.int64, count=len(given))
    ordered = ranked[np.isin(ranked, asked)]
    return [*ordered.tolist(), *asked[~np.isin(asked, ordered)].tolist()]


def team_labels(store: Store, stage: str) -> dict[int, int]:
    """1 (include) or 0 (exclude) for every work someone has decided on at ``stage``.

    What "someone" covers is what the connection may read: in team mode (PostgreSQL roles
    with row-level security) a reviewer's model learns from their own decisions and the
    lead's resolutions of works they decided, never from a colleague's decisions."""
    labels: dict[int, int] = {}
    for (work, _), row in tables.current_decisions(store, stage).items():
        if row.decision in ("include", "maybe"):
            labels[work] = 1
        elif row.decision == "exclude":
            labels.setdefault(work, 0)
    for work, resolution in tables.current_resolutions(store, stage).items():
        if resolution.decision in ("include", "exclude"):
            labels[work] = int(resolution.decision == "include")
    return labels


class ModelRank:
    """``rank(work_ids)``: the ids most likely include first, from a model retrained in the
    background on the team's decisions. Call :meth:`close` when done (or use ``with``)."""

    def __init__(
        self, store: Store, stage: str, *, random_state: int | None = None, query: str = "", workers: int = 0
    ) -> None:
        import numpy as np

        from scoping.screen.rank_model import BackgroundRanker

        self.store = store
        self.stage = stage
        self._notes: list[str] = []
        self.n_labels: int | None = None
        """Team decisions (labelled works) seen last: read by this process, or by the child
        that ranks (sent with each ranking it makes); ``None`` until first read."""
        self.query = query
        """The prior's text (criteria, highlight terms): orders the cold start when not empty."""
        self._prior: Any = None
        ids = tables.work_ids(store)
        self.in_child = workers > 0 and len(ids) >= FEATURES_IN_CHILD_FROM
        """Whether the features are built and the model fitted in a child process (else in
        the ranking thread)."""
        if self.in_child:
            try:  # now, while standard error is still a real file (see the module docstring)
                multiprocessing.resource_tracker.ensure_running()
            except Exception as exc:
                self.in_child = False
                self._note(f"the model is built in this process: {type(exc).__name__}: {exc}")
        self._ids = np.array(ids, dtype=np.int64)
        self._position = {w: i for i, w in enumerate(ids)}
        self.reads_here = 0
        """How many times this process read the team's decisions (for tests and diagnostics:
        with the model in a child, that child reads them)."""
        self.ranker: BackgroundRanker
        self._child: ChildRanker | None = None
        if self.in_child:
            from scoping.screen.rank_child import ChildRanker

            self.ranker = self._child = ChildRanker(
                store.url,
                ids,
                stage=stage,
                labels_here=self._labels_here,
                build_here=lambda: features_of(store, ids, query),
                seen=self._seen,
                random_state=random_state,
                query=query,
            )
        else:
            self.ranker = BackgroundRanker(
                self._features,
                n_works=len(ids),
                random_state=random_state,
                prior=(lambda: self._prior) if query.strip() else None,
            )
        self.ranker.start()
        self._wake = threading.Event()
        self._closed = False
        self._applied = -1  # the version of the ranking the last call applied
        self._reader: threading.Thread | None = None
        if self._child is None:  # the child reads the decisions itself
            self._reader = threading.Thread(target=self._read, name="scoping-labels", daemon=True)
            self._reader.start()
        self.refresh()

    @property
    def notes(self) -> list[str]:
        """What went differently from the plan (e.g. the model built in this process)."""
        return [*self._notes, *getattr(self.ranker, "notes", [])]

    def _features(self) -> Any:
        matrix, self._prior = features_of(self.store, [int(w) for w in self._ids], self.query)
        return matrix

    def _labels_here(self) -> dict[int, int]:
        """The team's decisions read by this process, by position (and counted)."""
        labels = team_labels(self.store, self.stage)
        self.reads_here += 1
        self.n_labels = len(labels)
        return {self._position[w]: v for w, v in labels.items() if w in self._position}

    def _seen(self, n_labels: int) -> None:
        self.n_labels = n_labels

    def _read(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                self.ranker.update(self._labels_here())
            except Exception as exc:  # kept for the caller; the queue keeps its order
                log.warning("reading the team's decisions for the ranking failed", exc_info=exc)
                self.ranker.error = exc

    def _note(self, text: str) -> None:
        self._notes.append(text)
        log.warning("ranking: %s", text)

    def refresh(self) -> None:
        """Ask for a model trained on the decisions stored now (returns at once)."""
        if self._child is not None:
            self._child.refresh()
        else:
            self._wake.set()

    def sync(self, timeout: float | None = None) -> bool:
        """For tests and batch jobs: read the decisions now and wait for a model trained on
        them (``False`` if ``timeout`` ran out first). Interactive callers never wait."""
        if self._child is not None:
            if self._child.stopped is not None:  # no child counts them (nor waits: it stopped)
                self._labels_here()
            version = self._child.refresh()
        else:
            version = self.ranker.update(self._labels_here())
        return self.ranker.wait(version, timeout=timeout)

    @property
    def trained(self) -> bool:
        return self.ranker.current().trained

    def __call__(self, work_ids: Sequence[int]) -> list[int]:
        self.refresh()
        ranking = self.ranker.current()
        given = [int(w) for w in work_ids]
        if not (ranking.trained or ranking.prior) or ranking.version == self._applied:
            return given  # nothing new: the queue is already in this model's order
        self._applied = ranking.version
        return in_order(self._ids[ranking.order], given)

    def close(self) -> None:
        """Stop the background work; after this the store is no longer used (a reader in
        the middle of a query finishes it first, so the caller may close the store)."""
        self._closed = True
        self._wake.set()
        if self._reader is not None:
            _join(self._reader)
        self.ranker.close()

    def __enter__(self) -> ModelRank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class QueueOrder:
    """What :func:`queue_order` gives: the ``rank`` for a session, how often to ask it again,
    and a description for the screen."""

    def __init__(
        self,
        rank: Callable[[Sequence[int]], Sequence[int]] | None,
        rerank_every: int | None,
        kind: str,
        model: ModelRank | None = None,
    ) -> None:
        self.rank = rank
        self.rerank_every = rerank_every
        self.kind = kind
        self.model = model
        self._reported: str | None = None

    def describe(self) -> str:
        """The queue's order now, in words, for the screen: never a silent fallback.

        ``"ranked: model of 40 screened works, updated 3 works ago"``, ``"random: ranking
        unavailable because ..."``, ``"seeded random order until ..."``, or the kind.
        """
        model = self.model
        if model is None:
            return self.kind
        error = model.ranker.error
        ranking = model.ranker.current()
        if error is not None and not ranking.trained and not ranking.prior:
            text = f"random: ranking unavailable because {type(error).__name__}: {error}"
        elif not ranking.trained and ranking.prior:
            text = (
                f"prior: protocol criteria until the model has an include and an exclude to "
                f"learn from{_so_far(model.n_labels)}"
            )
            if error is not None:
                text += f" (no model: {type(error).__name__}: {error})"
        elif not ranking.trained:
            text = (
                f"random (seeded) until the model has an include and an exclude to learn from"
                f"{_so_far(model.n_labels)}"
            )
        else:
            ago = max(0, (model.n_labels or 0) - ranking.n_labelled)
            text = (
                f"ranked: model of {ranking.n_labelled:,} screened works, updated "
                f"{ago:,} work{'' if ago == 1 else 's'} ago"
            )
            if error is not None:
                text += f" (the latest refit failed: {type(error).__name__}: {error})"
        if error is not None and str(error) != self._reported:
            self._reported = str(error)
            log.warning("ranking model failed: %s", error, exc_info=error)
        return text

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
        if isinstance(self.rank, TeamOrder):
            self.rank.close()

    def __enter__(self) -> QueueOrder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _so_far(n_labels: int | None) -> str:
    """How many works the team has screened, for the order line ("" until they are read: the
    session has just opened)."""
    if n_labels is None:
        return ""
    return f" ({n_labels:,} work{'' if n_labels == 1 else 's'} screened by the team so far)"


def decided_by_others(store: Store, stage: str, reviewer: str) -> dict[int, int]:
    """Works with a current decision of another reviewer at ``stage``: work -> the id of the
    first such decision (its place in the team's screening). Carries no decision.

    In team mode (PostgreSQL roles with row-level security) the rows are out of the
    reviewer's reach: the store's ``SECURITY DEFINER`` function gives just this answer."""
    from_team = team.decided_by_others(store, stage)
    if from_team is not None:
        return from_team
    return tables.first_decided_by_others(store, stage, reviewer)


def others_mark(store: Store, stage: str, reviewer: str) -> tuple[int, int, int] | None:
    """A mark of the other reviewers' decision rows at ``stage`` that changes whenever one is
    added or moves to another work (:func:`scoping.store.screen_tables.others_decisions_mark`).

    In team mode the rows are out of the reviewer's reach: the store's ``SECURITY DEFINER``
    function gives the mark (:func:`scoping.store.team.others_decisions_mark`), or ``None``
    when the team's functions predate it (no mark: callers read the works every time)."""
    if team.connection_reviewer(store) is not None:
        return team.others_decisions_mark(store, stage)
    return tables.others_decisions_mark(store, stage, reviewer)


class TeamOrder:
    """``rank(work_ids)`` for one reviewer in a team: works another reviewer has decided first
    (in the order they were decided), then the rest in ``inner``'s order (the model's) or as
    given (the team's shared seeded order).

    Which works the others decided is read now and again in a background thread after every
    call, so asking never waits on the store.
    """

    def __init__(
        self,
        store: Store,
        stage: str,
        reviewer: str,
        inner: Callable[[Sequence[int]], Sequence[int]] | None = None,
        *,
        inner_every: int = 1,
    ) -> None:
        self.store = store
        self.stage = stage
        self.reviewer = reviewer
        self.inner = inner
        self.inner_every = max(1, inner_every)
        self._calls = 0
        self._mark = self._read_mark()
        self._others = decided_by_others(store, stage, reviewer)
        self._applied: dict[int, int] | None = None
        """The ``_others`` the queue was last put in order by (while it is the same and the
        model's order is not due, the queue is in order already)."""
        self._wake = threading.Event()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="scoping-team-order", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                mark = self._read_mark()
                if mark is None or mark != self._mark:  # else nothing of the others' changed
                    others = decided_by_others(self.store, self.stage, self.reviewer)
                    if others != self._others:  # kept when equal: the queue needs no re-ordering
                        self._others = others
                    self._mark = mark
            except Exception as exc:  # the last known set stays in use
                log.warning("reading which works the team decided failed", exc_info=exc)

    def _read_mark(self) -> tuple[int, int, int] | None:
        """The colleagues' rows' mark (in team mode by the store's ``SECURITY DEFINER``
        function); ``None``: no mark to be had (a team set up before that function existed),
        so the works are read every time."""
        return others_mark(self.store, self.stage, self.reviewer)

    def __call__(self, work_ids: Sequence[int]) -> list[int]:
        # asked after every decision (cheap); the model's order only every ``inner_every``
        use_inner = self.inner is not None and self._calls % self.inner_every == 0
        self._calls += 1
        others = self._others
        self._wake.set()
        if not use_inner and others is self._applied:
            return list(work_ids)  # in this order already (50,000 works: no pass in Python)
        self._applied = others
        given = [int(w) for w in (self.inner(work_ids) if use_inner and self.inner else work_ids)]
        second = sorted((w for w in given if w in others), key=others.__getitem__)
        if not second:
            return given
        placed = set(second)
        return second + [w for w in given if w not in placed]

    def sync(self) -> None:
        """For tests and batch jobs: read which works the others decided now."""
        self._mark = self._read_mark()
        self._others = decided_by_others(self.store, self.stage, self.reviewer)

    def close(self) -> None:
        """Stop the background reader; after this the store is no longer used."""
        self._closed = True
        self._wake.set()
        _join(self._reader)


def _join(thread: threading.Thread, timeout: float = 30) -> None:
    """Wait for a background reader to finish its query (a store closed under a running
    query leaves a database connection to the garbage collector)."""
    if thread is not threading.current_thread():
        thread.join(timeout)


def sample_rank(store: Store, stage: str) -> Callable[[Sequence[int]], list[int]] | None:
    """While the stopping rule's random sample is in force (title-abstract): an order that keeps
    the works from before the sample first, then serves the sample in its random order (the
    test depends on that order). ``None`` when no sample is in force."""
    if stage != TITLE_ABSTRACT:
        return None
    sample_event, _ = standing_stop(tables.stop_events(store, stage))
    if sample_event is None:
        return None
    position = {w: i for i, w in enumerate(tables.stop_sample(store, sample_event.id))}

    def rank(work_ids: Sequence[int]) -> list[int]:
        return sorted(work_ids, key=lambda w: position.get(w, -1))

    return rank


def queue_order(
    store: Store,
    protocol: Protocol,
    stage: str,
    *,
    rerank_every: int = 10,
    reviewer: str | None = None,
    workers: int = 0,
) -> QueueOrder:
    """The order for a reviewer's queue at ``stage`` (see the module docstring).

    With ``reviewer`` (as the screening commands give), the works other reviewers have decided
    come first in that reviewer's queue (:class:`TeamOrder`, asked after every decision); the
    model's order is applied every ``rerank_every`` decisions. With ``workers`` (at least 1)
    the model's features are built in a child process (:class:`ModelRank`).
    """
    rules = protocol.stage(stage)
    in_sample = sample_rank(store, stage)
    if in_sample is not None:
        _, stop_event = standing_stop(tables.stop_events(store, stage))
        kind = (
            "stopped: the rest were excluded by the stopping rule"
            if stop_event is not None
            else "random sample for the stopping rule"
        )
        return QueueOrder(in_sample, None, kind)
    if rules.prioritise:
        model = ModelRank(
            store,
            stage,
            random_state=protocol.allocation.seed,
            query=prior_query(protocol, stage),
            workers=workers,
        )
        if reviewer is None:
            return QueueOrder(model, rerank_every, "prioritised", model)
        team = TeamOrder(store, stage, reviewer, model, inner_every=rerank_every)
        return QueueOrder(team, 1, "prioritised", model)
    if reviewer is None:
        return QueueOrder(None, None, "random (seeded)")
    return QueueOrder(
        TeamOrder(store, stage, reviewer),
        1,
        "random (seeded, one order shared by the team; works a colleague decided first)",
    )
