"""The bibliographic record and the normalisers every stage shares.

A :class:`Record` is one entry of one file (or one API page): the parsed, normalised fields plus
the original text it was parsed from (``raw``). Readers build records with :func:`make_record`,
which applies the normalisers below, so every format yields the same shapes:

- ``doi``: lower case, no resolver prefix (``https://doi.org/``, ``doi:``), no trailing punctuation
- ``pmid``: digits only
- ``authors``: a list of names, ``"Family, Given"`` where the input allows
- ``year``: an ``int`` between 1000 and 2999, or ``None``
- ``pages``: ``"123-129"`` (a compressed end page such as ``123-9`` expanded)
- ``keywords``: a list of strings without duplicates
- ``doc_type``: one vocabulary (:data:`DOC_TYPES`) for the names every database and format gives
  (``JOUR``, ``Article``, ``journal-article``, ``Journal Article`` -> ``journal article``);
  a type outside it (``Clinical Trial, Phase III``) is kept as given
- text (titles, abstracts, names, journals, keywords...): white space collapsed, HTML entities
  and inline markup gone, and mojibake repaired with ftfy (``OliÃ©`` -> ``Olié``: UTF-8 that
  was read as Latin-1 or Windows-1252 somewhere upstream); ``raw`` keeps what the file said
- ``issn``/``isbn``: an ISSN given as the ISBN (an ``isbn`` column of ISSNs) is the ISSN
- ``language``: the English name of the language (``eng``, ``en``, ``English`` -> ``English``);
  several are joined with ``"; "``; an unknown one is kept as given
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = [
    "DOC_TYPES",
    "FIELDS",
    "Record",
    "doc_type_label",
    "make_record",
    "normalise_authors",
    "normalise_doc_type",
    "normalise_doi",
    "normalise_keywords",
    "normalise_language",
    "normalise_pages",
    "normalise_pmid",
    "normalise_text",
    "normalise_title_key",
    "normalise_year",
    "repair_mojibake",
    "split_authors",
]


@dataclass(slots=True)
class Record:
    """One bibliographic record as read from a file or an API page."""

    title: str | None = None
    abstract: str | None = None
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    issn: str | None = None
    isbn: str | None = None
    publisher: str | None = None
    keywords: list[str] = field(default_factory=list)
    language: str | None = None
    doc_type: str | None = None
    url: str | None = None
    source_id: str | None = None
    """The record's identifier inside its source file: RIS ``ID``, PMID, WoS UT, CSV ``ID``..."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields kept but not normalised (labels from a CSV, accession numbers, notes...)."""
    raw: str = ""
    """The record's original text, exactly as it stood in the file."""
    line: int | None = None
    """First line of the record in its file (1-based), where the format has lines."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS: tuple[str, ...] = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "issn",
    "isbn",
    "publisher",
    "keywords",
    "language",
    "doc_type",
    "url",
    "source_id",
)
"""The parsed fields of a record, in display order."""

_EMPTY = frozenset({"nan", "none", "null", "n/a"})
# what UTF-8 read as Latin-1 or Windows-1252 looks like: a lead byte (Â..ô) then a continuation
# byte (U+0080..U+00BF, or the Windows-1252 characters in 0x80..0x9F); only text with such a
# pair goes to ftfy, which decides whether it is mojibake
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


def repair_mojibake(text: str) -> str:
    """``"OliÃ©"`` -> ``"Olié"``: text that was UTF-8 decoded as Latin-1/Windows-1252, repaired
    with ftfy (only the encoding is fixed: quotes, dashes and the rest stay as they are)."""
    if text.isascii() or _MOJIBAKE.search(text) is None:
        return text
    import ftfy  # loaded when first needed: 0.1 s that most commands never spend

    return ftfy.fix_encoding(text)


_TAGS = re.compile(r"</?(?:i|b|em|strong|sub|sup|u|sc|span|p|br|jats:[a-z]+|mml:[a-z]+)\b[^>]*>", re.I)


def normalise_text(value: object) -> str | None:
    """Collapse white space, unescape HTML entities, drop inline markup; ``None`` if empty."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value if v is not None)
    text = str(value)
    if not text.isascii():
        text = repair_mojibake(text)
    if "&" in text:
        text = html.unescape(text)
        if "&" in text and ";" in text:  # escaped twice at the source ("&amp;lt;"): once more
            text = html.unescape(text)
    if "<" in text:
        text = _TAGS.sub("", text)
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\xa0" in text:
        text = " ".join(text.split())
    text = text.strip()
    if not text or (len(text) <= 4 and text.lower() in _EMPTY):
        return None
    return text


