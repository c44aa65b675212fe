"""What the team wrote down, as a prior for prioritised screening.

A review knows what it is looking for before the first include is found: the inclusion
criteria, the protocol's highlight terms, studies already known to be relevant. This module
turns that text into a score per work and blends it with the learned model:

- :func:`prior_scores`: the cosine similarity between each work's TF-IDF row and the query
  text, in the same vector space (:class:`~scoping.screen.rank_model.TextFeatures` fitted
  on the works), so words the works never use carry no weight.
- :func:`blend_weight`: how much to trust the prior, learned from decisions: a logistic fit
  of the decisions on the two standardised scores each decided work had *when it was
  served* (so the model's score is not the one it learned the decision from); the weight is
  the prior's share of the two positive coefficients. No decisions of both kinds yet: 0.5.
- :func:`blend`: the weighted sum of the two standardised scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoping.records import normalise_doi, normalise_title_key

__all__ = [
    "NO_EVIDENCE_WEIGHT",
    "SeedMatch",
    "blend",
    "blend_weight",
    "match_seed_studies",
    "prior_scores",
    "standardised",
]

NO_EVIDENCE_WEIGHT = 0.5
"""The prior's weight until the served works hold at least one include and one exclude."""


def standardised(scores: ArrayLike) -> NDArray[np.float64]:
    """Scores centred and scaled to unit spread (unchanged spread if all equal)."""
    array = np.asarray(scores, dtype=np.float64)
    if not array.size:
        return array
    spread = float(array.std())
    centred = array - array.mean()
    return centred / spread if spread > 0 else centred


def prior_scores(features: Any, matrix: Any, query: str) -> NDArray[np.float64]:
    """Cosine similarity of each row of ``matrix`` to ``query``.

    ``features`` is the fitted :class:`~scoping.screen.rank_model.TextFeatures` that made
    ``matrix`` (rows L2-normalised, so a dot product is the cosine).
    """
    vector = features.transform([query])
    return np.asarray((matrix @ vector.T).toarray(), dtype=np.float64).ravel()


def blend_weight(model_scores: ArrayLike, prior_scores: ArrayLike, labels: ArrayLike) -> float:
    """The prior's weight (0-1) learned from decided works.

    ``model_scores`` and ``prior_scores`` are each decided work's scores when it was served,
    ``labels`` the decisions (1 include, 0 exclude). A class-balanced logistic regression of
    the labels on the two standardised scores; the weight is the prior's positive coefficient
    over the sum of both positive coefficients (a ranker that points the wrong way gets
    none). Without an include and an exclude, or with neither coefficient positive:
    :data:`NO_EVIDENCE_WEIGHT`.
    """
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels, dtype=np.int8).ravel()
    model = np.asarray(model_scores, dtype=np.float64).ravel()
    prior = np.asarray(prior_scores, dtype=np.float64).ravel()
    if not (y.size == model.size == prior.size):
        raise ValueError(f"{model.size} model scores, {prior.size} prior scores, {y.size} labels")
    n_inc = int(y.sum())
    if n_inc == 0 or n_inc == y.size:
        return NO_EVIDENCE_WEIGHT
    X = np.column_stack([standardised(model), standardised(prior)])
    fit = LogisticRegression(C=1.0, class_weight="balanced").fit(X, y)
    b_model, b_prior = (max(0.0, float(c)) for c in fit.coef_[0])
    if b_model + b_prior <= 0:
        return NO_EVIDENCE_WEIGHT
    return b_prior / (b_model + b_prior)


def blend(model_scores: ArrayLike, prior_scores: ArrayLike, weight: float) -> NDArray[np.float64]:
    """``(1 - weight)`` x the standardised model scores + ``weight`` x the standardised prior."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the weight must be between 0 and 1, not {weight}")
    return (1.0 - weight) * standardised(model_scores) + weight * standardised(prior_scores)


class SeedMatch:
    """Seed studies (one DOI or title per line) matched against a dataset's works.

    ``rows``: positions of the works a line names (by DOI, else by normalised title);
    ``unmatched``: the lines naming no work, whose text joins the query instead.
    """

    def __init__(self, rows: list[int], unmatched: list[str]) -> None:
        self.rows = rows
        self.unmatched = unmatched


def match_seed_studies(lines: Sequence[str], dois: Sequence[str | None], titles: Sequence[str]) -> SeedMatch:
    """Match each non-empty line to a work: a line holding a DOI by DOI, any other by title."""
    by_doi: dict[str, int] = {}
    for position, doi in enumerate(dois):
        key = normalise_doi(doi) if doi else None
        if key and key not in by_doi:
            by_doi[key] = position
    by_title: dict[str, int] = {}
    for position, title in enumerate(titles):
        key = normalise_title_key(title)
        if key and key not in by_title:
            by_title[key] = position
    rows: list[int] = []
    unmatched: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        doi = normalise_doi(line)
        row = by_doi.get(doi) if doi else by_title.get(normalise_title_key(line))
        if row is None:
            if not doi:  # a title names the topic; a bare unknown DOI says nothing
                unmatched.append(line)
        elif row not in rows:
            rows.append(row)
    return SeedMatch(rows, unmatched)
