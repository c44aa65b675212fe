"""What a reviewer reads about a work: its card, and the highlight terms found in it.

A work is one or more records (the de-duplication stage links them). :func:`load_card` reads
the work's records and takes each field from the de-duplication stage's merged view
(:func:`scoping.dedupe.merge_records`), so a reviewer reads the same values ``scoping dedupe
show`` shows, and the ranking model learns from them.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from scoping.records import Record
from scoping.screen.protocol import Highlight
from scoping.store import Store, screen_tables

__all__ = ["Card", "Span", "find_terms", "load_card", "load_cards", "term_counts"]


@dataclass(frozen=True, slots=True)
class Card:
    """The fields shown while screening one work."""

    work_id: int
    title: str | None
    authors: tuple[str, ...]
    year: int | None
    journal: str | None
    abstract: str | None
    keywords: tuple[str, ...]
    doi: str | None
    record_ids: tuple[int, ...]
    sources: tuple[str, ...] = field(default=())


_FIELDS = ("title", "authors", "year", "journal", "abstract", "keywords", "doi")


def load_card(store: Store, work_id: int) -> Card | None:
    """The card of work ``work_id``, or ``None`` if there is no such work."""
    records = screen_tables.work_records(store, work_id)
    if not records:
        return None
    return _card(work_id, records)


def load_cards(store: Store, work_ids: Sequence[int]) -> Iterator[Card]:
    """The cards of ``work_ids``, in that order (works that do not exist are left out), read a
    few hundred at a time."""
    ids = list(work_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = screen_tables.works_records(store, chunk)
        for work in chunk:
            if work in found:
                yield _card(work, found[work])


def _card(work_id: int, records: list[tuple[int, str, Record]]) -> Card:
    # imported here: scoping.dedupe loads numpy and networkx, which `scoping --help` must not
    from scoping.dedupe.merge import merge_records

    merged = merge_records(work_id, records)
    year = merged.value("year")
    return Card(
        work_id=work_id,
        title=merged.value("title"),
        authors=tuple(merged.value("authors") or ()),
        year=int(year) if year is not None else None,
        journal=merged.value("journal"),
        abstract=merged.value("abstract"),
        keywords=tuple(merged.value("keywords") or ()),
        doi=merged.value("doi"),
        record_ids=tuple(rid for rid, _, _ in records),
        sources=tuple(sorted({source for _, source, _ in records})),
    )


@dataclass(frozen=True, slots=True)
class Span:
    """A highlight term found in a text: ``text[start:end]``, ``kind`` "include" or "exclude"."""

    start: int
    end: int
    kind: str
    term: str


def _term_regex(term: str) -> str:
    """A highlight term as a regular expression: whole words, any spacing between words; a
    trailing ``*`` stands for any word ending (``trajector*``: trajectory, trajectories) and a
    term without one also finds its plural (``peer worker``: peer workers, ``study``: studies)."""
    stem = term.endswith("*")
    body = term.rstrip("*").strip()
    words = [re.escape(w) for w in body.split()]
    if stem:
        words[-1] += r"\w*"
    elif words and words[-1][-1:].isalpha():
        last = words[-1]
        if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
            words[-1] = f"{last[:-1]}(?:y|ies)"
        else:
            words[-1] = f"{last}(?:s|es)?"
    pattern = r"\s+".join(words)
    left = r"\b" if body[:1].isalnum() else ""
    right = r"\b" if (stem or body[-1:].isalnum()) else ""
    return f"{left}{pattern}{right}"


@functools.lru_cache(maxsize=16)
def _pattern(highlight: Highlight) -> tuple[re.Pattern[str] | None, list[tuple[str, str]]]:
    kinds: dict[str, tuple[str, str]] = {}
    for kind, terms in (("include", highlight.include), ("exclude", highlight.exclude)):
        for term in terms:
            if term.strip("* "):
                kinds.setdefault(term.casefold(), (kind, term))
    if not kinds:
        return None, []
    ordered = sorted(kinds, key=len, reverse=True)  # the longest term wins where they overlap
    parts = [f"(?P<t{n}>{_term_regex(kinds[key][1])})" for n, key in enumerate(ordered)]
    return re.compile("|".join(parts), re.IGNORECASE), [kinds[key] for key in ordered]


def find_terms(text: str | None, highlight: Highlight) -> list[Span]:
    """Where the highlight terms occur in ``text`` (whole words, any case, plurals, and any
    ending after a ``*``), in order; each span names the protocol's term it matched."""
    if not text:
        return []
    pattern, terms = _pattern(highlight)
    if pattern is None:
        return []
    spans = []
    for match in pattern.finditer(text):
        kind, term = terms[int((match.lastgroup or "t0")[1:])]
        spans.append(Span(match.start(), match.end(), kind, term))
    return spans


def term_counts(card: Card, highlight: Highlight) -> dict[str, Counter[str]]:
    """``{"include": Counter(term -> n), "exclude": ...}`` over the card's title, abstract and
    keywords (for the line-based screen, where colour is not available)."""
    out: dict[str, Counter[str]] = {"include": Counter(), "exclude": Counter()}
    for text in (card.title, card.abstract, "; ".join(card.keywords)):
        for span in find_terms(text, highlight):
            out[span.kind][span.term] += 1
    return out
