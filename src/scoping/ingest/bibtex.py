"""BibTeX: read .bib files entry by entry, and write BibTeX back out.

Reading streams: an entry starts on a line beginning with ``@type{`` (or ``@type(``) and ends
where its braces balance again, so each entry keeps its original text (``raw``, from the ``@``
to the closing brace) and first line number, and memory holds one entry at a time. Text
between entries is a comment, as in BibTeX. ``@comment`` and ``@preamble`` are skipped;
``@string`` definitions are remembered for the entries after them (month abbreviations
``jan``...``dec`` are predefined).

Each entry's fields are split out by a small tokenizer in this module (``name = {value}``,
``"value"``, a number or a ``@string`` name, joined with ``#``). It is not bibtexparser's
grammar, for two reasons measured on real files: bibtexparser 1.4 reads about 600 entries a
second (a 100,000-entry file takes minutes), and it silently drops whole entries it cannot
parse: Scopus exports with a ``funding_text 1`` field, keys with a space (``Conference
paper2022775``), fields named ``key words``. Here such entries are read, and anything that
cannot be read is a :class:`~scoping.errors.FormatError` naming the line. The tests check
that both give the same field values wherever bibtexparser does read an entry.

LaTeX is decoded here for the commands exports use (accents, special letters, ``\\&``,
``{\\textless}``, ``\\textit{}``...; see :func:`_decode`); other control words are looked up
in bibtexparser's LaTeX table (``bibtexparser.latexenc``). Its ``latex_to_unicode`` (behind
``customization.convert_to_unicode``) is not called: it takes 1.5 ms a value (the
100,000-entry benchmark spent most of its time there) and gets common cases wrong
(``{\\textless}0.05`` stays ``\\textless0.05``, ``{\\it Escherichia}`` becomes
``ıt Escherichia``, ``\\textit{In vitro}`` becomes ``\\textitIn vitro``, ``\\cite`` takes a
cedilla).

==========  ================================================================
field       BibTeX fields
==========  ================================================================
source_id   the citation key
doc_type    the entry type (``article``, ``inproceedings``...); for ``@article``, ``@misc``
            and ``@inproceedings`` a ``type`` field, when there is one (``type = {review}``)
authors     author, split on " and " outside braces (``others`` dropped)
title       title
year        year, else date (biblatex)
journal     journal, else journaltitle (biblatex), else booktitle
volume      volume
issue       number, else issue
pages       pages (``123--129`` reads as ``123-129``)
pmid        pmid, else a key such as ``PMID:12345`` (Europe PMC)
doi, issn (else eissn), isbn, publisher, abstract, url (else link)
language    language, else langid
keywords    keywords, keyword, author_keywords: split on ";" (or "," when there is no ";")
==========  ================================================================

Every other field goes to ``extra["bibtex"]`` (decoded, white space collapsed); a field given
twice keeps both values, joined with ``"; "``.

An entry whose braces never balance (the file ends, or a new ``@type{`` line starts, first)
is a :class:`~scoping.errors.FormatError` naming the line it starts on; so is text that
follows an entry's closing brace on the same line, or a ``name = {value}`` line between
entries: both mean an entry closed early because of a stray brace.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

from bibtexparser import latexenc

from scoping.errors import FormatError, TruncatedFileError
from scoping.records import Record, make_record, normalise_title_key

__all__ = ["read", "write"]

_ENTRY_START = re.compile(r"[ \t]*@[ \t]*([A-Za-z][\w-]*)[ \t]*([{(])")
_FIELD_OUTSIDE = re.compile(r"\s*[A-Za-z][\w-]*\s*=\s*[{\"]")
_BRACES = re.compile(r"[{}]")
_BRACES_PARENS = re.compile(r"[{}()]")
_BRACES_QUOTE = re.compile(r'[{}"]')
_SKIP = re.compile(r"[\s,]*")
_SPACE = re.compile(r"\s*")
_FIELD_NAME = re.compile(r'([^\s=,{}"#%()]+(?:[^\S\n]+[^\s=,{}"#%()]+)*)\s*=\s*')
# one whole field whose value is {...} (braces nested up to three deep) or a number, followed
# by a comma or the end of the entry; anything else goes through the step-by-step reader
_FAST_FIELD = re.compile(
    r'[\s,]*([^\s=,{}"#%()]+(?:[^\S\n]+[^\s=,{}"#%()]+)*)\s*=\s*'
    r"(?:\{((?:[^{}]++|\{(?:[^{}]++|\{(?:[^{}]++|\{[^{}]*+\})*+\})*+\})*+)\}|(\d+))"
    r"(?=\s*(?:,|\Z))"
)
_BARE = re.compile(r'[^\s,#{}"()=]+')
_AND = re.compile(r"\s+and\s+")
_BRACES_AND = re.compile(r"[{}]| and ")
_WS = re.compile(r"\s+")

_MONTHS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "may": "May",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}
_HINT = "check the braces of that entry (every '{' needs a '}') and export the file again"

_SINGLE: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "abstract": ("abstract",),
    "year": ("year", "date"),
    "journal": ("journal", "journaltitle", "booktitle"),
    "volume": ("volume",),
    "issue": ("number", "issue"),
    "pages": ("pages",),
    "doi": ("doi",),
    "pmid": ("pmid",),
    "issn": ("issn", "eissn"),
    "isbn": ("isbn",),
    "publisher": ("publisher",),
    "language": ("language", "langid"),
    "url": ("url", "link"),
}
_KEYWORD_FIELDS = ("keywords", "keyword", "author_keywords")
_PMID_KEY = re.compile(r"PMID:\s*\d+\Z", re.I)


@dataclass(slots=True)
class _Entry:
    kind: str
    line: int
    raw: str
    body: str


def _entries(stream: TextIO, path: str) -> Iterator[_Entry]:
    """Cut the stream into ``@type{...}`` blocks, one at a time."""
    parts: list[str] = []  # the open entry's text so far
    inside = False
    kind = ""
    start = 0
    depth = 0  # brace depth inside the open entry
    parens = 0  # for @type( ... ): open parentheses outside braces
    paren_entry = False
    previous_end = 0  # line where the last entry closed
    for number, line in enumerate(stream, start=1):
        if inside and not paren_entry and ("@" not in line or not _ENTRY_START.match(line)):
            # the usual line inside an entry: a field, or more of a long value
            closes = line.count("}")
            if closes < depth or (closes == 1 and line.count("{") == 1 and line.find("{") < line.find("}")):
                depth += line.count("{") - closes
                parts.append(line)
                continue
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        segment = line
        while segment:
            if not inside:
                match = _ENTRY_START.match(segment)
                if match is None:
                    _refuse_field_outside(segment, previous_end, path, number)
                    break
                kind, start, paren_entry = match.group(1).lower(), number, match.group(2) == "("
                depth, parens = (0, 1) if paren_entry else (1, 0)
                at = segment.index("@")
                segment, scan_from = segment[at:], match.end() - at
                parts, inside = [], True
            else:
                if segment is line and "@" in segment and _ENTRY_START.match(segment):
                    raise FormatError(
                        path,
                        f"the entry that starts on line {start} is not closed before the "
                        f"next entry on line {number} (a '}}' is missing)",
                        _HINT,
                        where=f"line {start}",
                    )
                scan_from = 0
            end, depth, parens = _entry_end(segment, scan_from, depth, parens, paren_entry)
            if end < 0:
                parts.append(segment)
                break
            parts.append(segment[: end + 1])
            segment = segment[end + 1 :]
            tail = segment.strip()
            _refuse_text_after(tail, path, start, number)
            yield _entry(kind, start, parts)
            inside = False
            parts = []
            previous_end = number
            if not tail.startswith("@"):
                break
            segment = segment.lstrip()
    if inside:
        raise TruncatedFileError(
            path,
            f"the entry that starts on line {start} is not closed at the end of the file (a '}}' is missing)",
            _HINT + "; if the file was cut short, --skip-incomplete imports the complete entries",
            where=f"line {start}",
        )


def _refuse_field_outside(segment: str, previous_end: int, path: str, number: int) -> None:
    """A field outside any entry (after one closed): the entry before it closed early."""
    if previous_end and _FIELD_OUTSIDE.match(segment):
        raise FormatError(
            path,
            f"a field outside any entry: the entry that ends on line {previous_end} closed early",
            _HINT,
            where=f"line {number}",
        )


def _entry_end(
    segment: str, scan_from: int, depth: int, parens: int, paren_entry: bool
) -> tuple[int, int, int]:
    """(index of the entry's closing brace or parenthesis in ``segment`` or -1, the brace depth
    and the open parentheses after scanning it from ``scan_from``)."""
    end = -1
    if paren_entry:
        for found in _BRACES_PARENS.finditer(segment, scan_from):
            char = found.group()
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif depth == 0:
                parens += 1 if char == "(" else -1
                if parens == 0:
                    end = found.start()
                    break
    elif _cannot_close(segment[scan_from:] if scan_from else segment, depth):
        depth += segment.count("{", scan_from) - segment.count("}", scan_from)
    else:
        for found in _BRACES.finditer(segment, scan_from):
            depth += 1 if found.group() == "{" else -1
            if depth == 0:
                end = found.start()
                break
    return end, depth, parens


def _refuse_text_after(tail: str, path: str, start: int, number: int) -> None:
    """Text after an entry's end on its last line: a stray brace closed it early."""
    if tail and tail != "," and not tail.startswith(("%", "@")):
        raise FormatError(
            path,
            f"text after the end of the entry that starts on line {start}: "
            f"{tail[:30]!r} (a stray '}}' closed it early?)",
            _HINT,
            where=f"line {number}",
        )


