"""Per-source overlap: how many works each database contributed, and how many only it found.

From ``(source, work id)`` of every record, :func:`source_overlap` counts per source the
records, the works they belong to, the works no other source found ("unique"), the records
that duplicate another record of the same source, and, for every other source, the works
both found.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["OVERLAP_COLUMNS", "Overlap", "SourceOverlap", "source_overlap"]


@dataclass(slots=True)
class SourceOverlap:
    source: str
    records: int = 0
    works: int = 0
    unique_works: int = 0
    internal_duplicates: int = 0
    """Records of this source in a work that already has a record of this source."""
    shared: dict[str, int] = field(default_factory=dict)
    """Other source -> works found by both."""

    @property
    def unique_share(self) -> float:
        return self.unique_works / self.works if self.works else 0.0


@dataclass(slots=True)
class Overlap:
    sources: list[SourceOverlap]
    total_records: int
    total_works: int
    works_in_several_sources: int

    def rows(self) -> list[dict[str, object]]:
        """One dict per source (and a total), with the columns of :data:`OVERLAP_COLUMNS`."""
        names = [s.source for s in self.sources]
        out: list[dict[str, object]] = []
        for s in self.sources:
            row: dict[str, object] = {
                "source": s.source,
                "records": s.records,
                "works": s.works,
                "unique_works": s.unique_works,
                "unique_share": round(s.unique_share, 4),
                "internal_duplicates": s.internal_duplicates,
            }
            for other in names:
                row[f"shared_with:{other}"] = "" if other == s.source else s.shared.get(other, 0)
            out.append(row)
        total: dict[str, object] = {
            "source": "(all)",
            "records": self.total_records,
            "works": self.total_works,
            "unique_works": sum(s.unique_works for s in self.sources),
            "unique_share": "",
            "internal_duplicates": sum(s.internal_duplicates for s in self.sources),
        }
        for other in names:
            total[f"shared_with:{other}"] = ""
        out.append(total)
        return out


OVERLAP_COLUMNS = ("source", "records", "works", "unique_works", "unique_share", "internal_duplicates")
"""The fixed columns of :meth:`Overlap.rows`; ``shared_with:<source>`` columns follow."""


def source_overlap(assignment: Iterable[tuple[str, int]]) -> Overlap:
    """Count the overlap from ``(source, work id)`` of every record."""
    by_work: dict[int, dict[str, int]] = defaultdict(dict)
    total_records = 0
    for source, work in assignment:
        counts = by_work[work]
        counts[source] = counts.get(source, 0) + 1
        total_records += 1
    stats: dict[str, SourceOverlap] = {}
    several = 0
    for counts in by_work.values():
        if len(counts) > 1:
            several += 1
        for source, n in counts.items():
            s = stats.get(source)
            if s is None:
                s = stats[source] = SourceOverlap(source)
            s.records += n
            s.works += 1
            s.internal_duplicates += n - 1
            if len(counts) == 1:
                s.unique_works += 1
            else:
                for other in counts:
                    if other != source:
                        s.shared[other] = s.shared.get(other, 0) + 1
    return Overlap(
        sources=[stats[name] for name in sorted(stats)],
        total_records=total_records,
        total_works=len(by_work),
        works_in_several_sources=several,
    )
