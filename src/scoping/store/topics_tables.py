"""Tables and queries of the topics stage: fits, their works and topics, the lead's edits, charting.

::

    topic_fits      one row per fit: when, by whom, from which works, parameters, notes
    topic_works     the works a fit read (key, title, abstract, keywords, year, type...), so that
                    maps and splits can be made again without the input file
    topic_topics    a fit's raw topics: stable number, provisional label, term profile
    topic_members   a fit's topic shares per work (shares below 0.05 are not kept)
    topic_edits     the lead's refinements, appended (who, when, what); never updated
    chart_fields    the charting fields last read from the protocol
    chart_values    charted values, appended (who, when); the latest per (work, field) counts

Works are named by a *work key* (``doi:...``, ``pmid:...``, ``title:...``, or ``work:<id>``
once screening provides works), so edits and charted values outlive any one fit.

Every function takes a :class:`~scoping.store.Store`. The tables are made with every other
table (:mod:`scoping.store.migrations`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scoping.store.schema import metadata
from scoping.store.values import utc_now

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = [
    "ChartField",
    "ChartValue",
    "EditRow",
    "FitRow",
    "MemberRow",
    "TopicRow",
    "WorkRow",
    "add_chart_values",
    "add_edit",
    "add_fit",
    "chart_fields",
    "chart_history",
    "current_chart_values",
    "fit_members",
    "fit_topics",
    "fit_works",
    "get_fit",
    "known_profiles",
    "latest_fit_id",
    "list_edits",
    "list_fits",
    "max_fit_topic_id",
    "sync_chart_fields",
]

MEMBER_FLOOR = 0.05
"""Topic shares below this are not stored (a work's largest share always is)."""

topic_fits = sa.Table(
    "topic_fits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("n_works", sa.Integer, nullable=False),
    sa.Column("n_topics", sa.Integer, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("k_scores", sa.Text, nullable=False),  # JSON
    sa.Column("notes", sa.Text, nullable=False),  # JSON list
)

topic_works = sa.Table(
    "topic_works",
    metadata,
    sa.Column("fit_id", sa.Integer, sa.ForeignKey("topic_fits.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("work_key", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("abstract", sa.Text, nullable=True),
    sa.Column("keywords", sa.Text, nullable=False),  # JSON
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("doc_type", sa.Text, nullable=True),
    sa.Column("authors", sa.Text, nullable=False),  # JSON
    sa.Column("journal", sa.Text, nullable=True),
    sa.Column("doi", sa.Text, nullable=True),
    sa.UniqueConstraint("fit_id", "work_key", name="uq_topic_works_fit_key"),
)

topic_topics = sa.Table(
    "topic_topics",
    metadata,
    sa.Column("fit_id", sa.Integer, sa.ForeignKey("topic_fits.id"), primary_key=True),
    sa.Column("topic_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("auto_label", sa.Text, nullable=False),
    sa.Column("terms", sa.Text, nullable=False),  # JSON {term: weight}
    sa.Column("similarity", sa.Float, nullable=True),  # to the topic it was carried from
)

topic_members = sa.Table(
    "topic_members",
    metadata,
    sa.Column("fit_id", sa.Integer, sa.ForeignKey("topic_fits.id"), primary_key=True),
    sa.Column("work_key", sa.Text, primary_key=True),
    sa.Column("topic_id", sa.Integer, primary_key=True),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
)

topic_edits = sa.Table(
    "topic_edits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fit_id", sa.Integer, sa.ForeignKey("topic_fits.id"), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON
    sa.Column("made_by", sa.Text, nullable=False),
    sa.Column("made_at", sa.String(40), nullable=False),
)

chart_fields_table = sa.Table(
    "chart_fields",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("choices", sa.Text, nullable=False),  # JSON list, empty = free text
    sa.Column("multiple", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

chart_values_table = sa.Table(
    "chart_values",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("work_key", sa.Text, nullable=False, index=True),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=True),  # NULL: the value was cleared
    sa.Column("made_by", sa.Text, nullable=False),
    sa.Column("made_at", sa.String(40), nullable=False),
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _now() -> str:
    return utc_now()


def _engine(store: Store) -> sa.engine.Engine:
    return store.engine


# -- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FitRow:
    id: int
    created_at: str
    created_by: str
    source: str
    n_works: int
    n_topics: int
    params: dict[str, Any]
    k_scores: dict[str, Any]
    notes: list[str]


@dataclass(frozen=True, slots=True)
class WorkRow:
    position: int
    key: str
    title: str | None
    abstract: str | None
    keywords: list[str]
    year: int | None
    doc_type: str | None
    authors: list[str]
    journal: str | None
    doi: str | None


@dataclass(frozen=True, slots=True)
class TopicRow:
    topic_id: int
    position: int
    auto_label: str
    terms: dict[str, float]
    similarity: float | None


@dataclass(frozen=True, slots=True)
class MemberRow:
    work_key: str
    topic_id: int
    share: float
    score: float


@dataclass(frozen=True, slots=True)
class EditRow:
    id: int
    fit_id: int
    action: str
    payload: dict[str, Any]
    made_by: str
    made_at: str


@dataclass(frozen=True, slots=True)
class ChartField:
    name: str
    description: str
    choices: list[str]
    multiple: bool


@dataclass(frozen=True, slots=True)
class ChartValue:
    id: int
    work_key: str
    field: str
    value: str | None
    made_by: str
    made_at: str


def _fit_row(row: Any) -> FitRow:
    m = row._mapping
    return FitRow(
        id=m["id"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        source=m["source"],
        n_works=m["n_works"],
        n_topics=m["n_topics"],
        params=json.loads(m["params"]),
        k_scores=json.loads(m["k_scores"]),
        notes=json.loads(m["notes"]),
    )


# -- fits ---------------------------------------------------------------------------------


def add_fit(
    store: Store,
    *,
    source: str,
    created_by: str,
    params: Mapping[str, Any],
    k_scores: Mapping[str, Any],
    notes: Sequence[str],
    works: Sequence[Mapping[str, Any]],
    topics: Sequence[Mapping[str, Any]],
    members: Iterable[tuple[str, int, float, float]],
) -> int:
    """Store one fit whole (in one transaction) and return its id.

    ``works``: mappings with key, title, abstract, keywords, year, doc_type, authors, journal,
    doi. ``topics``: mappings with topic_id, position, auto_label, terms, similarity.
    ``members``: (work key, topic id, share, score) tuples; shares under :data:`MEMBER_FLOOR`
    are dropped unless they are the work's largest.
    """
    engine = _engine(store)
    with engine.begin() as conn:
        fit_id = int(
            conn.execute(
                topic_fits.insert()
                .values(
                    created_at=_now(),
                    created_by=created_by,
                    source=source,
                    n_works=len(works),
                    n_topics=len(topics),
                    params=_dumps(dict(params)),
                    k_scores=_dumps(dict(k_scores)),
                    notes=_dumps(list(notes)),
                )
                .returning(topic_fits.c.id)
            ).scalar_one()
        )
        rows = [
            {
                "fit_id": fit_id,
                "position": i,
                "work_key": w["key"],
                "title": w.get("title"),
                "abstract": w.get("abstract"),
                "keywords": _dumps(list(w.get("keywords") or [])),
                "year": w.get("year"),
                "doc_type": w.get("doc_type"),
                "authors": _dumps(list(w.get("authors") or [])),
                "journal": w.get("journal"),
                "doi": w.get("doi"),
            }
            for i, w in enumerate(works)
        ]
        for start in range(0, len(rows), 2000):
            conn.execute(topic_works.insert(), rows[start : start + 2000])
        if topics:
            conn.execute(
                topic_topics.insert(),
                [
                    {
                        "fit_id": fit_id,
                        "topic_id": int(t["topic_id"]),
                        "position": int(t["position"]),
                        "auto_label": t["auto_label"],
                        "terms": _dumps(dict(t["terms"])),
                        "similarity": t.get("similarity"),
                    }
                    for t in topics
                ],
            )
        best: dict[str, float] = {}
        kept: list[tuple[str, int, float, float]] = []
        pending = list(members)
        for work, _, share, _ in pending:
            if share > best.get(work, 0.0):
                best[work] = share
        for work, tid, share, score in pending:
            if share > 0 and (share >= MEMBER_FLOOR or share >= best.get(work, 0.0)):
                kept.append((work, tid, share, score))
        batch = [
            {"fit_id": fit_id, "work_key": w, "topic_id": int(t), "share": float(s), "score": float(sc)}
            for w, t, s, sc in kept
        ]
        for start in range(0, len(batch), 5000):
            conn.execute(topic_members.insert(), batch[start : start + 5000])
    return fit_id


def latest_fit_id(store: Store) -> int | None:
    with _engine(store).connect() as conn:
        value = conn.execute(sa.select(sa.func.max(topic_fits.c.id))).scalar_one()
    return None if value is None else int(value)


def get_fit(store: Store, fit_id: int) -> FitRow | None:
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(topic_fits).where(topic_fits.c.id == fit_id)).first()
    return None if row is None else _fit_row(row)


def list_fits(store: Store) -> list[FitRow]:
    with _engine(store).connect() as conn:
        rows = conn.execute(sa.select(topic_fits).order_by(topic_fits.c.id)).all()
    return [_fit_row(r) for r in rows]


def fit_works(store: Store, fit_id: int) -> list[WorkRow]:
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(topic_works).where(topic_works.c.fit_id == fit_id).order_by(topic_works.c.position)
        ).all()
    return [
        WorkRow(
            position=r.position,
            key=r.work_key,
            title=r.title,
            abstract=r.abstract,
            keywords=json.loads(r.keywords),
            year=r.year,
            doc_type=r.doc_type,
            authors=json.loads(r.authors),
            journal=r.journal,
            doi=r.doi,
        )
        for r in rows
    ]


def fit_topics(store: Store, fit_id: int) -> list[TopicRow]:
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(topic_topics).where(topic_topics.c.fit_id == fit_id).order_by(topic_topics.c.position)
        ).all()
    return [
        TopicRow(
            topic_id=r.topic_id,
            position=r.position,
            auto_label=r.auto_label,
            terms=json.loads(r.terms),
            similarity=r.similarity,
        )
        for r in rows
    ]


def fit_members(store: Store, fit_id: int) -> list[MemberRow]:
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(
                topic_members.c.work_key,
                topic_members.c.topic_id,
                topic_members.c.share,
                topic_members.c.score,
            ).where(topic_members.c.fit_id == fit_id)
        ).all()
    return [MemberRow(work_key=r.work_key, topic_id=r.topic_id, share=r.share, score=r.score) for r in rows]


def known_profiles(store: Store) -> dict[int, dict[str, float]]:
    """Every topic number a fit has produced, with its profile in the latest fit that had it."""
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(topic_topics.c.topic_id, topic_topics.c.terms).order_by(topic_topics.c.fit_id)
        ).all()
    return {int(r.topic_id): json.loads(r.terms) for r in rows}


def max_fit_topic_id(store: Store) -> int:
    """The largest topic number any fit has stored (0: none yet)."""
    with _engine(store).connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(topic_topics.c.topic_id))).scalar_one() or 0)