def _clean(text: str) -> str | None:
    """:func:`normalise_text` for one string, with a fast path for already-clean text."""
    if not text.isascii():
        text = repair_mojibake(text)
    if (
        "<" in text
        or "&" in text
        or "  " in text
        or "\n" in text
        or "\t" in text
        or "\r" in text
        or "\xa0" in text
    ):
        return normalise_text(text)
    text = text.strip()
    if not text or (len(text) <= 4 and text.lower() in _EMPTY):
        return None
    return text


_DOI_PREFIX = re.compile(
    r"^(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*|https?://(?:www\.)?doi\.org/|\s*doi\s+)", re.I
)
_DOI_SHAPE = re.compile(r"10\.\d{3,9}/\S+")


def normalise_doi(value: object) -> str | None:
    """``"https://doi.org/10.1000/ABC."`` -> ``"10.1000/abc"``; ``None`` if no DOI is in it."""
    text = normalise_text(value)
    if text is None:
        return None
    text = _DOI_PREFIX.sub("", text.strip())
    if "%" in text:  # URL-escaped DOIs from some exports: %2F, %28, %29...
        text = unquote(text)
    match = _DOI_SHAPE.search(text)
    if match is None:
        return None
    doi = match.group(0).lower()
    while doi and doi[-1] in ".,;]}>\"')":
        if doi[-1] == ")" and doi.count("(") >= doi.count(")"):
            break  # a closing parenthesis that belongs to the DOI
        doi = doi[:-1]
    return doi


_DIGITS = re.compile(r"\d+")


def normalise_pmid(value: object) -> str | None:
    """``"PMID: 12345 [Indexed for MEDLINE]"`` -> ``"12345"``."""
    text = normalise_text(value)
    if text is None:
        return None
    if "pubmed" in text.lower() and "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    match = _DIGITS.search(text)
    if match is None:
        return None
    pmid = match.group(0).lstrip("0")
    return pmid or None


_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|2[0-9]{3})(?!\d)")


