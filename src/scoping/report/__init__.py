"""The report stage: PRISMA 2020 counts derived from the store, the flow diagram, exports.

- :mod:`scoping.report.prisma`: the counts model (plain data), checks, hand-entered counts,
  JSON and CSV;
- :mod:`scoping.report.diagram`: the PRISMA 2020 flow diagram (SVG, PNG, PDF) with matplotlib;
- :mod:`scoping.report.api`: the same over a review folder (what ``scoping prisma`` calls).

The diagram module is not imported here, so that importing the stage does not load
matplotlib.
"""

from __future__ import annotations

from scoping.report.api import OUTPUT_FORMATS, PrismaResult, make_prisma, prisma_counts, write_prisma
from scoping.report.prisma import (
    Check,
    Count,
    Line,
    ManualCounts,
    PrismaCounts,
    check_counts,
    derive_counts,
    from_dict,
    load_manual,
    parse_manual,
    to_csv,
    to_dict,
    to_json,
)

__all__ = [
    "OUTPUT_FORMATS",
    "Check",
    "Count",
    "Line",
    "ManualCounts",
    "PrismaCounts",
    "PrismaResult",
    "check_counts",
    "derive_counts",
    "from_dict",
    "load_manual",
    "make_prisma",
    "parse_manual",
    "prisma_counts",
    "to_csv",
    "to_dict",
    "to_json",
    "write_prisma",
]
