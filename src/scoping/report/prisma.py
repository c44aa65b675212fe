"""The PRISMA 2020 flow as plain data: counts derived from the store, checks, JSON and CSV.

:func:`derive_counts` turns what the store knows (:class:`~scoping.report.facts.PrismaFacts`)
and the few hand-entered counts (:class:`ManualCounts`, from ``screening/prisma-manual.toml``)
into a :class:`PrismaCounts`; :func:`check_counts` checks that the boxes that must add up do;
:func:`to_json` and :func:`to_csv` write it out. The diagram (:mod:`scoping.report.diagram`)
draws from the same object, so every number in the diagram is a number in the JSON.

The JSON (``outputs/prisma.json``)
----------------------------------

Stable keys (``format_version`` 1); docs/prisma-json.md has the full description::

    format            "scoping-prisma"
    format_version    1
    title             the review's title, or null
    complete          true when every count is known and final and every check passes
    identification    databases[], registers[], databases_total, registers_total,
                      records_identified, duplicates_removed, automation_removed, other_removed
    screening         records_screened, records_excluded, records_excluded_reasons[],
                      reports_sought, reports_not_retrieved, reports_assessed,
                      reports_excluded, reports_excluded_reasons[]
    other_methods     null, or: sources[], records_identified, records_screened,
                      records_excluded, records_excluded_reasons[], reports_sought,
                      reports_not_retrieved, reports_assessed, reports_excluded,
                      reports_excluded_reasons[]
    included          studies, reports, topics[]
    previous          null, or (an updated review, PRISMA 2020's "previous studies" column):
                      studies, reports (of the previous version: entered by hand, or
                      derived from the store when the previous searches' works were
                      screened in it), total_studies, total_reports (previous + new)
    update            null, or (the store holds an update search): since (when the first
                      update search started), previous_databases[] (records the previous
                      searches stored, per database), previous_other_methods[] (records the
                      previous version's other methods stored, per source, with its kind),
                      previous_records, previous_other_records, duplicates_of_previous
                      (new records whose work the previous searches had found: removed before
                      screening), found_again (records the update searches listed that were
                      already stored: never stored or counted again); identification.databases
                      and other_methods.sources then count the new arm only
    stopping_rule     the stopping rule that ended title-abstract screening, or null
    checks[]          {"id", "ok", "message", "keys"}: the sums that must hold, and what is unfinished
    notes[]           the messages the diagram shows (failed checks, in order)
    assumptions[]     what the counts assume

A count is ``{"n": int or null, "source": "store" | "manual" | "store+manual",
"complete": bool, "note": str or null}``: ``n`` is null when it is not known (the note says
why); ``complete`` is false for a number that will still change ("so far"); ``source`` is
"manual" for a number typed into ``screening/prisma-manual.toml``. A list item (a database, a
reason, a topic) is ``{"name", "n", "source", "complete"}``; an other-methods source that
``[sources]`` gives a PRISMA kind also has ``"kind"`` (``websites``, ``organisations``,
``citation_searching``).

Every count has a flat key ``section.name`` (``screening.records_screened``,
``identification.databases``...): the CSV's ``key`` column, and the place of a hand-entered
count in ``prisma-manual.toml``, which has the shape of the JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from scoping.errors import ConfigError
from scoping.files import parse_toml, read_toml
from scoping.report.facts import OutcomeTally, PrismaFacts, RunFacts, SourceFacts

__all__ = [
    "COUNT_KEYS",
    "FORMAT",
    "FORMAT_VERSION",
    "LIST_KEYS",
    "MANUAL_FILE",
    "OTHER_KINDS",
    "PRISMA2020_COLUMNS",
    "PRISMA2020_FIELDS",
    "Check",
    "Count",
    "Identification",
    "Included",
    "Line",
    "ManualCounts",
    "OtherMethods",
    "Previous",
    "PrismaCounts",
    "Retrieval",
    "UpdateArms",
    "check_counts",
    "derive_counts",
    "from_dict",
    "load_manual",
    "parse_manual",
    "to_csv",
    "to_dict",
    "to_json",
    "to_prisma2020_csv",
    "unkinded_other_sources",
]

FORMAT = "scoping-prisma"
FORMAT_VERSION = 1
MANUAL_FILE = "screening/prisma-manual.toml"
NO_REASON = "No reason recorded"

TA = "title-abstract"
FT = "full-text"

OTHER_KINDS: dict[str, str] = {
    "websites": "Websites",
    "organisations": "Organisations",
    "citation_searching": "Citation searching",
}
"""PRISMA 2020's named other-methods sources: the ``[sources]`` key of prisma-manual.toml, and
the words of the template."""


@dataclass(slots=True)
class Count:
    """One number of the flow, with where it came from."""

    n: int | None
    source: str = "store"
    complete: bool = True
    """False for a number that will still change (a stage is not finished)."""
    note: str | None = None
    """Why ``n`` is not known or not final, for the reader of the diagram."""

    @property
    def known(self) -> bool:
        return self.n is not None

    @property
    def final(self) -> bool:
        return self.n is not None and self.complete


def unknown(note: str | None = None) -> Count:
    return Count(None, "store", False, note)


@dataclass(slots=True)
class Line:
    """One item of a list: a database, an exclusion reason, a topic."""

    name: str
    n: int
    source: str = "store"
    complete: bool = True
    kind: str | None = None
    """For an other-methods source: its PRISMA 2020 kind (a key of :data:`OTHER_KINDS`)."""


def _total(lines: list[Line]) -> Count:
    sources = {line.source for line in lines}
    source = "store" if sources <= {"store"} else "manual" if sources == {"manual"} else "store+manual"
    return Count(sum(line.n for line in lines), source, all(line.complete for line in lines))


@dataclass(slots=True)
class Identification:
    databases: list[Line] = field(default_factory=list)
    registers: list[Line] = field(default_factory=list)
    duplicates_removed: Count = field(default_factory=unknown)
    automation_removed: Count = field(default_factory=unknown)
    other_removed: Count = field(default_factory=unknown)

    @property
    def databases_total(self) -> Count:
        return _total(self.databases)

    @property
    def registers_total(self) -> Count:
        return _total(self.registers)

    @property
    def records_identified(self) -> Count:
        return _total(self.databases + self.registers)


@dataclass(slots=True)
class Retrieval:
    """Screening of one column: records, then reports (full texts)."""

    records_screened: Count = field(default_factory=unknown)
    records_excluded: Count = field(default_factory=unknown)
    records_excluded_reasons: list[Line] = field(default_factory=list)
    reports_sought: Count = field(default_factory=unknown)
    reports_not_retrieved: Count = field(default_factory=unknown)
    reports_assessed: Count = field(default_factory=unknown)
    reports_excluded: Count = field(default_factory=unknown)
    reports_excluded_reasons: list[Line] = field(default_factory=list)
    included: Count = field(default_factory=unknown)
    """Reports of this column included (not a box of its own; the included box adds columns)."""


@dataclass(slots=True)
class OtherMethods(Retrieval):
    """The "identification of studies via other methods" column."""

    sources: list[Line] = field(default_factory=list)

    @property
    def records_identified(self) -> Count:
        return _total(self.sources)


@dataclass(slots=True)
class Previous:
    """An updated review's "previous studies" column: what the previous version included
    (entered by hand: the store holds only this version), and the totals with the new."""

    studies: Count = field(default_factory=unknown)
    reports: Count = field(default_factory=unknown)
    total_studies: Count = field(default_factory=unknown)
    total_reports: Count = field(default_factory=unknown)


@dataclass(slots=True)
class UpdateArms:
    """An updated review's arms, from the store: what the previous searches found (per
    database), and what of the update searches' records the previous searches had found."""

    since: str = ""
    previous_databases: list[Line] = field(default_factory=list)
    previous_other_methods: list[Line] = field(default_factory=list)
    """The previous arm of the other-methods sources (citation searching, websites...)."""
    duplicates_of_previous: Count = field(default_factory=unknown)
    found_again: Count = field(default_factory=unknown)

    @property
    def previous_records(self) -> Count:
        return _total(self.previous_databases)

    @property
    def previous_other_records(self) -> Count:
        return _total(self.previous_other_methods)


