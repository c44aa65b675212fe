"""The PRISMA 2020 flow diagram, drawn with matplotlib from a :class:`PrismaCounts`.

The layout is the PRISMA 2020 template for new systematic reviews that searched databases and
registers (and, when used, other methods), or the template for updated reviews (a "Previous
studies" column on the left, with the totals) when the counts have a previous version: phase
bands on the left (Identification, Screening, Included), one column of flow boxes per
identification route with its exclusion boxes to the right, arrows between them. For scoping
reviews an extra box lists the included sources per topic (unless left out). Boxes grow to
hold their text (long lists of reasons, large numbers); text is wrapped to the box width
measured with the font's own metrics.

Every number drawn comes from the :class:`PrismaCounts` passed in, the same object that
:func:`~scoping.report.prisma.to_json` writes. A count that is not final is drawn as
"n = 1,234 so far" in a dashed box with the reason; a count that is not known says so instead
of showing a number; a hand-entered count carries a dagger (†). Checks that fail are listed in
a notes panel under the diagram.

Only the Agg, SVG and PDF backends are used (no pyplot, no display); fonts are matplotlib's
bundled DejaVu Sans. SVG keeps text as text (``svg.fonttype = none``); PDF embeds TrueType.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.textpath import TextToPath

from scoping.errors import UsageError
from scoping.report.prisma import OTHER_KINDS, Count, Line, PrismaCounts, Retrieval

__all__ = ["FORMATS", "Diagram", "DrawnBox", "draw", "format_count", "render", "render_many", "save"]

FORMATS = ("svg", "png", "pdf")

FONT = "DejaVu Sans"
SIZE = 8.5
"""Body text size in points."""
HEAD_SIZE = 9.5
BAND_SIZE = 10.0

NBSP = "\u00a0"
DAGGER = "†"

# geometry, in inches
MARGIN = 0.22
BAND_W = 0.34
BAND_GAP = 0.16
COL_W = {"P": 2.3, "A": 2.75, "B": 2.75, "C": 2.45, "D": 2.45}
ARROW_GAP = 0.42
"""Between a flow box and its exclusion box."""
COLUMN_GAP = 0.36
"""Between the databases' exclusion boxes and the other-methods column."""
ROW_GAP = 0.34
PAD_X = 0.09
PAD_Y = 0.075
PARA_GAP = 0.035
INDENT = 0.13
HANG = 0.12
LINE = 1.3
"""Line height as a multiple of the font size."""
SAFETY = 0.96
"""Text is wrapped to this share of the inner width (rendered widths differ a little)."""

INK = "#262626"
EDGE = "#3a3a3a"
WARN = "#b35900"
BAND_FACE = "#c9dbf0"
BAND_INK = "#1d3557"
HEAD_FACE = "#f4d88e"
HEAD_INK = "#3b2f00"
NOTE_FACE = "#fff5e6"
BOX_FACE = "#ffffff"


def format_count(count: Count) -> str:
    """``(n = 1,234)``; ``(n = 1,234 so far)``; ``(n not known)``; a dagger for a hand-entered n."""
    if count.n is None:
        return f"(n{NBSP}not{NBSP}known)"
    text = f"(n{NBSP}={NBSP}{count.n:,}"
    if not count.complete:
        text += f"{NBSP}so{NBSP}far"
    text += ")"
    if count.source == "manual":
        text += DAGGER
    return text


def _line_text(line: Line, *, so_far: bool = True) -> str:
    """``Name (n = 12)``; ``so_far=False`` leaves "so far" to the box's total."""
    text = f"{line.name} (n{NBSP}={NBSP}{line.n:,}"
    if so_far and not line.complete:
        text += f"{NBSP}so{NBSP}far"
    text += ")"
    if line.source == "manual":
        text += DAGGER
    return text


def _other_text(line: Line) -> str:
    """An other-methods source, after its PRISMA 2020 kind: ``Websites: WHO (n = 4)``."""
    text = _line_text(line)
    kind = OTHER_KINDS.get(line.kind or "")
    if kind is None or line.name.casefold() == kind.casefold():
        return text
    return f"{kind}: {text}"


