"""The topics stage over a review's store: fit, show, refine, map and chart.

Every function here takes a :class:`~scoping.store.Store` and plain values and returns plain
data; the CLI only parses and presents. The works a fit reads come either from screening
(:func:`works_from_screening`: the works included at a stage) or from the records of a file
of included works (:func:`works_from_records`); either way they are stored with the fit, so a
fit can be shown, split and mapped later without its input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoping.errors import UsageError
from scoping.records import Record, doc_type_label, normalise_doi, normalise_pmid, normalise_title_key
from scoping.store import Store
from scoping.store import topics_tables as tables
from scoping.topics import evidence
from scoping.topics.charting import check_value, find_field, split_value
from scoping.topics.profiles import WorkText
from scoping.topics.refine import (
    Edit,
    RawTopic,
    SplitPart,
    TopicState,
    apply_edits,
    base_state,
    carry_ids,
)

if TYPE_CHECKING:
    from scoping.topics.model import TopicModel

__all__ = [
    "STAGES",
    "FitResult",
    "LoadedFit",
    "MapFiles",
    "WorkInput",
    "WorksFile",
    "chart_import",
    "chart_set",
    "chart_table",
    "doc_type_term",
    "fit_topics",
    "load_fit",
    "max_topic_id",
    "merge_topics",
    "move_work",
    "rename_topic",
    "resolve_work",
    "split_topic",
    "topic_counts",
    "work_key",
    "work_texts",
    "works_from_records",
    "works_from_screening",
    "write_evidence_map",
]

STAGES = ("title-abstract", "full-text")


@dataclass(frozen=True, slots=True)
class WorkInput:
    """One work to fit topics to."""

    key: str
    title: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    year: int | None = None
    doc_type: str | None = None
    authors: tuple[str, ...] = ()
    journal: str | None = None
    doi: str | None = None

    @property
    def text(self) -> WorkText:
        return WorkText(self.title, self.abstract, self.keywords)

    def as_row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "abstract": self.abstract,
            "keywords": list(self.keywords),
            "year": self.year,
            "doc_type": self.doc_type,
            "authors": list(self.authors),
            "journal": self.journal,
            "doi": self.doi,
        }


def max_topic_id(store: Store) -> int:
    """The largest topic number used so far, by a fit or by a lead's split (the new numbers a
    split gave its parts, ``payload["into"]``)."""
    top = tables.max_fit_topic_id(store)
    for edit in tables.list_edits(store):
        if edit.action == "split":
            top = max([top, *(int(t) for t in edit.payload.get("into", []))])
    return top


def work_key(record: Record, position: int) -> str:
    """A work's name that survives re-reading: DOI, else PMID, else title (+ year), else row.

    ``doi:10.1000/xyz``, ``pmid:12345``, ``title:peer support work in mental health:2019``,
    ``row:17`` (the 1-based position, for records without any of the others).
    """
    if record.doi:
        return f"doi:{record.doi}"
    if record.pmid:
        return f"pmid:{record.pmid}"
    title = normalise_title_key(record.title)
    if title:
        return f"title:{title[:150]}" + (f":{record.year}" if record.year else "")
    return f"row:{position + 1}"


@dataclass(frozen=True, slots=True)
class WorksFile:
    """The works read from a file, and what was left out."""

    works: list[WorkInput]
    source: str
    duplicates: int = 0


def works_from_records(records: Iterable[Record], *, source: str) -> WorksFile:
    """The included works from records (read by the CLI from a CSV/RIS/... file).

    Records with the same work key (same DOI, PMID, or title and year) count once.
    """
    works: list[WorkInput] = []
    seen: set[str] = set()
    duplicates = 0
    for position, record in enumerate(records):
        key = work_key(record, position)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        works.append(
            WorkInput(
                key=key,
                title=record.title,
                abstract=record.abstract,
                keywords=tuple(record.keywords),
                year=record.year,
                doc_type=record.doc_type,
                authors=tuple(record.authors),
                journal=record.journal,
                doi=record.doi,
            )
        )
    if not works:
        raise UsageError(f"{source} holds no records; pass a file of the included works")
    return WorksFile(works=works, source=source, duplicates=duplicates)


def works_from_screening(store: Store, stage: str = "full-text") -> list[WorkInput]:
    """The works screening included at ``stage`` (key ``work:<id>``), from their records.

    A work's values are its merged view (:func:`scoping.dedupe.merge_records`, the one policy
    the screening cards and ``scoping dedupe show`` use too); its keywords are every record's,
    so that the topic model reads all the terms the databases gave. Raises a
    :class:`~scoping.errors.UsageError` saying what to do when no work is included at
    ``stage`` (no screening results yet, or none final).
    """
    from scoping.screen.outcomes import final_outcomes
    from scoping.store import screen_tables

    if stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r}; choose one of: {', '.join(STAGES)}")
    included = sorted(w for w, o in final_outcomes(store, stage).items() if o.outcome == "include")
    if not included:
        other = STAGES[0] if stage == STAGES[1] else STAGES[1]
        n_other = sum(1 for o in final_outcomes(store, other).values() if o.outcome == "include")
        hint = f" ({n_other} are included at {other}: pass --stage {other})" if n_other else ""
        raise UsageError(
            f"no works are included at {stage} yet{hint}; screening results are needed, "
            "or pass --works FILE with the included records (CSV, RIS...)"
        )
    works: list[WorkInput] = []
    for work_id in included:
        works.append(_merged(work_id, screen_tables.work_records(store, work_id)))
    return works


def _merged(work_id: int, stored: Sequence[tuple[int, str, Record]]) -> WorkInput:
    from scoping.dedupe.merge import merge_records

    view = merge_records(work_id, stored)
    records = [record for _, _, record in stored]
    keywords: list[str] = []
    seen: set[str] = set()
    for r in records:
        for kw in r.keywords:
            if kw.casefold() not in seen:
                seen.add(kw.casefold())
                keywords.append(kw)
    return WorkInput(
        key=f"work:{work_id}",
        title=view.value("title"),
        abstract=view.value("abstract"),
        keywords=tuple(keywords),
        year=view.value("year"),
        doc_type=view.value("doc_type"),
        authors=tuple(view.value("authors") or ()),
        journal=view.value("journal"),
        doi=view.value("doi"),
    )


# -- fitting ------------------------------------------------------------------------------


@dataclass(slots=True)
class LoadedFit:
    """A stored fit with the lead's edits replayed."""

    fit: tables.FitRow
    works: list[tables.WorkRow]
    state: TopicState
    edits: list[Edit]

    @property
    def works_by_key(self) -> dict[str, tables.WorkRow]:
        return {w.key: w for w in self.works}


