"""Read a database's own query (PubMed, Web of Science) back into a strategy.

A search strategy published with a review is written in a database's syntax. This module
parses such a query into a small Boolean tree, normalises it (ANDs and ORs flattened and
unordered, ``a NOT b`` as ``a AND (NOT b)``, one term searched in several fields merged into
one term over the union of the fields), and fits the tree into the strategy file's shape:
concept blocks ANDed, the terms of a block ORed and searched in the same fields, subject
headings ORed with them, excluded blocks NOTed, proximity of two words. What does not fit is
named, one reason per kind (:data:`LOSS_KINDS`), never dropped silently.

=========================================  ===================================================
library call                               what
=========================================  ===================================================
:func:`parse_query`                        the normalised tree of a query
:func:`to_strategy`                        the tree as a :class:`~scoping.search.strategy.Strategy`,
                                           or the reasons it does not fit
:func:`round_trip`                         parse -> strategy -> :func:`translate` -> parse,
                                           and whether the two trees are the same
:func:`strategy_toml`                      a strategy's blocks as ``strategy.toml`` text
=========================================  ===================================================

Syntax read (and where each rule comes from):

- PubMed (pubmed.ncbi.nlm.nih.gov/help): terms with a tag in brackets (``[tiab]``,
  ``[Title/Abstract]``, ``[ti]``, ``[ot]``, ``[mh]``, ``[mh:noexp]``, ``[majr]``, ``[tw]``...),
  ``"a b"[tiab:~N]`` proximity, ``*`` truncation, Boolean operators in capitals, evaluated
  left to right ("PubMed processes searches in a left-to-right sequence"), parentheses.
  Unquoted words before one tag are read as one phrase.
- Web of Science advanced search (webofscience.help.clarivate.com, Search Operators and
  Search Rules): field tags ``TS= TI= AB= AK=`` before a term or a parenthesised group,
  operators in any case with the precedence NEAR/x, SAME, NOT, AND, OR; ``NEAR`` alone is
  ``NEAR/15``; unquoted words next to each other are all required (an implied AND); ``*``,
  ``$`` and ``?`` wildcards (the strategy file holds only ``*`` at the end of a word).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Union

from scoping.errors import ConfigError, UsageError
from scoping.search.strategy import (
    FIELDS,
    Block,
    Database,
    Heading,
    Limits,
    Strategy,
    Term,
    parse_strategy,
)

__all__ = [
    "DATABASES",
    "LOSS_KINDS",
    "And",
    "Fit",
    "HeadingLeaf",
    "Limit",
    "Near",
    "Node",
    "Not",
    "Or",
    "RoundTrip",
    "Word",
    "folded",
    "import_query",
    "normalise",
    "parse_query",
    "round_trip",
    "strategy_toml",
    "summarise",
    "to_strategy",
]

DATABASES: dict[str, str] = {"pubmed": "PubMed", "wos": "Web of Science"}
"""The syntaxes read: key -> the database's name."""

LOSS_KINDS: dict[str, str] = {
    "nested-and": "an AND inside a block (the strategy file ORs the terms of a block)",
    "nested-not": "a NOT inside a block, or NOT of something that is not a block",
    "or-of-blocks": "blocks ORed at the top (the strategy file ANDs its blocks)",
    "mixed-fields": "terms of one block searched in different fields",
    "mixed-wos-fields": "TS= in one block and TI=/AB=/AK= together in another (one choice per database)",
    "field": "a field the strategy file cannot search",
    "no-field": "terms without a field tag (the database's default fields)",
    "near-group": "proximity between groups of terms or phrases (the strategy file holds two words)",
    "near-words": "proximity of more than two words",
    "wildcard": "a wildcard other than * at the end of a word ($, ?, or * inside a word)",
    "term": "a term the strategy file cannot hold as written",
    "same": "the SAME operator",
    "limit": "a limit the strategy file cannot hold (or one inside a block)",
    "empty": "no block to find (only NOT blocks or only limits)",
}
"""Why a query does not fit into the strategy file: kind -> what it means."""