@dataclass(slots=True)
class Para:
    text: str
    style: str = "body"
    """``body``; ``item`` (indented); ``sub`` (indented twice); ``note`` (italic); ``head`` (bold)."""


@dataclass(slots=True)
class BoxSpec:
    id: str
    col: str
    row: str
    paras: list[Para]
    keys: tuple[str, ...] = ()
    """Flat keys of the counts and lists whose numbers the box shows."""
    warn: bool = False
    face: str = BOX_FACE


@dataclass(slots=True)
class DrawnBox:
    """A box as drawn: its patch and its text, for checking that the text stays inside."""

    id: str
    keys: tuple[str, ...]
    patch: FancyBboxPatch
    texts: list[Text] = field(default_factory=list)


@dataclass(slots=True)
class Diagram:
    figure: Figure
    boxes: list[DrawnBox]
    width: float
    height: float
    shown_keys: tuple[str, ...]
    """Flat keys of every count and list whose numbers are drawn."""
    arrows: list[tuple[str, str, list[tuple[float, float]]]] = field(default_factory=list)
    """``(from box, to box, points in inches from the top left)`` of every arrow and connector."""


# -- text measuring and wrapping ------------------------------------------------------------

_TTP = TextToPath()
_PROPS: dict[tuple[float, str, str], FontProperties] = {}


def _prop(size: float, weight: str = "normal", style: Any = "normal") -> FontProperties:
    key = (size, weight, style)
    if key not in _PROPS:
        _PROPS[key] = FontProperties(family=FONT, size=size, weight=weight, style=style)
    return _PROPS[key]


def _width(text: str, prop: FontProperties) -> float:
    """Width of ``text`` in inches."""
    if not text:
        return 0.0
    return _measured(text.replace(NBSP, " "), prop)


@functools.lru_cache(maxsize=1 << 14)
def _measured(text: str, prop: FontProperties) -> float:
    """FreeType's width of ``text`` (inches), remembered: laying out a box measures every
    candidate line (about 1 ms each), and the same boxes are laid out again for each diagram
    of the same counts (the report's, ``scoping prisma``'s). ``prop`` is one of :func:`_prop`'s,
    never changed after it is made."""
    w, _, _ = _TTP.get_text_width_height_descent(text, prop, ismath=False)
    return float(w) / 72.0


def _break_word(word: str, width: float, prop: FontProperties) -> list[str]:
    """Split a word too long for a line into pieces that fit (a hyphen-less hard break)."""
    pieces, current = [], ""
    for ch in word:
        if current and _width(current + ch, prop) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, first: float, rest: float, prop: FontProperties) -> list[str]:
    """Greedy word wrap: the first line ``first`` inches wide, the others ``rest``.

    Words are split at ordinary spaces only; non-breaking spaces glue "(n = 1,234)" together.
    """
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if not word:
            continue
        limit = first if not lines else rest
        candidate = f"{current} {word}" if current else word
        if _width(candidate, prop) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
            limit = rest
        if _width(word, prop) <= limit:
            current = word
        else:
            pieces = _break_word(word, limit, prop)
            lines.extend(pieces[:-1])
            current = pieces[-1]
    if current or not lines:
        lines.append(current)
    return [line.replace(NBSP, " ") for line in lines]


_STYLE = {
    "body": (0.0, "normal", "normal", INK),
    "head": (0.0, "bold", "normal", INK),
    "item": (INDENT, "normal", "normal", INK),
    "sub": (2 * INDENT, "normal", "normal", INK),
    "note": (0.0, "normal", "italic", WARN),
}


@dataclass(slots=True)
class _Laid:
    spec: BoxSpec
    width: float
    height: float
    lines: list[tuple[float, str, str, str, str]]
    """(x offset, text, weight, style, colour) of every line, top to bottom."""
    x: float = 0.0
    y: float = 0.0