def normalise_year(value: object) -> int | None:
    """The first plausible four-digit year in ``value`` (``"2019/05/01"`` -> 2019)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1000 <= value <= 2999 else None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return normalise_year(int(value))
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


_PAGE_SPLIT = re.compile(r"\s*(?:-+|–|—|‐|‑|\u2212)\s*")
# "123 to 129": "to" separates pages only between two page numbers, not inside words
# ("A relational approach to rehabilitation" is text in a pages field, kept as it is)
_PAGES_TO = re.compile(r"([A-Za-z]{0,2}\d+[A-Za-z]?)\s+to\s+([A-Za-z]{0,2}\d+[A-Za-z]?)", re.I)
_NO_PAGES = re.compile(r"no\s*pagination\s*specified", re.I)


def normalise_pages(value: object, end: object = None) -> str | None:
    """``"123-9"`` -> ``"123-129"``; ``("e1", None)`` -> ``"e1"``; start/end may come apart;
    ``"No Pagination Specified"`` (Ovid, PsycINFO) is no pages."""
    start = normalise_text(value)
    stop = normalise_text(end)
    if start is not None and _NO_PAGES.fullmatch(start):
        start = stop = None
    if start is None and stop is None:
        return None
    if start is None:
        return stop
    if stop is None:
        parts = _PAGE_SPLIT.split(start, maxsplit=1)
        to = _PAGES_TO.fullmatch(start) if len(parts) == 1 and " to " in start.lower() else None
        if len(parts) == 2:
            start, stop = parts[0], parts[1]
        elif to is not None:
            start, stop = to.group(1), to.group(2)
        else:
            return start
    if not stop or stop == start:
        return start
    if start.isdigit() and stop.isdigit() and len(stop) < len(start):
        stop = start[: len(start) - len(stop)] + stop
    return f"{start}-{stop}"


_AUTHOR_SEP = re.compile(r"\s*;\s*|\s+and\s+(?=[A-Z])")


def split_authors(value: str) -> list[str]:
    """Split an author string that packs several names (``"A, B; C, D"`` or BibTeX ``and``)."""
    return [name for name in (_AUTHOR_SEP.split(value)) if name.strip()]


def normalise_authors(value: object) -> list[str]:
    """A list of cleaned author names from a list or a packed string."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[object] = split_authors(value)
    elif isinstance(value, Iterable):
        items = value
    else:
        return []
    names: list[str] = []
    for item in items:
        name = _clean(item) if isinstance(item, str) else normalise_text(item)
        if name is None:
            continue
        name = name.strip(" ,.;") if not name.endswith(".") else name.strip(" ,;")
        if name:
            names.append(name)
    return names


