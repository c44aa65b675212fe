"""Where each work stands: the screening stage's rules over the rows the store keeps.

The final outcome of a work at a stage is derived from the decisions and resolutions, never
typed: :func:`derive_outcome` is the one rule (the carry-forward of decisions when works join
or split, :mod:`scoping.screen.carry`, compares outcomes with it too), :func:`final_outcomes`
applies it to every work of a stage, and
:func:`outcome_rows` gives the rows the PRISMA report counts. The stopping rule's state
(:func:`standing_stop`, :func:`automation_excluded`, :func:`stopping_rule_note`) is read here
from its stored events.

The same rule for one outcome, "included at title-abstract", is also written in SQL for
row-level security in team mode (:func:`scoping.store.team.included_at_title_abstract`), because
a reviewer's connection must learn it without reading a colleague's rows;
``tests/test_team_roles.py`` checks with hypothesis that the two agree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from scoping.errors import UsageError
from scoping.screen.protocol import FULL_TEXT, STAGES, TITLE_ABSTRACT
from scoping.store import Store
from scoping.store import screen_tables as tables

__all__ = [
    "OUTCOMES",
    "Outcome",
    "automation_excluded",
    "derive_outcome",
    "final_outcomes",
    "outcome_rows",
    "standing_stop",
    "stopping_rule_note",
    "touched_works",
    "vanished_works",
]

OUTCOMES = ("include", "exclude", "not-retrieved", "pending", "conflict")
"""What :func:`derive_outcome` gives: a final decision, or why there is none yet."""


def derive_outcome(
    stage: str,
    assigned: Collection[str],
    decisions: Mapping[str, tuple[str, str | None]],
    resolution: tuple[str, str | None] | None = None,
) -> tuple[str, str | None] | None:
    """The one rule that turns decisions into a work's outcome at a stage.

    ``assigned`` are the reviewers the work was allocated to; ``decisions`` maps each reviewer
    with a current decision to ``(decision, reason)``; ``resolution`` is the lead's standing
    resolution. Returns ``(outcome, reason)`` or ``None`` when nobody has decided yet:

    - a lead's resolution settles the work, whatever the reviewers said;
    - while an assigned reviewer has not decided: "pending";
    - every reviewer gave the same decision: that decision ("maybe" excepted);
    - otherwise "conflict": include against exclude, any "maybe" (also a single reviewer's),
      "not-retrieved" against a decision, or, at full text, two different exclusion reasons.

    The reason of an agreed exclusion is the reason the reviewers share (``None`` if they gave
    different ones at title-abstract, where reasons are optional).
    """
    if resolution is not None:
        return resolution
    if not decisions:
        return None
    if any(name not in decisions for name in assigned):
        return ("pending", None)
    given = {value for value, _ in decisions.values()}
    if "maybe" in given or len(given) != 1:
        return ("conflict", None)
    (value,) = given
    reasons = {reason for _, reason in decisions.values()}
    if value == "exclude" and stage == "full-text" and len(reasons) != 1:
        return ("conflict", None)
    reason = next(iter(reasons)) if len(reasons) == 1 else None
    return (value, reason if value == "exclude" else None)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a work stands at a stage: a final decision, or "pending"/"conflict"."""

    work_id: int
    stage: str
    outcome: str
    reason: str | None
    resolved_by: str | None = None
    """The lead whose resolution settled it (``None``: the reviewers agreed, or no outcome yet)."""


def final_outcomes(store: Store, stage: str) -> dict[int, Outcome]:
    """The outcome of every work at ``stage`` that has a decision or a resolution (by
    :func:`derive_outcome`): "include", "exclude", "not-retrieved" (final), or
    "pending"/"conflict". Works nobody has decided yet are left out.

    Works that no longer exist (see :func:`vanished_works`) are left out, and at full text so
    are works whose title-abstract outcome is no longer "include" (a lead changed it after
    they were allocated for full text).
    """
    if stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r}; use {' or '.join(STAGES)}")
    existing = set(tables.work_ids(store))
    if stage == FULL_TEXT:
        existing &= {w for w, o in final_outcomes(store, TITLE_ABSTRACT).items() if o.outcome == "include"}
    assigned = tables.assigned_reviewers(store, stage)
    by_work: dict[int, dict[str, tuple[str, str | None]]] = {}
    for (work, reviewer), row in tables.current_decisions(store, stage).items():
        by_work.setdefault(work, {})[reviewer] = (row.decision, row.reason)
    resolutions = tables.current_resolutions(store, stage)
    out: dict[int, Outcome] = {}
    for work in sorted((by_work.keys() | resolutions.keys()) & existing):
        resolution = resolutions.get(work)
        derived = derive_outcome(
            stage,
            assigned.get(work, ()),
            by_work.get(work, {}),
            (resolution.decision, resolution.reason) if resolution is not None else None,
        )
        if derived is not None:
            settled = resolution is not None and resolution.decision != "conflict"
            out[work] = Outcome(
                work, stage, derived[0], derived[1], resolution.lead if settled and resolution else None
            )
    return out


