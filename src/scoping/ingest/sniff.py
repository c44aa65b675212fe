"""Look at a file before reading it: size, content hash, text encoding, and format.

One pass over the bytes computes the SHA-256 (to recognise a file imported before) and checks
that the whole file decodes in the chosen encoding, so a bad byte on line 90,000 is reported
before anything is stored. Encodings are never guessed beyond byte-order marks: UTF-8 (with or
without BOM) and UTF-16 with a BOM are read without asking; anything else needs ``--encoding``.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from scoping.errors import EncodingError, FormatError, UsageError

__all__ = ["FORMATS", "FORMAT_LABELS", "FileInfo", "detect_format", "inspect_file"]

FORMATS: dict[str, str] = {
    "ris": "RIS (Web of Science, Scopus, Ovid, EBSCO, Embase, PubMed, EndNote, Zotero...)",
    "medline": "PubMed/MEDLINE text (.nbib, .txt)",
    "pubmed-xml": "PubMed XML (efetch PubmedArticleSet)",
    "wos": "Web of Science plain text (savedrecs.txt, .ciw)",
    "wos-tab": "Web of Science tab-delimited (UTF-8 or UTF-16)",
    "bibtex": "BibTeX (.bib)",
    "csv": "CSV or TSV with a title column (ASReview, Rayyan, Scopus, database exports)",
    "endnote-xml": "EndNote XML (.xml)",
}
"""Every import format, by the name ``--format`` takes."""

FORMAT_LABELS: dict[str, str] = {
    "ris": "RIS",
    "medline": "MEDLINE",
    "pubmed-xml": "PubMed XML",
    "wos": "Web of Science",
    "wos-tab": "Web of Science tab-delimited",
    "bibtex": "BibTeX",
    "csv": "CSV",
    "endnote-xml": "EndNote XML",
}
"""Short names of the formats, for messages."""

_BLOCK = 1 << 20
_HEAD_CHARS = 64 * 1024

_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an .xlsx or .docx file is one)",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office file (.xls or .doc)",
    b"\x1f\x8b": "a gzip-compressed file",
    b"SQLite format 3": "an SQLite database",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x7fELF": "a program (an executable or library)",
    b"BZh": "a bzip2-compressed file",
    b"\xfd7zXZ\x00": "an xz-compressed file",
}


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What :func:`inspect_file` found out about a file."""

    path: Path
    size: int
    sha256: str
    encoding: str
    format: str
    head: str
    """The first characters of the decoded text (for format detection and messages)."""


def _normalise_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise UsageError(
            f"unknown encoding {name!r}; use a Python codec name such as utf-8, cp1252, latin-1"
        ) from exc


_NEEDS_BOM: dict[str, tuple[bytes, ...]] = {
    "utf-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
    "utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE),
}
"""The encodings whose byte order comes from the byte-order mark (the file must start with one)."""


def _choose_encoding(path: Path, first: bytes, encoding: str | None) -> str:
    if encoding is not None:
        name = _normalise_encoding(encoding)
        if name == "utf-8" and first.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if name in _NEEDS_BOM and not first.startswith(_NEEDS_BOM[name]):
            # Python's utf-16/utf-32 codecs learn the byte order from the mark and refuse without it
            raise EncodingError(
                str(path),
                f"--encoding {encoding} needs a byte-order mark at the start, and this file has none",
                f"pass --encoding {name}-le (or {name}-be) to name the byte order",
            )
        return name
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for magic, what in _BINARY_MAGIC.items():
        if first.startswith(magic):
            raise FormatError(
                str(path),
                f"this is {what}, not a bibliographic export",
                "export the records as RIS, MEDLINE, BibTeX, CSV or XML and import that file",
            )
    if b"\x00" in first[:8192]:
        sample = first[:8192]
        if sample[1::2].count(0) > len(sample) // 4 or sample[0::2].count(0) > len(sample) // 4:
            raise EncodingError(
                str(path),
                "looks like UTF-16 without a byte-order mark",
                "pass --encoding utf-16-le (or utf-16-be)",
            )
        raise FormatError(
            str(path),
            "binary file (it contains NUL bytes), not a text export",
            "export the records as RIS, MEDLINE, BibTeX, CSV or XML and import that file",
        )
    return "utf-8"


def inspect_file(
    path: str | os.PathLike[str], *, encoding: str | None = None, fmt: str | None = None, whole: bool = True
) -> FileInfo:
    """Hash, check and classify ``path``; raise a :class:`~scoping.errors.InputFileError`.

    ``encoding`` and ``fmt`` override detection. With ``whole=False`` only the first block is
    read (encoding, format, binary content): the caller must then call :func:`scan_file` (the
    content hash and the decoding of every byte), or read the file with a reader that checks
    its decoding the same way (:func:`scoping.ingest.iter_records` does), and the returned
    ``sha256`` is empty.
    """
    p = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if not p.exists():
        raise FormatError(str(p), "no such file", "check the path")
    if p.is_dir():
        raise FormatError(str(p), "is a folder, not a file", "name the export files inside it")
    size = p.stat().st_size
    if size == 0:
        raise FormatError(str(p), "the file is empty", "export the records again")
    with p.open("rb") as fh:
        first = fh.read(_BLOCK)
    chosen = _choose_encoding(p, first, encoding)
    if whole:
        sha256, head = scan_file(p, chosen)
    else:
        sha256, head = "", _decode_head(p, chosen, first, final=len(first) == size)
    if not head.strip():
        raise FormatError(str(p), "the file holds only white space", "export the records again")
    if "\x00" in head:
        raise FormatError(
            str(p),
            "binary file (it contains NUL characters), not a text export",
            "export the records as RIS, MEDLINE, BibTeX, CSV or XML and import that file",
        )
    detected = fmt if fmt is not None else detect_format(p, head)
    return FileInfo(path=p, size=size, sha256=sha256, encoding=chosen, format=detected, head=head)


