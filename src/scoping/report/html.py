"""The review report as one self-contained HTML page, rendered from plain data.

:func:`render_report` takes a :class:`ReportData` (plain dataclasses defined here) and returns
the page as text. It imports nothing from the other stages: :mod:`scoping.reporting` gathers
each stage's results and fills the dataclasses. The page makes no external request: the CSS is
inline, the PRISMA diagram and the overlap chart are inline SVG, pictures are PNG data URIs,
and there are no scripts. Every string that comes from the user or the data is escaped.

A section whose stage has not run yet is ``None`` in :class:`ReportData`; the page then says so
in words (with :attr:`ReportData.notes` giving a more specific reason when there is one).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = [
    "SECTIONS",
    "AgreementRow",
    "CrossTab",
    "Figure",
    "IncludedSource",
    "OverlapData",
    "OverlapRow",
    "PrismaData",
    "ReportData",
    "RepresentativeWork",
    "ReviewerRow",
    "SearchRow",
    "SimulatedShare",
    "StageProgress",
    "TopicRow",
    "TopicWorks",
    "TopicsData",
    "render_report",
]

SECTIONS = (
    ("search", "Search log"),
    ("prisma", "PRISMA flow diagram"),
    ("dedupe", "De-duplication overlap by source"),
    ("screening", "Screening progress and agreement"),
    ("topics", "Topics and evidence map"),
    ("included", "Included sources"),
)
"""``(id, heading)`` of every section, in page order."""

NOT_RUN = {
    "search": "No searches have been logged yet: run 'scoping search run', or import the "
    "databases' exports with 'scoping import FILE --source NAME'.",
    "prisma": "The PRISMA counts cannot be made yet: import records first.",
    "dedupe": "De-duplication has not run yet: run 'scoping dedupe'.",
    "screening": "Screening has not started yet: allocate works with 'scoping assign'.",
    "agreement": "No two reviewers have screened the same work yet, so there is no agreement to report.",
    "blinded": "Progress by reviewer and the agreement between reviewers are shown to a lead "
    "only while screening is under way (scoping report --reviewer LEAD).",
    "topics": "Topics have not been fitted yet: run 'scoping topics fit'.",
    "included": "No source is included yet: screening has no final inclusions.",
}


# -- the data -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchRow:
    """One search of one database (PRISMA-S), or one imported export counted as its database."""

    database: str
    platform: str
    method: str
    """``api`` or ``export``."""
    date: str
    query: str
    limits: str
    hits: int | None
    retrieved: int
    status: str
    reference: str = ""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PrismaData:
    svg: bytes | None
    """The diagram as SVG (as ``render_prisma(counts, "svg")`` gives it), or ``None``."""
    rows: list[tuple[str, str, int | None, str]]
    """``(flat key, label, n, note)`` of the main counts; ``n`` None when not known."""
    notes: list[str] = field(default_factory=list)
    """The checks that failed or stages that are not finished."""
    complete: bool = True


@dataclass(frozen=True, slots=True)
class OverlapRow:
    source: str
    records: int
    works: int
    unique_works: int
    internal_duplicates: int

    @property
    def shared_works(self) -> int:
        return self.works - self.unique_works


@dataclass(frozen=True, slots=True)
class OverlapData:
    rows: list[OverlapRow]
    total_records: int
    total_works: int
    works_in_several_sources: int


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    reviewer: str
    assigned: int
    done: int
    decisions: dict[str, int]

    @property
    def left(self) -> int:
        return self.assigned - self.done


@dataclass(frozen=True, slots=True)
class StageProgress:
    stage: str
    reviewers: list[ReviewerRow]
    works: int | None = None
    allocated: int | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgreementRow:
    stage: str
    first: str
    second: str
    n: int
    percent: float
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    pabak: float | None
    ac1: float | None
    ac1_ci: tuple[float, float] | None
    label: str


@dataclass(frozen=True, slots=True)
class TopicRow:
    ref: str
    label: str
    works: int
    main_topic_of: int
    top_terms: list[str]


@dataclass(frozen=True, slots=True)
class Figure:
    """A picture for the page: PNG bytes (inlined as a data URI) and its caption."""

    caption: str
    png: bytes


@dataclass(frozen=True, slots=True)
class CrossTab:
    """Works by topic (rows) and category (columns); a work counts in each of its topics."""

    columns: list[str]
    rows: list[tuple[str, str, list[int]]]
    """``(topic ref, label, count per column)``."""


@dataclass(frozen=True, slots=True)
class RepresentativeWork:
    title: str | None
    year: int | None
    doi: str | None = None


@dataclass(frozen=True, slots=True)
class TopicWorks:
    """A topic's most representative works, most representative first."""

    ref: str
    label: str
    works: list[RepresentativeWork]