def outcome_rows(store: Store) -> Iterator[tuple[int, str, str, str | None]]:
    """``(work id, stage, outcome, reason)`` of every work with an outcome, both stages.

    The rows the PRISMA report counts (:func:`scoping.report.facts.prisma_facts`): the outcomes
    of :func:`final_outcomes`, and at title-abstract the works the stopping rule excluded
    ("automation").
    """
    for stage in STAGES:
        found = final_outcomes(store, stage)
        for outcome in found.values():
            yield (outcome.work_id, stage, outcome.outcome, outcome.reason)
        if stage == TITLE_ABSTRACT:
            for work in automation_excluded(store):
                if work not in found:
                    yield (work, stage, "automation", None)


def vanished_works(store: Store, stage: str) -> list[int]:
    """Works allocated at ``stage`` that no longer exist: de-duplication joined them to another
    work after they were allocated. Their decisions and assignments were carried to that work
    (:mod:`scoping.screen.carry`); their own rows stay in the history."""
    existing = set(tables.work_ids(store))
    return sorted({work for work, _ in tables.assignments(store, stage)} - existing)


def standing_stop(
    events: Sequence[tables.StopEvent],
) -> tuple[tables.StopEvent | None, tables.StopEvent | None]:
    """(the sample in force, the stop in force): a "resume" takes back the stop before it, a
    "cancel" the sample."""
    sample: tables.StopEvent | None = None
    stop: tables.StopEvent | None = None
    for event in events:
        if event.event == "sample":
            sample, stop = event, None
        elif event.event == "stop":
            stop = event
        elif event.event == "cancel":
            sample, stop = None, None
        else:
            stop = None
    return sample, stop


def touched_works(store: Store, stage: str) -> set[int]:
    """Works someone has decided on (current decision) or a lead has resolved at ``stage``."""
    return {w for w, _ in tables.current_decisions(store, stage)} | set(
        tables.current_resolutions(store, stage)
    )


def automation_excluded(store: Store, stage: str = TITLE_ABSTRACT) -> list[int]:
    """Works excluded by the stopping rule: once the lead stopped screening, the works of the
    random sample (or, for a stop by the default rule, with no sample, the works nobody had
    decided when it was recorded) that nobody has decided on (or resolved), and that still
    exist."""
    sample, stop = standing_stop(tables.stop_events(store, stage))
    if stop is None:
        return []
    touched = touched_works(store, stage)
    existing = set(tables.work_ids(store))
    listed = tables.stop_sample(store, (sample or stop).id)
    return [w for w in listed if w not in touched and w in existing]


def stopping_rule_note(store: Store) -> str | None:
    """The stopping rule that ended title-abstract screening, for the PRISMA notes."""
    _, stop = standing_stop(tables.stop_events(store, TITLE_ABSTRACT))
    if stop is None:
        return None
    note = stop.details.get("note")
    return str(note) if note else None
