"""The ingest stage over a review's store (its entry module): import files, inspect, refuse repeats,
read, store in one transaction.

The files one command names are stored in one transaction too (:func:`import_files`, or
:meth:`Store.together <scoping.store.Store.together>` around :func:`import_file`): all of
them, or none when any fails.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from scoping.errors import DuplicateImportError, FormatError, TruncatedFileError, UsageError
from scoping.ingest import FileInfo, inspect_file, iter_records, reads_in_parts, scan_file
from scoping.ingest.sniff import FORMAT_LABELS
from scoping.store import ImportRow, Store, record_values

__all__ = ["ImportResult", "import_file", "import_files", "inspect_files"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """One file imported: what was found out about it and the stored import row."""

    info: FileInfo
    row: ImportRow


def _check_source(source: str) -> str:
    name = source.strip()
    if not name:
        raise UsageError("--source is empty; name the database the file was exported from")
    return name


def inspect_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    workers: int = 0,
) -> list[FileInfo]:
    """Inspect every file first, so one bad file stops the command before anything is stored.

    A single file that ``workers`` will read in parts (a large RIS or PubMed XML file, two
    workers or more) is only sniffed here: its parser processes decode every byte of it, and
    :func:`import_file` hashes it while they do, instead of both waiting for a first pass
    through the whole file.
    """
    if len(paths) == 1:
        info = inspect_file(paths[0], encoding=encoding, fmt=fmt, whole=False)
        if reads_in_parts(info, workers):
            return [info]
        return [replace(info, sha256=scan_file(info.path, info.encoding)[0])]
    return [inspect_file(path, encoding=encoding, fmt=fmt) for path in paths]


class _Hasher(threading.Thread):
    """The SHA-256 of a file, computed beside the parser processes (hashlib lets go of the
    interpreter lock while it hashes, so this costs the storing thread little)."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="scoping-hash", daemon=True)
        self.path = path
        self.digest = ""
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            with self.path.open("rb") as stream:
                self.digest = hashlib.file_digest(stream, "sha256").hexdigest()
        except OSError as exc:
            self.error = exc

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise FormatError(
                str(self.path),
                f"it could not be read to the end ({self.error})",
                "check the file and import it again",
            )
        return self.digest


def import_file(
    store: Store,
    info: FileInfo,
    *,
    source: str,
    again: bool = False,
    search_run: str | None = None,
    progress: Callable[[int], None] | None = None,
    note: str | None = None,
    skip_incomplete: bool = False,
    workers: int = 0,
) -> ImportResult:
    """Store the records of one inspected file, tagged with ``source``.

    A file whose content was imported before is refused (``DuplicateImportError``) unless
    ``again``. Malformed records raise :class:`~scoping.errors.FormatError` and nothing of the
    file is stored. ``note`` is kept with the import (the search log shows it).

    A file that ends inside its last record (:class:`~scoping.errors.TruncatedFileError`) is
    refused too, unless ``skip_incomplete``: then the complete records are stored and the
    import's note says what was skipped, and where.

    ``workers``: processes that may parse a large file while this one stores (see
    :func:`scoping.ingest.iter_records`; by default everything runs in this process).
    """
    source = _check_source(source)
    skipped: list[TruncatedFileError] = []
    sha256: str | Callable[[], str] = info.sha256
    if not info.sha256:  # only sniffed (inspect_files): hash it while it is read
        hasher = _Hasher(info.path)
        hasher.start()
        # the same content has the same size: only then can the file be a repeat
        if not again and any(earlier.size == info.size for earlier in store.list_imports()):
            _refuse_repeat(store, info, hasher.result())
        sha256 = hasher.result
    elif not again:
        _refuse_repeat(store, info, info.sha256)
    row = store.add_import(
        source=source,
        file_path=str(info.path.resolve()),
        sha256=sha256,
        size=info.size,
        format=info.format,
        encoding=info.encoding,
        records=_at_least_one(
            _complete_only(iter_records(info, workers=workers, encode=record_values), skipped), info
        )
        if skip_incomplete
        else _at_least_one(iter_records(info, workers=workers, encode=record_values), info),
        search_run=search_run,
        progress=progress,
        again=again,
        note=(lambda: _skipped_note(note, skipped)) if skip_incomplete else note,
    )
    return ImportResult(info=info, row=row)


def _complete_only(records: Iterable[T], skipped: list[TruncatedFileError]) -> Iterator[T]:
    """The records up to the incomplete one a truncated file ends with (kept in ``skipped``)."""
    try:
        yield from records
    except TruncatedFileError as exc:
        skipped.append(exc)


def _skipped_note(note: str | None, skipped: list[TruncatedFileError]) -> str | None:
    if not skipped:
        return note
    told = f"--skip-incomplete: the incomplete end of the file was skipped ({skipped[0].problem})"
    return f"{note}; {told}" if note else told


def _refuse_repeat(store: Store, info: FileInfo, sha256: str) -> None:
    earlier = store.find_imports_by_hash(sha256)
    if earlier:
        first = earlier[0]
        raise DuplicateImportError(
            str(info.path),
            f"this content was imported before (import {first.id}, {first.file_name}, "
            f"source {first.source!r}, {first.imported_at[:19].replace('T', ' ')})",
            "pass --again to import it a second time",
        )


def import_files(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    *,
    source: str,
    fmt: str | None = None,
    encoding: str | None = None,
    again: bool = False,
    workers: int = 0,
) -> list[ImportResult]:
    """Inspect all ``paths``, then import them in one transaction: all or none (``workers``: see
    :func:`import_file`)."""
    source = _check_source(source)
    infos = inspect_files(paths, fmt=fmt, encoding=encoding, workers=workers)
    with store.together():
        return [import_file(store, info, source=source, again=again, workers=workers) for info in infos]


def _at_least_one(records: Iterable[T], info: FileInfo) -> Iterator[T]:
    """The records, and a :class:`FormatError` at the end if there were none: a file that
    parses to nothing (a header-only CSV, a RIS file read as BibTeX) is a mistake, and storing
    an empty import would make the right import of the same file look like a repeat."""
    count = 0
    for record in records:
        count += 1
        yield record
    if count == 0:
        label = FORMAT_LABELS.get(info.format, info.format)
        raise FormatError(
            str(info.path),
            f"no records were found in it read as {label}",
            "check that it is the export you meant, or name its format with --format",
        )
