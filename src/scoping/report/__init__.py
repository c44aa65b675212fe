"""The report stage: PRISMA 2020 counts derived from the store, the flow diagram, exports.

- :mod:`scoping.report.prisma`: the counts model (plain data), checks, hand-entered counts,
  JSON and CSV;
- :mod:`scoping.report.diagram`: the PRISMA 2020 flow diagram (SVG, PNG, PDF) with matplotlib;
- :mod:`scoping.report.facts`: what the counts are derived from (the store, the screening and
  topics stages), as plain data;
- :mod:`scoping.report.api`: the same over a review folder (what ``scoping prisma`` calls);
- :mod:`scoping.report.page`: every stage's results gathered for the report page (what
  ``scoping report`` calls), rendered by :mod:`scoping.report.html` from jinja2 templates.

The diagram and page modules are not imported here, so that importing the stage does not load
matplotlib or the other stages.
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
