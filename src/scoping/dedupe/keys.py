"""What de-duplication compares: a record's fields reduced to matching keys.

:class:`MatchRow` is the plain input of the stage (one stored record: its id, source and the
fields that identify a publication). :func:`prepare` turns it into a :class:`Keys` object whose
fields are already normalised for comparison, so that each field is cleaned once per record
and never once per pair:

- titles: HTML and markup gone, accents folded, Greek letters spelled out, case and punctuation
  dropped, non-Latin letters kept; a title in square brackets (MEDLINE's translated titles,
  or an original-language title after the English one) is kept as a second title
- authors: ``(family, given names)`` per author, whatever the layout (``Family, G.``,
  ``G. Family``, ``Family G``, several authors run together as ``Hirata T.Fukuse T.``)
- journal: words without stop words, so abbreviations can be compared word by word
- volume, issue, pages: the numbers that identify a place in a journal
- DOI, PMID: as normalised by :mod:`scoping.records`; preprint servers' DOIs are flagged
- title markers: erratum, retraction, reply, comment, protocol, "part N"; and the numbers
  standing as words in the title (a "2" in "Trial 2" tells two reports apart); a correction
  indexed under the corrected article's title with that article's citation at the end (Web of
  Science "... (vol 142, pg 310, 2003)", Embase "... (N Engl J Med (2009) 360 (542-544))") is
  marked as an erratum and the citation dropped from its title
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote

from scoping.records import Record

__all__ = ["Author", "Keys", "MatchRow", "mark_doi_fit", "prepare", "title_words"]

MAX_AUTHORS = 40
"""Authors compared per record; the rest of a consortium list adds nothing but time."""


@dataclass(slots=True)
class MatchRow:
    """One record as de-duplication sees it: its id, its source and its identifying fields."""

    id: int
    source: str = ""
    source_id: str | None = None
    title: str | None = None
    authors: Sequence[str] = ()
    year: int | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    isbn: str | None = None
    doc_type: str | None = None
    abstract: str | None = None
    """The start of the abstract (a few hundred characters are enough to compare)."""

    @classmethod
    def from_record(cls, id: int, record: Record, source: str = "") -> MatchRow:
        return cls(
            id=id,
            source=source,
            source_id=record.source_id,
            title=record.title,
            authors=record.authors,
            year=record.year,
            journal=record.journal,
            volume=record.volume,
            issue=record.issue,
            pages=record.pages,
            doi=record.doi,
            pmid=record.pmid,
            isbn=record.isbn,
            doc_type=record.doc_type,
            abstract=(record.abstract or "")[:400] or None,
        )


@dataclass(slots=True, frozen=True)
class Author:
    family: str
    given: tuple[str, ...]
    """Given names spelled out (two letters or more); initials are dropped."""
    initials: str
    parts: tuple[str, ...] = ()
    """The words of a family name of several words ("andres", "gamboa")."""


@dataclass(slots=True)
class Keys:
    """The matching keys of one record (see the module docstring)."""

    index: int
    title: str = ""
    alt_title: str = ""
    """A second title: the part in square brackets, or the title without it."""
    title_words: int = 0
    numbers: frozenset[str] = frozenset()
    markers: frozenset[str] = frozenset()
    generic: bool = False
    """A title many items share ("Editorial", "Editor's comments"): never evidence on its own."""
    authors: tuple[Author, ...] = ()
    n_authors: int = 0
    year: int | None = None
    journal: tuple[str, ...] = ()
    journal_key: str = ""
    journal_alts: tuple[str, ...] = ()
    journal_numbers: frozenset[str] = frozenset()
    """Ordinals and years in the journal name ("23rd congress", "2017 proceedings")."""
    """Other forms of the journal name: with its subtitle, a bracketed translation."""
    volume: str = ""
    issue: str = ""
    supplement: str = ""
    first_page: str = ""
    last_page: str = ""
    doi: str = ""
    doi_preprint: bool = False
    doi_fit: bool | None = None
    """Whether the DOI's prefix fits the journal (see :func:`mark_doi_fit`); ``None``: unknown."""
    pmid: str = ""
    abstract: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def first_author(self) -> str:
        return self.authors[0].family if self.authors else ""


