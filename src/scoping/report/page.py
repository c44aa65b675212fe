"""The review report: each stage's results gathered into one self-contained HTML page.

The report stage reads the others (search, dedupe, screen, topics: the edges the stage graph in
docs/architecture.md gives it) through their public library API and the store, fills the plain
dataclasses of :mod:`scoping.report.html` and renders them. A stage that has not run yet
leaves its section empty, and the page says so; nothing here fails because a stage is missing.

=============================  ==================================================================
command                        library call
=============================  ==================================================================
``scoping report``             :func:`build_report` (:func:`gather` then
                               :func:`~scoping.report.html.render_report`)
=============================  ==================================================================

Reviewers are blinded here as in every screening command: while screening is under way (any
work at a stage of the protocol is pending, in conflict or not started), the progress of each
reviewer and the agreement between reviewers are gathered only for a lead of the protocol
(``reviewer=``, ``--reviewer``); the page made for anyone else says they are left out. Once
every work has a final outcome at every stage, the page shows them to anyone. The aggregate
PRISMA counts are always shown.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scoping.errors import ScopingError
from scoping.files import replace_into
from scoping.report import html
from scoping.report.api import BLINDED_NOTE, prisma_counts, render_prisma
from scoping.report.prisma import PrismaCounts
from scoping.review import Review
from scoping.store import Store

__all__ = ["REPORT_FILE", "build_report", "gather"]

REPORT_FILE = "report.html"
"""Written into the review's ``outputs/``."""

REPRESENTATIVE = 5
"""The most representative works shown for each topic."""


# -- search log ----------------------------------------------------------------------------


def _limits(limits: Mapping[str, Any]) -> str:
    parts = []
    for key, value in limits.items():
        if value in (None, "", [], (), {}):
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _search(review: Review, store: Store, notes: dict[str, str]) -> list[html.SearchRow] | None:
    from scoping.search import load_strategy, search_log

    try:
        strategy = load_strategy(review.strategy_path)
    except ScopingError:
        return _imports_only(store)
    try:
        entries = search_log(store, strategy)
    except ScopingError as exc:
        notes["search"] = f"The search log cannot be read: {exc}"
        return None
    return [
        html.SearchRow(
            database=e.database,
            platform=e.interface or e.platform,
            method=e.method,
            date=e.date,
            query=e.query,
            limits=_limits(e.limits),
            hits=e.hit_count,
            retrieved=e.retrieved,
            status=e.status,
            reference=e.reference,
            note=e.note,
        )
        for e in entries
    ] or None


def _imports_only(store: Store) -> list[html.SearchRow] | None:
    return [
        html.SearchRow(
            database=imp.source,
            platform="",
            method="export",
            date=imp.imported_at,
            query="",
            limits="",
            hits=None,
            retrieved=imp.n_records,
            status="imported",
            reference=imp.file_name,
        )
        for imp in store.list_imports()
    ] or None


# -- PRISMA --------------------------------------------------------------------------------


def _prisma(counts: PrismaCounts) -> html.PrismaData:
    rows: list[tuple[str, str, int | None, str]] = []

    def add(key: str, label: str) -> None:
        count = counts.count(key)
        note = count.note or ("" if count.complete else "so far")
        if count.source == "manual":
            note = (note + "; " if note else "") + "entered by hand"
        rows.append((key, label, count.n, note))

    ident = counts.identification
    add("identification.records_identified", "Records identified")
    for line in ident.databases:
        rows.append(
            (
                f"identification.databases:{line.name}",
                f"    {line.name}",
                line.n,
                "" if line.complete else "so far",
            )
        )
    for line in ident.registers:
        rows.append(
            (
                f"identification.registers:{line.name}",
                f"    {line.name} (register)",
                line.n,
                "" if line.complete else "so far",
            )
        )
    add("identification.duplicates_removed", "Duplicate records removed")
    add("identification.automation_removed", "Records marked ineligible by automation tools")
    add("identification.other_removed", "Records removed for other reasons")
    add("screening.records_screened", "Records screened")
    add("screening.records_excluded", "Records excluded")
    add("screening.reports_sought", "Reports sought for retrieval")
    add("screening.reports_not_retrieved", "Reports not retrieved")
    add("screening.reports_assessed", "Reports assessed for eligibility")
    add("screening.reports_excluded", "Reports excluded")
    for line in counts.screening.reports_excluded_reasons:
        rows.append(
            (
                f"screening.reports_excluded_reasons:{line.name}",
                f"    {line.name}",
                line.n,
                "" if line.complete else "so far",
            )
        )
    if counts.other_methods is not None:
        add("other_methods.records_identified", "Records identified from other methods")
    add("included.studies", "Studies included in review")
    add("included.reports", "Reports of included studies")
    svg = render_prisma(counts, "svg")
    return html.PrismaData(svg=svg, rows=rows, notes=counts.notes, complete=counts.complete)


