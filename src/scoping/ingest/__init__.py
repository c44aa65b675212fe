"""Readers and writers of bibliographic export files.

``read_file(path)`` inspects a file (encoding, format, content hash) and yields its records;
``write_records(records, stream, fmt)`` writes them back out. Each format lives in its own
module with ``read(stream, path)`` (and, for export formats, ``write(records, stream)``), so a
format can be used on its own like ``json``: ``scoping.ingest.ris.read(open("x.ris"), "x.ris")``.
"""

from __future__ import annotations

import codecs
import importlib
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from queue import Empty
from typing import Any, TextIO, cast, overload

from scoping.errors import FormatError, ScopingError, UsageError
from scoping.ingest.sniff import FORMATS, FileInfo, detect_format, inspect_file, scan_file
from scoping.records import Record
from scoping.spawn import can_spawn, child_start, parse_workers

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
"""Files at least this large are parsed in a second process while the first one stores."""


Encoder = Callable[[Record], tuple[Any, ...]]
"""Turns a record into a tuple whose first item is the record's line (see :func:`iter_records`)."""


@overload
def iter_records(
    info: FileInfo, *, background: bool | None = None, encode: None = None
) -> Iterator[Record]: ...
@overload
def iter_records(
    info: FileInfo, *, background: bool | None = None, encode: Encoder
) -> Iterator[tuple[Any, ...]]: ...
def iter_records(
    info: FileInfo, *, background: bool | None = None, encode: Encoder | None = None
) -> Iterator[Record] | Iterator[tuple[Any, ...]]:
    """Yield the records of an inspected file, in file order, streaming.

    Raises :class:`~scoping.errors.FormatError` (naming the line or record) on malformed
    input, possibly after some records were yielded: callers that store records must do so in
    one transaction.

    With ``background`` (default: for files of :data:`BACKGROUND_BYTES` or more) the file is
    parsed in a child process, in batches handed over through a bounded queue, so that parsing
    and storing use both cores of a two-core machine.

    With ``encode`` (a module-level function, so that parser processes can call it) each record
    is yielded as ``encode(record)``, computed where the record was parsed: a tuple of plain
    values crosses from a parser process several times faster than a record does. Its first
    item must be the record's line, which is counted from the start of the whole file.
    """
    if background is None:
        background = info.size >= BACKGROUND_BYTES and can_spawn()
    if background:
        if _in_parts(info):
            return _iter_in_parts(info, parse_workers(), encode)
        return _iter_in_background(info, encode)
    records = _iter_here(info)
    return records if encode is None else map(encode, records)


def reads_in_parts(info: FileInfo) -> bool:
    """Whether :func:`iter_records` reads this file in parts, side by side, by default: a large
    RIS or PubMed XML file on a machine with two or more cores. Every byte of such a file is
    decoded strictly by the parser processes, so the file need not be decoded beforehand (see
    ``inspect_file(whole=False)``)."""
    return info.size >= BACKGROUND_BYTES and can_spawn() and _in_parts(info)


def _in_parts(info: FileInfo) -> bool:
    return parse_workers() >= 2 and info.format in _PART_MARKERS and _splittable(info.encoding)


# -- large RIS and PubMed XML files: parts read side by side -----------------------------------

PART_BYTES = 8 * 1024 * 1024
"""Size of the parts a large RIS or PubMed XML file is cut into for the parser processes."""

_PART_MARKERS: dict[str, bytes] = {"ris": b"\nTY  -", "pubmed-xml": b"</PubmedArticle>"}
"""Where a part may end: before the line that opens a RIS record, after a PubMed article."""

_XML_SET = b"<PubmedArticleSet"
_XML_SET_END = "</PubmedArticleSet>"