def normalise_keywords(value: object) -> list[str]:
    """Keywords as a list without duplicates (case-insensitive), order kept."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[object] = re.split(r"\s*;\s*|\s*\n\s*", value)
    elif isinstance(value, Iterable):
        items = value
    else:
        return []
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        kw = _clean(item) if isinstance(item, str) else normalise_text(item)
        if kw is None:
            continue
        key = kw.casefold()
        if key not in seen:
            seen.add(key)
            out.append(kw)
    return out


def normalise_title_key(title: str | None) -> str:
    """A comparison key for titles: accents folded, lower case, letters and digits only."""
    if not title:
        return ""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text.casefold()).strip()


def _first(value: object) -> object:
    if isinstance(value, (list, tuple)):
        for item in value:
            if item not in (None, ""):
                return item
        return None
    return value


def _scalar(value: object) -> str | None:
    """One cleaned string from a value that may be a string, a list (first item) or None."""
    if value is None:
        return None
    if type(value) is str:
        return _clean(value)
    return normalise_text(_first(value))


_DOC_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    # vocabulary term: the names RIS, BibTeX, PubMed, Web of Science, Scopus, EndNote,
    # OpenAlex and Crossref give it (compared case-folded, spaces and hyphens alike)
    "journal article": (
        "jour",
        "jfull",
        "ejour",
        "article",
        "journal article",
        "journal articles",
        "journal-article",
        "journal paper",
        "research article",
        "original article",
    ),
    "review": ("review", "review article", "systematic review", "literature review"),
    "book": ("book", "ebook", "edbook", "edited book", "whole book", "monograph"),
    "book chapter": (
        "chap",
        "echap",
        "book chapter",
        "book-chapter",
        "book section",
        "chapter",
        "inbook",
        "incollection",
        "book part",
        "book-part",
    ),
    "conference paper": (
        "conf",
        "cpaper",
        "conference paper",
        "conference proceeding",
        "conference proceedings",
        "proceedings paper",
        "proceedings article",
        "proceedings-article",
        "inproceedings",
        "conference",
    ),
    "conference abstract": ("abst", "meeting abstract", "conference abstract"),
    "proceedings": ("proceedings", "proceedings volume"),
    "thesis": ("thes", "thesis", "dissertation", "phdthesis", "mastersthesis"),
    "report": ("rprt", "report", "techreport", "technical report"),
    "preprint": ("preprint", "posted content", "posted-content"),
    "editorial": ("editorial", "editorial material"),
    "letter": ("letter",),
    "comment": ("comment",),
    "erratum": ("erratum", "correction", "published erratum"),
    "web page": ("elec", "web", "web page", "webpage", "online", "blog"),
    "dataset": ("data", "dataset"),
    "serial": ("ser", "serial", "periodical", "serial publication"),
    "newspaper article": ("news", "newspaper article", "newspaper"),
    "magazine article": ("mgzn", "magazine article", "magazine"),
    "government document": ("govdoc", "government document", "government publication"),
    "other": ("gen", "misc"),
}
DOC_TYPES: tuple[str, ...] = tuple(_DOC_TYPE_NAMES)
"""The document type vocabulary of :func:`normalise_doc_type`."""
_DOC_TYPE = {name: term for term, names in _DOC_TYPE_NAMES.items() for name in names}
_DOC_TYPE.update({term: term for term in DOC_TYPES})  # a stored term reads back as itself

_LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    # English name: ISO 639-1 and 639-2 (bibliographic and terminology) codes, and names
    "English": ("en", "eng", "english"),
    "French": ("fr", "fre", "fra", "french", "francais"),
    "German": ("de", "ger", "deu", "german", "deutsch"),
    "Spanish": ("es", "spa", "spanish", "espanol"),
    "Italian": ("it", "ita", "italian"),
    "Portuguese": ("pt", "por", "portuguese"),
    "Dutch": ("nl", "dut", "nld", "dutch"),
    "Chinese": ("zh", "chi", "zho", "chinese"),
    "Japanese": ("ja", "jpn", "japanese"),
    "Korean": ("ko", "kor", "korean"),
    "Russian": ("ru", "rus", "russian"),
    "Polish": ("pl", "pol", "polish"),
    "Swedish": ("sv", "swe", "swedish"),
    "Danish": ("da", "dan", "danish"),
    "Norwegian": ("no", "nor", "nob", "nno", "norwegian"),
    "Finnish": ("fi", "fin", "finnish"),
    "Turkish": ("tr", "tur", "turkish"),
    "Arabic": ("ar", "ara", "arabic"),
    "Hebrew": ("he", "heb", "hebrew"),
    "Czech": ("cs", "cze", "ces", "czech"),
    "Hungarian": ("hu", "hun", "hungarian"),
    "Greek": ("el", "gre", "ell", "greek"),
    "Persian": ("fa", "per", "fas", "persian"),
    "Croatian": ("hr", "hrv", "croatian"),
    "Serbian": ("sr", "srp", "serbian"),
    "Ukrainian": ("uk", "ukr", "ukrainian"),
    "Romanian": ("ro", "rum", "ron", "romanian"),
    "Slovak": ("sk", "slo", "slk", "slovak"),
    "Slovenian": ("sl", "slv", "slovenian", "slovene"),
    "Bulgarian": ("bg", "bul", "bulgarian"),
    "Lithuanian": ("lt", "lit", "lithuanian"),
    "Latvian": ("lv", "lav", "latvian"),
    "Estonian": ("et", "est", "estonian"),
    "Icelandic": ("is", "ice", "isl", "icelandic"),
    "Indonesian": ("id", "ind", "indonesian"),
    "Malay": ("ms", "may", "msa", "malay"),
    "Thai": ("th", "tha", "thai"),
    "Vietnamese": ("vi", "vie", "vietnamese"),
    "Hindi": ("hi", "hin", "hindi"),
    "Afrikaans": ("af", "afr", "afrikaans"),
    "Catalan": ("ca", "cat", "catalan"),
    "Welsh": ("cy", "wel", "cym", "welsh"),
    "Latin": ("la", "lat", "latin"),
}
_LANGUAGE = {name: term for term, names in _LANGUAGE_NAMES.items() for name in names}
_SPLIT_LANGUAGES = re.compile(r"\s*[;,/|]\s*|\s+and\s+")


@functools.lru_cache(maxsize=4096)
def _vocabulary_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(folded.replace("-", " ").replace("_", " ").split())


def normalise_doc_type(value: object) -> str | None:
    """The document type in :data:`DOC_TYPES` (``JOUR`` -> ``journal article``), or the cleaned
    value as given when it is not one of the names the vocabulary knows."""
    text = _scalar(value)
    if text is None:
        return None
    key = _vocabulary_key(text)
    return _DOC_TYPE.get(key) or _DOC_TYPE.get(key.replace(" ", "-")) or text


def doc_type_label(value: object) -> str | None:
    """A document type as a reader sees it, from any name a database gives it: the term of
    :data:`DOC_TYPES` with a capital (``ser`` -> "Serial", ``CHAP`` -> "Book chapter",
    ``inproceedings`` -> "Conference paper"); a type outside the vocabulary as given, with a
    capital ("Clinical Trial, Phase III"). Every place that shows a document type uses this."""
    text = normalise_doc_type(value)
    if text is None:
        return None
    return text[:1].upper() + text[1:]


def normalise_language(value: object) -> str | None:
    """The English name of the language (``eng`` -> ``English``); several joined by ``"; "``;
    a language the table does not know is kept as given."""
    text = _scalar(value)
    if text is None:
        return None
    parts = [p for p in _SPLIT_LANGUAGES.split(text) if p.strip()]
    names: list[str] = []
    for part in parts or [text]:
        name = _LANGUAGE.get(_vocabulary_key(part), part.strip())
        if name not in names:
            names.append(name)
    return "; ".join(names)


_KNOWN = frozenset(FIELDS) | {"start_page", "end_page"}
_PLAIN = (
    "journal",
    "volume",
    "issue",
    "issn",
    "isbn",
    "publisher",
    "language",
    "doc_type",
    "url",
    "source_id",
)


def make_record(
    fields: Mapping[str, object],
    *,
    raw: str = "",
    line: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Record:
    """Build a normalised :class:`Record` from loosely typed fields (any reader's output).

    ``fields`` uses the names of :data:`FIELDS`; ``pages`` may be given as ``start_page`` and
    ``end_page``. Unknown keys go into ``extra``.
    """
    extras: dict[str, Any] = dict(extra) if extra else {}
    for key, value in fields.items():
        if key not in _KNOWN and value is not None and value != "" and value != []:
            extras[key] = value
    get = fields.get
    pages = get("pages")
    if pages is None and (get("start_page") or get("end_page")):
        pages_norm = normalise_pages(_first(get("start_page")), _first(get("end_page")))
    else:
        pages_norm = normalise_pages(_first(pages))
    title = get("title")
    abstract = get("abstract")
    record = Record(
        title=_clean(title) if type(title) is str else normalise_text(title),
        abstract=_clean(abstract) if type(abstract) is str else normalise_text(abstract),
        authors=normalise_authors(get("authors")),
        year=normalise_year(_first(get("year"))),
        pages=pages_norm,
        doi=normalise_doi(_first(get("doi"))),
        pmid=normalise_pmid(_first(get("pmid"))),
        keywords=normalise_keywords(get("keywords")),
        extra=extras,
        raw=raw,
        line=line,
    )
    for name in _PLAIN:
        value = get(name)
        if value is not None:
            setattr(record, name, _scalar(value))
    if record.isbn is not None and _is_issn(record.isbn):  # an ISSN in an ISBN field
        record.issn = record.isbn if record.issn is None else f"{record.issn}; {record.isbn}"
        record.isbn = None
    if record.doc_type is not None:
        record.doc_type = normalise_doc_type(record.doc_type)
    if record.language is not None:
        record.language = normalise_language(record.language)
    return record


_ISSN = re.compile(r"\s*\d{4}-?\d{3}[\dXx]\s*")
_ISXN_FIRST = re.compile(r"[;,(\s]")


def _is_issn(value: str) -> bool:
    """Whether the (first) number in ``value`` has the eight characters of an ISSN."""
    first = _ISXN_FIRST.split(value.strip(), maxsplit=1)[0]
    return _ISSN.fullmatch(first) is not None
