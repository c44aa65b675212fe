"""Values every table module writes or reads: the time stamp, who is writing, a stored record.

Kept apart from :mod:`scoping.store.core` so that the table modules (which
:mod:`scoping.store.migrations` imports, and ``core`` imports that) never import ``core``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scoping.records import FIELDS, Record

__all__ = ["StoredRecord", "WorkChange", "os_user", "stored_record", "utc_now"]


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, the form every stored timestamp takes."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def os_user() -> str:
    """The operating-system user running this process.

    On POSIX the name of the effective user id (from the password database, so setting
    ``USER`` or ``LOGNAME`` changes nothing); elsewhere :func:`getpass.getuser`.
    """
    if hasattr(os, "geteuid"):
        import pwd

        try:
            return pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:  # a uid without a name (some containers): the number is the name
            return str(os.geteuid())
    import getpass

    return getpass.getuser()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: its row id, where it came from, and the record itself."""

    id: int
    import_id: int
    position: int
    source: str
    record: Record


def stored_record(row: Any) -> StoredRecord:
    """A row of the records table (its mapping) as a :class:`StoredRecord`."""
    fields = {name: row[name] for name in FIELDS}
    fields["authors"] = json.loads(fields["authors"])
    fields["keywords"] = json.loads(fields["keywords"])
    record = Record(**fields, extra=json.loads(row["extra"]), raw=row["raw"], line=row["line"])
    return StoredRecord(
        id=row["id"],
        import_id=row["import_id"],
        position=row["position"],
        source=row["source"],
        record=record,
    )


@dataclass(frozen=True, slots=True)
class WorkChange:
    """Records that moved between works after screening began (a de-duplication run, a join,
    its undoing, a split), as the dedupe tables note it for the rows keyed by work to follow.

    ``before`` maps each work whose links changed to its record ids before the change;
    ``after`` each work holding those records afterwards to its record ids; ``by`` is who
    changed them and ``at`` when (an ISO timestamp).
    """

    before: dict[int, list[int]]
    after: dict[int, list[int]]
    by: str
    at: str