@dataclass(slots=True)
class Included:
    studies: Count = field(default_factory=unknown)
    reports: Count = field(default_factory=unknown)
    topics: list[Line] = field(default_factory=list)


@dataclass(slots=True)
class Check:
    """A sum that must hold, or a stage that is not finished."""

    id: str
    ok: bool
    message: str
    keys: tuple[str, ...] = ()
    """The flat keys of the counts concerned (their boxes are marked in the diagram)."""


@dataclass(slots=True)
class PrismaCounts:
    """Every number of the PRISMA 2020 flow diagram."""

    title: str | None = None
    identification: Identification = field(default_factory=Identification)
    screening: Retrieval = field(default_factory=Retrieval)
    other_methods: OtherMethods | None = None
    included: Included = field(default_factory=Included)
    previous: Previous | None = None
    """Set for an updated review (``[previous]`` in prisma-manual.toml, or an update search)."""
    update: UpdateArms | None = None
    """Set when the store holds an update search."""
    stopping_rule: str | None = None
    checks: list[Check] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What the diagram says about counts that are not final or do not add up."""
        return [check.message for check in self.checks if not check.ok]

    @property
    def complete(self) -> bool:
        return not self.notes and all(c.final for _, c in self.iter_counts())

    def manual_keys(self) -> list[str]:
        """Flat keys of the hand-entered counts and of the lists with hand-entered items."""
        keys = [key for key, c in self.iter_counts() if c.source == "manual" and key not in _DERIVED]
        for section, names in LIST_KEYS.items():
            if getattr(self, section) is None:
                continue
            for name in names:
                if any(line.source == "manual" for line in self.lines(f"{section}.{name}")):
                    keys.append(f"{section}.{name}")
        return keys

    def count(self, key: str) -> Count:
        """The count with flat key ``section.name``."""
        section, _, name = key.partition(".")
        holder = getattr(self, section, None)
        if holder is None or not hasattr(holder, name):
            raise KeyError(key)
        value = getattr(holder, name)
        if not isinstance(value, Count):
            raise KeyError(key)
        return value

    def lines(self, key: str) -> list[Line]:
        section, _, name = key.partition(".")
        holder = getattr(self, section, None)
        value = getattr(holder, name, None) if holder is not None else None
        if not isinstance(value, list):
            raise KeyError(key)
        return value

    def iter_counts(self) -> Iterator[tuple[str, Count]]:
        """``(flat key, count)`` of every count in the JSON, in JSON order."""
        for section, names in COUNT_KEYS.items():
            if getattr(self, section) is None:
                continue
            for name in names:
                yield f"{section}.{name}", self.count(f"{section}.{name}")


COUNT_KEYS: dict[str, tuple[str, ...]] = {
    "identification": (
        "databases_total",
        "registers_total",
        "records_identified",
        "duplicates_removed",
        "automation_removed",
        "other_removed",
    ),
    "screening": (
        "records_screened",
        "records_excluded",
        "reports_sought",
        "reports_not_retrieved",
        "reports_assessed",
        "reports_excluded",
    ),
    "other_methods": (
        "records_identified",
        "records_screened",
        "records_excluded",
        "reports_sought",
        "reports_not_retrieved",
        "reports_assessed",
        "reports_excluded",
    ),
    "included": ("studies", "reports"),
    "previous": ("studies", "reports", "total_studies", "total_reports"),
    "update": ("previous_records", "previous_other_records", "duplicates_of_previous", "found_again"),
}
"""The counts of each JSON section, in order (flat key: ``section.name``)."""

LIST_KEYS: dict[str, tuple[str, ...]] = {
    "identification": ("databases", "registers"),
    "screening": ("records_excluded_reasons", "reports_excluded_reasons"),
    "other_methods": ("sources", "records_excluded_reasons", "reports_excluded_reasons"),
    "included": ("topics",),
    "previous": (),
    "update": ("previous_databases", "previous_other_methods"),
}
"""The lists of each JSON section."""

_DERIVED = frozenset(
    {
        "identification.databases_total",
        "identification.registers_total",
        "identification.records_identified",
        "other_methods.records_identified",
        "previous.total_studies",
        "previous.total_reports",
        "update.previous_records",
        "update.previous_other_records",
    }
)
"""Sums: never entered by hand (enter the list's items, or the previous version's counts)."""

_STORED_SUMS = frozenset({"previous.total_studies", "previous.total_reports"})
"""Sums that are fields (kept in the JSON) rather than properties."""

_OVERRIDABLE = frozenset({"included.studies"})
"""Counts the store only assumes (one study per report), which a person may correct."""

LABELS: dict[str, str] = {
    "identification.databases_total": "Databases",
    "identification.registers_total": "Registers",
    "identification.records_identified": "Records identified",
    "identification.duplicates_removed": "Duplicate records removed",
    "identification.automation_removed": "Records marked as ineligible by automation tools",
    "identification.other_removed": "Records removed for other reasons",
    "screening.records_screened": "Records screened",
    "screening.records_excluded": "Records excluded",
    "screening.reports_sought": "Reports sought for retrieval",
    "screening.reports_not_retrieved": "Reports not retrieved",
    "screening.reports_assessed": "Reports assessed for eligibility",
    "screening.reports_excluded": "Reports excluded",
    "other_methods.records_identified": "Records identified from other methods",
    "other_methods.records_screened": "Records screened",
    "other_methods.records_excluded": "Records excluded",
    "other_methods.reports_sought": "Reports sought for retrieval",
    "other_methods.reports_not_retrieved": "Reports not retrieved",
    "other_methods.reports_assessed": "Reports assessed for eligibility",
    "other_methods.reports_excluded": "Reports excluded",
    "included.studies": "Studies included in review",
    "included.reports": "Reports of included studies",
    "previous.studies": "Studies included in previous version of review",
    "previous.reports": "Reports of studies included in previous version of review",
    "previous.total_studies": "Total studies included in review",
    "previous.total_reports": "Reports of total included studies",
    "update.previous_records": "Records identified by the previous searches",
    "update.previous_other_records": "Records identified by other methods in the previous version",
    "update.duplicates_of_previous": "Duplicates of records from the previous searches",
    "update.found_again": "Records found again by the update searches (not stored again)",
}
"""The words of the PRISMA 2020 template for each count (the diagram and the CSV use them)."""


# -- hand-entered counts --------------------------------------------------------------------


@dataclass(slots=True)
class ManualCounts:
    """Counts typed in by a person, for what the store cannot know, and how sources are reported.

    ``counts`` maps flat keys (``screening.records_screened``) to numbers; ``lists`` maps flat
    list keys (``identification.databases``, ``included.topics``...) to ``name -> n``.
    """

    path: str = MANUAL_FILE
    registers: tuple[str, ...] = ()
    """Imported sources to report as registers (default: every source is a database)."""
    other_methods: tuple[str, ...] = ()
    """Imported sources to report under "other methods" (websites, citation searching...)."""
    kinds: dict[str, str] = field(default_factory=dict)
    """Other-methods sources by name -> PRISMA 2020 kind (a key of :data:`OTHER_KINDS`); they
    are other-methods sources whether or not ``other_methods`` names them too."""
    counts: dict[str, int] = field(default_factory=dict)
    lists: dict[str, dict[str, int]] = field(default_factory=dict)


def _number(value: object, where: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{path}: {where} must be a whole number of 0 or more, not {value!r}")
    return value


def parse_manual(text: str, path: str = MANUAL_FILE) -> ManualCounts:
    """Read hand-entered counts from the text of a ``prisma-manual.toml``."""
    return _manual(parse_toml(text, what=_MANUAL_WHAT, source=path), path)


_MANUAL_WHAT = "the hand-entered PRISMA counts"


def _manual(data: dict[str, Any], path: str) -> ManualCounts:
    """Check the tables of a ``prisma-manual.toml``; ``path`` names it in messages."""
    manual = ManualCounts(path=path)
    for section, value in data.items():
        if section == "sources":
            _manual_sources(manual, value, path)
            continue
        if section == "update":
            raise ConfigError(
                f"{path}: [update] is derived from the search log, not entered by hand; remove it"
            )
        if section not in COUNT_KEYS:
            raise ConfigError(
                f"{path}: unknown section [{section}]; use one of {', '.join(['sources', *COUNT_KEYS])}"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        _manual_counts(manual, section, value, path)
    both = set(manual.registers) & (set(manual.other_methods) | set(manual.kinds))
    if both:
        raise ConfigError(
            f"{path}: {sorted(both)[0]!r} is listed both as a register and as an other method; keep one"
        )
    return manual


def _manual_sources(manual: ManualCounts, value: object, path: str) -> None:
    """The ``[sources]`` table: which sources are registers and which other methods."""
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [sources] must be a table")
    for key, names in value.items():
        if key not in ("registers", "other_methods", *OTHER_KINDS):
            raise ConfigError(
                f"{path}: [sources] has no key {key!r}; use one of "
                f"{', '.join(['registers', 'other_methods', *OTHER_KINDS])}"
            )
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{path}: [sources] {key} must be a list of source names")
        if key in OTHER_KINDS:
            for name in names:
                first = manual.kinds.setdefault(name, key)
                if first != key:
                    raise ConfigError(f"{path}: {name!r} is listed under both {first} and {key}; keep one")
        else:
            setattr(manual, key, tuple(names))


def _manual_counts(manual: ManualCounts, section: str, value: dict[str, Any], path: str) -> None:
    """One section of hand-entered counts and lists (``[identification]``, ``[screening]``...)."""
    for name, item in value.items():
        key = f"{section}.{name}"
        if name in LIST_KEYS[section]:
            if not isinstance(item, dict):
                raise ConfigError(f"{path}: [{key}] must be a table of name = number")
            manual.lists[key] = {str(k): _number(v, f"{key}.{k!r}", path) for k, v in item.items()}
        elif name in COUNT_KEYS[section] and key not in _DERIVED:
            manual.counts[key] = _number(item, key, path)
        else:
            allowed = [
                n for n in (*COUNT_KEYS[section], *LIST_KEYS[section]) if f"{section}.{n}" not in _DERIVED
            ]
            hint = " (it is the sum of its list; enter the list)" if key in _DERIVED else ""
            raise ConfigError(
                f"{path}: [{section}] has no key {name!r}{hint}; use one of {', '.join(allowed)}"
            )


def load_manual(path: str | Path) -> ManualCounts | None:
    """The hand-entered counts in ``path``, or ``None`` if there is no such file."""
    target = Path(path)
    if not target.is_file():
        return None
    return _manual(read_toml(target, what=_MANUAL_WHAT), str(path))


# -- deriving the counts from the store -----------------------------------------------------


def _reason_lines(reasons: Mapping[str, int], complete: bool) -> list[Line]:
    lines = [Line(name or NO_REASON, n, "store", complete) for name, n in reasons.items() if name]
    lines.sort(key=lambda line: (-line.n, line.name.casefold()))
    if reasons.get(""):
        lines.append(Line(NO_REASON, reasons[""], "store", complete))
    return lines


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _retrieval(
    tally: OutcomeTally, column: str, works: int | None, checks: list[Check], prefix: str
) -> tuple[Retrieval, int, int]:
    """One column's screening counts; also returns (automation, removed) before screening."""
    n = tally.n
    automation = n(column, TA, "automation")
    removed = n(column, TA, "removed")
    ta_inc, ta_exc = n(column, TA, "include"), n(column, TA, "exclude")
    ta_open, ta_conflict = n(column, TA, "pending", "conflict"), n(column, TA, "conflict")
    screened = ta_inc + ta_exc
    section = "other_methods" if column == "other" else "screening"
    if works is None:
        ta_pending: int | None = None
        ta_done = False
        ta_note = (
            "de-duplication has not run, so the number of works to screen is not known"
            if column == "main"
            else None
        )
    else:
        untouched = works - (screened + ta_open + automation + removed)
        if untouched < 0:
            checks.append(
                Check(
                    f"{prefix}title-abstract-outcomes",
                    False,
                    f"{_plural(-untouched, 'title-abstract outcome', 'title-abstract outcomes')}"
                    f" more than there are works{' from other methods' if prefix else ''}",
                    (f"{section}.records_screened",),
                )
            )
            untouched = 0
        ta_pending = ta_open + untouched
        ta_done = ta_pending == 0
        ta_note = None
    if ta_pending:
        ta_note = f"{_plural(ta_pending, 'work', 'works')} not yet screened at title-abstract"
        if ta_conflict:
            ta_note += f" ({ta_conflict:,} waiting for the lead to settle a conflict)"
        where = " (other methods)" if prefix else ""
        checks.append(
            Check(f"{prefix}title-abstract-pending", False, ta_note + where, (f"{section}.records_screened",))
        )
    elif works is None and ta_note:
        checks.append(
            Check(
                f"{prefix}title-abstract-pending",
                False,
                "De-duplication has not run, so the number of works still to screen is not known",
                (f"{section}.records_screened",),
            )
        )
    nr = n(column, FT, "not-retrieved")
    ft_inc, ft_exc = n(column, FT, "include"), n(column, FT, "exclude")
    ft_open, ft_conflict = n(column, FT, "pending", "conflict"), n(column, FT, "conflict")
    ft_untouched = ta_inc - (nr + ft_inc + ft_exc + ft_open)
    if ft_untouched < 0:
        checks.append(
            Check(
                f"{prefix}full-text-outcomes",
                False,
                f"{_plural(-ft_untouched, 'work has', 'works have')} a full-text outcome "
                "but no include at title-abstract",
                (f"{section}.reports_sought",),
            )
        )
        ft_untouched = 0
    ft_pending = ft_open + ft_untouched
    ft_note = None
    if ft_pending:
        ft_note = f"{_plural(ft_pending, 'report', 'reports')} not yet assessed at full text"
        if ft_conflict:
            ft_note += f" ({ft_conflict:,} waiting for the lead to settle a conflict)"
        checks.append(
            Check(
                f"{prefix}full-text-pending",
                False,
                ft_note + (" (other methods)" if prefix else ""),
                (f"{section}.reports_assessed",),
            )
        )
    ft_done = ta_done and ft_pending == 0
    flow = Retrieval(
        records_screened=Count(screened, "store", ta_done, ta_note),
        records_excluded=Count(ta_exc, "store", ta_done),
        records_excluded_reasons=_reason_lines(tally.reasons_of(column, TA, "exclude"), ta_done),
        reports_sought=Count(ta_inc, "store", ta_done),
        reports_not_retrieved=Count(nr, "store", ft_done),
        reports_assessed=Count(ft_inc + ft_exc, "store", ft_done, ft_note),
        reports_excluded=Count(ft_exc, "store", ft_done),
        reports_excluded_reasons=_reason_lines(tally.reasons_of(column, FT, "exclude"), ft_done),
        included=Count(ft_inc, "store", ft_done),
    )
    return flow, automation, removed


