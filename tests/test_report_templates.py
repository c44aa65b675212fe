"""The report page's jinja2 templates: the page they render is the one the f-strings made."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from scoping.report import html
from scoping.report.html import (
    AgreementRow,
    Figure,
    IncludedSource,
    OverlapData,
    OverlapRow,
    PrismaData,
    ReportData,
    ReviewerRow,
    SearchRow,
    SimulatedShare,
    StageProgress,
    TopicRow,
    TopicsData,
    render_report,
)

GOLDEN = Path(__file__).resolve().parent / "data" / "report" / "synthetic-page.html"


def synthetic() -> ReportData:
    """Every awkward case at once: markup and quotes in every kind of field, a failed search, a
    diagram missing with its notes, a long source name, a zero-work source, withheld
    simulated numbers, missing statistics, a source without title or authors."""
    return ReportData(
        title="Peer \"support\" & <b>roles</b> 'x'",
        generated_at="2026-01-01 00:00 UTC",
        search=[
            SearchRow(
                "DB <1>",
                "",
                "api",
                "2026-01-01T10:20:30Z",
                'a AND "b" <c>',
                "",
                None,
                3,
                "failed",
                reference="run-1 & co",
                note="note <n>",
            ),
            SearchRow("DB2", "Ovid", "export", "2026-01-02T00:00:00Z", "", "years: 1990", 5, 4, "complete"),
        ],
        prisma=PrismaData(
            svg=None,
            rows=[
                ("identification.records_identified", "Records identified", 10, ""),
                ("identification.databases:A <x>", "    A <x>", None, "so far"),
            ],
            notes=["n1 <x>", "n2 & y"],
            complete=False,
        ),
        overlap=OverlapData(
            [
                OverlapRow("A very long source name that is long", 10, 8, 3, 2),
                OverlapRow("Zero & <z>", 0, 0, 0, 0),
            ],
            10,
            8,
            5,
        ),
        screening=[
            StageProgress("full-text", [ReviewerRow("a<b", 5, 3, {"include": 1, "not-retrieved": 2})]),
            StageProgress(
                "title-abstract",
                [],
                works=4,
                allocated=3,
                outcomes={"include": 1, "excluded by the stopping rule": 2},
            ),
        ],
        agreement=[
            AgreementRow(
                "title-abstract", "a", "b<c", 3, 66.666, None, None, -0.5, 0.25, (-0.123, 0.9), "poor & fair"
            )
        ],
        simulated=SimulatedShare(None, None),
        topics=TopicsData(
            fit=2,
            source="works <file>",
            n_works=3,
            topics=[TopicRow("T1", "L & <l>", 2, 1, ["a<", "b"])],
            figures=[Figure('cap "q"', b"\x89PNG...")],
        ),
        included=[
            IncludedSource(1, None, [], None, None, None, []),
            IncludedSource(2, "T <i>", ["A", "B", "C", "D"], 2001, "J & K", '10.1/x<y>"', ["T1 a<b", "T2"]),
        ],
        included_stage="title-abstract",
        included_note="caveat <c> & d",
        notes={"search": "n"},
    )


def test_the_page_is_byte_for_byte_the_one_the_f_strings_rendered() -> None:
    # synthetic-page.html was rendered from synthetic() by the f-string renderer that the
    # templates replaced (commit 0157f12); the templates must give the same bytes
    assert render_report(synthetic()) == GOLDEN.read_text(encoding="utf-8")


def test_the_templates_autoescape_and_ship_with_the_package() -> None:
    env = html._environment()
    assert env.autoescape is True
    names = set(env.list_templates())
    assert {"report.html", "macros.html", "report.css", "overlap-chart.svg"} <= names
    assert {f"sections/{sid}.html" for sid, _ in html.SECTIONS} <= names
    shipped = resources.files("scoping.report").joinpath("templates", "report.html")
    assert shipped.is_file()
    page = render_report(ReportData(title="<script>alert(1)</script>", generated_at="{{ now }}"))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ now }}" in page  # data is never evaluated as a template
