"""What each search platform is and which limits it can apply.

A *platform* is where a database is searched: an API (PubMed's E-utilities, Europe PMC,
OpenAlex, Crossref) that ``scoping search run`` talks to, or a vendor interface (Ovid, Web of
Science, EBSCOhost, Scopus) for which ``scoping search plan`` writes copy-paste syntax. A
review's databases each name their platform in ``strategy.toml`` (``PsycINFO = "ovid"``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "API_PLATFORMS",
    "DOCUMENT_TYPES",
    "ENTRY_DATE_FIELDS",
    "LANGUAGES",
    "PLATFORMS",
    "Language",
    "Platform",
    "platform_for",
]


@dataclass(frozen=True, slots=True)
class Platform:
    """A place where databases are searched."""

    key: str
    label: str
    api: bool
    """``True``: ``scoping search run`` retrieves the records; ``False``: search by hand and
    import the export."""
    default_database: str
    """The database name used when the platform is asked for but the strategy does not list it."""


PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform("pubmed", "PubMed (NCBI E-utilities)", True, "PubMed"),
        Platform("europepmc", "Europe PMC (REST API)", True, "Europe PMC"),
        Platform("openalex", "OpenAlex (API)", True, "OpenAlex"),
        Platform("crossref", "Crossref (REST API)", True, "Crossref"),
        Platform("ovid", "Ovid", False, "Ovid"),
        Platform("wos", "Web of Science", False, "Web of Science"),
        Platform("ebsco", "EBSCOhost", False, "EBSCOhost"),
        Platform("scopus", "Scopus", False, "Scopus"),
    )
}
"""Every platform, in the order plans list them."""

API_PLATFORMS: tuple[str, ...] = tuple(k for k, p in PLATFORMS.items() if p.api)

_ALIASES = {
    "ncbi": "pubmed",
    "entrez": "pubmed",
    "europe pmc": "europepmc",
    "epmc": "europepmc",
    "web of science": "wos",
    "webofscience": "wos",
    "ebscohost": "ebsco",
}


def platform_for(name: str) -> str | None:
    """The platform key for ``name`` (a key or a common spelling of one), else ``None``."""
    key = " ".join(name.strip().lower().split())
    if key in PLATFORMS:
        return key
    return _ALIASES.get(key)


@dataclass(frozen=True, slots=True)
class Language:
    """A language as each platform names it."""

    name: str
    pubmed: str
    """PubMed's ``[la]`` value (and Ovid's ``... language`` limit, Web of Science's ``LA=``)."""
    iso3: str
    """ISO 639-2 code (Europe PMC ``LANG:``)."""
    iso2: str
    """ISO 639-1 code (OpenAlex ``language:``)."""


LANGUAGES: dict[str, Language] = {
    lang.name.lower(): lang
    for lang in (
        Language("English", "english", "eng", "en"),
        Language("French", "french", "fre", "fr"),
        Language("German", "german", "ger", "de"),
        Language("Spanish", "spanish", "spa", "es"),
        Language("Italian", "italian", "ita", "it"),
        Language("Portuguese", "portuguese", "por", "pt"),
        Language("Dutch", "dutch", "dut", "nl"),
        Language("Swedish", "swedish", "swe", "sv"),
        Language("Norwegian", "norwegian", "nor", "no"),
        Language("Danish", "danish", "dan", "da"),
        Language("Finnish", "finnish", "fin", "fi"),
        Language("Polish", "polish", "pol", "pl"),
        Language("Russian", "russian", "rus", "ru"),
        Language("Chinese", "chinese", "chi", "zh"),
        Language("Japanese", "japanese", "jpn", "ja"),
        Language("Korean", "korean", "kor", "ko"),
        Language("Arabic", "arabic", "ara", "ar"),
        Language("Turkish", "turkish", "tur", "tr"),
        Language("Greek", "greek", "gre", "el"),
        Language("Hebrew", "hebrew", "heb", "he"),
    )
}
"""Languages a strategy can limit to, by lower-case English name."""


DOCUMENT_TYPES: dict[str, dict[str, str | None]] = {
    # type: platform -> how the platform writes it (None: the platform cannot limit to it)
    "article": {
        "pubmed": "journal article[pt]",
        "europepmc": 'PUB_TYPE:"journal article"',
        "openalex": "article",
        "crossref": "journal-article",
        "wos": "Article",
        "scopus": "ar",
        "ovid": "journal article",
        "ebsco": "Journal Article",
    },
    "review": {
        "pubmed": "review[pt]",
        "europepmc": 'PUB_TYPE:"review"',
        "openalex": "review",
        "crossref": None,
        "wos": "Review",
        "scopus": "re",
        "ovid": "review",
        "ebsco": "Review",
    },
    "book": {
        "pubmed": None,
        "europepmc": None,
        "openalex": "book",
        "crossref": "book",
        "wos": "Book",
        "scopus": "bk",
        "ovid": "book",
        "ebsco": "Book",
    },
    "chapter": {
        "pubmed": None,
        "europepmc": None,
        "openalex": "book-chapter",
        "crossref": "book-chapter",
        "wos": "Book Chapter",
        "scopus": "ch",
        "ovid": "chapter",
        "ebsco": "Book Chapter",
    },
    "conference-paper": {
        "pubmed": "congress[pt]",
        "europepmc": None,
        "openalex": None,
        "crossref": "proceedings-article",
        "wos": "Proceedings Paper",
        "scopus": "cp",
        "ovid": "conference",
        "ebsco": "Conference",
    },
    "preprint": {
        "pubmed": "preprint[pt]",
        "europepmc": "SRC:PPR",
        "openalex": "preprint",
        "crossref": "posted-content",
        "wos": None,
        "scopus": None,
        "ovid": None,
        "ebsco": None,
    },
    "editorial": {
        "pubmed": "editorial[pt]",
        "europepmc": 'PUB_TYPE:"editorial"',
        "openalex": "editorial",
        "crossref": None,
        "wos": "Editorial Material",
        "scopus": "ed",
        "ovid": "editorial",
        "ebsco": "Editorial",
    },
    "letter": {
        "pubmed": "letter[pt]",
        "europepmc": 'PUB_TYPE:"letter"',
        "openalex": "letter",
        "crossref": None,
        "wos": "Letter",
        "scopus": "le",
        "ovid": "letter",
        "ebsco": "Letter",
    },
}
"""Document types a strategy can limit to, and each platform's name for them."""


def unsupported_limits(
    platform: str, languages: tuple[str, ...], document_types: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The limits ``platform`` cannot apply, as ``(limit name, reason)`` pairs."""
    problems: list[tuple[str, str]] = []
    if languages and platform == "crossref":
        problems.append(("languages", "Crossref's API has no language filter"))
    missing = [t for t in document_types if DOCUMENT_TYPES[t].get(platform) is None]
    if missing:
        label = PLATFORMS[platform].label
        problems.append(("document_types", f"{label} cannot limit to {', '.join(missing)}"))
    return problems


ENTRY_DATE_FIELDS: dict[str, str] = {
    "pubmed": "[edat] (Entrez date: when PubMed added the record)",
    "europepmc": "FIRST_IDATE (first index date: when Europe PMC first indexed the record)",
    "openalex": "from_created_date (when OpenAlex created the work)",
    "crossref": "from-created-date (when the DOI's metadata was first deposited)",
}
"""The date each API database searches by in an update search: when a record entered the
database, never when it was published (a record published years ago can be added today)."""
