"""Readers and writers of bibliographic export files.

``read_file(path)`` inspects a file (encoding, format, content hash) and yields its records;
``write_records(records, stream, fmt)`` writes them back out. Each format lives in its own
module with ``read(stream, path)`` (and, for export formats, ``write(records, stream)``), so a
format can be used on its own like ``json``: ``scoping.ingest.ris.read(open("x.ris"), "x.ris")``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO, overload

from scoping.errors import UsageError
from scoping.ingest.sniff import FORMATS, FileInfo, detect_format, inspect_file, scan_file
from scoping.records import Record

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "FileInfo",
    "detect_format",
    "inspect_file",
    "iter_records",
    "reads_in_parts",
    "scan_file",
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


BACKGROUND_BYTES = 16 * 1024 * 1024
"""Files at least this large are parsed in other processes when the caller gives ``workers``."""


Encoder = Callable[[Record], tuple[Any, ...]]
"""Turns a record into a tuple whose first item is the record's line (see :func:`iter_records`)."""


@overload
def iter_records(info: FileInfo, *, workers: int = 0, encode: None = None) -> Iterator[Record]: ...
@overload
def iter_records(info: FileInfo, *, workers: int = 0, encode: Encoder) -> Iterator[tuple[Any, ...]]: ...
def iter_records(
    info: FileInfo, *, workers: int = 0, encode: Encoder | None = None
) -> Iterator[Record] | Iterator[tuple[Any, ...]]:
    """Yield the records of an inspected file, in file order, streaming.

    Raises :class:`~scoping.errors.FormatError` (naming the line or record) on malformed
    input, possibly after some records were yielded: callers that store records must do so in
    one transaction.

    By default the file is read here, in this process. With ``workers`` (at least 1) a file of
    :data:`BACKGROUND_BYTES` or more is parsed in up to that many child processes
    (:mod:`scoping.ingest.parallel`) while this one stores, with exactly the same records,
    lines and errors. The children are started with ``spawn``, which imports the caller's
    ``__main__`` again: a script that passes ``workers`` must keep its work under
    ``if __name__ == "__main__":`` (the ``scoping`` command does, and passes
    :func:`scoping.spawn.parse_workers`).

    With ``encode`` (a module-level function, so that parser processes can call it) each record
    is yielded as ``encode(record)``, computed where the record was parsed: a tuple of plain
    values crosses from a parser process several times faster than a record does. Its first
    item must be the record's line, which is counted from the start of the whole file.
    """
    if workers > 0 and info.size >= BACKGROUND_BYTES:
        from scoping.ingest.parallel import iter_parallel

        return iter_parallel(info, workers, encode)
    records = read_straight(info)
    return records if encode is None else map(encode, records)


def reads_in_parts(info: FileInfo, workers: int = 0) -> bool:
    """Whether :func:`iter_records` with ``workers`` reads this file in parts, side by side: a
    large RIS or PubMed XML file and two workers or more. Every byte of such a file is decoded
    strictly by the parser processes, so the file need not be decoded beforehand (see
    ``inspect_file(whole=False)``)."""
    if workers < 2 or info.size < BACKGROUND_BYTES:
        return False
    from scoping.ingest.parallel import splits

    return splits(info)


def reader(fmt: str) -> Callable[[TextIO, str], Iterator[Record]]:
    """The function that reads format ``fmt`` (a key of :data:`FORMATS`): ``reader(stream, path)``."""
    module_name, func_name = _READERS[fmt]
    function: Callable[[TextIO, str], Iterator[Record]] = getattr(
        importlib.import_module(f"scoping.ingest.{module_name}"), func_name
    )
    return function


def read_straight(info: FileInfo) -> Iterator[Record]:
    """The records of ``info``, read in this process from start to end."""
    read = reader(info.format)
    newline = "" if info.format in _RAW_NEWLINES else None
    try:
        with info.path.open("r", encoding=info.encoding, newline=newline) as stream:
            yield from read(stream, str(info.path))
    except UnicodeDecodeError:
        scan_file(info.path, info.encoding)  # the error that names the line
        raise


def write_records(
    records: Iterable[Record], stream: TextIO, fmt: str, *, extra_fields: Sequence[str] = ()
) -> int:
    """Write ``records`` to ``stream`` in export format ``fmt``; return how many were written.

    ``extra_fields`` names values of each record's ``extra`` written too: CSV columns before the
    record's own, BibTeX fields of those names, RIS notes (``N1  - name: value``).
    """
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    module_name, func_name = EXPORT_FORMATS[fmt]
    module = importlib.import_module(f"scoping.ingest.{module_name}")
    count: int = getattr(module, func_name)(records, stream, extra_fields=tuple(extra_fields))
    return count