def _lay_box(spec: BoxSpec, width: float | None = None) -> _Laid:
    width = COL_W[spec.col] if width is None else width
    inner = (width - 2 * PAD_X) * SAFETY
    lines: list[tuple[float, str, str, str, str]] = []
    for i, para in enumerate(spec.paras):
        indent, weight, style, colour = _STYLE[para.style]
        prop = _prop(SIZE, weight, style)
        wrapped = wrap(para.text, inner - indent, inner - indent - HANG, prop)
        for j, text in enumerate(wrapped):
            lines.append((indent + (HANG if j else 0.0), text, weight, style, colour))
        if i < len(spec.paras) - 1:
            lines.append((0.0, "", "gap", "", ""))
    line_h = SIZE * LINE / 72.0
    n_text = sum(1 for line in lines if line[2] != "gap")
    n_gap = len(lines) - n_text
    height = 2 * PAD_Y + n_text * line_h + n_gap * PARA_GAP
    return _Laid(spec, width, height, lines)


# -- what goes in the boxes -----------------------------------------------------------------


def _count_para(label: str, count: Count, style: str = "body") -> Para:
    return Para(f"{label} {format_count(count)}", style)


def _flags(counts: PrismaCounts, keys: tuple[str, ...]) -> bool:
    """Whether a box shows a count that is not final or takes part in a failed check."""
    failed = {key for check in counts.checks if not check.ok for key in check.keys}
    for key in keys:
        if key in failed:
            return True
        try:
            if not counts.count(key).final:
                return True
        except KeyError:
            if not all(line.complete for line in counts.lines(key)):
                return True
    return False


def _note_paras(*values: Count) -> list[Para]:
    return [Para(c.note[0].upper() + c.note[1:], "note") for c in values if c.note]


def _previous_records(counts: PrismaCounts) -> list[Para]:
    """An updated review's previous arm, from the store: the previous searches' records."""
    update = counts.update
    if update is None:
        return []
    paras = [_count_para("Records identified by the previous searches", update.previous_records)]
    paras += [Para(_line_text(line), "sub") for line in update.previous_databases]
    if update.previous_other_methods:
        paras.append(
            _count_para(
                "Records identified by other methods in the previous version", update.previous_other_records
            )
        )
        paras += [Para(_other_text(line), "sub") for line in update.previous_other_methods]
    return paras


def _identification_box(counts: PrismaCounts) -> BoxSpec:
    ident = counts.identification
    paras = [Para(f"Records identified {format_count(ident.records_identified)}:")]
    paras.append(_count_para("Databases", ident.databases_total, "item"))
    paras += [Para(_line_text(line), "sub") for line in ident.databases]
    paras.append(_count_para("Registers", ident.registers_total, "item"))
    paras += [Para(_line_text(line), "sub") for line in ident.registers]
    if counts.update is not None:
        paras.append(
            Para(f"(the update searches from {counts.update.since[:10]} on: new records only)", "sub")
        )
    keys = (
        "identification.records_identified",
        "identification.databases_total",
        "identification.databases",
        "identification.registers_total",
        "identification.registers",
    )
    return BoxSpec("identification.records", "A", "ident", paras, keys)


def _removed_box(counts: PrismaCounts) -> BoxSpec:
    ident = counts.identification
    paras = [
        Para("Records removed before screening:"),
        _count_para("Duplicate records removed", ident.duplicates_removed, "item"),
    ]
    update = counts.update
    if update is not None:
        paras.append(
            _count_para(
                "Duplicates of records from the previous searches", update.duplicates_of_previous, "item"
            )
        )
        if update.found_again.n:
            paras.append(
                Para(
                    f"{update.found_again.n:,} more found again by the update searches, "
                    "already counted in the previous searches",
                    "sub",
                )
            )
    paras.append(
        _count_para("Records marked as ineligible by automation tools", ident.automation_removed, "item")
    )
    if counts.stopping_rule:
        paras.append(Para(f"Stopping rule: {counts.stopping_rule}", "sub"))
    paras.append(_count_para("Records removed for other reasons", ident.other_removed, "item"))
    paras += _note_paras(ident.duplicates_removed, ident.automation_removed, ident.other_removed)
    keys: tuple[str, ...] = (
        "identification.duplicates_removed",
        "identification.automation_removed",
        "identification.other_removed",
    )
    if update is not None:
        keys += ("update.duplicates_of_previous",)
        paras += _note_paras(update.duplicates_of_previous)
    return BoxSpec("identification.removed", "B", "ident", paras, keys)


