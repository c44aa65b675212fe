"""One de-duplication run over plain rows: prepare, block, compare, decide, group into works.

:func:`deduplicate` is the whole stage as one call. It takes the records (:class:`MatchRow`),
the works they already belong to (from earlier runs) and the decisions people made, and
returns the new assignment of records to works, the pairs worth keeping (links and doubtful
pairs, each with its rule and field scores) and a report of what could not be compared.

Work ids are record ids: a new work takes the id of its lowest record; an existing work keeps
its id when new records join it, so decisions that refer to works stay valid.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from scoping.dedupe.blocking import MAX_BLOCK, WINDOW, candidate_pairs
from scoping.dedupe.cluster import Link, form_works
from scoping.dedupe.compare import (
    DISTINCT,
    DOI_CONFLICT,
    DUPLICATE,
    UNCERTAIN,
    Comparison,
    Decision,
    compare,
    conflicts,
    decide,
    hard_conflict,
    vetoed,
)
from scoping.dedupe.keys import Keys, MatchRow, mark_doi_fit, prepare
from scoping.dedupe.model import PairModel, default_model, features

__all__ = [
    "DIFFERENT",
    "SAME",
    "DedupeReport",
    "DedupeResult",
    "PairResult",
    "deduplicate",
    "explain_fields",
    "model_decide",
    "model_vetoes",
    "prepare_all",
]

SAME = "same"
DIFFERENT = "different"

Progress = Callable[[str, int, int], None]


@dataclass(slots=True, frozen=True)
class PairResult:
    """A compared pair worth keeping: a link or a doubtful pair, by record ids (a < b)."""

    a: int
    b: int
    label: str
    rule: str
    score: float
    fields: dict[str, object]


@dataclass(slots=True)
class DedupeReport:
    """Counts and problems of one run."""

    n_records: int = 0
    n_new: int = 0
    n_candidates: int = 0
    n_duplicate_pairs: int = 0
    n_uncertain_pairs: int = 0
    n_refused: int = 0
    n_works: int = 0
    n_linked_records: int = 0
    problems: dict[str, list[int]] = field(default_factory=dict)
    """Record ids that could not be compared properly, by problem ("no title"...)."""
    large_blocks: list[tuple[str, str, int]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "n_records": self.n_records,
            "n_new": self.n_new,
            "n_candidates": self.n_candidates,
            "n_duplicate_pairs": self.n_duplicate_pairs,
            "n_uncertain_pairs": self.n_uncertain_pairs,
            "n_refused": self.n_refused,
            "n_works": self.n_works,
            "n_linked_records": self.n_linked_records,
            "problems": {k: len(v) for k, v in self.problems.items()},
            "problem_examples": {k: v[:20] for k, v in self.problems.items()},
            "large_blocks": [list(b) for b in self.large_blocks[:50]],
            "n_large_blocks": len(self.large_blocks),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


@dataclass(slots=True)
class DedupeResult:
    """The outcome of :func:`deduplicate`."""

    works: dict[int, int]
    """Record id -> work id, for every record given."""
    changed: dict[int, int]
    """The part of ``works`` that differs from the ``existing`` mapping given."""
    pairs: list[PairResult]
    report: DedupeReport
    merges: list[tuple[int, list[int]]] = field(default_factory=list)
    """Existing works joined by a person's decision: ``(new work id, old work ids)``."""


_SHOWN_IF_TRUE = ("title_exact", "title_prefix", "shifted")


def explain_fields(c: Comparison) -> dict[str, object]:
    """The per-field comparison as stored and shown (rounded, without empty values)."""
    out: dict[str, object] = {}
    for name, value in c.as_dict().items():
        if value is None or value == [] or (value is False and name in _SHOWN_IF_TRUE):
            continue
        out[name] = round(value, 3) if isinstance(value, float) else value
    return out


def prepare_all(rows: Iterable[MatchRow]) -> list[Keys]:
    """The matching keys of every row, with the run-level evidence (:func:`mark_doi_fit`)."""
    keys = [prepare(row, i) for i, row in enumerate(rows)]
    mark_doi_fit(keys)
    return keys


def model_vetoes(c: Comparison) -> list[str]:
    """The conflicts that separate a pair under the model: a second DOI that does not fit its
    journal is left to the model as weak evidence (``doi_differs_weak``)."""
    return [x for x in c.conflicts if not (x == DOI_CONFLICT and c.doi_weak)]