@dataclass(slots=True)
class FitResult:
    """A new fit: the stored fit after replaying edits, and how its topics relate to earlier ones."""

    loaded: LoadedFit
    carried: dict[int, float]
    """Topic numbers carried over from earlier fits, with the similarity of the match."""
    new: list[int]
    lost_named: list[tuple[int, str]] = field(default_factory=list)
    """Named topics (renamed by the lead) that have no counterpart in this fit."""
    duplicates: int = 0


def _model(n_topics: int | str, random_state: int, threshold: float) -> TopicModel:
    from scoping.topics.model import TopicModel  # scikit-learn, only when fitting

    return TopicModel(n_topics=n_topics, random_state=random_state, threshold=threshold)


def fit_topics(
    store: Store,
    works: Sequence[WorkInput],
    *,
    source: str,
    made_by: str,
    n_topics: int | str = "auto",
    random_state: int = 0,
    threshold: float = 0.2,
) -> FitResult:
    """Fit topics to ``works``, carry topic numbers over from earlier fits, store, replay edits."""
    if not works:
        raise UsageError("there are no works to fit topics to")
    keys = [w.key for w in works]
    if len(set(keys)) != len(keys):
        raise UsageError("two works share a key; pass each work once")
    model = _model(n_topics, random_state, threshold).fit([w.text for w in works])
    profiles = [model.topic_terms(k) for k in range(model.n_topics_)]
    ids, similarity = carry_ids(tables.known_profiles(store), profiles, next_id=max_topic_id(store) + 1)
    members = [
        (keys[i], ids[k], float(model.membership_[i, k]), float(model.representativeness_[i, k]))
        for i in range(len(works))
        for k in range(model.n_topics_)
        if model.membership_[i, k] > 0
    ]
    params = {
        "n_topics": n_topics,
        "n_topics_fitted": model.n_topics_,
        "random_state": random_state,
        "threshold": threshold,
        "model": {k: v for k, v in model.get_params().items() if k != "ngram_range"},
        "ngram_range": list(model.ngram_range),
    }
    fit_id = tables.add_fit(
        store,
        source=source,
        created_by=made_by,
        params=params,
        k_scores={str(k): v for k, v in getattr(model, "k_scores_", {}).items()},
        notes=model.notes_,
        works=[w.as_row() for w in works],
        topics=[
            {
                "topic_id": ids[k],
                "position": k,
                "auto_label": model.labels_[k],
                "terms": profiles[k],
                "similarity": similarity.get(ids[k]),
            }
            for k in range(model.n_topics_)
        ],
        members=members,
    )
    loaded = load_fit(store, fit_id)
    named = {int(e.payload["topic"]): str(e.payload["name"]) for e in loaded.edits if e.action == "rename"}
    lost = [
        (tid, name)
        for tid, name in sorted(named.items())
        if tid not in loaded.state.topics and not _consumed(tid, loaded.edits)
    ]
    return FitResult(
        loaded=loaded, carried=similarity, new=[t for t in ids if t not in similarity], lost_named=lost
    )