# -- de-duplication ------------------------------------------------------------------------


def _overlap(store: Store, notes: dict[str, str]) -> html.OverlapData | None:
    from scoping.dedupe import api as dedupe_api

    if store.count_records() == 0:
        notes["dedupe"] = "No records are imported yet, so there is nothing to de-duplicate."
        return None
    try:
        table = dedupe_api.overlap(store)
    except ScopingError as exc:
        notes["dedupe"] = f"De-duplication is not up to date: {exc}."
        return None
    rows = [
        html.OverlapRow(s.source, s.records, s.works, s.unique_works, s.internal_duplicates)
        for s in table.sources
    ]
    return html.OverlapData(rows, table.total_records, table.total_works, table.works_in_several_sources)


# -- screening -----------------------------------------------------------------------------


def _protocol(review: Review, notes: dict[str, str]) -> Any:
    from scoping import screen

    if not review.protocol_path.is_file():
        notes["screening"] = "There is no screening protocol (screening/protocol.toml) yet."
        return None
    try:
        return screen.load_protocol(review.protocol_path)
    except ScopingError as exc:
        notes["screening"] = f"The screening protocol cannot be read: {exc}"
        return None


def _viewer(review: Review, protocol: Any, reviewer: str | None) -> str | None:
    """The lead the page is made for (``None``: anyone); a UsageError for anyone but a lead."""
    if reviewer is None:
        return None
    if protocol is None:
        from scoping.errors import UsageError

        raise UsageError(
            f"--reviewer needs a readable screening protocol ({review.protocol_path}) "
            "to check the name against"
        )
    name: str = protocol.lead(reviewer).name
    return name


def _screening_finished(store: Store, protocol: Any) -> bool:
    """Whether every work of every stage of the protocol has a final outcome.

    A work is unfinished while it is pending, in conflict, or not started: eligible for the
    stage (or allocated there) with no decision yet. Works the stopping rule excluded count as
    final. A stage with nothing eligible and nothing allocated is finished.
    """
    from scoping import screen
    from scoping.store import screen_tables

    existing = set(screen_tables.work_ids(store))
    for stage in [s for s in screen.STAGES if s in protocol.stages]:
        eligible = set(screen.eligible_works(store, stage))
        allocated = {w for w, _ in screen_tables.assignments(store, stage)} & existing
        if stage == screen.FULL_TEXT:
            allocated &= eligible  # a lead took back the title-abstract inclusion
        final = {
            w
            for w, o in screen.final_outcomes(store, stage).items()
            if o.outcome not in ("pending", "conflict")
        }
        if stage == screen.TITLE_ABSTRACT:
            final.update(screen.automation_excluded(store, stage))
        if (eligible | allocated) - final:
            return False
    return True


def _screening_started(store: Store, protocol: Any) -> bool:
    from scoping import screen
    from scoping.store import screen_tables

    return any(screen_tables.assignments(store, s) for s in screen.STAGES if s in protocol.stages)


def _screening(
    store: Store, protocol: Any, notes: dict[str, str], viewer: str | None = None
) -> tuple[list[html.StageProgress] | None, list[html.AgreementRow] | None]:
    """The team's progress and agreement, as a lead sees them (the caller checks blinding)."""
    from scoping import screen

    if protocol is None or not protocol.leads:
        if protocol is not None:
            notes["screening"] = "The protocol names no lead, so the team's progress is not shown."
        return None, None
    lead = viewer or protocol.leads[0].name
    stages = screen.status(store, protocol, lead)
    progress = [
        html.StageProgress(
            stage=s.stage,
            reviewers=[
                html.ReviewerRow(r.reviewer, r.assigned, r.done, dict(r.decisions)) for r in s.reviewers
            ],
            works=s.works,
            allocated=s.allocated,
            outcomes=dict(s.outcomes or {}),
        )
        for s in stages
    ]
    started = any(s.allocated for s in stages)
    agreement: list[html.AgreementRow] = []
    for s in stages:
        for pair in screen.team_agreement(store, protocol, lead, s.stage):
            f = pair.figures
            agreement.append(
                html.AgreementRow(
                    stage=s.stage,
                    first=pair.first,
                    second=pair.second,
                    n=f.n,
                    percent=f.percent,
                    kappa=f.kappa,
                    kappa_ci=f.kappa_ci,
                    pabak=f.pabak,
                    ac1=f.ac1,
                    ac1_ci=f.ac1_ci,
                    label=f.label,
                )
            )
    return (progress if started else None), (agreement or None)