def derive_counts(
    facts: PrismaFacts, manual: ManualCounts | None = None, *, title: str | None = None
) -> PrismaCounts:
    """The PRISMA counts from what the store knows, completed by hand-entered counts.

    A hand-entered count is only accepted where the store does not know the number; one that
    contradicts the store raises :class:`~scoping.errors.ConfigError`.
    """
    manual = manual or ManualCounts()
    other = set(manual.other_methods) | set(manual.kinds)
    checks: list[Check] = []
    counts = PrismaCounts(title=title, stopping_rule=facts.stopping_rule)
    other_lines = _identification(counts, facts, manual, checks)
    _no_records_check(facts, manual, checks)
    _duplicates(counts.identification, facts, checks)
    works = facts.works
    main_works = works.main_works if works.ran and works.main_unassigned == 0 else None
    if facts.update is not None:
        _update_arms(counts, facts, other, manual.kinds, done=main_works is not None)
        if main_works is not None:
            main_works = facts.update.new_works
    if facts.outcomes is not None:
        _screening(counts, facts, facts.outcomes, main_works, other_lines, manual, checks)
    else:
        _screening_not_known(counts, facts, other_lines, checks)
    _finish(counts, facts, manual)
    # a hand-entered count replaces "not known": notes about that count no longer apply
    checks = [c for c in checks if not c.keys or not all(_is_manual(counts, key) for key in c.keys)]
    counts.checks = checks + check_counts(counts)
    return counts