_ALL3 = frozenset(FIELDS)
_TS = frozenset((*FIELDS, "keywords_plus"))
_PUBMED_TAGS: dict[str, frozenset[str]] = {
    "tiab": _ALL3,
    "title/abstract": _ALL3,
    "ti": frozenset({"title"}),
    "title": frozenset({"title"}),
    "ot": frozenset({"keywords"}),
    "other term": frozenset({"keywords"}),
}
"""PubMed tags the strategy file can search (``[tiab]`` also searches author keywords, so it
is the strategy's title, abstract and keywords)."""
_PUBMED_HEADINGS: dict[str, tuple[bool, bool]] = {
    "mh": (True, False),
    "mesh": (True, False),
    "mesh terms": (True, False),
    "mh:noexp": (False, False),
    "mesh:noexp": (False, False),
    "mesh terms:noexp": (False, False),
    "majr": (True, True),
    "mesh major topic": (True, True),
    "majr:noexp": (False, True),
    "mesh major topic:noexp": (False, True),
}
"""PubMed MeSH tags: tag -> (exploded, major topic)."""
_WOS_TAGS: dict[str, frozenset[str]] = {
    "TS": _TS,
    "TI": frozenset({"title"}),
    "AB": frozenset({"abstract"}),
    "AK": frozenset({"keywords"}),
}
"""Web of Science field tags; TS (Topic) also searches Keywords Plus."""


