"""Prioritised screening: rank unscreened works by how likely they are to be included.

Three pieces, each usable on its own:

- :class:`TextFeatures` turns titles and abstracts into TF-IDF word and bigram vectors. Fit it
  once on *all* works of a review (no labels are used, so this is fair) and keep the matrix.
- :class:`Ranker` is the classifier: fit on the rows of screened works and their decisions,
  then :meth:`Ranker.rank` orders any rows, most likely include first. It follows
  scikit-learn's estimator habits: ``__init__`` only stores parameters, fitted state ends in
  ``_``, randomness comes from ``random_state``.
- :class:`BackgroundRanker` keeps a ranking fresh while screening goes on: a thread refits on
  the latest decisions while the caller keeps serving the last ranking, so a reviewer never
  waits for the model. Until there is at least one include and one exclude it serves a seeded
  random order (the cold start).

::

    features = TextFeatures().fit(texts)
    X = features.transform(texts)
    ranker = Ranker(random_state=0).fit(X[screened], decisions)
    order = ranker.rank(X[unscreened])          # positions in `unscreened`, best first

Blinding: the ranking may be trained on every reviewer's decisions (the caller decides which
decisions count, e.g. "included by anyone"), but a :class:`Ranking` carries only an order of
works, never a decision, so nothing of another reviewer's decisions is shown.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SIGNALS",
    "BackgroundRanker",
    "Ranker",
    "Ranking",
    "SignalChooser",
    "TextFeatures",
    "work_text",
]

Matrix = Any
"""A 2-D feature matrix: a SciPy sparse matrix (CSR) or a NumPy array."""


def work_text(title: str | None, abstract: str | None) -> str:
    """The text a work is ranked by: its title, then its abstract."""
    return " ".join(part for part in (title, abstract) if part)


class TextFeatures:
    """TF-IDF vectors of word unigrams and bigrams (sublinear term frequency, L2-normalised).

    Parameters mirror :class:`sklearn.feature_extraction.text.TfidfVectorizer`; ``max_df``
    drops terms in more than that share of works (near-stop-words). Titles and abstracts are
    joined by :func:`work_text` before they get here.
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int | float = 1,
        max_df: int | float = 0.95,
        sublinear_tf: bool = True,
        max_features: int | None = None,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.max_features = max_features

    def _vectoriser(self, n_docs: int) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        max_df = self.max_df
        if isinstance(max_df, float) and n_docs * max_df < 1:
            max_df = 1.0  # a handful of works: keep every term rather than fail
        return TfidfVectorizer(
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            max_df=max_df,
            sublinear_tf=self.sublinear_tf,
            max_features=self.max_features,
            dtype=np.float32,
        )

    def fit(self, texts: Sequence[str]) -> TextFeatures:
        texts = list(texts)
        vectoriser = self._vectoriser(len(texts))
        try:
            vectoriser.fit(texts)
        except ValueError:  # no terms at all (empty texts): fall back to keeping everything
            vectoriser = self._fallback()
            vectoriser.fit([*texts, "empty"])
        self.vectorizer_ = vectoriser
        self.n_features_ = len(vectoriser.vocabulary_)
        return self

    def _fallback(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            ngram_range=self.ngram_range,
            sublinear_tf=self.sublinear_tf,
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        )

    def transform(self, texts: Sequence[str]) -> Matrix:
        """The TF-IDF rows of ``texts``, a SciPy CSR matrix of float32."""
        if not hasattr(self, "vectorizer_"):
            raise RuntimeError("TextFeatures is not fitted yet: call fit(texts) first")
        return self.vectorizer_.transform(list(texts)).tocsr()

    def fit_transform(self, texts: Sequence[str]) -> Matrix:
        texts = list(texts)
        return self.fit(texts).transform(texts)

    def get_params(self) -> dict[str, Any]:
        return {
            "ngram_range": self.ngram_range,
            "min_df": self.min_df,
            "max_df": self.max_df,
            "sublinear_tf": self.sublinear_tf,
            "max_features": self.max_features,
        }


