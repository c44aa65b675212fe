"""The child process of test_import_atomic's race of four imports of one content.

A module of its own so that each spawned child imports only the store, not the test module
with the command line and everything it loads (about 0.4 s of CPU per child)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize

from scoping.errors import DuplicateImportError
from scoping.records import Record
from scoping.store import Store


def import_once(
    url: str, path: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue
) -> None:
    """Wait for ``start``, then import 3,000 records under one content hash; put "stored" or
    "refused" (the store's unique index said it is there already) on ``out``."""
    start.wait()
    try:
        with Store(url) as store:  # the schema is made; connect as a second command would
            store.add_import(
                source="X",
                file_path=path,
                sha256="c" * 64,
                size=1,
                format="ris",
                encoding="utf-8",
                records=[Record(title=f"t{i}") for i in range(3000)],
            )
        out.put("stored")
    except DuplicateImportError:
        out.put("refused")
