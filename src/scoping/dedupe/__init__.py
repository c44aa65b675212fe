"""De-duplication: link every record of the same publication into one work.

Records of one publication arrive from several databases, formatted differently. This stage
normalises what identifies a publication (:mod:`~scoping.dedupe.keys`), finds candidate pairs
without comparing every pair (:mod:`~scoping.dedupe.blocking`), compares them field by field
and decides by explicit rules (:mod:`~scoping.dedupe.compare`), and groups the links into works
without letting chains join records that conflict (:mod:`~scoping.dedupe.cluster`). A
calibrated pair model (:mod:`~scoping.dedupe.model`, weights fitted on labelled sets by
``bench/dedupe_train.py`` and shipped as data) can decide instead of the rules:
``deduplicate(rows, model="default")``; it bands pairs into link, review and distinct and
explains each link by the fields' contributions to its log-odds. Doubtful
pairs go to a queue for a person. Records are never changed or deleted: a work is a set of
links, and :mod:`~scoping.dedupe.merge` computes its merged view.

:func:`deduplicate` works on plain rows; :mod:`scoping.dedupe.api` runs it over a store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scoping.dedupe.compare import DISTINCT, DUPLICATE, UNCERTAIN, Comparison, Decision, compare, decide
from scoping.dedupe.keys import Keys, MatchRow, prepare
from scoping.dedupe.merge import MergedField, MergedWork, merge_records
from scoping.dedupe.overlap import Overlap, SourceOverlap, source_overlap

if TYPE_CHECKING:
    from scoping.dedupe.engine import DedupeReport, DedupeResult, PairResult, deduplicate

# The matching engine loads numpy and networkx (about 0.5 s of CPU): it is imported when one of
# its names is first used, so that showing a work (``merge``, what the screens and the lead's
# commands need) does not load them.
_ENGINE = frozenset({"DedupeReport", "DedupeResult", "PairResult", "deduplicate"})


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        from scoping.dedupe import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'scoping.dedupe' has no attribute {name!r}")


__all__ = [
    "DISTINCT",
    "DUPLICATE",
    "UNCERTAIN",
    "Comparison",
    "Decision",
    "DedupeReport",
    "DedupeResult",
    "Keys",
    "MatchRow",
    "MergedField",
    "MergedWork",
    "Overlap",
    "PairResult",
    "SourceOverlap",
    "compare",
    "decide",
    "deduplicate",
    "merge_records",
    "prepare",
    "source_overlap",
]