# -- text --------------------------------------------------------------------------------------

_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
_GREEK_RE = re.compile("[" + "".join(_GREEK) + "]")
_TAG = re.compile(r"<[^<>]{1,80}>")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.I)
_NON_WORD = re.compile(r"[\W_]+")
_FOLD_EXTRA = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


_MOJIBAKE = re.compile("[\u00c2\u00c3\u00c5][\u0080-\u00bf]|\u00e2\u20ac|\u00c3[\u0080-\u00ff]")
"""UTF-8 read as Latin-1 or cp1252: "OliÃ©" for "Olié", "â€™" for a quote."""

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяієїґ",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
            "i",
            "e",
            "i",
            "g",
        ],
        strict=True,
    )
)
_CYRILLIC_RE = re.compile("[" + "".join(_CYRILLIC) + "]")


def repair(text: str) -> str:
    """Mojibake repaired (ftfy), only for text that shows its marks, so clean text costs nothing."""
    if text.isascii() or _MOJIBAKE.search(text) is None:
        return text
    import ftfy

    return ftfy.fix_text(text, normalization="NFC")


def fold(text: str) -> str:
    """Lower case, mojibake repaired, accents dropped, Greek letters spelled out, Cyrillic
    transliterated, only letters/digits and spaces."""
    if "<" in text:
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = repair(text)
    text = text.casefold()
    if not text.isascii():
        text = transliterate(text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def transliterate(text: str) -> str:
    """Lower-case text in Latin letters where it can be: Greek letters spelled out, Cyrillic
    transliterated, accents dropped (NFKD), ligatures and a few letters spelled out; other
    scripts (Chinese, Japanese, Korean...) are kept as they are."""
    text = _GREEK_RE.sub(lambda m: " " + _GREEK[m.group(0)] + " ", text)
    if _CYRILLIC_RE.search(text):
        text = _CYRILLIC_RE.sub(lambda m: _CYRILLIC[m.group(0)], text)
    text = text.translate(_FOLD_EXTRA)
    text = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))


# -- titles ------------------------------------------------------------------------------------

_BRACKET_END = re.compile(r"^(?P<main>.*?)\s*\[(?P<alt>[^\[\]]{8,})\]\s*[.;:]?\s*$", re.S)
_BRACKET_ALL = re.compile(r"^\s*\[(?P<alt>[^\[\]]+)\]\s*[.;:]?\s*$", re.S)
_NOISE = re.compile(
    r"\s*[\[(](?:review|editorial|letter|abstract|comment|article in [a-z]+|in [a-z]+|"
    r"[a-z]+ version|author'?s? transl[^\])]*|\d+ refs?|structured abstract)[\])]\.?",
    re.I,
)
_SYMBOLS = (
    ("> or =", " ge "),
    ("< or =", " le "),
    (">=", " ge "),
    ("<=", " le "),
    ("≥", " ge "),
    ("≤", " le "),
    ("&", " and "),
    ("+/-", " pm "),
    ("±", " pm "),
)
_SECTION_TAIL = re.compile(r"\s*[-:]?\s*\[[^\[\]\s]+(?:\s[^\[\]\s]+)?\]\s*\.?\s*$")
_THOUSANDS = re.compile(r"(?<=\d)[ ,\u00a0\u2009](?=\d{3}\b)")
_ANNOTATION = re.compile(
    r"\s*[.;]?\s*\[(?:erratum|comment|retraction|retracted|summary for patients|update|"
    r"expression of concern|corrected and republished|republished|reprint|see comments?)\b.*$",
    re.I | re.S,
)
_LANGUAGE_TAIL = re.compile(
    r"\.\s+(?:chinese|english|french|german|italian|japanese|korean|polish|portuguese|russian|"
    r"spanish|turkish|dutch|czech|hungarian|norwegian|swedish|danish|finnish|hebrew|greek|"
    r"persian|croatian|serbian|slovak|slovenian|romanian|bulgarian|ukrainian|lithuanian)\b.*$",
    re.I | re.S,
)
# a correction indexed under the corrected article's title, with that article's citation:
# Web of Science "Title (vol 142, pg 310, 2003)", Embase "Title (Journal (2009) 360 (542-544))"
_WOS_CORRECTION = re.compile(
    r"\s*\(vol\.?\s*\d+[a-z]?\s*,\s*(?:pg|pp?)\.?\s*[a-z]?\d+[^()]*\)\s*\.?\s*$", re.I
)
_EMBASE_CORRECTION = re.compile(
    r"\s*\((?:the\s+)?[A-Z][^()]{2,150}\(\s*(?:[A-Za-z]+\.?\s+)?(?:\d{1,2}\s+)?(?:19|20)\d{2}\s*\)"
    r"\s*[\w.]*\s*(?:\(\s*[\w.\s/\u2013-]*\d[\w.\s/\u2013-]*\)\s*,?\s*)+\)\s*\.?\s*$"
)
_CUT_CITATION = re.compile(r"\s*\([A-Z][^()]{2,150}\([^()]{0,12}$")
"""The same citation cut off by a database's title length limit ("... (The Journal of Pediatrics (M")."""
_LANGUAGE_BRACKET = re.compile(r"\s*\[[A-Z][a-z]+(?: [a-z]+)?\]\s*\.?\s*$")
_TWO_TITLES = re.compile(r"\s(?:=|;)\s")
_NUMBER = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")
_ROMAN = {
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "v": "5",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "x": "10",
}
_PART = re.compile(r"\b(?:part|pt|teil|partie|parte)\s*\.?\s*([0-9]+|[ivx]+|one|two|three|four)\b")
_WORD_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4"}

