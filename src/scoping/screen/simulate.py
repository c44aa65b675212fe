"""Replay a labelled review through the prioritisation model and the stopping rule.

:func:`simulate` screens a dataset whose decisions are known, the way a reviewer would with
``scoping``: one include and one exclude chosen at random as prior knowledge, then the works
the :class:`~scoping.screen.rank_model.Ranker` ranks highest, refitted as decisions arrive;
when the :class:`~scoping.screen.stop_rule.SwitchHeuristic` says the ranking has run dry, the
rest in random order with the :class:`~scoping.screen.stop_rule.StoppingRule` tested after
each work, until it is met. The model, the heuristic and the rule are the ones screening uses.

Two screening orders come out of one run and share everything up to the switch:

- the *ranked order*, continued by the model until every include is found; WSS@95, RRF@10,
  loss and records-to-95 % are measured on it, as ASReview measures them (priors left out of
  WSS, RRF and loss), so figures compare with ASReview simulations;
- the *realistic order*: ranked until the switch, random after it; ``stop_at`` (works
  screened, priors included, when the rule is met) and ``recall_at_stop`` come from it.

:func:`labelled_from_records` turns records read from a CSV or RIS file into texts and 0/1
labels, with notes on anything odd in the data; :func:`plot_recall` draws the recall curves.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoping.errors import UsageError
from scoping.files import replace_into
from scoping.records import Record, normalise_title_key
from scoping.screen import metrics
from scoping.screen.prior import blend, blend_weight, prior_scores, standardised
from scoping.screen.rank_model import (
    Ranker,
    SignalChooser,
    TextFeatures,
    retrain_batch,
    signal_scores,
    work_text,
)
from scoping.screen.stop_methods import HypergeometricSample, StoppingMethod, default_method
from scoping.screen.stop_rule import StoppingRule, StoppingTracker, SwitchHeuristic

__all__ = [
    "METRIC_KEYS",
    "RANKERS",
    "LabelledSet",
    "RunResult",
    "SimulationResult",
    "choose_priors",
    "labelled_from_records",
    "plot_recall",
    "simulate",
]

METRIC_KEYS = ("wss95", "rrf10", "loss", "stop_at", "recall_at_stop")
"""The per-run figures averaged into :attr:`SimulationResult.mean`, in this order."""

RANKERS = ("default", "adaptive")
"""``default``: the SVM + naive Bayes :class:`Ranker` (blended with the criteria prior by a
learned weight when criteria are given); ``adaptive``: its signals, the cosine to the includes
and the criteria prior weighed per review by a :class:`SignalChooser`."""


# -- labelled data -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelledSet:
    """Texts and 0/1 labels of a labelled review, with notes on its data."""

    texts: list[str]
    labels: NDArray[np.int8]
    rows: list[int]
    """Position of each kept work among the records read (0-based), for --prior lookups."""
    notes: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    dois: list[str | None] = field(default_factory=list)

    @property
    def n_includes(self) -> int:
        return int(self.labels.sum())


_ONE = {"1", "1.0", "true", "yes"}
_ZERO = {"0", "0.0", "false", "no"}
_UNLABELLED = {"", "-1", "-1.0", "nan"}  # ASReview writes -1 (older versions) or nothing
_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
_ASREVIEW_RIS = {"asreview_relevant": "1", "asreview_irrelevant": "0", "asreview_not_seen": ""}


def _fold(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower())


def _ris_value(raw: str, tag: str) -> str | None:
    """The value of RIS ``tag`` in a record's text; ASReview's N1 markers read as 1/0/empty."""
    values: list[str] = []
    for line in raw.splitlines():
        match = _RIS_TAG.match(line)
        if match and match.group(1) == tag:
            values.append((match.group(2) or "").strip())
    for value in values:  # ASReview writes its decision as a note among others
        marker = _ASREVIEW_RIS.get(value.lower())
        if marker is not None:
            return marker
    return values[0] if values else None


def _label_of(record: Record, column: str, folded: str) -> tuple[bool, str | None]:
    """(column present?, its value) for one record."""
    if column in record.extra:
        return True, str(record.extra[column])
    for key, value in record.extra.items():
        if isinstance(key, str) and _fold(key) == folded:
            return True, str(value)
    if len(column) == 2 and column.isupper() and record.raw:
        value = _ris_value(record.raw, column)
        if value is not None:
            return True, value
    return False, None


@dataclass(slots=True)
class _LabelReading:
    """What :func:`labelled_from_records` has read so far: the labelled records and the tallies
    its messages and notes are made of."""

    texts: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    dois: list[str | None] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    n_read: int = 0
    found_column: bool = False
    unlabelled: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    first_bad: str | None = None
    no_abstract: int = 0
    no_text: int = 0
    seen_text: dict[str, int] = field(default_factory=dict)
    repeats: int = 0
    conflicts: int = 0
    extra_names: Counter[str] = field(default_factory=Counter)

    def label(self, record: Record, position: int, value: str | None) -> int | None:
        """1 or 0 for the label ``value``; ``None`` (tallied) when it is empty or not a label."""
        text_value = (value or "").strip()
        if text_value in _UNLABELLED:
            self.unlabelled += 1
            return None
        lowered = text_value.lower()
        if lowered in _ONE:
            return 1
        if lowered in _ZERO:
            return 0
        self.bad[text_value] += 1
        if self.first_bad is None:
            self.first_bad = f"line {record.line}" if record.line else f"record {position + 1}"
        return None

    def add(self, record: Record, position: int, label: int) -> None:
        """Keep one labelled record; tally a missing abstract or text and a repeat."""
        text = work_text(record.title, record.abstract)
        if not record.abstract:
            self.no_abstract += 1
        if not text:
            self.no_text += 1
        key = normalise_title_key(text)
        if key:
            if key in self.seen_text:
                self.repeats += 1
                if self.labels[self.seen_text[key]] != label:
                    self.conflicts += 1
            else:
                self.seen_text[key] = len(self.labels)
        self.texts.append(text)
        self.titles.append(record.title or "")
        self.dois.append(record.doi)
        self.labels.append(label)
        self.rows.append(position)


def labelled_from_records(
    records: Iterable[Record], label_column: str, source: str = "the dataset"
) -> LabelledSet:
    """Texts (title + abstract) and labels (column ``label_column``) of labelled records.

    CSV columns are matched by name (case and ``_``/space folded); in RIS files the column is
    a tag (e.g. ``LB``), and ASReview's ``ASReview_relevant``/``ASReview_irrelevant`` notes are
    read too. Labels are 1 (include) or 0 (exclude); ``1.0``/``0.0``, ``true``/``false`` and
    ``yes``/``no`` are accepted. Records with an empty label (or ``-1``, ASReview's "not seen")
    are left out (noted); any other
    value is a :class:`~scoping.errors.UsageError`, as is a dataset without at least two
    includes and two excludes. Missing abstracts and repeated rows are noted, not refused.
    """
    folded = _fold(label_column)
    read = _LabelReading()
    for position, record in enumerate(records):
        read.n_read += 1
        present, value = _label_of(record, label_column, folded)
        if not present:
            read.extra_names.update(k for k in record.extra if isinstance(k, str))
            read.unlabelled += 1
            continue
        read.found_column = True
        label = read.label(record, position, value)
        if label is not None:
            read.add(record, position, label)
    _refuse_unread(read, label_column, source)
    array = np.asarray(read.labels, dtype=np.int8)
    _refuse_too_few(array, label_column, source)
    return LabelledSet(
        texts=read.texts,
        labels=array,
        rows=read.rows,
        notes=_label_notes(read, label_column),
        titles=read.titles,
        dois=read.dois,
    )


def _refuse_unread(read: _LabelReading, label_column: str, source: str) -> None:
    """Refuse a dataset with no records, no label column or a value that is not a label."""
    if read.n_read == 0:
        raise UsageError(f"{source} holds no records")
    if not read.found_column:
        names = ", ".join(repr(n) for n, _ in read.extra_names.most_common(12)) or "none"
        raise UsageError(
            f"{source} has no label column {label_column!r}; columns not mapped to a "
            f"bibliographic field: {names}; pass --label-column with one of them"
        )
    if read.bad:
        shown = ", ".join(f"{value!r} ({count}x)" for value, count in read.bad.most_common(5))
        raise UsageError(
            f"column {label_column!r} of {source} must hold 0 (exclude) or 1 (include); "
            f"found {shown}, first at {read.first_bad}; fix or remove those rows"
        )


def _refuse_too_few(array: NDArray[np.int8], label_column: str, source: str) -> None:
    """Refuse labels with fewer than two includes or two excludes."""
    n_inc = int(array.sum())
    n_exc = int(array.size - n_inc)
    if n_inc < 2 or n_exc < 2:
        what = "include" if n_inc < 2 else "exclude"
        raise UsageError(
            f"{source} has {n_inc} include(s) and {n_exc} exclude(s) in column "
            f"{label_column!r}: a simulation needs at least two of each (one to start "
            f"from, one to find); check that 1 marks an include and that the file "
            f"is the whole review, not just its {what}s"
        )


def _label_notes(read: _LabelReading, label_column: str) -> list[str]:
    """Notes on records left out, without text or abstract, and repeated."""
    notes: list[str] = []
    if read.unlabelled:
        notes.append(
            f"{read.unlabelled:,} of {read.n_read:,} records have no label in {label_column!r} "
            "and were left out"
        )
    if read.no_text:
        notes.append(
            f"{read.no_text:,} records have neither title nor abstract: the model cannot rank "
            "them on text, so they come last"
        )
    if read.no_abstract - read.no_text > 0:
        notes.append(
            f"{read.no_abstract - read.no_text:,} records have no abstract and are ranked on "
            "their title alone"
        )
    if read.repeats:
        note = (
            f"{read.repeats:,} records repeat the title and abstract of an earlier one (kept; "
            "de-duplicate first for a realistic run)"
        )
        if read.conflicts:
            note += f"; {read.conflicts:,} of them carry the opposite label"
        notes.append(note)
    return notes


# -- one simulated review ------------------------------------------------------------------


def choose_priors(labels: ArrayLike, seed: int) -> tuple[int, int]:
    """The prior knowledge for ``seed``: one include and one exclude, drawn at random.

    Depends only on the labels and the seed, so other tools can be given the same priors.
    """
    array = np.asarray(labels)
    rng = np.random.default_rng([seed, 0x5C0])
    include = int(rng.choice(np.flatnonzero(array == 1)))
    exclude = int(rng.choice(np.flatnonzero(array == 0)))
    return include, exclude


@dataclass(frozen=True, slots=True)
class RunResult:
    """One simulated review (one seed)."""

    seed: int
    priors: tuple[int, int]
    """Positions of the prior include and exclude in the dataset (0-based, rows kept)."""
    wss95: float
    """WSS@95 in percent (ranked order, priors left out)."""
    rrf10: float
    """Recall after 10 % screened, in percent (ranked order, priors left out)."""
    loss: float
    records_to_95: int
    """Works screened (priors included) until 95 % of all includes were found, ranked order."""
    switch_at: int | None
    """Works screened when random sampling started (``None``: the heuristic never said so)."""
    stop_at: int
    """Works screened (priors included) when the stopping rule was met; all if never."""
    stopped_by_rule: bool
    recall_at_stop: float
    """Share of all includes found by ``stop_at`` (0-1)."""
    p_value_at_stop: float | None
    seconds: float
    ranked_labels: NDArray[np.int8] = field(repr=False)
    """Decisions in ranked order after the priors, until the last include (for curves)."""
    sampled_labels: NDArray[np.int8] = field(repr=False)
    """Decisions of the random sample, in order, until the rule was met."""
    n_includes: int = 0
    seed_rows: tuple[int, ...] = ()
    """Positions of seed studies found in the dataset, screened as priors too."""
    prior_weight: float | None = None
    """The prior's blend weight at the last refit (``None``: no prior text given)."""
    signal_weights: dict[str, float] | None = None
    """The adaptive ranker's weights at the last refit (``None``: the default ranker)."""

    @property
    def n_priors(self) -> int:
        return 2 + len(self.seed_rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "wss95": self.wss95,
            "rrf10": self.rrf10,
            "loss": self.loss,
            "stop_at": self.stop_at,
            "recall_at_stop": self.recall_at_stop,
            "records_to_95": self.records_to_95,
            "switch_at": self.switch_at,
            "stopped_by_rule": self.stopped_by_rule,
            "p_value_at_stop": self.p_value_at_stop,
            "priors": list(self.priors),
            "seed_rows": list(self.seed_rows),
            "prior_weight": self.prior_weight,
            "signal_weights": self.signal_weights,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """All seeds of a simulation, their mean, and what they were run with."""

    n_records: int
    n_includes: int
    runs: list[RunResult]
    settings: dict[str, Any]
    notes: list[str]

    @property
    def mean(self) -> dict[str, float]:
        keys = (*METRIC_KEYS, "records_to_95")
        return {key: float(np.mean([getattr(run, key) for run in self.runs])) for key in keys}

    @property
    def share_unscreened(self) -> float:
        """Mean share of the works left unscreened when the rule was met."""
        return float(np.mean([1 - run.stop_at / self.n_records for run in self.runs]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_records": self.n_records,
            "n_includes": self.n_includes,
            "runs": [run.to_dict() for run in self.runs],
            "mean": self.mean,
            "share_unscreened": self.share_unscreened,
            "settings": self.settings,
            "notes": self.notes,
        }


def _run(
    matrix: Any,
    labels: NDArray[np.int8],
    seed: int,
    ranker: Ranker,
    rule: StoppingRule,
    heuristic: SwitchHeuristic,
    retrain_fraction: float,
    stopping: StoppingMethod | None = None,
    prior: NDArray[np.float64] | None = None,
    seed_rows: Sequence[int] = (),
    adaptive: SignalChooser | None = None,
) -> RunResult:
    started = time.perf_counter()
    n = int(labels.size)
    total = int(labels.sum())
    prior_inc, prior_exc = choose_priors(labels, seed)
    extra = [row for row in dict.fromkeys(seed_rows) if row not in (prior_inc, prior_exc)]
    rng = np.random.default_rng([seed, 0x5A3])
    tracker = StoppingTracker(n_total=n, rule=rule, heuristic=heuristic, detailed=False)
    labelled = np.zeros(n, dtype=bool)
    train_rows = [prior_inc, prior_exc, *extra]
    n_priors = len(train_rows)
    for row in train_rows:
        labelled[row] = True
        tracker.add_ranked(bool(labels[row]))
    found = int(labels[train_rows].sum())
    served_model: list[float] = []  # each served work's standardised model score when served
    served_scores: dict[int, float] = {}
    weight: float | None = None
    ranked: list[int] = []
    branch: StoppingTracker | None = None
    sampled: list[int] = []
    queue: list[int] = []
    fitted_at = -1
    while True:
        if branch is None and tracker.switch_suggested:
            branch, sampled = _sample(tracker, labels, labelled, rng)
        if found >= total:
            if branch is None:  # only excludes are left: no model needed to know the rest
                branch, sampled = _finish_ranked(tracker, labels, labelled, rng)
            break
        n_labelled = len(train_rows)
        if not queue or n_labelled - fitted_at >= retrain_batch(max(fitted_at, 1), retrain_fraction):
            queue, blended = _refit_queue(
                matrix,
                labels,
                ranker,
                prior,
                adaptive,
                labelled,
                train_rows,
                fitted_at,
                n_priors,
                served_model,
            )
            if blended is not None:
                weight, served_scores = blended
            fitted_at = n_labelled
        row = queue.pop()
        if prior is not None and adaptive is None:
            served_model.append(served_scores[row])
        labelled[row] = True
        train_rows.append(row)
        ranked.append(int(labels[row]))
        found += int(labels[row])
        tracker.add_ranked(bool(labels[row]))
    assert branch is not None
    ranked_array = np.asarray(ranked, dtype=np.int8)
    padded = np.zeros(n - n_priors, dtype=np.int8)
    padded[: ranked_array.size] = ranked_array
    with_priors = np.concatenate([labels[train_rows[:n_priors]], ranked_array])
    to_95 = metrics.records_to_recall(with_priors, 0.95, total_includes=total)
    stopped, stop_at, recall_at_stop, p_value, switch_at, sampled_array = _stop_figures(
        branch, sampled, stopping, with_priors, n, total, seed
    )
    return RunResult(
        seed=seed,
        priors=(prior_inc, prior_exc),
        wss95=100 * metrics.wss(padded, 0.95),
        rrf10=100 * metrics.rrf(padded, 0.10),
        loss=metrics.loss(padded),
        records_to_95=to_95 if to_95 is not None else n,
        switch_at=switch_at,
        stop_at=stop_at,
        stopped_by_rule=stopped,
        recall_at_stop=recall_at_stop,
        p_value_at_stop=p_value,
        seconds=time.perf_counter() - started,
        ranked_labels=ranked_array,
        sampled_labels=sampled_array,
        n_includes=total,
        seed_rows=tuple(extra),
        prior_weight=weight,
        signal_weights=(
            {k: round(v, 4) for k, v in adaptive.weights().items()} if adaptive is not None else None
        ),
    )


def _refit_queue(
    matrix: Any,
    labels: NDArray[np.int8],
    ranker: Ranker,
    prior: NDArray[np.float64] | None,
    adaptive: SignalChooser | None,
    labelled: NDArray[np.bool_],
    train_rows: list[int],
    fitted_at: int,
    n_priors: int,
    served_model: list[float],
) -> tuple[list[int], tuple[float, dict[int, float]] | None]:
    """Refit on the works decided so far; the works left in the order to serve them (``pop()``
    from the end), and with a criteria prior blended in, (its weight, model score of each)."""
    pool = np.flatnonzero(~labelled)
    model = ranker.clone().fit(matrix[train_rows], labels[train_rows])
    if adaptive is not None:
        since = train_rows[max(fitted_at, n_priors) :] if fitted_at >= 0 else []
        adaptive.observe(since, labels[since].tolist())
        includes = [r for r in train_rows if labels[r] == 1]
        signals = signal_scores(model, matrix, pool, includes, prior)
        queue = pool[np.argsort(-adaptive.combine(signals), kind="stable")].tolist()[::-1]
        adaptive.remember(pool, signals)
        return queue, None
    if prior is None:
        return pool[model.rank(matrix[pool])].tolist()[::-1], None  # pop() from the end
    model_z = standardised(model.decision_function(matrix[pool]))
    served = train_rows[n_priors:]
    weight = blend_weight(served_model, prior[served], labels[served])
    scores = blend(model_z, prior[pool], weight)
    queue = pool[np.argsort(-scores, kind="stable")].tolist()[::-1]
    return queue, (weight, dict(zip(pool.tolist(), model_z.tolist(), strict=True)))


def _stop_figures(
    branch: StoppingTracker,
    sampled: list[int],
    stopping: StoppingMethod | None,
    with_priors: NDArray[np.int8],
    n: int,
    total: int,
    seed: int,
) -> tuple[bool, int, float, float | None, int | None, NDArray[np.int8]]:
    """(stopped by the rule, stop at, recall at stop, p-value, switch at, labels sampled): of the
    live rule's branch, or of ``stopping`` replayed on the ranked order (the rest: excludes)."""
    stopped = branch.stopped_at is not None
    stop_at = branch.stopped_at if branch.stopped_at is not None else n
    recall_at_stop = branch.includes_found / total if stopped else 1.0
    p_value = branch.last_test.p_value if branch.last_test is not None else None
    switch_at = (n - branch.population) if branch.population is not None else None
    sampled_array = np.asarray(sampled, dtype=np.int8)
    if stopping is not None:  # another method: replayed on the ranked order (rest: excludes)
        order = np.zeros(n, dtype=np.int8)
        order[: with_priors.size] = with_priors
        stop = stopping.replay(order, np.random.default_rng([seed, 0x570]))
        stopped, stop_at, recall_at_stop = stop.stopped, stop.stop_at, stop.recall
        p_value = switch_at = None
        sampled_array = np.zeros(0, dtype=np.int8)
    return stopped, stop_at, recall_at_stop, p_value, switch_at, sampled_array


def _sample(
    tracker: StoppingTracker, labels: NDArray[np.int8], labelled: NDArray[np.bool_], rng: np.random.Generator
) -> tuple[StoppingTracker, list[int]]:
    """The realistic branch from here: random sampling of the rest until the rule is met."""
    branch = copy.deepcopy(tracker)
    branch.start_sampling()
    sampled: list[int] = []
    for row in rng.permutation(np.flatnonzero(~labelled)).tolist():
        label = int(labels[row])
        sampled.append(label)
        if branch.add_sampled(bool(label)).met:
            break
    return branch, sampled


def _finish_ranked(
    tracker: StoppingTracker,
    labels: NDArray[np.int8],
    labelled: NDArray[np.bool_],
    rng: np.random.Generator,
) -> tuple[StoppingTracker, list[int]]:
    """All includes found before the switch: screen excludes until it comes (or none are left)."""
    follow = copy.deepcopy(tracker)
    left = int((~labelled).sum())
    while left and not follow.switch_suggested:
        follow.add_ranked(False)
        left -= 1
    if not left:
        return follow, []
    mask = labelled.copy()
    mask[np.flatnonzero(~mask)[: int((~labelled).sum()) - left]] = True  # which ones: immaterial
    return _sample(follow, labels, mask, rng)


def simulate(
    texts: Sequence[str],
    labels: ArrayLike,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    ranker: Ranker | None = None,
    features: TextFeatures | None = None,
    rule: StoppingRule | None = None,
    heuristic: SwitchHeuristic | None = None,
    stopping: StoppingMethod | None = None,
    retrain_fraction: float = 0.02,
    notes: Sequence[str] = (),
    progress: Callable[[int, RunResult], None] | None = None,
    criteria: str | None = None,
    seed_rows: Sequence[int] = (),
    ranker_kind: str = "default",
    signals: Sequence[str] | None = None,
) -> SimulationResult:
    """Simulate screening ``texts`` with known ``labels`` (1 include, 0 exclude), once per seed.

    ``criteria``: text of what the review looks for (inclusion criteria, text of seed studies
    not in the dataset); when given, each refit orders the works by the model's scores blended
    with the criteria's (see :mod:`scoping.screen.prior`), the weight learned from the
    decisions. ``seed_rows``: works known to be relevant beforehand, screened first with the
    two random priors (their labels are used as they stand).

    ``retrain_fraction``: the model is refitted after every decision for the first works, then
    after each further ``retrain_fraction`` of the decisions made so far (as a background
    retrain would keep up). ``progress`` is called after each seed.

    ``ranker_kind`` ``"adaptive"``: at each refit the ranker's SVM and naive Bayes scores, the
    cosine to the includes found and the criteria prior (if given) are weighed by a
    :class:`~scoping.screen.rank_model.SignalChooser` that learns from how each signal had
    ranked the works decided since the previous refit; ``signals`` keeps only those named
    (for measuring what each adds).
    """
    label_array = _checked_labels(texts, labels, seeds, ranker_kind)
    n_inc = int(label_array.sum())
    ranker = ranker or Ranker()
    features = features or TextFeatures()
    rule, heuristic, stopping, replayed = _stopping_parts(rule, heuristic, stopping)
    matrix = features.fit_transform(texts)
    bad = [row for row in seed_rows if not 0 <= row < label_array.size]
    if bad:
        raise ValueError(f"seed rows out of range: {bad[:5]}")
    query = (criteria or "").strip()
    prior = prior_scores(features, matrix, query) if query else None
    runs: list[RunResult] = []
    defaults = _chosen_signals(_signal_defaults(ranker, prior is not None), signals)
    for seed in seeds:
        seeded = type(ranker)(**{**ranker.get_params(), "random_state": seed})
        chooser = SignalChooser(defaults) if ranker_kind == "adaptive" else None
        run = _run(
            matrix,
            label_array,
            int(seed),
            seeded,
            rule,
            heuristic,
            retrain_fraction,
            replayed,
            prior=prior,
            seed_rows=seed_rows,
            adaptive=chooser,
        )
        runs.append(run)
        if progress is not None:
            progress(len(runs), run)
    settings = _simulation_settings(
        features=features,
        ranker=ranker,
        ranker_kind=ranker_kind,
        defaults=defaults,
        retrain_fraction=retrain_fraction,
        seed_rows=seed_rows,
        query=query if prior is not None else None,
        rule=rule,
        replayed=replayed,
        stopping=stopping,
        heuristic=heuristic,
        seeds=seeds,
    )
    return SimulationResult(
        n_records=int(label_array.size), n_includes=n_inc, runs=runs, settings=settings, notes=list(notes)
    )


def _checked_labels(
    texts: Sequence[str], labels: ArrayLike, seeds: Sequence[int], ranker_kind: str
) -> NDArray[np.int8]:
    """The labels as an array; refuses labels, seeds or a ranker a simulation cannot use."""
    label_array = np.asarray(labels, dtype=np.int8).ravel()
    if len(texts) != label_array.size:
        raise ValueError(f"{len(texts)} texts but {label_array.size} labels")
    if not np.isin(label_array, (0, 1)).all():
        raise UsageError("labels must be 0 (exclude) or 1 (include)")
    n_inc = int(label_array.sum())
    if n_inc < 2 or label_array.size - n_inc < 2:
        raise UsageError("a simulation needs at least two includes and two excludes")
    if not seeds:
        raise UsageError("give at least one seed")
    if ranker_kind not in RANKERS:
        raise UsageError(f"unknown ranker {ranker_kind!r}: use one of {', '.join(RANKERS)}")
    return label_array


def _stopping_parts(
    rule: StoppingRule | None, heuristic: SwitchHeuristic | None, stopping: StoppingMethod | None
) -> tuple[StoppingRule, SwitchHeuristic, StoppingMethod, StoppingMethod | None]:
    """(rule, switch heuristic, stopping method, the method replayed after the run or None)."""
    rule = rule or StoppingRule()
    if stopping is None:
        stopping = (
            HypergeometricSample(rule=rule, switch=heuristic)
            if heuristic is not None
            else default_method(rule.recall_target, rule.confidence)
        )
    if isinstance(stopping, HypergeometricSample):  # run live, as a review would
        rule, heuristic, replayed = stopping.rule, stopping.switch, None
    else:
        heuristic, replayed = heuristic or SwitchHeuristic(), stopping
    return rule, heuristic, stopping, replayed


def _chosen_signals(defaults: dict[str, float], signals: Sequence[str] | None) -> dict[str, float]:
    """The adaptive ranker's start weights, kept to ``signals`` when given."""
    if signals is not None:
        unknown = sorted(set(signals) - set(defaults))
        if unknown or not any(defaults[name] > 0 for name in signals):
            raise ValueError(f"signals {list(signals)}: pick from {list(defaults)}, one with a start weight")
        defaults = {name: weight for name, weight in defaults.items() if name in signals}
    return defaults


def _simulation_settings(
    *,
    features: TextFeatures,
    ranker: Ranker,
    ranker_kind: str,
    defaults: dict[str, float],
    retrain_fraction: float,
    seed_rows: Sequence[int],
    query: str | None,
    rule: StoppingRule,
    replayed: StoppingMethod | None,
    stopping: StoppingMethod,
    heuristic: SwitchHeuristic,
    seeds: Sequence[int],
) -> dict[str, Any]:
    """The settings a simulation records with its result (``query``: the criteria, if used)."""
    return {
        "features": {"kind": "tfidf", **features.get_params()},
        "ranker": {
            "kind": "linear-svm" + (" + naive-bayes" if ranker.nb_weight > 0 else ""),
            **{k: v for k, v in ranker.get_params().items() if k != "random_state"},
            **(
                {
                    "adaptive": {
                        "signals": list(defaults),
                        "start_weights": {k: round(v, 4) for k, v in defaults.items()},
                        "weights": "logistic fit of the decisions on each signal's score when "
                        "served, shrunk to the start weights with the strength of 5 includes",
                    }
                }
                if ranker_kind == "adaptive"
                else {}
            ),
        },
        "retrain_fraction": retrain_fraction,
        "priors": "one include and one exclude drawn at random per seed"
        + (f", and {len(seed_rows)} seed stud(ies) found in the dataset" if seed_rows else ""),
        "prior_text": (
            {
                "kind": "tf-idf cosine to the criteria, blended with the model",
                "weight": "logistic fit on the scores of served works (0.5 until both kinds)",
                "characters": len(query),
            }
            if query is not None
            else None
        ),
        "stopping": {
            **(rule.to_dict() if replayed is None else {}),
            "method": stopping.key,
            "description": stopping.describe(),
            "guarantee": stopping.guarantee,
            "recall_target": rule.recall_target,
            "confidence": rule.confidence,
        },
        "switch": heuristic.to_dict(),
        "seeds": [int(s) for s in seeds],
    }


def _signal_defaults(ranker: Ranker, criteria: bool) -> dict[str, float]:
    """The adaptive ranker's start: the default ranker's mix (and the prior's 0.5 share)."""
    model = 1.0 - (0.5 if criteria else 0.0)
    svm = model / (1.0 + ranker.nb_weight)
    out = {"svm": svm}
    if ranker.nb_weight > 0:
        out["nb"] = model - svm
    out["centroid"] = 0.0
    if criteria:
        out["criteria"] = 0.5
    return out


# -- the recall curve ----------------------------------------------------------------------


def plot_recall(result: SimulationResult, path: str | os.PathLike[str], *, title: str = "") -> Path:
    """Write the recall curves of every seed to a PNG at ``path`` (whole or not at all).

    Solid: the ranked order; dotted: the random sample after the switch, up to where the
    stopping rule was met (marked); dashed grey: random screening.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    target = Path(path)
    n = result.n_records
    total = result.n_includes
    figure = Figure(figsize=(7.5, 5), dpi=120)
    axes = figure.add_subplot()
    axes.plot([0, n], [0, 1], linestyle="--", color="0.6", linewidth=1, label="random order")
    colours = matplotlib.colormaps["tab10"]
    for index, run in enumerate(result.runs):
        colour = colours(index % 10)
        prior_found = total - int(run.ranked_labels.sum())  # the priors' includes
        found = prior_found + np.cumsum(run.ranked_labels)
        x = np.concatenate([[run.n_priors], run.n_priors + 1 + np.arange(run.ranked_labels.size)])
        y = np.concatenate([[prior_found], found]) / total
        if x[-1] < n:
            x = np.append(x, n)
            y = np.append(y, 1.0)
        axes.plot(
            x,
            y,
            color=colour,
            linewidth=1.4,
            label=f"seed {run.seed}: WSS@95 {run.wss95:.1f}, loss {run.loss:.3f}",
        )
        if run.switch_at is not None and run.sampled_labels.size:
            before = _found_before(run)
            sx = run.switch_at + np.arange(run.sampled_labels.size + 1)
            sy = (before + np.concatenate([[0], np.cumsum(run.sampled_labels)])) / total
            axes.plot(sx, sy, color=colour, linewidth=1, linestyle=":")
        if run.stopped_by_rule:
            axes.plot(
                [run.stop_at],
                [run.recall_at_stop],
                marker="o",
                color=colour,
                markersize=6,
                markeredgecolor="black",
            )
    axes.set_xlim(0, n)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("records screened")
    axes.set_ylabel("recall (share of includes found)")
    axes.set_title(title or f"Recall curves: {n:,} records, {total:,} includes")
    axes.grid(True, linewidth=0.3)
    axes.legend(
        loc="lower right",
        fontsize=8,
        title="dots: random sample until the stopping rule (o) was met",
        title_fontsize=7,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        figure.savefig(tmp_name, format="png")
        replace_into(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def _found_before(run: RunResult) -> int:
    """Includes found (priors included) when sampling began."""
    assert run.switch_at is not None
    ranked_seen = max(0, min(run.ranked_labels.size, run.switch_at - run.n_priors))
    prior_found = run.n_includes - int(run.ranked_labels.sum())
    return prior_found + int(run.ranked_labels[:ranked_seen].sum())