def _reasons_box(
    box_id: str, col: str, row: str, label: str, count: Count, reasons: list[Line], keys: tuple[str, ...]
) -> BoxSpec:
    if reasons:
        paras = [Para(f"{label} {format_count(count)}:")]
        paras += [Para(_line_text(line, so_far=count.complete), "item") for line in reasons]
    else:
        paras = [_count_para(label, count)]
    return BoxSpec(box_id, col, row, paras + _note_paras(count), keys)


def _flow_boxes(
    flow: Retrieval, section: str, cols: tuple[str, str], *, screened_box: bool, screening_reasons: bool
) -> list[BoxSpec]:
    main, side = cols
    specs: list[BoxSpec] = []
    if screened_box:
        specs.append(
            BoxSpec(
                f"{section}.screened",
                main,
                "screen",
                [_count_para("Records screened", flow.records_screened), *_note_paras(flow.records_screened)],
                (f"{section}.records_screened",),
            )
        )
        reasons = flow.records_excluded_reasons if screening_reasons else []
        keys: tuple[str, ...] = (f"{section}.records_excluded",)
        if reasons:
            keys += (f"{section}.records_excluded_reasons",)
        specs.append(
            _reasons_box(
                f"{section}.records_excluded",
                side,
                "screen",
                "Records excluded",
                flow.records_excluded,
                reasons,
                keys,
            )
        )
    specs.append(
        BoxSpec(
            f"{section}.sought",
            main,
            "retrieve",
            [
                _count_para("Reports sought for retrieval", flow.reports_sought),
                *_note_paras(flow.reports_sought),
            ],
            (f"{section}.reports_sought",),
        )
    )
    specs.append(
        BoxSpec(
            f"{section}.not_retrieved",
            side,
            "retrieve",
            [
                _count_para("Reports not retrieved", flow.reports_not_retrieved),
                *_note_paras(flow.reports_not_retrieved),
            ],
            (f"{section}.reports_not_retrieved",),
        )
    )
    specs.append(
        BoxSpec(
            f"{section}.assessed",
            main,
            "assess",
            [
                _count_para("Reports assessed for eligibility", flow.reports_assessed),
                *_note_paras(flow.reports_assessed),
            ],
            (f"{section}.reports_assessed",),
        )
    )
    keys = (f"{section}.reports_excluded",)
    if flow.reports_excluded_reasons:
        keys += (f"{section}.reports_excluded_reasons",)
    specs.append(
        _reasons_box(
            f"{section}.reports_excluded",
            side,
            "assess",
            "Reports excluded",
            flow.reports_excluded,
            flow.reports_excluded_reasons,
            keys,
        )
    )
    return specs