def _entry(kind: str, start: int, parts: list[str]) -> _Entry:
    raw = "".join(parts)
    opener = _ENTRY_START.match(raw)
    assert opener is not None
    return _Entry(kind, start, raw, raw[opener.end() : -1])


def _cannot_close(line: str, depth: int) -> bool:
    """Whether a line read at brace depth ``depth`` surely does not bring the depth to 0."""
    closes = line.count("}")
    if closes < depth:
        return True
    # the usual field line: one "{" then one "}"
    return closes == 1 and line.count("{") == 1 and line.find("{") < line.find("}")


def _closing_brace(text: str, pos: int) -> int:
    """Index of the brace that closes the one at ``pos``, or -1."""
    depth = 0
    for found in _BRACES.finditer(text, pos):
        depth += 1 if found.group() == "{" else -1
        if depth == 0:
            return found.start()
    return -1


def _closing_quote(text: str, pos: int) -> int:
    depth = 0
    for found in _BRACES_QUOTE.finditer(text, pos + 1):
        char = found.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            return found.start()
    return -1


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    found = pattern.match(text, pos)
    return found.end() if found else pos


def _parse_fields(body: str, pos: int, macros: dict[str, str], path: str, line: int) -> list[tuple[str, str]]:
    """``name = value`` pairs of an entry body, values with @string names resolved."""
    fields: list[tuple[str, str]] = []
    size = len(body)

    def fail(problem: str, at: int) -> FormatError:
        return FormatError(path, problem, _HINT, where=f"line {line + body.count(chr(10), 0, at)}")

    while True:
        fast = _FAST_FIELD.match(body, pos)
        if fast is not None:  # name = {value} or name = 123, the usual case
            name = fast.group(1)
            if not name.islower() or not name.isascii() or " " in name or "\t" in name:
                name = " ".join(name.split()).lower()
            value = fast.group(2)
            fields.append((name, fast.group(3) if value is None else value))
            pos = fast.end()
            continue
        pos = _skip(_SKIP, body, pos)
        if pos >= size:
            return fields
        named = _FIELD_NAME.match(body, pos)
        if named is None:
            raise fail(f"cannot read a field name at {body[pos : pos + 30]!r}", pos)
        name = " ".join(named.group(1).split()).lower()
        value, pos = _field_value(body, named.end(), name, macros, fail)
        if pos < size and body[pos] != ",":
            raise fail(f"expected a ',' after the field {name!r}, found {body[pos : pos + 20]!r}", pos)
        fields.append((name, value))