def _consumed(tid: int, edits: Sequence[Edit]) -> bool:
    """Whether a topic was merged into another or split (so its absence is expected)."""
    for e in edits:
        if e.action == "merge" and tid in [int(t) for t in e.payload["topics"][1:]]:
            return True
        if e.action == "split" and int(e.payload["topic"]) == tid:
            return True
    return False


def _edits(store: Store) -> list[Edit]:
    return [
        Edit(id=e.id, action=e.action, payload=e.payload, made_by=e.made_by, made_at=e.made_at)
        for e in tables.list_edits(store)
    ]


def _splitter(works: Sequence[tables.WorkRow], random_state: int, threshold: float) -> Any:
    by_key = {w.key: w for w in works}

    def split(members: Mapping[str, float], parts: int, seed: int) -> list[SplitPart]:
        keys = [k for k in sorted(members) if k in by_key]
        texts = [WorkText(by_key[k].title, by_key[k].abstract, tuple(by_key[k].keywords)) for k in keys]
        from scoping.topics.model import TopicModel

        model = TopicModel(n_topics=parts, random_state=seed, threshold=threshold, n_top_terms=10).fit(texts)
        assignment = model.assign()
        out = []
        for t in range(model.n_topics_):
            rows = [i for i in range(len(keys)) if assignment.overlap[i, t]]
            out.append(
                SplitPart(
                    terms=model.topic_terms(t),
                    shares={keys[i]: members[keys[i]] * float(model.membership_[i, t]) for i in rows},
                    scores={keys[i]: float(model.representativeness_[i, t]) for i in rows},
                    auto_label=model.labels_[t],
                )
            )
        return out

    return split


def _latest(store: Store, fit_id: int | None) -> int:
    if fit_id is not None:
        if tables.get_fit(store, fit_id) is None:
            raise UsageError(f"there is no topic fit {fit_id}; see 'scoping topics show --fits'")
        return fit_id
    latest = tables.latest_fit_id(store)
    if latest is None:
        raise UsageError("there are no topics yet; run 'scoping topics fit' first")
    return latest


