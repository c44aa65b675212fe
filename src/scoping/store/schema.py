"""The store's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

JSON values (authors, keywords, extra) are stored as JSON text written and read by the store
itself, so both databases hold the same bytes.

This module holds the shared ``metadata`` and the foundation's tables (``meta``, ``imports``,
``records``); each stage's tables are in its own ``*_tables`` module, on the same metadata. It
imports none of them: :mod:`scoping.store.migrations` gathers them all, creates them in a new
database and brings an older one up to ``SCHEMA_VERSION`` (the one place tables are made).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["APP_NAME", "content_index", "imports", "meta", "metadata", "record_work", "records"]

APP_NAME = "scoping"

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("file_path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("encoding", sa.Text, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("search_run", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    # 1 when the file was imported with --again: a repeat of earlier content, allowed on purpose
    sa.Column("again", sa.Integer, nullable=False, server_default="0"),
)

_FIRST_IMPORT = sa.and_(imports.c.again == 0, imports.c.search_run.is_(None), imports.c.sha256 != "")
content_index = sa.Index(
    "uq_imports_content",
    imports.c.sha256,
    unique=True,
    sqlite_where=_FIRST_IMPORT,
    postgresql_where=_FIRST_IMPORT,
)
"""A file's content is imported once: two commands importing the same file at the same moment
cannot both store it (the database refuses the second, not a check before the insert). Imports
with ``--again``, the pages of a search run, and a file whose hash is still being computed
(``sha256`` is empty until the end of its transaction) are not held to it."""

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("source", sa.Text, nullable=False, index=True),
    sa.Column("source_id", sa.Text, nullable=True),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("abstract", sa.Text, nullable=True),
    sa.Column("authors", sa.Text, nullable=False),  # JSON
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("journal", sa.Text, nullable=True),
    sa.Column("volume", sa.Text, nullable=True),
    sa.Column("issue", sa.Text, nullable=True),
    sa.Column("pages", sa.Text, nullable=True),
    sa.Column("doi", sa.Text, nullable=True, index=True),
    sa.Column("pmid", sa.Text, nullable=True, index=True),
    sa.Column("issn", sa.Text, nullable=True),
    sa.Column("isbn", sa.Text, nullable=True),
    sa.Column("publisher", sa.Text, nullable=True),
    sa.Column("keywords", sa.Text, nullable=False),  # JSON
    sa.Column("language", sa.Text, nullable=True),
    sa.Column("doc_type", sa.Text, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("extra", sa.Text, nullable=False),  # JSON
    sa.Column("raw", sa.Text, nullable=False),
    sa.UniqueConstraint("import_id", "position", name="uq_records_import_position"),
)

record_work = sa.Table(
    "record_work",
    metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("work_id", sa.Integer, nullable=False, index=True),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Column("linked_by", sa.Text, nullable=False),  # "rule" or "person"
    sa.Column("updated_at", sa.String(40), nullable=False),
)
"""Which work each record belongs to: written by de-duplication (:mod:`scoping.store.dedupe_tables`),
read by every later stage. Kept here with the records so that the stages' table modules need not
import each other."""