def model_decide(a: Keys, b: Keys, c: Comparison, model: PairModel) -> tuple[Decision, dict[str, float]]:
    """The model's verdict on a compared pair, and each field's contribution to its log-odds.

    A veto makes the pair distinct whatever the score (doubtful when the only veto is a
    second DOI and the score is in the link band); otherwise the probability puts it in a
    band: link (``model.link`` or more), review (``model.review`` or more), distinct. A
    preprint beside another version, or a record without a title, is never linked
    automatically (a person decides: nothing on such a pair can show it is one publication
    rather than two items printed on the same pages).
    """
    x = features(a, b, c)
    p = model.probability(x)
    vetoes = model_vetoes(c)
    if vetoes:
        # a near-certain pair whose only veto is a second DOI: a person looks (as the rules do)
        label = UNCERTAIN if vetoes == [DOI_CONFLICT] and p >= model.link else DISTINCT
        why = f"veto: {', '.join(vetoes)}"
    elif p >= model.link:
        label = UNCERTAIN if c.soft or c.title is None else DUPLICATE
        why = ""
    else:
        label = UNCERTAIN if p >= model.review else DISTINCT
        why = ""
    if label == DISTINCT:
        return Decision(DISTINCT, why or "model: below the review band", round(p, 4)), {}
    parts = model.explain(x)
    shown = ", ".join(f"{name} {value:+.1f}" for name, value in parts.items() if name != "prior")
    why = f"model P={p:.4f} ({shown})" + (f"; {why}" if why else "")
    if c.soft and label == UNCERTAIN:
        why += f"; {c.soft[0]}"
    return Decision(label, why, round(p, 4)), parts


def deduplicate(
    rows: Iterable[MatchRow],
    *,
    total: int | None = None,
    existing: Mapping[int, int] | None = None,
    decisions: Mapping[tuple[int, int], str] | None = None,
    progress: Progress | None = None,
    max_block: int = MAX_BLOCK,
    window: int = WINDOW,
    model: PairModel | str | None = None,
) -> DedupeResult:
    """Link the records of ``rows`` into works.

    ``rows`` is read once and not kept (a generator is fine; ``total`` sizes the progress).

    ``existing`` maps record id -> work id from earlier runs: those records keep their works
    and only pairs with at least one new record are compared. ``decisions`` maps record-id
    pairs ``(a, b)`` with ``a < b`` to ``"same"`` or ``"different"`` (a person's latest word,
    which always wins).

    ``model`` is the pair model that decides (``"default"``: the one shipped with the
    package, :func:`default_model`). ``None``, the default, decides by the explicit rules of
    :func:`scoping.dedupe.compare.decide`: leave-one-set-out the model does not yet beat
    them (``bench/dedupe_accuracy.py``), so it is an option, not the default.
    """
    if isinstance(model, str) and model != "default":
        raise ValueError(f"unknown model {model!r}: give a PairModel, 'default' or None (the rules)")
    scorer = default_model() if model == "default" else model if isinstance(model, PairModel) else None
    existing = dict(existing or {})
    decisions = dict(decisions or {})
    report = DedupeReport()
    clock = _Clock(report)
    tick = progress if progress is not None else _no_progress

    ids, keys = _prepare(rows, total, tick)
    index = {rid: i for i, rid in enumerate(ids)}
    if len(index) != len(ids):
        raise ValueError("record ids must be unique")
    report.n_records = len(ids)
    for k in keys:
        for problem in k.problems:
            report.problems.setdefault(problem, []).append(ids[k.index])
    clock.step("prepare")

    is_new = np.fromiter((rid not in existing for rid in ids), dtype=bool, count=len(ids))
    report.n_new = int(is_new.sum())
    pairs, blocking = candidate_pairs(
        keys, new=is_new if existing else None, max_block=max_block, window=window
    )
    report.large_blocks = blocking.large_blocks
    clock.step("block")

    manual_same, kept_apart = _person_decisions(decisions, index)
    links: list[Link] = [Link(i, j, 1.0, manual=True) for i, j in manual_same]
    report.n_candidates = len(pairs)
    pair_list = pairs.tolist()
    del pairs
    kept = _compare_pairs(pair_list, keys, ids, scorer, kept_apart, links, tick)
    del pair_list
    clock.step("compare")

    existing_index = {index[rid]: work for rid, work in existing.items() if rid in index}
    del index
    tick("grouping", 0, 1)
    roots, refusals = form_works(
        len(ids), links, conflict=_conflict_check(keys, kept_apart, scorer), existing=existing_index
    )
    tick("grouping", 1, 1)
    for refusal in refusals:
        key = (refusal.i, refusal.j) if refusal.i < refusal.j else (refusal.j, refusal.i)
        old = kept.get(key)
        if old is not None and key not in kept_apart:
            kept[key] = PairResult(old.a, old.b, UNCERTAIN, refusal.reason, old.score, old.fields)
            report.n_refused += 1
    works, merges = _work_ids(roots, ids, existing, existing_index)
    changed = {rid: work for rid, work in works.items() if existing.get(rid) != work}
    clock.step("group")

    pair_results = sorted(kept.values(), key=lambda p: (p.a, p.b))
    report.n_duplicate_pairs = sum(1 for p in pair_results if p.label == DUPLICATE)
    report.n_uncertain_pairs = sum(1 for p in pair_results if p.label == UNCERTAIN)
    sizes = Counter(works.values())
    report.n_works = len(sizes)
    report.n_linked_records = sum(n for n in sizes.values() if n > 1)
    return DedupeResult(works=works, changed=changed, pairs=pair_results, report=report, merges=merges)


