"""The search strategy: concept blocks of terms, limits and databases, from ``strategy.toml``.

::

    [review]
    title = "..."

    [[block]]                       # blocks are combined with AND
    name = "Peer support"
    terms = ["peer support", "peer worker*", "expert by experience"]
    fields = ["title", "abstract", "keywords"]   # optional: where to search (default: all three)

    [[block.heading]]               # subject headings of the block, ORed with its terms
    vocabulary = "mesh"             # mesh (PubMed, Ovid MEDLINE), apa (PsycINFO), emtree
    term = "Peer Group"             # (Embase), cinahl (CINAHL on EBSCOhost)
    explode = true                  # default true; major = true for a major topic only
    subheadings = ["psychology"]    # PubMed only

    [[block]]
    name = "Animal studies"
    exclude = true                  # combined with NOT
    terms = ["mice", "rat*"]

    [limits]
    from_year = 1990                # inclusive; to_year likewise
    languages = ["English"]
    document_types = ["article", "review"]

    [databases]                     # database name = platform it is searched on
    MEDLINE = "pubmed"
    "Social Policy and Practice" = { platform = "ovid", keywords_field = "kw" }
    SSCI = { platform = "wos", exact_fields = true }   # TI= OR AB= OR AK= instead of TS=
    Crossref = { platform = "crossref", max_records = 2000, ignore_limits = ["languages", "document_types"] }

    [databases.PsycINFO]            # a database's own edits of the blocks, kept in the file
    platform = "ovid"
    add_terms = { "Peer support" = ["peer counsel*"] }
    drop_terms = { "Peer support" = ["expert by experience"] }

    [variants]                      # the forms a truncated term stands for, where a platform
    "peer worker*" = ["peer worker", "peer workers"]   # cannot truncate (OpenAlex; phrases
                                                       # in Europe PMC)

    [seeds]                         # known relevant studies the searches must find
    dois = ["10.1176/appi.ps.201100126"]                # (scoping search check)
    pmids = ["22552677"]

    [search]
    email = "you@example.org"       # sent to NCBI and Crossref as their policies ask

API keys never go in this file (it is shared with the review and named in every run's log):
they come from the environment or from a configuration file outside the review folder (see
:mod:`scoping.search.config`).

Terms: a term with spaces is a phrase; ``*`` at the end of a word truncates (``worker*``), also
inside a phrase (``"peer worker*"``). ``peer ~3 work*`` is a proximity term: the two words with at
most 3 words between them, in either order (PubMed ``[tiab:~3]``, Ovid ``adj4``, Web of Science
``NEAR/3``, Scopus ``W/3``, EBSCOhost ``N3``; approximated, with a note, where a platform has no
proximity search). Quotes around a whole term are allowed and change
nothing; any other quote is an error. Every problem is a :class:`~scoping.errors.ConfigError`
that names the block and term.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scoping.errors import ConfigError, UsageError
from scoping.files import parse_toml, read_toml
from scoping.search.platforms import (
    DOCUMENT_TYPES,
    LANGUAGES,
    PLATFORMS,
    platform_for,
    unsupported_limits,
)

__all__ = [
    "FIELDS",
    "VOCABULARIES",
    "Block",
    "Database",
    "Heading",
    "Limits",
    "Strategy",
    "Term",
    "covers",
    "load_strategy",
    "other_spelling",
    "parse_strategy",
    "redundant_terms",
    "spelling_variants",
]

FIELDS: tuple[str, ...] = ("title", "abstract", "keywords")
"""Where a block's terms can be searched."""

_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR", "ADJ", "SAME", "WITH"})
_PROXIMITY = re.compile(r"^(\S+) ~(\d{1,2}) (\S+)$")
PRISMA_S_KEYS: dict[str, str] = {
    "multi_database": "2. Multi-database searching",
    "registers": "3. Study registries",
    "online_resources": "4. Online resources and browsing",
    "citation_searching": "5. Citation searching",
    "contacts": "6. Contacts",
    "other_methods": "7. Other methods",
    "filters": "10. Search filters",
    "prior_work": "11. Prior work",
    "updates": "12. Updates",
    "peer_review": "14. Peer review",
    "deduplication": "16. Deduplication",
}
"""Keys of ``[prisma_s]`` (what people write) and the PRISMA-S item each answers."""