def _field_value(
    body: str, pos: int, name: str, macros: dict[str, str], fail: Callable[[str, int], FormatError]
) -> tuple[str, int]:
    """The value of field ``name`` that starts at ``pos`` (pieces joined by ``#``, @string
    names resolved), and the position after it and the spaces that follow."""
    size = len(body)
    pieces: list[str] = []
    while True:
        if pos >= size:
            raise fail(f"the field {name!r} has no value", pos)
        char = body[pos]
        if char == "{":
            end = _closing_brace(body, pos)
            if end < 0:
                raise fail(f"the value of {name!r} is not closed (a '}}' is missing)", pos)
            pieces.append(body[pos + 1 : end])
            pos = end + 1
        elif char == '"':
            end = _closing_quote(body, pos)
            if end < 0:
                raise fail(f"the value of {name!r} is not closed (a '\"' is missing)", pos)
            pieces.append(body[pos + 1 : end])
            pos = end + 1
        else:
            bare = _BARE.match(body, pos)
            if bare is None:
                raise fail(f"cannot read the value of {name!r} at {body[pos : pos + 30]!r}", pos)
            word = bare.group()
            pieces.append(word if word.isdigit() else macros.get(word.lower(), word))
            pos = bare.end()
        pos = _skip(_SPACE, body, pos)
        if pos < size and body[pos] == "#":
            pos = _skip(_SPACE, body, pos + 1)
            continue
        return "".join(pieces), pos