def _no_progress(phase: str, done: int, total: int) -> None:
    """The progress callback when none is given."""


class _Clock:
    """Adds the seconds since the previous step to ``report.seconds[name]`` at each step."""

    def __init__(self, report: DedupeReport) -> None:
        self.report = report
        self.clock = time.perf_counter()

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.report.seconds[name] = self.report.seconds.get(name, 0.0) + now - self.clock
        self.clock = now


def _prepare(rows: Iterable[MatchRow], total: int | None, tick: Progress) -> tuple[list[int], list[Keys]]:
    """The record ids and the comparison keys of ``rows``, read once."""
    ids: list[int] = []
    keys: list[Keys] = []
    size = total or 0
    for i, row in enumerate(rows):
        ids.append(row.id)
        keys.append(prepare(row, i))
        if i % 20_000 == 0:
            tick("preparing", i, max(size, i))
    mark_doi_fit(keys)
    tick("preparing", len(ids), len(ids))
    return ids, keys


def _person_decisions(
    decisions: Mapping[tuple[int, int], str], index: Mapping[int, int]
) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """A person's decisions on pairs of these records, as index pairs: (same, kept apart)."""
    manual_same: list[tuple[int, int]] = []
    kept_apart: set[tuple[int, int]] = set()
    for (ra, rb), verdict in decisions.items():
        if ra in index and rb in index:
            ia, ib = index[ra], index[rb]
            pair = (ia, ib) if ia < ib else (ib, ia)
            if verdict == SAME:
                manual_same.append(pair)
            elif verdict == DIFFERENT:
                kept_apart.add(pair)
    return manual_same, kept_apart


def _compare_pairs(
    pair_list: list[list[int]],
    keys: list[Keys],
    ids: list[int],
    scorer: PairModel | None,
    kept_apart: set[tuple[int, int]],
    links: list[Link],
    tick: Progress,
) -> dict[tuple[int, int], PairResult]:
    """Decide each candidate pair; append a link for each duplicate not kept apart to ``links``
    and return the duplicate and uncertain pairs by index pair."""
    kept: dict[tuple[int, int], PairResult] = {}
    n_pairs = len(pair_list)
    for done, (i, j) in enumerate(pair_list):
        if done % 50_000 == 0:
            tick("comparing", done, n_pairs)
        a, b = keys[i], keys[j]
        if vetoed(a, b):
            continue  # distinct under the rules and the model alike: nothing to keep
        comparison = compare(a, b)
        if scorer is None:
            decision = decide(a, b, comparison)
            extra: dict[str, object] = {}
        else:
            decision, parts = model_decide(a, b, comparison, scorer)
            extra = {"contributions": parts}
        if decision.label == DUPLICATE and (i, j) not in kept_apart:
            links.append(Link(i, j, decision.score))
        if decision.label in (DUPLICATE, UNCERTAIN):
            kept[(i, j)] = PairResult(
                ids[i],
                ids[j],
                decision.label,
                decision.rule,
                decision.score,
                {**explain_fields(comparison), **extra},
            )
    tick("comparing", n_pairs, n_pairs)
    return kept


def _conflict_check(
    keys: list[Keys], kept_apart: set[tuple[int, int]], scorer: PairModel | None
) -> Callable[[int, int], str | None]:
    """Why records ``i`` and ``j`` cannot be one work (``None``: they can)."""

    def conflict(i: int, j: int) -> str | None:
        if ((i, j) if i < j else (j, i)) in kept_apart:
            return "kept apart by a person"
        if scorer is None:
            return hard_conflict(keys[i], keys[j])
        c = conflicts(keys[i], keys[j])
        if c == [DOI_CONFLICT]:
            vetoes = model_vetoes(compare(keys[i], keys[j]))
            return vetoes[0] if vetoes else None
        return c[0] if c else None

    return conflict


def _work_ids(
    roots: Mapping[int, int], ids: list[int], existing: Mapping[int, int], existing_index: Mapping[int, int]
) -> tuple[dict[int, int], list[tuple[int, list[int]]]]:
    """Record id -> work id, and the existing works merged ((kept id, old ids)): an existing
    work keeps its id; a new work takes its lowest record id."""
    groups: dict[int, list[int]] = {}
    for i, root in roots.items():
        groups.setdefault(root, []).append(i)
    works: dict[int, int] = {}
    merges: list[tuple[int, list[int]]] = []
    for members in groups.values():
        olds = sorted({existing_index[i] for i in members if i in existing_index})
        work = olds[0] if olds else min(ids[i] for i in members)
        if len(olds) > 1:
            merges.append((work, olds))
        for i in members:
            works[ids[i]] = work
    for rid in ids:
        if rid not in works:
            works[rid] = existing.get(rid, rid)
    return works, merges