def _simulated(store: Store, blinded: bool) -> html.SimulatedShare | None:
    """How many decisions (and resolutions) simulated reviewers made, from their markers in the
    store (:data:`scoping.screen.SIMULATED_VIA`, :data:`~scoping.screen.SIMULATED_LEAD_NOTE`);
    ``None`` when every decision is a person's. Withdrawals ("undone") are not decisions."""
    from scoping.screen import SIMULATED_LEAD_NOTE, SIMULATED_VIA
    from scoping.store import screen_tables

    simulated, decisions = screen_tables.count_by(store, via=SIMULATED_VIA)
    if not simulated:
        return None
    if blinded:  # the totals would tell a reviewer how far the others are
        return html.SimulatedShare(None, None)
    by_lead, resolutions = screen_tables.count_by(store, note=SIMULATED_LEAD_NOTE)
    return html.SimulatedShare(simulated, decisions, by_lead, resolutions)


def _included_stage(store: Store, protocol: Any) -> tuple[str | None, list[int]]:
    """The last stage of the protocol with final inclusions, and the works included there."""
    from scoping import screen

    if protocol is None:
        return None, []
    for stage in reversed([s for s in screen.STAGES if s in protocol.stages]):
        works = sorted(w for w, o in screen.final_outcomes(store, stage).items() if o.outcome == "include")
        if works:
            return stage, works
        if stage == screen.FULL_TEXT and any(screen.final_outcomes(store, stage).values()):
            return stage, []  # full-text screening is under way: title-abstract is not the answer
    return None, []


def _included(
    store: Store, work_ids: list[int], topics: Mapping[str, list[str]]
) -> list[html.IncludedSource]:
    from scoping.dedupe.merge import merge_records
    from scoping.store import screen_tables

    out = []
    records = screen_tables.works_records(store, work_ids)
    for wid in work_ids:
        merged = merge_records(wid, records.get(wid, []))
        value = {name: chosen.value for name, chosen in merged.fields.items()}
        doi = value.get("doi")
        labels = topics.get(f"work:{wid}") or (topics.get(f"doi:{doi}") if doi else None) or []
        out.append(
            html.IncludedSource(
                work=wid,
                title=value.get("title"),
                authors=list(value.get("authors") or []),
                year=value.get("year"),
                journal=value.get("journal"),
                doi=doi,
                topics=list(labels),
            )
        )
    out.sort(key=lambda s: (-(s.year or 0), (s.title or "").casefold()))
    return out


# -- topics --------------------------------------------------------------------------------


def _chart_fields(review: Review) -> list[Any]:
    """The protocol's charting fields (none when it has none or cannot be read)."""
    from scoping.topics.charting import read_chart_fields

    try:
        return read_chart_fields(review.protocol_path) if review.protocol_path.is_file() else []
    except ScopingError:
        return []


