"""The prioritisation model in a child process, for reviews large enough to need it.

At 50,000 works a refit (a linear SVM and a naive Bayes vote fitted on the decisions, then
every unscreened work scored) takes about a second of CPU, much of it in scikit-learn and
SciPy code that holds the GIL, and reading the team's decisions for it another 150 ms at
10,000 decisions: in a thread of the screen's process either delays the next card, and on a
busy machine by more than the 100 ms the screen allows (bench/screen_latency.py
``--load 2``). :class:`ChildRanker` is a :class:`~scoping.screen.rank_model.BackgroundRanker`
whose rankings are made by one child process (``spawn``) that opens the store itself, builds
the works' features and the prior's scores once, and keeps them: for each update the screen's
process sends a "refresh" (its version number), the child reads the team's decisions with
:func:`~scoping.screen.rank_order.team_labels` (the one definition of a label, over its own
connection to the same ``store.url``: in team mode the reviewer's role, so row-level security
applies as it does to the screen's connection), says how many works are labelled, and sends
back the order (an array of positions). The ranking itself is the one
:meth:`BackgroundRanker.rank_labels` makes in a single process (same features, same labels in
the same order, same seeded cold start, same model), so the order is the same either way.

The child is started when features are first needed: at once when the protocol gives a prior
query, else once the decisions (read by this process until then) hold an include and an
exclude; until then the seeded random order needs no child. While no child answers (not yet
started, stopped, or failed to start) the screen's process reads the decisions itself, so the
count of screened works it shows stays right.

The screen never waits for it: the background thread of :class:`BackgroundRanker` sends and
waits, while the screen serves the last order. Should the child stop (killed, out of memory),
the ranking in service stays (the last model's order, the prior's, or the seeded random
order) and :attr:`BackgroundRanker.error` says that the ranking process stopped; no new child
is started (it would read and vectorise every work again). Should it fail to start, the
features are built and the model fitted in this process instead, and :attr:`notes` says so.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from scoping.screen.rank_model import BackgroundRanker, Ranking
from scoping.spawn import child_start
from scoping.store import Store

__all__ = ["ChildRanker"]

log = logging.getLogger("scoping.screen")


def _serve(
    url: str, stage: str, ids: list[int], conn: Any, parent: int, query: str, random_state: int | None
) -> None:
    """In the child process: open the store at ``url``, build the features of the works ``ids``
    (and the prior's scores against ``query``), then answer each ``("refresh", version)`` by
    reading the team's decisions at ``stage`` and sending ``("seen", n_labels)`` (works
    labelled, as :attr:`~scoping.screen.rank_order.ModelRank.n_labels` counts them) followed by
    ``("ranking", order, n_labelled, trained, prior, fits)`` or ``("error", text)`` (that
    refresh failed; the next one may not), or else ``("failed", text)`` alone (no features:
    none will succeed), until the parent closes the pipe."""
    from scoping.screen.rank_order import features_of, team_labels

    child_start(parent)
    ranker: BackgroundRanker | None = None
    failure = ""
    store: Store | None = None
    try:
        store = Store(url)
        matrix, prior = features_of(store, ids, query)
        ranker = BackgroundRanker(
            matrix, random_state=random_state, prior=(lambda: prior) if query.strip() else None
        )
    except Exception as exc:  # reported by the parent, which keeps the queue's order meanwhile
        failure = f"building the model's features failed: {type(exc).__name__}: {exc}"
    position = {w: i for i, w in enumerate(ids)}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent closed the pipe or ended
            break
        if message[0] != "refresh":
            break
        if ranker is None or store is None:  # an answer to each question: the parent never waits
            conn.send(("failed", failure))
            continue
        try:
            read = team_labels(store, stage)
        except Exception as exc:
            conn.send(("error", f"reading the team's decisions failed: {type(exc).__name__}: {exc}"))
            continue
        conn.send(("seen", len(read)))
        labels = {position[w]: v for w, v in read.items() if w in position}
        try:
            ranking = ranker.rank_labels(message[1], labels)
        except Exception as exc:  # this refit failed; the next one may not
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("ranking", ranking.order, ranking.n_labelled, ranking.trained, ranking.prior, ranker.fits))
    if store is not None:
        store.close()


class ChildRanker(BackgroundRanker):
    """A :class:`BackgroundRanker` whose features and fits, and the reading of the decisions
    they are fitted on, live in a child process (see the module docstring). ``ids`` are the
    works (their positions are the rows) and ``stage`` the stage whose decisions the child
    reads. Ask for a ranking with :meth:`refresh` (the labels given to :meth:`update` are not
    used). ``seen`` is told how many works the child found labelled, at each refresh;
    ``labels_here`` reads the decisions in this process (position -> label; it counts them
    too) and ``build_here`` builds the features and the prior's scores in this process, for
    when no child answers."""

    def __init__(
        self,
        url: str,
        ids: list[int],
        *,
        stage: str,
        labels_here: Callable[[], dict[int, int]],
        build_here: Callable[[], tuple[Any, Any]],
        seen: Callable[[int], None],
        random_state: int | None = None,
        query: str = "",
    ) -> None:
        self._url = url
        self._ids = ids
        self._stage = stage
        self._query = query
        self._labels_here = labels_here
        self._build_here = build_here
        self._seen = seen
        self._here_prior: Any = None
        super().__init__(
            self._features_here,
            n_works=len(ids),
            random_state=random_state,
            prior=(lambda: self._here_prior) if query.strip() else None,
        )
        self.notes: list[str] = []
        """What went differently from the plan (e.g. the child did not start)."""
        self.child: multiprocessing.process.BaseProcess | None = None
        """The child process, once started (the first ranking that needs features starts it)."""
        self._conn: Any = None
        self._here = False  # the child did not start: everything is done in this process
        self._stopped: str | None = None  # why the child is gone, once it is
        self._closing = threading.Event()

    def _features_here(self) -> Any:
        matrix, self._here_prior = self._build_here()
        return matrix

    @property
    def stopped(self) -> str | None:
        """Why the child no longer answers (killed, or no features), once it does not."""
        return self._stopped

    def refresh(self) -> int:
        """Ask for a ranking of the decisions stored now; returns its version number (for
        :meth:`wait`). Returns at once: the background thread asks the child."""
        with self._lock:
            self._version += 1
            self._lock.notify_all()
            return self._version

    def rank_labels(self, version: int, labels: dict[int, int]) -> Ranking:
        """The ranking numbered ``version``, of the decisions stored now: made by the child,
        which reads them, or here (``labels`` is not used)."""
        if self._here:
            return super().rank_labels(version, self._labels_here())
        if self._stopped is not None:
            self._count_here()
            raise RuntimeError(self._stopped)
        if self.child is None:
            if not self._query.strip():  # without a prior, no features until both labels come
                labels = self._labels_here()
                values = np.fromiter(labels.values(), dtype=np.int8, count=len(labels))
                if not ((values == 1).any() and (values == 0).any()):
                    return super().rank_labels(version, labels)  # the seeded random order
            if not self._start():
                return super().rank_labels(version, self._labels_here())
        try:
            self._conn.send(("refresh", version))
            reply = self._conn.recv()
            if reply[0] == "seen":
                self._seen(reply[1])
                reply = self._conn.recv()
        except (EOFError, OSError):
            stopped = self._gone()
            self._count_here()
            raise stopped from None
        if reply[0] == "failed":
            self._stopped = f"{reply[1]}; the queue keeps its order"
            self._count_here()
            raise RuntimeError(self._stopped)
        if reply[0] == "error":
            raise RuntimeError(reply[1])
        _, order, n_labelled, trained, prior, fits = reply
        self.fits = fits
        return Ranking(
            order=np.asarray(order, dtype=np.intp),
            version=version,
            n_labelled=n_labelled,
            trained=trained,
            prior=prior,
        )

    def _count_here(self) -> None:
        """With no child answering, the decisions are counted here (the count of screened
        works shown stays right while the ranking in service stays)."""
        if self._closing.is_set():
            return
        try:
            self._labels_here()
        except Exception as exc:  # the ranking's own error is the one to show
            log.warning("ranking: counting the team's decisions failed", exc_info=exc)

    def _start(self) -> bool:
        """Start the child (from this background thread, which outlives it); ``False`` and a
        note if it cannot be started."""
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe(duplex=True)
        child = context.Process(
            target=_serve,
            args=(self._url, self._stage, self._ids, theirs, os.getpid(), self._query, self.random_state),
            daemon=True,  # a reviewer who quits at once does not wait for it
            name="scoping-ranking",
        )
        try:
            child.start()
        except Exception as exc:  # never a silent fallback: noted, logged, and done here instead
            mine.close()
            theirs.close()
            self._here = True
            self._note(
                f"the model is built in this process: the child process failed ({type(exc).__name__}: {exc})"
            )
            return False
        theirs.close()
        self.child, self._conn = child, mine
        if self._closing.is_set():  # closed while it started: close() did not see it
            child.kill()
        return True

    def _gone(self) -> RuntimeError:
        """The child has stopped: why, for :attr:`error` (the ranking in service stays)."""
        assert self.child is not None
        self.child.join(timeout=5)
        if self._closing.is_set():
            self._stopped = "the ranking was closed"
        else:
            code = self.child.exitcode
            self._stopped = f"the ranking process stopped (exit code {code}); the queue keeps its last order"
            log.warning("ranking: %s", self._stopped)
        return RuntimeError(self._stopped)

    def _note(self, text: str) -> None:
        self.notes.append(text)
        log.warning("ranking: %s", text)

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the background thread and the child (a fit under way in the child is cut
        short: its order would not be used)."""
        self._closing.set()
        child = self.child
        if child is not None and child.is_alive():
            child.kill()
        super().close(timeout)
        if child is not None:
            child.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