def _specs(counts: PrismaCounts, screening_reasons: bool) -> list[BoxSpec]:
    specs = [_identification_box(counts), _removed_box(counts)]
    specs += _flow_boxes(
        counts.screening, "screening", ("A", "B"), screened_box=True, screening_reasons=screening_reasons
    )
    om = counts.other_methods
    if om is not None:
        paras = [Para(f"Records identified from other methods {format_count(om.records_identified)}:")]
        paras += [Para(_other_text(line), "item") for line in om.sources]
        if counts.update is not None:
            paras.append(Para(f"(from {counts.update.since[:10]} on: new records only)", "sub"))
        specs.append(
            BoxSpec(
                "other_methods.records",
                "C",
                "ident",
                paras,
                ("other_methods.records_identified", "other_methods.sources"),
            )
        )
        specs += _flow_boxes(
            om,
            "other_methods",
            ("C", "D"),
            screened_box=bool(om.records_screened.n),
            screening_reasons=screening_reasons,
        )
    inc = counts.included
    new = "New studies included in review" if counts.previous else "Studies included in review"
    new_reports = "Reports of new included studies" if counts.previous else "Reports of included studies"
    specs.append(
        BoxSpec(
            "included",
            "A",
            "included",
            [
                _count_para(new, inc.studies),
                _count_para(new_reports, inc.reports),
                *_note_paras(inc.studies, inc.reports),
            ],
            ("included.studies", "included.reports"),
        )
    )
    prev = counts.previous
    if prev is not None:
        specs.append(
            BoxSpec(
                "previous.studies",
                "P",
                "ident",
                [
                    *_previous_records(counts),
                    _count_para("Studies included in previous version of review", prev.studies),
                    _count_para("Reports of studies included in previous version of review", prev.reports),
                    *_note_paras(prev.studies),
                ],
                ("previous.studies", "previous.reports")
                + (
                    (
                        "update.previous_records",
                        "update.previous_databases",
                        "update.previous_other_records",
                        "update.previous_other_methods",
                    )
                    if counts.update
                    else ()
                ),
            )
        )
        specs.append(
            BoxSpec(
                "previous.total",
                "P",
                "included",
                [
                    _count_para("Total studies included in review", prev.total_studies),
                    _count_para("Reports of total included studies", prev.total_reports),
                ],
                ("previous.total_studies", "previous.total_reports"),
            )
        )
    if inc.topics:
        paras = [Para("Included sources by topic:")]
        if inc.reports.n is not None and sum(t.n for t in inc.topics) > inc.reports.n:
            paras = [Para("Included sources by topic (a source can be in more than one topic):")]
        paras += [Para(_line_text(line, so_far=inc.reports.complete), "item") for line in inc.topics]
        specs.append(BoxSpec("included.topics", "A", "topics", paras, ("included.topics",)))
    for spec in specs:
        spec.warn = _flags(counts, spec.keys)
    return specs


# -- layout and drawing ---------------------------------------------------------------------

ROWS = ("ident", "screen", "retrieve", "assess", "included", "topics")
PHASES = (
    ("Identification", ("ident",)),
    ("Screening", ("screen", "retrieve", "assess")),
    ("Included", ("included", "topics")),
)


def _columns(other: bool, previous: bool = False) -> dict[str, float]:
    x = MARGIN + BAND_W + BAND_GAP
    xs: dict[str, float] = {}
    if previous:
        xs["P"] = x
        x += COL_W["P"] + COLUMN_GAP
    xs |= {"A": x, "B": x + COL_W["A"] + ARROW_GAP}
    if other:
        xs["C"] = xs["B"] + COL_W["B"] + COLUMN_GAP
        xs["D"] = xs["C"] + COL_W["C"] + ARROW_GAP
    return xs


def _style() -> Any:  # a dict of rcParams
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [FONT],
        "svg.fonttype": "none",
        "svg.hashsalt": "scoping-prisma",
        "pdf.fonttype": 42,
        "text.usetex": False,
    }


def draw(counts: PrismaCounts, *, screening_reasons: bool = False) -> Diagram:
    """Lay out and draw the diagram on a new :class:`~matplotlib.figure.Figure`.

    ``screening_reasons`` lists the reasons of the records excluded at title-abstract too (the
    template shows only their number).
    """
    with matplotlib.rc_context(_style()):
        return _draw(counts, screening_reasons)