def _splittable(encoding: str) -> bool:
    """Whether a cut at a newline or an ASCII tag is a cut between characters."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name in {"utf-8", "utf-8-sig", "ascii", "latin-1"} or name.startswith(("cp125", "iso8859"))


def _cuts(info: FileInfo) -> list[int]:
    """Offsets that cut the file into parts of about :data:`PART_BYTES`, each ending where a
    record ends (so that every part but the first starts with a record)."""
    marker = _PART_MARKERS[info.format]
    ris = info.format == "ris"
    offsets = [0]
    with info.path.open("rb") as stream:
        target = PART_BYTES
        while target < info.size:
            stream.seek(target)
            window = stream.read(1 << 20)
            at = window.find(marker)
            while at == -1 and len(window) < (64 << 20):
                more = stream.read(1 << 20)
                if not more:
                    break
                window += more
                at = window.find(marker)
            if at == -1:
                break
            cut = target + at + (1 if ris else len(marker))
            if not ris:
                following = window.find(b"<PubmedArticle", at)
                if following == -1:
                    break  # the last article: nothing left for another part
            offsets.append(cut)
            target = cut + PART_BYTES
    offsets.append(info.size)
    return offsets


def _read_part(
    info: FileInfo, start: int, end: int, head: bytes, encode: Encoder | None
) -> tuple[list[Any], int, int]:
    """In a parser process: the records of bytes ``start``-``end`` of the file (encoded, with
    ``encode``), the lines that part holds, and the lines of the document head put in front of
    it (PubMed XML)."""
    with info.path.open("rb") as stream:
        stream.seek(start)
        data = stream.read(end - start)
    encoding = info.encoding
    if start and codecs.lookup(encoding).name == "utf-8-sig":
        encoding = "utf-8"
    body = _newlines(data.decode(encoding))
    text, head_lines = body, 0
    if info.format == "pubmed-xml":
        if start:
            head_text = _newlines(head.decode(info.encoding))
            text, head_lines = head_text + body, head_text.count("\n")
        if end < info.size:
            text += _XML_SET_END
    module_name, func_name = _READERS[info.format]
    reader = getattr(importlib.import_module(f"scoping.ingest.{module_name}"), func_name)
    from scoping.ingest.pubmed_xml import TextSlices

    records = reader(cast(TextIO, TextSlices(text)), str(info.path))
    items = list(records) if encode is None else list(map(encode, records))
    return items, body.count("\n"), head_lines


def _newlines(text: str) -> str:
    """Line ends as a text stream reads them (``\\r\\n`` and ``\\r`` become ``\\n``)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _iter_in_parts(info: FileInfo, workers: int, encode: Encoder | None) -> Iterator[Any]:
    """Parse the parts of a large file in ``workers`` processes, two parts each ahead, and give
    the records in file order with their lines counted in the whole file. A part that fails
    (malformed text, a record cut in two, anything) sends the file to the ordinary reader,
    which gives the exact error (or the records) from where the parts stopped."""
    cuts = _cuts(info)
    if len(cuts) < 3:
        yield from _read_whole(info, encode)
        return
    head = b""
    if info.format == "pubmed-xml":
        with info.path.open("rb") as stream:
            first = stream.read(1 << 20)
        opening = first.find(_XML_SET)
        closing = first.find(b">", opening) if opening != -1 else -1
        if closing == -1:
            yield from _read_whole(info, encode)
            return
        head = first[: closing + 1]
    parts = deque(itertools.pairwise(cuts))
    given = 0
    failed = False
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=child_start,
        initargs=(os.getpid(),),
    )
    try:
        pending: deque[Future[tuple[list[Any], int, int]]] = deque()

        def submit() -> None:
            while parts and len(pending) < 2 * workers:
                start, end = parts.popleft()
                pending.append(pool.submit(_read_part, info, start, end, head, encode))

        submit()
        lines_before = 0
        while pending:
            try:
                items, lines, head_lines = pending.popleft().result()
            except Exception:  # the ordinary reader says what is wrong
                failed = True
                break
            submit()
            shift = lines_before - head_lines
            given += len(items)
            if encode is None:
                for record in items:
                    if record.line is not None:
                        record.line += shift
                yield from items
            elif shift:
                for values in items:
                    yield values if values[0] is None else (values[0] + shift, *values[1:])
            else:
                yield from items
            lines_before += lines
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if failed:
        if not info.sha256:  # only sniffed: a byte the encoding refuses is told at once
            scan_file(info.path, info.encoding)
        rest = itertools.islice(_iter_here(info), given, None)
        yield from (rest if encode is None else map(encode, rest))


def _read_whole(info: FileInfo, encode: Encoder | None) -> Iterator[Any]:
    """A file that cannot be cut into parts after all, read by one parser process; one that was
    only sniffed (no hash yet) is first decoded through, as a reader may stop before its end."""
    if not info.sha256:
        scan_file(info.path, info.encoding)
    yield from _iter_in_background(info, encode)


def _iter_here(info: FileInfo) -> Iterator[Record]:
    module_name, func_name = _READERS[info.format]
    module = importlib.import_module(f"scoping.ingest.{module_name}")
    reader = getattr(module, func_name)
    newline = "" if info.format in _RAW_NEWLINES else None
    try:
        with info.path.open("r", encoding=info.encoding, newline=newline) as stream:
            yield from reader(stream, str(info.path))
    except UnicodeDecodeError:
        scan_file(info.path, info.encoding)  # the error that names the line
        raise


_BATCH = 500


def _produce(info: FileInfo, queue: Any, encode: Encoder | None, parent: int) -> None:
    """Child process: parse the file and put batches (then "done" or the error) on the queue."""
    child_start(parent)
    batch: list[Any] = []
    try:
        for record in _iter_here(info):
            batch.append(record if encode is None else encode(record))
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


def _iter_in_background(info: FileInfo, encode: Encoder | None) -> Iterator[Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue(maxsize=16)
    process = context.Process(
        target=_produce,
        args=(info, queue, encode, os.getpid()),
        daemon=True,
        name=f"scoping-reader-{info.path.name}",
    )
    process.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=5)
            except Empty:
                if not process.is_alive():
                    raise FormatError(
                        str(info.path),
                        "the reader process stopped unexpectedly",
                        "try again; if it happens again, report it",
                    ) from None
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