# -- the tree --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """A word or phrase searched in ``fields`` (neutral names; ``db:tag`` for a field the
    strategy file has no name for)."""

    text: str
    fields: frozenset[str]


@dataclass(frozen=True, slots=True)
class Near:
    """Terms within ``distance`` words of each other, in either order."""

    parts: tuple[Node, ...]
    distance: int


@dataclass(frozen=True, slots=True)
class HeadingLeaf:
    """A MeSH heading (one subheading, or none)."""

    term: str
    explode: bool
    major: bool
    subheading: str | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit (``language``: a language name; ``year``: ``1990-2020``)."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class And:
    children: frozenset[Node]


@dataclass(frozen=True, slots=True)
class Or:
    children: frozenset[Node]


@dataclass(frozen=True, slots=True)
class Not:
    """The records without ``child``; after normalising, only a child of :class:`And`."""

    child: Node


Node = Union[Word, Near, HeadingLeaf, Limit, And, Or, Not]  # noqa: UP007 - a runtime alias


# -- tokens ----------------------------------------------------------------------------------

_QUOTES = {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"'}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    """``(``, ``)``, ``op``, ``term``, ``phrase``, ``tag`` (PubMed), ``field`` (WoS)."""
    value: str
    distance: int | None = None


_WOS_FIELD = re.compile(r"([A-Za-z]{2,3})\s*=\s*")
_WOS_OP = re.compile(r"(AND|OR|NOT|SAME|NEAR(?:/(\d+))?)(?=[\s()\"]|$)", re.I)
_PUBMED_OP = re.compile(r"(AND|OR|NOT)(?=[\s()\"\[]|$)")
_PUBMED_NEAR_TAG = re.compile(r"^(.*?):~(\d+)$")


def _tokens(text: str, database: str) -> list[_Tok]:
    for fancy, plain in _QUOTES.items():
        text = text.replace(fancy, plain)
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Tok(c, c))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise UsageError(f'unbalanced quote at character {i + 1}; close the phrase with "')
            out.append(_Tok("phrase", " ".join(text[i + 1 : end].split())))
            i = end + 1
        elif c == "[" and database == "pubmed":
            end = text.find("]", i + 1)
            if end < 0:
                raise UsageError(f"unclosed [ at character {i + 1}; close the field tag with ]")
            out.append(_Tok("tag", " ".join(text[i + 1 : end].split()).casefold()))
            i = end + 1
        else:
            rest = text[i:]
            op = (_WOS_OP if database == "wos" else _PUBMED_OP).match(rest)
            if op is not None and (i == 0 or not text[i - 1].isalnum()):
                word = op.group(1).upper()
                distance = None
                if word.startswith("NEAR"):
                    distance = int(op.group(2)) if op.group(2) else 15
                    word = "NEAR"
                out.append(_Tok("op", word, distance))
                i += len(op.group(0))
                continue
            if database == "wos":
                fld = _WOS_FIELD.match(rest)
                if fld is not None:
                    out.append(_Tok("field", fld.group(1).upper()))
                    i += len(fld.group(0))
                    continue
            stop = '()"[' if database == "pubmed" else '()"'
            j = i
            while j < n and not text[j].isspace() and text[j] not in stop:
                j += 1
            out.append(_Tok("term", text[i:j]))
            i = j
    return out


# -- parsing ---------------------------------------------------------------------------------

_WOS_PRECEDENCE = {"OR": 1, "AND": 2, "NOT": 3, "SAME": 4, "NEAR": 5}
"""Web of Science: NEAR/x binds tightest, then SAME, NOT, AND, OR."""


@dataclass(slots=True)
class _Parser:
    tokens: list[_Tok]
    database: str
    pos: int = 0
    fields: frozenset[str] | None = None
    seen: set[str] = field(default_factory=set)

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def precedence(self, op: str) -> int:
        return _WOS_PRECEDENCE[op] if self.database == "wos" else 1

    def expression(self, floor: int = 1) -> Node:
        left = self.primary()
        while True:
            tok = self.peek()
            if tok is None or tok.kind == ")":
                return left
            if tok.kind != "op":
                if self.database == "wos" and tok.kind in ("term", "phrase", "(", "field"):
                    raise UsageError(
                        f"two terms without an operator between them near {tok.value!r}; "
                        "put AND, OR or NOT between them"
                    )
                raise UsageError(f"unexpected {tok.value!r}; expected AND, OR or NOT")
            level = self.precedence(tok.value)
            if level < floor:
                return left
            self.take()
            right = self.expression(level + 1)
            left = _combine(tok, left, right)

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise UsageError("the query ends where a term was expected")
        if tok.kind == "field":
            self.take()
            outer = self.fields
            self.fields = _WOS_TAGS.get(tok.value, frozenset({f"wos:{tok.value}"}))
            node = self.limit(tok.value) if tok.value in ("LA", "PY") else self.primary()
            self.fields = outer
            return node
        if tok.kind == "(":
            self.take()
            node = self.expression()
            close = self.peek()
            if close is None or close.kind != ")":
                raise UsageError("unbalanced parentheses: a ( is never closed")
            self.take()
            if self.database == "pubmed" and self.peek() is not None and self.peek().kind == "tag":  # type: ignore[union-attr]
                raise UsageError("a field tag after parentheses; PubMed takes a tag after each term")
            return node
        if tok.kind in ("term", "phrase"):
            return self.term()
        raise UsageError(f"unexpected {tok.value!r} where a term was expected")

    def term(self) -> Node:
        first = self.take()
        words = [first]
        while True:
            nxt = self.peek()
            if nxt is None or nxt.kind != "term" or first.kind == "phrase":
                break
            words.append(self.take())
        if self.database == "wos":
            leaves = [Word(_clean(w.value), self.fields or frozenset({"wos:none"})) for w in words]
            return leaves[0] if len(leaves) == 1 else And(frozenset(leaves))
        text = _clean(" ".join(w.value for w in words))
        tag = self.peek()
        if tag is None or tag.kind != "tag":
            return Word(text, frozenset({"pubmed:all"}))
        self.take()
        return _pubmed_leaf(text, tag.value, quoted=first.kind == "phrase")

    def limit(self, code: str) -> Node:
        tok = self.peek()
        values: list[str] = []
        if tok is not None and tok.kind == "(":
            self.take()
            while (t := self.peek()) is not None and t.kind != ")":
                t = self.take()
                if t.kind in ("term", "phrase"):
                    values.append(t.value)
                elif not (t.kind == "op" and t.value == "OR"):
                    raise UsageError(f"{code}= takes values joined with OR, not {t.value!r}")
            if self.peek() is None:
                raise UsageError("unbalanced parentheses: a ( is never closed")
            self.take()
        elif tok is not None and tok.kind in ("term", "phrase"):
            values.append(self.take().value)
        if not values:
            raise UsageError(f"{code}= has no value")
        kind = "language" if code == "LA" else "year"
        leaves = [Limit(kind, v.strip()) for v in values]
        return leaves[0] if len(leaves) == 1 else Or(frozenset(leaves))


def _clean(text: str) -> str:
    return " ".join(text.split())


def _pubmed_leaf(text: str, tag: str, *, quoted: bool) -> Node:
    near = _PUBMED_NEAR_TAG.match(tag)
    if near is not None:
        fields = _PUBMED_TAGS.get(near.group(1), frozenset({f"pubmed:{near.group(1)}"}))
        words = tuple(Word(w, fields) for w in text.split())
        if len(words) < 2:
            return Word(text, fields)
        return Near(words, int(near.group(2)))
    if tag in _PUBMED_HEADINGS:
        explode, major = _PUBMED_HEADINGS[tag]
        term, _, sub = text.partition("/")
        return HeadingLeaf(term.strip(), explode, major, sub.strip() or None)
    if tag in ("la", "language"):
        return Limit("language", text)
    if tag in ("dp", "pdat", "publication date"):
        return Limit("year", text.replace(":", "-").replace(" ", ""))
    return Word(text, _PUBMED_TAGS.get(tag, frozenset({f"pubmed:{tag}"})))


def _combine(tok: _Tok, left: Node, right: Node) -> Node:
    if tok.value == "AND":
        return And(frozenset((left, right)))
    if tok.value == "OR":
        return Or(frozenset((left, right)))
    if tok.value == "NOT":
        return And(frozenset((left, Not(right))))
    if tok.value == "SAME":
        return Near((left, right), -1)
    return Near((left, right), tok.distance if tok.distance is not None else 15)


def parse_query(text: str, database: str) -> Node:
    """The normalised Boolean tree of a query in ``database``'s syntax (``pubmed`` or ``wos``).

    A query that cannot be read raises :class:`~scoping.errors.UsageError` with what is wrong.
    """
    if database not in DATABASES:
        raise UsageError(f"cannot read {database!r} queries; databases: {', '.join(DATABASES)}")
    tokens = _tokens(text, database)
    if not tokens:
        raise UsageError("the query is empty")
    if any(t.kind == "term" and re.fullmatch(r"#\d+|S\d+", t.value) for t in tokens):
        raise UsageError("the query refers to search history lines (#1, S1); give the whole query")
    parser = _Parser(tokens, database)
    node = parser.expression()
    rest = parser.peek()
    if rest is not None:
        raise UsageError(f"unexpected {rest.value!r}: a ) without its (")
    return normalise(node)


def normalise(node: Node) -> Node:
    """ANDs and ORs flattened, a one-child AND or OR replaced by its child, a term searched in
    several fields (``TI=x OR AB=x``) merged into one term over their union."""
    if isinstance(node, And | Or):
        kind = type(node)
        flat: set[Node] = set()
        for child in node.children:
            child = normalise(child)
            if isinstance(child, kind):
                flat |= child.children
            else:
                flat.add(child)
        if kind is Or:
            flat = _merge_fields(flat)
        if len(flat) == 1:
            return next(iter(flat))
        return kind(frozenset(flat))
    if isinstance(node, Not):
        return Not(normalise(node.child))
    if isinstance(node, Near):
        parts = tuple(sorted((normalise(p) for p in node.parts), key=repr))
        return Near(parts, node.distance)
    return node


def folded(node: Node) -> Node:
    """``node`` with every term, heading and limit in lower case: the form two trees are
    compared in (the databases read them without regard to case)."""
    if isinstance(node, And | Or):
        return normalise(type(node)(frozenset(folded(c) for c in node.children)))
    if isinstance(node, Not):
        return Not(folded(node.child))
    if isinstance(node, Near):
        return normalise(Near(tuple(folded(p) for p in node.parts), node.distance))
    if isinstance(node, Word):
        return Word(node.text.casefold(), node.fields)
    if isinstance(node, HeadingLeaf):
        return replace(node, term=node.term.casefold(), subheading=(node.subheading or "").casefold() or None)
    return Limit(node.kind, node.value.casefold())


def _merge_fields(children: set[Node]) -> set[Node]:
    words: dict[str, frozenset[str]] = {}
    nears: dict[tuple[tuple[str, ...], int], frozenset[str]] = {}
    out: set[Node] = set()
    spelled: dict[str, str] = {}
    for child in sorted(children, key=repr):
        if isinstance(child, Word):
            text = spelled.setdefault(child.text.casefold(), child.text)
            words[text] = words.get(text, frozenset()) | child.fields
        elif _simple_near(child) is not None:
            texts, fields = _simple_near(child)  # type: ignore[misc]
            key = (texts, child.distance)  # type: ignore[union-attr]
            nears[key] = nears.get(key, frozenset()) | fields
        else:
            out.add(child)
    out |= {Word(t, f) for t, f in words.items()}
    out |= {Near(tuple(Word(t, f) for t in texts), d) for (texts, d), f in nears.items()}
    return out


def _simple_near(node: Node) -> tuple[tuple[str, ...], frozenset[str]] | None:
    """A proximity of plain words all searched in the same fields: (words, fields)."""
    if not isinstance(node, Near) or not all(isinstance(p, Word) for p in node.parts):
        return None
    fields = {p.fields for p in node.parts}  # type: ignore[union-attr]
    if len(fields) != 1:
        return None
    return tuple(p.text for p in node.parts), next(iter(fields))  # type: ignore[union-attr]


# -- into the strategy file ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fit:
    """A tree fitted into the strategy file: the strategy, or the reasons it does not fit."""

    strategy: Strategy | None
    database: Database
    losses: tuple[str, ...] = ()
    """Kinds of :data:`LOSS_KINDS` (sorted, each once)."""
    details: tuple[str, ...] = ()
    """One line per loss: what in the query."""


class _Losses:
    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.details: list[str] = []

    def add(self, kind: str, what: str) -> None:
        self.kinds.add(kind)
        line = f"{kind}: {what}"
        if line not in self.details:
            self.details.append(line)


def _leaves(node: Node) -> Iterator[Node]:
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _leaves(child)
    elif isinstance(node, Not):
        yield from _leaves(node.child)
    elif isinstance(node, Near):
        for part in node.parts:
            yield from _leaves(part)
    else:
        yield node


def _describe(node: Node) -> str:
    if isinstance(node, Word):
        return repr(node.text)
    if isinstance(node, HeadingLeaf):
        return repr(node.term)
    if isinstance(node, Limit):
        return f"{node.kind} {node.value}"
    if isinstance(node, Near):
        return " ~ ".join(_describe(p) for p in node.parts)
    if isinstance(node, Not):
        return "NOT " + _describe(node.child)
    parts = sorted(_describe(c) for c in node.children)
    op = " AND " if isinstance(node, And) else " OR "
    text = op.join(parts[:3]) + (op + "..." if len(parts) > 3 else "")
    return f"({text})"


def to_strategy(node: Node, database: str, *, name: str | None = None) -> Fit:
    """Fit a normalised tree into the strategy file's shape, for ``database`` (``pubmed`` or
    ``wos``): its blocks, limits and the database entry (``exact_fields`` for Web of Science
    queries written TI= OR AB= OR AK=)."""
    db = Database(name=name or DATABASES[database], platform=database)
    losses = _Losses()
    if isinstance(node, Or) and all(isinstance(c, And) for c in node.children):
        losses.add("or-of-blocks", _describe(node))
        return Fit(None, db, tuple(sorted(losses.kinds)), tuple(losses.details))
    top = list(node.children) if isinstance(node, And) else [node]
    includes: list[Node] = []
    excludes: list[Node] = []
    limits: list[Limit] = []
    for child in top:
        if isinstance(child, Not):
            excludes.append(child.child)
        elif isinstance(child, Limit) or (
            isinstance(child, Or) and all(isinstance(c, Limit) for c in child.children)
        ):
            limits.extend([child] if isinstance(child, Limit) else child.children)  # type: ignore[arg-type]
        else:
            includes.append(child)
    if not includes:
        losses.add("empty", "the query has no block to find")
    blocks: list[Block] = []
    field_sets: list[frozenset[str]] = []
    for group, exclude in ((includes, False), (excludes, True)):
        for part in sorted(group, key=repr):
            found = _block(part, len(blocks) + 1, exclude, losses)
            if found is not None:
                blocks.append(found[0])
                field_sets.append(found[1])
    exact = _exact(field_sets, database, losses)
    parsed_limits = _limits(limits, losses)
    if losses.kinds:
        return Fit(None, db, tuple(sorted(losses.kinds)), tuple(losses.details))
    db = replace(db, exact_fields=exact)
    strategy = Strategy(blocks=tuple(blocks), limits=parsed_limits, databases=(db,))
    try:  # the strategy file's own checks: what it accepts is what it can hold
        parse_strategy(strategy_toml(strategy), path="(parsed query)")
    except ConfigError as err:
        losses.add("term", str(err).removeprefix("(parsed query): "))
        return Fit(None, db, tuple(sorted(losses.kinds)), tuple(losses.details))
    return Fit(strategy, db)


def _exact(field_sets: list[frozenset[str]], database: str, losses: _Losses) -> bool:
    if database != "wos":
        return False
    exact = [f for f in field_sets if f == _ALL3]
    topic = [f for f in field_sets if f == _TS]
    if exact and topic:
        losses.add("mixed-wos-fields", "TS= and TI=/AB=/AK= blocks")
    return bool(exact)


def _limits(limits: list[Limit], losses: _Losses) -> Limits:
    languages: list[str] = []
    years: list[str] = []
    for limit in limits:
        (languages if limit.kind == "language" else years).append(limit.value)
    from_year = to_year = None
    if len(years) > 1:
        losses.add("limit", "more than one year range")
    elif years:
        match = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", years[0])
        if match is None:
            losses.add("limit", f"year range {years[0]!r}")
        else:
            from_year = int(match.group(1))
            to_year = int(match.group(2)) if match.group(2) else from_year
            if from_year == 1000:  # PubMed's "from the start" (1000:2020[dp])
                from_year = None
            if to_year == 3000:
                to_year = None
    return Limits(
        from_year=from_year,
        to_year=to_year,
        languages=tuple(sorted({lang.strip('"').capitalize() for lang in languages})),
    )


def _block(node: Node, index: int, exclude: bool, losses: _Losses) -> tuple[Block, frozenset[str]] | None:
    members = list(node.children) if isinstance(node, Or) else [node]
    terms: list[Term] = []
    headings: dict[tuple[str, bool, bool], list[str]] = {}
    fields: set[frozenset[str]] = set()
    ok = True
    for member in sorted(members, key=repr):
        if isinstance(member, HeadingLeaf):
            subs = headings.setdefault((member.term, member.explode, member.major), [])
            if member.subheading:
                subs.append(member.subheading)
            continue
        found = _member(member, losses)
        if found is None:
            ok = False
        else:
            terms.append(Term(found[0]))
            fields.add(found[1])
    ok = _fields_ok(fields, losses) and ok
    if not ok:
        return None
    if not terms:
        losses.add("term", "a block of subject headings only (the strategy file needs a term in each block)")
        return None
    field_set = next(iter(fields))
    heads = tuple(
        Heading("mesh", term, explode=explode, major=major, subheadings=tuple(sorted(set(subs))))
        for (term, explode, major), subs in sorted(headings.items())
    )
    name = f"Block {index}" if not exclude else f"Excluded {index}"
    block_fields = tuple(f for f in FIELDS if f in field_set)
    return Block(name, tuple(terms), block_fields, exclude, heads), field_set


def _member(member: Node, losses: _Losses) -> tuple[str, frozenset[str]] | None:
    """A block's term (its text and fields), or ``None`` with the reason recorded."""
    if isinstance(member, And):
        kind = "nested-not" if any(isinstance(c, Not) for c in member.children) else "nested-and"
        losses.add(kind, _describe(member))
    elif isinstance(member, Not):
        losses.add("nested-not", _describe(member))
    elif isinstance(member, Limit):
        losses.add("limit", f"{_describe(member)} inside a block")
    elif isinstance(member, Near):
        return _near_term(member, losses)
    elif isinstance(member, Word) and _word_ok(member, losses):
        return member.text, member.fields
    return None