def _decode_head(path: Path, encoding: str, first: bytes, *, final: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(first, final=final)[:_HEAD_CHARS]
    except UnicodeDecodeError as exc:
        raise _decoding_error(path, encoding, first, exc, 1) from exc


def _decoding_error(
    path: Path, encoding: str, block: bytes, exc: UnicodeDecodeError, line: int
) -> EncodingError:
    line += block[: exc.start].count(b"\n")
    bad = block[exc.start : exc.start + 1].hex()
    hint = (
        "if it was saved as Latin-1 or Windows-1252, pass --encoding cp1252"
        if encoding.startswith("utf")
        else "pass the encoding it was saved in with --encoding"
    )
    return EncodingError(str(path), f"not valid {encoding} (byte 0x{bad})", hint, where=f"line {line}")


def scan_file(path: str | os.PathLike[str], encoding: str) -> tuple[str, str]:
    """Read the whole file: its SHA-256 and its first characters, decoded as ``encoding``.

    Raises :class:`~scoping.errors.EncodingError`, naming the line, at the first byte that is
    not valid in ``encoding``.
    """
    p = Path(path)
    digest = hashlib.sha256()
    head_parts: list[str] = []
    head_len = 0
    line = 1
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with p.open("rb") as fh:
        block = fh.read(_BLOCK)
        while block:
            digest.update(block)
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _decoding_error(p, encoding, block, exc, line) from exc
            line += text.count("\n")
            if head_len < _HEAD_CHARS:
                head_parts.append(text[: _HEAD_CHARS - head_len])
                head_len += len(head_parts[-1])
            block = fh.read(_BLOCK)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise EncodingError(
                str(p),
                f"the file ends inside a {encoding} character (truncated?)",
                "export the records again",
                where=f"line {line}",
            ) from exc
    return digest.hexdigest(), "".join(head_parts)


_RIS_TAG = re.compile(r"^[A-Z][A-Z0-9]  -( |$)", re.M)
_RIS_TY = re.compile(r"^TY  -", re.M)
_MEDLINE_TAG = re.compile(r"^(PMID|OWN |STAT|TI  |AU  |FAU |DP  |SO  )- ", re.M)
_WOS_START = re.compile(r"^(FN |VR |PT [A-Z])", re.M)
_BIBTEX = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)


def detect_format(path: Path, head: str) -> str:
    """The format name of a file, from its first characters (and its name as a tie-break)."""
    text = head.lstrip("\ufeff")
    stripped = text.lstrip()
    suffix = path.suffix.lower()
    if stripped.startswith("<"):
        sample = stripped[:20000]
        if "<PubmedArticleSet" in sample or "<PubmedArticle" in sample or "<PubmedBookArticle" in sample:
            return "pubmed-xml"
        if re.search(r"<records>\s*<record>", sample) or "<xml><records>" in sample:
            return "endnote-xml"
        raise FormatError(
            str(path),
            "an XML file that is neither PubMed XML nor EndNote XML",
            "pass --format if you know what it is, or export RIS instead",
        )
    first_line = stripped.split("\n", 1)[0]
    if first_line.startswith(("FN ", "VR ")) or (first_line.startswith("PT ") and _WOS_START.search(text)):
        return "wos"
    if first_line.startswith(("PT\t", "PT,AU", "\ufeffPT\t")):
        return "wos-tab"
    if _RIS_TY.search(text) and len(_RIS_TAG.findall(text[:20000])) >= 2:
        # MEDLINE lines look like RIS lines, but MEDLINE records never start with TY
        return "ris"
    if _MEDLINE_TAG.search(text):
        return "medline"
    if _BIBTEX.search(text[:20000]):
        return "bibtex"
    if suffix in {".csv", ".tsv", ".tab"} or _looks_like_table(first_line):
        return "csv"
    if suffix in {".ris", ".nbib", ".bib", ".xml", ".ciw"}:
        expected = {
            ".ris": "RIS",
            ".nbib": "MEDLINE",
            ".bib": "BibTeX",
            ".xml": "XML",
            ".ciw": "Web of Science",
        }[suffix]
        raise FormatError(
            str(path),
            f"the name says {expected} but the content is not",
            "check that the export finished, or pass --format",
        )
    raise FormatError(
        str(path),
        "unknown format",
        f"pass --format with one of: {', '.join(FORMATS)}",
    )


def _looks_like_table(first_line: str) -> bool:
    lowered = first_line.lower()
    if not any(sep in first_line for sep in (",", "\t", ";")):
        return False
    return "title" in lowered