_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "erratum",
        re.compile(
            r"^(?:erratum|errata|corrigendum|correction|corrections|"
            r"author correction|publisher correction|publisher s note)\b"
            r"|\b(?:erratum|corrigendum)\b"
        ),
    ),
    (
        "retraction",
        re.compile(
            r"^(?:retraction|retracted|notice of retraction|withdrawn|"
            r"expression of concern)\b"
        ),
    ),
    (
        "reply",
        re.compile(
            r"^(?:reply|response|in reply|author s reply|authors reply|"
            r"the authors reply|rebuttal|authors response)\b|"
            r"\b(?:reply|response|authors reply|author s reply|rejoinder)$"
        ),
    ),
    (
        "comment",
        re.compile(
            r"^(?:comment|commentary|comments|re|letter|letters)\b|"
            r"\b(?:comment on|commentary on|letter to the editor)\b|"
            r"\b(?:a comment|commentary)$"
        ),
    ),
    ("protocol", re.compile(r"\b(?:study protocol|trial protocol|protocol for|a protocol)\b")),
    ("abstracts", re.compile(r"^(?:abstracts|proceedings|poster|posters|oral presentations)\b")),
)


_GENERIC = re.compile(
    r"^(?:editorial|editorials|guest editorial|editor s (?:comments?|notes?|introduction|corner|page)|"
    r"editorial (?:introduction|comment|note|board)|introduction|preface|foreword|in this issue|"
    r"this issue|book reviews?|news|correspondence|letters? to the editor|highlights?|"
    r"announcements?|obituary|contents|table of contents|index|reviewers|acknowledgments?|"
    r"from the editors?|message from the editors?|issue information|front matter|back matter|"
    r"editors? comments|remarks from .{0,40}editor.*|.{0,40} editor s comments)$"
)


_MARKER_NEEDLES: dict[str, tuple[str, ...]] = {
    "erratum": ("errat", "corrig", "correction", "publisher s note"),
    "retraction": ("retract", "withdrawn", "expression of concern"),
    "reply": ("repl", "respons", "rebuttal", "rejoinder"),
    "comment": ("comment", "letter"),  # and a title that starts with "re"
    "protocol": ("protocol",),
    "abstracts": ("abstracts", "proceedings", "poster", "oral presentations"),
}
"""Text each marker's pattern needs (a title without any of it cannot match: the pattern is skipped)."""


