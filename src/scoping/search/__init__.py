"""The search stage: strategies, their translation into each database's syntax, API runs and
the search log.

The only package that does network I/O. ``scoping search plan|run|log|counts`` are thin
commands over :func:`load_strategy`, :func:`plan`/:func:`translate`, :func:`run_search`,
:func:`search_log`, :func:`update_arms` and :func:`term_counts`; ``scoping search import-query``
over :func:`scoping.search.parse.import_query` (a PubMed or Web of Science query read back
into blocks).
"""

from __future__ import annotations

from scoping.search.config import SearchConfig
from scoping.search.counts import TermCount, term_counts
from scoping.search.log import (
    ExportInfo,
    LogEntry,
    UpdateArms,
    import_arms,
    record_export,
    search_log,
    update_arms,
)
from scoping.search.platforms import API_PLATFORMS, PLATFORMS, Platform
from scoping.search.runner import ProgressEvent, RunResult, run_search
from scoping.search.strategy import Block, Database, Limits, Strategy, Term, load_strategy, parse_strategy
from scoping.search.translate import Query, plan, term_queries, translate
from scoping.search.transport import RetryPolicy

__all__ = [
    "API_PLATFORMS",
    "PLATFORMS",
    "Block",
    "Database",
    "ExportInfo",
    "Limits",
    "LogEntry",
    "Platform",
    "ProgressEvent",
    "Query",
    "RetryPolicy",
    "RunResult",
    "SearchConfig",
    "Strategy",
    "Term",
    "TermCount",
    "UpdateArms",
    "import_arms",
    "load_strategy",
    "parse_strategy",
    "plan",
    "record_export",
    "run_search",
    "search_log",
    "term_counts",
    "term_queries",
    "translate",
    "update_arms",
]
