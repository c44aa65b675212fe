"""Checking the strategy against known relevant studies (``[seeds]`` in ``strategy.toml``).

For every seed study (a DOI or PMID), which searched databases found it (a record of that
database in the store has its DOI or PMID) and which missed it. Where a missed study's record
is in the store (found by another database), its title, abstract and keywords are matched
against each block offline, as the strategy's terms read them (phrases as adjacent words,
``*`` as any ending, ``a ~N b`` within N words): the blocks that match nothing in it are the
ones that lost it, in the spirit of litsearchr's ``check_recall``; when every block matches,
the database probably does not index the study, or indexes other text.

The offline match reads the strategy's free-text terms only: a block whose subject heading
would have found the study is still named, with the note that its headings were not checked.

:func:`missing_plurals` finds terms written without truncation whose plural (``expert by
experience`` -> ``experts by experience``) is in the stored records' text but found by no term
of the block: databases that search a phrase as written (PubMed's quoted phrases, Ovid, Scopus
and Europe PMC) miss what only the plural finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scoping.records import Record, normalise_doi, normalise_pmid
from scoping.search.strategy import Block, Strategy, Term, covers
from scoping.store import Store

__all__ = ["FormGap", "SeedResult", "check_seeds", "missing_plurals", "plural", "term_matches"]


@dataclass(frozen=True, slots=True)
class SeedResult:
    seed: str
    """``doi:...`` or ``pmid:...``."""
    title: str | None
    """From a stored record of it, if any."""
    found_in: tuple[str, ...]
    missed_by: tuple[str, ...]
    """Searched databases (with stored records) that have no record of it."""
    lost_by: tuple[str, ...] = ()
    """Blocks none of whose terms match its stored title, abstract and keywords (``NOT`` blocks
    that do match are named too); empty when it matches the strategy, or is not in the store."""
    matched_text: bool = False
    """Whether a stored record of it was there to match the blocks against."""
    headings_unchecked: tuple[str, ...] = field(default_factory=tuple)
    """Blocks in ``lost_by`` that have subject headings, which the offline match cannot read."""
    terms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Per block (by name, in the strategy's order), the terms that match the stored text of
    it: the term-level diagnosis (a block with one matching term loses the study without it;
    a ``NOT`` block's matching terms are the ones that exclude it)."""


def _word(word: str) -> str:
    if word.endswith("*"):
        return r"\b" + re.escape(word[:-1].lower()) + r"\w*"
    return r"\b" + re.escape(word.lower()) + r"\b"


def _pattern(term: Term) -> re.Pattern[str]:
    words = term.words
    if term.near is not None:
        a, b = _word(words[0]), _word(words[1])
        gap = r"(?:\W+\w+){0," + str(term.near) + r"}\W+"
        return re.compile(f"(?:{a}{gap}{b}|{b}{gap}{a})")
    return re.compile(r"\W+".join(_word(w) for w in words))


def term_matches(term: Term, text: str) -> bool:
    """Whether ``term`` finds ``text`` as a database would in a free-text field."""
    return bool(_pattern(term).search(text.lower()))


def _text(record: Record, block: Block) -> str:
    parts: list[str] = []
    if "title" in block.fields and record.title:
        parts.append(record.title)
    if "abstract" in block.fields and record.abstract:
        parts.append(record.abstract)
    if "keywords" in block.fields:
        parts.extend(record.keywords)
    return " | ".join(parts)


def _keys(record: Record) -> set[str]:
    keys = set()
    doi = normalise_doi(record.doi)
    if doi:
        keys.add(f"doi:{doi}")
    pmid = normalise_pmid(record.pmid)
    if pmid:
        keys.add(f"pmid:{pmid}")
    return keys


def check_seeds(store: Store, strategy: Strategy) -> list[SeedResult]:
    """The seed studies of ``strategy``, each with the databases that found and missed it."""
    wanted = set(strategy.seeds)
    searched = sorted({name for name, _n in store.count_by_source()}, key=str.casefold)
    found: dict[str, set[str]] = {seed: set() for seed in strategy.seeds}
    records: dict[str, Record] = {}
    for stored in store.iter_records():
        for key in _keys(stored.record) & wanted:
            found[key].add(stored.source)
            best = records.get(key)
            if best is None or (not best.abstract and stored.record.abstract):
                records[key] = stored.record
    out: list[SeedResult] = []
    for seed in strategy.seeds:
        record = records.get(seed)
        lost: list[str] = []
        matching: list[tuple[str, tuple[str, ...]]] = []
        if record is not None:
            for block in strategy.blocks:
                text = _text(record, block)
                hits = tuple(t.text for t in block.terms if term_matches(t, text))
                if bool(hits) == block.exclude:
                    lost.append(block.name)
                if hits:
                    matching.append((block.name, hits))
        unchecked = tuple(b.name for b in strategy.blocks if b.name in lost and b.headings)
        out.append(
            SeedResult(
                seed=seed,
                title=record.title if record is not None else None,
                found_in=tuple(name for name in searched if name in found[seed]),
                missed_by=tuple(name for name in searched if name not in found[seed]),
                lost_by=tuple(lost),
                matched_text=record is not None,
                headings_unchecked=unchecked,
                terms=tuple(matching),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class FormGap:
    """A term's plural that no term of its block finds, and the stored records holding it."""

    block: str
    term: str
    form: str
    records: int


_HEAD_BEFORE = frozenset({"by", "of", "in", "for", "with", "to", "on", "at"})


def plural(word: str) -> str:
    """A regular English plural: ``worker`` -> ``workers``, ``study`` -> ``studies``."""
    lower = word.lower()
    if re.search(r"[^aeiou]y$", lower):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", lower):
        return word + "es"
    return word + "s"


def _plural_forms(term: Term) -> list[str]:
    """The term with its head noun in the plural: the last word, or the word before a
    preposition (``expert by experience``)."""
    words = list(term.words)
    if term.near is not None or term.truncated or len(words[-1]) < 3:
        return []
    heads = {len(words) - 1}
    heads |= {i - 1 for i, w in enumerate(words) if i > 0 and w.lower() in _HEAD_BEFORE}
    out = []
    for i in sorted(heads):
        if words[i].lower().endswith("s") or words[i].lower() in _HEAD_BEFORE:
            continue
        out.append(" ".join([*words[:i], plural(words[i]), *words[i + 1 :]]))
    return out


def missing_plurals(store: Store, strategy: Strategy) -> list[FormGap]:
    """Untruncated terms whose plural the stored records hold but no term of the block finds,
    with the number of stored records that hold it (searched in the block's fields)."""
    candidates: list[tuple[Block, Term, Term]] = []
    for block in strategy.blocks:
        for term in block.terms:
            for form in _plural_forms(term):
                variant = Term(form)
                if not any(covers(g, variant) for g in block.terms):
                    candidates.append((block, term, variant))
    if not candidates:
        return []
    counts = [0] * len(candidates)
    patterns = [_pattern(variant) for _b, _t, variant in candidates]
    for stored in store.iter_records():
        texts: dict[tuple[str, ...], str] = {}
        for n, (block, _term, _variant) in enumerate(candidates):
            text = texts.get(block.fields)
            if text is None:
                text = texts[block.fields] = _text(stored.record, block).lower()
            if patterns[n].search(text):
                counts[n] += 1
    return [
        FormGap(block.name, term.text, variant.text, counts[n])
        for n, (block, term, variant) in enumerate(candidates)
        if counts[n]
    ]