_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
# escaped braces (\{, \textbraceleft) stand in for a moment as characters that are not braces,
# so that removing the markup braces keeps them
_LBRACE, _RBRACE = "\ue000", "\ue001"
_WORDS = {
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "ss": "ß",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "th": "þ",
    "TH": "Þ",
    "dh": "ð",
    "DH": "Ð",
    "ng": "ŋ",
    "NG": "Ŋ",
    "dj": "đ",
    "DJ": "Đ",
    "textendash": "–",
    "textemdash": "—",
    "textquoteright": "’",
    "textquoteleft": "‘",
    "textquotedblleft": "“",
    "textquotedblright": "”",
    "textless": "<",
    "textgreater": ">",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "textbackslash": "\\",
    "textbraceleft": _LBRACE,
    "textbraceright": _RBRACE,
    "textbar": "|",
    "textunderscore": "_",
    "textregistered": "®",
    "texttrademark": "™",
    "textcopyright": "©",
    "textdegree": "°",
    "textbullet": "•",
    "textellipsis": "…",
    "ldots": "…",
    "dots": "…",
    "textperiodcentered": "·",
    "textpm": "±",
    "pm": "±",
    "times": "×",
    "textmu": "µ",
    "textsection": "§",
    "S": "§",
    "P": "¶",
    "pounds": "£",
    "texteuro": "€",
    "euro": "€",
    "textdollar": "$",
    "textpercent": "%",
    "textasteriskcentered": "*",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "approx": "≈",
    "sim": "~",
    "infty": "∞",
    "cdot": "·",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
}
# commands that only format their argument: the command goes, the argument stays
_FORMATTING = frozenset(
    {
        "it",
        "bf",
        "em",
        "sc",
        "rm",
        "sf",
        "tt",
        "sl",
        "up",
        "textit",
        "textbf",
        "emph",
        "textsc",
        "textrm",
        "textsf",
        "texttt",
        "textsl",
        "textup",
        "textnormal",
        "textmd",
        "mathrm",
        "mathit",
        "mathbf",
        "mathsf",
        "mathtt",
        "mathcal",
        "mathnormal",
        "mbox",
        "hbox",
        "text",
        "url",
        "textsuperscript",
        "textsubscript",
        "protect",
        "relax",
        "NoCaseChange",
        "MakeUppercase",
        "MakeLowercase",
        "uppercase",
        "lowercase",
        "ensuremath",
    }
)
_SYMBOLS = {
    "&": "&",
    "%": "%",
    "$": "$",
    "_": "_",
    "#": "#",
    "{": _LBRACE,
    "}": _RBRACE,
    "/": "",
    " ": " ",
    ",": " ",
    ";": " ",
    "!": "",
    "-": "",
    "@": "",
}
_CONTROL_WORD = re.compile(r"\\[A-Za-z]+")
_LATEX = re.compile(
    r"""\\(?:
        (?P<pacc>["'`^~=.])\s*(?:\{\s*(?P<parg>\\[ij]|[A-Za-z])\s*\}|(?P<parg2>\\[ij](?![A-Za-z])|[A-Za-z]))
      | (?P<lacc>[uvHckrdb])(?:\s*\{\s*(?P<larg>\\[ij]|[A-Za-z])\s*\}|\s+(?P<larg2>[A-Za-z]))
      | (?P<word>[A-Za-z]+)\s*
      | (?P<sym>[&%$_\#{}/\ ,;!@-])
    )""",
    re.X,
)


