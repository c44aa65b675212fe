"""Turn a strategy into each platform's own query syntax.

:func:`translate` gives the exact query for one database: the text ``scoping search plan``
prints (and, for the APIs, the request parameters ``scoping search run`` sends), with notes
wherever the platform cannot express the strategy exactly and how it is approximated:

=========  ==================================================================================
platform   syntax
=========  ==================================================================================
pubmed     E-utilities ``term``: ``"peer worker*"[tiab]``, ``1990:3000[dp]``, ``english[la]``;
           a database called MEDLINE adds ``medline[sb]`` (PubMed's MEDLINE subset)
europepmc  REST ``query``: ``TITLE:(...) OR ABSTRACT:(...) OR KW:(...)``, ``PUB_YEAR:[1990 TO 3000]``,
           sent with ``synonym=false``
openalex   ``/works?filter=title_and_abstract.search:(...),from_publication_date:...``
crossref   ``/works?query.bibliographic=...&filter=from-pub-date:...`` (ranked, not Boolean)
ovid       numbered lines: ``"peer support".ti,ab,id.``, ``or/1-7``, ``limit 17 to ...``
wos        advanced search: ``TS=(...)`` (``TI= OR AB= OR AK=`` with ``exact_fields``), ``PY=``, ``LA=``
ebsco      ``TI (...) OR AB (...) OR KW (...)``, ``LA ...``
scopus     ``TITLE-ABS-KEY(...)`` (``TITLE() OR ABS() OR AUTHKEY()`` with ``exact_fields``),
           ``PUBYEAR > 1989``, ``LANGUAGE(...)``
=========  ==================================================================================

Where a platform cannot truncate (OpenAlex; phrases in Europe PMC) a truncated term is searched
as the forms listed for it under ``[variants]`` in ``strategy.toml``; without a list, as its
stem and the stem's plural, with a note that starts with ``WARNING:``. Notes that start with
``WARNING:`` mark a query that finds clearly less (or more) than the strategy says, or breaks a
platform's limit; the others mark smaller approximations.

Platform syntax and limits relied on (checked December 2026):

- PubMed Help (pubmed.ncbi.nlm.nih.gov/help): truncated phrases in quotes search at most 600
  forms; proximity ``"a b"[tiab:~N]`` takes no truncation; ``medline[sb]`` is the MEDLINE
  subset; esearch lists at most 9,999 PMIDs of one query.
- OpenAlex (developers.openalex.org/guides/searching): whole words only, Kstem stemming, no
  truncation; the request URL is limited to about 4 KB.
- Web of Science Advanced Search: ``TS=`` (Topic) searches title, abstract, author keywords and
  Keywords Plus; at most 49 Boolean operators in one query (issue 15, from Clarivate's help).
- Scopus: ``TITLE-ABS-KEY`` searches title, abstract, author keywords and index terms; a
  wildcard inside quotes is read as punctuation, so truncated phrases are written with
  ``PRE/0``; ``W/n`` and ``PRE/n`` allow at most n words between.
- Proximity, written ``"a ~N b"`` (at most N words between) in the strategy: PubMed
  ``"a b"[tiab:~N]``, Ovid ``a adjN+1 b``, Web of Science ``a NEAR/N b``, Scopus ``a W/N b``,
  EBSCOhost ``a NN b``; each platform's help page is cited where its syntax is written.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from scoping.search.platforms import DOCUMENT_TYPES, LANGUAGES, PLATFORMS, unsupported_limits
from scoping.search.strategy import VOCABULARIES, Block, Database, Heading, Limits, Strategy, Term

__all__ = [
    "DEFAULT_URLS",
    "OPENALEX_URL_LIMIT",
    "WOS_OPERATOR_LIMIT",
    "Query",
    "TermQuery",
    "operator_count",
    "plan",
    "term_queries",
    "translate",
]

OPENALEX_URL_LIMIT = 4000
"""OpenAlex refuses request URLs (as sent, percent-encoded) over about 4 KB."""
WOS_OPERATOR_LIMIT = 49
"""Web of Science allows at most 49 Boolean operators in one advanced search query."""
LONG_URL = 7000
"""A GET URL this long (encoded) risks being refused by servers and proxies (Europe PMC)."""

_OPERATOR = re.compile(r"\b(AND|OR|NOT|NEAR(?:/\d+)?|SAME|ADJ\d*|W/\d+|PRE/\d+|N\d+|W\d+)\b", re.I)
_QUOTED = re.compile(r'"[^"]*"')


def operator_count(text: str) -> int:
    """Boolean and proximity operators in a query, outside quoted phrases (Ovid's ``or/1-7``
    counts once)."""
    return len(_OPERATOR.findall(_QUOTED.sub(" ", text)))


DEFAULT_URLS: dict[str, str] = {
    "pubmed": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
    "europepmc": "https://www.ebi.ac.uk/europepmc/webservices/rest/",
    "openalex": "https://api.openalex.org/",
    "crossref": "https://api.crossref.org/",
}
"""Where each API lives (``SCOPING_<PLATFORM>_URL`` overrides these in :mod:`scoping.search.clients`)."""


@dataclass(frozen=True, slots=True)
class Query:
    """One database's query."""

    database: str
    platform: str
    text: str
    """The exact query: what to paste into the platform, or what the API is sent."""
    params: dict[str, str] = field(default_factory=dict)
    """API platforms: the search parameters of the request (term, query, filter...)."""
    notes: tuple[str, ...] = ()
    """Where the platform cannot express the strategy exactly, and how it is approximated;
    notes starting with ``WARNING:`` mark a query that is clearly not the strategy, or breaks a
    platform limit."""

    @property
    def operators(self) -> int:
        """Boolean and proximity operators in the query (outside quotes)."""
        return operator_count(self.text)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(n for n in self.notes if n.startswith("WARNING:"))