def load_fit(store: Store, fit_id: int | None = None) -> LoadedFit:
    """A stored fit (default: the latest) with every edit of the lead replayed on it."""
    fit_id = _latest(store, fit_id)
    fit = tables.get_fit(store, fit_id)
    assert fit is not None
    works = tables.fit_works(store, fit_id)
    shares: dict[int, dict[str, float]] = {}
    scores: dict[int, dict[str, float]] = {}
    for m in tables.fit_members(store, fit_id):
        shares.setdefault(m.topic_id, {})[m.work_key] = m.share
        scores.setdefault(m.topic_id, {})[m.work_key] = m.score
    raw = [
        RawTopic(
            id=t.topic_id,
            auto_label=t.auto_label,
            terms=t.terms,
            shares=shares.get(t.topic_id, {}),
            scores=scores.get(t.topic_id, {}),
        )
        for t in tables.fit_topics(store, fit_id)
    ]
    threshold = float(fit.params.get("threshold", 0.2))
    state = base_state(raw, [w.key for w in works], threshold)
    edits = _edits(store)
    apply_edits(state, edits, _splitter(works, int(fit.params.get("random_state", 0)), threshold))
    return LoadedFit(fit=fit, works=works, state=state, edits=edits)


def topic_counts(store: Store) -> list[tuple[str, int]] | None:
    """Included works per topic, ``(label, works)``, of the latest fit after the lead's edits,
    in topic order; ``None`` before the first fit. The PRISMA counts report these."""
    if tables.latest_fit_id(store) is None:
        return None
    state = load_fit(store).state
    return [(topic.label, len(topic.members)) for topic in sorted(state.topics.values(), key=lambda t: t.id)]


# -- refining -----------------------------------------------------------------------------


def _record(
    store: Store, loaded: LoadedFit, action: str, payload: Mapping[str, Any], made_by: str
) -> LoadedFit:
    row = tables.add_edit(store, fit_id=loaded.fit.id, action=action, payload=payload, made_by=made_by)
    edit = Edit(id=row.id, action=action, payload=row.payload, made_by=made_by, made_at=row.made_at)
    threshold = loaded.state.threshold
    apply_edits(
        loaded.state,
        [edit],
        _splitter(loaded.works, int(loaded.fit.params.get("random_state", 0)), threshold),
    )
    loaded.edits.append(edit)
    return loaded


def rename_topic(store: Store, topic: str, name: str, *, made_by: str) -> LoadedFit:
    """Name a topic; the name follows the topic through refits."""
    loaded = load_fit(store)
    tid = loaded.state.resolve(topic)
    name = " ".join(name.split())
    if not name:
        raise UsageError("the new name is empty")
    for other in loaded.state.topics.values():
        if other.id != tid and other.label.casefold() == name.casefold():
            raise UsageError(
                f"{other.ref} is already called {other.label!r}; choose another name "
                f"or merge the two (scoping topics merge T{tid} {other.ref})"
            )
    return _record(store, loaded, "rename", {"topic": tid, "name": name}, made_by)


def merge_topics(store: Store, topics: Sequence[str], *, name: str | None, made_by: str) -> LoadedFit:
    """Merge topics into the first one named."""
    loaded = load_fit(store)
    ids: list[int] = []
    for ref in topics:
        tid = loaded.state.resolve(ref)
        if tid not in ids:
            ids.append(tid)
    if len(ids) < 2:
        raise UsageError("name at least two different topics to merge")
    payload: dict[str, Any] = {"topics": ids}
    if name and name.strip():
        payload["name"] = " ".join(name.split())
    return _record(store, loaded, "merge", payload, made_by)


def split_topic(
    store: Store, topic: str, *, parts: int = 2, made_by: str, seed: int | None = None
) -> tuple[LoadedFit, list[int]]:
    """Split a topic into ``parts`` new topics (a topic model of its works); returns their numbers."""
    if parts < 2:
        raise UsageError("split a topic into at least 2 parts")
    loaded = load_fit(store)
    tid = loaded.state.resolve(topic)
    members = loaded.state.topics[tid].members
    if len(members) < 2 * parts:
        raise UsageError(
            f"T{tid} has {len(members)} works, too few to split into {parts} "
            f"(at least {2 * parts} are needed)"
        )
    seed = int(loaded.fit.params.get("random_state", 0)) if seed is None else seed
    splitter = _splitter(loaded.works, seed, loaded.state.threshold)
    pieces = splitter(members, parts, seed)
    if len(pieces) < 2:
        raise UsageError(
            f"the works of T{tid} do not separate into {parts} topics "
            "(their texts are too alike); leave it whole or move works by hand"
        )
    first = max_topic_id(store) + 1
    into = list(range(first, first + len(pieces)))
    payload = {
        "topic": tid,
        "into": into,
        "seed": seed,
        "profiles": {str(t): dict(piece.terms) for t, piece in zip(into, pieces, strict=True)},
    }
    return _record(store, loaded, "split", payload, made_by), into