def _title_markers(key: str) -> frozenset[str]:
    found: set[str] = set()
    for name, pattern in _MARKERS:
        for needle in _MARKER_NEEDLES[name]:
            if needle in key:
                break
        else:  # no text the pattern needs
            if not (name == "comment" and key.startswith("re")):
                continue
        if pattern.search(key):
            found.add(name)
    if "part" not in key and "pt" not in key and "teil" not in key:  # what _PART needs
        return frozenset(found)
    for match in _PART.finditer(key):
        value = match.group(1)
        value = _ROMAN.get(value, _WORD_NUMBERS.get(value, value))
        found.add(f"part {value}")
    return frozenset(found)


def title_words(title: str | None) -> list[str]:
    """The folded words of a title (what blocking keys are made of)."""
    return fold(title).split() if title else []


_UNSPACED = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
    r"\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]"
)
"""Scripts written without spaces between words: Chinese, Japanese kana, Thai, Lao, Burmese,
Khmer. (Korean puts spaces between words.)"""


def _word_count(key: str) -> int:
    """Words in a folded title; in scripts without spaces, two characters count as a word
    (a Chinese word is one to three characters), so a long Chinese title is not "one word"."""
    if not key:
        return 0
    spaced = key.count(" ") + 1
    unspaced = len(_UNSPACED.findall(key))
    return max(spaced, spaced - 1 + unspaced // 2) if unspaced else spaced


def _clean_title(title: str) -> tuple[str, bool]:
    """The title without annotations, notes and a correction's citation; and whether such a
    citation marked it as a correction."""
    text = html.unescape(title) if "&" in title else title
    # each pattern below needs a bracket, a parenthesis or a full stop: a title without one
    # (most titles) skips it, which changes nothing but the time
    square, paren = "[" in text, "(" in text
    if square:
        text = _ANNOTATION.sub("", text) or text
    correction = False
    if paren:
        for pattern in (_WOS_CORRECTION, _EMBASE_CORRECTION):
            cut = pattern.sub("", text)
            if cut != text and cut.count(" ") >= 2:
                text, correction = cut, True
                break
        else:
            cut = _CUT_CITATION.sub("", text)
            if cut != text and cut.count(" ") >= 2 and "erratum" in _title_markers(fold(cut)):
                text = cut
    if square or paren:
        text = _NOISE.sub("", text) or text
    if square:
        text = _SECTION_TAIL.sub("", text) or text
        text = _LANGUAGE_BRACKET.sub("", text) or text
    if _DIGIT.search(text) is not None:
        text = _THOUSANDS.sub("", text)
    for symbol, word in _SYMBOLS:
        if symbol in text:
            text = text.replace(symbol, word)
    if "." in text:
        text = _LANGUAGE_TAIL.sub("", text) or text
    return text, correction


def _prepare_title(keys: Keys, title: str | None) -> None:
    if not title:
        return
    text, correction = _clean_title(title)
    main, alt = text, ""
    whole = _BRACKET_ALL.match(text) if "[" in text else None
    if whole is not None:  # the whole title is a translation in brackets
        main = whole.group("alt")
    else:
        end = _BRACKET_END.match(text) if "[" in text else None
        if end is not None and len(end.group("main")) >= 8:
            main, alt = end.group("main"), end.group("alt")
        else:
            parts = _TWO_TITLES.split(text, maxsplit=1)
            if len(parts) == 2 and parts[0].count(" ") >= 3 and parts[1].count(" ") >= 3:
                main, alt = parts
    key = fold(main)
    keys.title = key
    keys.alt_title = fold(alt) if alt else ""
    keys.title_words = _word_count(key)
    keys.numbers = frozenset(_NUMBER.findall(key))
    keys.markers = _title_markers(key) | ({"erratum"} if correction else set())
    keys.generic = keys.title_words <= 1 or bool(_GENERIC.match(key))


# -- authors -----------------------------------------------------------------------------------

_PACKED = re.compile(r"(?<=[A-Z]\.)(?=[A-Z](?:[a-z\u00C0-\u024F]|'[A-Z]))")
_PACKED_HINT = re.compile(r"[a-z] (?:[A-Z]\. ?)+[A-Z](?:[a-z]|'[A-Z])")
_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")
_NULL_NAME = re.compile(r"(?:,\s*|\b)(?:null|none|nan)\b", re.I)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "md", "phd"})
_PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "du",
        "la",
        "le",
        "dos",
        "das",
        "ter",
        "ten",
        "bin",
        "al",
        "el",
        "st",
    }
)


