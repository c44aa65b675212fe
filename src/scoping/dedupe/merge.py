"""The merged view of a work: the most complete value of each field, and where it came from.

Records are never changed: the merged view is computed from them whenever it is needed. For
each field the value chosen is the most complete one among the work's records (the longest
author list, a page range rather than a first page, a full journal name rather than an
abbreviation, a title in mixed case rather than capitals, the longest abstract); identifiers
and numbers take the value most records agree on. Ties go to the lowest record id, so the
view is the same every time. Each value names the record it was taken from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoping.records import Record

__all__ = ["MergedField", "MergedWork", "merge_records"]


@dataclass(frozen=True, slots=True)
class MergedField:
    value: Any
    record_id: int
    source: str


@dataclass(slots=True)
class MergedWork:
    work_id: int
    record_ids: list[int]
    sources: list[str]
    fields: dict[str, MergedField] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        chosen = self.fields.get(name)
        return None if chosen is None else chosen.value


def _upper_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ch.isupper() for ch in letters) / len(letters) if letters else 0.0


_TITLE_NOISE = re.compile(r"\[[^\]]*\]\s*\.?\s*$|\(vol \d+|\berratum appears\b", re.I)


def _title_rank(title: str) -> tuple[float, ...]:
    shouting = _upper_share(title) > 0.6
    bracketed = title.startswith("[")  # MEDLINE's translated titles
    noisy = bool(_TITLE_NOISE.search(title))  # "[Chinese]", "[Review] [33 refs]", erratum notes
    return (not shouting, not bracketed, not noisy, min(len(title), 400))


def _authors_rank(authors: list[str]) -> tuple[float, ...]:
    return (len(authors), sum(len(a) for a in authors))


def _journal_rank(journal: str) -> tuple[float, ...]:
    return (-journal.count("."), _upper_share(journal) < 0.6, len(journal))


def _pages_rank(pages: str) -> tuple[float, ...]:
    return ("-" in pages, len(pages))


def _longest(value: Any) -> tuple[float, ...]:
    return (len(value),)


# field -> how to rank candidates (higher is better); None: the most common value wins
_RANKS: dict[str, Callable[[Any], tuple[float, ...]] | None] = {
    "title": _title_rank,
    "authors": _authors_rank,
    "year": None,
    "journal": _journal_rank,
    "volume": None,
    "issue": None,
    "pages": _pages_rank,
    "doi": None,
    "pmid": None,
    "issn": None,
    "isbn": None,
    "publisher": _longest,
    "abstract": _longest,
    "keywords": _longest,
    "language": None,
    "doc_type": None,
    "url": None,
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def merge_records(work_id: int, records: Sequence[tuple[int, str, Record]]) -> MergedWork:
    """The merged view of one work from its ``(record id, source, record)`` triples."""
    ordered = sorted(records, key=lambda item: item[0])
    merged = MergedWork(
        work_id=work_id,
        record_ids=[rid for rid, _, _ in ordered],
        sources=sorted({source for _, source, _ in ordered}),
    )
    for name, rank in _RANKS.items():
        candidates = [
            (rid, source, getattr(rec, name))
            for rid, source, rec in ordered
            if not _empty(getattr(rec, name))
        ]
        if not candidates:
            continue
        if rank is None:
            counts = Counter(_key(value) for _, _, value in candidates)
            best_key = max(counts, key=lambda k: (counts[k], -_first_id(candidates, k)))
            rid, source, value = next(c for c in candidates if _key(c[2]) == best_key)
        else:
            rid, source, value = max(candidates, key=lambda c: (rank(c[2]), -c[0]))
        merged.fields[name] = MergedField(value=value, record_id=rid, source=source)
    return merged


def _key(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str):
        return value.casefold()
    return value


def _first_id(candidates: list[tuple[int, str, Any]], key: Any) -> int:
    return min(rid for rid, _, value in candidates if _key(value) == key)
