"""Topics as the stored results know them, without the model: a work's text, the similarity of
two topics' term profiles and the matching of new topics onto old ones.

Kept apart from :mod:`scoping.topics.model` so that what only reads stored topics (the PRISMA
counts, the report, the lead's refinements) does not import scikit-learn: about 1.4 s of CPU
for every such command.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scoping.records import Record

__all__ = ["WorkText", "match_topics", "profile_similarity", "work_text"]


@dataclass(frozen=True, slots=True)
class WorkText:
    """The text of one work the topic model reads."""

    title: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.title or self.abstract or self.keywords)


def work_text(record: Record) -> WorkText:
    """The title, abstract and keywords of a record, as the topic model reads them."""
    return WorkText(record.title, record.abstract, tuple(record.keywords))


def profile_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two topics given as ``{term: weight}``."""
    if not a or not b:
        return 0.0
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    return dot / (na * nb) if na > 0 and nb > 0 else 0.0


def match_topics(
    old: Sequence[Mapping[str, float]],
    new: Sequence[Mapping[str, float]],
    *,
    min_similarity: float = 0.2,
) -> list[int | None]:
    """Map each new topic onto at most one old topic (and each old topic onto at most one new).

    Topics are ``{term: weight}`` profiles; the pairing maximises the total cosine similarity
    (Hungarian assignment, :func:`scipy.optimize.linear_sum_assignment`). Pairs less similar
    than ``min_similarity`` are not matched. Returns, for each new topic, the index of its old
    topic or ``None``.
    """
    result: list[int | None] = [None] * len(new)
    if not old or not new:
        return result
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    sim = np.array([[profile_similarity(o, n) for o in old] for n in new])
    rows, cols = linear_sum_assignment(sim, maximize=True)
    for r, c in zip(rows, cols, strict=True):
        if sim[r, c] >= min_similarity:
            result[int(r)] = int(c)
    return result
