"""Readers and writers of bibliographic export files.

``read_file(path)`` inspects a file (encoding, format, content hash) and yields its records;
``write_records(records, stream, fmt)`` writes them back out. Each format lives in its own
module with ``read(stream, path)`` (and, for export formats, ``write(records, stream)``), so a
format can be used on its own like ``json``: ``scoping.ingest.ris.read(open("x.ris"), "x.ris")``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import TextIO

from scoping.errors import UsageError
from scoping.ingest.sniff import FORMATS, FileInfo, detect_format, inspect_file
from scoping.records import Record

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "FileInfo",
    "detect_format",
    "inspect_file",
    "iter_records",
    "write_records",
]

_READERS: dict[str, tuple[str, str]] = {
    "ris": ("ris", "read"),
    "medline": ("medline", "read"),
    "pubmed-xml": ("pubmed_xml", "read"),
    "wos": ("wos", "read"),
    "wos-tab": ("wos", "read_tab"),
    "bibtex": ("bibtex", "read"),
    "csv": ("table", "read"),
    "endnote-xml": ("endnote_xml", "read"),
}

EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "ris": ("ris", "write"),
    "csv": ("table", "write"),
    "bib": ("bibtex", "write"),
}
"""Formats ``scoping export`` writes, by the name ``--format`` takes."""

# formats whose readers need the stream opened with newline="" (csv module rules)
_RAW_NEWLINES = {"csv", "wos-tab"}


def iter_records(info: FileInfo) -> Iterator[Record]:
    """Yield the records of an inspected file, in file order, streaming.

    Raises :class:`~scoping.errors.FormatError` (naming the line or record) on malformed
    input, possibly after some records were yielded: callers that store records must do so in
    one transaction.
    """
    module_name, func_name = _READERS[info.format]
    module = importlib.import_module(f"scoping.ingest.{module_name}")
    reader = getattr(module, func_name)
    newline = "" if info.format in _RAW_NEWLINES else None
    with info.path.open("r", encoding=info.encoding, newline=newline) as stream:
        yield from reader(stream, str(info.path))


def write_records(records: Iterable[Record], stream: TextIO, fmt: str) -> int:
    """Write ``records`` to ``stream`` in export format ``fmt``; return how many were written."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    module_name, func_name = EXPORT_FORMATS[fmt]
    module = importlib.import_module(f"scoping.ingest.{module_name}")
    count: int = getattr(module, func_name)(records, stream)
    return count