def _topics(
    store: Store, notes: dict[str, str], fields: Sequence[Any] = ()
) -> tuple[html.TopicsData | None, dict[str, list[str]]]:
    try:
        from scoping.store import topics_tables
        from scoping.topics import api as topics_api
        from scoping.topics import evidence
    except ImportError:
        notes["topics"] = "Topics have not been fitted: this installation has no topics stage."
        return None, {}
    if topics_tables.latest_fit_id(store) is None:
        return None, {}
    try:
        loaded = topics_api.load_fit(store)
    except ScopingError as exc:
        notes["topics"] = f"The topics cannot be read: {exc}"
        return None, {}
    state = loaded.state
    rows = [
        html.TopicRow(
            ref=r["topic"],
            label=r["label"],
            works=r["works"],
            main_topic_of=r["main_topic_of"],
            top_terms=list(r["top_terms"])[:8],
        )
        for r in evidence.topic_rows(state)
    ]
    figures: list[html.Figure] = []
    network: html.Figure | None = None
    works = loaded.works_by_key
    years = {k: [str(w.year)] for k, w in works.items() if w.year}
    with tempfile.TemporaryDirectory(prefix="scoping-report-") as tmp:
        if years and state.topics:
            binned, bins = evidence.year_bins(years)
            table = evidence.cross_table(state, binned, columns=bins)
            path = evidence.draw_heatmap(
                table,
                Path(tmp) / "topic_year.png",
                title="Works by topic and publication year",
                xlabel="year",
            )
            figures.append(
                html.Figure("Evidence map: included works by topic and publication year.", path.read_bytes())
            )
        if state.topics:
            path = evidence.draw_network(
                evidence.cooccurrence_graph(state),
                Path(tmp) / "network.png",
                title="Topics and the works they share",
            )
            network = html.Figure(
                "Topic co-occurrence network: each circle is a topic, sized by its "
                "works; a line joins two topics that share works, thicker the "
                "more they share.",
                path.read_bytes(),
            )
    # the same document types, in the same vocabulary, as outputs/topics/topic_doctype.csv
    types = {k: [t] for k, w in works.items() if (t := topics_api.doc_type_term(w.doc_type))}
    doc_types = None
    if types and state.topics:
        by_type = evidence.cross_table(state, types)
        doc_types = html.CrossTab(
            columns=list(by_type.columns),
            rows=[
                (f"T{tid}", label, [int(n) for n in by_type.counts[i]])
                for i, (tid, label) in enumerate(zip(by_type.topics, by_type.labels, strict=True))
            ],
        )
    info = {k: {"year": w.year, "title": w.title, "doi": w.doi} for k, w in works.items()}
    representative: dict[str, html.TopicWorks] = {}
    for row in evidence.ranked_works(state, info):
        topic = representative.setdefault(row["topic"], html.TopicWorks(row["topic"], row["label"], []))
        if row["rank"] <= REPRESENTATIVE:
            topic.works.append(
                html.RepresentativeWork(
                    title=row["title"] or None,
                    year=row["year"] or None,
                    doi=row["doi"] or None,
                    share=row["share"],
                )
            )
    labels = {t.id: f"{t.ref} {t.label}" for t in state.topics.values()}
    by_work = {w: [labels[t] for t in tids] for w, tids in state.memberships().items()}
    for key, w in works.items():
        if w.doi and key in by_work:
            by_work.setdefault(f"doi:{w.doi}", by_work[key])
    gap_maps, gap_works = _gap_maps(store, state, works, fields)
    data = html.TopicsData(
        fit=loaded.fit.id,
        source=loaded.fit.source,
        n_works=len(loaded.works),
        topics=rows,
        figures=figures,
        doc_types=doc_types,
        network=network,
        representative=[t for t in representative.values() if t.works],
        gap_maps=gap_maps,
        gap_works=gap_works,
    )
    return data, by_work


def _gap_maps(
    store: Store, state: Any, works: Mapping[str, Any], fields: Sequence[Any]
) -> tuple[list[html.GapMapData], list[html.RepresentativeWork]]:
    """The evidence-gap maps, the first shown first: topics against each charted field that
    has values, the document type, and the publication years (binned as the heatmap is)."""
    from scoping.store import topics_tables
    from scoping.topics import api as topics_api
    from scoping.topics import charting, evidence

    dimensions: list[tuple[str, dict[str, list[str]], list[str] | None]] = []
    charted = topics_tables.current_chart_values(store)
    for f in fields:
        values = {w: charting.split_value(f, v) for (w, name), v in charted.items() if name == f.name}
        if any(values.values()):
            dimensions.append((f.description or f.name, values, None))
    types = {k: [t] for k, w in works.items() if (t := topics_api.doc_type_term(w.doc_type))}
    if types and len({t for values in types.values() for t in values}) > 1:
        dimensions.append(("Document type", types, None))
    binned, bins = evidence.year_bins({k: [str(w.year)] for k, w in works.items() if w.year})
    if bins:
        dimensions.append(("Publication year", binned, bins))
    if types and len({t for values in types.values() for t in values}) == 1:
        dimensions.append(("Document type", types, None))  # one type: a map of one column, last
    position: dict[str, int] = {}
    listed: list[html.RepresentativeWork] = []
    maps: list[html.GapMapData] = []
    for name, categories, columns in dimensions:
        gap = evidence.gap_map(state, categories, dimension=name, columns=columns)
        cells: list[list[list[int]]] = []
        for row in gap.cells:
            cells.append([])
            for keys in row:
                for key in keys:
                    if key not in position:
                        position[key] = len(listed)
                        w = works.get(key)
                        listed.append(
                            html.RepresentativeWork(
                                title=w.title if w else None,
                                year=w.year if w else None,
                                doi=w.doi if w else None,
                            )
                        )
                cells[-1].append([position[k] for k in keys])
        rows = [(f"T{tid}", label) for tid, label in zip(gap.topics, gap.labels, strict=True)]
        maps.append(html.GapMapData(dimension=name, rows=rows, columns=gap.columns, cells=cells))
    return maps, listed