def _identification(
    counts: PrismaCounts, facts: PrismaFacts, manual: ManualCounts, checks: list[Check]
) -> list[Line]:
    """Put each source's line under databases, registers or other methods; return the latter."""
    registers, other = set(manual.registers), set(manual.other_methods) | set(manual.kinds)
    ident = counts.identification
    other_lines: list[Line] = []
    for source in facts.sources:
        # a run that did not finish matters unless a later run of the database completed
        unfinished = [
            run
            for k, run in enumerate(source.runs)
            if run.status != "complete"
            and not any(later.status == "complete" for later in source.runs[k + 1 :])
        ]
        n = source.records
        arm = facts.update.arm(source.name) if facts.update is not None else None
        if arm is not None:  # an updated review: the new arm (the previous one is in update)
            n = arm.new
        line = Line(source.name, n, "store", not unfinished, manual.kinds.get(source.name))
        if source.name in registers:
            target, key = ident.registers, "identification.registers"
        elif source.name in other:
            target, key = other_lines, "other_methods.sources"
        else:
            target, key = ident.databases, "identification.databases"
        target.append(line)
        _source_notes(counts, source, unfinished, key, checks)
    for name in sorted(other - {s.name for s in facts.sources}):
        counts.assumptions.append(
            f"{manual.path} lists {name!r} under other methods, but no "
            "records of that source are in the store"
        )
    return other_lines


def _source_notes(
    counts: PrismaCounts,
    source: SourceFacts,
    unfinished: list[RunFacts],
    key: str,
    checks: list[Check],
) -> None:
    """One source's unfinished runs, short retrievals and repeated imports."""
    for run in unfinished:
        checks.append(
            Check(
                "search-unfinished",
                False,
                f"{source.name}: search run {run.id} is {run.status} "
                f"({run.retrieved:,} of {_hits(run.hit_count)} records retrieved)",
                (key,),
            )
        )
    for run in source.runs:
        if run.status == "complete" and run.hit_count is not None and run.retrieved < run.hit_count:
            counts.assumptions.append(
                f"{source.name}: search run {run.id} reported {run.hit_count:,} hits and retrieved "
                f"{run.retrieved:,} records; records identified count the records retrieved"
            )
    for file_name in source.repeated_files:
        checks.append(
            Check(
                "repeated-import",
                False,
                f"{source.name}: {file_name} was imported more than once; its records "
                "count more than once in identification",
                (key,),
            )
        )


def _no_records_check(facts: PrismaFacts, manual: ManualCounts, checks: list[Check]) -> None:
    if not facts.sources and not any(k.startswith("identification.") for k in manual.lists):
        checks.append(
            Check(
                "no-records",
                False,
                "No records in the store yet ('scoping import')",
                ("identification.records_identified",),
            )
        )


def _duplicates(ident: Identification, facts: PrismaFacts, checks: list[Check]) -> None:
    """Duplicates removed, and whether de-duplication has run and finished."""
    works = facts.works
    if works.ran:
        done = works.main_unassigned == 0
        note = None
        if not done:
            note = (
                f"{_plural(works.main_unassigned, 'record', 'records')} imported after the last "
                "de-duplication run"
            )
            checks.append(
                Check(
                    "dedupe-unfinished",
                    False,
                    note + "; run 'scoping dedupe'",
                    ("identification.duplicates_removed",),
                )
            )
        if works.doubtful_pairs:
            waiting = (
                f"{_plural(works.doubtful_pairs, 'doubtful pair', 'doubtful pairs')} of records "
                "still to decide"
            )
            note = f"{note}; {waiting}" if note else waiting
            done = False
            checks.append(
                Check(
                    "dedupe-doubtful",
                    False,
                    waiting + "; run 'scoping dedupe review'",
                    ("identification.duplicates_removed",),
                )
            )
        duplicates = works.main_records - works.main_works
        if facts.update is not None:
            duplicates = facts.update.new_linked - _previous_duplicates(facts) - facts.update.new_works
        ident.duplicates_removed = Count(duplicates, "store", done, note)
    elif facts.sources:
        note = "de-duplication has not run"
        ident.duplicates_removed = unknown(note)
        checks.append(
            Check(
                "dedupe-not-run",
                False,
                "De-duplication has not run ('scoping dedupe'), so duplicates are not known",
                ("identification.duplicates_removed",),
            )
        )


