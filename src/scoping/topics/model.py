"""The topic model: TF-IDF over titles, abstracts and keywords, NMF, then re-centred topics.

:class:`TopicModel` follows scikit-learn's estimator rules: ``__init__`` only stores the
parameters, :meth:`TopicModel.fit` learns from a list of works' texts, and everything learnt
ends in ``_``. The steps of a fit:

1. Each work becomes one text: its title ``title_weight`` times (titles say what a work is
   about more densely than abstracts), its abstract and its keywords. Works with neither a
   title nor an abstract nor keywords get no topic (``has_text_`` is ``False`` for them).
2. TF-IDF with unigrams and bigrams, English stop words plus the boiler-plate words of
   structured abstracts ("background", "methods", "results"...), sub-linear term frequency.
3. The number of topics: given, or chosen by *stability x coherence* (``n_topics="auto"``): for each
   candidate K the model is fitted on several random sub-samples with different seeds, the
   topics of each pair of runs are matched one-to-one (Hungarian assignment on the cosine
   similarity of their term weights) and the mean similarity of matched topics is that K's
   stability; its coherence is the mean normalised PMI of each topic's top terms over the
   works. The score is stability x coherence, and the fewest topics scoring within
   ``k_tolerance`` (5%) of the best score wins: closer scores are within the noise of the
   sub-samples, and a lead can split a topic more easily than sort out too many.
4. NMF (coordinate descent, NNDSVDa start; on a random ``fit_sample`` of the works when there
   are more) gives K topics as term-weight vectors; each topic is then re-centred, over all
   the works, on the works it explains best (a few spherical k-means steps started
   from the NMF topics, ``refine_iter``). Re-centring sharpens topics that NMF leaves
   "generic" (a topic of words like *placebo* and *double blind* that every trial shares).
5. Membership: the works' TF-IDF vectors are expressed as non-negative combinations of the
   topics (non-negative least squares); each work's weights are scaled to sum to 1
   (``membership_``). A work belongs to every topic whose share is at least ``threshold``
   and always to its strongest one (:meth:`TopicModel.assign`), so topics overlap.
6. Each topic's works are ranked by *representativeness*: its share in the work times the
   cosine similarity of the work to the topic (``representative_``), and a provisional label
   is made from the top terms, favouring terms that also occur in the titles of the most
   representative works.

Fits are reproducible with ``random_state``. BLAS/OpenMP threads are limited to
``n_threads`` while fitting: on a small shared machine extra threads mostly spin.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from scoping.errors import UsageError
from scoping.topics.profiles import WorkText, match_topics, profile_similarity, work_text

__all__ = [
    "ABSTRACT_STOP_WORDS",
    "Assignment",
    "TopicModel",
    "WorkText",
    "match_topics",
    "profile_similarity",
    "work_text",
]

_ABSTRACT_WORDS = """
abstract aim aims aimed background conclusion conclusions design discussion findings introduction
method methods methodology objective objectives outcome outcomes purpose result results setting
settings study studies paper article review reviews research data analysis analyses analysed analyzed
participants sample significant significantly compared comparison using used use based associated
association effect effects difference differences increased decreased increase decrease higher lower
reported report reports showed shown show shows found observed including included total mean
median year years month months week weeks day days respectively however also may might can could
would well among within without versus vs et al ci p n one two three four five six first second
new non per via overall approach approaches examined examine investigated investigate evaluated
evaluate assessed assess available current currently further important key large larger
level levels number numbers present provide provides related relationship role specific suggest
suggests type types use useful value whether www http https doi copyright elsevier rights reserved
ltd inc published publisher wiley springer taylor francis
"""
ABSTRACT_STOP_WORDS: frozenset[str] = frozenset(_ABSTRACT_WORDS.split())
"""Words of structured abstracts and publishing boiler-plate, removed like stop words."""

_STOP_WORDS = sorted(ENGLISH_STOP_WORDS | ABSTRACT_STOP_WORDS)
_TOKEN = r"(?u)\b[^\W\d_][\w\-]*[^\W_]\b"  # two or more characters, starting with a letter


class Assignment(NamedTuple):
    """Works' topics: ``overlap[i, k]`` if work ``i`` belongs to topic ``k``; ``hard[i]`` its main one.

    ``hard`` is ``-1`` for a work without any text (it belongs to no topic).
    """

    overlap: np.ndarray
    hard: np.ndarray


# copyright lines that databases append to abstracts ("(PsycINFO Database Record (c) 2019
# APA, all rights reserved)", "© 2015 Elsevier Ltd. All rights reserved.")
_BOILERPLATE = re.compile(
    r"\(?\s*PsycINFO Database Record.{0,80}?all rights reserved\)?\.?"
    r"|(?:©|\(c\)|copyright\b)\s*(?:\d{4}|the authors?\b).{0,240}$",
    re.IGNORECASE | re.DOTALL,
)


def _document(item: str | WorkText, title_weight: int) -> str:
    if isinstance(item, str):
        return item
    parts: list[str] = []
    if item.title:
        parts.extend([item.title] * max(1, title_weight))
    if item.abstract:
        parts.append(_BOILERPLATE.sub(" ", item.abstract))
    if item.keywords:
        parts.append(" ; ".join(item.keywords))
    # a full stop between parts keeps the end of one part and the start of the next from
    # meeting as often as real bigrams do; n-grams still span it, which min_df mostly filters
    return " . ".join(parts)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _nnls(X: sp.csr_matrix, H: np.ndarray, iters: int = 30) -> np.ndarray:
    """Non-negative W minimising ||X - W H|| for fixed H (block coordinate descent, HALS)."""
    HHt = H @ H.T
    XHt = np.asarray(X @ H.T)
    W = np.maximum(XHt @ np.linalg.pinv(HHt), 0.0)
    diag = np.diag(HHt)
    for _ in range(iters):
        for k in range(H.shape[0]):
            if diag[k] <= 0:
                W[:, k] = 0.0
                continue
            W[:, k] = np.maximum(0.0, W[:, k] + (XHt[:, k] - W @ HHt[:, k]) / diag[k])
    return W


def _distinct_rows(X: sp.csr_matrix) -> int:
    seen: set[tuple[bytes, bytes]] = set()
    for i in range(X.shape[0]):
        start, stop = X.indptr[i], X.indptr[i + 1]
        seen.add((X.indices[start:stop].tobytes(), np.round(X.data[start:stop], 6).tobytes()))
    return len(seen)


def _match_matrices(A: np.ndarray, B: np.ndarray) -> float:
    """Mean cosine similarity of one-to-one matched rows of two topic-term matrices."""
    sim = _unit_rows(A) @ _unit_rows(B).T
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return float(sim[rows, cols].mean())


class TopicModel(BaseEstimator):
    """Overlapping topics of a set of works (see the module documentation for the method).

    Parameters
    ----------
    n_topics : int or "auto"
        The number of topics, or ``"auto"`` to choose it by stability x coherence between
        ``k_min`` and ``k_max`` (capped for small sets of works: at most one topic per five
        works and 1.5 x the square root of the number of works).
    k_tolerance : float
        For ``"auto"``: the fewest topics whose score is within this fraction of the best
        score is chosen.
    threshold : float
        A work belongs to a topic when the topic's share of the work is at least this.
    title_weight : int
        How many times a title counts in a work's text.
    min_df, max_df, max_features, ngram_range :
        Vocabulary limits, as in :class:`~sklearn.feature_extraction.text.TfidfVectorizer`.
        ``min_df`` is lowered to 1 when a set of works is too small for it.
    refine_iter : int
        Re-centring steps after NMF (0: plain NMF topics).
    max_iter, tol :
        NMF iterations and tolerance.
    stability_runs, stability_sample :
        For ``"auto"``: fits per candidate K, and the most works each fit sees.
    fit_sample : int
        NMF is fitted on at most this many works (a random sample); re-centring and
        memberships always use every work.
    n_top_terms, n_representative :
        How many top terms and representative works each topic keeps.
    random_state : int
        Seed of every random choice (samples, NMF starts).
    n_threads : int or None
        BLAS/OpenMP threads while fitting (``None``: the libraries' default).
    """

    # its settings are keyword arguments, one each, as scikit-learn's estimators take them
    def __init__(  # noqa: PLR0913
        self,
        n_topics: int | str = "auto",
        *,
        k_min: int = 2,
        k_max: int = 30,
        k_tolerance: float = 0.05,
        threshold: float = 0.2,
        title_weight: int = 2,
        min_df: int = 2,
        max_df: float = 0.5,
        max_features: int | None = 20000,
        ngram_range: tuple[int, int] = (1, 2),
        refine_iter: int = 10,
        max_iter: int = 1000,
        tol: float = 1e-4,
        stability_runs: int = 3,
        stability_sample: int = 2000,
        fit_sample: int = 20000,
        n_top_terms: int = 10,
        n_representative: int = 10,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.n_topics = n_topics
        self.k_min = k_min
        self.k_max = k_max
        self.k_tolerance = k_tolerance
        self.threshold = threshold
        self.title_weight = title_weight
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.refine_iter = refine_iter
        self.max_iter = max_iter
        self.tol = tol
        self.stability_runs = stability_runs
        self.stability_sample = stability_sample
        self.fit_sample = fit_sample
        self.n_top_terms = n_top_terms
        self.n_representative = n_representative
        self.random_state = random_state
        self.n_threads = n_threads

    # -- fitting --------------------------------------------------------------------------

    def fit(self, X: Sequence[str | WorkText], y: Any = None) -> TopicModel:
        """Learn topics from the works' texts (strings, or :class:`WorkText`)."""
        self._check_params()
        if self.n_threads is None:
            return self._fit(X)
        with threadpool_limits(limits=self.n_threads):
            return self._fit(X)

    def fit_transform(self, X: Sequence[str | WorkText], y: Any = None) -> np.ndarray:
        return self.fit(X).membership_

    def _check_params(self) -> None:
        if isinstance(self.n_topics, str):
            if self.n_topics != "auto":
                raise UsageError(f"n_topics must be a number or 'auto', not {self.n_topics!r}")
        elif not isinstance(self.n_topics, (int, np.integer)) or self.n_topics < 1:
            raise UsageError(f"n_topics must be at least 1, not {self.n_topics!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise UsageError(f"threshold must be above 0 and at most 1, not {self.threshold!r}")
        if self.k_min < 1 or self.k_max < self.k_min:
            raise UsageError(f"need 1 <= k_min <= k_max, not k_min={self.k_min}, k_max={self.k_max}")

    def _vectorizer(self, n_docs: int) -> TfidfVectorizer:
        # small sets of works: words seen in one work only are all there is
        min_df = self.min_df if n_docs >= 10 * self.min_df else 1
        max_df = self.max_df if n_docs >= 20 else 1.0
        return TfidfVectorizer(
            stop_words=_STOP_WORDS,
            token_pattern=_TOKEN,
            lowercase=True,
            strip_accents="unicode",
            ngram_range=self.ngram_range,
            min_df=min_df,
            max_df=max_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float64,
        )

    def _fit(self, X: Sequence[str | WorkText]) -> TopicModel:
        docs = [_document(item, self.title_weight) for item in X]
        n_docs = len(docs)
        self.notes_: list[str] = []
        if n_docs == 0:
            raise UsageError("there are no works to fit topics to")
        V = self._vectorise(docs)
        has_text = np.asarray(V.getnnz(axis=1) > 0)
        self.has_text_ = has_text
        Vt = V[has_text]
        n_text = Vt.shape[0]
        if n_text == 0:
            raise UsageError("none of the works has a title, abstract or keywords to build topics from")
        if n_text < n_docs:
            self.notes_.append(
                f"{n_docs - n_text} of {n_docs} works have no title, abstract or keywords "
                "and belong to no topic"
            )
        distinct = _distinct_rows(Vt)
        rng = np.random.default_rng(self.random_state)

        k = self._choose_k(Vt, distinct, rng) if self.n_topics == "auto" else self._given_k(Vt, distinct)
        H, n_iter, converged = self._fit_topics(Vt, k, rng, sample=self.fit_sample)
        self.n_iter_ = n_iter
        self.converged_ = converged
        if not converged:
            self.notes_.append(
                f"NMF stopped at max_iter={self.max_iter} before reaching tol={self.tol}; "
                "the topics are usable but may move slightly with more iterations"
            )
        keep = np.linalg.norm(H, axis=1) > 0
        if not keep.all():
            self.notes_.append(f"{int((~keep).sum())} topics came out empty and were dropped")
            H = H[keep]
        self.components_ = H
        self.n_topics_ = H.shape[0]
        W = np.zeros((n_docs, self.n_topics_))
        W[has_text] = _nnls(Vt, H)
        self.membership_ = _unit_sum(W)
        cos = np.zeros((n_docs, self.n_topics_))
        cos[has_text] = np.asarray(Vt @ H.T)  # rows of V and H have unit length
        self.representativeness_ = self.membership_ * cos
        titles = [item.title if isinstance(item, WorkText) else None for item in X]
        self._describe(titles)
        return self

    def _vectorise(self, docs: list[str]) -> sp.csr_matrix:
        """The works' TF-IDF rows (and ``vectorizer_``, ``terms_``); when no word passes
        ``min_df``/``max_df`` (works that all say the same), every word is kept, with a note."""
        vectorizer = self._vectorizer(len(docs))
        try:
            V = vectorizer.fit_transform(docs).tocsr()
        except ValueError:
            # no word passes min_df/max_df (works that all say the same), or no words at all
            vectorizer.set_params(min_df=1, max_df=1.0)
            try:
                V = vectorizer.fit_transform(docs).tocsr()
            except ValueError:
                raise UsageError(
                    "the works have no words to build topics from (no titles or abstracts, or "
                    "only stop words)"
                ) from None
            self.notes_.append(
                "no word is rarer than max_df in most works: the works are very alike, so every word was kept"
            )
        self.vectorizer_ = vectorizer
        self.terms_ = vectorizer.get_feature_names_out()
        return V

    def _given_k(self, Vt: sp.csr_matrix, distinct: int) -> int:
        """The number of topics asked for, lowered (with a note) to what the texts support."""
        k = int(self.n_topics)
        n_text = Vt.shape[0]
        self.k_scores_: dict[int, dict[str, float]] = {}
        if k > n_text:
            raise UsageError(
                f"{k} topics were asked for but only {n_text} works have text to read; "
                f"ask for at most {n_text} topics, or let scoping choose (auto)"
            )
        limit = min(distinct, Vt.shape[1])
        if k > limit:
            self.notes_.append(
                f"the works' texts support at most {limit} distinct topics; fitted {limit} "
                f"instead of the {k} asked for"
            )
            k = limit
        return k

    def _choose_k(self, Vt: sp.csr_matrix, distinct: int, rng: np.random.Generator) -> int:
        """The K with the best stability x coherence among the candidates (see the module notes)."""
        self.k_scores_ = {}
        # about five works per topic at least, and no more than 1.5 sqrt(works) topics: a
        # reviewer reads 10 topics of 100 works or 30 of 1,000, not 30 of 150
        hi = min(self.k_max, max(1, distinct // 5), max(2, round(1.5 * math.sqrt(distinct))), Vt.shape[1])
        if hi < max(2, self.k_min):
            k = max(1, min(hi, distinct))
            self.notes_.append(
                f"too few distinct works ({distinct}) to compare several numbers of topics; fitted {k}"
            )
            return k
        n = Vt.shape[0]
        size = min(n, self.stability_sample)
        base = rng.choice(n, size=size, replace=False) if size < n else np.arange(n)
        sub = max(2, round(size * 0.8))
        runs = max(2, self.stability_runs)
        # the same sub-samples for every K, so that K values are compared on equal terms
        samples = [np.sort(rng.choice(base, size=sub, replace=False)) for _ in range(runs)]
        seeds = [int(rng.integers(0, 2**31 - 1)) for _ in range(runs)]
        present = (Vt > 0).astype(np.float64).tocsc()
        for k in _candidate_ks(max(2, self.k_min), hi):
            fits = [
                self._fit_topics(
                    Vt[rows],
                    k,
                    np.random.default_rng(seed),
                    sample=sub,
                    max_iter=min(self.max_iter, 200),
                    max_terms=5000,
                    tol=max(self.tol, 1e-3),
                )[0]
                for rows, seed in zip(samples, seeds, strict=True)
            ]
            stability = float(
                np.mean([_match_matrices(fits[i], fits[j]) for i in range(runs) for j in range(i + 1, runs)])
            )
            coherence = float(np.mean([_npmi(present, fit[t]) for fit in fits for t in range(k)]))
            self.k_scores_[k] = {
                "stability": stability,
                "coherence": coherence,
                "score": stability * max(coherence, 0.0),
            }
        best = max(v["score"] for v in self.k_scores_.values())
        # scores within k_tolerance of the best are within the noise of the sub-samples (the
        # same K scores about 4% apart between seeds): the fewest topics among them wins
        return min(k for k, v in self.k_scores_.items() if v["score"] >= best * (1 - self.k_tolerance))

    def _fit_topics(
        self,
        V: sp.csr_matrix,
        k: int,
        rng: np.random.Generator,
        *,
        sample: int,
        max_iter: int | None = None,
        max_terms: int | None = None,
        tol: float | None = None,
    ) -> tuple[np.ndarray, int, bool]:
        n = V.shape[0]
        S = V[np.sort(rng.choice(n, size=sample, replace=False))] if n > sample else V
        df = S.getnnz(axis=0)
        cols = np.flatnonzero(df)  # terms absent from the sample cost time only
        if max_terms is not None and cols.size > max_terms:
            cols = np.sort(np.argsort(-df, kind="stable")[:max_terms])
        seed = int(rng.integers(0, 2**31 - 1))
        nmf = NMF(
            n_components=k,
            init="nndsvda",
            solver="cd",
            beta_loss="frobenius",
            max_iter=max_iter or self.max_iter,
            tol=tol or self.tol,
            random_state=seed,
        )
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            # convergence is reported through converged_ and notes_, not as a warning; and a
            # corpus that NMF reconstructs exactly (one subject) can leave a rounding-error
            # negative under the square root of its error norm, which numpy would warn about
            warnings.simplefilter("ignore", ConvergenceWarning)
            nmf.fit(S[:, cols])
        H = np.zeros((k, V.shape[1]))
        H[:, cols] = nmf.components_
        H = _unit_rows(H)
        n_iter = int(nmf.n_iter_)
        H = _recentre(V, H, self.refine_iter)
        return H, n_iter, n_iter < (max_iter or self.max_iter)

    # -- describing -----------------------------------------------------------------------

    def _describe(self, titles: Sequence[str | None]) -> None:
        k = self.n_topics_
        order = np.argsort(-self.components_, axis=1)
        self.top_terms_: list[list[str]] = []
        self.representative_: list[np.ndarray] = []
        assignment = self.assign()
        for t in range(k):
            top = [str(self.terms_[j]) for j in order[t, : self.n_top_terms] if self.components_[t, j] > 0]
            self.top_terms_.append(top)
            members = np.flatnonzero(assignment.overlap[:, t])
            ranked = members[np.argsort(-self.representativeness_[members, t], kind="stable")]
            self.representative_.append(ranked[: self.n_representative])
        self.labels_ = []
        for t in range(k):
            weights = self.components_[t]
            order = np.argsort(-weights)[: max(30, self.n_top_terms)]
            rep_titles = [titles[i] for i in self.representative_[t][:5] if titles[i]]
            self.labels_.append(
                make_label(
                    [(str(self.terms_[j]), float(weights[j])) for j in order if weights[j] > 0],
                    [str(title) for title in rep_titles],
                )
            )

    def topic_terms(self, topic: int, n: int = 50) -> dict[str, float]:
        """The ``n`` heaviest terms of a topic with their weights (its profile for matching)."""
        weights = self.components_[topic]
        order = np.argsort(-weights)[:n]
        return {str(self.terms_[j]): float(weights[j]) for j in order if weights[j] > 0}

    # -- using ----------------------------------------------------------------------------

    def assign(self, threshold: float | None = None) -> Assignment:
        """Overlapping membership (share >= ``threshold``, always the strongest) and the main topic."""
        limit = self.threshold if threshold is None else threshold
        M = self.membership_
        has = M.sum(axis=1) > 0
        hard = np.where(has, M.argmax(axis=1), -1)
        overlap = (limit <= M) & has[:, None]
        rows = np.flatnonzero(has)
        overlap[rows, hard[rows]] = True
        return Assignment(overlap=overlap, hard=hard)

    def transform(self, X: Sequence[str | WorkText]) -> np.ndarray:
        """Topic shares of (new) works, rows summing to 1 (0 for works without known words)."""
        V = self.vectorizer_.transform([_document(item, self.title_weight) for item in X]).tocsr()
        if self.n_threads is None:
            return _unit_sum(_nnls(V, self.components_))
        with threadpool_limits(limits=self.n_threads):
            return _unit_sum(_nnls(V, self.components_))


def _unit_sum(W: np.ndarray) -> np.ndarray:
    sums = W.sum(axis=1, keepdims=True)
    return np.divide(W, sums, out=np.zeros_like(W), where=sums > 0)


def _recentre(V: sp.csr_matrix, H: np.ndarray, iters: int) -> np.ndarray:
    """Spherical k-means steps from the NMF topics: each topic becomes the mean of its works."""
    k = H.shape[0]
    if iters <= 0 or k < 2:
        return H
    n = V.shape[0]
    labels = np.full(n, -1)
    for _ in range(iters):
        new = np.asarray(V @ H.T).argmax(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        indicator = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
        sums = np.asarray((indicator @ V).todense())
        counts = np.bincount(labels, minlength=k)
        # a topic that lost all its works keeps its place (and its NMF terms)
        sums[counts == 0] = H[counts == 0]
        H = _unit_rows(sums)
    return H


def _npmi(present: sp.csc_matrix, topic: np.ndarray, n_terms: int = 10) -> float:
    """Mean normalised PMI of the topic's top terms over the works (document co-occurrence)."""
    top = np.argsort(-topic)[:n_terms]
    top = top[topic[top] > 0]
    if top.size < 2:
        return 0.0
    cols = present[:, top]
    n = present.shape[0]
    co = np.asarray((cols.T @ cols).todense())
    p = np.diag(co) / n
    values = []
    for i in range(top.size):
        for j in range(i + 1, top.size):
            pij = co[i, j] / n
            if pij <= 0:
                values.append(-1.0)
            elif pij >= 1:
                values.append(1.0)
            else:
                values.append(math.log(pij / (p[i] * p[j])) / -math.log(pij))
    return float(np.mean(values))


_K_LADDER = (2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100)


def _candidate_ks(lo: int, hi: int) -> list[int]:
    """Every K up to 8, then a widening ladder (10, 12, 15, 20, 25, 30, ...), and ``hi``."""
    ks = {k for k in _K_LADDER if lo <= k <= hi}
    ks.add(lo)
    ks.add(hi)
    return sorted(ks)


_WORD = re.compile(r"[^\W_]+")


_FUNCTION_WORD_TEXT = {
    "German": "der die das und mit von fur für bei eine ein einer nicht zu im den des auf ist sich "
    "als zur zum nach uber über oder wird",
    "French": "la le les des et en une un du pour dans sur par est que avec au aux chez ou leur "
    "nous vous il elle ce cette sont plus pas",
    "Spanish": "el la los las de del en y con por para una un que se es al como su sus",
    "Dutch": "de het een en van voor met bij niet op zijn te naar ook",
    "Portuguese": "os as do da dos das em um uma para com por que no na ao",
    "Italian": "il lo gli la le di del della delle e con per una un che nel nella",
}
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(text.split()) for language, text in _FUNCTION_WORD_TEXT.items()
}


def _language(terms: Sequence[str]) -> str | None:
    """The language whose function words fill the top terms (a topic of non-English works)."""
    top = [t for t in terms[:8] if " " not in t]
    best, hits = None, 0
    for language, words in _FUNCTION_WORDS.items():
        count = sum(1 for t in top if t in words)
        if count > hits:
            best, hits = language, count
    return best if hits >= 3 else None


def make_label(terms: Sequence[tuple[str, float]], titles: Sequence[str], n: int = 3) -> str:
    """A provisional label: ``n`` top terms joined by ", ", no word used twice.

    A bigram is preferred to its words when its weight is at least half theirs; terms found in
    ``titles`` (of the topic's most representative works) get up to twice their weight. A
    topic whose top terms are the function words of another language ("der, die, und") is
    labelled as such: "German-language works: behandlung, therapie".
    """
    language = _language([t for t, _ in terms])
    if language is not None:
        words = _FUNCTION_WORDS[language] | ENGLISH_STOP_WORDS
        content = [t for t, _ in terms if not any(w in words for w in t.split())][:2]
        return f"{language}-language works" + (f": {', '.join(content)}" if content else "")
    title_words = [set(_WORD.findall(t.lower())) for t in titles if t]
    scored: list[tuple[float, int, str]] = []
    for position, (term, weight) in enumerate(terms):
        words = term.split()
        bonus = 0.0
        if title_words:
            bonus = sum(1 for tw in title_words if all(w in tw for w in words)) / len(title_words)
        scored.append((weight * (1.0 + bonus), -position, term))
    scored.sort(reverse=True)
    weight_of = {term: w for w, _, term in scored}
    chosen: list[str] = []
    used: set[str] = set()
    for _, _, term in scored:
        words = term.split()
        if any(w in used for w in words):
            continue
        if len(words) == 1:
            # skip a word when a strong bigram containing it is coming
            better = [
                t
                for t in weight_of
                if len(t.split()) > 1
                and term in t.split()
                and weight_of[t] >= 0.5 * weight_of[term]
                and not any(w in used for w in t.split())
            ]
            if better:
                term = max(better, key=lambda t: weight_of[t])
                words = term.split()
        chosen.append(term)
        used.update(words)
        if len(chosen) == n:
            break
    return ", ".join(chosen) if chosen else "(no terms)"
