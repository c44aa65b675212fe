"""Everything the PRISMA 2020 flow is derived from, as plain data: :func:`prisma_facts`.

:func:`prisma_facts` reads, in one call, the store's identification facts
(:func:`scoping.store.report_tables.source_facts` and
:func:`~scoping.store.report_tables.work_facts`), the screening stage's final outcome of every
work at every stage, the stopping rule's note, and the topics stage's number of included works
per topic; :func:`scoping.report.prisma.derive_counts` turns the result into the counts.

The stages are read through ordinary imports:

- **screening**: :func:`scoping.screen.outcome_rows` gives
  ``(work id, stage, outcome, reason)``, at most one row per work and stage, with ``stage`` one
  of :data:`STAGES` and ``outcome`` one of :data:`OUTCOMES` (works without a row are "not yet
  screened"); :func:`scoping.screen.stopping_rule_note` describes the stopping rule
  that ended title-abstract screening, if one did;
- **topics**: :func:`scoping.topics.api.topic_counts` gives ``(topic label, included
  works)`` of the latest fit after the lead's edits, or ``None`` before the first fit (imported
  when called, so that the PRISMA counts load the topic model only when they need it).

=================  ===============  =========================================================
stage              outcome          meaning
=================  ===============  =========================================================
title-abstract     include          final decision (agreed, or settled by the lead): include
title-abstract     exclude          final decision: exclude (``reason`` optional)
title-abstract     pending          some decisions, no final one yet
title-abstract     conflict         reviewers disagree; waiting for the lead
title-abstract     automation       not screened by a person: excluded by the stopping rule
title-abstract     removed          removed before screening for another reason (``reason``)
full-text          include          final decision: include (a study in the review)
full-text          exclude          final decision: exclude (``reason`` required)
full-text          pending          some decisions, no final one yet
full-text          conflict         reviewers disagree; waiting for the lead
full-text          not-retrieved    the full text could not be obtained
=================  ===============  =========================================================

An updated review (the store holds an update search, ``scoping search run --update``) also
gets :class:`UpdateFacts`: every record is in the arm of the search that stored it
(:func:`scoping.search.import_arms`), records from other methods (citation searching, websites,
contacts... imported as their own sources) as much as those from databases, and a work is a
previous one when any of its records came from the previous searches or the previous version's
other methods. ``outcomes`` then counts the new works only, and ``previous_outcomes`` the
previous ones (when they were screened in this store).

Tests and tools that hold outcomes or topics elsewhere pass their own ``screening``,
``stopping_rule`` and ``topics`` functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from scoping.store import Store
from scoping.store.report_tables import (
    RunFacts,
    SourceFacts,
    WorkFacts,
    record_links,
    source_facts,
    work_facts,
)

__all__ = [
    "OUTCOMES",
    "STAGES",
    "ArmFacts",
    "OutcomeTally",
    "PrismaFacts",
    "RunFacts",
    "SourceFacts",
    "TopicCount",
    "UpdateFacts",
    "WorkFacts",
    "prisma_facts",
    "tally_outcomes",
    "update_facts",
]

STAGES = ("title-abstract", "full-text")
OUTCOMES: dict[str, tuple[str, ...]] = {
    "title-abstract": ("include", "exclude", "pending", "conflict", "automation", "removed"),
    "full-text": ("include", "exclude", "pending", "conflict", "not-retrieved"),
}
COLUMNS = ("main", "other")
"""``main``: works with a record from a database or register; ``other``: works found only by
other methods (websites, citation searching...)."""

OutcomeRow = tuple[int, str, str, "str | None"]


@dataclass(frozen=True, slots=True)
class TopicCount:
    name: str
    n: int


@dataclass(frozen=True, slots=True)
class OutcomeTally:
    """Final screening outcomes counted by column, stage and outcome (and reasons of exclusion).

    ``counts[(column, stage, outcome)]`` and ``reasons[(column, stage, outcome)]`` is a
    Counter of reasons (``""`` when none was given).
    """

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    reasons: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    rows: int = 0
    repeated: int = 0
    """(work, stage) pairs given more than once (only the first was counted)."""
    unexpected: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(stage, outcome)`` pairs outside :data:`OUTCOMES`, counted but in no box."""

    def n(self, column: str, stage: str, *outcomes: str) -> int:
        return sum(self.counts.get((column, stage, o), 0) for o in outcomes)

    def reasons_of(self, column: str, stage: str, outcome: str) -> dict[str, int]:
        return dict(self.reasons.get((column, stage, outcome), {}))


