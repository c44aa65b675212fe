"""How well a screening order found the includes: WSS, RRF, loss, records to a recall level.

Each function takes ``labels``: the decisions (1 include, 0 exclude) in the order the works
were screened, for every work of the review (works never reached count as 0 at the end). The
definitions are ASReview's (asreview-insights and ``asreview.metrics``), so figures compare
with ASReview simulations; as there, simulations leave the prior records out of ``labels``.

- **WSS@r** (work saved over sampling): for the ``k``-th include, where ``k/R`` is the largest
  recall level not above ``r`` (``R`` includes in all), how many works earlier it was found than
  by the rounded random-order curve ``round(linspace(0, R, N))``, as a share of the ``N`` works.
- **RRF@x** (relevant records found): recall after screening ``⌊x · N⌋`` works (0 if that is no
  work at all).
- **loss**: the area between the best possible recall curve (every include first) and the
  actual one, divided by the area between the best and the worst (every include last); 0 is
  perfect, 1 the worst order there is. With cumulative include counts ``c_1..c_N``:
  ``(R · (N − (R − 1)/2) − Σ c_i) / (R · (N − R))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["loss", "records_to_recall", "rrf", "wss"]


def _labels(labels: ArrayLike | Sequence[int]) -> NDArray[np.int64]:
    array = np.asarray(labels, dtype=np.int64).ravel()
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return array


def _two_classes(array: NDArray[np.int64]) -> tuple[int, int]:
    n_docs = int(array.size)
    n_incl = int(array.sum())
    if n_incl == 0 or n_incl == n_docs:
        raise ValueError("the metric needs both includes and excludes among the labels")
    return n_docs, n_incl


def loss(labels: ArrayLike | Sequence[int]) -> float:
    """ASReview's normalised loss: 0 for the best order, 1 for the worst."""
    array = _labels(labels)
    n_docs, n_incl = _two_classes(array)
    best = n_incl * (n_docs - (n_incl - 1) / 2)  # area under the best step curve
    actual = float(np.cumsum(array).sum())
    return float((best - actual) / (n_incl * (n_docs - n_incl)))


def wss(labels: ArrayLike | Sequence[int], recall: float = 0.95) -> float:
    """Work saved over sampling at ``recall``, as a fraction (asreview-insights' definition)."""
    array = _labels(labels)
    n_docs, n_incl = _two_classes(array)
    levels = np.arange(1, n_incl + 1) / n_incl
    k = int(np.searchsorted(levels, recall, side="right"))
    if k == 0:  # fewer includes than it takes to express the level: insights uses the last one
        k = n_incl
    found_at = int(np.searchsorted(np.cumsum(array), k))  # 0-based position of the k-th include
    random_curve = np.round(np.linspace(0, n_incl, n_docs))
    random_at = int(np.searchsorted(random_curve, k))
    return (random_at - found_at) / n_docs


def rrf(labels: ArrayLike | Sequence[int], screened: float = 0.10) -> float:
    """Recall after screening the first ``screened`` share of the works, as a fraction."""
    array = _labels(labels)
    n_docs, n_incl = _two_classes(array)
    shares = np.arange(1, n_docs + 1) / n_docs
    i = int(np.searchsorted(shares, screened, side="right"))
    if i == 0:
        return 0.0
    return float(array[:i].sum() / n_incl)


def records_to_recall(
    labels: ArrayLike | Sequence[int], recall: float = 0.95, total_includes: int | None = None
) -> int | None:
    """How many works must be screened, in this order, to reach ``recall`` (``None``: never).

    ``total_includes`` defaults to the includes among ``labels``; pass it when ``labels`` is a
    prefix of the order.
    """
    array = _labels(labels)
    total = int(array.sum()) if total_includes is None else total_includes
    if total == 0:
        return None
    needed = math.ceil(recall * total - 1e-9)
    if needed <= 0:
        return 0
    found = np.cumsum(array)
    position = int(np.searchsorted(found, needed))
    return position + 1 if position < array.size else None