class Ranker:
    """A linear classifier of includes against excludes, used only for its ordering.

    The main model is a linear support vector machine (``C``) on the TF-IDF rows, with the
    classes balanced by sample weights so that all includes together weigh ``include_weight``
    times as much as all excludes together (in a review includes are rare and each matters).
    With ``nb_weight`` > 0 a multinomial naive Bayes model (smoothing ``nb_alpha``, classes
    balanced the same way with ``nb_include_weight``) votes too: each model's scores are
    standardised over the rows being ranked and added, the naive Bayes ones times
    ``nb_weight``. The two make different mistakes, so together they find stray includes
    sooner. Scores are therefore only comparable within one call.

    Fit on texts as well as on matrices: given a list of strings, ``fit`` builds
    :class:`TextFeatures` from them (stored in ``features_``) and ``rank`` reuses it.
    """

    def __init__(
        self,
        *,
        C: float = 0.11,
        include_weight: float = 9.8,
        nb_weight: float = 0.5,
        nb_alpha: float = 3.822,
        nb_include_weight: float = 1.2,
        random_state: int | None = None,
    ) -> None:
        self.C = C
        self.include_weight = include_weight
        self.nb_weight = nb_weight
        self.nb_alpha = nb_alpha
        self.nb_include_weight = nb_include_weight
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {
            "C": self.C,
            "include_weight": self.include_weight,
            "nb_weight": self.nb_weight,
            "nb_alpha": self.nb_alpha,
            "nb_include_weight": self.nb_include_weight,
            "random_state": self.random_state,
        }

    def clone(self) -> Ranker:
        """An unfitted ranker with the same parameters."""
        return type(self)(**self.get_params())

    def _matrix(self, X: Matrix | Sequence[str], *, fitting: bool) -> Matrix:
        if isinstance(X, (list, tuple)) and (not X or isinstance(X[0], str)):
            if fitting:
                self.features_ = TextFeatures().fit(X)
            elif not hasattr(self, "features_"):
                raise TypeError("this ranker was fitted on a matrix: rank a matrix too")
            return self.features_.transform(X)
        return X

    @staticmethod
    def _balanced(labels: NDArray[np.int8], include_weight: float) -> NDArray[np.float64]:
        """Sample weights: includes together weigh ``include_weight`` times the excludes."""
        n_inc = int(labels.sum())
        n_exc = labels.shape[0] - n_inc
        weights = np.where(labels == 1, 1.0, n_inc / (include_weight * n_exc))
        return np.asarray(weights * (labels.shape[0] / weights.sum()), dtype=np.float64)

    def fit(self, X: Matrix | Sequence[str], y: ArrayLike) -> Ranker:
        """Learn from screened works: ``X`` their feature rows (or texts), ``y`` 1 = include."""
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.svm import LinearSVC

        raw = np.asarray(y).ravel()
        if not np.isin(raw, (0, 1)).all():
            raise ValueError("labels must be 0 (exclude) or 1 (include)")
        labels = raw.astype(np.int8)
        matrix = self._matrix(X, fitting=True)
        if matrix.shape[0] != labels.shape[0]:
            raise ValueError(f"{matrix.shape[0]} rows but {labels.shape[0]} labels")
        n_inc = int(labels.sum())
        n_exc = labels.shape[0] - n_inc
        if n_inc == 0 or n_exc == 0:
            raise ValueError("need at least one include and one exclude to fit a ranker")
        model = LinearSVC(C=self.C, random_state=self.random_state)
        model.fit(matrix, labels, sample_weight=self._balanced(labels, self.include_weight))
        self.model_ = model
        self.nb_model_ = None
        if self.nb_weight > 0:
            nb = MultinomialNB(alpha=self.nb_alpha)
            nb.fit(matrix, labels, sample_weight=self._balanced(labels, self.nb_include_weight))
            self.nb_model_ = nb
        self.classes_ = model.classes_
        self.n_includes_ = n_inc
        self.n_excludes_ = n_exc
        return self

    def decision_function(self, X: Matrix | Sequence[str]) -> NDArray[np.float64]:
        """A score per row: higher means more likely an include (not a probability)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("Ranker is not fitted yet: call fit(X, y) first")
        matrix = self._matrix(X, fitting=False)
        svm = np.asarray(self.model_.decision_function(matrix), dtype=np.float64)
        if self.nb_model_ is None:
            return svm
        joint = self.nb_model_.predict_joint_log_proba(matrix)
        nb = np.asarray(joint[:, 1] - joint[:, 0], dtype=np.float64)
        return _standardised(svm) + self.nb_weight * _standardised(nb)

    def rank(self, X: Matrix | Sequence[str]) -> NDArray[np.intp]:
        """Row positions of ``X``, most likely include first (ties: earlier row first)."""
        scores = self.decision_function(X)
        return np.argsort(-scores, kind="stable")

    def component_scores(self, X: Matrix | Sequence[str]) -> dict[str, NDArray[np.float64]]:
        """Each model's own scores per row, not standardised: ``svm``, and ``nb`` if it votes."""
        if not hasattr(self, "model_"):
            raise RuntimeError("Ranker is not fitted yet: call fit(X, y) first")
        matrix = self._matrix(X, fitting=False)
        out = {"svm": np.asarray(self.model_.decision_function(matrix), dtype=np.float64)}
        if self.nb_model_ is not None:
            joint = self.nb_model_.predict_joint_log_proba(matrix)
            out["nb"] = np.asarray(joint[:, 1] - joint[:, 0], dtype=np.float64)
        return out