@dataclass(frozen=True, slots=True)
class TopicsData:
    fit: int
    source: str
    n_works: int
    topics: list[TopicRow]
    figures: list[Figure] = field(default_factory=list)
    """The evidence map's heatmaps (topic by publication year)."""
    doc_types: CrossTab | None = None
    """Works by topic and document type (``None``: no work has a document type)."""
    network: Figure | None = None
    """The topics and the works they share, drawn as a network."""
    representative: list[TopicWorks] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IncludedSource:
    work: int
    title: str | None
    authors: list[str]
    year: int | None
    journal: str | None
    doi: str | None
    topics: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SimulatedShare:
    """How much of the screening in the store was done by simulated reviewers (``scoping demo``).

    The numbers are ``None`` when they are withheld (they would tell a reviewer how much the
    others have screened while screening is under way); the page still says that some
    decisions are simulated.
    """

    decisions: int | None
    total_decisions: int | None
    resolutions: int | None = None
    total_resolutions: int | None = None


@dataclass(slots=True)
class ReportData:
    """Everything the page shows; a section that is ``None`` has not run yet."""

    title: str | None
    generated_at: str
    search: list[SearchRow] | None = None
    prisma: PrismaData | None = None
    overlap: OverlapData | None = None
    screening: list[StageProgress] | None = None
    agreement: list[AgreementRow] | None = None
    screening_blinded: bool = False
    """Screening is under way and the page is not for a lead: progress by reviewer and agreement
    are left out (``screening`` and ``agreement`` are then ``None``) and one sentence says why."""
    simulated: SimulatedShare | None = None
    """Set when any screening decision in the store was made by a simulated reviewer."""
    topics: TopicsData | None = None
    included: list[IncludedSource] | None = None
    included_stage: str | None = None
    included_note: str | None = None
    """A caveat on the included sources (e.g. full-text screening has not included any yet)."""
    notes: dict[str, str] = field(default_factory=dict)
    """Section id -> why it is empty, when more specific than the standard sentence."""


# -- small helpers --------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _f(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}".replace("-", "−")


def _ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{_f(ci[0])} to {_f(ci[1])}"


def _missing(data: ReportData, key: str) -> str:
    text = data.notes.get(key) or NOT_RUN[key]
    return f'<p class="not-run">{_e(text)}</p>'


def _table(
    head: Sequence[tuple[str, bool]], rows: Iterable[str], *, cls: str = "", caption: str | None = None
) -> str:
    """A table; ``head`` is ``(label, numeric)``; ``rows`` are ready ``<tr>`` strings."""
    cols = "".join(f'<th scope="col"{" class=num" if num else ""}>{_e(label)}</th>' for label, num in head)
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<div class="table-wrap"><table{klass}>{cap}<thead><tr>{cols}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _td(value: str, num: bool = False, raw: bool = False) -> str:
    return f"<td{' class=num' if num else ''}>{value if raw else _e(value)}</td>"


# -- sections -------------------------------------------------------------------------------