_OPERATOR_WORDS = frozenset({"and", "or", "not", "near", "adj", "with", "same", "pre"})
_PROXIMITY_WORD = re.compile(r"^(adj|near|w|n|pre)/?\d+$", re.I)
_PLAIN_WORD = re.compile(r"^[\w*]+$")


def _must_quote(word: str) -> bool:
    """A single-word term that a vendor platform would read as syntax: an operator word
    (``or``, ``near``, ``adj3``) or one with punctuation (``HIV/AIDS``: ``/`` is Ovid's subject
    heading mark)."""
    return word.lower() in _OPERATOR_WORDS or bool(_PROXIMITY_WORD.match(word)) or not _PLAIN_WORD.match(word)


def _plural(word: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def default_forms(term: Term) -> tuple[str, ...]:
    """The forms searched for a truncated term when ``[variants]`` lists none: each truncated
    word as its stem and the stem's plural (``illness*``: illness, illnesses)."""
    options: list[list[str]] = []
    for word in term.words:
        if word.endswith("*"):
            stem = word[:-1]
            options.append([stem, _plural(stem)])
        else:
            options.append([word])
    forms = [""]
    for choice in options:
        forms = [f"{f} {c}".strip() for f in forms for c in choice]
    return tuple(forms)


class _Translator:
    platform = ""

    def __init__(self, db: Database, strategy: Strategy | None = None) -> None:
        self.db = db
        self.strategy = strategy
        self.notes: list[str] = []

    def headings(self, block: Block) -> list[Heading]:
        """The block's headings this database is indexed with; a note names the others."""
        vocabulary = self.db.indexed_with()
        used = [h for h in block.headings if h.vocabulary == vocabulary and self.can_search_headings]
        left = sorted({h.vocabulary for h in block.headings if h not in used})
        for name in left:
            self.note(
                f"block {block.name!r}: its {VOCABULARIES[name]} headings are not searched in "
                f"{self.db.name}, which is not indexed with them (its free-text terms are); set "
                "vocabulary for the database in strategy.toml if it is"
            )
        return used

    can_search_headings = False

    def near_parts(self, term: Term, why: str) -> tuple[str, str]:
        """The two words of a proximity term, truncation removed with a warning where ``why``."""
        a, b = term.words
        if term.truncated and why:
            self.note(
                f"WARNING: {why}: {term.text!r} is searched without truncation "
                f"({a.rstrip('*')}, {b.rstrip('*')})"
            )
            return a.rstrip("*"), b.rstrip("*")
        return a, b

    def forms(self, term: Term, why: str) -> tuple[str, ...]:
        """The forms a truncated term is searched as here, with the note that says so."""
        listed = self.strategy.forms(term) if self.strategy is not None else None
        if listed:
            self.note(
                f"{why}: {term.text!r} is searched as the forms listed under [variants]: " + ", ".join(listed)
            )
            return listed
        forms = default_forms(term)
        self.note(
            f"WARNING: {why}: {term.text!r} is searched as "
            + " OR ".join(repr(f) for f in forms)
            + f' only; list its forms under [variants] in strategy.toml ("{term.text}" = [...])'
        )
        return forms

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- limits shared by every platform ---------------------------------------------------

    def languages(self, limits: Limits) -> list[str]:
        if not limits.languages:
            return []
        if any(p == "languages" for p, _ in unsupported_limits(self.platform, limits.languages, ())):
            self.note(
                f"{PLATFORMS[self.platform].label} cannot limit by language: records in every "
                "language are retrieved; screen out other languages by hand"
            )
            return []
        return list(limits.languages)

    def document_types(self, limits: Limits) -> list[str]:
        values: list[str] = []
        for kind in limits.document_types:
            value = DOCUMENT_TYPES[kind].get(self.platform)
            if value is None:
                self.note(
                    f"{PLATFORMS[self.platform].label} cannot limit to {kind}: that limit is "
                    "left out; screen by hand"
                )
            else:
                values.append(value)
        return values

    def end_year(self, limits: Limits) -> int:
        if limits.to_year:
            return limits.to_year
        year = dt.date.today().year
        return year

    def build(self, strategy: Strategy) -> Query:  # pragma: no cover - every platform overrides
        raise NotImplementedError

    def query(self, text: str, params: dict[str, str] | None = None) -> Query:
        return Query(
            database=self.db.name,
            platform=self.platform,
            text=text,
            params=params or {},
            notes=tuple(self.notes),
        )


def _join_and_not(
    includes: list[str], limits: list[str], excludes: list[str], *, and_: str = "AND", not_: str = "NOT"
) -> str:
    parts = [f"({p})" for p in includes] + [f"({p})" if " OR " in p else p for p in limits]
    text = f" {and_} ".join(parts)
    for x in excludes:
        text = f"{text} {not_} ({x})"
    return text


# -- PubMed ----------------------------------------------------------------------------------


class _PubMed(_Translator):
    platform = "pubmed"

    def tags(self, fields: tuple[str, ...]) -> list[str]:
        f = set(fields)
        if {"title", "abstract"} <= f:
            if "keywords" not in f:
                self.note(
                    "PubMed's [tiab] also searches author keywords, so title/abstract blocks "
                    "find a little more than in databases with a separate keyword field"
                )
            return ["tiab"]
        if f == {"title"}:
            return ["ti"]
        if f == {"keywords"}:
            self.note(
                "keywords are searched as PubMed's Other Term [ot] (author keywords); MeSH "
                "headings are not searched"
            )
            return ["ot"]
        if f == {"title", "keywords"}:
            return ["ti", "ot"]
        self.note(
            "PubMed has no abstract-only field: abstracts are searched with [tiab], which "
            "also searches titles and author keywords"
        )
        return ["tiab"]

    can_search_headings = True

    def heading(self, h: Heading) -> list[str]:
        """``"Peer Group"[mh]``, ``[mh:noexp]``, ``[majr]``; subheadings as ``"Peer Group/psychology"``."""
        tag = "majr" if h.major else "mh"
        if not h.explode:
            tag += ":noexp"
        names = [f"{h.term}/{sub}" for sub in h.subheadings] or [h.term]
        return [f'"{name}"[{tag}]' for name in names]

    def near(self, term: Term, tags: list[str]) -> str:
        # PubMed Help, "Proximity searching" (pubmed.ncbi.nlm.nih.gov/help/#proximity-searching):
        # "search terms"[field:~N], N the most words between them, in [tiab] and [ti] (and [ad])
        a, b = self.near_parts(term, "PubMed's proximity search takes no truncation")
        parts = []
        for tag in tags:
            if tag in ("tiab", "ti"):
                parts.append(f'"{a} {b}"[{tag}:~{term.near}]')
            else:
                self.note(
                    f"PubMed has proximity search only in [tiab] and [ti]: {term.text!r} is "
                    f"both words in [{tag}]"
                )
                parts.append(f"({a}[{tag}] AND {b}[{tag}])")
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def term(self, term: Term, tags: list[str]) -> str:
        if term.near is not None:
            return self.near(term, tags)
        for word in term.words:
            if word.endswith("*") and len(word) - 1 < 4:
                self.note(
                    f"PubMed truncates only stems of four letters or more: {term.text} may not be truncated"
                )
        listed = self.strategy.forms(term) if self.strategy is not None and self.db.use_variants else None
        if term.phrase and term.truncated and listed:
            self.note(
                f"{term.text!r} is searched as the forms listed under [variants], each with PubMed's "
                "proximity search [tiab:~0] (the words next to each other, whether or not PubMed's "
                "phrase index holds the phrase)"
            )
            parts = []
            for form in listed:
                for tag in tags:
                    near = tag in ("tiab", "ti") and " " in form
                    parts.append(
                        f'"{form}"[{tag}:~0]'
                        if near
                        else (f'"{form}"[{tag}]' if " " in form else f"{form}[{tag}]")
                    )
            return "(" + " OR ".join(parts) + ")"
        if term.phrase and term.truncated:
            self.note(
                'PubMed searches a truncated phrase ("peer worker*") only through its phrase '
                "index and at most 600 forms of it: the run shows PubMed's warnings if a phrase "
                "was not found or cut short; then list its forms under [variants] and set "
                f"use_variants = true for {self.db.name}"
            )
        body = f'"{term.text}"' if term.phrase or not _PLAIN_WORD.match(term.text) else term.text
        parts = [f"{body}[{tag}]" for tag in tags]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def block(self, block: Block) -> str:
        tags = self.tags(block.fields)
        headings = [text for h in self.headings(block) for text in self.heading(h)]
        return " OR ".join([*headings, *(self.term(t, tags) for t in block.terms)])

    def limits(self, limits: Limits) -> list[str]:
        clauses: list[str] = []
        if limits.from_year or limits.to_year:
            # PubMed Help, "Date" searching (pubmed.ncbi.nlm.nih.gov/help/#dp): a range
            # YYYY:YYYY[dp]; 3000 as the end year means "to the present"
            clauses.append(f"{limits.from_year or 1000}:{limits.to_year or 3000}[dp]")
        langs = self.languages(limits)
        if langs:
            clauses.append(" OR ".join(f"{LANGUAGES[name.lower()].pubmed}[la]" for name in langs))
        types = self.document_types(limits)
        if types:
            clauses.append(" OR ".join(types))
        if self.db.name.casefold() in _MEDLINE_NAMES:
            clauses.append("medline[sb]")
            self.note(
                f"{self.db.name} is searched as PubMed's MEDLINE subset (medline[sb]: records "
                "indexed for MEDLINE); call the database PubMed in strategy.toml to search all of PubMed"
            )
        return clauses

    def build(self, strategy: Strategy) -> Query:
        text = _join_and_not(
            [self.block(b) for b in strategy.include],
            self.limits(strategy.limits),
            [self.block(b) for b in strategy.exclude],
        )
        return self.query(text, {"term": text})


_MEDLINE_NAMES = frozenset({"medline", "pubmed medline", "medline (pubmed)"})


# -- Europe PMC ------------------------------------------------------------------------------


class _EuropePMC(_Translator):
    platform = "europepmc"
    FIELDS: ClassVar[dict[str, str]] = {"title": "TITLE", "abstract": "ABSTRACT", "keywords": "KW"}

    def term(self, term: Term) -> str:
        if term.near is not None:
            a, b = term.words
            self.note(
                f"Europe PMC is not given proximity searches here: {term.text!r} is searched as "
                f"({a} AND {b}) in the same field (broader: the words need not be near each other)"
            )
            return f"({a} AND {b})"
        if term.phrase and term.truncated:
            forms = self.forms(term, "Europe PMC cannot truncate inside a phrase")
            return "(" + " OR ".join(f'"{f}"' if " " in f else f for f in forms) + ")"
        return f'"{term.text}"' if term.phrase or not _PLAIN_WORD.match(term.text) else term.text

    def block(self, block: Block) -> str:
        self.headings(block)
        inner = " OR ".join(self.term(t) for t in block.terms)
        return " OR ".join(f"{self.FIELDS[f]}:({inner})" for f in block.fields)

    def limits(self, limits: Limits) -> list[str]:
        clauses: list[str] = []
        if limits.from_year or limits.to_year:
            clauses.append(f"PUB_YEAR:[{limits.from_year or 1000} TO {limits.to_year or 3000}]")
        langs = self.languages(limits)
        if langs:
            clauses.append(" OR ".join(f'LANG:"{LANGUAGES[n.lower()].iso3}"' for n in langs))
        types = self.document_types(limits)
        if types:
            clauses.append(" OR ".join(types))
        return clauses

    def build(self, strategy: Strategy) -> Query:
        text = _join_and_not(
            [self.block(b) for b in strategy.include],
            self.limits(strategy.limits),
            [self.block(b) for b in strategy.exclude],
        )
        params = {"query": text, "synonym": "false"}
        self.note("sent with synonym=false: Europe PMC adds no synonyms of its own to the terms")
        length = len(DEFAULT_URLS["europepmc"] + "search?" + urllib.parse.urlencode(params)) + _CURSOR_EXTRA
        if length > LONG_URL:
            self.note(
                f"WARNING: the request URL is {length:,} characters once encoded; servers and "
                f"proxies commonly refuse GET URLs over about {LONG_URL + 1000:,}: split the strategy"
            )
        return self.query(text, params)


_CURSOR_EXTRA = 120
"""Characters the paging parameters add to a request URL (format, page size, cursor, key)."""


# -- OpenAlex --------------------------------------------------------------------------------


class _OpenAlex(_Translator):
    platform = "openalex"

    def scope(self, fields: tuple[str, ...]) -> str:
        f = set(fields)
        if "keywords" in f:
            self.note(
                "OpenAlex has no author keywords: keyword fields are left out and the "
                "terms are searched in titles and abstracts"
            )
            f.discard("keywords")
            if not f:
                f = {"title", "abstract"}
        if f == {"title"}:
            return "title.search"
        if f == {"abstract"}:
            return "abstract.search"
        return "title_and_abstract.search"

    def term(self, term: Term) -> str:
        if term.near is not None:
            words = []
            for word in term.words:
                if word.endswith("*"):
                    forms = self.forms(Term(word), "OpenAlex cannot truncate (it matches whole words only)")
                    words.append(forms[0] if len(forms) == 1 else "(" + " OR ".join(forms) + ")")
                else:
                    words.append(word)
            self.note(
                f"OpenAlex has no proximity search: {term.text!r} is searched as both words anywhere "
                "in the field (broader)"
            )
            return f"({words[0]} AND {words[1]})"
        if term.truncated:
            forms = self.forms(term, "OpenAlex cannot truncate (it matches whole words only)")
            out = [f'"{f}"' if " " in f else f for f in forms]
            return out[0] if len(out) == 1 else "(" + " OR ".join(out) + ")"
        return f'"{term.text}"' if term.phrase else term.text

    def block(self, block: Block) -> str:
        self.headings(block)
        return " OR ".join(self.term(t) for t in block.terms)

    def build(self, strategy: Strategy) -> Query:
        groups: dict[str, tuple[list[str], list[str]]] = {}
        for b in strategy.include:
            groups.setdefault(self.scope(b.fields), ([], []))[0].append(self.block(b))
        for b in strategy.exclude:
            scope = self.scope(b.fields)
            if scope not in groups:
                first = next(iter(groups))
                self.note(
                    f"the NOT block {b.name!r} is searched in the fields of "
                    f"{first.removesuffix('.search')} (OpenAlex cannot negate a search on "
                    "its own)"
                )
                scope = first
            groups[scope][1].append(self.block(b))
        filters = [f"{scope}:{_join_and_not(inc, [], exc)}" for scope, (inc, exc) in groups.items()]
        limits = strategy.limits
        if limits.from_year:
            filters.append(f"from_publication_date:{limits.from_year}-01-01")
        if limits.to_year:
            filters.append(f"to_publication_date:{limits.to_year}-12-31")
        langs = self.languages(limits)
        if langs:
            filters.append("language:" + "|".join(LANGUAGES[n.lower()].iso2 for n in langs))
        types = self.document_types(limits)
        if types:
            filters.append("type:" + "|".join(types))
        value = ",".join(filters)
        text = f"{DEFAULT_URLS['openalex']}works?filter={value}"
        encoded = (
            len(f"{DEFAULT_URLS['openalex']}works?" + urllib.parse.urlencode({"filter": value}))
            + _CURSOR_EXTRA
        )
        if encoded > OPENALEX_URL_LIMIT:
            self.note(
                f"WARNING: the request URL is {encoded:,} characters once encoded, more than the "
                f"about {OPENALEX_URL_LIMIT:,} OpenAlex accepts; split the strategy"
            )
        return self.query(text, {"filter": value})


# -- Crossref --------------------------------------------------------------------------------


class _Crossref(_Translator):
    platform = "crossref"
    DEFAULT_MAX = 1000

    def build(self, strategy: Strategy) -> Query:
        words: list[str] = []
        seen: set[str] = set()
        for b in strategy.include:
            for t in b.terms:
                for w in t.plain.split():
                    if w.casefold() not in seen:
                        seen.add(w.casefold())
                        words.append(w)
        cap = self.db.max_records or self.DEFAULT_MAX
        self.note(
            "Crossref has no Boolean, phrase, field or truncation search: it ranks works "
            "by how well their metadata match these words, so its hit count is not a "
            f"Boolean count; a run keeps the {cap:,} best-ranked works (max_records)"
        )
        if strategy.exclude:
            self.note("Crossref cannot exclude terms: NOT blocks are left out")
        filters: list[str] = []
        limits = strategy.limits
        if limits.from_year:
            filters.append(f"from-pub-date:{limits.from_year}-01-01")
        if limits.to_year:
            filters.append(f"until-pub-date:{limits.to_year}-12-31")
        self.languages(limits)
        types = self.document_types(limits)
        filters.extend(f"type:{t}" for t in types)
        params = {"query.bibliographic": " ".join(words)}
        if filters:
            params["filter"] = ",".join(filters)
        text = f"{DEFAULT_URLS['crossref']}works?" + "&".join(f"{k}={v}" for k, v in params.items())
        return self.query(text, params)


# -- Ovid ------------------------------------------------------------------------------------

_OVID_KEYWORDS = {
    "psycinfo": "id",
    "apa psycinfo": "id",
    "medline": "kf",
    "ovid medline": "kf",
    "embase": "kf",
    "emcare": "kf",
}
_OVID_QUOTE = frozenset(
    {
        "and",
        "or",
        "not",
        "adj",
        "near",
        "with",
        "same",
        "as",
        "by",
        "for",
        "from",
        "in",
        "is",
        "of",
        "on",
        "the",
        "to",
        "an",
        "a",
        "be",
        "at",
    }
)


class _Ovid(_Translator):
    platform = "ovid"

    def codes(self, fields: tuple[str, ...]) -> str:
        kw = self.db.keywords_field or _OVID_KEYWORDS.get(self.db.name.casefold())
        if kw is None and "keywords" in fields:
            self.note(
                f"WARNING: scoping does not know the author-keyword field code of {self.db.name}: "
                "its lines search titles and abstracts only (.ti,ab.); look the code up in the "
                "database's Ovid field guide and set keywords_field in strategy.toml "
                f'("{self.db.name}" = {{ platform = "ovid", keywords_field = "..." }})'
            )
            fields = tuple(f for f in fields if f != "keywords")
        codes = {"title": "ti", "abstract": "ab", "keywords": kw}
        return ",".join(str(codes[f]) for f in fields)

    can_search_headings = True

    def heading(self, h: Heading) -> str:
        """``exp Peer Group/``, ``Peer Group/`` (not exploded), ``exp *Peer Group/`` (major)."""
        if h.subheadings:
            self.note(
                f"WARNING: the subheadings of {h.term!r} ({', '.join(h.subheadings)}) are not written "
                "for Ovid, which takes two-letter codes (exp Peer Group/px): the heading is searched "
                "with all its subheadings; add the codes by hand"
            )
        return f"{'exp ' if h.explode else ''}{'*' if h.major else ''}{h.term}/"

    def term(self, term: Term, codes: str) -> str:
        if term.near is not None:
            # Ovid's operators help (Ovid Syntax, "ADJn"): adjn finds the words in either order
            # with at most n-1 words between them (adj1 = next to each other), so the neutral
            # "a ~N b" (at most N words between) is adj(N+1). Confirmed December 2026 against
            # Ovid's own training page (tools.ovid.com/ovidgo/searches/training.php): "ADJn ...
            # carries out a search for the adjacent terms separated by n-1 words apart, the terms
            # occurring in any order"; plain ADJ is the phrase, in the order typed.
            a, b = term.words
            return f"({a} adj{term.near + 1} {b}).{codes}."
        if term.phrase:
            quote = any(w.lower() in _OVID_QUOTE for w in term.words)
        else:
            quote = _must_quote(term.text.rstrip("*"))
        text = f'"{term.text}"' if quote else term.text
        return f"{text}.{codes}."

    def build(self, strategy: Strategy) -> Query:
        lines: list[str] = []
        ends: dict[str, int] = {}
        for block in (*strategy.include, *strategy.exclude):
            codes = self.codes(block.fields)
            start = len(lines) + 1
            lines.extend(self.heading(h) for h in self.headings(block))
            lines.extend(self.term(t, codes) for t in block.terms)
            if len(lines) - start + 1 > 1:
                lines.append(f"or/{start}-{len(lines)}")
            ends[block.name] = len(lines)
        includes = [ends[b.name] for b in strategy.include]
        if len(includes) > 1:
            lines.append(" and ".join(str(n) for n in includes))
        last = len(lines) if len(includes) > 1 else includes[0]
        excludes = [ends[b.name] for b in strategy.exclude]
        if excludes:
            if len(excludes) > 1:
                lines.append(" or ".join(str(n) for n in excludes))
                excluded = len(lines)
            else:
                excluded = excludes[0]
            lines.append(f"{last} not {excluded}")
            last = len(lines)
        limits = strategy.limits
        parts: list[str] = []
        langs = self.languages(limits)
        if langs:
            names = [f"{LANGUAGES[n.lower()].pubmed} language" for n in langs]
            parts.append(names[0] if len(names) == 1 else "(" + " or ".join(names) + ")")
        if limits.from_year or limits.to_year:
            end = limits.to_year or "Current"
            parts.append(f'yr="{limits.from_year or 1800} -{end}"')
        if parts:
            inner = parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"
            lines.append(f"limit {last} to {inner}")
        types = self.document_types(limits)
        if types:
            self.note(
                "document types differ between Ovid databases: apply the publication type "
                f"limit of {self.db.name} by hand ({', '.join(types)})"
            )
        text = "\n".join(f"{i} {line}" for i, line in enumerate(lines, 1))
        return self.query(text)


# -- Web of Science, EBSCOhost, Scopus -------------------------------------------------------


class _FieldSyntax(_Translator):
    """Platforms that write ``FIELD(term OR term)``."""

    FIELDS: ClassVar[dict[str, str]] = {}
    COMBINED: ClassVar[dict[tuple[str, ...], str]] = {}
    """Fields that one field code searches together (``TS``, ``TITLE-ABS-KEY``)."""
    SEP = "="
    NEAR = "NEAR/{n}"
    """The platform's proximity operator for at most ``n`` words between."""

    def term(self, term: Term) -> str:
        if term.near is not None:
            a, b = term.words
            return f"({a} {self.NEAR.format(n=term.near)} {b})"
        quote = term.phrase or _must_quote(term.text.rstrip("*"))
        return f'"{term.text}"' if quote else term.text

    def heading_text(self, h: Heading) -> str:  # pragma: no cover - platforms with headings override
        raise NotImplementedError

    def field_codes(self, fields: tuple[str, ...]) -> list[str]:
        combined = self.COMBINED.get(fields)
        if combined is not None and not self.db.exact_fields:
            self.combined_note(combined)
            return [combined]
        return [self.FIELDS[f] for f in fields]

    def combined_note(self, code: str) -> None:  # pragma: no cover - platforms with COMBINED override
        pass

    def block(self, block: Block) -> str:
        headings = [self.heading_text(h) for h in self.headings(block)]
        inner = " OR ".join(self.term(t) for t in block.terms)
        return " OR ".join(
            [*headings, *(f"{code}{self.SEP}({inner})" for code in self.field_codes(block.fields))]
        )

    def limits(self, limits: Limits) -> list[str]:  # pragma: no cover - overridden
        return []

    def build(self, strategy: Strategy) -> Query:
        text = _join_and_not(
            [self.block(b) for b in strategy.include],
            self.limits(strategy.limits),
            [self.block(b) for b in strategy.exclude],
            not_=self.NOT,
        )
        return self.query(text)

    NOT = "NOT"


class _WoS(_FieldSyntax):
    """Web of Science Core Collection, advanced search.

    Web of Science help, Search Operators (webofscience.help.clarivate.com/Content/
    search-operators.html): ``NEAR/x`` finds the words in either order with at most x words
    separating them, and AND may not be an argument of NEAR; Search Rules
    (.../Content/search-rules.htm): at most 49 Boolean operators in one query (the operators
    page now limits only All Fields searches to 49: the warning stays, as the stricter reading).
    """

    platform = "wos"
    FIELDS: ClassVar[dict[str, str]] = {"title": "TI", "abstract": "AB", "keywords": "AK"}
    COMBINED: ClassVar[dict[tuple[str, ...], str]] = {("title", "abstract", "keywords"): "TS"}

    def combined_note(self, code: str) -> None:
        self.note(
            "TS= (Topic) searches titles, abstracts, author keywords and Keywords Plus; set "
            f"exact_fields = true for {self.db.name} in strategy.toml to search TI=, AB= and AK= only"
        )

    def build(self, strategy: Strategy) -> Query:
        query = super().build(strategy)
        n = query.operators
        if n > WOS_OPERATOR_LIMIT:
            self.note(
                f"WARNING: the query has {n} Boolean operators; Web of Science allows "
                f"{WOS_OPERATOR_LIMIT}: run each block as its own search and combine them in the "
                "search history (#1 AND #2)"
            )
            query = replace(query, notes=tuple(self.notes))
        return query

    def limits(self, limits: Limits) -> list[str]:
        where = (
            " (Core Collection, edition Social Sciences Citation Index)"
            if self.db.name.casefold() in ("ssci", "social sciences citation index")
            else ""
        )
        self.note(
            f"in Advanced Search, choose the collection or edition of {self.db.name}{where} "
            "before running the query"
        )
        clauses: list[str] = []
        if limits.from_year or limits.to_year:
            end = self.end_year(limits)
            if not limits.to_year:
                self.note(f"Web of Science needs an end year: PY runs to {end}, this year")
            clauses.append(f"PY=({limits.from_year or 1900}-{end})")
        langs = self.languages(limits)
        if langs:
            clauses.append("LA=(" + " OR ".join(langs) + ")")
        types = self.document_types(limits)
        if types:
            clauses.append("DT=(" + " OR ".join(types) + ")")
        return clauses


class _Ebsco(_FieldSyntax):
    """EBSCOhost (CINAHL and others).

    EBSCO Help, proximity searches (help.ebsco.com, "Proximity searches"): ``Nn`` finds the
    words in either order with at most n words between them (``Wn``: in the order typed);
    truncation is allowed inside quoted phrases. CINAHL headings: ``(MH "Heading+")`` explodes,
    ``(MM ...)`` is the major-concept field.
    """

    platform = "ebsco"
    FIELDS: ClassVar[dict[str, str]] = {"title": "TI", "abstract": "AB", "keywords": "KW"}
    SEP = " "
    NEAR = "N{n}"
    can_search_headings = True

    def heading_text(self, h: Heading) -> str:
        """CINAHL: ``(MH "Peer Group+")`` exploded, ``(MM ...)`` as major topic."""
        if h.subheadings:
            self.note(
                f"WARNING: the subheadings of {h.term!r} are not written for EBSCOhost, which takes "
                'two-letter codes ((MH "Peer Group+/PF")): the heading is searched with all of them'
            )
        return f'({"MM" if h.major else "MH"} "{h.term}{"+" if h.explode else ""}")'

    def limits(self, limits: Limits) -> list[str]:
        clauses: list[str] = []
        if limits.from_year or limits.to_year:
            end = self.end_year(limits)
            clauses.append(f"DT {limits.from_year or 1800}0101-{end}1231")
            self.note("the publication years can also be set with the Published Date limiter")
        langs = self.languages(limits)
        if langs:
            clauses.append("LA (" + " OR ".join(langs) + ")")
        types = self.document_types(limits)
        if types:
            clauses.append("PT (" + " OR ".join(f'"{t}"' for t in types) + ")")
            self.note(
                "publication type names differ between EBSCOhost databases: check PT "
                "values against the database's Publication Type limiter"
            )
        self.note(
            "KW searches author-supplied keywords; some EBSCOhost databases name it "
            "differently, check the field codes of the database you search"
        )
        return clauses


class _Scopus(_FieldSyntax):
    """Scopus advanced search.

    Scopus help, Proximity operators (help.scopus.com, h_bscssrchFASTprox): ``W/n`` finds the
    words in either order with at most n words between them, ``PRE/n`` in the order typed;
    "wildcards are treated as punctuation when you search for a phrase using double quotes":
    a truncated phrase is written with ``PRE/0`` (the words adjacent, in order, truncation kept).
    """

    platform = "scopus"

    def term(self, term: Term) -> str:
        if term.phrase and term.truncated:
            why = "Scopus ignores truncation inside quotes"
            if any(w.lower() in _OPERATOR_WORDS for w in term.words):
                # PRE/0 next to a word Scopus reads as an operator (and, or...) breaks the query
                forms = self.forms(term, why)
                return "(" + " OR ".join(f'"{f}"' for f in forms) + ")"
            self.note(
                f"{why}: truncated phrases are written with PRE/0 (the words next to each other, "
                "in this order, truncation kept)"
            )
            return "(" + " PRE/0 ".join(term.words) + ")"
        return super().term(term)

    FIELDS: ClassVar[dict[str, str]] = {"title": "TITLE", "abstract": "ABS", "keywords": "AUTHKEY"}
    COMBINED: ClassVar[dict[tuple[str, ...], str]] = {
        ("title", "abstract", "keywords"): "TITLE-ABS-KEY",
        ("title", "abstract"): "TITLE-ABS",
    }

    def combined_note(self, code: str) -> None:
        if code == "TITLE-ABS-KEY":
            self.note(
                "TITLE-ABS-KEY searches titles, abstracts, author keywords and index terms; set "
                f"exact_fields = true for {self.db.name} in strategy.toml to search TITLE, ABS and "
                "AUTHKEY only"
            )

    SEP = ""
    NOT = "AND NOT"
    NEAR = "W/{n}"

    def limits(self, limits: Limits) -> list[str]:
        clauses: list[str] = []
        if limits.from_year:
            clauses.append(f"PUBYEAR > {limits.from_year - 1}")
        if limits.to_year:
            clauses.append(f"PUBYEAR < {limits.to_year + 1}")
        langs = self.languages(limits)
        if langs:
            clauses.append("LANGUAGE(" + " OR ".join(n.lower() for n in langs) + ")")
        types = self.document_types(limits)
        if types:
            clauses.append("DOCTYPE(" + " OR ".join(types) + ")")
        return clauses


_TRANSLATORS: dict[str, type[_Translator]] = {
    "pubmed": _PubMed,
    "europepmc": _EuropePMC,
    "openalex": _OpenAlex,
    "crossref": _Crossref,
    "ovid": _Ovid,
    "wos": _WoS,
    "ebsco": _Ebsco,
    "scopus": _Scopus,
}


def translate(strategy: Strategy, database: Database | str) -> Query:
    """The query for one database (a :class:`Database`, a database name or a platform key),
    with the database's own term edits (``add_terms``, ``drop_terms``) applied and noted."""
    db = strategy.database(database) if isinstance(database, str) else database
    edits: list[str] = []
    if db.add_terms or db.drop_terms:
        for block in strategy.blocks:
            added = [t.text for t in db.add_terms.get(block.name, ())]
            dropped = [t.text for t in block.terms if t.text.casefold() in db.drop_terms.get(block.name, ())]
            if added or dropped:
                what = "; ".join(
                    part
                    for part in (
                        f"added {', '.join(repr(t) for t in added)}" if added else "",
                        f"left out {', '.join(repr(t) for t in dropped)}" if dropped else "",
                    )
                    if part
                )
                edits.append(f"edited for {db.name} only (strategy.toml): block {block.name!r}: {what}")
        strategy = replace(strategy, blocks=db.edited(strategy.blocks))
    query = _TRANSLATORS[db.platform](db, strategy).build(strategy)
    return replace(query, notes=(*edits, *query.notes)) if edits else query


def plan(strategy: Strategy, *, every_platform: bool = False) -> list[Query]:
    """The query of each of the strategy's databases, in platform order (databases whose query
    comes out the same share one entry); with ``every_platform``, also each platform the
    strategy does not use, under the platform's own name."""
    queries: list[Query] = []
    for key, platform in PLATFORMS.items():
        dbs = [db for db in strategy.databases if db.platform == key]
        if not dbs:
            if not every_platform and strategy.databases:
                continue
            dbs = [Database(name=platform.default_database, platform=key)]
        built: list[Query] = []
        for db in dbs:
            q = translate(strategy, db)
            same = next((b for b in built if (b.text, b.notes) == (q.text, q.notes)), None)
            if same is not None:
                built[built.index(same)] = replace(same, database=f"{same.database}, {db.name}")
            else:
                built.append(q)
        queries.extend(built)
    return queries


@dataclass(frozen=True, slots=True)
class TermQuery:
    """A query for one term or one block, used to count what each term contributes."""

    block: str
    term: str | None
    """``None`` for the whole block."""
    alone: Query
    """The term (or block) with the limits."""
    combined: Query | None
    """The term (or block) ANDed with the other include blocks, NOT blocks and limits."""
    without: Query | None = None
    """The full strategy without this term (``None`` for a block, or a block's only term):
    the full count minus its count is what only this term finds."""


def term_queries(strategy: Strategy, database: Database | str) -> list[TermQuery]:
    """Queries for every term and every block of ``strategy`` on one database (with the
    database's own term edits applied first)."""
    db = strategy.database(database) if isinstance(database, str) else database
    if db.add_terms or db.drop_terms:
        strategy = replace(strategy, blocks=db.edited(strategy.blocks))
        db = replace(db, add_terms={}, drop_terms={})
    out: list[TermQuery] = []
    for block in strategy.include:
        others = [b for b in strategy.blocks if b is not block]
        for part in [*(Block(block.name, (t,), block.fields) for t in block.terms), block]:
            alone = translate(replace(strategy, blocks=(part,)), db)
            combined = None
            if others:
                combined = translate(replace(strategy, blocks=_with(strategy.blocks, block, part)), db)
            term = part.terms[0].text if part is not block else None
            without = None
            if term is not None and len(block.terms) > 1:
                rest = replace(block, terms=tuple(t for t in block.terms if t is not part.terms[0]))
                without = translate(replace(strategy, blocks=_with(strategy.blocks, block, rest)), db)
            out.append(
                TermQuery(block=block.name, term=term, alone=alone, combined=combined, without=without)
            )
    return out


def _with(blocks: Iterable[Block], old: Block, new: Block) -> tuple[Block, ...]:
    return tuple(new if b is old else b for b in blocks)
