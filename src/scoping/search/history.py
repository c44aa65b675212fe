"""A platform's search history, as exported or copied, read into numbered lines with their hits.

PRISMA-S item 8 asks for each database's full strategy as run; for a database searched by hand
the best record is the platform's own search history, where each line carries the number of
records it found. :func:`parse_history` reads the forms the platforms give:

=========  ==================================================================================
Ovid       "Search Strategy" export: ``1     peer support.ti,ab,id. (2114)`` (count in
           parentheses), after ``Database: APA PsycInfo <1806 to November Week 4 2026>``
EBSCOhost  search history table, copied or printed: ``S3  S1 AND S2  Search modes -
           Boolean/Phrase  View Results (812)``
plain      numbered lines ending with the count, ``3 1 and 2 812``; accepted only when every
           numbered line ends with a number (``1 and 2`` alone would otherwise lose its ``2``)
=========  ==================================================================================

Lines that fit none of these are kept as continuations of the line before (a long query
wrapped by the export); a text with no numbered line that carries a count is not a history
(:func:`parse_history` returns ``None``) and is logged as the query it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HistoryLine", "SearchHistory", "parse_history"]


@dataclass(frozen=True, slots=True)
class HistoryLine:
    number: str
    """As the platform numbers it: ``3`` (Ovid), ``S3`` (EBSCOhost)."""
    query: str
    hits: int | None


@dataclass(frozen=True, slots=True)
class SearchHistory:
    platform: str
    """``ovid``, ``ebsco`` or ``plain``: the form it was read as."""
    lines: tuple[HistoryLine, ...]
    database: str | None = None
    """The database line of an Ovid export, with its coverage dates."""

    @property
    def final_hits(self) -> int | None:
        """The last line's count: the records the whole search found."""
        return self.lines[-1].hits if self.lines else None


_COUNT = r"(\d{1,3}(?:,\d{3})+|\d+)"
_OVID = re.compile(rf"^\s*(\d+)\s+(.+?)\s+\({_COUNT}\)\s*$")
_EBSCO = re.compile(
    rf"^\s*(S\d+)\s+(.+?)(?:\s+(?:Limiters|Expanders|Search modes?)\s*-.*?)?\s+(?:View Results\s*)?"
    rf"\({_COUNT}\)\s*$",
    re.IGNORECASE,
)
_PLAIN = re.compile(rf"^\s*#?(\d+)[.)]?\s+(.+?)\s+{_COUNT}(?:\s+(?:results?|hits?|records?))?\s*$")
_NUMBERED = re.compile(r"^\s*(?:#?\d+[.)]?|S\d+)\s+\S")
_DATABASE = re.compile(r"^\s*Database:\s*(.+?)\s*$", re.IGNORECASE)
_FURNITURE = re.compile(
    r"^\s*(?:Search Strategy:?|[-*=_]{3,}|#\s+(?:Searches|Query)\b.*|Search ID#.*)\s*$", re.I
)
_WRAPPED_END = re.compile(rf"^\s*(.*?)\s+\({_COUNT}\)\s*$")
_NUMBER = re.compile(r"^\s*#?(\d+|S\d+)[.)]?\s+(.+?)\s*$")


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def _read(lines: list[str], pattern: re.Pattern[str]) -> list[HistoryLine] | None:
    out: list[HistoryLine] = []
    for line in lines:
        match = pattern.match(line)
        if match:
            number, query, hits = match.groups()
            out.append(HistoryLine(number, query.strip(), _count(hits)))
            continue
        numbered = _NUMBER.match(line) if _NUMBERED.match(line) else None
        if numbered:
            if pattern is _PLAIN:
                return None  # a numbered line without a count: the plain form is not safe to read
            # a line the platform gave no count, or the first part of a wrapped line
            out.append(HistoryLine(numbered.group(1), numbered.group(2), None))
        elif out:  # a wrapped line: the end of the line before, perhaps with its count
            last = out[-1]
            end = _WRAPPED_END.match(line) if last.hits is None else None
            text, hits = (end.group(1), _count(end.group(2))) if end else (line.strip(), last.hits)
            out[-1] = HistoryLine(last.number, f"{last.query} {text.strip()}", hits)
    return out if any(x.hits is not None for x in out) else None


def parse_history(text: str) -> SearchHistory | None:
    """The numbered lines of a search history with their hits, or ``None`` if ``text`` is not
    one (a query pasted on its own)."""
    database = None
    body: list[str] = []
    for raw in text.splitlines():
        line = raw.replace("\t", "  ").rstrip()
        if not line.strip() or _FURNITURE.match(line):
            continue
        found = _DATABASE.match(line)
        if found:
            database = found.group(1)
            continue
        body.append(line)
    for platform, pattern in (("ovid", _OVID), ("ebsco", _EBSCO), ("plain", _PLAIN)):
        lines = _read(body, pattern)
        if lines:
            return SearchHistory(platform, tuple(lines), database)
    return None