def _screening(
    counts: PrismaCounts,
    facts: PrismaFacts,
    tally: OutcomeTally,
    main_works: int | None,
    other_lines: list[Line],
    manual: ManualCounts,
    checks: list[Check],
) -> None:
    """Screening, other methods and included, from the screening outcomes."""
    ident = counts.identification
    works = facts.works
    _tally_checks(tally, checks)
    counts.screening, automation, removed = _retrieval(tally, "main", main_works, checks, "")
    ident.automation_removed = Count(automation, "store", counts.screening.records_screened.complete)
    ident.other_removed = Count(removed, "store", counts.screening.records_screened.complete)
    included = counts.screening.included
    if other_lines or works.other_works:
        other_works = _other_works(facts) if works.ran and works.other_unassigned == 0 else None
        flow, o_auto, o_removed = _retrieval(tally, "other", other_works, checks, "other-")
        counts.other_methods = OtherMethods(
            **{f.name: getattr(flow, f.name) for f in fields(Retrieval)}, sources=other_lines
        )
        if o_auto or o_removed:
            checks.append(
                Check(
                    "other-removed",
                    False,
                    f"{_plural(o_auto + o_removed, 'work', 'works')} from other methods "
                    "removed before screening; the PRISMA template has no box for them",
                    ("other_methods.records_screened",),
                )
            )
        included = _add(included, flow.included)
    counts.included.reports = Count(included.n, "store", included.complete)
    counts.included.studies = Count(included.n, "store", included.complete)
    counts.assumptions.append(
        "Each included report is counted as one study (scoping does not "
        "link reports of the same study); set included.studies in "
        f"{manual.path} if they differ"
    )


def _tally_checks(tally: OutcomeTally, checks: list[Check]) -> None:
    """Outcomes the PRISMA flow has no box for, and works with more than one final outcome."""
    for (stage, outcome), k in sorted(tally.unexpected.items()):
        checks.append(
            Check(
                "screening-outcomes",
                False,
                f"{_plural(k, 'work has', 'works have')} the outcome {outcome!r} at "
                f"{stage}, which the PRISMA flow has no box for",
            )
        )
    if tally.repeated:
        checks.append(
            Check(
                "screening-outcomes",
                False,
                f"The screening stage gave {tally.repeated:,} works more than one final "
                "outcome at a stage; only the first was counted",
            )
        )


def _screening_not_known(
    counts: PrismaCounts, facts: PrismaFacts, other_lines: list[Line], checks: list[Check]
) -> None:
    """No screening outcomes to count: say why (blinded, or not started)."""
    if other_lines:
        counts.other_methods = OtherMethods(sources=other_lines)
    if facts.blinded:
        counts.screening.records_screened = unknown(
            "left out while screening is under way (blinding; a lead sees it)"
        )
        checks.append(
            Check(
                "screening-blinded",
                False,
                "Screening is under way: its counts are shown to a lead only (--reviewer LEAD)",
                ("screening.records_screened",),
            )
        )
    elif facts.sources or facts.works.ran:
        counts.screening.records_screened = unknown("no screening decisions in the store yet")
        checks.append(
            Check(
                "screening-not-started",
                False,
                "No screening decisions in the store yet ('scoping screen')",
                ("screening.records_screened",),
            )
        )


def _finish(counts: PrismaCounts, facts: PrismaFacts, manual: ManualCounts) -> None:
    """The last assumptions and topics, the previous review's counts and the hand-entered ones."""
    works = facts.works
    if counts.other_methods is not None and works.other_records_in_main:
        counts.assumptions.append(
            f"{_plural(works.other_records_in_main, 'record', 'records')} from other methods were also "
            "found in databases or registers; those works are counted in the databases column"
        )
    if facts.topics is not None:
        counts.included.topics = [
            Line(t.name, t.n, "store", counts.included.reports.complete) for t in facts.topics
        ]
    if facts.update is not None and not any(k.startswith("previous.") for k in manual.counts):
        _previous_from_store(counts, facts)
    _apply_manual(counts, manual)
    _previous_totals(counts)


def _previous_duplicates(facts: PrismaFacts) -> int:
    """New records from databases and registers whose work the previous searches had found."""
    assert facts.update is not None
    return sum(a.duplicates_of_previous for a in facts.update.sources if not a.other_method)


def _other_works(facts: PrismaFacts) -> int:
    """Works found only by other methods, less (in an updated review) the previous ones."""
    works = facts.works.other_works
    if facts.update is not None:
        works = works - facts.update.previous_works
    return len(works)


def _update_arms(
    counts: PrismaCounts, facts: PrismaFacts, other: set[str], kinds: Mapping[str, str], *, done: bool
) -> None:
    """The arms of an updated review: the previous searches' records per database and per
    other method, and the new records the previous searches had found (removed before
    screening as duplicates)."""
    update = facts.update
    assert update is not None
    arms = UpdateArms(since=update.since)
    for arm in update.sources:
        if not arm.previous:
            continue
        if arm.name in other:
            arms.previous_other_methods.append(
                Line(arm.name, arm.previous, "store", kind=kinds.get(arm.name))
            )
        else:
            arms.previous_databases.append(Line(arm.name, arm.previous, "store"))
    again = sum(a.duplicates_of_previous for a in update.sources if a.name in other)
    if again:
        counts.assumptions.append(
            f"{_plural(again, 'record', 'records')} from other methods in the update "
            f"{'is' if again == 1 else 'are'} of works the previous version had found; "
            "they are not screened again"
        )
    if facts.works.ran:
        note = None if done else "de-duplication has not linked every record to a work"
        arms.duplicates_of_previous = Count(_previous_duplicates(facts), "store", done, note)
    else:
        arms.duplicates_of_previous = unknown("de-duplication has not run")
    arms.found_again = Count(sum(a.found_again for a in update.sources if a.name not in other), "store")
    counts.update = arms
    if counts.previous is None:
        counts.previous = Previous()
    counts.assumptions.append(
        f"An updated review: searches from {update.since[:10]} on are the new arm; identification "
        "(databases, registers and other methods) counts their new records, and the previous "
        "searches' records are the previous arm"
    )


def _previous_from_store(counts: PrismaCounts, facts: PrismaFacts) -> None:
    """The previous version's included studies, when its works were screened in this store."""
    previous = counts.previous
    update = facts.update
    assert previous is not None and update is not None
    tally = facts.previous_outcomes
    if tally is None:
        note = (
            "left out while screening is under way (blinding; a lead sees it)"
            if facts.blinded
            else "the previous searches' works were not screened in this store: enter "
            "previous.studies and previous.reports in " + MANUAL_FILE
        )
        previous.studies = unknown(note)
        previous.reports = unknown(note)
        return
    flow, _, _ = _retrieval(tally, "main", len(update.previous_works), [], "previous-")
    previous.reports = Count(flow.included.n, "store", flow.included.complete, flow.records_screened.note)
    previous.studies = Count(flow.included.n, "store", flow.included.complete, flow.records_screened.note)


