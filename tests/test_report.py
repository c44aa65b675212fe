"""``scoping report``: a real review taken through import, de-duplication, screening and PRISMA,
then the report page checked as HTML (sections, numbers, escaping, no external references) and
in a real headless browser (Chromium) when one is installed."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import scoping.cli.report_cmd  # noqa: F401  (registers 'scoping report')
from scoping.cli import cli
from scoping.report.html import SECTIONS, ReportData, render_report
from scoping.review import init_review

DATA = Path(__file__).parent / "data"
DEMO = resources.files("scoping").joinpath("data", "demo")
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_TITLE = "<script>alert('x')</script> Hair cortisol & obesity in adults"
"""The title of tests/data/report/handsearch.csv's first record as stored (import drops the <b>)."""
HAND = "Hand search & <citations>"


def run(review: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    with contextlib.chdir(review):
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def ok(review: Path, *args: str, input: str | None = None) -> str:
    code, out, err = run(review, *args, input=input)
    assert code == 0, (args, out, err)
    return out


@pytest.fixture(autouse=True)
def _no_ambient_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCOPING_REVIEWER", raising=False)
    monkeypatch.delenv("SCOPING_DB", raising=False)


def _protocol_title_abstract_only() -> str:
    """The demo's protocol (ana, ben, lead) with title-abstract as the only stage."""
    text = DEMO.joinpath("protocol.toml").read_text(encoding="utf-8")
    return text[:text.index("[stages.full-text]")] + text[text.index("[highlight]"):]


class Page(HTMLParser):
    """What the checks need from a page: ids, element counts, every src/href, table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.tags: dict[str, int] = {}
        self.links: list[tuple[str, str, str]] = []
        self.scripts = 0
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for name in ("src", "href"):
            if values.get(name):
                self.links.append((tag, name, values[name] or ""))
        if tag == "tr":
            self._row = values.get("data-key")
            if self._row:
                self.rows[self._row] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row and data.strip():
            self.rows[self._row].append(data.strip())


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A review of real exports (MEDLINE, Scopus CSV, PsycINFO Ovid RIS) plus a hand search, de-duplicated,
    screened at title-abstract by two reviewers (one in the terminal, one from a worksheet),
    with the PRISMA outputs written."""
    root = tmp_path_factory.mktemp("report") / "rv"
    review = init_review(root)
    review.strategy_path.write_text(DEMO.joinpath("strategy.toml").read_text(encoding="utf-8"),
                                    encoding="utf-8")
    review.protocol_path.write_text(_protocol_title_abstract_only(), encoding="utf-8")
    for name, source in (("medline.nbib", "MEDLINE"), ("scopus.csv", "Scopus"),
                         ("psycinfo.ris", "PsycINFO")):
        target = review.exports_dir / name
        target.write_bytes(DEMO.joinpath(name).read_bytes())
        ok(root, "import", str(target), "--source", source)
    ok(root, "import", str(DATA / "report" / "handsearch.csv"), "--source", HAND)
    ok(root, "dedupe")
    ok(root, "assign", "--reviewer", "lead")

    # ana screens five works in the terminal
    out = ok(root, "screen", "--reviewer", "ana", "--plain", input="i\ne\n1\ni\ne\n2\ni\nq\n")
    seen = [int(w) for w in re.findall(r"^--- work (\d+) ·", out, flags=re.M)][:5]
    assert len(seen) == 5
    # the hand-searched work with markup in its title: both include it, from worksheets
    ok(root, "screen", "--reviewer", "ana", "--to-csv", str(root / "ana.csv"))
    with open(root / "ana.csv", encoding="utf-8", newline="") as stream:
        sheet = list(csv.DictReader(stream))
    marked = next(int(row["work_id"]) for row in sheet if "<script>" in row["title"])
    (root / "ana-done.csv").write_text(f"work_id,decision,reason,note\n{marked},include,,\n",
                                       encoding="utf-8")
    ok(root, "screen", "--reviewer", "ana", "--from-csv", str(root / "ana-done.csv"))
    # ben: the same five works, disagreeing on one, and the marked work
    decisions = ["include", "exclude", "include", "include", "include"]  # ana: i e i e i
    rows = "".join(f"{w},{d},{'no obesity measure' if d == 'exclude' else ''},\n"
                   for w, d in zip(seen, decisions, strict=True))
    (root / "ben.csv").write_text(f"work_id,decision,reason,note\n{rows}{marked},include,,\n",
                                  encoding="utf-8")
    ok(root, "screen", "--reviewer", "ben", "--from-csv", str(root / "ben.csv"))
    ok(root, "prisma", "--format", "json")
    ok(root, "prisma", "--format", "svg")
    return root


@pytest.fixture(scope="module")
def report(screened: Path) -> Path:
    out = ok(screened, "report")
    path = screened / "outputs" / "report.html"
    assert out == f"Wrote {path}\n"
    return path


def test_help_has_an_example() -> None:
    command = cli.commands["report"]
    assert isinstance(command, click.Command)
    result = CliRunner().invoke(cli, ["report", "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout and "scoping report --out" in result.stdout


def test_the_page_has_every_section_and_a_table_of_contents(report: Path) -> None:
    page = parse(report)
    for sid, heading in SECTIONS:
        assert sid in page.ids
        assert ("a", "href", f"#{sid}") in page.links
        assert heading in page.text
    assert page.tags.get("svg", 0) >= 2  # the PRISMA diagram and the overlap chart
    assert page.tags.get("script", 0) == 0
    text = "".join(page.text)
    assert "Topics have not been fitted yet" in text  # no topic fit in this review
    assert "PsycINFO" in text and "Scopus" in text


def test_the_numbers_are_those_of_prisma_json(screened: Path, report: Path) -> None:
    counts = json.loads((screened / "outputs" / "prisma.json").read_text(encoding="utf-8"))
    page = parse(report)
    expected = {
        "identification.records_identified": counts["identification"]["records_identified"]["n"],
        "identification.duplicates_removed": counts["identification"]["duplicates_removed"]["n"],
        "screening.records_screened": counts["screening"]["records_screened"]["n"],
        "screening.records_excluded": counts["screening"]["records_excluded"]["n"],
        "included.studies": counts["included"]["studies"]["n"],
    }
    for key, n in expected.items():
        assert page.rows[key][1] == ("—" if n is None else f"{n:,}"), key
    for line in counts["identification"]["databases"]:
        assert page.rows[f"identification.databases:{line['name']}"][1] == f"{line['n']:,}"
    assert counts["identification"]["records_identified"]["n"] > 999  # thousands separators shown
    assert f"{counts['identification']['records_identified']['n']:,}" in "".join(page.text)
    # the inline diagram is the one 'scoping prisma' draws from the same counts
    svg = (screened / "outputs" / "prisma.svg").read_text(encoding="utf-8")
    drawn = re.findall(r"n = [\d,]+", svg)
    html = report.read_text(encoding="utf-8")
    assert drawn and all(text in html for text in drawn)


def test_screening_progress_and_agreement(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    section = html[html.index('<section id="screening">'):html.index('<section id="topics">')]
    assert "ana / ben" in section
    assert "<td class=num>6</td>" in section  # works both screened
    assert "83.3%" in section  # 5 of 6 agree
    for column in ("Kappa", "Kappa 95% CI", "PABAK", "AC1", "Landis–Koch"):
        assert column in section


def test_user_strings_are_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "<b>adults" not in html and "<citations>" not in html and "<Odd>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Hair cortisol &amp; obesity" in html
    page = parse(report)
    text = "".join(page.text)
    assert SCRIPT_TITLE in text  # shown as text, exactly
    assert HAND in text
    assert "10.9999/report.test.1" in text


def test_nothing_is_loaded_from_outside(report: Path) -> None:
    page = parse(report)
    external = [(tag, name, value) for tag, name, value in page.links
                if not value.startswith("#") and not value.startswith("data:image/png;base64,")]
    assert external, "the included table links DOIs"
    assert all(tag == "a" and name == "href" and value.startswith("https://doi.org/10.")
               for tag, name, value in external), external
    html = report.read_text(encoding="utf-8")
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"url\((?!#)", html)  # only the diagram's own clip paths


def test_out_writes_elsewhere_and_a_missing_folder_is_an_error(screened: Path, tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    assert ok(screened, "report", "--out", str(target)) == f"Wrote {target}\n"
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    code, _, err = run(screened, "report", "--out", str(tmp_path / "nope" / "page.html"))
    assert code == 1 and "does not exist" in err


def test_a_new_review_says_what_has_not_run(tmp_path: Path) -> None:
    root = tmp_path / "new"
    init_review(root)
    ok(root, "report")
    page = parse(root / "outputs" / "report.html")
    text = " ".join(page.text)
    for sid, _ in SECTIONS:
        assert sid in page.ids
    assert "No searches have been logged yet" in text
    assert "import records first" in text
    assert "nothing to de-duplicate" in text
    assert "Topics have not been fitted yet" in text
    assert "Screening has not started yet" in text


def test_imports_not_yet_deduplicated_are_reported_as_such(tmp_path: Path) -> None:
    root = tmp_path / "half"
    init_review(root)
    ok(root, "import", str(DATA / "report" / "handsearch.csv"), "--source", HAND)
    ok(root, "report")
    text = " ".join(parse(root / "outputs" / "report.html").text)
    assert "De-duplication is not up to date" in text and "run 'scoping dedupe'" in text
    assert HAND in text  # the search log lists the import as a source


def test_the_renderer_needs_only_plain_data() -> None:
    page = render_report(ReportData(title="A & B <i>", generated_at="today"))
    assert "<h1>A &amp; B &lt;i&gt;</h1>" in page
    assert page.count('class="not-run"') >= len(SECTIONS)


# -- a real browser --------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed (/usr/bin/chromium; Debian package 'chromium')")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=40, check=False)


@needs_chromium
def test_chromium_renders_the_page(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    dumped = _chromium(tmp_path / "profile-dom", "--dump-dom", report.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}">' in dom
    assert re.search(r'<svg[^>]*class="diagram"', dom)
    assert "Records identified" in dom
    assert "<script" not in dom.lower()  # the markup in a title stayed text

    shot = tmp_path / "shot.png"
    taken = _chromium(tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,4000",
                      report.as_uri())
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 4000)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 200  # text, rules, the diagram and the chart: not a blank page
        top = rgb.crop((0, 0, 1280, 1000)).getcolors(maxcolors=1 << 20) or []
        assert len(top) > 50
    keep = os.environ.get("SCOPING_REPORT_SHOT")  # a path, to look at the screenshot by hand
    if keep:
        shutil.copy(shot, keep)


def test_the_module_exports_no_stray_names() -> None:
    import scoping.report.html as page
    import scoping.reporting as reporting

    assert set(reporting.__all__) == {"REPORT_FILE", "build_report", "gather"}
    assert all(hasattr(page, name) for name in page.__all__)


def test_the_demo_review_shows_topics_the_evidence_map_and_included_sources(tmp_path: Path) -> None:
    """The demo (real exports, simulated reviewers, topics fitted) as a whole review."""
    from scoping.demo import build_demo
    from scoping.reporting import build_report

    demo = build_demo(tmp_path / "demo")
    path = build_report(demo.review)
    assert path == demo.review.outputs_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    page = parse(path)
    topics = html[html.index('<section id="topics">'):html.index('<section id="included">')]
    assert "Topics have not been fitted" not in topics
    assert topics.count('<img src="data:image/png;base64,') == 1
    for ref, label, n in demo.topics:
        assert f"<td>{ref}</td><td>{label}</td><td class=num>{n:,}</td>" in topics
    included = html[html.index('<section id="included">'):]
    studies = demo.prisma.counts.included.studies.n
    assert f"{studies:,} sources included at full-text." in included
    assert included.count("<tr>") == studies + 1  # the head and one row per source
    assert page.rows["included.studies"][1] == f"{studies:,}"
    assert "https://doi.org/10." in included


def test_title_abstract_inclusions_are_not_called_final_while_full_text_is_to_come(
        tmp_path: Path) -> None:
    """A protocol with a full-text stage, nothing decided there yet (library calls only)."""
    from scoping import screen
    from scoping.reporting import build_report
    from test_screen_support import LEAD, cached_review

    review = cached_review(tmp_path / "rv")
    protocol = screen.load_protocol(review.protocol_path)
    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD, [screen.TITLE_ABSTRACT])
        works = screen.eligible_works(store, screen.TITLE_ABSTRACT)[:3]
        for name in ("alice", "bob"):
            for work in works:
                screen.record_decision(store, protocol, name, screen.TITLE_ABSTRACT, work, "include")
    html = build_report(review).read_text(encoding="utf-8")
    included = html[html.index('<section id="included">'):]
    assert "3 sources included at title-abstract." in included
    assert "full-text screening has not included any source yet, so none is final" in included
    assert "<td>title-abstract</td><td>alice / bob</td><td class=num>3</td>" in html
