"""Charting by hand: the fields the protocol defines, and checking values against them.

Fields are defined in ``screening/protocol.toml``, one table per field under ``[charting]``::

    [charting.country]
    description = "Country where the study took place"

    [charting.design]
    description = "Study design"
    values = ["RCT", "quasi-experimental", "qualitative", "mixed methods", "survey", "other"]

    [charting.population]
    description = "Who received peer support"
    multiple = true          # several values, separated by ";"

A field with ``values`` takes only those (matched ignoring case, stored as written in the
protocol); a field without takes any text. Values are stored per work and cross-tabulated
against topics in the evidence map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scoping.errors import ConfigError, UsageError
from scoping.files import read_toml
from scoping.store.topics_tables import ChartField

__all__ = [
    "ChartField",
    "check_value",
    "find_field",
    "parse_chart_fields",
    "read_chart_fields",
    "split_value",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


def parse_chart_fields(config: Mapping[str, Any], where: str = "protocol.toml") -> list[ChartField]:
    """The charting fields of a parsed protocol (``[charting.<name>]`` tables), in file order."""
    section = config.get("charting", {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: [charting] must be a table of fields, like [charting.country]")
    fields: list[ChartField] = []
    for name, spec in section.items():
        if not _NAME.match(name):
            raise ConfigError(
                f"{where}: charting field name {name!r} must be a word (letters, digits, _ or -)"
            )
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{where}: [charting.{name}] must be a table "
                '(description = "...", optional values = [...], multiple = true)'
            )
        unknown = set(spec) - {"description", "values", "multiple"}
        if unknown:
            raise ConfigError(
                f"{where}: [charting.{name}] has unknown keys: {', '.join(sorted(unknown))}; "
                "use description, values, multiple"
            )
        choices = spec.get("values", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices):
            raise ConfigError(f"{where}: [charting.{name}] values must be a list of non-empty strings")
        multiple = spec.get("multiple", False)
        if not isinstance(multiple, bool):
            raise ConfigError(f"{where}: [charting.{name}] multiple must be true or false")
        fields.append(
            ChartField(
                name=name,
                description=str(spec.get("description", "")),
                choices=[c.strip() for c in choices],
                multiple=multiple,
            )
        )
    return fields


def read_chart_fields(protocol: str | Path) -> list[ChartField]:
    """The charting fields defined in a protocol file (an empty list if it defines none)."""
    config = read_toml(
        protocol,
        what="the protocol",
        create="run 'scoping init' or write the protocol; charting fields are its [charting] section",
    )
    return parse_chart_fields(config, str(protocol))


def split_value(field: ChartField, value: str) -> list[str]:
    """A stored value as its parts (several for ``multiple`` fields)."""
    if field.multiple:
        return [part.strip() for part in value.split(";") if part.strip()]
    return [value.strip()] if value.strip() else []


def check_value(field: ChartField, value: str) -> str | None:
    """The value to store for ``field``: checked against its choices; ``None`` for an empty value."""
    parts = [p.strip() for p in value.split(";")] if field.multiple else [value.strip()]
    parts = [p for p in parts if p]
    if not parts:
        return None
    if field.choices:
        canonical = {c.casefold(): c for c in field.choices}
        fixed: list[str] = []
        for part in parts:
            if part.casefold() not in canonical:
                raise UsageError(
                    f"{part!r} is not a value of {field.name}; choose one of: " + ", ".join(field.choices)
                )
            fixed.append(canonical[part.casefold()])
        parts = fixed
    if not field.multiple and ";" in value and field.choices:
        raise UsageError(f"{field.name} takes one value; set multiple = true in the protocol for several")
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return "; ".join(seen)


def find_field(fields: Sequence[ChartField], name: str) -> ChartField:
    for f in fields:
        if f.name.casefold() == name.strip().casefold():
            return f
    if not fields:
        raise UsageError(
            "the protocol defines no charting fields; add [charting.<name>] tables to "
            "screening/protocol.toml (see 'scoping chart fields --help')"
        )
    raise UsageError(
        f"no charting field {name!r}; the protocol defines: " + ", ".join(f.name for f in fields)
    )