def _search(data: ReportData) -> str:
    if not data.search:
        return _missing(data, "search")
    rows = []
    for row in data.search:
        method = "API search" if row.method == "api" else "export, imported"
        status = (
            "" if row.status in ("complete", "imported") else f' <span class="flag">{_e(row.status)}</span>'
        )
        rows.append(
            '<tr class="entry">'
            + _td(row.database)
            + _td(row.platform or "—")
            + _td(method)
            + _td(row.date.replace("T", " ")[:16])
            + _td(row.limits or "—")
            + _td(_n(row.hits), True)
            + f'<td class="num">{_n(row.retrieved)}{status}</td></tr>'
        )
        query = (
            f'<code class="query">{_e(row.query)}</code>'
            if row.query
            else ' <span class="muted">no query recorded.</span>'
        )
        extra = f' <span class="muted">({_e(row.reference)})</span>' if row.reference else ""
        note = f'<span class="muted small block">{_e(row.note)}</span>' if row.note else ""
        rows.append(
            f'<tr class="query-row"><td colspan="7"><span class="label">Query</span>'
            f"{extra}{query}{note}</td></tr>"
        )
    total_hits = sum(r.hits for r in data.search if r.hits is not None)
    total_ret = sum(r.retrieved for r in data.search)
    rows.append(
        '<tr class="total"><th scope="row" colspan="5">Total</th>'
        f'<td class="num">{_n(total_hits) if any(r.hits is not None for r in data.search) else "—"}'
        f'</td><td class="num">{_n(total_ret)}</td></tr>'
    )
    head = [
        ("Database", False),
        ("Platform", False),
        ("Method", False),
        ("Date (UTC)", False),
        ("Limits", False),
        ("Hits", True),
        ("Retrieved", True),
    ]
    intro = (
        "<p>Every search as run (PRISMA-S items 1, 8, 9, 13 and 15; 'scoping search appendix' "
        "writes all 16): the database, the platform, the exact query, the limits, the date, "
        "the number of hits the database reported and the records retrieved. Databases "
        "searched by hand count through their imported exports, with the query recorded "
        "when the export was imported.</p>"
    )
    return intro + _table(head, rows, cls="search-log")


_SVG_START = re.compile(rb"<svg\b")


def _inline_svg(svg: bytes, label: str) -> str:
    """The ``<svg>`` element of an SVG file (without its XML prolog), sized to the page."""
    match = _SVG_START.search(svg)
    body = svg[match.start() :] if match else svg
    text = body.decode("utf-8")
    text = re.sub(r"<svg\b", f'<svg role="img" aria-label="{_e(label)}" class="diagram"', text, count=1)
    return text


def _prisma(data: ReportData) -> str:
    p = data.prisma
    if p is None:
        return _missing(data, "prisma")
    parts = []
    if p.svg:
        parts.append(
            '<figure class="prisma">'
            + _inline_svg(p.svg, "PRISMA 2020 flow diagram")
            + "<figcaption>PRISMA 2020 flow diagram, drawn from the store "
            "(the same counts as <code>outputs/prisma.json</code>).</figcaption></figure>"
        )
    rows = []
    for key, label, n, note in p.rows:
        sub = label.startswith("    ")
        cell = f'<td class="sub">{_e(label.strip())}</td>' if sub else _td(label)
        rows.append(f'<tr data-key="{_e(key)}">' + cell + _td(_n(n), True) + _td(note) + "</tr>")
    parts.append(
        _table(
            [("Count", False), ("n", True), ("Note", False)],
            rows,
            cls="prisma-counts",
            caption="The counts of the diagram",
        )
    )
    if p.notes and not p.svg:  # the diagram shows them otherwise
        items = "".join(f"<li>{_e(n)}</li>" for n in p.notes)
        parts.append(f'<div class="notice"><p>Not final yet:</p><ul>{items}</ul></div>')
    return "".join(parts)