# -- edits --------------------------------------------------------------------------------


def add_edit(store: Store, *, fit_id: int, action: str, payload: Mapping[str, Any], made_by: str) -> EditRow:
    """Append one of the lead's edits."""
    made_at = _now()
    with _engine(store).begin() as conn:
        edit_id = int(
            conn.execute(
                topic_edits.insert()
                .values(
                    fit_id=fit_id,
                    action=action,
                    payload=_dumps(dict(payload)),
                    made_by=made_by,
                    made_at=made_at,
                )
                .returning(topic_edits.c.id)
            ).scalar_one()
        )
    return EditRow(
        id=edit_id, fit_id=fit_id, action=action, payload=dict(payload), made_by=made_by, made_at=made_at
    )


def list_edits(store: Store) -> list[EditRow]:
    with _engine(store).connect() as conn:
        rows = conn.execute(sa.select(topic_edits).order_by(topic_edits.c.id)).all()
    return [
        EditRow(
            id=r.id,
            fit_id=r.fit_id,
            action=r.action,
            payload=json.loads(r.payload),
            made_by=r.made_by,
            made_at=r.made_at,
        )
        for r in rows
    ]


# -- charting -----------------------------------------------------------------------------


def sync_chart_fields(store: Store, fields: Sequence[ChartField]) -> None:
    """Record the charting fields as the protocol defines them now (others are kept)."""
    now = _now()
    with _engine(store).begin() as conn:
        for f in fields:
            values = {
                "description": f.description,
                "choices": _dumps(list(f.choices)),
                "multiple": bool(f.multiple),
                "updated_at": now,
            }
            done = conn.execute(
                chart_fields_table.update().where(chart_fields_table.c.name == f.name), values
            ).rowcount
            if not done:
                conn.execute(chart_fields_table.insert(), {"name": f.name, **values})