def _previous_totals(counts: PrismaCounts) -> None:
    """An updated review's totals: the previous version's studies and reports plus the new."""
    previous = counts.previous
    if previous is None:
        return
    for total, before, new in (
        ("total_studies", previous.studies, counts.included.studies),
        ("total_reports", previous.reports, counts.included.reports),
    ):
        summed = _add(before, new)
        if summed.n is not None:
            kinds = {before.source, new.source}
            summed.source = (
                "store" if kinds == {"store"} else "manual" if kinds == {"manual"} else "store+manual"
            )
        setattr(previous, total, summed)


def _is_manual(counts: PrismaCounts, key: str) -> bool:
    try:
        return counts.count(key).source == "manual"
    except KeyError:
        return False


def _hits(hits: int | None) -> str:
    return "?" if hits is None else f"{hits:,}"


def _add(a: Count, b: Count) -> Count:
    if a.n is None or b.n is None:
        return unknown()
    return Count(a.n + b.n, "store", a.complete and b.complete)


def _apply_manual(counts: PrismaCounts, manual: ManualCounts) -> None:
    path = manual.path
    if (
        any(k.startswith("other_methods.") for k in (*manual.counts, *manual.lists))
        and counts.other_methods is None
    ):
        counts.other_methods = OtherMethods()
    if any(k.startswith("previous.") for k in manual.counts) and counts.previous is None:
        counts.previous = Previous()
    store_names = {
        line.name
        for key in ("identification.databases", "identification.registers")
        for line in counts.lines(key)
    }
    if counts.other_methods is not None:
        store_names |= {line.name for line in counts.other_methods.sources}
    for key, items in manual.lists.items():
        target = counts.lines(key)
        if key in ("identification.databases", "identification.registers", "other_methods.sources"):
            for name, n in items.items():
                if name in store_names:
                    raise ConfigError(
                        f"{path}: {key} {name!r} is known from the store ({_stored(counts, name):,} "
                        "records); hand-entered counts are only for sources never imported - remove it"
                    )
                store_names.add(name)
                kind = manual.kinds.get(name) if key == "other_methods.sources" else None
                target.append(Line(name, n, "manual", kind=kind))
        else:
            if target:
                raise ConfigError(
                    f"{path}: {key} is known from the store; hand-entered counts are "
                    "only for what the store cannot know - remove it"
                )
            target.extend(Line(name, n, "manual") for name, n in items.items())
    for key, n in manual.counts.items():
        current = counts.count(key)
        if current.n is not None and key not in _OVERRIDABLE:
            raise ConfigError(
                f"{path}: {key} is known from the store ({current.n:,}); hand-entered counts are "
                "only for what the store cannot know - remove it"
            )
        section, _, name = key.partition(".")
        setattr(getattr(counts, section), name, Count(n, "manual"))


def _stored(counts: PrismaCounts, name: str) -> int:
    for key in ("identification.databases", "identification.registers"):
        for line in counts.lines(key):
            if line.name == name:
                return line.n
    for line in counts.other_methods.sources if counts.other_methods else []:
        if line.name == name:
            return line.n
    return 0


# -- checks ---------------------------------------------------------------------------------


def _value(counts: PrismaCounts, key: str) -> Count:
    return counts.count(key)


def _sum_check(
    counts: PrismaCounts,
    check_id: str,
    start: str,
    minus: Iterable[str],
    equals: str,
    plus: Iterable[tuple[str, Iterable[str]]] = (),
) -> Check | None:
    """``start - sum(minus) [+ other starts - their minus] == equals``, when all are final."""
    terms: list[tuple[int, str]] = [(1, start)] + [(-1, k) for k in minus]
    for extra_start, extra_minus in plus:
        terms += [(1, extra_start)] + [(-1, k) for k in extra_minus]
    keys = [k for _, k in terms] + [equals]
    values = [_value(counts, k).n for k in keys]
    if not all(_value(counts, k).final for k in keys):
        return None
    numbers = [v or 0 for v in values]
    total = sum(sign * numbers[i] for i, (sign, _) in enumerate(terms))
    target = numbers[-1]
    if total == target:
        return Check(check_id, True, f"{_label(equals)} adds up ({target:,})", tuple(keys))
    parts = " ".join(
        ("" if i == 0 else "− " if sign < 0 else "+ ")
        + f"{_label(k).lower() if i else _label(k)} ({_value(counts, k).n:,})"
        for i, (sign, k) in enumerate(terms)
    )
    return Check(
        check_id,
        False,
        f"Does not add up: {parts} = {total:,}, but {_label(equals).lower()} is {target:,}",
        tuple(keys),
    )


def _label(key: str) -> str:
    label = LABELS[key]
    if key.startswith("other_methods.") and key != "other_methods.records_identified":
        label += " (other methods)"
    return label


def _reasons_check(counts: PrismaCounts, check_id: str, list_key: str, total_key: str) -> Check | None:
    lines = counts.lines(list_key)
    total = counts.count(total_key)
    if not lines or not total.final:
        return None
    listed = sum(line.n for line in lines)
    if listed == total.n:
        return Check(
            check_id,
            True,
            f"The reasons add up to {_label(total_key).lower()} ({listed:,})",
            (total_key, list_key),
        )
    return Check(
        check_id,
        False,
        f"Does not add up: the reasons listed for {_label(total_key).lower()} come to "
        f"{listed:,}, but {_label(total_key).lower()} is {total.n:,}",
        (total_key, list_key),
    )


def check_counts(counts: PrismaCounts) -> list[Check]:
    """Check that the boxes that must add up do (only counts that are known and final)."""
    checks: list[Check | None] = [
        _sum_check(
            counts,
            "identification",
            "identification.records_identified",
            [
                "identification.duplicates_removed",
                *(["update.duplicates_of_previous"] if counts.update is not None else []),
                "identification.automation_removed",
                "identification.other_removed",
            ],
            "screening.records_screened",
        ),
        _sum_check(
            counts,
            "title-abstract",
            "screening.records_screened",
            ["screening.records_excluded"],
            "screening.reports_sought",
        ),
        _sum_check(
            counts,
            "retrieval",
            "screening.reports_sought",
            ["screening.reports_not_retrieved"],
            "screening.reports_assessed",
        ),
        _reasons_check(
            counts,
            "records-excluded-reasons",
            "screening.records_excluded_reasons",
            "screening.records_excluded",
        ),
        _reasons_check(
            counts,
            "reports-excluded-reasons",
            "screening.reports_excluded_reasons",
            "screening.reports_excluded",
        ),
    ]
    plus: list[tuple[str, Iterable[str]]] = []
    if counts.other_methods is not None:
        om = counts.other_methods
        if om.records_screened.n:
            checks.append(
                _sum_check(
                    counts,
                    "other-title-abstract",
                    "other_methods.records_screened",
                    ["other_methods.records_excluded"],
                    "other_methods.reports_sought",
                )
            )
        if om.reports_sought.known or om.reports_assessed.known:
            checks.append(
                _sum_check(
                    counts,
                    "other-retrieval",
                    "other_methods.reports_sought",
                    ["other_methods.reports_not_retrieved"],
                    "other_methods.reports_assessed",
                )
            )
            plus = [("other_methods.reports_assessed", ["other_methods.reports_excluded"])]
        checks += [
            _reasons_check(
                counts,
                "other-records-excluded-reasons",
                "other_methods.records_excluded_reasons",
                "other_methods.records_excluded",
            ),
            _reasons_check(
                counts,
                "other-reports-excluded-reasons",
                "other_methods.reports_excluded_reasons",
                "other_methods.reports_excluded",
            ),
        ]
    checks.append(
        _sum_check(
            counts,
            "eligibility",
            "screening.reports_assessed",
            ["screening.reports_excluded"],
            "included.reports",
            plus,
        )
    )
    studies, reports = counts.included.studies, counts.included.reports
    if studies.final and reports.final:
        assert studies.n is not None and reports.n is not None
        ok = studies.n <= reports.n
        checks.append(
            Check(
                "studies-reports",
                ok,
                f"Studies included ({studies.n:,}) are no more than reports of included "
                f"studies ({reports.n:,})"
                if ok
                else f"Does not add up: more studies included ({studies.n:,}) than reports of "
                f"included studies ({reports.n:,})",
                ("included.studies", "included.reports"),
            )
        )
    if counts.included.topics and reports.final:
        assert reports.n is not None
        too_big = [t for t in counts.included.topics if t.n > reports.n]
        checks.append(
            Check(
                "topics",
                not too_big,
                "Every topic holds no more sources than were included"
                if not too_big
                else f"Does not add up: topic {too_big[0].name!r} holds {too_big[0].n:,} sources, but "
                f"{reports.n:,} were included",
                ("included.topics", "included.reports"),
            )
        )
    return [c for c in checks if c is not None]