def _fields_ok(fields: set[frozenset[str]], losses: _Losses) -> bool:
    ok = True
    for f in fields:
        bad = sorted(x for x in f if ":" in x)
        if bad:
            kind = "no-field" if any(x.endswith((":all", ":none")) for x in bad) else "field"
            losses.add(kind, ", ".join(_field_name(x) for x in bad))
            ok = False
    if len(fields) > 1 and ok:
        losses.add("mixed-fields", " / ".join(sorted(_fields_label(f) for f in fields)))
        ok = False
    return ok


def _field_name(code: str) -> str:
    db, _, tag = code.partition(":")
    if tag in ("all", "none"):
        return "no field tag"
    return f"[{tag}]" if db == "pubmed" else f"{tag}="


def _fields_label(fields: frozenset[str]) -> str:
    if fields == _TS:
        return "TS"
    return "+".join(sorted(fields))


def _word_ok(word: Word, losses: _Losses) -> bool:
    if re.search(r"[$?]|\*\w", word.text):
        losses.add("wildcard", repr(word.text))
        return False
    return True


def _near_term(near: Near, losses: _Losses) -> tuple[str, frozenset[str]] | None:
    words = [leaf for leaf in _leaves(near) if isinstance(leaf, Word)]
    wild = [w for w in words if not _word_ok(w, losses)]
    if near.distance < 0:
        losses.add("same", _describe(near))
        return None
    simple = _simple_near(near)
    if simple is None or any(" " in w for w in simple[0]):
        losses.add("near-group", _describe(near))
        return None
    if len(simple[0]) != 2:
        losses.add("near-words", _describe(near))
        return None
    if wild:
        return None
    a, b = simple[0]
    return f"{a} ~{near.distance} {b}", simple[1]