@functools.cache
def _bibtexparser_words() -> dict[str, str]:
    """bibtexparser's LaTeX table, its plain control words only (``\\alpha``, ``\\div``...)."""
    table: dict[str, str] = {}
    for pairs in (
        latexenc.unicode_to_crappy_latex1,
        latexenc.unicode_to_latex,
        latexenc.unicode_to_crappy_latex2,
    ):
        for char, latex in pairs:
            command = latex.strip()
            if _CONTROL_WORD.fullmatch(command):
                table.setdefault(command[1:], char)
    for accent in _ACCENTS:
        table.pop(accent, None)  # \c, \v... only mean something with a letter
    return table


def _latex_piece(match: re.Match[str]) -> str:
    accent = match.group("pacc") or match.group("lacc")
    if accent:
        letter = match.group("parg") or match.group("parg2") or match.group("larg") or match.group("larg2")
        return letter[-1] + _ACCENTS[accent]  # \i and \j take the accent as i and j
    word = match.group("word")
    if word is not None:
        if word in _WORDS:
            return _WORDS[word]
        if word in _FORMATTING:
            return ""
        return _bibtexparser_words().get(word, match.group())  # unknown: left as it is
    return _SYMBOLS[match.group("sym")]


def _decode(value: str) -> str:
    """LaTeX to Unicode, braces dropped.

    Accents (``{\\"o}``, ``\\v{S}``, ``\\'{\\i}``), special letters (``{\\o}``, ``{\\ss}``),
    escaped characters (``\\&``, ``\\%``), common symbols (``{\\textless}``, ``\\textendash``,
    Greek letters) and formatting commands (``\\textit{...}``, ``{\\it ...}``, which keep their
    text) are decoded here; other control words are looked up in bibtexparser's LaTeX table;
    anything else is left as it is.
    """
    if "\\" in value:
        if "{}" in value:  # \^{} and \~{}: the accent on nothing is the character itself
            value = value.replace("\\^{}", "^").replace("\\~{}", "~")
        value = _LATEX.sub(_latex_piece, value)
    if "{" in value or "}" in value:
        value = value.replace("{", "").replace("}", "")
    if not value.isascii():
        if _LBRACE in value or _RBRACE in value:
            value = value.replace(_LBRACE, "{").replace(_RBRACE, "}")
        value = unicodedata.normalize("NFC", value)
    return value


def _split_names(value: str) -> list[str]:
    """Author names: split on " and " outside braces, then decoded."""
    value = " ".join(value.split())
    if not value:
        return []
    if "{" not in value:
        parts = value.split(" and ")
    else:
        parts = []
        depth = 0
        begin = 0
        for found in _BRACES_AND.finditer(value):
            token = found.group()
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= 1
            elif depth == 0:
                parts.append(value[begin : found.start()])
                begin = found.end()
        parts.append(value[begin:])
    names = [_decode(part).strip() for part in parts]
    return [name for name in names if name and name.lower() != "others"]