@dataclass(frozen=True, slots=True)
class ArmFacts:
    """One source's records in an updated review's previous and new arms."""

    name: str
    previous: int
    """Records stored by the searches before the first update search."""
    new: int
    """Records stored by the update searches (and every later search); none stored twice."""
    duplicates_of_previous: int = 0
    """New records whose work also has a record from the previous searches."""
    found_again: int = 0
    """Records the update searches retrieved that the previous searches had stored (not stored
    again, so in no count of records)."""
    other_method: bool = False
    """A source reported under other methods (``duplicates_of_previous`` then counts its new
    records of previous works, which the other-methods column does not screen again)."""


@dataclass(frozen=True, slots=True)
class UpdateFacts:
    """An updated review: the arms of every source, split at the first update search."""

    since: str
    sources: tuple[ArmFacts, ...]
    previous_works: frozenset[int] = frozenset()
    """Works with a record found by the previous searches (databases, registers or other
    methods)."""
    new_works: int = 0
    """Works with records from databases or registers, none from the previous searches."""
    new_linked: int = 0
    """New records from databases or registers linked to a work."""

    def arm(self, name: str) -> ArmFacts | None:
        return next((a for a in self.sources if a.name == name), None)


@dataclass(frozen=True, slots=True)
class PrismaFacts:
    """Everything the store knows for the PRISMA flow, as plain data."""

    sources: tuple[SourceFacts, ...]
    works: WorkFacts
    outcomes: OutcomeTally | None
    """``None`` when the screening stage has no outcomes in the store."""
    stopping_rule: str | None = None
    topics: tuple[TopicCount, ...] | None = None
    """``None`` when the topics stage has no topics in the store."""
    other_sources: frozenset[str] = frozenset()
    blinded: bool = False
    """Screening's outcomes were left out on purpose: screening is under way and the person
    asking is not a lead (``outcomes`` is then ``None``)."""
    update: UpdateFacts | None = None
    """Set when the store holds an update search; ``outcomes`` then counts new works only."""
    previous_outcomes: OutcomeTally | None = None
    """An updated review's outcomes of the previous works, when they were screened here."""