def strategy_toml(strategy: Strategy) -> str:
    """The blocks, limits and databases of ``strategy`` as ``strategy.toml`` text."""
    lines: list[str] = []
    for block in strategy.blocks:
        lines += ["[[block]]", f"name = {_q(block.name)}"]
        lines.append("terms = [" + ", ".join(_q(t.text) for t in block.terms) + "]")
        if block.fields != FIELDS:
            lines.append("fields = [" + ", ".join(_q(f) for f in block.fields) + "]")
        if block.exclude:
            lines.append("exclude = true")
        for h in block.headings:
            lines += ["", "[[block.heading]]", f"vocabulary = {_q(h.vocabulary)}", f"term = {_q(h.term)}"]
            if not h.explode:
                lines.append("explode = false")
            if h.major:
                lines.append("major = true")
            if h.subheadings:
                lines.append("subheadings = [" + ", ".join(_q(s) for s in h.subheadings) + "]")
        lines.append("")
    lim = strategy.limits
    if lim.any:
        lines.append("[limits]")
        if lim.from_year:
            lines.append(f"from_year = {lim.from_year}")
        if lim.to_year:
            lines.append(f"to_year = {lim.to_year}")
        if lim.languages:
            lines.append("languages = [" + ", ".join(_q(x) for x in lim.languages) + "]")
        lines.append("")
    if strategy.databases:
        lines.append("[databases]")
        for db in strategy.databases:
            extra = ", exact_fields = true" if db.exact_fields else ""
            lines.append(f"{_q(db.name)} = {{ platform = {_q(db.platform)}{extra} }}")
        lines.append("")
    return "\n".join(lines)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- round trip ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """What became of one query: parsed, fitted into a strategy, translated back and parsed
    again."""

    query: str
    database: str
    error: str | None = None
    """Why the query could not be parsed (``None``: parsed)."""
    fit: Fit | None = None
    translated: str | None = None
    """The strategy translated back into the database's syntax."""
    same: bool = False
    """The translation parses to the same normalised tree as the query."""

    @property
    def parsed(self) -> bool:
        return self.error is None

    @property
    def losses(self) -> tuple[str, ...]:
        if self.fit is not None and self.fit.losses:
            return self.fit.losses
        if self.parsed and self.fit is not None and not self.same:
            return ("changed",)
        return ()