VOCABULARIES: dict[str, str] = {
    "mesh": "MeSH",
    "apa": "APA Thesaurus",
    "emtree": "Emtree",
    "cinahl": "CINAHL",
}
"""Controlled vocabularies a block's headings can come from."""
_BAD_CHARS = re.compile(r"[()\[\]{},;?$#]")
_MIN_STEM = 3


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a block: a word or a phrase, possibly truncated."""

    text: str
    """The term as searched, without surrounding quotes: ``peer worker*``."""

    @property
    def near(self) -> int | None:
        """A proximity term's distance (most words between its two words), else ``None``."""
        match = _PROXIMITY.match(self.text)
        return int(match.group(2)) if match else None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for w in self.text.split() if not (w.startswith("~") and w[1:].isdigit()))

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1 and self.near is None

    @property
    def truncated(self) -> bool:
        return "*" in self.text

    @property
    def plain(self) -> str:
        """The term's words without truncation marks (or a proximity distance)."""
        return " ".join(self.words).replace("*", "")


@dataclass(frozen=True, slots=True)
class Heading:
    """A subject heading of a block, from one controlled vocabulary."""

    vocabulary: str
    """A key of :data:`VOCABULARIES` (``mesh``, ``apa``, ``emtree``, ``cinahl``)."""
    term: str
    explode: bool = True
    """Also the narrower headings below it in the vocabulary's tree."""
    major: bool = False
    """Only records where it is a major topic (PubMed ``[majr]``, Ovid ``*``, CINAHL ``MM``)."""
    subheadings: tuple[str, ...] = ()
    """Qualifiers (``psychology``): PubMed writes ``"Peer Group/psychology"[mh]``."""


@dataclass(frozen=True, slots=True)
class Block:
    """A concept: terms combined with OR, searched in ``fields``."""

    name: str
    terms: tuple[Term, ...]
    fields: tuple[str, ...] = FIELDS
    exclude: bool = False
    headings: tuple[Heading, ...] = ()
    """Subject headings ORed with the terms in the databases indexed with their vocabulary."""


@dataclass(frozen=True, slots=True)
class Limits:
    from_year: int | None = None
    to_year: int | None = None
    languages: tuple[str, ...] = ()
    """Language names as in :data:`~scoping.search.platforms.LANGUAGES` (``"English"``)."""
    document_types: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.from_year or self.to_year or self.languages or self.document_types)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_year": self.from_year,
            "to_year": self.to_year,
            "languages": list(self.languages),
            "document_types": list(self.document_types),
        }


@dataclass(frozen=True, slots=True)
class Database:
    """A database of the review and the platform it is searched on."""

    name: str
    platform: str
    keywords_field: str | None = None
    """Ovid only: the field code of author keywords in this database (``id`` in PsycINFO)."""
    max_records: int | None = None
    """Crossref only: how many of the best-ranked works to keep."""
    ignore_limits: tuple[str, ...] = ()
    """Limits this database cannot apply and that are screened by hand instead."""
    use_variants: bool = False
    """PubMed only: search truncated phrases as their forms under ``[variants]`` (with the
    proximity form ``[tiab:~0]``) instead of PubMed's own phrase truncation."""
    vocabulary: str | None = None
    """The controlled vocabulary the database is indexed with (``mesh``...); ``None``: known
    from the platform and name (:meth:`indexed_with`)."""
    add_terms: Mapping[str, tuple[Term, ...]] = field(default_factory=dict)
    """Terms added to a block (by name) for this database only."""
    drop_terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Terms (as written, case-folded) left out of a block for this database only."""
    exact_fields: bool = False
    """Web of Science and Scopus: search title, abstract and author keywords field by field
    (``TI= OR AB= OR AK=``, ``TITLE() OR ABS() OR AUTHKEY()``) instead of the standard topic
    field (``TS=``, ``TITLE-ABS-KEY()``), which also searches Keywords Plus or index terms."""

    def edited(self, blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        """``blocks`` with this database's own additions and removals."""
        out = []
        for block in blocks:
            drop = set(self.drop_terms.get(block.name, ()))
            terms = tuple(t for t in block.terms if t.text.casefold() not in drop)
            terms += self.add_terms.get(block.name, ())
            out.append(replace(block, terms=terms) if terms != block.terms else block)
        return tuple(out)

    def indexed_with(self) -> str | None:
        """The vocabulary of the database's subject headings, if scoping knows it."""
        if self.vocabulary is not None:
            return None if self.vocabulary == "none" else self.vocabulary
        name = " ".join(self.name.casefold().split())
        if self.platform == "pubmed":
            return "mesh"
        if self.platform == "ovid":
            return {
                "medline": "mesh",
                "ovid medline": "mesh",
                "psycinfo": "apa",
                "apa psycinfo": "apa",
                "embase": "emtree",
            }.get(name)
        if self.platform == "ebsco" and name.startswith("cinahl"):
            return "cinahl"
        return None


