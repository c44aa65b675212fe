"""Helpers shared by the de-duplication rule tests: records to compare and the verdict on a pair."""

from __future__ import annotations

from typing import Any

from scoping.dedupe import MatchRow, compare, decide, prepare

_ids = iter(range(1, 1_000_000))


def row(**fields: Any) -> MatchRow:
    """A record to compare, with a fresh id unless one is given."""
    fields.setdefault("id", next(_ids))
    return MatchRow(**fields)


def verdict(a: MatchRow, b: MatchRow) -> str:
    """The decision on the pair ``a``, ``b``: duplicate, distinct or uncertain."""
    ka, kb = prepare(a, 0), prepare(b, 1)
    return decide(ka, kb, compare(ka, kb)).label