def resolve_work(loaded: LoadedFit, work: str) -> str:
    """A work key from a key, a bare DOI or PMID, or a work's number in the fit (``#12``)."""
    keys = loaded.works_by_key
    text = work.strip()
    if text in keys:
        return text
    if text.startswith("#") and text[1:].isdigit():
        position = int(text[1:]) - 1
        if 0 <= position < len(loaded.works):
            return loaded.works[position].key
    doi = normalise_doi(text)
    if doi and f"doi:{doi}" in keys:
        return f"doi:{doi}"
    if text.isdigit():
        pmid = normalise_pmid(text)
        if pmid and f"pmid:{pmid}" in keys:
            return f"pmid:{pmid}"
    raise UsageError(
        f"no work {work!r} in the current fit; use a key shown by "
        "'scoping topics show TOPIC' (like doi:10.1000/xyz), a DOI or #N"
    )


def move_work(store: Store, work: str, topic: str, *, into: bool, made_by: str) -> LoadedFit:
    """Put a work into a topic (``into``) or take it out."""
    loaded = load_fit(store)
    key = resolve_work(loaded, work)
    tid = loaded.state.resolve(topic)
    inside = key in loaded.state.topics[tid].members
    if into and inside:
        raise UsageError(f"{key} is already in T{tid}")
    if not into and not inside:
        raise UsageError(f"{key} is not in T{tid}")
    return _record(
        store, loaded, "move", {"work": key, "topic": tid, "direction": "in" if into else "out"}, made_by
    )


# -- the evidence map ---------------------------------------------------------------------


@dataclass(slots=True)
class MapFiles:
    """The files an evidence map was written to."""

    folder: Path
    files: list[Path]


def doc_type_term(value: str | None) -> str:
    """A document type in words, as every table and picture shows it (``JOUR``, ``article``
    -> "Journal article", ``ser`` -> "Serial"; :func:`scoping.records.doc_type_label`), or ""."""
    return doc_type_label(value) or ""


def work_texts(works: Iterable[tables.WorkRow]) -> dict[str, str]:
    """Each work's title, abstract and keywords as one text (what its terms are found in)."""
    return {w.key: " ".join([w.title or "", w.abstract or "", *w.keywords]) for w in works}