def _split_keywords(value: str) -> list[str]:
    text = _decode(value)
    return text.split(";") if ";" in text else text.split(",")


def _record(entry: _Entry, key: str | None, pairs: list[tuple[str, str]]) -> Record:
    values: dict[str, str] = {}
    for name, value in pairs:
        if not value or value.isspace():
            continue
        if name in values:  # a field given twice keeps both values
            value = values[name] + (" and " if name == "author" else "; ") + value
        values[name] = value
    fields: dict[str, object] = {"source_id": key, "doc_type": entry.kind}
    if entry.kind in _TYPED and "type" in values:  # @article{..., type = {review}}
        fields["doc_type"] = _decode(values["type"])
    if key and "pmid" not in values and _PMID_KEY.match(key):  # Europe PMC: PMID:12345
        fields["pmid"] = key
    used: set[str] = {"type"} if entry.kind in _TYPED and "type" in values else set()
    author = values.get("author")
    if author is not None:
        used.add("author")
        fields["authors"] = _split_names(author)
    for field, names in _SINGLE.items():
        for name in names:
            given = values.get(name)
            if given is not None:
                used.add(name)
                fields[field] = _decode(given)
                break
    keywords: list[str] = []
    for name in _KEYWORD_FIELDS:
        given = values.get(name)
        if given is not None:
            used.add(name)
            keywords.extend(_split_keywords(given))
    fields["keywords"] = keywords
    extra = {name: " ".join(_decode(value).split()) for name, value in values.items() if name not in used}
    record = make_record(fields, raw=entry.raw, line=entry.line, extra={"bibtex": extra} if extra else None)
    for field in ("doi", "pmid", "year"):  # a value the normaliser rejected stays in extra
        if fields.get(field) and getattr(record, field) is None:
            record.extra.setdefault("bibtex", {})[field] = fields[field]
    return record