# -- JSON and CSV ---------------------------------------------------------------------------


def _count_dict(count: Count) -> dict[str, Any]:
    return {"n": count.n, "source": count.source, "complete": count.complete, "note": count.note}


def _line_dict(line: Line) -> dict[str, Any]:
    out: dict[str, Any] = {"name": line.name, "n": line.n, "source": line.source, "complete": line.complete}
    if line.kind is not None:
        out["kind"] = line.kind
    return out


def _section_dict(counts: PrismaCounts, section: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in LIST_KEYS[section]:
        out[name] = [_line_dict(line) for line in counts.lines(f"{section}.{name}")]
    for name in COUNT_KEYS[section]:
        out[name] = _count_dict(counts.count(f"{section}.{name}"))
    return out


def to_dict(counts: PrismaCounts) -> dict[str, Any]:
    """The counts as the JSON object described in the module docstring."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "title": counts.title,
        "complete": counts.complete,
        "identification": _section_dict(counts, "identification"),
        "screening": _section_dict(counts, "screening"),
        "other_methods": (None if counts.other_methods is None else _section_dict(counts, "other_methods")),
        "included": _section_dict(counts, "included"),
        "previous": None if counts.previous is None else _section_dict(counts, "previous"),
        "update": None
        if counts.update is None
        else {"since": counts.update.since, **_section_dict(counts, "update")},
        "stopping_rule": counts.stopping_rule,
        "checks": [
            {"id": c.id, "ok": c.ok, "message": c.message, "keys": list(c.keys)} for c in counts.checks
        ],
        "notes": counts.notes,
        "assumptions": list(counts.assumptions),
    }


def to_json(counts: PrismaCounts) -> str:
    """The JSON text of ``outputs/prisma.json`` (UTF-8, indented, ending in a newline)."""
    return json.dumps(to_dict(counts), ensure_ascii=False, indent=2) + "\n"


def _count_from(value: Mapping[str, Any]) -> Count:
    return Count(value["n"], value["source"], value["complete"], value.get("note"))


def _lines_from(values: Iterable[Mapping[str, Any]]) -> list[Line]:
    return [Line(v["name"], v["n"], v["source"], v["complete"], v.get("kind")) for v in values]


def from_dict(data: Mapping[str, Any]) -> PrismaCounts:
    """Read counts back from :func:`to_dict` output (for the HTML report and other tools)."""
    if data.get("format") != FORMAT:
        raise ConfigError(f"not a scoping PRISMA file (format {data.get('format')!r})")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise ConfigError(
            f"PRISMA file format {data['format_version']} is newer than this scoping "
            f"reads ({FORMAT_VERSION}); upgrade scoping"
        )
    counts = PrismaCounts(title=data.get("title"), stopping_rule=data.get("stopping_rule"))
    if data.get("other_methods") is not None:
        counts.other_methods = OtherMethods()
    if data.get("previous") is not None:
        counts.previous = Previous()
    if data.get("update") is not None:
        counts.update = UpdateArms(since=str(data["update"].get("since", "")))
    for section in COUNT_KEYS:
        part = data.get(section)
        if part is None:
            continue
        holder = getattr(counts, section)
        for name in LIST_KEYS[section]:
            setattr(holder, name, _lines_from(part.get(name, [])))
        for name in COUNT_KEYS[section]:
            if f"{section}.{name}" not in _DERIVED or f"{section}.{name}" in _STORED_SUMS:
                setattr(holder, name, _count_from(part[name]))
    counts.checks = [
        Check(c["id"], c["ok"], c["message"], tuple(c.get("keys", ()))) for c in data.get("checks", [])
    ]
    counts.assumptions = list(data.get("assumptions", []))
    return counts


CSV_COLUMNS = ("key", "label", "name", "n", "source", "complete", "note")


def to_csv(counts: PrismaCounts) -> str:
    """Every count and list item as a CSV row: ``key,label,name,n,source,complete,note``.

    ``key`` is the flat key (``screening.records_screened``); list items (databases, reasons,
    topics) repeat their list's key with the item's ``name``. ``n`` is empty when not known.
    """
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section in COUNT_KEYS:
        if getattr(counts, section) is None:
            continue
        for name in COUNT_KEYS[section]:
            key = f"{section}.{name}"
            c = counts.count(key)
            writer.writerow(
                [
                    key,
                    _label(key),
                    "",
                    "" if c.n is None else c.n,
                    c.source,
                    str(c.complete).lower(),
                    c.note or "",
                ]
            )
        for name in LIST_KEYS[section]:
            key = f"{section}.{name}"
            for line in counts.lines(key):
                writer.writerow(
                    [key, _LIST_LABELS[key], line.name, line.n, line.source, str(line.complete).lower(), ""]
                )
    return stream.getvalue()


_LIST_LABELS = {
    "identification.databases": "Database",
    "identification.registers": "Register",
    "screening.records_excluded_reasons": "Records excluded, reason",
    "screening.reports_excluded_reasons": "Reports excluded, reason",
    "other_methods.sources": "Other method",
    "other_methods.records_excluded_reasons": "Records excluded (other methods), reason",
    "other_methods.reports_excluded_reasons": "Reports excluded (other methods), reason",
    "included.topics": "Topic",
    "update.previous_databases": "Database (previous searches)",
    "update.previous_other_methods": "Other method (previous version)",
}


# -- the PRISMA2020 R package's CSV ----------------------------------------------------------

PRISMA2020_COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")
"""The columns of the CSV template of the PRISMA2020 R package and Shiny app (Haddaway et al.
2022), which ``PRISMA_data()`` reads: ``outputs/prisma.csv`` has this layout."""

# (data, node, box, boxtext): the package's field names and box identifiers, in its order;
# a title row has no data field ("NA")
_P2020_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("NA", "node4", "prevstud", "Previous studies"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review"),
    ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review"),
    ("NA", "node6", "newstud", "Identification of new studies via databases and registers"),
    ("database_results", "node7", "box2", "Databases"),
    ("database_specific_results", "NA", "box2", "Specific databases"),
    ("register_results", "NA", "box2", "Registers"),
    ("register_specific_results", "NA", "box2", "Specific registers"),
    ("NA", "node16", "othstud", "Identification of new studies via other methods"),
    ("website_results", "node17", "box11", "Websites"),
    ("organisation_results", "NA", "box11", "Organisations"),
    ("citations_results", "NA", "box11", "Citation searching"),
    ("duplicates", "node8", "box3", "Duplicate records"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons"),
    ("records_screened", "node9", "box4", "Records screened"),
    ("records_excluded", "node10", "box5", "Records excluded"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility"),
    ("dbr_excluded", "node14", "box9", "Reports excluded"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility"),
    ("other_excluded", "node21", "box15", "Reports excluded"),
    ("new_studies", "node15", "box10", "New studies included in review"),
    ("new_reports", "NA", "box10", "Reports of new included studies"),
    ("total_studies", "node22", "box16", "Total studies included in review"),
    ("total_reports", "NA", "box16", "Reports of total included studies"),
    ("identification", "node1", "identification", "Identification"),
    ("screening", "node2", "screening", "Screening"),
    ("included", "node3", "included", "Included"),
)
PRISMA2020_FIELDS = tuple(data for data, _, _, _ in _P2020_ROWS if data != "NA")
"""The data fields of the template that ``outputs/prisma.csv`` fills."""

_P2020_DESCRIPTIONS = {
    "database_results": "Records identified from: Databases",
    "database_specific_results": "Records identified from: each database",
    "register_results": "Records identified from: Registers",
    "register_specific_results": "Records identified from: each register",
    "website_results": "Records identified from: Websites",
    "organisation_results": "Records identified from: Organisations",
    "citations_results": "Records identified from: Citation searching",
    "records_screened": "Records screened (databases and registers)",
    "records_excluded": "Records excluded (databases and registers)",
    "dbr_sought_reports": "Reports sought for retrieval (databases and registers)",
    "dbr_notretrieved_reports": "Reports not retrieved (databases and registers)",
    "other_sought_reports": "Reports sought for retrieval (other methods)",
    "other_notretrieved_reports": "Reports not retrieved (other methods)",
    "dbr_assessed": "Reports assessed for eligibility (databases and registers)",
    "dbr_excluded": "Reports excluded (databases and registers), with reasons",
    "other_assessed": "Reports assessed for eligibility (other methods)",
    "other_excluded": "Reports excluded (other methods), with reasons",
}


def _n(count: Count | None) -> str:
    """A number for the template: "NA" (R's missing value) when not known."""
    return "NA" if count is None or count.n is None else str(count.n)


def _named(lines: Iterable[Line]) -> str:
    """``Name, n; Name, n``: the template's way of listing databases and reasons."""
    return "; ".join(f"{line.name.replace(',', ' ').replace(';', ' ')}, {line.n}" for line in lines)


def _reasons(count: Count, reasons: list[Line]) -> str:
    if reasons:
        return _named(reasons)
    if count.n is None:
        return "NA"
    return f"{NO_REASON}, {count.n}" if count.n else ""


def _prisma2020_values(counts: PrismaCounts) -> dict[str, str]:
    ident, scr, inc, om, prev = (
        counts.identification,
        counts.screening,
        counts.included,
        counts.other_methods,
        counts.previous,
    )
    kinds = {key: [line for line in (om.sources if om else []) if line.kind == key] for key in OTHER_KINDS}
    values = {
        "previous_studies": _n(prev.studies) if prev else "0",
        "previous_reports": _n(prev.reports) if prev else "0",
        "database_results": _n(ident.databases_total),
        "database_specific_results": _named(ident.databases),
        "register_results": _n(ident.registers_total),
        "register_specific_results": _named(ident.registers),
        "website_results": str(sum(line.n for line in kinds["websites"])),
        "organisation_results": str(sum(line.n for line in kinds["organisations"])),
        "citations_results": str(sum(line.n for line in kinds["citation_searching"])),
        # an updated review: duplicates of the previous searches are duplicate records too
        "duplicates": _n(
            ident.duplicates_removed
            if counts.update is None
            else _add(ident.duplicates_removed, counts.update.duplicates_of_previous)
        ),
        "excluded_automatic": _n(ident.automation_removed),
        "excluded_other": _n(ident.other_removed),
        "records_screened": _n(scr.records_screened),
        "records_excluded": _n(scr.records_excluded),
        "dbr_sought_reports": _n(scr.reports_sought),
        "dbr_notretrieved_reports": _n(scr.reports_not_retrieved),
        "dbr_assessed": _n(scr.reports_assessed),
        "dbr_excluded": _reasons(scr.reports_excluded, scr.reports_excluded_reasons),
        "other_sought_reports": _n(om.reports_sought) if om else "0",
        "other_notretrieved_reports": _n(om.reports_not_retrieved) if om else "0",
        "other_assessed": _n(om.reports_assessed) if om else "0",
        "other_excluded": _reasons(om.reports_excluded, om.reports_excluded_reasons) if om else "",
        "new_studies": _n(inc.studies),
        "new_reports": _n(inc.reports),
        "total_studies": _n(prev.total_studies) if prev else _n(inc.studies),
        "total_reports": _n(prev.total_reports) if prev else _n(inc.reports),
    }
    return values


def to_prisma2020_csv(counts: PrismaCounts) -> str:
    """The counts in the layout of the PRISMA2020 R package's CSV template
    (:data:`PRISMA2020_COLUMNS`; ``PRISMA_data(read.csv("prisma.csv"))`` in R).

    ``n`` holds each number ("NA" when not known), databases, registers and reasons as
    ``Name, n; Name, n``; the other-methods sources are summed by their PRISMA kind
    (``[sources]`` websites, organisations, citation_searching in prisma-manual.toml). A
    review that is not an update has 0 previous studies, and its totals are its new studies.
    Titles and labels are PRISMA 2020's words; ``tooltips`` repeat the description; ``url`` is
    "NA" (scoping links nothing).
    """
    values = _prisma2020_values(counts)
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(PRISMA2020_COLUMNS)
    for data, node, box, boxtext in _P2020_ROWS:
        description = _P2020_DESCRIPTIONS.get(data, boxtext)
        n = values.get(data, "0")  # a title row or a phase band: no number
        tooltip = description if node != "NA" else "NA"
        writer.writerow([data, node, box, description, boxtext, tooltip, "NA", n])
    return stream.getvalue()


def unkinded_other_sources(counts: PrismaCounts) -> list[str]:
    """Other-methods sources without a PRISMA kind: the template's CSV cannot place them."""
    om = counts.other_methods
    return [line.name for line in om.sources if line.kind is None] if om else []
