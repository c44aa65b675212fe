"""The screening protocol: ``screening/protocol.toml`` read, checked and turned into plain data.

::

    [review]
    title = "..."                       # optional

    [[reviewer]]                        # one table per person
    name = "alice"
    role = "reviewer"                   # "reviewer" or "lead"
    screens = true                      # optional; reviewers screen, leads only resolve unless
                                        # screens = true gives them a share of the screening
    user = "alice"                      # optional: the operating-system user this person is;
                                        # acting as them then requires being that user

    [allocation]
    dual_fraction = 1.0                 # share of works screened by two reviewers (0..1)
    seed = 2026                         # makes the allocation and the screening order reproducible

    [stages.title-abstract]             # required
    criteria = "..."
    exclusion_reasons = ["...", ...]    # optional when excluding at title-abstract
    prioritise = true                   # optional (default false): each reviewer's queue is
                                        # ranked by a model trained on the team's decisions

    [stages.full-text]                  # optional until full texts are screened
    criteria = "..."
    exclusion_reasons = ["...", ...]    # required (and one must be picked) when excluding

    [highlight]
    include = ["peer support", ...]     # shown in green while screening
    exclude = ["HIV", ...]              # shown in red

    [stopping]                          # optional: the statistical stopping rule at title-abstract
    recall_target = 0.95                # stop when recall is at least this ...
    confidence = 0.95                   # ... at this confidence (Callaghan & Müller-Hansen 2020)

Every problem is a one-line :class:`~scoping.errors.ConfigError` that names the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoping.errors import ConfigError, UsageError
from scoping.files import parse_toml, read_toml
from scoping.screen.stop_rule import StoppingRule
from scoping.store.core import os_user

__all__ = [
    "FULL_TEXT",
    "ROLES",
    "STAGES",
    "TITLE_ABSTRACT",
    "Allocation",
    "Highlight",
    "Protocol",
    "Reviewer",
    "StageRules",
    "load_protocol",
    "os_user",
    "parse_protocol",
]

TITLE_ABSTRACT = "title-abstract"
FULL_TEXT = "full-text"
STAGES: tuple[str, ...] = (TITLE_ABSTRACT, FULL_TEXT)
"""The screening stages, in order."""

ROLES: tuple[str, ...] = ("reviewer", "lead")

_SECTIONS = ("review", "reviewer", "allocation", "stages", "highlight", "stopping", "charting")
"""Top-level tables of the file. ``[charting]`` belongs to the topics stage (fields charted by
hand, read by :mod:`scoping.topics.charting`); the screening stage leaves it alone."""
_MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class Reviewer:
    """One person of the team."""

    name: str
    role: str
    screens: bool
    """Whether work is allocated to this person (reviewers: yes; leads: only if asked)."""

    user: str | None = None
    """The operating-system user this person is (``None``: not checked)."""

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


@dataclass(frozen=True, slots=True)
class StageRules:
    """What reviewers screen against at one stage."""

    name: str
    criteria: str
    exclusion_reasons: tuple[str, ...]
    reason_required: bool
    """A reason must be picked when excluding (full text: always; title-abstract: never)."""
    prioritise: bool = False
    """Rank each reviewer's queue by a model trained on the team's decisions so far."""


@dataclass(frozen=True, slots=True)
class Allocation:
    dual_fraction: float = 1.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Highlight:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Protocol:
    """The parsed protocol. Reviewers keep the order of the file."""

    title: str
    reviewers: tuple[Reviewer, ...]
    stages: Mapping[str, StageRules]
    allocation: Allocation = field(default_factory=Allocation)
    highlight: Highlight = field(default_factory=Highlight)
    source: str = "protocol.toml"
    stopping: StoppingRule | None = None
    """The stopping rule of title-abstract screening (``None``: screen everything)."""

    @property
    def screeners(self) -> tuple[Reviewer, ...]:
        """The people work is allocated to, in file order."""
        return tuple(r for r in self.reviewers if r.screens)

    @property
    def leads(self) -> tuple[Reviewer, ...]:
        return tuple(r for r in self.reviewers if r.is_lead)

    def reviewer(self, name: str | None) -> Reviewer:
        """The reviewer called ``name``; a :class:`UsageError` for anyone else.

        When the protocol gives the person a ``user``, the operating-system user running this
        process (:func:`os_user`) must be that user, or a :class:`UsageError` is raised: who
        you are is known, not claimed. The message never lists the team: a reviewer must not
        learn who else screens.
        """
        if name is None or not name.strip():
            raise UsageError("say who you are with --reviewer NAME (or set SCOPING_REVIEWER)")
        wanted = name.strip()
        for person in self.reviewers:
            if person.name == wanted:
                if person.user is not None and person.user != (me := os_user()):
                    raise UsageError(
                        f"{wanted!r} is the operating-system user {person.user!r} in {self.source}, "
                        f"and you are {me!r}; log in as {person.user!r} to act as {wanted!r}"
                    )
                return person
        raise UsageError(
            f"{wanted!r} is not a reviewer in {self.source}; check the spelling "
            "(names are case-sensitive) or ask the lead to add you"
        )

    def lead(self, name: str | None) -> Reviewer:
        """Like :meth:`reviewer`, but only a lead passes."""
        person = self.reviewer(name)
        if not person.is_lead:
            raise UsageError(f"only a lead may do this, and {person.name!r} is a reviewer in {self.source}")
        return person

    def stage(self, name: str) -> StageRules:
        """The rules of stage ``name``; a :class:`UsageError` if the protocol has none."""
        if name not in STAGES:
            raise UsageError(f"unknown stage {name!r}; use {' or '.join(STAGES)}")
        rules = self.stages.get(name)
        if rules is None:
            raise UsageError(
                f"{self.source} has no [stages.{name}] section; add its criteria and exclusion reasons first"
            )
        return rules


_CREATE = "run 'scoping init' or write the protocol (reviewers, stages, criteria)"


def load_protocol(path: str | Path) -> Protocol:
    """Read and check a protocol file."""
    data = read_toml(path, what="the protocol", create=_CREATE)
    return _Parser(str(path)).protocol(data)


def parse_protocol(text: str, *, source: str = "protocol.toml") -> Protocol:
    """Parse and check the text of a protocol file; ``source`` names it in messages."""
    data = parse_toml(text, what="the protocol", source=source)
    return _Parser(source).protocol(data)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key} {problem}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{key}]), not {_kind(value)}")
        return value

    def known(self, table: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                raise self.fail(where, f"is not a known key; the keys here are {', '.join(allowed)}")

    def string(self, value: Any, key: str, *, empty: bool = True) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be text, not {_kind(value)}")
        if not empty and not value.strip():
            raise self.fail(key, "is empty")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of texts, not {_kind(value)}")
        out: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            text = self.string(item, f"{key}[{i}]", empty=False).strip()
            if text.casefold() in seen:
                raise self.fail(key, f"lists {text!r} twice")
            seen.add(text.casefold())
            out.append(text)
        return tuple(out)

    def protocol(self, data: dict[str, Any]) -> Protocol:
        self.known(data, "", _SECTIONS)
        review = self.table(data.get("review", {}), "review")
        self.known(review, "review", ("title",))
        title = self.string(review.get("title", ""), "review.title").strip()
        reviewers = self.reviewers(data.get("reviewer"))
        allocation = self.allocation(data.get("allocation", {}))
        stages = self.stages(data.get("stages"))
        highlight = self.highlight(data.get("highlight", {}))
        stopping = self.stopping(data["stopping"]) if "stopping" in data else None
        screeners = [r for r in reviewers if r.screens]
        if not screeners:
            raise self.fail(
                "reviewer",
                'has no one who screens; give at least one person role = "reviewer" (or screens = true)',
            )
        if allocation.dual_fraction > 0 and len(screeners) < 2:
            raise self.fail(
                "allocation.dual_fraction",
                f"is {allocation.dual_fraction:g} but only one person screens; add "
                "a second reviewer or set dual_fraction = 0",
            )
        return Protocol(
            title=title,
            reviewers=reviewers,
            stages=stages,
            allocation=allocation,
            highlight=highlight,
            source=self.source,
            stopping=stopping,
        )

    def reviewers(self, value: Any) -> tuple[Reviewer, ...]:
        if value is None:
            raise self.fail(
                "reviewer", "is missing; add one [[reviewer]] table per person with name and role"
            )
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail("reviewer", "must be written as [[reviewer]] tables, one per person")
        people: list[Reviewer] = []
        seen: dict[str, str] = {}
        for i, entry in enumerate(value):
            key = f"reviewer[{i + 1}]"
            self.known(entry, key, ("name", "role", "screens", "user"))
            if "name" not in entry:
                raise self.fail(f"{key}.name", "is missing")
            name = self.string(entry["name"], f"{key}.name", empty=False).strip()
            if (
                len(name) > _MAX_NAME
                or any(ch.isspace() and ch != " " for ch in name)
                or not name.isprintable()
            ):
                raise self.fail(
                    f"{key}.name", f"must be at most {_MAX_NAME} printable characters on one line"
                )
            if name.casefold() in seen:
                raise self.fail(
                    f"{key}.name",
                    f"repeats the name {seen[name.casefold()]!r}; give each person their own name",
                )
            seen[name.casefold()] = name
            role = self.string(entry.get("role", "reviewer"), f"{key}.role").strip()
            if role not in ROLES:
                raise self.fail(f"{key}.role", f'is {role!r}; use "reviewer" or "lead"')
            screens = entry.get("screens", role == "reviewer")
            if not isinstance(screens, bool):
                raise self.fail(f"{key}.screens", f"must be true or false, not {_kind(screens)}")
            user = entry.get("user")
            if user is not None:
                user = self.string(user, f"{key}.user", empty=False).strip()
                if any(ch.isspace() for ch in user) or not user.isprintable():
                    raise self.fail(f"{key}.user", "must be one operating-system user name, without spaces")
            people.append(Reviewer(name=name, role=role, screens=screens, user=user))
        if not any(p.is_lead for p in people):
            raise self.fail(
                "reviewer", 'has no lead; give one person role = "lead" (a lead resolves conflicts)'
            )
        return tuple(people)

    def allocation(self, value: Any) -> Allocation:
        table = self.table(value, "allocation")
        self.known(table, "allocation", ("dual_fraction", "seed"))
        fraction = table.get("dual_fraction", 1.0)
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float))
            or not math.isfinite(fraction)
            or not 0 <= fraction <= 1
        ):
            raise self.fail("allocation.dual_fraction", f"must be a number from 0 to 1, not {fraction!r}")
        seed = table.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise self.fail("allocation.seed", f"must be a whole number, not {seed!r}")
        return Allocation(dual_fraction=float(fraction), seed=seed)

    def stages(self, value: Any) -> dict[str, StageRules]:
        if value is None:
            raise self.fail("stages", f"is missing; add [stages.{TITLE_ABSTRACT}] with the criteria")
        table = self.table(value, "stages")
        self.known(table, "stages", STAGES)
        if TITLE_ABSTRACT not in table:
            raise self.fail(
                f"stages.{TITLE_ABSTRACT}", "is missing; every review screens titles and abstracts first"
            )
        out: dict[str, StageRules] = {}
        for name in STAGES:
            if name not in table:
                continue
            key = f"stages.{name}"
            entry = self.table(table[name], key)
            self.known(entry, key, ("criteria", "exclusion_reasons", "prioritise"))
            criteria = self.string(entry.get("criteria", ""), f"{key}.criteria").strip()
            reasons = self.strings(entry.get("exclusion_reasons", []), f"{key}.exclusion_reasons")
            required = name == FULL_TEXT
            if required and not reasons:
                raise self.fail(
                    f"{key}.exclusion_reasons",
                    "is empty; a reason is required when "
                    "excluding a full text, so list the reasons to pick from",
                )
            prioritise = entry.get("prioritise", False)
            if not isinstance(prioritise, bool):
                raise self.fail(f"{key}.prioritise", f"must be true or false, not {_kind(prioritise)}")
            out[name] = StageRules(
                name=name,
                criteria=criteria,
                exclusion_reasons=reasons,
                reason_required=required,
                prioritise=prioritise,
            )
        return out

    def highlight(self, value: Any) -> Highlight:
        table = self.table(value, "highlight")
        self.known(table, "highlight", ("include", "exclude"))
        return Highlight(
            include=self.strings(table.get("include", []), "highlight.include"),
            exclude=self.strings(table.get("exclude", []), "highlight.exclude"),
        )

    def stopping(self, value: Any) -> StoppingRule:
        table = self.table(value, "stopping")
        self.known(table, "stopping", ("recall_target", "confidence"))
        numbers: dict[str, float] = {}
        for name in ("recall_target", "confidence"):
            number = table.get(name, 0.95)
            if (
                isinstance(number, bool)
                or not isinstance(number, (int, float))
                or not math.isfinite(number)
                or not 0 < number < 1
            ):
                raise self.fail(
                    f"stopping.{name}",
                    f"must be a number between 0 and 1 (exclusive), not {number!r}; e.g. 0.95",
                )
            numbers[name] = float(number)
        return StoppingRule(recall_target=numbers["recall_target"], confidence=numbers["confidence"])


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)