SIGNALS = ("svm", "nb", "centroid", "criteria")
"""The signals :class:`SignalChooser` weighs: the ranker's linear SVM, its naive Bayes vote,
the cosine to the mean of the includes' TF-IDF rows, and the protocol's criteria prior."""


def signal_scores(
    model: Ranker,
    matrix: Matrix,
    pool: NDArray[np.intp],
    includes: Sequence[int],
    criteria: NDArray[np.float64] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Each signal's standardised scores over the ``pool`` rows of ``matrix``.

    ``model`` is fitted on the decided works, ``includes`` are the rows decided include (for
    the centroid), ``criteria`` the prior's score per work (all rows) or ``None``.
    """
    rows = matrix[pool]
    out = {name: _standardised(scores) for name, scores in model.component_scores(rows).items()}
    centre = np.asarray(matrix[list(includes)].mean(axis=0), dtype=np.float64).ravel()
    out["centroid"] = _standardised(np.asarray(rows @ centre, dtype=np.float64).ravel())
    if criteria is not None:
        out["criteria"] = _standardised(np.asarray(criteria, dtype=np.float64)[pool])
    return out


class SignalChooser:
    """Weighs several ranking signals per review, from how each ranked the works since decided.

    Prequential: at each refit, :meth:`remember` keeps every signal's standardised score of
    every unscreened work; the works decided before the next refit are scored by
    :meth:`observe` with those scores, i.e. as each signal ranked them *before* their decision
    was known. :meth:`weights` fits a class-balanced logistic regression of those decisions on
    the signals' scores; a signal's learned weight is its share of the positive coefficients
    (one that points the wrong way gets none). The learned weights are shrunk towards
    ``defaults`` with the strength of ``shrinkage`` includes: with ``n`` includes observed the
    weight is ``(shrinkage * default + n * learned) / (shrinkage + n)``, so the start is
    the default ranker's mix (SVM 2/3, naive Bayes 1/3: exactly :class:`Ranker`'s scores)
    and the review's own decisions take over as includes are found.

    All of this runs at the refit (in the background for a live review), never on the path
    that serves the next work.
    """

    def __init__(self, defaults: Mapping[str, float], *, shrinkage: float = 5.0) -> None:
        total = float(sum(defaults.values()))
        if total <= 0 or any(v < 0 for v in defaults.values()):
            raise ValueError("default weights must be >= 0 and not all 0")
        self.names: tuple[str, ...] = tuple(defaults)
        self.defaults = {name: float(v) / total for name, v in defaults.items()}
        self.shrinkage = shrinkage
        self._rows: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self._scores: NDArray[np.float64] = np.zeros((0, len(self.names)))
        self._seen: list[NDArray[np.float64]] = []
        self._labels: list[int] = []

    def remember(self, rows: NDArray[np.intp], scores: Mapping[str, NDArray[np.float64]]) -> None:
        """The signals' scores of ``rows`` (sorted work positions) at this refit."""
        order = np.argsort(rows, kind="stable")
        self._rows = np.asarray(rows, dtype=np.intp)[order]
        self._scores = np.column_stack([np.asarray(scores[n], dtype=np.float64)[order] for n in self.names])

    def observe(self, rows: Sequence[int], labels: Sequence[int]) -> int:
        """Decisions on ``rows`` made since :meth:`remember`; rows it did not score are
        skipped. Returns how many were taken."""
        taken = 0
        for row, label in zip(rows, labels, strict=True):
            at = int(np.searchsorted(self._rows, row))
            if at < self._rows.size and self._rows[at] == row:
                self._seen.append(self._scores[at])
                self._labels.append(int(label))
                taken += 1
        return taken

    @property
    def n_includes(self) -> int:
        return int(sum(self._labels))

    def learned(self) -> dict[str, float] | None:
        """The weights the decisions alone give (``None``: not both kinds yet, or no signal
        points the right way)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(self._labels, dtype=np.int8)
        n_inc = int(y.sum())
        if n_inc == 0 or n_inc == y.size:
            return None
        X = np.vstack(self._seen)
        fit = LogisticRegression(C=1.0, class_weight="balanced", solver="liblinear").fit(X, y)
        coef = np.clip(fit.coef_[0], 0.0, None)
        if coef.sum() <= 0:
            return None
        return {name: float(c / coef.sum()) for name, c in zip(self.names, coef, strict=True)}

    def weights(self) -> dict[str, float]:
        """Each signal's weight now (they sum to 1)."""
        learned = self.learned()
        if learned is None:
            return dict(self.defaults)
        n = self.n_includes
        return {
            name: (self.shrinkage * self.defaults[name] + n * learned[name]) / (self.shrinkage + n)
            for name in self.names
        }

    def combine(self, scores: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
        """The weighted sum of the signals' standardised scores."""
        weights = self.weights()
        return np.asarray(sum(weights[name] * scores[name] for name in self.names), dtype=np.float64)


def _standardised(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    spread = float(scores.std()) if scores.size else 0.0
    centred = scores - (scores.mean() if scores.size else 0.0)
    return centred / spread if spread > 0 else centred


@dataclass(frozen=True, slots=True)
class Ranking:
    """An order in which to screen works, as made by :class:`BackgroundRanker`.

    ``order`` holds work positions (rows of the feature matrix), most likely include first;
    works already labelled when the ranking was made are left out. It holds no decisions.
    """

    order: NDArray[np.intp]
    version: int
    """The :meth:`BackgroundRanker.update` call this ranking reflects (0: none yet)."""
    n_labelled: int
    trained: bool
    """False for the cold start (the prior's order, or the seeded random order)."""
    prior: bool = False
    """True when the cold start is ordered by the prior (e.g. the protocol's criteria)."""

    def first(self, skip: Container[int] = ()) -> int | None:
        """The first work of the order not in ``skip`` (e.g. screened since), or ``None``."""
        for position in _iter_array(self.order):
            if position not in skip:
                return position
        return None

    def top(self, n: int, skip: Container[int] = ()) -> list[int]:
        """The first ``n`` works of the order not in ``skip``."""
        out: list[int] = []
        for position in _iter_array(self.order):
            if position not in skip:
                out.append(position)
                if len(out) >= n:
                    break
        return out


def _iter_array(order: NDArray[np.intp], chunk: int = 1024) -> Iterable[int]:
    for start in range(0, len(order), chunk):
        yield from order[start : start + chunk].tolist()


class BackgroundRanker:
    """Re-ranks works in a background thread as decisions arrive; never makes the caller wait.

    ``features`` is the feature matrix of all works (rows in a fixed order: the "positions"
    used everywhere here), or a function that builds it, which then runs in the background
    too (``n_works`` must then be given). Call :meth:`update` with the current decisions
    (position -> 1 include / 0 exclude, every decision that should count, each time); the
    thread fits a fresh ``ranker`` on the newest decisions it has, skipping any it did not get
    to. :meth:`current` returns the latest finished :class:`Ranking` at once. Errors in the
    thread are kept in :attr:`error` (the last good ranking stays in service); nothing is
    printed.

    Use as a context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        features: Matrix | Callable[[], Matrix],
        *,
        n_works: int | None = None,
        ranker: Ranker | None = None,
        random_state: int | None = None,
        prior: Callable[[], NDArray[np.float64] | None] | None = None,
        adaptive: bool = False,
    ) -> None:
        self.adaptive = adaptive
        """Weigh the ranker's signals (and the prior, if any) by a :class:`SignalChooser`,
        in the refit thread (nothing is added to :meth:`current`)."""
        self.chooser: SignalChooser | None = None
        self._observed: set[int] = set()
        self._prior_of = prior
        """Scores per work (higher: more likely include) for the cold start, called once the
        features are built; ``None`` or a ``None`` result: the seeded random order."""
        self._prior_scores: NDArray[np.float64] | None = None
        if callable(features):
            if n_works is None:
                raise ValueError("give n_works when the features are built in the background")
            self._build: Callable[[], Matrix] | None = features
            self._matrix: Matrix | None = None
        else:
            self._build = None
            self._matrix = features
            n_works = features.shape[0]
        assert n_works is not None
        self.n_works = n_works
        self.ranker = ranker if ranker is not None else Ranker(random_state=random_state)
        self.random_state = random_state
        rng = np.random.default_rng(random_state)
        self._cold_order: NDArray[np.intp] = rng.permutation(n_works).astype(np.intp)
        self._lock = threading.Condition()
        self._ranking = Ranking(order=self._cold_order, version=0, n_labelled=0, trained=False)
        self._labels: dict[int, int] = {}
        self._version = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.fits = 0
        """How many times the model was fitted (for tests and diagnostics)."""

    # -- caller side ---------------------------------------------------------------------

    def start(self) -> BackgroundRanker:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="scoping-ranker", daemon=True)
            self._thread.start()
        return self

    def __enter__(self) -> BackgroundRanker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the thread (a fit under way finishes first, up to ``timeout`` seconds)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def update(self, labels: Mapping[int, int]) -> int:
        """Hand over the current decisions; returns their version number. Never blocks long."""
        snapshot = {int(k): int(v) for k, v in labels.items()}
        bad = [k for k in snapshot if not 0 <= k < self.n_works]
        if bad:
            raise ValueError(f"work positions out of range: {bad[:5]}")
        with self._lock:
            self._version += 1
            self._labels = snapshot
            self._lock.notify_all()
            return self._version

    def current(self) -> Ranking:
        """The latest finished ranking (the cold start's random order until the first fit)."""
        return self._ranking

    def wait(self, version: int | None = None, timeout: float | None = None) -> bool:
        """Block until the ranking reflects ``version`` (default: the latest update).

        For tests and batch jobs; interactive callers use :meth:`current` instead.
        """
        with self._lock:
            target = self._version if version is None else version
            return self._lock.wait_for(
                lambda: self._ranking.version >= target or self._closed or self.error is not None, timeout
            )

    # -- worker side ---------------------------------------------------------------------

    def _pending(self, done: int) -> Callable[[], bool]:
        return lambda: self._closed or self._version > done

    def _work(self) -> None:
        done = 0
        while True:
            with self._lock:
                self._lock.wait_for(self._pending(done))
                if self._closed:
                    return
                version, labels = self._version, self._labels
            try:
                ranking = self.rank_labels(version, labels)
            except Exception as exc:  # kept for the caller; the last ranking stays in service
                with self._lock:
                    self.error = exc
                    self._lock.notify_all()
                done = version
                continue
            with self._lock:
                self._ranking = ranking
                self.error = None
                self._lock.notify_all()
            done = version

    def rank_labels(self, version: int, labels: dict[int, int]) -> Ranking:
        """The ranking for ``labels`` (position -> 1 include / 0 exclude), numbered
        ``version``: what the background thread runs for each update it takes. Builds the
        features first if they are still to be built and needed. A subclass may make the
        ranking elsewhere (e.g. in a child process that holds the features)."""
        labelled = np.fromiter(labels.keys(), dtype=np.intp, count=len(labels))
        values = np.fromiter(labels.values(), dtype=np.int8, count=len(labels))
        is_labelled = np.zeros(self.n_works, dtype=bool)
        is_labelled[labelled] = True
        if self._matrix is None and (
            self._prior_of is not None or ((values == 1).any() and (values == 0).any())
        ):
            assert self._build is not None
            self._matrix = self._build()
        if self._prior_of is not None and self._matrix is not None:
            self._prior_scores, self._prior_of = self._prior_of(), None  # asked once
        if not (values == 1).any() or not (values == 0).any():
            prior = self._prior_scores
            if prior is not None:  # the prior's order, best first; ties in the seeded order
                cold = self._cold_order[np.argsort(-prior[self._cold_order], kind="stable")]
            else:
                cold = self._cold_order
            order = cold[~is_labelled[cold]]
            return Ranking(
                order=order, version=version, n_labelled=len(labels), trained=False, prior=prior is not None
            )
        assert self._matrix is not None
        pool = np.flatnonzero(~is_labelled)
        model = self.ranker.clone().fit(self._matrix[labelled], values)
        self.fits += 1
        if self.adaptive and len(pool):
            order = self._adaptive_order(model, pool, labels, labelled[values == 1])
        else:
            order = pool[model.rank(self._matrix[pool])] if len(pool) else pool
        return Ranking(order=order.astype(np.intp), version=version, n_labelled=len(labels), trained=True)

    def _adaptive_order(
        self, model: Ranker, pool: NDArray[np.intp], labels: dict[int, int], includes: NDArray[np.intp]
    ) -> NDArray[np.intp]:
        """The pool ordered by the chooser's weights, after it has seen the decisions made
        since the last refit (scored as that refit had scored them)."""
        if self.chooser is None:
            defaults = {"svm": 1.0}
            if self.ranker.nb_weight > 0:
                defaults["nb"] = self.ranker.nb_weight
            defaults["centroid"] = 0.0
            if self._prior_scores is not None:  # the prior keeps half the say, as simulate's blend
                defaults["criteria"] = sum(defaults.values())
            self.chooser = SignalChooser(defaults)
        new = [row for row in labels if row not in self._observed]
        self.chooser.observe(new, [labels[row] for row in new])
        self._observed = set(labels)
        signals = signal_scores(model, self._matrix, pool, includes.tolist(), self._prior_scores)
        self.chooser.remember(pool, signals)
        return pool[np.argsort(-self.chooser.combine(signals), kind="stable")]


def retrain_batch(n_labelled: int, fraction: float) -> int:
    """How many works to screen before the next refit: every one early, then a growing batch.

    With ``fraction`` 0.02 the model is refitted after every decision for the first 50, then
    after every 2 % more decisions, which keeps refits to a few hundred even at 50,000 works.
    """
    return max(1, math.ceil(n_labelled * fraction)) if fraction > 0 else 1