def _overlap_chart(o: OverlapData) -> str:
    """Horizontal bars per source: works found only by it, and works shared with others."""
    if not o.rows:
        return ""
    label_w, bar_w, row_h, top = 170, 420, 26, 8
    biggest = max(r.works for r in o.rows) or 1
    height = top + row_h * len(o.rows) + 34
    width = label_w + bar_w + 90
    out = [
        f'<svg class="chart" role="img" aria-label="Works per source" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">'
    ]
    for i, r in enumerate(o.rows):
        y = top + i * row_h
        u = bar_w * r.unique_works / biggest
        s = bar_w * r.shared_works / biggest
        name = r.source if len(r.source) <= 24 else r.source[:23] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="lab">{_e(name)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{u:.1f}" height="16" class="uniq"/>')
        out.append(f'<rect x="{label_w + u:.1f}" y="{y + 3}" width="{s:.1f}" height="16" class="shared"/>')
        out.append(f'<text x="{label_w + u + s + 6:.1f}" y="{y + 15}" class="val">{r.works:,}</text>')
    ly = top + row_h * len(o.rows) + 12
    out.append(
        f'<rect x="{label_w}" y="{ly}" width="12" height="12" class="uniq"/>'
        f'<text x="{label_w + 18}" y="{ly + 10}" class="key">found only here</text>'
        f'<rect x="{label_w + 140}" y="{ly}" width="12" height="12" class="shared"/>'
        f'<text x="{label_w + 158}" y="{ly + 10}" class="key">also found elsewhere</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _dedupe(data: ReportData) -> str:
    o = data.overlap
    if o is None:
        return _missing(data, "dedupe")
    removed = o.total_records - o.total_works
    intro = (
        f"<p>{_n(o.total_records)} records were linked into {_n(o.total_works)} works "
        f"({_n(removed)} duplicate records); {_n(o.works_in_several_sources)} works were "
        "found in more than one source.</p>"
    )
    rows = []
    for r in o.rows:
        share = f"{100 * r.unique_works / r.works:.1f}%" if r.works else "—"
        rows.append(
            "<tr>"
            + _td(r.source)
            + _td(_n(r.records), True)
            + _td(_n(r.works), True)
            + _td(_n(r.unique_works), True)
            + _td(share, True)
            + _td(_n(r.internal_duplicates), True)
            + "</tr>"
        )
    rows.append(
        '<tr class="total"><th scope="row">All sources</th>'
        f'<td class="num">{_n(o.total_records)}</td><td class="num">{_n(o.total_works)}</td>'
        f'<td class="num">{_n(sum(r.unique_works for r in o.rows))}</td><td></td>'
        f'<td class="num">{_n(sum(r.internal_duplicates for r in o.rows))}</td></tr>'
    )
    head = [
        ("Source", False),
        ("Records", True),
        ("Works", True),
        ("Found only here", True),
        ("Share unique", True),
        ("Duplicates within source", True),
    ]
    chart = _overlap_chart(o)
    fig = (
        f'<figure class="overlap">{chart}<figcaption>Works per source.</figcaption></figure>' if chart else ""
    )
    return intro + _table(head, rows, cls="overlap") + fig


def _simulated(share: SimulatedShare) -> str:
    """The sentence that says the screening was (partly) simulated, with the numbers if known."""
    if share.decisions is None or share.total_decisions is None:
        return (
            "Screening decisions in this review include decisions made by simulated "
            "reviewers (scoping demo), not by people."
        )
    sentence = (
        f"{_n(share.decisions)} of {_n(share.total_decisions)} screening decisions were "
        "made by simulated reviewers (scoping demo), not by people."
    )
    if share.resolutions and share.total_resolutions is not None:
        sentence += (
            f" {_n(share.resolutions)} of {_n(share.total_resolutions)} conflicts were "
            "settled by a simulated lead."
        )
    return sentence


def _simulated_notice(data: ReportData) -> str:
    if data.simulated is None:
        return ""
    return (
        f'<div class="notice simulated" role="note"><p>Simulated screening</p>'
        f"<span>{_e(_simulated(data.simulated))}</span></div>"
    )


def _screening(data: ReportData) -> str:
    simulated = (
        f'<p class="simulated-line"><b>{_e(_simulated(data.simulated))}</b></p>'
        if data.simulated is not None
        else ""
    )
    if data.screening_blinded:
        return simulated + f'<p class="not-run blinded">{_e(NOT_RUN["blinded"])}</p>'
    parts = [simulated, '<h3 id="progress">Progress by stage</h3>']
    if not data.screening:
        parts.append(_missing(data, "screening"))
    else:
        for stage in data.screening:
            keys = list(stage.reviewers[0].decisions) if stage.reviewers else []
            rows = [
                "<tr>"
                + _td(r.reviewer)
                + _td(_n(r.assigned), True)
                + _td(_n(r.done), True)
                + _td(_n(r.left), True)
                + "".join(_td(_n(r.decisions.get(k, 0)), True) for k in keys)
                + "</tr>"
                for r in stage.reviewers
            ]
            head = [
                ("Reviewer", False),
                ("Assigned", True),
                ("Done", True),
                ("Left", True),
                *((k.replace("-", " ").capitalize(), True) for k in keys),
            ]
            parts.append(f"<h4>{_e(stage.stage.replace('-', ' ').capitalize())}</h4>")
            if stage.works is not None:
                shown = " · ".join(f"{_e(name)} <b>{_n(n)}</b>" for name, n in stage.outcomes.items())
                parts.append(
                    f'<p class="outcomes">{_n(stage.works)} works to screen, '
                    f"{_n(stage.allocated)} allocated. Works by outcome: {shown}</p>"
                )
            if stage.reviewers:
                parts.append(_table(head, rows, cls="progress"))
    parts.append('<h3 id="agreement">Agreement between reviewers</h3>')
    if not data.agreement:
        parts.append(_missing(data, "agreement"))
    else:
        rows = [
            "<tr>"
            + _td(a.stage)
            + _td(f"{a.first} / {a.second}")
            + _td(_n(a.n), True)
            + _td(f"{a.percent:.1f}%", True)
            + _td(_f(a.kappa), True)
            + _td(_ci(a.kappa_ci), True)
            + _td(_f(a.pabak), True)
            + _td(_f(a.ac1), True)
            + _td(_ci(a.ac1_ci), True)
            + _td(a.label)
            + "</tr>"
            for a in data.agreement
        ]
        head = [
            ("Stage", False),
            ("Reviewers", False),
            ("Works", True),
            ("Agreement", True),
            ("Kappa", True),
            ("Kappa 95% CI", True),
            ("PABAK", True),
            ("AC1", True),
            ("AC1 95% CI", True),
            ("Landis–Koch", False),
        ]
        parts.append(
            "<p>On the works both reviewers screened: percent agreement, Cohen's kappa "
            "with its 95% confidence interval, the prevalence- and bias-adjusted kappa "
            "(PABAK), Gwet's AC1 with its 95% interval, and the Landis–Koch label of "
            "kappa.</p>"
        )
        parts.append(_table(head, rows, cls="agreement"))
    return "".join(parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _topics(data: ReportData) -> str:
    t = data.topics
    if t is None:
        return _missing(data, "topics")
    parts = [
        f"<p>Topic fit {t.fit} of {_n(t.n_works)} works ({_e(t.source)}). A work can belong "
        "to more than one topic.</p>"
    ]
    rows = [
        "<tr>"
        + _td(r.ref)
        + _td(r.label)
        + _td(_n(r.works), True)
        + _td(_n(r.main_topic_of), True)
        + _td(", ".join(r.top_terms), False)
        + "</tr>"
        for r in t.topics
    ]
    head = [
        ("Topic", False),
        ("Label", False),
        ("Works", True),
        ("Main topic of", True),
        ("Top terms", False),
    ]
    parts.append(_table(head, rows, cls="topics"))
    for fig in t.figures:
        parts.append(_figure(fig))
    parts.append('<h3 id="topic-doctypes">Topics by document type</h3>')
    if t.doc_types is None:
        parts.append(
            '<p class="not-run">No included work has a document type, so there is no '
            "table of topics by document type.</p>"
        )
    else:
        cols = t.doc_types.columns
        rows = [
            "<tr>" + _td(ref) + _td(label) + "".join(_td(_n(n), True) for n in counts) + "</tr>"
            for ref, label, counts in t.doc_types.rows
        ]
        head = [("Topic", False), ("Label", False), *((c, True) for c in cols)]
        parts.append("<p>Works by topic and document type; a work counts in each of its topics.</p>")
        parts.append(_table(head, rows, cls="doctypes"))
    parts.append('<h3 id="topic-network">Topics and the works they share</h3>')
    if t.network is None:
        parts.append('<p class="not-run">There are no topics to draw.</p>')
    else:
        parts.append(_figure(t.network, cls="network"))
    parts.append('<h3 id="topic-works">Most representative works of each topic</h3>')
    if not t.representative:
        parts.append('<p class="not-run">No topic has works.</p>')
    else:
        items = []
        for topic in t.representative:
            works = "".join(
                f'<li>{_e(w.title or "(no title)")} <span class="muted">({_e(w.year or "n.d.")})</span></li>'
                for w in topic.works
            )
            items.append(
                f'<div class="topic-works"><h4>{_e(topic.ref)} {_e(topic.label)}</h4><ol>{works}</ol></div>'
            )
        parts.append('<div class="representative">' + "".join(items) + "</div>")
    return "".join(parts)


def _figure(fig: Figure, cls: str = "map") -> str:
    return (
        f'<figure class="{cls}"><img src="{_data_uri(fig.png)}" alt="{_e(fig.caption)}">'
        f"<figcaption>{_e(fig.caption)}</figcaption></figure>"
    )


def _doi_link(doi: str | None) -> str:
    if not doi:
        return "—"
    href = "https://doi.org/" + doi
    return f'<a href="{_e(href)}">{_e(doi)}</a>'


def _authors(names: Sequence[str]) -> str:
    if not names:
        return "—"
    if len(names) > 3:
        return "; ".join(names[:3]) + " et al."
    return "; ".join(names)


def _included(data: ReportData) -> str:
    if not data.included:
        return _missing(data, "included")
    stage = f" at {data.included_stage}" if data.included_stage else ""
    rows = [
        "<tr>"
        + _td(f"{i:,}", True)
        + _td(s.title or "(no title)")
        + _td(_authors(s.authors))
        + _td(str(s.year) if s.year else "—", True)
        + _td(s.journal or "—")
        + f'<td class="doi">{_doi_link(s.doi)}</td>'
        + f'<td class="topic-list">{"<br>".join(_e(t) for t in s.topics) or "—"}</td></tr>'
        for i, s in enumerate(data.included, start=1)
    ]
    head = [
        ("#", True),
        ("Title", False),
        ("Authors", False),
        ("Year", True),
        ("Journal", False),
        ("DOI", False),
        ("Topics", False),
    ]
    caveat = f" {_e(data.included_note)}" if data.included_note else ""
    return f"<p>{_n(len(data.included))} sources included{_e(stage)}.{caveat}</p>" + _table(
        head, rows, cls="included"
    )


CSS = """
:root { --ink:#1f2328; --muted:#5c6570; --rule:#d6dbe1; --band:#f5f7fa; --accent:#1d3557;
        --warn:#9a4a00; --uniq:#1d6fa5; --shared:#9fc3df; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--ink); background: #fff;
       font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
       line-height: 1.5; }
main { max-width: 72rem; margin: 0 auto; padding: 2.5rem 2rem 4rem; }
header.title { border-bottom: 3px solid var(--accent); margin-bottom: 1.5rem; padding-bottom: .8rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 .3rem; color: var(--accent); }
h2 { font-size: 1.35rem; margin: 2.6rem 0 .8rem; padding-bottom: .25rem; color: var(--accent);
     border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .3rem; color: var(--muted); }
p { margin: .4rem 0 .8rem; max-width: 48rem; }
.meta, .muted { color: var(--muted); }
nav.toc { background: var(--band); border: 1px solid var(--rule); border-radius: 4px;
          padding: .8rem 1.4rem; display: inline-block; min-width: 22rem; }
nav.toc h2 { border: 0; margin: 0 0 .3rem; font-size: 1rem; color: var(--ink); padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.3rem; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
.table-wrap { overflow-x: auto; margin: .6rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .92rem; width: 100%; }
caption { text-align: left; color: var(--muted); font-size: .9rem; padding-bottom: .3rem; }
th, td { padding: .35rem .6rem; text-align: left; vertical-align: top; border-bottom: 1px solid var(--rule); }
thead th { border-bottom: 2px solid var(--ink); font-weight: 600; white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.total th, tr.total td { border-top: 2px solid var(--ink); font-weight: 600; background: #fff; }
table.search-log tr.entry td { border-bottom: 0; padding-bottom: .1rem; }
table.search-log tr.query-row td { padding-top: .1rem; padding-bottom: .6rem; }
table.search-log tbody tr { background: #fff; }
.label { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
         margin-right: .4rem; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .84rem; }
code.query { display: block; white-space: pre-wrap; overflow-wrap: anywhere; background: var(--band);
             padding: .3rem .5rem; border-radius: 3px; margin: .15rem 0 .2rem; }
.small { font-size: .82rem; }
.block { display: block; }
.flag { color: var(--warn); font-weight: 600; font-size: .8rem; }
.not-run { border-left: 4px solid var(--rule); background: var(--band); padding: .6rem .9rem;
           color: var(--muted); font-style: italic; }
.notice { border-left: 4px solid var(--warn); background: #fff7ec; padding: .4rem .9rem; margin: 1rem 0; }
.notice p { margin: .2rem 0; font-weight: 600; color: var(--warn); }
.notice ul { margin: .2rem 0 .4rem; }
.notice.simulated { border-left-width: 6px; padding: .6rem 1rem; }
.notice.simulated p { text-transform: uppercase; letter-spacing: .05em; font-size: .85rem; }
.simulated-line b { color: var(--warn); }
figure { margin: 1rem 0 1.6rem; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .3rem; }
svg.diagram { display: block; width: 100%; max-width: 60rem; height: auto; }
table.prisma-counts { width: auto; min-width: 34rem; }
td.sub { padding-left: 1.8rem; color: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg.chart .lab, svg.chart .val, svg.chart .key { font-size: 13px; fill: var(--ink); }
svg.chart .key { fill: var(--muted); }
svg.chart .uniq { fill: var(--uniq); }
svg.chart .shared { fill: var(--shared); }
figure.map img, figure.network img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
table.doctypes td:nth-child(2) { min-width: 14rem; }
.representative { columns: 2 26rem; column-gap: 2rem; }
.topic-works { break-inside: avoid; page-break-inside: avoid; }
.topic-works h4 { margin: .8rem 0 .2rem; color: var(--ink); }
.topic-works ol { margin: 0 0 .6rem; padding-left: 1.4rem; font-size: .9rem; }
table.included td:nth-child(2) { min-width: 18rem; }
table.included td:nth-child(3) { min-width: 10rem; }
table.included td.doi { min-width: 11rem; max-width: 16rem; overflow-wrap: anywhere; }
table.included td.topic-list { min-width: 11rem; font-size: .85rem; }
table.included a { color: var(--accent); }
.outcomes b { font-variant-numeric: tabular-nums; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--rule);
         padding-top: .6rem; }
@media print {
  html { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: block; border: 0; background: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3, h4 { break-after: avoid; }
  tr, figure, .notice { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  tbody tr:nth-child(even) { background: none; }
  table.included a { color: var(--ink); text-decoration: none; }
  section#prisma { break-before: page; }
  @page { margin: 16mm 14mm; }
}
"""

_RENDER = {
    "search": _search,
    "prisma": _prisma,
    "dedupe": _dedupe,
    "screening": _screening,
    "topics": _topics,
    "included": _included,
}


def render_report(data: ReportData, *, sections: Mapping[str, str] | None = None) -> str:
    """The whole page as text (UTF-8 HTML5); ``sections`` overrides headings by id."""
    headings = dict(SECTIONS)
    if sections:
        headings.update(sections)
    title = data.title or "Scoping review"
    toc = "".join(f'<li><a href="#{sid}">{_e(headings[sid])}</a></li>' for sid, _ in SECTIONS)
    body = "".join(
        f'<section id="{sid}"><h2>{_e(headings[sid])}</h2>{_RENDER[sid](data)}</section>'
        for sid, _ in SECTIONS
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} — report</title>"
        f"<style>{CSS}</style></head><body><main>"
        f'<header class="title"><h1>{_e(title)}</h1>'
        f'<p class="meta">Review report generated by scoping on {_e(data.generated_at)}. '
        "Every number is derived from the review's store.</p></header>"
        f"{_simulated_notice(data)}"
        f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>'
        f"{body}"
        "<footer>Made with scoping. This page is self-contained: it loads nothing from the "
        "network.</footer>"
        "</main></body></html>\n"
    )