def chart_fields(store: Store) -> list[ChartField]:
    with _engine(store).connect() as conn:
        rows = conn.execute(sa.select(chart_fields_table).order_by(chart_fields_table.c.name)).all()
    return [
        ChartField(
            name=r.name, description=r.description, choices=json.loads(r.choices), multiple=bool(r.multiple)
        )
        for r in rows
    ]


def add_chart_values(store: Store, values: Iterable[tuple[str, str, str | None]], *, made_by: str) -> int:
    """Append charted values ``(work key, field, value or None to clear)``, all in one transaction."""
    now = _now()
    rows = [{"work_key": w, "field": f, "value": v, "made_by": made_by, "made_at": now} for w, f, v in values]
    if rows:
        with _engine(store).begin() as conn:
            for start in range(0, len(rows), 2000):
                conn.execute(chart_values_table.insert(), rows[start : start + 2000])
    return len(rows)


def current_chart_values(store: Store) -> dict[tuple[str, str], str]:
    """(work key, field) -> the latest charted value (cleared values are left out)."""
    out: dict[tuple[str, str], str | None] = {}
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(
                chart_values_table.c.work_key, chart_values_table.c.field, chart_values_table.c.value
            ).order_by(chart_values_table.c.id)
        ).all()
    for r in rows:
        out[(r.work_key, r.field)] = r.value
    return {k: v for k, v in out.items() if v is not None}


def chart_history(store: Store, work_key: str | None = None) -> list[ChartValue]:
    query = sa.select(chart_values_table).order_by(chart_values_table.c.id)
    if work_key is not None:
        query = query.where(chart_values_table.c.work_key == work_key)
    with _engine(store).connect() as conn:
        rows = conn.execute(query).all()
    return [
        ChartValue(
            id=r.id, work_key=r.work_key, field=r.field, value=r.value, made_by=r.made_by, made_at=r.made_at
        )
        for r in rows
    ]
