"""The record store: the only package that speaks SQL (SQLAlchemy Core; SQLite or PostgreSQL)."""

from __future__ import annotations

from scoping.store.core import (
    ImportRow,
    RecordValues,
    Store,
    StoredRecord,
    database_url,
    record_values,
    redact_url,
    refusal,
    utc_now,
)
from scoping.store.migrations import SCHEMA_VERSION
from scoping.store.values import WorkChange

__all__ = [
    "SCHEMA_VERSION",
    "ImportRow",
    "RecordValues",
    "Store",
    "StoredRecord",
    "WorkChange",
    "database_url",
    "record_values",
    "redact_url",
    "refusal",
    "utc_now",
]