def _draw(counts: PrismaCounts, screening_reasons: bool) -> Diagram:
    other = counts.other_methods is not None
    previous = counts.previous is not None
    xs = _columns(other, previous)
    right = xs["D"] + COL_W["D"] if other else xs["B"] + COL_W["B"]
    left = min(xs.values())
    width = right + MARGIN
    laid = [_lay_box(spec) for spec in _specs(counts, screening_reasons)]
    by_row: dict[str, list[_Laid]] = {}
    for box in laid:
        by_row.setdefault(box.spec.row, []).append(box)

    heads, head_lines = _headers(xs, previous=previous, other=other)
    header_h = max(len(lines) for lines in head_lines) * (HEAD_SIZE * LINE / 72.0) + 2 * PAD_Y + 0.04
    header_top = MARGIN
    rows, y = _place_rows(by_row, xs, header_top + (header_h + ROW_GAP * 0.8))
    flow_bottom = y - ROW_GAP

    # the notes panel: every count that is not final, every sum that does not add up
    y = flow_bottom
    notes = counts.notes
    note_box = None
    if notes:
        paras = [Para("Not final or not adding up:", "head")]
        paras += [Para(f"• {note}", "item") for note in notes]
        note_box = _lay_box(BoxSpec("notes", "A", "notes", paras, (), True, NOTE_FACE), width=right - left)
        y += ROW_GAP * 0.7
        note_box.x, note_box.y = left, y
        y += note_box.height
    manual = any(c.source == "manual" for _, c in counts.iter_counts()) or any(
        line.source == "manual" for lines in _all_lists(counts) for line in lines
    )
    foot_size = SIZE - 0.5
    foot_lines: list[str] = []
    foot_top = y + 0.1
    if manual:
        foot_w = (right - left) * SAFETY
        foot_lines = wrap(
            f"{DAGGER} Entered by hand in screening/prisma-manual.toml: the store cannot know this number.",
            foot_w,
            foot_w,
            _prop(foot_size, "normal", "italic"),
        )
        y = foot_top + len(foot_lines) * foot_size * LINE / 72.0
    height = y + MARGIN

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()

    _draw_bands(ax, rows)
    drawn = [
        _draw_header(ax, x0, x1, lines, header_top, header_h)
        for (_text, x0, x1), lines in zip(heads, head_lines, strict=True)
    ]

    for box in laid:
        drawn.append(_draw_box(ax, box))
    if note_box is not None:
        drawn.append(_draw_box(ax, note_box))
    fy = foot_top
    for line in foot_lines:
        ax.text(left, fy, line, ha="left", va="top", fontsize=foot_size, fontstyle="italic", color=INK)
        fy += foot_size * LINE / 72.0

    arrows = _arrows(ax, {box.spec.id: box for box in laid})
    shown = tuple(dict.fromkeys(key for box in laid for key in box.spec.keys))
    return Diagram(fig, drawn, width, height, shown, arrows)


def _headers(
    xs: dict[str, float], *, previous: bool, other: bool
) -> tuple[list[tuple[str, float, float]], list[list[str]]]:
    """The header bars over the columns (text, left, right) and each one's wrapped lines."""
    head_prop = _prop(HEAD_SIZE, "bold")
    new = "new " if previous else ""
    heads = [(f"Identification of {new}studies via databases and registers", xs["A"], xs["B"] + COL_W["B"])]
    if previous:
        heads.insert(0, ("Previous studies", xs["P"], xs["P"] + COL_W["P"]))
    if other:
        heads.append((f"Identification of {new}studies via other methods", xs["C"], xs["D"] + COL_W["D"]))
    head_lines = [
        wrap(text, (x1 - x0 - 2 * PAD_X) * SAFETY, (x1 - x0 - 2 * PAD_X) * SAFETY, head_prop)
        for text, x0, x1 in heads
    ]
    return heads, head_lines


def _place_rows(
    by_row: dict[str, list[_Laid]], xs: dict[str, float], y: float
) -> tuple[dict[str, tuple[float, float]], float]:
    """Place the rows of boxes from ``y`` down (each box centred in its row, in its column):
    each row's (top, height), and the ``y`` below the last row's gap. A phase whose rows are
    shorter than its band's label gets its last row grown."""
    heights = {row: max(box.height for box in by_row[row]) for row in ROWS if row in by_row}
    band_prop = _prop(BAND_SIZE, "bold")
    for name, band_rows in PHASES:
        present = [r for r in band_rows if r in heights]
        if not present:
            continue
        span = sum(heights[r] for r in present) + ROW_GAP * (len(present) - 1)
        need = _width(name, band_prop) + 0.3
        if span < need:  # room for the band's label: the phase's last row grows
            heights[present[-1]] += need - span
    rows: dict[str, tuple[float, float]] = {}
    for row, height in heights.items():
        rows[row] = (y, height)
        for box in by_row[row]:
            box.x = xs[box.spec.col]
            box.y = y + (height - box.height) / 2
        y += height + ROW_GAP
    return rows, y


