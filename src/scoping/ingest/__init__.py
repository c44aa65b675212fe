"""Readers and writers of bibliographic export files.

``read_file(path)`` inspects a file (encoding, format, content hash) and yields its records;
``write_records(records, stream, fmt)`` writes them back out. Each format lives in its own
module with ``read(stream, path)`` (and, for export formats, ``write(records, stream)``), so a
format can be used on its own like ``json``: ``scoping.ingest.ris.read(open("x.ris"), "x.ris")``.
"""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Iterable, Iterator
from queue import Empty
from typing import Any, TextIO

from scoping.errors import FormatError, ScopingError, UsageError
from scoping.ingest.sniff import FORMATS, FileInfo, detect_format, inspect_file
from scoping.records import Record
from scoping.spawn import can_spawn

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


BACKGROUND_BYTES = 16 * 1024 * 1024
"""Files at least this large are parsed in a second process while the first one stores."""


def iter_records(info: FileInfo, *, background: bool | None = None) -> Iterator[Record]:
    """Yield the records of an inspected file, in file order, streaming.

    Raises :class:`~scoping.errors.FormatError` (naming the line or record) on malformed
    input, possibly after some records were yielded: callers that store records must do so in
    one transaction.

    With ``background`` (default: for files of :data:`BACKGROUND_BYTES` or more) the file is
    parsed in a child process, in batches handed over through a bounded queue, so that parsing
    and storing use both cores of a two-core machine.
    """
    if background is None:
        background = info.size >= BACKGROUND_BYTES and can_spawn()
    if background:
        yield from _iter_in_background(info)
        return
    yield from _iter_here(info)



def _iter_here(info: FileInfo) -> Iterator[Record]:
    module_name, func_name = _READERS[info.format]
    module = importlib.import_module(f"scoping.ingest.{module_name}")
    reader = getattr(module, func_name)
    newline = "" if info.format in _RAW_NEWLINES else None
    with info.path.open("r", encoding=info.encoding, newline=newline) as stream:
        yield from reader(stream, str(info.path))


_BATCH = 500


def _produce(info: FileInfo, queue: Any) -> None:
    """Child process: parse the file and put batches (then "done" or the error) on the queue."""
    batch: list[Record] = []
    try:
        for record in _iter_here(info):
            batch.append(record)
            if len(batch) >= _BATCH:
                queue.put(("records", batch))
                batch = []
        if batch:
            queue.put(("records", batch))
        queue.put(("done", None))
    except ScopingError as exc:
        queue.put(("error", exc))
    except Exception as exc:  # a reader bug: send it back with its description
        queue.put(("crash", f"{type(exc).__name__}: {exc}"))


def _iter_in_background(info: FileInfo) -> Iterator[Record]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue(maxsize=16)
    process = context.Process(target=_produce, args=(info, queue), daemon=True,
                              name=f"scoping-reader-{info.path.name}")
    process.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=5)
            except Empty:
                if not process.is_alive():
                    raise FormatError(str(info.path), "the reader process stopped unexpectedly",
                                      "try again; if it happens again, report it") from None
                continue
            if kind == "records":
                yield from payload
            elif kind == "done":
                return
            elif kind == "error":
                raise payload
            else:
                raise RuntimeError(f"reading {info.path} failed: {payload}")
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)
        queue.close()


def write_records(records: Iterable[Record], stream: TextIO, fmt: str) -> int:
    """Write ``records`` to ``stream`` in export format ``fmt``; return how many were written."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    module_name, func_name = EXPORT_FORMATS[fmt]
    module = importlib.import_module(f"scoping.ingest.{module_name}")
    count: int = getattr(module, func_name)(records, stream)
    return count