def tally_outcomes(rows: Iterable[OutcomeRow], other_works: frozenset[int] = frozenset()) -> OutcomeTally:
    """Count final outcomes ``(work, stage, outcome, reason)`` by column, stage and outcome.

    A stage or outcome outside :data:`OUTCOMES` is counted in ``unexpected`` (the report names
    it) rather than raising: a newer screening stage must not stop the report.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    reasons: dict[tuple[str, str, str], Counter[str]] = {}
    seen: set[tuple[int, str]] = set()
    unexpected: Counter[tuple[str, str]] = Counter()
    n_rows = repeated = 0
    for work_id, stage, outcome, reason in rows:
        n_rows += 1
        if outcome not in OUTCOMES.get(stage, ()):
            unexpected[(str(stage), str(outcome))] += 1
            continue
        key = (int(work_id), stage)
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        column = "other" if key[0] in other_works else "main"
        counts[(column, stage, outcome)] += 1
        if outcome in ("exclude", "removed"):
            reasons.setdefault((column, stage, outcome), Counter())[(reason or "").strip()] += 1
    return OutcomeTally(
        counts=dict(counts),
        reasons={k: dict(v) for k, v in reasons.items()},
        rows=n_rows,
        repeated=repeated,
        unexpected=dict(unexpected),
    )


ScreeningProvider = Callable[[Store], "Iterable[OutcomeRow] | None"]
TopicsProvider = Callable[[Store], "Iterable[tuple[str, int]] | None"]


def prisma_facts(
    store: Store,
    *,
    other_sources: Iterable[str] = (),
    screening: ScreeningProvider | None = None,
    stopping_rule: Callable[[Store], str | None] | None = None,
    topics: TopicsProvider | None = None,
    blinded: bool = False,
) -> PrismaFacts:
    """Read what the store and the stages know for the PRISMA flow.

    ``other_sources`` names the sources reported under "other methods" (websites, citation
    searching...). ``screening``, ``stopping_rule`` and ``topics`` replace the stages' own
    functions (see the module docstring); ``stopping_rule`` is read from the screening stage
    only when ``screening`` is not replaced. ``blinded`` leaves out everything screening
    decided (outcomes, the stopping rule, the topics of included works).
    """
    if blinded:
        screening = stopping_rule = topics = _nothing
    others = frozenset(other_sources)
    sources = source_facts(store)
    works = work_facts(store, others)
    if screening is None:
        from scoping.screen.outcomes import outcome_rows, stopping_rule_note

        screening = outcome_rows
        if stopping_rule is None:
            stopping_rule = stopping_rule_note
    if topics is None:
        from scoping.topics.api import topic_counts

        topics = topic_counts
    update = update_facts(store, sources, others)
    tally: OutcomeTally | None = None
    previous_tally: OutcomeTally | None = None
    rows = screening(store)
    if rows is not None:
        if update is not None:
            rows = list(rows)
            before = update.previous_works
            previous_tally = tally_outcomes(r for r in rows if int(r[0]) in before)
            rows = [r for r in rows if int(r[0]) not in before]
            if previous_tally.rows == 0:
                previous_tally = None
        tally = tally_outcomes(rows, works.other_works)
        if tally.rows == 0:
            tally = None
    rule = stopping_rule(store) if stopping_rule is not None else None
    topic_list: tuple[TopicCount, ...] | None = None
    found = topics(store)
    if found is not None:
        topic_list = tuple(TopicCount(str(name), int(n)) for name, n in found) or None
    return PrismaFacts(
        sources=tuple(sources),
        works=works,
        outcomes=tally,
        stopping_rule=rule,
        topics=topic_list,
        other_sources=others,
        blinded=blinded,
        update=update,
        previous_outcomes=previous_tally,
    )


def update_facts(
    store: Store, sources: Iterable[SourceFacts], other_sources: frozenset[str] = frozenset()
) -> UpdateFacts | None:
    """The arms of an updated review, or ``None`` when the store holds no update search."""
    if not any(source.runs for source in sources):
        return None  # no search log: no update search
    from scoping.search import import_arms, update_arms

    since, arm_of = import_arms(store)
    if since is None:
        return None
    _, logged = update_arms(store, since=since)
    found_again = {a.database.casefold(): a.found_again for a in logged}
    links = record_links(store)
    previous_works = frozenset(
        work for import_id, _source, work in links if work is not None and arm_of.get(import_id) == "previous"
    )
    previous: Counter[str] = Counter()
    new: Counter[str] = Counter()
    duplicates: Counter[str] = Counter()
    new_work_ids: set[int] = set()
    new_linked = 0
    for import_id, source, work in links:
        if arm_of.get(import_id) != "new":
            previous[source] += 1
            continue
        new[source] += 1
        if work is None:
            continue
        if source in other_sources:  # the other-methods column: no box of duplicates
            duplicates[source] += work in previous_works
            continue
        new_linked += 1
        if work in previous_works:
            duplicates[source] += 1
        else:
            new_work_ids.add(work)
    arms = tuple(
        ArmFacts(
            name=name,
            previous=previous[name],
            new=new[name],
            duplicates_of_previous=duplicates[name],
            found_again=found_again.get(name.casefold(), 0),
            other_method=name in other_sources,
        )
        for name in sorted(set(previous) | set(new))
    )
    return UpdateFacts(
        since=since,
        sources=arms,
        previous_works=previous_works,
        new_works=len(new_work_ids),
        new_linked=new_linked,
    )


def _nothing(_store: Store) -> None:
    return None