def _split_packed(names: Sequence[str]) -> list[str]:
    """``["Hirata T.Fukuse T."]`` -> ``["Hirata T.", "Fukuse T."]`` (a format some exports use)."""
    out: list[str] = []
    for name in names:
        if "," not in name and _PACKED_HINT.search(name):
            out.extend(part.strip() for part in _PACKED.split(name) if part.strip())
        else:
            out.append(name)
    return out


@lru_cache(maxsize=100_000)
def _given(token: str) -> tuple[str, ...]:
    """Folded given names of one token; a run of capitals ("JA", "J.-A.") is initials.
    (Remembered per token: a run has many names, but few distinct given names and initials.)"""
    letters = token.replace(".", "").replace("-", "")
    if 1 < len(letters) <= 3 and letters.isalpha() and letters.isupper():
        return tuple(ch.lower() for ch in letters)
    return tuple(fold(token).split())


_fold_name = lru_cache(maxsize=200_000)(fold)
""":func:`fold` remembered for family names (a run has far fewer surnames than author names)."""


@lru_cache(maxsize=200_000)
def parse_author(name: str) -> Author | None:
    """``"Family, Given"``, ``"Given Family"``, ``"Family GH"`` -> :class:`Author`."""
    text = _NULL_NAME.sub("", name).strip(" ,")
    if not text:
        return None
    if "," in text:
        family_text, _, given_text = text.partition(",")
        family_words = _fold_name(family_text).split()
        given_raw = given_text.replace(".", ". ").split()
    else:
        raw = text.replace(".", ". ").split()
        if not raw:
            return None
        # "Smith JA", "Van Wylen D. G." (initials last) or "John A. Smith" (family last)
        cut = len(raw)
        while cut > 1 and _INITIALS.match(raw[cut - 1]):
            cut -= 1
        if cut < len(raw):
            family_words, given_raw = _fold_name(" ".join(raw[:cut])).split(), raw[cut:]
        elif len(raw) >= 2:
            family_words, given_raw = _fold_name(raw[-1]).split(), raw[:-1]
            # keep particles with the family name: "Ludwig van Beethoven"
            while given_raw and given_raw[-1].casefold() in _PARTICLES:
                family_words = [given_raw.pop().casefold(), *family_words]
        else:
            family_words, given_raw = _fold_name(raw[0]).split(), []
    family_words = [w for w in family_words if w not in _SUFFIXES]
    if not family_words:
        return None
    family = "".join(w for w in family_words if w not in _PARTICLES) or "".join(family_words)
    parts = tuple(w for w in family_words if w not in _PARTICLES and len(w) >= 3)
    given_words = [w for g in given_raw for w in _given(g) if w not in _SUFFIXES]
    given = tuple(w for w in given_words if len(w) >= 2)
    initials = "".join(w[0] for w in given_words if w)
    if not initials and given_raw and _INITIALS.match(given_raw[0]):
        initials = "".join(ch for ch in given_raw[0].lower() if ch.isalpha())
    return Author(family=family, given=given, initials=initials, parts=parts if len(parts) > 1 else ())


# -- journals ----------------------------------------------------------------------------------