def _draw_bands(ax: Any, rows: dict[str, tuple[float, float]]) -> None:
    """The phase bands at the left (Identification, Screening, Included), each over its rows."""
    for name, band_rows in PHASES:
        spans = [rows[r] for r in band_rows if r in rows]
        if not spans:
            continue
        top = spans[0][0]
        bottom = spans[-1][0] + spans[-1][1]
        ax.add_patch(
            FancyBboxPatch(
                (MARGIN, top),
                BAND_W,
                bottom - top,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=BAND_FACE,
                edgecolor="none",
            )
        )
        ax.text(
            MARGIN + BAND_W / 2,
            (top + bottom) / 2,
            name,
            rotation=90,
            ha="center",
            va="center",
            fontsize=BAND_SIZE,
            fontweight="bold",
            color=BAND_INK,
        )


def _draw_header(ax: Any, x0: float, x1: float, lines: list[str], top: float, height: float) -> DrawnBox:
    """One header bar from ``x0`` to ``x1``, its lines centred."""
    patch = FancyBboxPatch(
        (x0, top),
        x1 - x0,
        height,
        boxstyle="round,pad=0,rounding_size=0.06",
        facecolor=HEAD_FACE,
        edgecolor="none",
    )
    ax.add_patch(patch)
    texts = []
    head_h = HEAD_SIZE * LINE / 72.0
    ty = top + (height - len(lines) * head_h) / 2
    for line in lines:
        texts.append(
            ax.text(
                (x0 + x1) / 2,
                ty + head_h / 2,
                line,
                ha="center",
                va="center",
                fontsize=HEAD_SIZE,
                fontweight="bold",
                color=HEAD_INK,
            )
        )
        ty += head_h
    return DrawnBox("header", (), patch, texts)


def _all_lists(counts: PrismaCounts) -> list[list[Line]]:
    ident, scr, inc = counts.identification, counts.screening, counts.included
    lists = [
        ident.databases,
        ident.registers,
        scr.records_excluded_reasons,
        scr.reports_excluded_reasons,
        inc.topics,
    ]
    if counts.other_methods is not None:
        om = counts.other_methods
        lists += [om.sources, om.records_excluded_reasons, om.reports_excluded_reasons]
    return lists


def _draw_box(ax: Any, box: _Laid) -> DrawnBox:
    spec = box.spec
    patch = FancyBboxPatch(
        (box.x, box.y),
        box.width,
        box.height,
        boxstyle="round,pad=0,rounding_size=0.035",
        facecolor=spec.face,
        edgecolor=WARN if spec.warn else EDGE,
        linewidth=1.1 if spec.warn else 0.9,
        linestyle=(0, (4, 2)) if spec.warn else "solid",
    )
    ax.add_patch(patch)
    texts = []
    line_h = SIZE * LINE / 72.0
    ty = box.y + PAD_Y
    for indent, text, weight, style, colour in box.lines:
        if weight == "gap":
            ty += PARA_GAP
            continue
        texts.append(
            ax.text(
                box.x + PAD_X + indent,
                ty + line_h * 0.1,
                text,
                ha="left",
                va="top",
                fontsize=SIZE,
                fontweight=weight,
                fontstyle=style,
                color=colour,
            )
        )
        ty += line_h
    return DrawnBox(spec.id, spec.keys, patch, texts)


def _arrow(ax: Any, points: list[tuple[float, float]], head: bool = True) -> None:
    codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1)
    ax.add_patch(
        FancyArrowPatch(
            path=MplPath(points, codes),
            arrowstyle="-|>" if head else "-",
            mutation_scale=9,
            linewidth=0.9,
            color=EDGE,
            shrinkA=0,
            shrinkB=0,
            joinstyle="miter",
            capstyle="butt",
        )
    )


