"""The PRISMA-ScR checklist filled from the review's data, and a statement of the automation used.

=============================  ==================================================================
command                        library call
=============================  ==================================================================
``scoping checklist``          :func:`write_checklist` (:func:`build_checklist`, then
                               :func:`to_markdown` and :func:`to_html`)
=============================  ==================================================================

PRISMA-ScR (Tricco et al. 2018, the PRISMA extension for scoping reviews) has 20 essential items
and 2 optional ones (12 and 16, critical appraisal). For each item the checklist says, in our
own words, what the item asks for, what the review's data says about it (from the store, the
protocol, the search strategy and the PRISMA counts: nothing is typed in), and where the
report shows it. What only the authors can write (the rationale, the objectives, the
discussion, the funding...) is left as a marked blank to fill in.

The automation statement follows the reporting asks of RAISE (Responsible use of AI in evidence
SynthEsis; Cochrane, Campbell, JBI and CEE): for each automated step, the method and the
version of scoping that ran it, its settings, what it decided or ordered, and how people
oversaw it, all read from the audit trail (the de-duplication run and the pair decisions, the
screening decisions and how they were made, the stopping rule's events, the topic fit).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from scoping.errors import ScopingError
from scoping.files import replace_into
from scoping.review import Review
from scoping.store import Store

__all__ = [
    "CHECKLIST_FILE",
    "AutomationStep",
    "Checklist",
    "ChecklistItem",
    "build_checklist",
    "to_html",
    "to_markdown",
    "write_checklist",
]

CHECKLIST_FILE = "prisma-scr-checklist"
"""Written into ``outputs/`` as ``.html`` and ``.md``."""

TO_FILL = "To be completed by the authors"
"""What a blank says: the data cannot answer this item."""

REPORT = "report.html"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One PRISMA-ScR item: what it asks, what the data says, where the report shows it."""

    number: int
    section: str
    title: str
    asks: str
    data: tuple[str, ...] = ()
    """What the review's data says (empty: nothing recorded)."""
    where: tuple[tuple[str, str], ...] = ()
    """``(label, link)`` of where the report or the outputs show it."""
    people: bool = False
    """Only the authors can answer it: a marked blank (``data`` may still help them)."""
    optional: bool = False


@dataclass(frozen=True, slots=True)
class AutomationStep:
    """One automated step of the review, as the audit trail records it."""

    step: str
    method: str
    used: bool
    settings: tuple[str, ...] = ()
    did: tuple[str, ...] = ()
    """What it decided or ordered, with numbers."""
    oversight: tuple[str, ...] = ()
    """What people checked or decided."""