def write_evidence_map(
    store: Store, folder: str | os.PathLike[str], *, fields: Sequence[tables.ChartField] = ()
) -> MapFiles:
    """Write the evidence map of the current topics into ``folder`` (made if missing)."""
    loaded = load_fit(store)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = loaded.state
    works = loaded.works_by_key
    files: list[Path] = []
    rows = evidence.topic_rows(state)
    files.append(evidence.write_csv(rows, out / "topics.csv"))
    summary = {
        "fit": loaded.fit.id,
        "source": loaded.fit.source,
        "works": len(loaded.works),
        "threshold": state.threshold,
        "topics": rows,
        "skipped_edits": state.skipped,
    }
    files.append(
        evidence.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", out / "topics.json")
    )

    years = {k: [str(w.year)] for k, w in works.items() if w.year}
    by_year = evidence.cross_table(state, years, columns=evidence.year_columns(years))
    files.append(evidence.write_csv(by_year.rows(), out / "topic_year.csv"))
    binned, bins = evidence.year_bins(years)  # the picture: empty years dropped, long spreads binned
    files.append(
        evidence.draw_heatmap(
            evidence.cross_table(state, binned, columns=bins),
            out / "topic_year.png",
            title="Works by topic and publication year",
            xlabel="year",
        )
    )
    types = {k: [doc_type_term(w.doc_type)] for k, w in works.items() if doc_type_term(w.doc_type)}
    by_type = evidence.cross_table(state, types)
    files.append(evidence.write_csv(by_type.rows(), out / "topic_doctype.csv"))
    files.append(
        evidence.draw_heatmap(
            by_type,
            out / "topic_doctype.png",
            title="Works by topic and document type",
            xlabel="document type",
        )
    )
    charted = tables.current_chart_values(store)
    for f in fields:
        values = {w: split_value(f, v) for (w, name), v in charted.items() if name == f.name}
        if not values:
            continue
        table = evidence.cross_table(state, values)
        files.append(evidence.write_csv(table.rows(), out / f"topic_chart_{f.name}.csv"))
        files.append(
            evidence.draw_heatmap(
                table,
                out / f"topic_chart_{f.name}.png",
                title=f"Works by topic and {f.name} (charted)",
                xlabel=f.name,
            )
        )
    graph = evidence.cooccurrence_graph(state)
    files.append(evidence.write_graphml(graph, out / "topic_network.graphml"))
    files.append(
        evidence.draw_network(graph, out / "topic_network.png", title="Topics and the works they share")
    )
    network = evidence.vosviewer_network(state, work_texts(loaded.works))
    files.append(
        evidence.write_text(
            json.dumps(network, indent=1, ensure_ascii=False) + "\n", out / "topic_network_vosviewer.json"
        )
    )
    map_text, network_text = evidence.vosviewer_files(network)
    files.append(evidence.write_text(map_text, out / "topic_network_vosviewer_map.txt"))
    files.append(evidence.write_text(network_text, out / "topic_network_vosviewer_network.txt"))
    info = {k: {"year": w.year, "title": w.title, "doi": w.doi} for k, w in works.items()}
    files.append(evidence.write_csv(evidence.ranked_works(state, info), out / "topic_works.csv"))
    return MapFiles(folder=out, files=files)


# -- charting -----------------------------------------------------------------------------


def chart_set(
    store: Store, fields: Sequence[tables.ChartField], work: str, field_name: str, value: str, *, made_by: str
) -> tuple[str, str | None]:
    """Chart one value of one work; returns the work key and the value stored."""
    loaded = load_fit(store)
    key = resolve_work(loaded, work)
    f = find_field(fields, field_name)
    stored = check_value(f, value)
    tables.sync_chart_fields(store, fields)
    tables.add_chart_values(store, [(key, f.name, stored)], made_by=made_by)
    return key, stored


def chart_import(
    store: Store, fields: Sequence[tables.ChartField], path: str | os.PathLike[str], *, made_by: str
) -> int:
    """Chart values from a CSV: a ``work`` column (key, DOI or #N) and one column per field.

    Every row is checked before anything is stored; empty cells are left alone.
    """
    import csv

    loaded = load_fit(store)
    source = Path(path)
    try:
        with source.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.DictReader(stream)
            header = [h.strip() for h in reader.fieldnames or []]
            rows = list(reader)
    except FileNotFoundError:
        raise UsageError(f"{source} does not exist") from None
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text; save it as CSV UTF-8") from None
    if "work" not in header:
        raise UsageError(
            f"{source}: needs a 'work' column (work key, DOI or #N) and one column per charting field"
        )
    used = [find_field(fields, h) for h in header if h != "work"]
    if not used:
        raise UsageError(
            f"{source}: no charting field columns; the protocol defines: " + ", ".join(f.name for f in fields)
        )
    values: list[tuple[str, str, str | None]] = []
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "") for k, v in row.items()}
        try:
            key = resolve_work(loaded, row["work"])
            for f in used:
                cell = row.get(f.name, "")
                if cell.strip():
                    values.append((key, f.name, check_value(f, cell)))
        except UsageError as exc:
            raise UsageError(f"{source}, line {line}: {exc}") from None
    tables.sync_chart_fields(store, fields)
    return tables.add_chart_values(store, values, made_by=made_by)


def chart_table(store: Store, fields: Sequence[tables.ChartField], field_name: str) -> evidence.CrossTable:
    """Works per topic and value of a charting field (uncharted works under ``(unknown)``)."""
    loaded = load_fit(store)
    f = find_field(fields, field_name)
    charted = tables.current_chart_values(store)
    values = {w: split_value(f, v) for (w, name), v in charted.items() if name == f.name}
    return evidence.cross_table(loaded.state, values)
