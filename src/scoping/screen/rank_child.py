"""The prioritisation model in a child process, for reviews large enough to need it.

At 50,000 works a refit (a linear SVM and a naive Bayes vote fitted on the decisions, then
every unscreened work scored) takes about a second of CPU, much of it in scikit-learn and
SciPy code that holds the GIL: in a thread of the screen's process it delays the next card,
and on a busy machine by more than the 100 ms the screen allows (bench/screen_latency.py
``--load 2``). :class:`ChildRanker` is a :class:`~scoping.screen.rank_model.BackgroundRanker`
whose rankings are made by one child process (``spawn``) that reads the works from the store
itself, builds their features and the prior's scores once, and keeps them: for each update
the screen's process sends the decisions (two arrays of positions and labels) and gets back
the order (an array of positions). The ranking itself is the one
:meth:`BackgroundRanker.rank_labels` makes in a single process (same features, same seeded
cold start, same model), so the order is the same either way.

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


def _serve(url: str, ids: list[int], conn: Any, parent: int, query: str, random_state: int | None) -> None:
    """In the child process: build the features of the works ``ids`` of the store at ``url``
    (and the prior's scores against ``query``), then answer each ``("rank", version,
    positions, labels)`` with ``("ranking", order, n_labelled, trained, prior, fits)``,
    ``("error", text)`` (that refit failed) or ``("failed", text)`` (no features: none will
    succeed), until the parent closes the pipe."""
    from scoping.screen.rank_order import features_of

    child_start(parent)
    ranker: BackgroundRanker | None = None
    failure = ""
    try:
        with Store(url) as store:
            matrix, prior = features_of(store, ids, query)
        ranker = BackgroundRanker(
            matrix, random_state=random_state, prior=(lambda: prior) if query.strip() else None
        )
    except Exception as exc:  # reported by the parent, which keeps the queue's order meanwhile
        failure = f"building the model's features failed: {type(exc).__name__}: {exc}"
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent closed the pipe or ended
            return
        if message[0] != "rank":
            return
        if ranker is None:  # an answer to each question, so the parent never waits on a send
            conn.send(("failed", failure))
            continue
        _, version, positions, values = message
        labels = dict(zip(positions.tolist(), values.tolist(), strict=True))
        try:
            ranking = ranker.rank_labels(version, labels)
        except Exception as exc:  # this refit failed; the next one may not
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("ranking", ranking.order, ranking.n_labelled, ranking.trained, ranking.prior, ranker.fits))


class ChildRanker(BackgroundRanker):
    """A :class:`BackgroundRanker` whose features and fits live in a child process (see the
    module docstring). ``ids`` are the works (their positions are the rows), ``build_here``
    builds the features and the prior's scores in this process, should the child not start."""

    def __init__(
        self,
        url: str,
        ids: list[int],
        *,
        build_here: Callable[[], tuple[Any, Any]],
        random_state: int | None = None,
        query: str = "",
    ) -> None:
        self._url = url
        self._ids = ids
        self._query = query
        self._build_here = build_here
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

    def rank_labels(self, version: int, labels: dict[int, int]) -> Ranking:
        positions = np.fromiter(labels.keys(), dtype=np.intp, count=len(labels))
        values = np.fromiter(labels.values(), dtype=np.int8, count=len(labels))
        needs_features = bool(self._query.strip()) or bool((values == 1).any() and (values == 0).any())
        if self._here or (self.child is None and not needs_features):
            return super().rank_labels(version, labels)  # the seeded random order needs no features
        if self._stopped is not None:
            raise RuntimeError(self._stopped)
        if self.child is None and not self._start():
            return super().rank_labels(version, labels)
        try:
            self._conn.send(("rank", version, positions, values))
            reply = self._conn.recv()
        except (EOFError, OSError):
            raise self._gone() from None
        if reply[0] == "failed":
            self._stopped = f"{reply[1]}; the queue keeps its order"
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

    def _start(self) -> bool:
        """Start the child (from this background thread, which outlives it); ``False`` and a
        note if it cannot be started."""
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe(duplex=True)
        child = context.Process(
            target=_serve,
            args=(self._url, self._ids, theirs, os.getpid(), self._query, self.random_state),
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