def _split_key(body: str) -> tuple[str | None, int]:
    """The citation key and where the fields start."""
    comma = body.find(",")
    head = body if comma < 0 else body[:comma]
    if "=" in head:  # no key: the entry starts with a field
        return None, 0
    key = head.strip()
    return (key or None), (len(body) if comma < 0 else comma + 1)


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the entries of a BibTeX file as records, in file order."""
    macros = dict(_MONTHS)
    for entry in _entries(stream, path):
        if entry.kind in ("comment", "preamble"):
            continue
        if entry.kind == "string":
            for name, value in _parse_fields(entry.body, 0, macros, path, entry.line):
                macros[name] = value
            continue
        key, pos = _split_key(entry.body)
        pairs = _parse_fields(entry.body, pos, macros, path, entry.line)
        yield _record(entry, key, pairs)


# -- writing --------------------------------------------------------------------------------

_VALID_KEY = re.compile(r"[^\s,{}()\"#%'=\\~]+\Z")
_ENTRY_TYPES = frozenset(
    {
        "article",
        "book",
        "booklet",
        "inbook",
        "incollection",
        "inproceedings",
        "conference",
        "manual",
        "mastersthesis",
        "misc",
        "phdthesis",
        "proceedings",
        "techreport",
        "unpublished",
        "online",
        "report",
        "thesis",
        "dataset",
        "software",
        "collection",
        "periodical",
    }
)
_VOCABULARY_TYPES: dict[str, tuple[str, bool]] = {
    # document type: (entry type, whether a "type" field must say more than the entry type)
    "journal article": ("article", False),
    "review": ("article", True),
    "editorial": ("article", True),
    "letter": ("article", True),
    "comment": ("article", True),
    "erratum": ("article", True),
    "book": ("book", False),
    "book chapter": ("incollection", False),
    "conference paper": ("inproceedings", False),
    "conference abstract": ("inproceedings", True),
    "proceedings": ("proceedings", False),
    "thesis": ("phdthesis", False),
    "report": ("techreport", False),
    "preprint": ("misc", True),
    "web page": ("online", False),
    "dataset": ("dataset", False),
    "serial": ("periodical", False),
    "newspaper article": ("article", True),
    "magazine article": ("article", True),
    "government document": ("report", True),
    "other": ("misc", False),
}
"""How each term of :data:`scoping.records.DOC_TYPES` is written."""
_TYPED = frozenset({"article", "misc", "inproceedings"})
"""Entry types whose ``type`` field, when there is one, is the document type (our writer puts
a type the entry type cannot say there: ``@article`` with ``type = {review}``)."""
_IN_BOOK = frozenset({"inproceedings", "incollection", "inbook", "conference"})
_STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "for",
        "and",
        "to",
        "with",
        "from",
        "by",
        "at",
        "is",
        "are",
        "as",
        "its",
        "or",
        "de",
        "la",
        "le",
        "der",
        "die",
        "das",
        "el",
        "en",
    }
)


def _entry_type(record: Record) -> tuple[str, str | None]:
    """The entry type for ``record``, and the ``type`` field to write (or ``None``)."""
    doc = (record.doc_type or "").strip()
    if doc in _VOCABULARY_TYPES:
        entry_type, typed = _VOCABULARY_TYPES[doc]
        return entry_type, (doc if typed else None)
    if doc.lower() in _ENTRY_TYPES:
        return doc.lower(), None
    # no type, or one outside the vocabulary ("Clinical Trial, Phase III", Web of Science's
    # "Article; Proceedings Paper"): kept in "type"
    if "proceedings" in doc.lower() or "conference" in doc.lower():
        return "inproceedings", doc
    return ("article" if record.journal else "misc"), (doc or None)


def _ascii_letters(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def _new_key(record: Record) -> str:
    """FirstAuthorYearWord: the first author's family name, the year, the title's first word."""
    family = ""
    if record.authors:
        first = record.authors[0]
        family = first.split(",", 1)[0] if "," in first else first.rsplit(" ", 1)[-1]
    family = _ascii_letters(family).capitalize() or "Anon"
    year = str(record.year) if record.year else "nd"
    word = ""
    for candidate in normalise_title_key(record.title).split():
        if candidate not in _STOP_WORDS:
            word = _ascii_letters(candidate).capitalize()
            if word:
                break
    return f"{family}{year}{word}"


def _suffixes() -> Iterator[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    for first in letters:
        yield first
    for first in letters:
        for second in letters:
            yield first + second
    count = 0
    while True:
        count += 1
        yield f"_{count}"


def _unique(key: str, used: set[str]) -> str:
    if key.lower() not in used:
        used.add(key.lower())
        return key
    for suffix in _suffixes():
        candidate = key + suffix
        if candidate.lower() not in used:
            used.add(candidate.lower())
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _braced(value: str) -> str:
    value = _WS.sub(" ", value).strip()
    depth = 0
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                break
    if depth != 0:  # unbalanced braces cannot be written; braces are markup in BibTeX anyway
        value = " ".join(value.replace("{", "").replace("}", "").split())
    return "{" + value + "}"


_ESCAPES = str.maketrans(
    {
        "\\": "\\textbackslash{}",
        "{": "\\textbraceleft{}",
        "}": "\\textbraceright{}",
        "%": "\\%",
        "&": "\\&",
        "_": "\\_",
        "#": "\\#",
        "$": "\\textdollar{}",
        "~": "\\textasciitilde{}",
        "^": "\\^{}",
    }
)
_VERBATIM = frozenset({"doi", "url"})
_LINE_SPACE = re.compile(r"[ \t\r\n]+")  # line breaks and runs of spaces (not thin or no-break spaces)
"""Fields biblatex reads verbatim (escaping would put backslashes into them)."""


def _escape(value: str) -> str:
    """Text as a BibTeX value holds it: LaTeX's special characters escaped in the forms both
    LaTeX and bibtexparser's ``convert_to_unicode`` read (``\\textdollar{}``, ``\\^{}``; braces as
    ``\\textbraceleft{}``, which keeps the value's braces balanced for BibTeX), so that BibTeX,
    biber, LaTeX and bibtexparser read back the same text (bibtexparser leaves the escaped braces
    undecoded: it has no form of them); :func:`read` decodes all of them."""
    return _LINE_SPACE.sub(" ", value).strip().translate(_ESCAPES)


def _value(name: str, value: str) -> str:
    """A field's value as written: braced, escaped unless verbatim (the author list comes
    escaped name by name, see :func:`_author`)."""
    if name in _VERBATIM:
        return _braced(value)
    return "{" + (value if name == "author" else _escape(value)) + "}"


def _author(name: str) -> str:
    name = _escape(name)
    return "{" + name + "}" if _AND.search(f" {name} ") or name.lower() == "others" else name


def write(records: Iterable[Record], stream: TextIO, *, extra_fields: Sequence[str] = ()) -> int:
    """Write ``records`` as BibTeX entries; return how many were written.

    Citation keys are unique in the file and stable: a record's ``source_id`` when it is a
    usable key, else FirstAuthorYearWord (``Smith2020Peer``); a key already used gets ``a``,
    ``b``... Text is written as UTF-8, with LaTeX's special characters (``% & _ # $ { } \\ ~ ^``)
    escaped, except in ``doi`` and ``url`` (verbatim fields); pages as ``123--129``. A document
    type the entry type cannot say (a review, a letter, "Clinical Trial, Phase III") goes in a
    ``type`` field (``@article{..., type = {review}}``), which :func:`read` takes back. Each of
    ``extra_fields`` with a value in the record's ``extra`` is a field of that name.
    """
    used: set[str] = set()
    count = 0
    for record in records:
        source_id = record.source_id
        if source_id and _VALID_KEY.match(source_id):
            key = _unique(source_id, used)
        else:
            key = _unique(_new_key(record), used)
        entry_type, type_field = _entry_type(record)
        out = _fields_out(record, entry_type, type_field, extra_fields)
        lines = [f"@{entry_type}{{{key},"]
        lines.extend(f"  {name} = {_value(name, value)}," for name, value in out)
        lines.append("}")
        stream.write("\n".join(lines) + "\n\n")
        count += 1
    return count


def _fields_out(
    record: Record, entry_type: str, type_field: str | None, extra_fields: Sequence[str]
) -> list[tuple[str, str]]:
    """The (name, value) fields :func:`write` puts in ``record``'s entry, in order."""
    out: list[tuple[str, str]] = []
    if record.authors:
        out.append(("author", " and ".join(_author(name) for name in record.authors)))
    if record.title:
        out.append(("title", record.title))
    if record.journal:
        out.append(("booktitle" if entry_type in _IN_BOOK else "journal", record.journal))
    if record.year is not None:
        out.append(("year", str(record.year)))
    for name, value in (("volume", record.volume), ("number", record.issue)):
        if value:
            out.append((name, value))
    if record.pages:
        pages = record.pages
        out.append(("pages", pages.replace("-", "--") if pages.count("-") == 1 else pages))
    for name, value in (
        ("doi", record.doi),
        ("pmid", record.pmid),
        ("issn", record.issn),
        ("isbn", record.isbn),
        ("publisher", record.publisher),
    ):
        if value:
            out.append((name, value))
    if type_field:
        out.append(("type", type_field))
    if record.keywords:
        text = "; ".join(record.keywords)
        if len(record.keywords) == 1 and ("," in text or ";" in text):
            text += ";"  # one keyword with a comma: the ";" stops it being split
        out.append(("keywords", text))
    for name, value in (
        ("language", record.language),
        ("url", record.url),
        ("abstract", record.abstract),
    ):
        if value:
            out.append((name, value))
    out.extend((name, str(record.extra[name])) for name in extra_fields if record.extra.get(name) is not None)
    return out
