"""The review report as one self-contained HTML page, rendered from plain data.

:func:`render_report` takes a :class:`ReportData` (plain dataclasses defined here) and returns
the page as text, rendered with jinja2 from the templates in ``scoping/report/templates/``
(autoescaped: every value is escaped unless it is markup made here). It imports nothing from
the other stages: :mod:`scoping.report.page` gathers each stage's results and fills the
dataclasses. The page makes no external request: the CSS is inline, the PRISMA diagram and the
overlap chart are inline SVG, pictures are PNG data URIs, and the one script (the evidence-gap
map's: click a bubble to list its works) is inline, from ``templates/gap-map.js``.

A section whose stage has not run yet is ``None`` in :class:`ReportData`; the page then says so
in words (with :attr:`ReportData.notes` giving a more specific reason when there is one).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

import jinja2
from markupsafe import Markup

__all__ = [
    "SECTIONS",
    "AgreementRow",
    "CrossTab",
    "Figure",
    "GapMapData",
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

PRISMA_S_IN_REPORT: tuple[int, ...] = (1, 8, 9, 13)
"""The PRISMA-S items the report's search log covers: each database and its platform (1), each
search's query as run or as recorded at import (8), its limits (9) and its date (13). Not 15:
the table's total adds the records each search retrieved, so a record a repeated search
retrieved again counts twice (the appendix counts each record once). Every other item is in
the appendix that ``scoping search appendix`` writes."""


def prisma_s_items(report: Sequence[int] = PRISMA_S_IN_REPORT) -> tuple[str, str]:
    """``(items the report covers, the others)`` in words: ``("1, 8, 9 and 13", "2-7, 10-12
    and 14-16")``."""
    return _numbers(sorted(report)), _numbers(sorted(set(range(1, 17)) - set(report)))


def _numbers(numbers: Sequence[int]) -> str:
    runs: list[str] = []
    start = prev = None
    for n in [*numbers, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            assert prev is not None
            runs += [str(start), str(prev)][: prev - start + 1] if prev - start < 2 else [f"{start}-{prev}"]
        start = prev = n
    return ", ".join(runs[:-1]) + f" and {runs[-1]}" if len(runs) > 1 else "".join(runs)


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
    share: float | None = None
    """The topic's share of the work (its weight in the work), 0 to 1."""


@dataclass(frozen=True, slots=True)
class GapMapData:
    """One evidence-gap map: topics (rows) against the values of a dimension (columns).

    ``cells[i][j]`` are positions in :attr:`TopicsData.gap_works` of the works in topic ``i``
    with value ``j``; a bubble's size is their number."""

    dimension: str
    rows: list[tuple[str, str]]
    """``(topic ref, label)``."""
    columns: list[str]
    cells: list[list[list[int]]]


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
    gap_maps: list[GapMapData] = field(default_factory=list)
    """The interactive evidence-gap maps (charted fields, document type, years), first shown first."""
    gap_works: list[RepresentativeWork] = field(default_factory=list)
    """The works the gap maps list, each once."""


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
    checklist: str | None = None
    """Link (relative to the page) to the PRISMA-ScR checklist page, once written."""


# -- rendering ------------------------------------------------------------------------------
#
# The page is the jinja2 template ``templates/report.html`` (package data of scoping.report),
# with one template per section in ``templates/sections/``; templates/README.md says how they
# are laid out. What is easier said in Python than in a template is here: the filters (number
# formats), the SVG chart's geometry, and inlining the PRISMA diagram's SVG.


class _Loader(jinja2.PackageLoader):
    """The report's templates, each line break and the indentation after it removed (except
    in the style sheet and the script), so that templates written one element per line give a compact page."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        if not template.endswith((".css", ".js")):
            source = _LINE_BREAK.sub("", source)
        return source, filename, uptodate


_LINE_BREAK = re.compile(r"\n[ \t]*")


def _escape(value: object) -> Markup:
    """Every value a template writes, escaped (``None`` as nothing), unless it is markup made here.

    The environment autoescapes; this keeps the page's entities those of :func:`html.escape`."""
    if isinstance(value, Markup):
        return value
    return Markup(escape("" if value is None else str(value), quote=True))


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _f(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}".replace("-", "−")


def _pct(share: float) -> str:
    """A share from 0 to 1 as a whole percentage ("82")."""
    return f"{100 * share:.0f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{_f(ci[0])} to {_f(ci[1])}"


def _authors(names: Sequence[str]) -> str:
    if not names:
        return "—"
    if len(names) > 3:
        return "; ".join(names[:3]) + " et al."
    return "; ".join(names)


def _heading(key: str) -> str:
    return key.replace("-", " ").capitalize()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


_SVG_START = re.compile(rb"<svg\b")


def _inline_svg(svg: bytes, label: str) -> Markup:
    """The ``<svg>`` element of an SVG file (without its XML prolog), sized to the page."""
    match = _SVG_START.search(svg)
    body = svg[match.start() :] if match else svg
    text = body.decode("utf-8")
    text = re.sub(r"<svg\b", f'<svg role="img" aria-label="{_escape(label)}" class="diagram"', text, count=1)
    return Markup(text)


@dataclass(frozen=True, slots=True)
class _Bar:
    y: int
    unique: float
    shared: float
    name: str
    works: int


@dataclass(frozen=True, slots=True)
class _Chart:
    label_x: int
    width: int
    height: int
    key_y: int
    bars: list[_Bar]


def _overlap_chart(o: OverlapData) -> _Chart:
    """The geometry of ``overlap-chart.svg``: a bar per source, the works found only by it
    then those also found elsewhere, scaled to the source with the most works."""
    label_w, bar_w, row_h, top = 170, 420, 26, 8
    biggest = max(r.works for r in o.rows) or 1
    bars = [
        _Bar(
            y=top + i * row_h,
            unique=bar_w * r.unique_works / biggest,
            shared=bar_w * r.shared_works / biggest,
            name=r.source if len(r.source) <= 24 else r.source[:23] + "…",
            works=r.works,
        )
        for i, r in enumerate(o.rows)
    ]
    return _Chart(
        label_x=label_w,
        width=label_w + bar_w + 90,
        height=top + row_h * len(o.rows) + 34,
        key_y=top + row_h * len(o.rows) + 12,
        bars=bars,
    )


@dataclass(frozen=True, slots=True)
class _Bubble:
    x: float
    y: float
    r: float
    n: int
    cell: str
    title: str


@dataclass(frozen=True, slots=True)
class _GapGeometry:
    width: int
    height: int
    left: int
    top: int
    cell: int
    rows: list[tuple[float, str]]
    """``(y, text)`` of each topic's label."""
    columns: list[tuple[float, str]]
    """``(x, text)`` of each column's label (written slanted)."""
    bubbles: list[_Bubble]


def _gap_geometry(m: GapMapData) -> _GapGeometry:
    """Where the gap map's labels and bubbles go: a grid of ``cell`` px squares, a bubble's
    area in proportion to its works (the largest fills most of its square)."""
    cell = 46
    # about 7.5 px a character at 13 px: room for the longest topic label (clipped at 40)
    left = 24 + int(7.5 * min(max((len(f"{ref} {label}") for ref, label in m.rows), default=4), 40))
    longest = min(max((len(c) for c in m.columns), default=4), 28)
    top = 24 + int(longest * 5.2)  # room for the column labels, slanted up and right
    right = 24 + int(longest * 6.0)
    biggest = max((len(c) for row in m.cells for c in row), default=0) or 1
    bubbles = []
    for i, (ref, label) in enumerate(m.rows):
        for j, column in enumerate(m.columns):
            n = len(m.cells[i][j])
            if n:
                bubbles.append(
                    _Bubble(
                        x=left + (j + 0.5) * cell,
                        y=top + (i + 0.5) * cell,
                        r=round(max(9.0, (cell / 2 - 3) * (n / biggest) ** 0.5), 1),
                        n=n,
                        cell=f"{i},{j}",
                        title=f"{ref} {label} \u00d7 {column}: {n:,} work{'s' if n != 1 else ''}",
                    )
                )
    rows = [(top + (i + 0.5) * cell, _clip(f"{ref} {label}", 40)) for i, (ref, label) in enumerate(m.rows)]
    columns = [(left + (j + 0.5) * cell, _clip(c, 28)) for j, c in enumerate(m.columns)]
    return _GapGeometry(
        width=left + cell * len(m.columns) + right,
        height=top + cell * len(m.rows) + 8,
        left=left,
        top=top,
        cell=cell,
        rows=rows,
        columns=columns,
        bubbles=bubbles,
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


_JSON_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _gap_json(t: TopicsData) -> Markup:
    """The works of every gap map's cells, as JSON safe inside a ``<script>`` element
    (no ``<``, ``>`` or ``&``: the text cannot close the element)."""
    payload = {
        "works": [[w.title or "(no title)", w.year, w.doi] for w in t.gap_works],
        "maps": [
            {
                "dimension": m.dimension,
                "rows": [f"{ref} {label}" for ref, label in m.rows],
                "columns": m.columns,
                "cells": {
                    f"{i},{j}": cell for i, row in enumerate(m.cells) for j, cell in enumerate(row) if cell
                },
            }
            for m in t.gap_maps
        ],
    }
    return Markup(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).translate(_JSON_UNSAFE))


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_Loader("scoping.report", "templates"),
        autoescape=True,
        finalize=_escape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        n=_n, fixed=_f, pct=_pct, ci=_ci, authors=_authors, heading=_heading, data_uri=_data_uri
    )
    env.globals.update(
        not_run=NOT_RUN,
        prisma_s_items=prisma_s_items(),
        inline_svg=_inline_svg,
        overlap_chart=_overlap_chart,
        gap_geometry=_gap_geometry,
        gap_json=_gap_json,
    )
    return env


def render_report(data: ReportData, *, sections: Mapping[str, str] | None = None) -> str:
    """The whole page as text (UTF-8 HTML5); ``sections`` overrides headings by id."""
    headings = dict(SECTIONS)
    if sections:
        headings.update(sections)
    return (
        _environment()
        .get_template("report.html")
        .render(data=data, title=data.title or "Scoping review", sections=SECTIONS, headings=headings)
    )
