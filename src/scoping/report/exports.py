"""What the report stage hands on: the included works, every decision, a labelled file.

=====================================================  ===========================================
command                                                library call
=====================================================  ===========================================
``scoping export --included [--stage S]``              :func:`included_works`
``scoping export --format asreview``                   :func:`labelled_works`
``scoping decisions export --reviewer LEAD``           :func:`decision_rows`
=====================================================  ===========================================

A work is exported as its merged view (:func:`scoping.dedupe.merge_records`, the view the
report page and ``scoping dedupe show`` give), one record per work, whatever the number of
records de-duplication linked to it. Outcomes come from the screening stage
(:func:`scoping.screen.final_outcomes`): nothing here decides anything.

The file writers live in the ingest stage; :class:`~scoping.app.Review` joins the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scoping import screen
from scoping.dedupe import merge_records
from scoping.errors import UsageError
from scoping.records import Record
from scoping.store import Store

__all__ = [
    "DECISION_EXPORT_COLUMNS",
    "INCLUDED_FIELDS",
    "LABEL_COLUMN",
    "ExportedWork",
    "decision_rows",
    "final_stage",
    "included_works",
    "labelled_works",
]

FINAL = ("include", "exclude", "not-retrieved")
"""Outcomes that are final (not "pending" or "conflict")."""

INCLUDED_FIELDS = ("work_id", "stage", "decision", "reason", "resolved_by")
"""What each exported work carries besides its bibliographic fields (in ``Record.extra``)."""

LABEL_COLUMN = "label_included"
"""ASReview's label column: 1 included, 0 excluded, empty when not decided."""

DECISION_EXPORT_COLUMNS = (
    "decision_id",
    "stage",
    "work_id",
    "reviewer",
    "decision",
    "reason",
    "note",
    "fulltext",
    "via",
    "decided_at",
    "current",
    "resolution",
    "resolution_reason",
    "resolution_note",
    "resolved_by",
    "resolved_at",
    "outcome",
)
"""Columns of ``scoping decisions export``: one row per stored decision, oldest first.

``current`` is 1 for the reviewer's latest decision on the work at the stage (earlier rows
are the history); ``resolution`` and the four columns after it are the lead's latest
resolution of the work at the stage, if any; ``outcome`` is where the work stands there now."""


@dataclass(frozen=True, slots=True)
class ExportedWork:
    """One work as exported: its merged record, and where screening left it."""

    work_id: int
    stage: str
    decision: str | None
    """The final outcome at ``stage`` ("include", "exclude", "not-retrieved"), or ``None``."""
    reason: str | None
    resolved_by: str | None
    record: Record
    """The merged view; ``extra`` holds :data:`INCLUDED_FIELDS` for the writers."""


def final_stage(store: Store, stage: str | None = None) -> str:
    """``stage`` checked, or by default the last stage with a final outcome for some work."""
    if stage is not None:
        if stage not in screen.STAGES:
            raise UsageError(f"unknown stage {stage!r}; use {' or '.join(screen.STAGES)}")
        return stage
    for candidate in reversed(screen.STAGES):
        if any(o.outcome in FINAL for o in screen.final_outcomes(store, candidate).values()):
            return candidate
    raise UsageError(
        "no work has a final screening decision yet; screen and resolve conflicts first "
        "('scoping status --reviewer LEAD' shows what is left)"
    )


def _merged_records(store: Store, work_ids: Sequence[int]) -> dict[int, Record]:
    from scoping.store import screen_tables

    found = screen_tables.works_records(store, list(work_ids))
    out: dict[int, Record] = {}
    for work_id in work_ids:
        merged = merge_records(work_id, found.get(work_id, []))
        values: dict[str, Any] = {name: chosen.value for name, chosen in merged.fields.items()}
        out[work_id] = Record(**values)
    return out


def _exported(work_id: int, stage: str, outcome: screen.Outcome | None, record: Record) -> ExportedWork:
    final = outcome if outcome is not None and outcome.outcome in FINAL else None
    decision = final.outcome if final else None
    reason = final.reason if final else None
    resolved_by = final.resolved_by if final else None
    record.extra = {
        "work_id": work_id,
        "stage": stage,
        "decision": decision,
        "reason": reason,
        "resolved_by": resolved_by,
    }
    return ExportedWork(work_id, stage, decision, reason, resolved_by, record)


def included_works(store: Store, stage: str | None = None) -> list[ExportedWork]:
    """Every work included at ``stage`` (default: :func:`final_stage`), by work id."""
    chosen = final_stage(store, stage)
    outcomes = screen.final_outcomes(store, chosen)
    ids = sorted(w for w, o in outcomes.items() if o.outcome == "include")
    merged = _merged_records(store, ids)
    return [_exported(w, chosen, outcomes[w], merged[w]) for w in ids]


def labelled_works(store: Store, stage: str | None = None) -> list[ExportedWork]:
    """Every screened work with ASReview's label: 1 included at ``stage``, 0 excluded there
    or at an earlier stage (or not retrieved), empty while not final.

    ``record.extra`` holds ``work_id`` and :data:`LABEL_COLUMN` (``1``, ``0`` or ``None``).
    """
    chosen = final_stage(store, stage)
    stages = screen.STAGES[: screen.STAGES.index(chosen) + 1]
    by_stage = {s: screen.final_outcomes(store, s) for s in stages}
    ids = sorted({w for outcomes in by_stage.values() for w in outcomes})
    merged = _merged_records(store, ids)
    out = []
    for work_id in ids:
        label: int | None = None
        settled: screen.Outcome | None = None
        for s in stages:
            outcome = by_stage[s].get(work_id)
            if outcome is None or outcome.outcome not in FINAL:
                break
            settled = outcome
            if outcome.outcome != "include":
                label = 0
                break
            if s == chosen:
                label = 1
        work = _exported(work_id, settled.stage if settled else chosen, settled, merged[work_id])
        work.record.extra = {"work_id": work_id, LABEL_COLUMN: label}
        out.append(work)
    return out


def decision_rows(store: Store, protocol: screen.Protocol, lead: str) -> list[dict[str, Any]]:
    """Every stored decision with its work's resolution and outcome (leads only); the rows
    of ``scoping decisions export``, keyed by :data:`DECISION_EXPORT_COLUMNS`."""
    from scoping.store import screen_tables

    protocol.lead(lead)
    history = screen_tables.decision_history(store)
    resolutions = {(r.work_id, r.stage): r for r in screen_tables.resolution_history(store)}
    latest = {(d.work_id, d.stage, d.reviewer): d.id for d in history}
    outcomes = {s: screen.final_outcomes(store, s) for s in screen.STAGES}
    rows = []
    for d in history:
        resolution = resolutions.get((d.work_id, d.stage))
        outcome = outcomes[d.stage].get(d.work_id) if d.stage in outcomes else None
        rows.append(
            {
                "decision_id": d.id,
                "stage": d.stage,
                "work_id": d.work_id,
                "reviewer": d.reviewer,
                "decision": d.decision,
                "reason": d.reason,
                "note": d.note,
                "fulltext": d.fulltext,
                "via": d.via,
                "decided_at": d.decided_at,
                "current": int(latest[(d.work_id, d.stage, d.reviewer)] == d.id),
                "resolution": resolution.decision if resolution else None,
                "resolution_reason": resolution.reason if resolution else None,
                "resolution_note": resolution.note if resolution else None,
                "resolved_by": resolution.lead if resolution else None,
                "resolved_at": resolution.decided_at if resolution else None,
                "outcome": outcome.outcome if outcome else None,
            }
        )
    return rows