def _arrows(ax: Any, boxes: dict[str, _Laid]) -> list[tuple[str, str, list[tuple[float, float]]]]:
    drawn: list[tuple[str, str, list[tuple[float, float]]]] = []

    def connect(a: str, b: str, points: list[tuple[float, float]], head: bool = True) -> None:
        _arrow(ax, points, head)
        drawn.append((a, b, points))

    def down(a: str, b: str) -> None:
        if a in boxes and b in boxes:
            top, low = boxes[a], boxes[b]
            x = top.x + top.width / 2
            connect(a, b, [(x, top.y + top.height), (x, low.y)])

    def across(a: str, b: str) -> None:
        if a in boxes and b in boxes:
            left, right = boxes[a], boxes[b]
            y = left.y + left.height / 2
            connect(a, b, [(left.x + left.width, y), (right.x, y)])

    across("identification.records", "identification.removed")
    for section in ("screening", "other_methods"):
        first = f"{section}.screened" if f"{section}.screened" in boxes else f"{section}.sought"
        down("identification.records" if section == "screening" else "other_methods.records", first)
        across(f"{section}.screened", f"{section}.records_excluded")
        down(f"{section}.screened", f"{section}.sought")
        across(f"{section}.sought", f"{section}.not_retrieved")
        down(f"{section}.sought", f"{section}.assessed")
        across(f"{section}.assessed", f"{section}.reports_excluded")
    down("screening.assessed", "included")
    if "other_methods.assessed" in boxes and "included" in boxes:
        src, inc = boxes["other_methods.assessed"], boxes["included"]
        x = src.x + src.width / 2
        y = inc.y + inc.height / 2
        connect(
            "other_methods.assessed", "included", [(x, src.y + src.height), (x, y), (inc.x + inc.width, y)]
        )
    down("previous.studies", "previous.total")
    if "previous.total" in boxes and "included" in boxes:
        inc, total = boxes["included"], boxes["previous.total"]
        y = inc.y + inc.height / 2
        connect("included", "previous.total", [(inc.x, y), (total.x + total.width, y)])
    if "included.topics" in boxes and "included" in boxes:
        inc, topics = boxes["included"], boxes["included.topics"]
        x = inc.x + inc.width / 2
        connect("included", "included.topics", [(x, inc.y + inc.height), (x, topics.y)], head=False)
    return drawn


# -- files ----------------------------------------------------------------------------------


def _metadata(fmt: str) -> dict[str, Any]:
    if fmt == "svg":
        return {"Date": None, "Creator": "scoping"}
    if fmt == "pdf":
        return {
            "CreationDate": None,
            "ModDate": None,
            "Creator": "scoping",
            "Title": "PRISMA 2020 flow diagram",
        }
    return {"Software": "scoping"}


def render(counts: PrismaCounts, fmt: str, *, dpi: int = 300, screening_reasons: bool = False) -> bytes:
    """The diagram as SVG, PNG or PDF bytes. ``dpi`` sets the PNG's resolution (300 or more
    for print)."""
    return render_many(counts, (fmt,), dpi=dpi, screening_reasons=screening_reasons)[fmt]


def render_many(
    counts: PrismaCounts, formats: Iterable[str], *, dpi: int = 300, screening_reasons: bool = False
) -> dict[str, bytes]:
    """The diagram in each of ``formats`` (svg, png, pdf), laid out once and saved once per
    format: the same bytes as :func:`render` for each, for a third of the layout work."""
    kinds = list(dict.fromkeys(formats))
    for fmt in kinds:
        if fmt not in FORMATS:
            raise UsageError(f"unknown diagram format {fmt!r}; use one of {', '.join(FORMATS)}")
    if dpi < 50 or dpi > 1200:
        raise UsageError(f"--dpi {dpi} is out of range; use 50 to 1200 (300 for print)")
    out: dict[str, bytes] = {}
    with matplotlib.rc_context(_style()):
        diagram = _draw(counts, screening_reasons)
        for fmt in kinds:
            stream = io.BytesIO()
            diagram.figure.savefig(stream, format=fmt, dpi=dpi, metadata=_metadata(fmt), facecolor="white")
            out[fmt] = stream.getvalue()
    return out


def save(
    counts: PrismaCounts,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    dpi: int = 300,
    screening_reasons: bool = False,
) -> Path:
    """Write the diagram to ``path`` (format from ``fmt`` or the file's suffix)."""
    target = Path(path)
    kind = fmt or target.suffix.lstrip(".").lower()
    data = render(counts, kind, dpi=dpi, screening_reasons=screening_reasons)
    target.write_bytes(data)
    return target