@dataclass(frozen=True, slots=True)
class Strategy:
    """A review's search strategy as written in ``strategy.toml``."""

    blocks: tuple[Block, ...]
    limits: Limits = Limits()
    databases: tuple[Database, ...] = ()
    title: str = ""
    question: str = ""
    email: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The ``[search]`` table (email, batch sizes...)."""
    path: str | None = None
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """``[variants]``: truncated term (as written) -> the words or phrases it stands for, used
    where a platform cannot truncate it."""

    reporting: Mapping[str, str] = field(default_factory=dict)
    """``[prisma_s]``: what the search log cannot know, for the PRISMA-S appendix (keys in
    :data:`PRISMA_S_KEYS`)."""
    seeds: tuple[str, ...] = ()
    """``[seeds]``: known relevant studies as ``doi:10.x/y`` and ``pmid:123`` (normalised)."""

    def forms(self, term: Term) -> tuple[str, ...] | None:
        """The listed forms of a truncated term, or ``None`` when ``[variants]`` has none."""
        return self.variants.get(term.text.casefold())

    @property
    def include(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if not b.exclude)

    @property
    def exclude(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.exclude)

    def find_database(self, name: str) -> Database | None:
        """The strategy's database called ``name``, or its only one on platform ``name``.

        A platform that several of the strategy's databases are searched on (two Ovid
        databases) is ambiguous: :class:`~scoping.errors.UsageError` names them.
        """
        wanted = " ".join(name.split()).casefold()
        for db in self.databases:
            if db.name.casefold() == wanted:
                return db
        key = platform_for(name)
        on = [db for db in self.databases if db.platform == key]
        if len(on) > 1:
            raise UsageError(
                f"{len(on)} databases of the strategy are searched on {PLATFORMS[str(key)].label}: "
                + ", ".join(db.name for db in on)
                + "; name one of them"
            )
        return on[0] if on else None

    def database(self, name: str) -> Database:
        """A database by name or platform; a platform the strategy does not list gets a default entry."""
        found = self.find_database(name)
        if found is not None:
            return found
        key = platform_for(name)
        if key is None:
            names = ", ".join(db.name for db in self.databases)
            raise ConfigError(
                f"no database or platform called {name!r}: the strategy lists "
                f"{names or 'no databases'}; platforms are {', '.join(PLATFORMS)}"
            )
        return Database(name=PLATFORMS[key].default_database, platform=key)


def load_strategy(path: str | os.PathLike[str]) -> Strategy:
    """Read and check ``strategy.toml``."""
    data = read_toml(
        path,
        what="the search strategy",
        create="run 'scoping init' or write the strategy file (see 'scoping search plan --help')",
    )
    return _strategy(data, str(path))


def parse_strategy(text: str, path: str = "strategy.toml") -> Strategy:
    """Parse and check the text of a strategy file; ``path`` names it in messages."""
    return _strategy(parse_toml(text, what="the search strategy", source=path), path)


def _strategy(data: dict[str, Any], path: str) -> Strategy:
    """Check the tables of a strategy file; ``path`` names it in messages."""
    known = ("review", "block", "limits", "databases", "variants", "seeds", "prisma_s", "search")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"{path}: unknown section [{unknown[0]}]; the sections are " + ", ".join(f"[{k}]" for k in known)
        )
    review = _table(data, "review", path)
    raw_blocks = data.get("block", [])
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise ConfigError(f"{path}: no [[block]] of terms; add at least one concept block")
    blocks = tuple(_block(raw, i, path) for i, raw in enumerate(raw_blocks, 1))
    names = [b.name.casefold() for b in blocks]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{path}: two blocks are called {name!r}; give each block its own name")
    if not any(not b.exclude for b in blocks):
        raise ConfigError(f"{path}: every block has exclude = true; at least one block must say what to find")
    limits = _limits(_table(data, "limits", path), path)
    databases = _databases(_table(data, "databases", path), limits, path, blocks)
    settings = _table(data, "search", path)
    keys = sorted(k for k in settings if k in _KEY_NAMES)
    if keys:
        raise ConfigError(
            f"{path}: [search] {keys[0]}: API keys do not belong in the strategy file (it is "
            f"shared with the review and named in the search log); set {_KEY_NAMES[keys[0]]} in "
            "the environment or in ~/.config/scoping/config.toml, and delete the line"
        )
    extra = sorted(set(settings) - _SEARCH_KEYS)
    if extra:
        raise ConfigError(
            f"{path}: [search] has an unknown key {extra[0]!r}; keys are " + ", ".join(sorted(_SEARCH_KEYS))
        )
    email = settings.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise ConfigError(f"{path}: [search] email must be an e-mail address, not {email!r}")
    return Strategy(
        blocks=blocks,
        limits=limits,
        databases=databases,
        title=str(review.get("title", "")),
        question=str(review.get("question", "")),
        email=email or None,
        settings=settings,
        path=path,
        variants=_variants(_table(data, "variants", path), blocks, path),
        seeds=_seeds(_table(data, "seeds", path), path),
        reporting=_prisma_s(_table(data, "prisma_s", path), path),
    )


def _table(data: Mapping[str, Any], name: str, path: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value


def _block(raw: object, index: int, path: str) -> Block:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: block {index} must be a table with name and terms")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f'{path}: block {index} has no name; add name = "..."')
    name = name.strip()
    where = f"{path}: block {name!r}"
    extra = sorted(set(raw) - {"name", "terms", "fields", "exclude", "heading"})
    if extra:
        raise ConfigError(
            f"{where}: unknown key {extra[0]!r} (a block has name, terms, fields, exclude, [[block.heading]])"
        )
    terms = raw.get("terms")
    if terms is None:
        raise ConfigError(f'{where} has no terms; add terms = ["..."]')
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise ConfigError(f"{where}: terms must be a list of strings")
    if not terms:
        raise ConfigError(f"{where} is empty: give it at least one term, or delete the block")
    parsed = tuple(_term(t, i, where) for i, t in enumerate(terms, 1))
    seen: set[str] = set()
    for term in parsed:
        key = term.text.casefold()
        if key in seen:
            raise ConfigError(f"{where}: the term {term.text!r} is listed twice")
        seen.add(key)
    fields = raw.get("fields", list(FIELDS))
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list) or not fields:
        raise ConfigError(f"{where}: fields must be a non-empty list of " + ", ".join(FIELDS))
    for f in fields:
        if f not in FIELDS:
            raise ConfigError(f"{where}: unknown field {f!r}; fields are {', '.join(FIELDS)}")
    exclude = raw.get("exclude", False)
    if not isinstance(exclude, bool):
        raise ConfigError(f"{where}: exclude must be true or false")
    ordered = tuple(f for f in FIELDS if f in fields)
    raw_headings = raw.get("heading", [])
    if not isinstance(raw_headings, list):
        raise ConfigError(f"{where}: write subject headings as [[block.heading]] tables")
    headings = tuple(_heading(h, i, where) for i, h in enumerate(raw_headings, 1))
    return Block(name=name, terms=parsed, fields=ordered, exclude=exclude, headings=headings)


def _heading(raw: object, index: int, where: str) -> Heading:
    label = f"{where}, heading {index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{label} must be a table with vocabulary and term")
    extra = sorted(set(raw) - {"vocabulary", "term", "explode", "major", "subheadings"})
    if extra:
        raise ConfigError(
            f"{label}: unknown key {extra[0]!r} (a heading has vocabulary, term, explode, major, subheadings)"
        )
    vocabulary = raw.get("vocabulary")
    if vocabulary not in VOCABULARIES:
        raise ConfigError(f"{label}: vocabulary must be one of {', '.join(VOCABULARIES)}, not {vocabulary!r}")
    term = raw.get("term")
    if not isinstance(term, str) or not term.strip() or any(c in term for c in '"[]*/'):
        raise ConfigError(
            f"{label}: term must be the heading as the vocabulary writes it, without quotes, / or *"
        )
    flags = {k: raw.get(k, k == "explode") for k in ("explode", "major")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{label}: {key} must be true or false")
    subs = raw.get("subheadings", [])
    if not isinstance(subs, list) or not all(isinstance(x, str) and x.strip() for x in subs):
        raise ConfigError(f'{label}: subheadings must be a list such as ["psychology"]')
    return Heading(
        vocabulary=str(vocabulary),
        term=" ".join(term.split()),
        explode=bool(flags["explode"]),
        major=bool(flags["major"]),
        subheadings=tuple(" ".join(x.split()) for x in subs),
    )


def _term(value: str, index: int, where: str) -> Term:
    label = f"{where}, term {index} {value!r}"
    text = " ".join(value.split())
    if not text:
        raise ConfigError(f"{label} is empty; delete it or write the term")
    quotes = text.count('"')
    if quotes % 2:
        raise ConfigError(
            f"{label}: unbalanced quote; write phrases without quotes (a term "
            "with spaces is searched as a phrase)"
        )
    if quotes == 2 and text.startswith('"') and text.endswith('"'):
        text = " ".join(text[1:-1].split())
        if not text:
            raise ConfigError(f"{label} is empty; delete it or write the term")
    elif quotes:
        raise ConfigError(
            f"{label}: quotes inside a term; write one phrase per term (a term "
            "with spaces is searched as a phrase)"
        )
    if "~" in text:
        match = _PROXIMITY.match(text)
        if match is None or match.group(1).startswith("~") or match.group(3).startswith("~"):
            raise ConfigError(
                f"{label}: write a proximity term as two words and the most words between them: "
                "'peer ~3 work*'"
            )
        text = f"{match.group(1)} ~{int(match.group(2))} {match.group(3)}"
    bad = _BAD_CHARS.search(text)
    if bad:
        raise ConfigError(
            f"{label}: {bad.group(0)!r} is not allowed in a term; write one word "
            "or phrase per term, truncate with * at the end of a word"
        )
    for word in (w for w in text.split() if not (w.startswith("~") and w[1:].isdigit())):
        if word.upper() in _OPERATORS and word.isupper():
            raise ConfigError(
                f"{label}: {word} inside a term; write one term per entry (the "
                "terms of a block are combined with OR, blocks with AND)"
            )
        stem = word.rstrip("*")
        if "*" in stem:
            raise ConfigError(f"{label}: * can only end a word (worker*), not stand inside one")
        if word.endswith("**"):
            raise ConfigError(f"{label}: write one * to truncate, not {word}")
        if word.endswith("*") and len(stem) < _MIN_STEM:
            raise ConfigError(
                f"{label}: {word} truncates too short a stem; databases need at "
                f"least {_MIN_STEM} letters before *"
            )
        if not stem:
            raise ConfigError(f"{label}: * alone is not a term")
    return Term(text=text)


def _year(value: object, name: str, path: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1500 <= value <= 2999:
        raise ConfigError(f"{path}: [limits] {name} must be a year such as 1990, not {value!r}")
    return value


def _limits(raw: Mapping[str, Any], path: str) -> Limits:
    extra = sorted(set(raw) - {"from_year", "to_year", "languages", "document_types"})
    if extra:
        raise ConfigError(
            f"{path}: [limits] has an unknown key {extra[0]!r}; limits are "
            "from_year, to_year, languages, document_types"
        )
    from_year = _year(raw.get("from_year"), "from_year", path)
    to_year = _year(raw.get("to_year"), "to_year", path)
    if from_year and to_year and from_year > to_year:
        raise ConfigError(f"{path}: [limits] from_year {from_year} is after to_year {to_year}")
    languages = raw.get("languages", [])
    if isinstance(languages, str):
        languages = [languages]
    if not isinstance(languages, list):
        raise ConfigError(f'{path}: [limits] languages must be a list such as ["English"]')
    names: list[str] = []
    for lang in languages:
        found = LANGUAGES.get(str(lang).strip().lower())
        if found is None:
            raise ConfigError(
                f"{path}: [limits] unknown language {lang!r}; known languages: "
                + ", ".join(v.name for v in LANGUAGES.values())
            )
        names.append(found.name)
    types = raw.get("document_types", [])
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        raise ConfigError(f'{path}: [limits] document_types must be a list such as ["article"]')
    for kind in types:
        if kind not in DOCUMENT_TYPES:
            raise ConfigError(
                f"{path}: [limits] unknown document type {kind!r}; document types: "
                + ", ".join(DOCUMENT_TYPES)
            )
    return Limits(from_year=from_year, to_year=to_year, languages=tuple(names), document_types=tuple(types))


_DB_KEYS = {
    "platform",
    "add_terms",
    "drop_terms",
    "keywords_field",
    "max_records",
    "ignore_limits",
    "exact_fields",
    "use_variants",
    "vocabulary",
}
_SEARCH_KEYS = {"email", "pubmed_batch", "pubmed_cap", "page_size"}
_KEY_NAMES = {"ncbi_api_key": "NCBI_API_KEY", "openalex_api_key": "OPENALEX_API_KEY"}
_LIMIT_NAMES = ("languages", "document_types")


def _edits(
    spec: Mapping[str, Any], blocks: tuple[Block, ...], where: str
) -> tuple[dict[str, tuple[Term, ...]], dict[str, tuple[str, ...]]]:
    """``add_terms`` and ``drop_terms`` of a database: ``{block name: [terms]}`` each."""
    by_name = {b.name.casefold(): b for b in blocks}
    added: dict[str, tuple[Term, ...]] = {}
    dropped: dict[str, tuple[str, ...]] = {}
    for key in ("add_terms", "drop_terms"):
        table = spec.get(key, {})
        if not isinstance(table, dict):
            raise ConfigError(f'{where}: {key} must be a table such as {{ "Block name" = ["term"] }}')
        for name, terms in table.items():
            block = by_name.get(str(name).casefold())
            if block is None:
                raise ConfigError(
                    f"{where}: {key} names no block {name!r}; blocks are " + ", ".join(b.name for b in blocks)
                )
            if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
                raise ConfigError(f"{where}: {key} {name!r} must be a list of terms")
            label = f"{where}, {key} {block.name!r}"
            parsed = tuple(_term(t, i, label) for i, t in enumerate(terms, 1))
            own = {t.text.casefold() for t in block.terms}
            if key == "add_terms":
                repeated = [t.text for t in parsed if t.text.casefold() in own]
                if repeated:
                    raise ConfigError(f"{label}: {repeated[0]!r} is a term of the block already")
                added[block.name] = parsed
            else:
                unknown = [t.text for t in parsed if t.text.casefold() not in own]
                if unknown:
                    raise ConfigError(f"{label}: {unknown[0]!r} is not a term of the block")
                dropped[block.name] = tuple(t.text.casefold() for t in parsed)
    for block in blocks:
        left = len(block.terms) - len(dropped.get(block.name, ())) + len(added.get(block.name, ()))
        if left == 0:
            raise ConfigError(f"{where}: drop_terms leaves block {block.name!r} without terms")
    return added, dropped


def _databases(
    raw: Mapping[str, Any], limits: Limits, path: str, blocks: tuple[Block, ...] = ()
) -> tuple[Database, ...]:
    databases: list[Database] = []
    for name, value in raw.items():
        where = f"{path}: [databases] {name!r}"
        spec = {"platform": value} if isinstance(value, str) else value
        if not isinstance(spec, dict):
            raise ConfigError(f'{where} must name a platform ("pubmed") or be a table with platform = ...')
        extra = sorted(set(spec) - _DB_KEYS)
        if extra:
            raise ConfigError(f"{where}: unknown key {extra[0]!r} (keys: {', '.join(sorted(_DB_KEYS))})")
        platform = platform_for(str(spec.get("platform", "")))
        if platform is None:
            raise ConfigError(
                f"{where}: unknown platform {spec.get('platform')!r}; platforms are " + ", ".join(PLATFORMS)
            )
        ignore = spec.get("ignore_limits", [])
        if not isinstance(ignore, list) or any(i not in _LIMIT_NAMES for i in ignore):
            raise ConfigError(
                f"{where}: ignore_limits lists limits to screen by hand: " + " and/or ".join(_LIMIT_NAMES)
            )
        max_records = spec.get("max_records")
        if max_records is not None and (not isinstance(max_records, int) or max_records < 1):
            raise ConfigError(f"{where}: max_records must be a positive whole number")
        keywords_field = spec.get("keywords_field")
        if keywords_field is not None and (
            not isinstance(keywords_field, str) or not re.fullmatch(r"[a-z]{2,3}", keywords_field)
        ):
            raise ConfigError(f'{where}: keywords_field is an Ovid field code such as "kf"')
        exact_fields = spec.get("exact_fields", False)
        if not isinstance(exact_fields, bool):
            raise ConfigError(f"{where}: exact_fields must be true or false")
        if exact_fields and platform not in ("wos", "scopus"):
            raise ConfigError(
                f"{where}: exact_fields is for Web of Science and Scopus (field by field instead of "
                "TS= or TITLE-ABS-KEY)"
            )
        use_variants = spec.get("use_variants", False)
        if not isinstance(use_variants, bool) or (use_variants and platform != "pubmed"):
            raise ConfigError(
                f"{where}: use_variants = true is for PubMed (its other platforms use [variants] "
                "wherever they cannot truncate)"
            )
        added, dropped = _edits(spec, blocks, where)
        vocabulary = spec.get("vocabulary")
        if vocabulary is not None and vocabulary not in (*VOCABULARIES, "none"):
            raise ConfigError(f"{where}: vocabulary must be one of {', '.join(VOCABULARIES)} or none")
        db = Database(
            name=str(name).strip(),
            platform=platform,
            keywords_field=keywords_field,
            max_records=max_records,
            ignore_limits=tuple(ignore),
            exact_fields=exact_fields,
            use_variants=use_variants,
            vocabulary=vocabulary,
            add_terms=added,
            drop_terms=dropped,
        )
        for limit, reason in unsupported_limits(platform, limits.languages, limits.document_types):
            if limit not in db.ignore_limits:
                raise ConfigError(
                    f"{where}: the limit {limit} cannot be applied: {reason}; remove the limit or "
                    f'the database, or add ignore_limits = ["{limit}"] to screen it by hand'
                )
        databases.append(db)
    return tuple(databases)


def _variants(raw: Mapping[str, Any], blocks: tuple[Block, ...], path: str) -> dict[str, tuple[str, ...]]:
    """``[variants]``: each key a truncated term of a block, each value its forms (no ``*``)."""
    truncated = {t.text.casefold(): t for b in blocks for t in b.terms if t.truncated}
    out: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        where = f"{path}: [variants] {key!r}"
        term = truncated.get(" ".join(str(key).split()).casefold())
        if term is None:
            raise ConfigError(f"{where} is not a truncated term of any block; list forms of terms with *")
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                f'{where} must be a list of the words or phrases it stands for, e.g. ["{term.plain}s"]'
            )
        forms: list[str] = []
        for i, v in enumerate(value, 1):
            form = _term(v, i, where)
            if form.truncated:
                raise ConfigError(f"{where}: {form.text!r} is truncated; write each form out in full")
            if form.text.casefold() not in {f.casefold() for f in forms}:
                forms.append(form.text)
        out[term.text.casefold()] = tuple(forms)
    return out


def _word_covers(general: str, specific: str) -> bool:
    if general.endswith("*"):
        return specific.rstrip("*").casefold().startswith(general[:-1].casefold())
    return general.casefold() == specific.casefold()


def covers(general: Term, specific: Term) -> bool:
    """Whether every record ``specific`` finds, ``general`` finds too (same block, same fields)."""
    return _covers(general, specific)


def _covers(general: Term, specific: Term) -> bool:
    """Whether every record ``specific`` finds, ``general`` finds too (same block, same fields)."""
    if general.near is not None or specific.near is not None:
        return False
    g, s = general.words, specific.words
    return any(all(_word_covers(g[j], s[i + j]) for j in range(len(g))) for i in range(len(s) - len(g) + 1))


def redundant_terms(strategy: Strategy) -> list[str]:
    """Terms that another term of the same block already finds (``"family peer support"`` is
    inside ``"peer support"``): harmless for the results, but longer queries and counts that
    mislead."""
    out: list[str] = []
    for block in strategy.blocks:
        for specific in block.terms:
            general = next((g for g in block.terms if g is not specific and _covers(g, specific)), None)
            if general is not None:
                out.append(
                    f"block {block.name!r}: {specific.text!r} adds nothing: {general.text!r} finds every "
                    "record it finds"
                )
    return out


_OUR = r"^(behavi|col|lab|fav|hon|neighb|hum|vig|rum|tum|od|flav|harb|endeav)"
_PAIRS: list[tuple[str, re.Pattern[str], str]] = [
    ("-our/-or", re.compile(_OUR + r"our(.*)$"), r"\1or\2"),
    ("-our/-or", re.compile(_OUR + r"or(.*)$"), r"\1our\2"),
    ("-ise/-ize", re.compile(r"^(.{4,}?)is(e|ed|es|ing|ation|ations|er|ers)$"), r"\1iz\2"),
    ("-ise/-ize", re.compile(r"^(.{4,}?)iz(e|ed|es|ing|ation|ations|er|ers)$"), r"\1is\2"),
    ("-yse/-yze", re.compile(r"^(.{3,}?)ys(e|ed|es|ing|er|ers)$"), r"\1yz\2"),
    ("-yse/-yze", re.compile(r"^(.{3,}?)yz(e|ed|es|ing|er|ers)$"), r"\1ys\2"),
    ("-tre/-ter", re.compile(r"^(cen|fib|lit|theat|spec|meag|somb|calib|lus)tre(s|d)?$"), r"\1ter\2"),
    ("-tre/-ter", re.compile(r"^(cen|fib|lit|theat|spec|meag|somb|calib|lus)ter(s|ed)?$"), r"\1tre\2"),
    (
        "-ll-/-l-",
        re.compile(r"^(counse|mode|trave|labe|cance|fue|signa|channe)ll(ing|ed|or|ors|er|ers)$"),
        r"\1l\2",
    ),
    (
        "-ll-/-l-",
        re.compile(r"^(counse|mode|trave|labe|cance|fue|signa|channe)l(ing|ed|or|ors|er|ers)$"),
        r"\1ll\2",
    ),
    ("-ogue/-og", re.compile(r"^(catal|dial|anal)ogue(s)?$"), r"\1og\2"),
    ("-ogue/-og", re.compile(r"^(catal|dial|anal)og(s)?$"), r"\1ogue\2"),
]
"""British and American spellings: (rule, a word's pattern, its other spelling)."""
_STEMS: dict[str, str] = {
    # medical words whose spellings differ by ae/e or oe/e: American stem -> British stem
    "pediatr": "paediatr",
    "orthoped": "orthopaed",
    "gynec": "gynaec",
    "hemat": "haemat",
    "hemorrh": "haemorrh",
    "hemoglob": "haemoglob",
    "hemoly": "haemoly",
    "hemodial": "haemodial",
    "anemi": "anaemi",
    "anesth": "anaesth",
    "leukemi": "leukaemi",
    "feces": "faeces",
    "fecal": "faecal",
    "cesarean": "caesarean",
    "etiolog": "aetiolog",
    "estrogen": "oestrogen",
    "edema": "oedema",
    "esophag": "oesophag",
    "dyspnea": "dyspnoea",
    "diarrhea": "diarrhoea",
    "amenorrhea": "amenorrhoea",
    "homeopath": "homoeopath",
}
_NOT_ISE = frozenset(
    {
        "exerc",
        "advert",
        "comprom",
        "enterpr",
        "expert",
        "franch",
        "merchand",
        "prom",
        "superv",
        "surpr",
        "telev",
        "compr",
        "desp",
        "improv",
        "prem",
        "otherw",
        "parad",
        "chem",
        "disgu",
        "appr",
        "chast",
    }
)
"""Stems of words that end in -ise in every spelling (exercise, supervise, promise...)."""


def other_spelling(word: str) -> tuple[str, str] | None:
    """The other spelling of ``word`` (British <-> American) and the rule, if it has one:
    ``behaviour`` -> (``behavior``, ``-our/-or``); truncation is kept (``paediatric*``)."""
    lower = word.casefold().rstrip("*")
    star = word[len(word.rstrip("*")) :]
    if star and not lower.endswith("sis"):  # organis* misses organiz*
        cut = re.match(r"^(.{4,}?)(is|iz|ys|yz)$", lower)
        if cut and cut.group(1) not in _NOT_ISE:
            swap = {"is": "iz", "iz": "is", "ys": "yz", "yz": "ys"}[cut.group(2)]
            return cut.group(1) + swap + star, "-ise/-ize" if swap[0] == "i" else "-yse/-yze"
    for rule, pattern, replacement in _PAIRS:
        match = pattern.match(lower)
        if match and not (rule == "-ise/-ize" and match.group(1) in _NOT_ISE):
            return match.expand(replacement) + star, rule
    for american, british in _STEMS.items():
        for a, b in ((american, british), (british, american)):
            if lower.startswith(a):
                return b + lower[len(a) :] + star, "oe/e" if "oe" in british else "ae/e"
    return None


def spelling_variants(strategy: Strategy) -> list[str]:
    """Terms whose other spelling (British or American: behaviour/behavior, paediatric/
    pediatric, organisation/organization...) no term of the same block finds. Web of Science
    finds both spellings of an unquoted word by itself; the other platforms search what is
    written."""
    out: list[str] = []
    for block in strategy.blocks:
        for term in block.terms:
            for i, word in enumerate(term.words):
                other = other_spelling(word)
                if other is None:
                    continue
                words = list(term.words)
                words[i] = other[0]
                variant = Term(" ".join(words))
                if any(_covers(g, variant) for g in block.terms):
                    continue
                out.append(
                    f"block {block.name!r}: {term.text!r} has another spelling ({other[1]}), "
                    f"{variant.text!r}, that no term of the block finds: add it (Web of Science "
                    "alone finds both spellings of an unquoted word)"
                )
    return out


def _seeds(raw: Mapping[str, Any], path: str) -> tuple[str, ...]:
    from scoping.records import normalise_doi, normalise_pmid

    extra = sorted(set(raw) - {"dois", "pmids"})
    if extra:
        raise ConfigError(
            f"{path}: [seeds] has an unknown key {extra[0]!r}; list seed studies as dois and pmids"
        )
    out: list[str] = []
    for key, kind, normalise in (("dois", "doi", normalise_doi), ("pmids", "pmid", normalise_pmid)):
        values = raw.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str | int) for v in values):
            example = "10.1000/xyz" if kind == "doi" else "12345678"
            raise ConfigError(f'{path}: [seeds] {key} must be a list such as ["{example}"]')
        for value in values:
            norm = normalise(str(value))
            if norm is None or (kind == "pmid" and not str(value).strip().isdigit()):
                raise ConfigError(f"{path}: [seeds] {key}: {value!r} is not a {kind.upper()}")
            if f"{kind}:{norm}" not in out:
                out.append(f"{kind}:{norm}")
    return tuple(out)


def _prisma_s(raw: Mapping[str, Any], path: str) -> dict[str, str]:
    for key, value in raw.items():
        if key not in PRISMA_S_KEYS:
            raise ConfigError(
                f"{path}: [prisma_s] has an unknown key {key!r}; keys are " + ", ".join(PRISMA_S_KEYS)
            )
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f'{path}: [prisma_s] {key} must be text, e.g. {key} = "..."')
    return {k: " ".join(str(v).split()) for k, v in raw.items()}