_JOURNAL_STOP = frozenset(
    {
        "the",
        "of",
        "and",
        "in",
        "for",
        "on",
        "de",
        "la",
        "le",
        "der",
        "und",
        "du",
        "des",
        "et",
        "a",
        "an",
        "y",
        "electronic",
        "resource",
    }
)
_JOURNAL_CONFERENCE = re.compile(r"[.:;,]?\s*(?:conference|congress|meeting|symposium)\s*:.*$", re.I | re.S)
_JOURNAL_BRACKETS = re.compile(r"\[([^\]]*)\]")
_JOURNAL_PARENS = re.compile(r"\([^)]*\)")
_JOURNAL_SUBTITLE = re.compile(r"\s*(?::|\s/\s|\s=\s|\.\s)\s*")
_JOURNAL_SECTION = re.compile(r"\s+-\s+|\.\s+")


_JOURNAL_NOISE_WORD = re.compile(r"^(?:\d+(?:st|nd|rd|th)?|vols?|annual|proceedings|proc)$")


def _journal_words(text: str) -> tuple[str, ...]:
    """Journal or conference name words, without stop words, ordinals, years and "proceedings"."""
    words = tuple(w for w in fold(text).split() if w not in _JOURNAL_STOP)
    kept = tuple(w for w in words if not _JOURNAL_NOISE_WORD.match(w))
    return kept or words


def _prepare_journal(keys: Keys, journal: str | None) -> None:
    if not journal:
        return
    keys.journal, keys.journal_key, keys.journal_numbers, keys.journal_alts = _journal_fields(journal)


@lru_cache(maxsize=50_000)
def _journal_fields(journal: str) -> tuple[tuple[str, ...], str, frozenset[str], tuple[str, ...]]:
    """The journal's words, key, numbers and other forms (:class:`Keys`), worked out once per
    journal name: a run names a few thousand journals for up to a million records."""
    text = _JOURNAL_CONFERENCE.sub("", journal) or journal
    alts = [_journal_words(m) for m in _JOURNAL_BRACKETS.findall(text)]
    conference = _JOURNAL_CONFERENCE.search(journal)
    if conference is not None and text != journal:  # "Journal.Conference: 23rd Congress of ..."
        alts.append(_journal_words(conference.group(0).split(":", 1)[1]))
    text = _JOURNAL_BRACKETS.sub(" ", text)
    text = _JOURNAL_PARENS.sub(" ", text).strip(" .\"'") or text
    main = _JOURNAL_SUBTITLE.split(text, maxsplit=1)[0]
    words = _journal_words(main) or _journal_words(text)
    key = " ".join(words)
    numbers = frozenset(w for w in fold(journal).split() if w[:1].isdigit())
    full = _journal_words(text)
    section = _journal_words(_JOURNAL_SECTION.split(text, maxsplit=1)[0])
    variants = {" ".join(v) for v in (full, section, *alts) if v}
    variants.discard(key)
    return words, key, numbers, tuple(sorted(variants))


# -- numbers -----------------------------------------------------------------------------------

_LEADING_NUMBER = re.compile(r"\d+")


_NOT_AN_ISSUE = re.compile(r"sup|spec|pt|part|[a-z]\d|\d[a-z]", re.I)


def _issue(value: str | None) -> str:
    """A plain issue number (supplements, parts and odd values give ``""``: not compared)."""
    if not value or _NOT_AN_ISSUE.search(value):
        return ""
    number = _number(value)
    return number if number and int(number) <= 60 else ""


_NOT_A_VOLUME = re.compile(r"^\W*(?:sup|spec|\d+\))", re.I)


_SUPPLEMENT = re.compile(r"\bsup(?:p|pl|plement)?\b\W*(\d+)|\bs(\d+)\b", re.I)


def _supplement(value: str | None) -> str:
    """The supplement number in an issue or volume ("Suppl. 2", "S2") or ``""``."""
    if not value:
        return ""
    match = _SUPPLEMENT.search(value)
    if match is None:
        return ""
    return (match.group(1) or match.group(2)).lstrip("0")


def _volume(value: str | None) -> str:
    """The volume number; a stray supplement fragment ("1)", "Suppl 2") gives ``""``."""
    if not value or _NOT_A_VOLUME.match(value.strip()):
        return ""
    return _number(value)


def _number(value: str | None) -> str:
    if not value:
        return ""
    match = _LEADING_NUMBER.search(value)
    if match is None:
        return ""
    return match.group(0).lstrip("0") or "0"


