"""Reading a large file in other processes, for :func:`scoping.ingest.iter_records` when its
caller gives ``workers`` (the straight path, in this process, is ``read_straight`` there).

- Two workers or more, and a RIS or PubMed XML file in an encoding where a cut at a newline
  or an ASCII tag is a cut between characters: the file is cut into parts of about
  :data:`PART_BYTES`, each ending where a record ends, parsed side by side (two parts per
  worker ahead), and given back in file order with their lines counted in the whole file
  (:func:`_iter_in_parts`). A part that fails sends the file to the straight reader, which
  gives the exact error (or the records) from where the parts stopped.
- Otherwise: one child process parses the whole file and hands the records over in batches
  through a bounded queue, so that parsing and storing use two cores
  (:func:`_iter_in_background`).

Every child is started with ``spawn`` and runs :func:`scoping.spawn.child_start` first (it
dies with the command, and lets go of its output).
"""

from __future__ import annotations

import codecs
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from queue import Empty
from typing import Any, TextIO, cast

from scoping.errors import FormatError, ScopingError
from scoping.ingest import Encoder, read_straight, reader
from scoping.ingest.sniff import FileInfo, scan_file
from scoping.spawn import child_start

__all__ = ["PART_BYTES", "iter_parallel", "splits"]


def iter_parallel(info: FileInfo, workers: int, encode: Encoder | None) -> Iterator[Any]:
    """The records of ``info`` (encoded with ``encode``), parsed by up to ``workers`` processes."""
    if workers >= 2 and splits(info):
        return _iter_in_parts(info, workers, encode)
    return _iter_in_background(info, encode)


def splits(info: FileInfo) -> bool:
    """Whether ``info`` can be cut into parts read side by side (its format and encoding)."""
    return info.format in _PART_MARKERS and _splittable(info.encoding)


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
    from scoping.ingest.pubmed_xml import TextSlices

    records = reader(info.format)(cast(TextIO, TextSlices(text)), str(info.path))
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
    head = _document_head(info)
    if head is None:
        yield from _read_whole(info, encode)
        return
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
            given += len(items)
            yield from _shifted(items, lines_before - head_lines, encode)
            lines_before += lines
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if failed:
        if not info.sha256:  # only sniffed: a byte the encoding refuses is told at once
            scan_file(info.path, info.encoding)
        rest = itertools.islice(read_straight(info), given, None)
        yield from (rest if encode is None else map(encode, rest))


def _document_head(info: FileInfo) -> bytes | None:
    """What every part of a PubMed XML file gets in front of it: the file's text up to the end of
    its ``<PubmedArticleSet ...>`` tag (None: no such tag near the start). Empty for RIS."""
    if info.format != "pubmed-xml":
        return b""
    with info.path.open("rb") as stream:
        first = stream.read(1 << 20)
    opening = first.find(_XML_SET)
    closing = first.find(b">", opening) if opening != -1 else -1
    return None if closing == -1 else first[: closing + 1]


def _shifted(items: list[Any], shift: int, encode: Encoder | None) -> Iterator[Any]:
    """A part's records (or encoded values) with their lines moved down by ``shift``: counted
    from the start of the whole file instead of the part (and its copy of the head)."""
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


def _read_whole(info: FileInfo, encode: Encoder | None) -> Iterator[Any]:
    """A file that cannot be cut into parts after all, read by one parser process; one that was
    only sniffed (no hash yet) is first decoded through, as a reader may stop before its end."""
    if not info.sha256:
        scan_file(info.path, info.encoding)
    yield from _iter_in_background(info, encode)


_BATCH = 500


def _produce(info: FileInfo, queue: Any, encode: Encoder | None, parent: int) -> None:
    """Child process: parse the file and put batches (then "done" or the error) on the queue."""
    child_start(parent)
    batch: list[Any] = []
    try:
        for record in read_straight(info):
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
