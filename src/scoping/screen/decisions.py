"""Decisions, conflicts, a lead's resolutions, final outcomes and progress.

- :func:`record_decision` checks a reviewer's decision against the protocol and appends it;
  :func:`withdraw_decision` appends an "undone" row. Nothing is overwritten: the latest row
  per (stage, work, reviewer) is the current decision, and the history stays.
- :func:`load_decisions_csv` takes decisions made elsewhere, checks every row and stores all of
  them or none.
- :func:`conflicts` and :func:`resolve` are for leads only; the outcome of every work is derived
  in :mod:`scoping.screen.outcomes`.
- :func:`status` counts progress, showing a reviewer only their own counts.
- :data:`SIMULATED_VIA`, :data:`SIMULATED_NOTE` and :data:`SIMULATED_LEAD_NOTE` mark what a
  simulated reviewer (the demo's) stored, so nothing can pass for a person's: the report and
  the automation statement count simulated decisions by these markers.

Blinding is enforced here, not only in the commands: every function that shows more than a
reviewer's own work takes the name of the person asking and refuses anyone but a lead.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scoping.errors import DecidedElsewhereError, UsageError
from scoping.screen.allocation import eligible_works
from scoping.screen.outcomes import automation_excluded, final_outcomes, vanished_works
from scoping.screen.protocol import FULL_TEXT, STAGES, TITLE_ABSTRACT, Protocol, Reviewer
from scoping.store import Store, dedupe_tables
from scoping.store import screen_tables as tables
from scoping.store.screen_tables import DecisionRow, ResolutionRow

__all__ = [
    "CSV_COLUMNS",
    "SIMULATED_LEAD_NOTE",
    "SIMULATED_NOTE",
    "SIMULATED_VIA",
    "Conflict",
    "CsvReport",
    "ReviewerProgress",
    "StageStatus",
    "check_decision",
    "choices",
    "conflicts",
    "load_decisions_csv",
    "new_uid",
    "record_decision",
    "record_decisions",
    "resolve",
    "status",
    "withdraw_decision",
    "work_decisions",
]

SIMULATED_VIA = "demo-simulation"
"""The ``via`` of every decision a simulated reviewer stores (how a simulated decision is told
from a person's; the value is in stores already made, so it never changes)."""
SIMULATED_NOTE = "simulated reviewer (demo)"
"""The note of every decision a simulated reviewer stores."""
SIMULATED_LEAD_NOTE = "settled by the simulated lead (demo) from the published decision"
"""The note of every resolution a simulated lead stores (resolutions have no ``via``)."""

_ALIASES = {
    "in": "include",
    "included": "include",
    "ex": "exclude",
    "excluded": "exclude",
    "not retrieved": "not-retrieved",
    "not_retrieved": "not-retrieved",
    "notretrieved": "not-retrieved",
    "unsure": "maybe",
}


def new_uid() -> str:
    """A fresh identifier for one decision (makes a retried write store it once)."""
    return uuid.uuid4().hex


def choices(stage: str, *, resolution: bool = False) -> tuple[str, ...]:
    """The decisions allowed at ``stage`` (a lead's resolution cannot be "maybe")."""
    base = ("include", "exclude") if resolution else ("include", "exclude", "maybe")
    return (*base, "not-retrieved") if stage == FULL_TEXT else base


def check_decision(
    protocol: Protocol,
    stage: str,
    decision: str,
    reason: str | None = None,
    fulltext: str | None = None,
    *,
    resolution: bool = False,
) -> tuple[str, str | None]:
    """The decision and reason in their stored form, or a :class:`UsageError` saying what is wrong.

    A reason goes with "exclude" only and must be one of the stage's exclusion reasons (any
    case); it is required at full text. A full-text link is for the full-text stage only.
    """
    rules = protocol.stage(stage)
    value = " ".join(decision.split()).casefold()
    value = _ALIASES.get(value, value)
    allowed = choices(stage, resolution=resolution)
    if value not in allowed:
        raise UsageError(f"{decision!r} is not a decision at {stage}; use {', '.join(allowed)}")
    text = reason.strip() if reason else None
    if value != "exclude":
        if text:
            raise UsageError(f"a reason goes with exclude only, not with {value}")
        canonical = None
    elif text:
        match = [r for r in rules.exclusion_reasons if r.casefold() == text.casefold()]
        if not match:
            listed = "; ".join(rules.exclusion_reasons) or "none are listed in the protocol"
            raise UsageError(f"{text!r} is not an exclusion reason at {stage} (the reasons: {listed})")
        canonical = match[0]
    elif rules.reason_required:
        raise UsageError(f"excluding at {stage} needs a reason: {'; '.join(rules.exclusion_reasons)}")
    else:
        canonical = None
    if fulltext and fulltext.strip() and stage != FULL_TEXT:
        raise UsageError("a full-text link belongs to the full-text stage")
    return value, canonical


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


def record_decision(
    store: Store,
    protocol: Protocol,
    reviewer: str,
    stage: str,
    work_id: int,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    fulltext: str | None = None,
    via: str = "api",
    uid: str | None = None,
    check_current: bool = False,
    seen: int | None = None,
) -> DecisionRow:
    """Check and append one decision; it is committed when this returns.

    With ``check_current``, the reviewer's current decision on the work must still be the
    stored row ``seen`` (``None``: none), the one the caller showed; if another session of the
    reviewer changed it meanwhile, nothing is stored and :class:`DecidedElsewhereError` says
    what it is now (a screen asks before replacing it).
    """
    person = protocol.reviewer(reviewer)
    value, canonical = check_decision(protocol, stage, decision, reason, fulltext)
    try:
        return tables.add_decision(
            store,
            uid=uid or new_uid(),
            stage=stage,
            work_id=work_id,
            reviewer=person.name,
            decision=value,
            reason=canonical,
            note=_clean(note),
            fulltext=_clean(fulltext),
            via=via,
            require_assignment=True,
            check_current=check_current,
            seen=seen,
        )
    except tables.ChangedMeanwhileError as exc:
        raise _elsewhere(exc) from None
    except tables.NotAssignedError:
        now = dedupe_tables.works_of(store, [work_id]).get(work_id)
        if now is not None and now != work_id:
            raise UsageError(
                f"work {work_id} was joined to work {now} in de-duplication; decide on work {now} "
                "(decisions already made on it went with it)"
            ) from None
        raise UsageError(f"work {work_id} is not assigned to you at {stage}") from None


def record_decisions(
    store: Store,
    protocol: Protocol,
    reviewer: str,
    stage: str,
    decided: Sequence[tuple[int, str, str | None, str | None]],
    *,
    via: str = "api",
) -> int:
    """Check and append many decisions of one reviewer at one stage, ``(work_id, decision,
    reason, note)`` each, in one transaction: all of them, or (when one fails its check, a
    :class:`~scoping.errors.UsageError` naming it) none. Each is checked as
    :func:`record_decision` checks one, and its work must be assigned to the reviewer at the
    stage, once. Returns how many were stored.

    For batch work (the demo's simulated reviewers): one commit instead of one per decision,
    which on a disk with SQLite's ``synchronous=FULL`` is one sync to disk instead of
    hundreds. A person's screen stores each decision as it is made (:func:`record_decision`).
    """
    person = protocol.reviewer(reviewer)
    assigned = set(tables.assigned_works(store, stage, person.name))
    rows: list[dict[str, object]] = []
    seen: set[int] = set()
    for work_id, decision, reason, note in decided:
        if work_id not in assigned:
            raise UsageError(f"work {work_id} is not assigned to {person.name} at {stage}")
        if work_id in seen:
            raise UsageError(f"work {work_id} is decided twice in one batch")
        seen.add(work_id)
        value, canonical = check_decision(protocol, stage, decision, reason, None)
        row = {"uid": new_uid(), "stage": stage, "work_id": work_id, "reviewer": person.name}
        rows.append({**row, "decision": value, "reason": canonical, "note": _clean(note)})
    return tables.add_decisions(store, rows, via=via)


def withdraw_decision(
    store: Store,
    protocol: Protocol,
    reviewer: str,
    stage: str,
    work_id: int,
    *,
    via: str = "api",
    note: str | None = None,
    seen: int | None = None,
) -> DecisionRow | None:
    """Withdraw the reviewer's current decision on a work (appends "undone"); ``None`` if
    there was none. With ``seen`` (a stored row id), only if that row is still the current
    decision: :class:`DecidedElsewhereError` if another session changed it meanwhile."""
    person = protocol.reviewer(reviewer)
    protocol.stage(stage)
    if seen is None and tables.current_decision(store, stage, work_id, person.name) is None:
        return None
    try:
        return tables.add_decision(
            store,
            uid=new_uid(),
            stage=stage,
            work_id=work_id,
            reviewer=person.name,
            decision="undone",
            note=_clean(note),
            via=via,
            check_current=seen is not None,
            seen=seen,
        )
    except tables.ChangedMeanwhileError as exc:
        raise _elsewhere(exc) from None


def _elsewhere(exc: tables.ChangedMeanwhileError) -> DecidedElsewhereError:
    now = exc.current
    if now is None:
        return DecidedElsewhereError(exc.work_id, None)
    return DecidedElsewhereError(
        exc.work_id, f"{now.decision} ({now.reason})" if now.reason else now.decision, now.id
    )


# -- decisions from a CSV file ---------------------------------------------------------------

CSV_COLUMNS = ("work_id", "decision", "reason", "note", "fulltext")
"""Columns of a decisions file; ``record_id`` may stand in for ``work_id``."""


@dataclass(slots=True)
class CsvReport:
    """What loading a decisions file did. With ``errors``, nothing was stored."""

    rows: int = 0
    added: int = 0
    unchanged: int = 0
    undecided: int = 0
    """Rows with an empty decision (a worksheet's works not screened yet): left alone."""
    errors: list[str] = field(default_factory=list)


def load_decisions_csv(
    store: Store, protocol: Protocol, reviewer: str, stage: str, path: str | Path, *, max_errors: int = 50
) -> CsvReport:
    """Store a reviewer's decisions from a CSV file, checked row by row, all or none.

    Columns (header row, any order, any case): ``work_id`` (or ``record_id``), ``decision``,
    and optionally ``reason``, ``note``, ``fulltext`` (a worksheet from
    :func:`~scoping.screen.worksheet` has them all). Rows with an empty decision are left for
    later. Every other row must name a work assigned to the reviewer at ``stage``, once. Rows
    that repeat the reviewer's current decision are left out; the rest are appended in one
    transaction.
    """
    person = protocol.reviewer(reviewer)
    protocol.stage(stage)
    where = Path(path)
    reader, id_column, index = _open_csv(where)
    report = CsvReport()
    parsed = _parse_rows(reader, id_column, index, protocol, stage, report)
    if id_column == "record_id":
        found = dedupe_tables.works_of(store, [given for _, given, *_ in parsed])
        work_of = {line: found.get(given) for line, given, *_ in parsed}
    else:
        work_of = {line: given for line, given, *_ in parsed}
    rows = _new_decisions(store, person.name, stage, parsed, work_of, report)
    if len(report.errors) > max_errors:
        more = len(report.errors) - max_errors
        report.errors = [*report.errors[:max_errors], f"... and {more:,} more problems"]
    if report.errors:
        return report
    report.added = tables.add_decisions(store, rows, via=f"csv:{where.name}")
    return report


_Parsed = tuple[int, int, str, str | None, str | None, str | None]
"""A decided row of a decisions CSV: line, work (or record) id, decision, reason, note, full text."""


def _open_csv(where: Path) -> tuple[Iterator[list[str]], str, dict[str, int]]:
    """The rows after the header of a decisions CSV (UTF-8; comma, semicolon or tab), the name
    of its id column (``work_id`` or ``record_id``), and the position of each known column."""
    try:
        raw = where.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from exc
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise UsageError(f"{where} is empty; it needs a header row with work_id and decision")
    columns = [h.strip().casefold().replace(" ", "_") for h in header]
    id_column = "work_id" if "work_id" in columns else "record_id" if "record_id" in columns else None
    if id_column is None or "decision" not in columns:
        raise UsageError(
            f"{where}: the header needs work_id (or record_id) and decision columns; "
            f"it has {', '.join(h for h in header if h) or 'none'}"
        )
    index = {name: columns.index(name) for name in (*CSV_COLUMNS, "record_id") if name in columns}
    return reader, id_column, index


def _parse_rows(
    reader: Iterator[list[str]],
    id_column: str,
    index: dict[str, int],
    protocol: Protocol,
    stage: str,
    report: CsvReport,
) -> list[_Parsed]:
    """The decided rows, each checked on its own (blank rows skipped, undecided ones counted,
    a row in error told in ``report``)."""
    parsed: list[_Parsed] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        report.rows += 1

        def cell(name: str, row: list[str] = row) -> str | None:
            i = index.get(name)
            return row[i].strip() if i is not None and i < len(row) and row[i].strip() else None

        if cell("decision") is None:
            report.undecided += 1
            continue
        try:
            value = cell(id_column)
            if value is None or not value.isdigit():
                raise UsageError(f"{id_column} {value!r} is not a number")
            decision, reason = check_decision(
                protocol, stage, cell("decision") or "", cell("reason"), cell("fulltext")
            )
        except UsageError as exc:
            report.errors.append(f"line {line}: {exc}")
            continue
        parsed.append((line, int(value), decision, reason, cell("note"), cell("fulltext")))
    return parsed


def _new_decisions(
    store: Store,
    reviewer: str,
    stage: str,
    parsed: list[_Parsed],
    work_of: dict[int, int | None],
    report: CsvReport,
) -> list[dict[str, object]]:
    """The rows to append: each parsed row on a work assigned to ``reviewer``, once, unless it
    repeats the reviewer's current decision (counted in ``report``, as are the errors)."""
    assigned = set(tables.assigned_works(store, stage, reviewer))
    current = tables.current_decisions(store, stage, reviewer=reviewer)
    seen: dict[int, int] = {}
    rows: list[dict[str, object]] = []
    for line, given, decision, reason, note, fulltext in parsed:
        work = work_of.get(line)
        if work is None:
            report.errors.append(f"line {line}: there is no record {given}")
            continue
        if work not in assigned:
            report.errors.append(f"line {line}: work {work} is not assigned to you at {stage}")
            continue
        if work in seen:
            report.errors.append(f"line {line}: work {work} was already decided on line {seen[work]}")
            continue
        seen[work] = line
        now = current.get((work, reviewer))
        if now is not None and (now.decision, now.reason, now.note, now.fulltext) == (
            decision,
            reason,
            note,
            fulltext,
        ):
            report.unchanged += 1
            continue
        rows.append(
            {
                "uid": new_uid(),
                "stage": stage,
                "work_id": work,
                "reviewer": reviewer,
                "decision": decision,
                "reason": reason,
                "note": note,
                "fulltext": fulltext,
            }
        )
    return rows


# -- conflicts, resolutions, outcomes --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conflict:
    """A work the reviewers' decisions do not settle, with every current decision on it."""

    work_id: int
    stage: str
    kind: str
    """"include vs exclude", "maybe", "exclude vs not-retrieved", "different reasons"..."""
    decisions: tuple[DecisionRow, ...]
    note: str | None = None
    """Why the work came back to the lead when it is not the decisions alone (de-duplication
    joined two works with different outcomes)."""


def _kind(rows: Sequence[DecisionRow]) -> str:
    given = sorted({r.decision for r in rows})
    if "maybe" in given:
        return "maybe"
    if len(given) > 1:
        return " vs ".join(given)
    return "different reasons"


def conflicts(store: Store, protocol: Protocol, viewer: str, stage: str = TITLE_ABSTRACT) -> list[Conflict]:
    """The works waiting for a lead at ``stage``, oldest work first. Leads only."""
    protocol.lead(viewer)
    protocol.stage(stage)
    found = [w for w, o in final_outcomes(store, stage).items() if o.outcome == "conflict"]
    if not found:
        return []
    wanted = set(found)
    by_work: dict[int, list[DecisionRow]] = {}
    for (work, _), row in tables.current_decisions(store, stage).items():
        if work in wanted:
            by_work.setdefault(work, []).append(row)
    reopened = {
        work: row.note
        for work, row in tables.current_resolutions(store, stage).items()
        if row.decision == "conflict" and work in wanted
    }
    out = []
    for work in sorted(found):
        rows = sorted(by_work.get(work, []), key=lambda r: r.reviewer)
        kind = "joined works differ" if work in reopened else _kind(rows)
        out.append(Conflict(work, stage, kind, tuple(rows), reopened.get(work)))
    return out


def work_decisions(
    store: Store, protocol: Protocol, viewer: str, stage: str, work_id: int
) -> list[DecisionRow]:
    """Every reviewer's current decision on one work, by reviewer name. Leads only."""
    protocol.lead(viewer)
    protocol.stage(stage)
    latest: dict[str, DecisionRow] = {}
    for row in tables.decision_history(store, stage, work_id=work_id):
        latest[row.reviewer] = row
    return sorted((r for r in latest.values() if r.decision != "undone"), key=lambda r: r.reviewer)


def resolve(
    store: Store,
    protocol: Protocol,
    lead: str,
    stage: str,
    work_id: int,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    uid: str | None = None,
) -> ResolutionRow:
    """A lead settles a work at ``stage`` (appended; the latest resolution stands)."""
    person = protocol.lead(lead)
    value, canonical = check_decision(protocol, stage, decision, reason, resolution=True)
    if not tables.assigned_reviewers(store, stage, [work_id]):
        raise UsageError(f"work {work_id} is not allocated at {stage}; see 'scoping conflicts'")
    return tables.add_resolution(
        store,
        uid=uid or new_uid(),
        stage=stage,
        work_id=work_id,
        lead=person.name,
        decision=value,
        reason=canonical,
        note=_clean(note),
    )


# -- progress --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewerProgress:
    reviewer: str
    assigned: int
    done: int
    decisions: dict[str, int]
    """Current decisions by value: include, exclude, maybe (and not-retrieved at full text)."""

    @property
    def remaining(self) -> int:
        return self.assigned - self.done


@dataclass(frozen=True, slots=True)
class StageStatus:
    """Progress at one stage, as the person asking may see it."""

    stage: str
    reviewers: tuple[ReviewerProgress, ...]
    """A lead sees everyone; a reviewer only themselves."""
    works: int | None = None
    """Works that may be screened at this stage (leads only)."""
    allocated: int | None = None
    """Works with an assignment at this stage (leads only)."""
    outcomes: dict[str, int] | None = None
    """Works by outcome, plus "not started" (leads only)."""
    vanished: int | None = None
    """Allocated works that de-duplication later joined to another work (leads only)."""


def _progress(
    person: str, stage: str, assigned: set[int], current: dict[tuple[int, str], DecisionRow]
) -> ReviewerProgress:
    values: Counter[str] = Counter()
    done = 0
    for (work, name), row in current.items():
        if name == person and work in assigned:
            done += 1
            values[row.decision] += 1
    keys = choices(stage)
    return ReviewerProgress(person, len(assigned), done, {k: values.get(k, 0) for k in keys})


def status(
    store: Store, protocol: Protocol, viewer: str, stages: Sequence[str] | None = None
) -> list[StageStatus]:
    """Progress by stage and reviewer: everything for a lead, only their own for a reviewer."""
    person: Reviewer = protocol.reviewer(viewer)
    wanted = list(stages) if stages else [s for s in STAGES if s in protocol.stages]
    out: list[StageStatus] = []
    for stage in wanted:
        protocol.stage(stage)
        # works that left the stage: at full text, no longer included at title-abstract; at
        # title-abstract, excluded by the stopping rule (nobody's to screen any more)
        left = set(automation_excluded(store, stage)) if stage == TITLE_ABSTRACT else set()
        if not person.is_lead:
            mine = set(tables.assigned_works(store, stage, person.name)) - left
            if stage == FULL_TEXT:
                mine &= set(eligible_works(store, stage))
            current = tables.current_decisions(store, stage, reviewer=person.name)
            out.append(StageStatus(stage, (_progress(person.name, stage, mine, current),)))
            continue
        eligible = set(eligible_works(store, stage))
        gone = vanished_works(store, stage)
        gone_set = set(gone)  # joined to another work, which carries their assignments
        by_reviewer: dict[str, set[int]] = {}
        for work, name in tables.assignments(store, stage):
            # at full text, a work whose title-abstract inclusion a lead withdrew has left the
            # stage (its decisions stay in the history)
            if (stage != FULL_TEXT or work in eligible) and work not in left and work not in gone_set:
                by_reviewer.setdefault(name, set()).add(work)
        current = tables.current_decisions(store, stage)
        names = [r.name for r in protocol.reviewers if r.screens or r.name in by_reviewer]
        names += sorted(n for n in by_reviewer if n not in names)
        rows = tuple(_progress(name, stage, by_reviewer.get(name, set()), current) for name in names)
        allocated = set().union(*by_reviewer.values()) if by_reviewer else set()
        works = len(eligible)
        counts: Counter[str] = Counter(o.outcome for o in final_outcomes(store, stage).values())
        shown = {
            name: counts.get(name, 0)
            for name in (
                "include",
                "exclude",
                *(("not-retrieved",) if stage == FULL_TEXT else ()),
                "conflict",
                "pending",
            )
        }
        if left:
            shown["excluded by the stopping rule"] = len(left)
        shown["not started"] = max(0, len(allocated) - sum(counts.values()))
        out.append(
            StageStatus(
                stage, rows, works=works, allocated=len(allocated), outcomes=shown, vanished=len(gone)
            )
        )
    return out