_MONTHS = {
    m: str(i)
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_EXCEL_DAY_MONTH = re.compile(r"^(\d{1,2})-([a-z]{3})$")  # "11-7" (11-17) shown by Excel as "11-Jul"
_EXCEL_MONTH_YEAR = re.compile(r"^([a-z]{3})-(\d{2})$")  # "11-17" shown as "Nov-17"
_FIRST_PAGE = re.compile(r"([a-z]*)-?(\d+)")
_ROMAN_PAGE = re.compile(r"^[ivxlc]+$")


def _excel_pages(text: str) -> str:
    match = _EXCEL_DAY_MONTH.match(text)
    if match and match.group(2) in _MONTHS:
        return f"{match.group(1)}-{_MONTHS[match.group(2)]}"
    match = _EXCEL_MONTH_YEAR.match(text)
    if match and match.group(1) in _MONTHS:
        return f"{_MONTHS[match.group(1)]}-{match.group(2)}"
    return text


def _page(text: str) -> str:
    """The first page number of ``text`` with its letter prefix ("e123", "s12", "h1327")."""
    text = text.strip()
    if _ROMAN_PAGE.match(text):
        return text
    match = _FIRST_PAGE.search(text)
    if match is None:
        return ""
    prefix, digits = match.groups()
    if prefix and _ROMAN_PAGE.match(prefix) and len(prefix) > 1:
        prefix = ""  # "II-221": a supplement's roman prefix
    return prefix + (digits.lstrip("0") or "0")


_PAGE_COUNT = re.compile(r"^\d+\s*(?:p|pp|pages?|s)\.?$", re.I)


def _prepare_pages(keys: Keys, pages: str | None) -> None:
    if not pages or _PAGE_COUNT.match(pages.strip()):
        return
    text = _excel_pages(pages.strip().lower().replace(" ", "").split(";")[0].split(",")[0])
    if "-" in text and not _FIRST_PAGE.match(text.split("-")[0] or "x"):
        # a prefix split off by a dash: "ii-221-5" -> first page "221"
        head, _, rest = text.partition("-")
        if _ROMAN_PAGE.match(head) and rest[:1].isdigit():
            text = rest
    first, sep, last = text.partition("-")
    if first in ("", "-") and last:
        first, sep, last = last, "", ""
    keys.first_page = _page(first)
    if not keys.first_page:
        return
    if sep and last:
        keys.last_page = _page(last)
    fp, lp = keys.first_page, keys.last_page
    if fp.isdigit() and lp.isdigit() and len(lp) == len(fp) and int(lp) < int(fp):
        keys.first_page = keys.last_page = ""  # "2297-2108": a typo, nothing to rely on
        return
    prefix = fp.rstrip("0123456789")
    digits = fp[len(prefix) :]
    if digits and lp.isdigit() and len(lp) < len(digits):  # "1391-402" -> 1402, "C151-6" -> C156
        expanded = digits[: len(digits) - len(lp)] + lp
        if int(expanded) >= int(digits):
            keys.last_page = prefix + expanded


_PREPRINT_DOI = (
    "10.1101/",  # bioRxiv, medRxiv
    "10.48550/",  # arXiv
    "10.21203/",  # Research Square
    "10.20944/",  # Preprints.org
    "10.2139/ssrn",  # SSRN
    "10.31234/",  # PsyArXiv
    "10.31219/",  # OSF Preprints
    "10.31235/",  # SocArXiv
    "10.31222/",  # MetaArXiv
    "10.22541/",  # Authorea
    "10.1590/scielopreprints",
    "10.12688/f1000research",  # versions of one article carry one DOI each
)
_DOI_PUNCT = re.compile(r"[^0-9a-z./]+")
_DOI_TAIL = re.compile(r"(?:/(?:abstract|full|pdf|epdf|fulltext)|\.pdf|\.html?)$")


def _prepare_doi(keys: Keys, doi: str | None) -> None:
    if not doi:
        return
    value = doi.strip().lower()
    if "%" in value:
        value = unquote(value)
    value = _DOI_TAIL.sub("", value)
    keys.doi = _DOI_PUNCT.sub("", value)  # "10.1160/th-09-03" and "10.1160/th09-03" are one DOI
    keys.doi_preprint = value.startswith(_PREPRINT_DOI)


# -- the record --------------------------------------------------------------------------------


def prepare(row: MatchRow, index: int) -> Keys:
    """The matching keys of ``row``; ``index`` is its position in the run's list of rows."""
    keys = Keys(index=index)
    _prepare_title(keys, row.title)
    names = [a for a in row.authors[: MAX_AUTHORS + 1] if a]
    one_packed = len(names) == 1 and "," not in names[0] and ";" not in names[0]
    if one_packed or any("." in n and "," not in n for n in names[:3]):
        names = _split_packed(names)
    authors = tuple(a for a in (parse_author(n) for n in names[:MAX_AUTHORS]) if a is not None)
    keys.authors = authors
    keys.n_authors = len(row.authors) if len(row.authors) > MAX_AUTHORS else len(authors)
    keys.year = row.year
    _prepare_journal(keys, row.journal)
    keys.volume = _volume(row.volume)
    if keys.volume and row.year is not None and keys.volume == str(row.year):
        keys.volume = ""  # a year in the volume field
    keys.issue = _issue(row.issue)
    keys.supplement = _supplement(row.issue) or _supplement(row.volume)
    _prepare_pages(keys, row.pages)
    _prepare_doi(keys, row.doi)
    keys.pmid = (row.pmid or "").strip()
    if row.abstract:
        keys.abstract = fold(row.abstract[:400])[:300]
    if not keys.title:
        keys.problems.append("no title")
    elif keys.title_words <= 1:
        keys.problems.append("one-word title")
    return keys


_ELSEVIER_CODE = re.compile(r"^10\.1016/j\.([a-z]{2,12})\.")


def _doi_prefix(doi: str) -> str:
    """The DOI's registrant, with Elsevier's journal code ("10.1016/j.appet")."""
    match = _ELSEVIER_CODE.match(doi)
    return f"10.1016/j.{match.group(1)}" if match else doi.partition("/")[0]


def code_fits(code: str, journal: str) -> bool:
    """A DOI's journal code can abbreviate ``journal``: its letters appear in the journal's
    words, in order, starting with the first letter ("ijcard": "int j cardiol")."""
    letters = journal.replace(" ", "")
    if code[0] == "y" and len(code) > 3 and letters[:1] != "y":
        code = code[1:]  # "yjmcc": journals Elsevier took over from Academic Press
    if not letters or code[0] != letters[0]:
        return False
    pos = 0
    for ch in code:
        pos = letters.find(ch, pos) + 1
        if pos == 0:
            return False
    return True


def mark_doi_fit(keys: Sequence[Keys]) -> None:
    """Set :attr:`Keys.doi_fit`: does each DOI's prefix fit the journal its record names?

    No list of publishers' prefixes is needed: the records of one run are the evidence. A
    DOI fits when another DOI of the same journal in the run has the same registrant
    (Elsevier's: the same journal code, which must also abbreviate the journal); it does not
    fit when the journal has at least two other DOIs in the run and none of them has its
    registrant (a database copied another article's DOI). Otherwise it is unknown.
    """
    by_journal: dict[str, dict[str, set[str]]] = {}
    for k in keys:
        if k.doi and k.journal_key:
            by_journal.setdefault(k.journal_key, {}).setdefault(_doi_prefix(k.doi), set()).add(k.doi)
    for k in keys:
        if not (k.doi and k.journal_key):
            continue
        prefix = _doi_prefix(k.doi)
        if prefix.startswith("10.1016/j.") and not code_fits(prefix[10:], k.journal_key):
            k.doi_fit = False
            continue
        prefixes = by_journal[k.journal_key]
        own = prefixes.get(prefix, set())
        others = sum(len(v) for p, v in prefixes.items() if p != prefix)
        if len(own) >= 2:
            k.doi_fit = True
        elif others >= 2:
            k.doi_fit = False
