"""The PRISMA 2020 diagram: numbers equal the JSON's, text stays inside its boxes, boxes and arrows
are where the template has them, and the SVG, PNG and PDF files are valid."""

from __future__ import annotations

import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from matplotlib.colors import to_rgba
from matplotlib.transforms import BboxBase
from PIL import Image

from prisma_fixtures import DATABASES, INCLUDED, TOPICS, seed_facts
from scoping.errors import UsageError
from scoping.report.diagram import WARN, Diagram, draw, format_count, render, render_many, save
from scoping.report.facts import OutcomeTally, PrismaFacts, SourceFacts, TopicCount, WorkFacts
from scoping.report.prisma import Count, PrismaCounts, derive_counts, parse_manual, to_json

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d,])|(?<![\w.,])\d+(?![\d,])")


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def box_text(diagram: Diagram, box_id: str) -> str:
    """A box's text, its wrapped lines joined again."""
    box = next(b for b in diagram.boxes if b.id == box_id)
    return " ".join(t.get_text() for t in box.texts)


def numbers_in(text: str) -> set[int]:
    return {int(m.replace(",", "")) for m in NUMBER.findall(text)}


def json_numbers(value: Any) -> Iterator[int]:
    """Every number in the JSON: counts, and numbers written in its messages."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, str):
        yield from numbers_in(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_numbers(item)


def shown_numbers(counts: PrismaCounts, diagram: Diagram) -> set[int]:
    """The numbers of the counts and lists the diagram draws, read from the counts object."""
    out = set()
    for key in diagram.shown_keys:
        try:
            n = counts.count(key).n
            if n is not None:
                out.add(n)
        except KeyError:
            out.update(line.n for line in counts.lines(key))
    return out


def busy_counts() -> PrismaCounts:
    """Large numbers, long reason lists, long names, other methods, notes and hand-entered counts."""
    other = frozenset(range(2_000_000, 2_000_300))
    reasons = [
        f"reason {chr(65 + k % 26)}: " + "a long explanation of why the report was excluded " * (k % 3)
        for k in range(40)
    ] + ["Pneumonoultramicroscopicsilicovolcanoconiosis-without-spaces-at-all"]
    ta, ft = "title-abstract", "full-text"
    tally = OutcomeTally(
        counts={
            ("main", ta, "exclude"): 400_000,
            ("main", ta, "include"): 60_000,
            ("main", ta, "conflict"): 17,
            ("main", ft, "exclude"): 41_000,
            ("main", ft, "include"): 19_000,
            ("other", ta, "include"): 300,
            ("other", ft, "not-retrieved"): 12,
            ("other", ft, "exclude"): 88,
            ("other", ft, "include"): 200,
        },
        reasons={
            ("main", ft, "exclude"): {r: 1000 for r in reasons},
            ("other", ft, "exclude"): {r: 88 // 3 + (k < 88 % 3) for k, r in enumerate(reasons[:3])},
            ("main", ta, "exclude"): {"": 400_000},
        },
        rows=520_617,
    )
    facts = PrismaFacts(
        sources=(
            SourceFacts("Social Sciences Citation Index (Web of Science Core Collection, 1990-)", 250_123, 2),
            SourceFacts("MEDLINE", 212_345_678, 1),
            SourceFacts("Citation searching", 412, 1),
        ),
        works=WorkFacts(
            ran=True,
            main_records=212_595_801,
            main_works=460_017 + 12_000,
            other_records=412,
            other_works=other,
        ),
        outcomes=tally,
        stopping_rule="stopped after 1,000 records in a row were excluded (SAFE procedure)",
        topics=tuple(TopicCount(f"topic {k}: " + "words " * k, 1000 * k) for k in range(1, 12)),
        other_sources=frozenset({"Citation searching"}),
    )
    manual = parse_manual(
        '[sources]\nother_methods = ["Citation searching"]\n'
        '[other_methods.sources]\n"Websites of mental-health charities" = 31\n'
        "[included]\nstudies = 19000\n"
    )
    return derive_counts(facts, manual, title="busy")


@pytest.fixture(scope="module")
def seed() -> PrismaCounts:
    return derive_counts(seed_facts(), title="seed")


@pytest.fixture(scope="module")
def busy() -> PrismaCounts:
    return busy_counts()


CASES = {
    "seed": lambda: derive_counts(seed_facts()),
    "unscreened": lambda: derive_counts(seed_facts(unscreened=312, conflicts=12)),
    "busy": busy_counts,
    "empty": lambda: derive_counts(PrismaFacts((), WorkFacts(ran=False), None)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_number_drawn_is_in_the_json_and_every_shown_count_is_drawn(case: str) -> None:
    counts = CASES[case]()
    texts = svg_texts(render(counts, "svg"))
    drawn = set().union(*(numbers_in(t) for t in texts))
    in_json = set(json_numbers(json.loads(to_json(counts))))
    assert drawn <= in_json, f"drawn but not in the JSON: {sorted(drawn - in_json)}"
    diagram = draw(counts)
    assert shown_numbers(counts, diagram) <= drawn
    # and counts are written with thousands separators
    assert not any(re.search(r"n = \d{4}", t) for t in texts), [t for t in texts if re.search(r"\d{4}", t)]


def test_the_seed_review_diagram_shows_the_published_numbers(seed: PrismaCounts) -> None:
    texts = svg_texts(render(seed, "svg"))
    joined = "\n".join(texts)
    assert "Records identified (n = 7,406):" in texts
    assert "Databases (n = 7,406)" in texts
    assert "Studies included in review (n = 663)" in texts
    assert "Reports of included studies (n = 663)" in texts
    for name, n in TOPICS:
        assert f"{name} (n = {n:,})" in texts
    for name, n in DATABASES.items():
        assert f"(n = {n:,})" in joined and name.split()[0] in joined
    assert INCLUDED == 663
    assert "Identification of studies via databases and registers" in texts
    assert {"Identification", "Screening", "Included"} <= set(texts)
    assert "Identification of studies via other methods" not in texts
    assert not any("so far" in t or "not known" in t or "†" in t for t in texts)


def test_counts_that_are_not_final_say_so(seed: PrismaCounts) -> None:
    counts = derive_counts(seed_facts(unscreened=312))
    texts = svg_texts(render(counts, "svg"))
    diagram = draw(counts)
    assert box_text(diagram, "screening.screened") == (
        "Records screened (n = 4,482 so far) 312 works not yet screened at title-abstract"
    )
    assert "• 312 works not yet screened at title-abstract" in texts  # in the notes
    warned = {box.id for box in diagram.boxes if box.patch.get_edgecolor() == pytest.approx(to_rgba(WARN))}
    assert {
        "screening.screened",
        "screening.records_excluded",
        "screening.sought",
        "included",
        "notes",
    } <= warned
    assert "identification.records" not in warned


def test_unknown_and_hand_entered_counts() -> None:
    counts = derive_counts(
        PrismaFacts((SourceFacts("MEDLINE", 12, 1),), WorkFacts(ran=False), None),
        parse_manual('[identification.registers]\n"ICTRP" = 3\n'),
    )
    texts = svg_texts(render(counts, "svg"))
    assert "Records screened (n not known)" in texts
    assert "ICTRP (n = 3)†" in texts
    assert any(t.startswith("† Entered by hand in screening/prisma-manual.toml") for t in texts)
    assert format_count(Count(1234567, "manual")) == "(n\u00a0=\u00a01,234,567)†"
    assert format_count(Count(5, "store", False)) == "(n\u00a0=\u00a05\u00a0so\u00a0far)"


def _inside(inner: BboxBase, outer: BboxBase, tol: float = 0.5) -> bool:
    return (
        inner.x0 >= outer.x0 - tol
        and inner.x1 <= outer.x1 + tol
        and inner.y0 >= outer.y0 - tol
        and inner.y1 <= outer.y1 + tol
    )


@pytest.mark.parametrize("case", list(CASES))
def test_text_stays_inside_its_box_and_boxes_do_not_overlap(case: str) -> None:
    counts = CASES[case]()
    diagram = draw(counts)
    fig = diagram.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    page = fig.bbox
    extents = []
    for box in diagram.boxes:
        outer = box.patch.get_window_extent(renderer)
        assert _inside(outer, page), box.id
        for text in box.texts:
            inner = text.get_window_extent(renderer)
            assert _inside(inner, outer), (box.id, text.get_text(), inner, outer)
            # a margin on the right too: no text touches the border
            assert inner.x1 <= outer.x1 - 2, (box.id, text.get_text())
        extents.append((box.id, outer))
    for i, (a, ea) in enumerate(extents):
        for b, eb in extents[i + 1 :]:
            assert not ea.overlaps(eb), (a, b)
    for text in fig.axes[0].texts:
        assert _inside(text.get_window_extent(renderer), page), text.get_text()


def test_long_reason_lists_make_boxes_grow(busy: PrismaCounts) -> None:
    diagram = draw(busy)
    heights = {box.id: box.patch.get_height() for box in diagram.boxes}
    assert heights["screening.reports_excluded"] > 5 * heights["screening.sought"]
    texts = svg_texts(render(busy, "svg"))
    assert "MEDLINE (n = 212,345,678)" in texts
    assert box_text(diagram, "other_methods.records").startswith(
        "Records identified from other methods (n = 443): Citation searching (n = 412) Websites"
    )


def test_boxes_line_up_and_arrows_join_them(busy: PrismaCounts) -> None:
    diagram = draw(busy)
    boxes = {box.id: box.patch for box in diagram.boxes}

    def centre_y(name: str) -> float:
        p = boxes[name]
        return p.get_y() + p.get_height() / 2

    for column in (
        (
            "identification.records",
            "screening.screened",
            "screening.sought",
            "screening.assessed",
            "included",
            "included.topics",
        ),
        (
            "identification.removed",
            "screening.records_excluded",
            "screening.not_retrieved",
            "screening.reports_excluded",
        ),
        ("other_methods.records", "other_methods.screened", "other_methods.sought", "other_methods.assessed"),
    ):
        assert len({(boxes[b].get_x(), boxes[b].get_width()) for b in column}) == 1, column
        tops = [boxes[b].get_y() for b in column]
        assert tops == sorted(tops), column
    for left, right in (
        ("identification.records", "identification.removed"),
        ("screening.screened", "screening.records_excluded"),
        ("screening.sought", "screening.not_retrieved"),
        ("screening.assessed", "screening.reports_excluded"),
        ("other_methods.sought", "other_methods.not_retrieved"),
        ("other_methods.assessed", "other_methods.reports_excluded"),
        ("screening.sought", "other_methods.sought"),
    ):
        assert centre_y(left) == pytest.approx(centre_y(right)), (left, right)

    links = {(a, b) for a, b, _ in diagram.arrows}
    assert links == {
        ("identification.records", "identification.removed"),
        ("identification.records", "screening.screened"),
        ("screening.screened", "screening.records_excluded"),
        ("screening.screened", "screening.sought"),
        ("screening.sought", "screening.not_retrieved"),
        ("screening.sought", "screening.assessed"),
        ("screening.assessed", "screening.reports_excluded"),
        ("screening.assessed", "included"),
        ("other_methods.records", "other_methods.screened"),
        ("other_methods.screened", "other_methods.records_excluded"),
        ("other_methods.screened", "other_methods.sought"),
        ("other_methods.sought", "other_methods.not_retrieved"),
        ("other_methods.sought", "other_methods.assessed"),
        ("other_methods.assessed", "other_methods.reports_excluded"),
        ("other_methods.assessed", "included"),
        ("included", "included.topics"),
    }
    for a, b, points in diagram.arrows:
        (x0, y0), (x1, y1) = points[0], points[-1]
        pa, pb = boxes[a], boxes[b]
        # starts on the bottom or right edge of its box, ends on the top, left or right of the next
        assert y0 == pytest.approx(pa.get_y() + pa.get_height()) or x0 == pytest.approx(
            pa.get_x() + pa.get_width()
        ), (a, b)
        assert (
            y1 == pytest.approx(pb.get_y())
            or x1 == pytest.approx(pb.get_x())
            or x1 == pytest.approx(pb.get_x() + pb.get_width())
        ), (a, b)
        for (xa, ya), (xb, yb) in itertools.pairwise(points):
            assert xa == pytest.approx(xb) or ya == pytest.approx(yb), "arrows run straight"


def test_without_other_methods_the_template_has_two_columns(seed: PrismaCounts) -> None:
    diagram = draw(seed)
    assert not any(box.id.startswith("other_methods") for box in diagram.boxes)
    assert diagram.width < 7.5  # fits a portrait page
    assert draw(busy_counts()).width > 11


def test_screening_reasons_on_request(seed: PrismaCounts) -> None:
    plain = svg_texts(render(seed, "svg"))
    detailed = svg_texts(render(seed, "svg", screening_reasons=True))
    assert "Records excluded (n = 3,700)" in plain
    assert "Records excluded (n = 3,700):" in detailed
    assert "No reason recorded (n = 925)" in detailed and "No reason recorded (n = 925)" not in plain


def test_files_are_valid_and_reproducible(seed: PrismaCounts, tmp_path: Any) -> None:
    # every format from one drawing: the same bytes as drawing each alone, and again
    files = render_many(seed, ("svg", "png", "pdf", "svg"), dpi=300)
    assert list(files) == ["svg", "png", "pdf"]
    png = files["png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    diagram = draw(seed)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size[0] == pytest.approx(diagram.width * 300, abs=1)
        assert image.size[1] == pytest.approx(diagram.height * 300, abs=1)
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.1)
    with Image.open(io.BytesIO(render(seed, "png", dpi=100))) as small:
        assert small.size[0] == pytest.approx(diagram.width * 100, abs=1)

    pdf = files["pdf"]
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf == render(seed, "pdf")

    svg = files["svg"]
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert b"DejaVu Sans" in svg and b"<path" in svg

    path = save(seed, tmp_path / "flow.svg")
    assert path.read_bytes() == svg
    with pytest.raises(UsageError, match="unknown diagram format 'gif'"):
        render(seed, "gif")
    with pytest.raises(UsageError, match="unknown diagram format 'gif'"):
        render_many(seed, ("svg", "gif"))
    with pytest.raises(UsageError, match="--dpi 20 is out of range"):
        render(seed, "png", dpi=20)


def test_remembered_widths_are_freetypes_for_each_font() -> None:
    """Text is measured once per text and font (a cache): each answer is FreeType's own, for
    the size, weight and style asked, the first time and again."""
    from matplotlib.textpath import TextToPath

    from scoping.report import diagram

    fonts = [
        diagram._prop(9.0),
        diagram._prop(9.0, "bold"),
        diagram._prop(11.0),
        diagram._prop(9.0, "normal", "italic"),
    ]
    for text in ("Records identified (n = 7,406):", "Reports excluded: wrong population (n = 12)"):
        direct = [TextToPath().get_text_width_height_descent(text, f, ismath=False)[0] / 72.0 for f in fonts]
        assert len(set(direct)) == len(fonts)  # the fonts measure differently
        for _ in range(2):
            assert [diagram._width(text, f) for f in fonts] == direct
