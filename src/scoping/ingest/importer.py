"""Import files into the store: inspect, refuse repeats, read, store in one transaction."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from scoping.errors import DuplicateImportError, FormatError, UsageError
from scoping.ingest import FileInfo, inspect_file, iter_records
from scoping.ingest.sniff import FORMAT_LABELS
from scoping.records import Record
from scoping.store import ImportRow, Store

__all__ = ["ImportResult", "import_file", "import_files", "inspect_files"]


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


def inspect_files(paths: Sequence[str | os.PathLike[str]], *, fmt: str | None = None,
                  encoding: str | None = None) -> list[FileInfo]:
    """Inspect every file first, so one bad file stops the command before anything is stored."""
    return [inspect_file(path, encoding=encoding, fmt=fmt) for path in paths]


def import_file(
    store: Store,
    info: FileInfo,
    *,
    source: str,
    again: bool = False,
    search_run: str | None = None,
    progress: Callable[[int], None] | None = None,
    note: str | None = None,
) -> ImportResult:
    """Store the records of one inspected file, tagged with ``source``.

    A file whose content was imported before is refused (``DuplicateImportError``) unless
    ``again``. Malformed records raise :class:`~scoping.errors.FormatError` and nothing of the
    file is stored. ``note`` is kept with the import (the search log shows it).
    """
    source = _check_source(source)
    if not again:
        earlier = store.find_imports_by_hash(info.sha256)
        if earlier:
            first = earlier[0]
            raise DuplicateImportError(
                str(info.path),
                f"this content was imported before (import {first.id}, {first.file_name}, "
                f"source {first.source!r}, {first.imported_at[:19].replace('T', ' ')})",
                "pass --again to import it a second time",
            )
    row = store.add_import(
        source=source,
        file_path=str(info.path.resolve()),
        sha256=info.sha256,
        size=info.size,
        format=info.format,
        encoding=info.encoding,
        records=_at_least_one(iter_records(info), info),
        search_run=search_run,
        progress=progress,
        note=note,
    )
    return ImportResult(info=info, row=row)


def import_files(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    *,
    source: str,
    fmt: str | None = None,
    encoding: str | None = None,
    again: bool = False,
) -> list[ImportResult]:
    """Inspect all ``paths``, then import each in its own transaction."""
    source = _check_source(source)
    infos = inspect_files(paths, fmt=fmt, encoding=encoding)
    return [import_file(store, info, source=source, again=again) for info in infos]


def _at_least_one(records: Iterable[Record], info: FileInfo) -> Iterator[Record]:
    """The records, and a :class:`FormatError` at the end if there were none: a file that
    parses to nothing (a header-only CSV, a RIS file read as BibTeX) is a mistake, and storing
    an empty import would make the right import of the same file look like a repeat."""
    count = 0
    for record in records:
        count += 1
        yield record
    if count == 0:
        label = FORMAT_LABELS.get(info.format, info.format)
        raise FormatError(str(info.path), f"no records were found in it read as {label}",
                          "check that it is the export you meant, or name its format with --format")