@dataclass(slots=True)
class Checklist:
    title: str | None
    generated_at: str
    version: str
    items: list[ChecklistItem] = field(default_factory=list)
    automation: list[AutomationStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What could not be read (a stage whose data is missing or broken)."""


# -- what the data says ----------------------------------------------------------------------


def _n(value: int | None) -> str:
    return "not known" if value is None else f"{value:,}"


def _safe(notes: list[str], what: str, read: Callable[[], Any]) -> Any:
    """``read()``, or ``None`` with a note when that part of the review cannot be read."""
    try:
        return read()
    except ScopingError as exc:
        notes.append(f"{what}: {exc}")
        return None


@dataclass(slots=True)
class _Facts:
    """What the checklist is filled from, each ``None`` when that stage has no data."""

    title: str | None = None
    protocol: Any = None
    strategy: Any = None
    log: list[Any] | None = None
    counts: Any = None
    included: list[Any] | None = None
    included_stage: str | None = None
    fit: Any = None
    topics: list[tuple[str, int]] = field(default_factory=list)
    chart_fields: list[Any] = field(default_factory=list)
    edits: int = 0
    appendix: bool = False
    """``scoping search appendix`` has written outputs/prisma-s.html (PRISMA-S)."""


def _gather(review: Review, store: Store, notes: list[str]) -> _Facts:
    from scoping import screen
    from scoping.report.api import prisma_counts, review_title
    from scoping.report.exports import included_works
    from scoping.search import load_strategy, search_log
    from scoping.store import topics_tables

    facts = _Facts(appendix=(review.outputs_dir / "prisma-s.html").is_file())
    facts.title = _safe(notes, "title", lambda: review_title(review))
    if review.protocol_path.is_file():
        facts.protocol = _safe(notes, "protocol", lambda: screen.load_protocol(review.protocol_path))
    if review.strategy_path.is_file():
        facts.strategy = _safe(notes, "search strategy", lambda: load_strategy(review.strategy_path))
        if facts.strategy is not None:
            facts.log = _safe(notes, "search log", lambda: search_log(store, facts.strategy))
    facts.counts = _safe(notes, "PRISMA counts", lambda: prisma_counts(review))
    works = _safe(notes, "included works", lambda: included_works(store))
    if works:
        facts.included, facts.included_stage = works, works[0].stage
    fit_id = topics_tables.latest_fit_id(store)
    if fit_id is not None:
        from scoping.topics import api as topics_api
        from scoping.topics import evidence

        facts.fit = topics_tables.get_fit(store, fit_id)
        rows = _safe(notes, "topics", lambda: evidence.topic_rows(topics_api.load_fit(store).state))
        facts.topics = [(str(row["label"]), int(row["works"])) for row in rows or []]
        facts.edits = len(topics_tables.list_edits(store))
    facts.chart_fields = topics_tables.chart_fields(store)
    return facts


def _where(*ids: str) -> tuple[tuple[str, str], ...]:
    from scoping.report.html import SECTIONS

    headings = dict(SECTIONS)
    return tuple((f"Report: {headings[i]}", f"{REPORT}#{i}") for i in ids)


_FLOW = (("PRISMA flow diagram (outputs/prisma.svg)", "prisma.svg"),)


def _search_lines(facts: _Facts) -> tuple[list[str], list[str]]:
    """(information sources, search strings) from the search log."""
    sources: list[str] = []
    strings: list[str] = []
    for entry in facts.log or []:
        where = f" via {entry.interface or entry.platform}" if (entry.interface or entry.platform) else ""
        date = (entry.date or "")[:10] or "date not recorded"
        sources.append(f"{entry.database}{where}: searched {date}; {entry.retrieved:,} records retrieved")
        query = entry.query.strip() if entry.query else ""
        strings.append(f"{entry.database}: {query}" if query else f"{entry.database}: query not recorded")
    counts = facts.counts
    if counts is not None and counts.other_methods is not None:
        for line in counts.other_methods.sources:
            sources.append(
                f"{line.name} (other method{', ' + line.kind if line.kind else ''}): {line.n:,} records"
            )
    return sources, strings


def _eligibility(facts: _Facts) -> list[str]:
    out: list[str] = []
    for stage in facts.protocol.stages.values() if facts.protocol is not None else ():
        criteria = " ".join(stage.criteria.split())
        out.append(f"{stage.name}: {criteria}")
        if stage.exclusion_reasons:
            out.append(f"{stage.name} exclusion reasons: {'; '.join(stage.exclusion_reasons)}")
    limits = facts.strategy.limits if facts.strategy is not None else None
    if limits is not None and limits.any:
        parts = []
        if limits.from_year or limits.to_year:
            parts.append(f"years {limits.from_year or '…'}-{limits.to_year or '…'}")
        if limits.languages:
            parts.append("languages " + ", ".join(limits.languages))
        if limits.document_types:
            parts.append("document types " + ", ".join(limits.document_types))
        out.append("Search limits: " + "; ".join(parts))
    return out


def _selection(facts: _Facts) -> list[str]:
    protocol = facts.protocol
    if protocol is None:
        return []
    screeners = [r.name for r in protocol.screeners]
    leads = [r.name for r in protocol.leads]
    share = protocol.allocation.dual_fraction
    out = [
        f"Stages: {', '.join(protocol.stages)}; {len(screeners)} screeners, "
        f"{share:.0%} of works screened independently by two of them (blinded to each other)",
        f"Disagreements settled by a lead ({', '.join(leads) or 'none named'})",
    ]
    for stage in protocol.stages.values():
        if stage.prioritise:
            out.append(f"{stage.name}: each queue ordered by a model trained on the decisions so far")
    if protocol.stopping is not None:
        out.append(f"Title-abstract screening may stop early: {protocol.stopping.describe()}")
    return out


def _flow(facts: _Facts) -> list[str]:
    c = facts.counts
    if c is None:
        return []
    ident, scr, inc = c.identification, c.screening, c.included
    out = [
        f"Records identified: {_n(ident.records_identified.n)}; duplicates removed: "
        f"{_n(ident.duplicates_removed.n)}; removed by automation tools: {_n(ident.automation_removed.n)}",
        f"Records screened: {_n(scr.records_screened.n)}; excluded: {_n(scr.records_excluded.n)}",
        f"Reports sought: {_n(scr.reports_sought.n)}; not retrieved: {_n(scr.reports_not_retrieved.n)}; "
        f"assessed: {_n(scr.reports_assessed.n)}; excluded: {_n(scr.reports_excluded.n)}"
        + (
            " (" + "; ".join(f"{r.name} {r.n:,}" for r in scr.reports_excluded_reasons) + ")"
            if scr.reports_excluded_reasons
            else ""
        ),
        f"Sources of evidence included: {_n(inc.reports.n)}",
    ]
    if c.previous is not None:
        out.append(f"With the previous version: {_n(c.previous.total_studies.n)} studies in total")
    if c.notes:
        out.append("Not final: " + "; ".join(c.notes))
    return out


def _characteristics(facts: _Facts) -> list[str]:
    works = facts.included or []
    if not works:
        return []
    years = sorted(w.record.year for w in works if w.record.year)
    types = Counter(w.record.doc_type or "type not recorded" for w in works)
    out = [f"{len(works):,} sources included at {facts.included_stage}"]
    if years:
        out.append(f"Published {years[0]}-{years[-1]}")
    out.append("Document types: " + "; ".join(f"{t} {n:,}" for t, n in types.most_common(6)))
    return out


def _synthesis_method(facts: _Facts) -> list[str]:
    fit = facts.fit
    if fit is None:
        return []
    params = fit.params
    chosen = params.get("n_topics")
    how = "chosen by stability and coherence" if chosen == "auto" else "set by the authors"
    return [
        f"Included sources grouped by a topic model (TF-IDF and NMF) into {fit.n_topics} topics "
        f"({how}); a source may be in several topics",
        f"Topic labels and groupings checked by people: {facts.edits} edits recorded",
    ]


def _synthesis(facts: _Facts) -> list[str]:
    return [f"{label}: {n:,} sources" for label, n in facts.topics]


def _items(facts: _Facts) -> list[ChecklistItem]:
    sources, strings = _search_lines(facts)
    title = [facts.title] if facts.title else []
    if facts.title and "scoping" not in facts.title.casefold():
        title.append("The title does not say it is a scoping review")
    charting = [f"Charted field: {f.name}" for f in facts.chart_fields]
    searches = _where("search")
    if facts.appendix:
        searches += (("PRISMA-S search appendix (scoping search appendix)", "prisma-s.html"),)
    registration = []
    if facts.protocol is not None:
        registration.append("Screening protocol kept with the review: screening/protocol.toml")
    items = [
        ChecklistItem(
            1, "Title", "Title", "Say in the title that the report is a scoping review.", tuple(title)
        ),
        ChecklistItem(
            2,
            "Abstract",
            "Structured summary",
            "A structured abstract: background, objectives, eligibility, sources, charting, results "
            "and conclusions, tied to the review questions.",
            tuple(_flow(facts)[:1] + _flow(facts)[-1:]),
            _where("prisma"),
            people=True,
        ),
        ChecklistItem(
            3,
            "Introduction",
            "Rationale",
            "Why the review was done, given what is already known, and why a scoping approach suits it.",
            people=True,
        ),
        ChecklistItem(
            4,
            "Introduction",
            "Objectives",
            "The questions and objectives, with their key elements (population or participants, "
            "concepts, context).",
            tuple(
                [facts.strategy.question] if facts.strategy is not None and facts.strategy.question else []
            ),
            people=True,
        ),
        ChecklistItem(
            5,
            "Methods",
            "Protocol and registration",
            "Whether a protocol exists, where it can be read, and its registration number.",
            tuple(registration),
            people=True,
        ),
        ChecklistItem(
            6,
            "Methods",
            "Eligibility criteria",
            "The characteristics of sources used to decide eligibility, with the reasons for them.",
            tuple(_eligibility(facts)),
            _where("screening"),
        ),
        ChecklistItem(
            7,
            "Methods",
            "Information sources",
            "Every database and other source searched, with its coverage and the date it was last searched.",
            tuple(sources),
            searches,
        ),
        ChecklistItem(
            8,
            "Methods",
            "Search",
            "The full search strategy of at least one database, limits included, so it can be repeated.",
            tuple(strings),
            searches,
        ),
        ChecklistItem(
            9,
            "Methods",
            "Selection of sources of evidence",
            "How sources were screened and judged eligible.",
            tuple(_selection(facts)),
            (*_where("screening"), ("Automation statement", "#automation-statement")),
        ),
        ChecklistItem(
            10,
            "Methods",
            "Data charting process",
            "How data were charted from the sources: forms, whether they were piloted, who charted, "
            "independently or not, and how data were confirmed with investigators.",
            tuple(charting),
            _where("topics"),
            people=True,
        ),
        ChecklistItem(
            11,
            "Methods",
            "Data items",
            "Every variable data were sought for, and any assumptions or simplifications.",
            tuple(charting),
            _where("topics"),
            people=not charting,
        ),
        ChecklistItem(
            12,
            "Methods",
            "Critical appraisal of individual sources of evidence",
            "If done: how the sources were appraised and how the appraisal was used.",
            people=True,
            optional=True,
        ),
        ChecklistItem(
            13,
            "Methods",
            "Synthesis of results",
            "How the charted data were handled and summarised.",
            tuple(_synthesis_method(facts)),
            _where("topics"),
            people=not facts.fit,
        ),
        ChecklistItem(
            14,
            "Results",
            "Selection of sources of evidence",
            "Numbers of sources screened, assessed and included, with the reasons for exclusion at "
            "each stage, ideally in a flow diagram.",
            tuple(_flow(facts)),
            (*_where("prisma"), *_FLOW),
        ),
        ChecklistItem(
            15,
            "Results",
            "Characteristics of sources of evidence",
            "For each source, the characteristics that data were charted for, with a citation.",
            tuple(_characteristics(facts)),
            _where("included", "topics"),
        ),
        ChecklistItem(
            16,
            "Results",
            "Critical appraisal within sources of evidence",
            "If done: the appraisal of each included source.",
            people=True,
            optional=True,
        ),
        ChecklistItem(
            17,
            "Results",
            "Results of individual sources of evidence",
            "For each included source, the data charted that bear on the review questions.",
            tuple(_characteristics(facts)[:1]),
            (*_where("included"), ("Included works (scoping export --included)", "")),
        ),
        ChecklistItem(
            18,
            "Results",
            "Synthesis of results",
            "A summary or presentation of the charted results, related to the questions.",
            tuple(_synthesis(facts)),
            _where("topics"),
            people=not facts.topics,
        ),
        ChecklistItem(
            19,
            "Discussion",
            "Summary of evidence",
            "The main results, with an overview of concepts, themes and types of evidence, and "
            "their relevance to key groups.",
            people=True,
        ),
        ChecklistItem(
            20, "Discussion", "Limitations", "The limits of the scoping review process.", people=True
        ),
        ChecklistItem(
            21,
            "Discussion",
            "Conclusions",
            "A general interpretation against the questions, and what follows from it.",
            people=True,
        ),
        ChecklistItem(
            22,
            "Funding",
            "Funding",
            "Who funded the sources included and the review itself, and the funders' role.",
            people=True,
        ),
    ]
    return items


# -- the automation statement ------------------------------------------------------------------


def _dedupe_step(store: Store) -> AutomationStep:
    from scoping.store import dedupe_tables

    run = dedupe_tables.last_run(store)
    if run is None:
        return AutomationStep("De-duplication", "not run", False)
    deciders = dedupe_tables.pair_deciders(store)
    people: dict[str, Counter[str]] = {}
    for (who, value), n in deciders.items():
        people.setdefault(who, Counter())[value] += n
    settings = (
        "Rule-based pair scoring after blocking on normalised identifiers and titles "
        "(scoping.dedupe); records are linked into works, never deleted",
        f"Last run {run.started_at[:16].replace('T', ' ')} UTC ({run.kind})",
    )
    did = (
        f"{run.n_records:,} records compared in {run.report.get('n_candidates', 0):,} candidate pairs",
        f"{run.n_duplicate_pairs:,} duplicate links made automatically; {run.n_works:,} works",
        f"{run.n_uncertain_pairs:,} doubtful pairs sent to people",
    )
    oversight = [
        f"{sum(c.values()):,} pairs decided by {who} ("
        + ", ".join(f"{value} {n:,}" for value, n in sorted(c.items()))
        + ")"
        for who, c in sorted(people.items())
    ] or ["No pair decided by a person"]
    oversight.append(f"{len(dedupe_tables.uncertain_queue(store)):,} doubtful pairs still waiting")
    return AutomationStep(
        "De-duplication", "scoping de-duplication rules", True, settings, did, tuple(oversight)
    )


def _ranking_step(store: Store, protocol: Any) -> AutomationStep:
    from scoping.store import screen_tables

    stages = [s for s in protocol.stages.values() if s.prioritise] if protocol is not None else []
    if not stages:
        seed = protocol.allocation.seed if protocol is not None else None
        return AutomationStep(
            "Screening prioritisation",
            "none: queues in a seeded random order" + (f" (seed {seed})" if seed is not None else ""),
            False,
        )
    from scoping.screen.rank_model import Ranker, TextFeatures

    ranker = Ranker().get_params()
    did = []
    for stage in stages:
        rows = [r for r in screen_tables.decision_history(store, stage.name) if r.decision != "undone"]
        queued = sum(1 for r in rows if r.via in ("tui", "plain"))
        did.append(
            f"{stage.name}: {queued:,} of {len(rows):,} decisions made in the model-ordered screening "
            "queue (the rest from worksheets, the API or carried over: not ordered by the model)"
        )
    return AutomationStep(
        "Screening prioritisation",
        "TF-IDF words and bigrams; linear SVM with a naive Bayes term, retrained on the team's "
        "decisions as they come in (scoping.screen.rank_model)",
        True,
        (
            "Stages: " + ", ".join(s.name for s in stages),
            "Features: " + ", ".join(f"{k}={v}" for k, v in TextFeatures().get_params().items()),
            "Ranker: " + ", ".join(f"{k}={v}" for k, v in ranker.items() if k != "random_state"),
        ),
        tuple(did),
        ("The model only orders each queue; every decision is made by a person",),
    )


def _stopping_step(store: Store, protocol: Any) -> AutomationStep:
    from scoping.screen.outcomes import automation_excluded
    from scoping.store import screen_tables

    rule = protocol.stopping if protocol is not None else None
    events = screen_tables.stop_events(store)
    if rule is None and not events:
        return AutomationStep("Stopping rule", "none: every work was screened", False)
    settings = [rule.describe()] if rule is not None else []
    did: list[str] = []
    oversight: list[str] = []
    for event in events:
        when = event.at[:16].replace("T", " ")
        if event.event == "sample":
            did.append(
                f"{when}: random sample of {int(event.details.get('population', 0)):,} unscreened works "
                f"begun by {event.by} (seed {event.details.get('seed')})"
            )
        elif event.event == "stop":
            test = event.details.get("test") or {}
            bound = event.details.get("recall_target")
            did.append(
                f"{when}: screening stopped by {event.by}; {int(event.details.get('count', 0)):,} works "
                f"excluded by the rule; {event.details.get('note', '')}"
            )
            if event.details.get("guarantee") is False:
                did.append(
                    f"Recall target {float(bound or 0):.0%} under the default rule's bound; "
                    "no statistical guarantee (it assumes the ranking served includes first)"
                )
            elif bound is not None:
                did.append(
                    f"Recall bound: at least {float(bound):.0%} of includes found, at "
                    f"{float(event.details.get('confidence', 0)):.0%} confidence"
                    + (f" (p = {float(test['p_value']):.4f})" if "p_value" in test else "")
                )
        else:
            did.append(f"{when}: the stop taken back by {event.by}")
    standing = len(automation_excluded(store))
    did.append(
        f"Works excluded by the stopping rule now: {standing:,} "
        "(PRISMA: records marked as ineligible by automation tools)"
    )
    oversight.append("A lead starts the sample and stops screening; the rule only allows the stop")
    by_default = any(e.event == "stop" and e.details.get("guarantee") is False for e in events)
    return AutomationStep(
        "Stopping rule",
        "hypergeometric stopping rule (Callaghan & Müller-Hansen 2020)"
        + (
            "; screening was stopped by the default rule, an upper bound of the latest include "
            "rate (no statistical guarantee)"
            if by_default
            else ""
        ),
        bool(events),
        tuple(settings),
        tuple(did),
        tuple(oversight),
    )


def _topics_step(facts: _Facts) -> AutomationStep:
    fit = facts.fit
    if fit is None:
        return AutomationStep("Topic model", "not run", False)
    model = fit.params.get("model", {})
    keys = ("n_topics", "random_state", "threshold", "min_df", "max_df", "title_weight")
    settings = tuple(f"{k}={model.get(k, fit.params.get(k))}" for k in keys if k in model or k in fit.params)
    return AutomationStep(
        "Topic model",
        "TF-IDF and non-negative matrix factorisation over titles, abstracts and keywords (scoping.topics)",
        True,
        (
            f"Fitted {fit.created_at[:16].replace('T', ' ')} UTC by {fit.created_by} on {fit.source}",
            *settings,
        ),
        (f"{fit.n_works:,} works grouped into {fit.n_topics} topics",),
        (
            f"{facts.edits} edits of labels and topics by people",
            "Topic labels are provisional until a lead names them",
        ),
    )


def _simulated_step(store: Store) -> AutomationStep | None:
    from scoping.screen import SIMULATED_VIA
    from scoping.store import screen_tables

    simulated, total = screen_tables.count_by(store, via=SIMULATED_VIA)
    if not simulated:
        return None
    return AutomationStep(
        "Simulated reviewers (demo)",
        "decisions taken from a published labelled dataset, not made by people",
        True,
        (),
        (f"{simulated:,} of {total:,} screening decisions were simulated",),
        ("None: this is the demo review",),
    )


def _automation(store: Store, facts: _Facts) -> list[AutomationStep]:
    steps = [
        _dedupe_step(store),
        _ranking_step(store, facts.protocol),
        _stopping_step(store, facts.protocol),
        _topics_step(facts),
    ]
    simulated = _simulated_step(store)
    if simulated is not None:
        steps.append(simulated)
    return steps


def _scoping_version() -> str:
    try:
        return version("scoping")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_checklist(review: Review) -> Checklist:
    """The PRISMA-ScR checklist and the automation statement of ``review``, from its data."""
    notes: list[str] = []
    with review.open_store() as store:
        facts = _gather(review, store, notes)
        automation = _automation(store, facts)
    return Checklist(
        title=facts.title,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=_scoping_version(),
        items=_items(facts),
        automation=automation,
        notes=notes,
    )


# -- writing ---------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(checklist: Checklist) -> str:
    """The checklist and the automation statement as Markdown."""
    out = [
        f"# PRISMA-ScR checklist: {checklist.title or 'scoping review'}",
        "",
        f"Filled from the review's data by scoping {checklist.version} on {checklist.generated_at}. "
        f"Items marked **{TO_FILL}** can only be answered by the authors.",
        "",
        "| # | Item | What it asks | What the review's data says | Where it is reported |",
        "|---|---|---|---|---|",
    ]
    for item in checklist.items:
        title = item.title + (" (optional)" if item.optional else "")
        said = "<br>".join(_md_cell(line) for line in item.data)
        if item.people:
            said = f"**{TO_FILL}**" + (f"<br>{said}" if said else "")
        elif not said:
            said = "Nothing recorded"
        where = "<br>".join(
            f"[{_md_cell(label)}]({link})" if link else _md_cell(label) for label, link in item.where
        )
        out.append(f"| {item.number} | {item.section}: {title} | {_md_cell(item.asks)} | {said} | {where} |")
    out += ["", "## Automation statement", ""]
    for step in checklist.automation:
        out.append(f"### {step.step}: {'used' if step.used else 'not used'}")
        out.append("")
        out.append(f"- Method: {step.method} (scoping {checklist.version})")
        for label, lines in (
            ("Settings", step.settings),
            ("What it did", step.did),
            ("Oversight", step.oversight),
        ):
            for line in lines:
                out.append(f"- {label}: {line}")
        out.append("")
    if checklist.notes:
        out += ["## Not read", "", *(f"- {note}" for note in checklist.notes), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def to_html(checklist: Checklist) -> str:
    """The checklist and the automation statement as one self-contained HTML page."""
    from scoping.report.html import _environment

    return (
        _environment()
        .get_template("checklist.html")
        .render(checklist=checklist, to_fill=TO_FILL, title=checklist.title or "Scoping review")
    )


def _write_whole(target: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(tmp_name, 0o644)
        replace_into(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_checklist(review: Review) -> tuple[Checklist, list[Path]]:
    """Write ``outputs/prisma-scr-checklist.html`` and ``.md``; each whole or not at all."""
    checklist = build_checklist(review)
    folder = review.outputs_dir
    folder.mkdir(parents=True, exist_ok=True)
    html_text, md_text = to_html(checklist), to_markdown(checklist)
    paths = []
    for suffix, text in ((".html", html_text), (".md", md_text)):
        target = folder / f"{CHECKLIST_FILE}{suffix}"
        _write_whole(target, text)
        paths.append(target)
    return checklist, paths