def round_trip(text: str, database: str) -> RoundTrip:
    """Parse ``text``, fit it into a strategy, translate that back with
    :func:`~scoping.search.translate.translate` and parse the translation; ``same`` when both
    trees are equal (the strategy file holds the query without loss)."""
    from scoping.search.translate import translate

    try:
        tree = parse_query(text, database)
    except UsageError as err:
        return RoundTrip(text, database, error=str(err))
    fit = to_strategy(tree, database)
    if fit.strategy is None:
        return RoundTrip(text, database, fit=fit)
    back = translate(fit.strategy, fit.database).text
    try:
        again = parse_query(back, database)
    except UsageError:
        return RoundTrip(text, database, fit=fit, translated=back)
    return RoundTrip(text, database, fit=fit, translated=back, same=folded(again) == folded(tree))


def import_query(text: str, database: str) -> tuple[Strategy, RoundTrip]:
    """A query as a strategy (what ``scoping search import-query`` prints), with its round
    trip; :class:`~scoping.errors.UsageError` when it cannot be read or does not fit, naming
    each kind of loss."""
    result = round_trip(text, database)
    if result.error is not None:
        raise UsageError(f"cannot read the {DATABASES[database]} query: {result.error}")
    assert result.fit is not None
    if result.fit.strategy is None:
        shown = "; ".join(result.fit.details[:3]) + ("; ..." if len(result.fit.details) > 3 else "")
        raise UsageError(
            f"the {DATABASES[database]} query does not fit the strategy file without loss ({shown}); "
            "write those parts as blocks of their own by hand"
        )
    return result.fit.strategy, result


def summarise(results: Iterable[RoundTrip]) -> dict[str, int]:
    """Counts: total, parsed, without loss, and the queries that show each kind of loss."""
    counts: dict[str, int] = {"total": 0, "parsed": 0, "round-tripped": 0}
    for r in results:
        counts["total"] += 1
        counts["parsed"] += r.parsed
        counts["round-tripped"] += r.same
        for kind in r.losses:
            counts[kind] = counts.get(kind, 0) + 1
    return counts