# -- the page ------------------------------------------------------------------------------


def gather(review: Review, *, reviewer: str | None = None, topics: bool = True) -> html.ReportData:
    """Every stage's results for the report, as plain data.

    ``reviewer`` names the person asking; it must be a lead of the protocol (a
    :class:`~scoping.errors.UsageError` otherwise). Without it, the progress of each reviewer
    and the agreement between reviewers are left out while screening is under way.
    ``topics=False`` draws the PRISMA diagram without the topic box.
    """
    from scoping.report.api import no_topics, review_title

    notes: dict[str, str] = {}
    protocol = _protocol(review, notes)
    viewer = _viewer(review, protocol, reviewer)
    try:
        title = review_title(review)
    except ScopingError:
        title = None
    data = html.ReportData(
        title=title, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), notes=notes
    )
    with review.open_store() as store:
        blinded = (
            protocol is not None
            and viewer is None
            and _screening_started(store, protocol)
            and not _screening_finished(store, protocol)
        )
    try:
        counts = prisma_counts(review, topics=None if topics else no_topics, blinded=blinded)
    except ScopingError as exc:
        notes["prisma"] = f"The PRISMA counts cannot be made: {exc}"
        counts = None
    if blinded:
        notes["prisma-blinded"] = f"PRISMA: {BLINDED_NOTE}."
    with review.open_store() as store:
        data.search = _search(review, store, notes)
        if counts is not None and store.count_records():
            data.prisma = _prisma(counts)
        data.overlap = _overlap(store, notes)
        if blinded:
            data.screening_blinded = True
        else:
            data.screening, data.agreement = _screening(store, protocol, notes, viewer)
        data.simulated = _simulated(store, data.screening_blinded)
        data.topics, by_work = _topics(store, notes, _chart_fields(review))
        stage, work_ids = _included_stage(store, protocol)
        if blinded:  # which works are included so far tells the others' decisions
            stage, work_ids = None, []
        data.included_stage = stage
        if work_ids:
            data.included = _included(store, work_ids, by_work)
            if stage != "full-text" and protocol is not None and "full-text" in protocol.stages:
                data.included_note = (
                    "These passed title-abstract screening; full-text screening "
                    "has not included any source yet, so none is final."
                )
        elif stage is not None:
            notes["included"] = f"No source is included at {stage} yet."
    return data


def build_report(
    review: Review,
    out: str | os.PathLike[str] | None = None,
    *,
    reviewer: str | None = None,
    topics: bool = True,
) -> Path:
    """Write the report page to ``out`` (default ``outputs/report.html``), whole or not at all.

    ``reviewer``: the lead asking (see :func:`gather`); a reviewer's name is refused.
    """
    target = Path(out) if out is not None else review.outputs_dir / REPORT_FILE
    if not target.parent.is_dir():
        if out is not None:
            from scoping.errors import UsageError

            raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")
        target.parent.mkdir(parents=True)
    data = gather(review, reviewer=reviewer, topics=topics)
    checklist = review.outputs_dir / "prisma-scr-checklist.html"
    if checklist.is_file():
        data.checklist = Path(os.path.relpath(checklist.resolve(), target.parent.resolve())).as_posix()
    page = html.render_report(data)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(page)
        os.chmod(tmp_name, 0o644)
        replace_into(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
