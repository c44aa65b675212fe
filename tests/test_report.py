"""``scoping report``: a real review taken through import, de-duplication, screening and PRISMA,
then the report page checked as HTML (sections, numbers, escaping, no external references) and
in a real headless browser (Chromium) when one is installed."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import scoping.cli.report_cmd  # noqa: F401  (registers 'scoping report')
from scoping.cli import cli
from scoping.demo import DemoResult
from scoping.errors import UsageError
from scoping.report.html import NOT_RUN, SECTIONS, ReportData, render_report
from scoping.review import Review, init_review

DATA = Path(__file__).parent / "data"
DEMO = resources.files("scoping").joinpath("data", "demo")
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_TITLE = "<script>alert('x')</script> Hair cortisol & obesity in adults"
"""The title of tests/data/report/handsearch.csv's first record as stored (import drops the <b>)."""
HAND = "Hand search & <citations>"
BLINDED = NOT_RUN["blinded"]
OUR_SCRIPTS = {'<script type="application/json" id="gap-data">', "<script>"}
"""The page's only scripts: the evidence-gap map's data and its inline code."""


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
    return text[: text.index("[stages.full-text]")] + text[text.index("[highlight]") :]


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
    review.strategy_path.write_text(
        DEMO.joinpath("strategy.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    review.protocol_path.write_text(_protocol_title_abstract_only(), encoding="utf-8")
    for name, source in (("medline.nbib", "MEDLINE"), ("scopus.csv", "Scopus"), ("psycinfo.ris", "PsycINFO")):
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
    (root / "ana-done.csv").write_text(
        f"work_id,decision,reason,note\n{marked},include,,\n", encoding="utf-8"
    )
    ok(root, "screen", "--reviewer", "ana", "--from-csv", str(root / "ana-done.csv"))
    # ben: the same five works, disagreeing on one, and the marked work
    decisions = ["include", "exclude", "include", "include", "include"]  # ana: i e i e i
    rows = "".join(
        f"{w},{d},{'no obesity measure' if d == 'exclude' else ''},\n"
        for w, d in zip(seen, decisions, strict=True)
    )
    (root / "ben.csv").write_text(
        f"work_id,decision,reason,note\n{rows}{marked},include,,\n", encoding="utf-8"
    )
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


@pytest.fixture(scope="module")
def lead_report(screened: Path) -> Path:
    """The page the lead asks for while screening is under way."""
    path = screened / "outputs" / "lead-report.html"
    ok(screened, "report", "--reviewer", "lead", "--out", str(path))
    return path


def _section(html: str, sid: str) -> str:
    start = html.index(f'<section id="{sid}">')
    end = html.find("<section id=", start + 1)
    return html[start : end if end != -1 else None]


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


def test_screening_progress_and_agreement_for_the_lead(lead_report: Path) -> None:
    html = lead_report.read_text(encoding="utf-8")
    section = _section(html, "screening")
    assert BLINDED not in html
    assert "<td>ana</td><td class=num>" in section and "<td>ben</td><td class=num>" in section
    assert "ana / ben" in section
    assert "<td class=num>6</td>" in section  # works both screened
    assert "83.3%" in section  # 5 of 6 agree
    for column in ("Kappa", "Kappa 95% CI", "PABAK", "AC1", "Landis–Koch"):
        assert column in section


def test_mid_screening_the_page_for_anyone_hides_reviewers_and_agreement(
    report: Path, lead_report: Path
) -> None:
    html = report.read_text(encoding="utf-8")
    section = _section(html, "screening")
    assert BLINDED in section
    assert section.count("<table") == 0
    assert not re.search(r"\b(ana|ben)\b", section)
    for hidden in (
        "ana / ben",
        "Kappa",
        "PABAK",
        "AC1",
        "Landis",
        "83.3%",
        'class="progress"',
        'class="agreement"',
        "Works by outcome",
    ):
        assert hidden not in html, hidden
    # screening's PRISMA counts (and the works included so far) would tell a reviewer how the
    # others decided: they are the lead's only, and the page says why they are left out
    page, lead_page = parse(report), parse(lead_report)
    assert page.rows["screening.records_screened"][1] == "—"
    assert lead_page.rows["screening.records_screened"][1] != "—"
    assert "screening is under way, so its counts" in _section(html, "prisma")
    assert "screening is under way, so its counts" not in lead_report.read_text(encoding="utf-8")
    assert "https://doi.org/10." not in html  # no included works listed


def test_a_reviewers_name_is_refused_in_one_line(
    screened: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "page.html"
    code, out, err = run(screened, "report", "--reviewer", "ana", "--out", str(target))
    assert (code, out) == (1, "")
    protocol = screened / "screening" / "protocol.toml"
    assert err == f"Error: only a lead may do this, and 'ana' is a reviewer in {protocol}\n"
    assert not target.exists()
    code, _, err = run(screened, "report", "--reviewer", "nobody", "--out", str(target))
    assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1
    assert "'nobody' is not a reviewer" in err
    assert "'ana'" not in err and "'ben'" not in err and "'lead'" not in err  # nor is the team listed
    assert not target.exists()
    monkeypatch.setenv("SCOPING_REVIEWER", "ben")  # the environment names the person too
    code, _, err = run(screened, "report", "--out", str(target))
    assert code == 1 and "'ben' is a reviewer" in err and not target.exists()
    monkeypatch.setenv("SCOPING_REVIEWER", "lead")
    assert ok(screened, "report", "--out", str(target)) == f"Wrote {target}\n"
    assert "ana / ben" in target.read_text(encoding="utf-8")


def _decide_all(review: Review, stage: str, decisions: dict[str, dict[int, str]]) -> None:
    """Each reviewer's decisions at ``stage`` from a worksheet, as 'scoping screen --from-csv'."""
    from scoping import screen

    protocol = screen.load_protocol(review.protocol_path)
    with review.open_store() as store:
        for name, chosen in decisions.items():
            sheet = review.root / f"{name}-{stage}.csv"
            rows = "".join(
                f"{w},{d},{'wrong design' if d == 'exclude' else ''},\n" for w, d in chosen.items()
            )
            sheet.write_text(f"work_id,decision,reason,note\n{rows}", encoding="utf-8")
            report = screen.load_decisions_csv(store, protocol, name, stage, sheet)
            assert not report.errors, report.errors


def test_once_every_work_has_a_final_outcome_everyone_sees_everything(tmp_path: Path) -> None:
    """Pending, conflict and not started (full-text not allocated) all keep the page blinded."""
    from scoping import screen
    from scoping.report.page import build_report
    from test_screen_support import LEAD, cached_review

    review = cached_review(tmp_path / "rv")
    root = review.root
    protocol = screen.load_protocol(review.protocol_path)

    def page() -> str:
        ok(root, "report")
        return _section((root / "outputs" / "report.html").read_text(encoding="utf-8"), "screening")

    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD, [screen.TITLE_ABSTRACT])
        works = screen.eligible_works(store, screen.TITLE_ABSTRACT)
    keep = works[:2]
    alice = {w: "include" if w in keep else "exclude" for w in works}
    _decide_all(review, screen.TITLE_ABSTRACT, {"alice": alice})
    assert BLINDED in page()  # bob has decided nothing: pending
    bob = dict(alice)
    bob[works[-1]] = "include"
    _decide_all(review, screen.TITLE_ABSTRACT, {"bob": bob})
    assert BLINDED in page()  # one conflict
    with review.open_store() as store:
        screen.resolve(
            store, protocol, LEAD, screen.TITLE_ABSTRACT, works[-1], "exclude", reason="wrong design"
        )
    assert BLINDED in page()  # full-text screening of the two included works has not started
    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD, [screen.FULL_TEXT])
    _decide_all(review, screen.FULL_TEXT, {"alice": dict.fromkeys(keep, "include")})
    assert BLINDED in page()
    _decide_all(review, screen.FULL_TEXT, {"bob": dict.fromkeys(keep, "include")})
    section = page()  # finished: no name needed
    assert BLINDED not in section
    assert "<td>title-abstract</td><td>alice / bob</td>" in section
    assert "<td>full-text</td><td>alice / bob</td><td class=num>2</td>" in section
    assert "<td>alice</td><td class=num>" in section and "Kappa" in section
    # a name is still checked once screening is over
    with pytest.raises(UsageError, match="'alice' is a reviewer"):
        build_report(review, reviewer="alice")


def test_user_strings_are_escaped(report: Path, lead_report: Path) -> None:
    assert "<script" not in report.read_text(encoding="utf-8").lower()
    report = lead_report  # the page that lists the included works
    html = report.read_text(encoding="utf-8")
    assert set(re.findall(r"<script[^>]*>", html, flags=re.I)) <= OUR_SCRIPTS
    assert "<b>adults" not in html and "<citations>" not in html and "<Odd>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Hair cortisol &amp; obesity" in html
    page = parse(report)
    text = "".join(page.text)
    assert SCRIPT_TITLE in text  # shown as text, exactly
    assert HAND in text
    assert "10.9999/report.test.1" in text


def test_nothing_is_loaded_from_outside(lead_report: Path) -> None:
    report = lead_report  # the page that lists the included works
    page = parse(report)
    external = [
        (tag, name, value)
        for tag, name, value in page.links
        if not value.startswith("#") and not value.startswith("data:image/png;base64,")
    ]
    assert external, "the included table links DOIs"
    assert all(
        tag == "a" and name == "href" and value.startswith("https://doi.org/10.")
        for tag, name, value in external
    ), external
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
    not CHROMIUM.exists(), reason="Chromium is not installed (/usr/bin/chromium; Debian package 'chromium')"
)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def _dom_and_shot(profile: Path, url: str, shot: Path, size: str, *extra: str) -> str:
    """The page's DOM after its scripts ran, and its screenshot in ``shot``, from one Chromium
    process (each start costs about a second of CPU)."""
    done = _chromium(profile, "--dump-dom", f"--screenshot={shot}", f"--window-size={size}", *extra, url)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return done.stdout


@needs_chromium
def test_chromium_renders_the_page(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    dom = _dom_and_shot(tmp_path / "profile", report.as_uri(), shot, "1280,4000")
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}">' in dom
    assert re.search(r'<svg[^>]*class="diagram"', dom)
    assert "Records identified" in dom
    assert set(re.findall(r"<script[^>]*>", dom, flags=re.I)) <= OUR_SCRIPTS  # a title's markup stayed text
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


@needs_chromium
def test_chromium_renders_the_demo_evidence_map(demo: DemoResult, tmp_path: Path) -> None:
    from PIL import Image

    assert demo.report is not None
    # the whole page (anchors do not scroll a headless screenshot), laid out 1280 CSS pixels
    # wide but drawn at half scale (640 x 12,000 pixels): the full-scale shot took about 8 s
    # of CPU, this one about 3.5; the circles cover some 5,000 of its pixels (22,000 at full)
    shot = tmp_path / "page.png"
    dom = _dom_and_shot(
        tmp_path / "profile",
        demo.report.as_uri(),
        shot,
        "1280,24000",
        "--force-device-scale-factor=0.5",
    )
    assert '<table class="doctypes">' in dom and '<figure class="network"><img src="data:image/png' in dom
    assert dom.count('<div class="topic-works">') == len(demo.topics)
    assert '<div class="notice simulated" role="note">' in dom

    # the network's circles (its commonest colour after white) are on the screen: the inline
    # picture was decoded and drawn, not a broken-image icon and its alt text
    inline = re.search(r'<figure class="network"><img src="data:image/png;base64,([^"]+)"', dom)
    assert inline is not None
    with Image.open(io.BytesIO(base64.b64decode(inline.group(1)))) as drawn:
        counts: list[tuple[int, tuple[int, ...] | float]] = sorted(
            drawn.convert("RGB").getcolors(maxcolors=1 << 20) or [], reverse=True
        )
    circles = next(colour for _, colour in counts if colour != (255, 255, 255))
    with Image.open(shot) as image:
        on_screen = dict((c, n) for n, c in image.convert("RGB").getcolors(maxcolors=1 << 24) or [])
    assert on_screen.get(circles, 0) > 2000


@needs_chromium
def test_chromium_shows_the_evidence_gap_map_and_lists_a_bubbles_works(
    demo: DemoResult, tmp_path: Path
) -> None:
    from PIL import Image

    assert demo.report is not None
    # each Chromium process dumps a page's DOM and takes its screenshot: the page as it opens,
    # then with the biggest bubble opened (as a click does)
    closed = tmp_path / "closed.png"
    dom = _dom_and_shot(tmp_path / "profile-closed", demo.report.as_uri(), closed, "1280,16000")
    grids = re.findall(r'<div class="gap-grid" data-map="(\d+)"[^>]*>(.*?)</div>', dom)
    assert grids, "no evidence-gap map on the page"
    # the demo's works are all journal articles: publication years come first, one bubble for
    # each topic x year with works (topic_year.csv), the number of works written in it
    with open(demo.review.outputs_dir / "topics" / "topic_year.csv", encoding="utf-8", newline="") as stream:
        cells = [
            int(v) for row in csv.DictReader(stream) for k, v in row.items() if k not in ("topic", "label")
        ]
    first = grids[0][1]
    assert 'aria-label="Evidence-gap map: topics against Publication year"' in first
    bubbles = re.findall(r'<g class="bubble" data-cell="(\d+),(\d+)".*?<text[^>]*>(\d+)</text></g>', first)
    assert sorted(int(n) for *_, n in bubbles) == sorted(n for n in cells if n)
    assert 'class="gap-grid" data-map="1" hidden' in dom  # document type, shown when chosen

    # open the biggest bubble (as a click does): its works are listed with their DOI links
    i, j, n = max(bubbles, key=lambda b: int(b[2]))
    address = f"{demo.report.as_uri()}#gap-0-{i}-{j}"
    opened = tmp_path / "open.png"
    opened_dom = _dom_and_shot(tmp_path / "profile-open", address, opened, "1280,16000")
    panel = opened_dom[opened_dom.index('<div class="gap-works"') :]
    panel = panel[: panel.index("</div>")]
    assert f": {n} works</h4>" in panel
    assert panel.count("<li>") == int(n)
    assert panel.count('<a href="https://doi.org/10.') >= int(n) - 1

    # on the screen: the opened bubble is drawn in the selection colour (--warn, #9a4a00)
    def orange(shot: Path) -> int:
        with Image.open(shot) as image:
            return sum(
                c for c, rgb in image.convert("RGB").getcolors(maxcolors=1 << 24) or [] if rgb == (154, 74, 0)
            )

    assert orange(opened) - orange(closed) > 600  # a filled circle of r >= 15


def test_the_module_exports_no_stray_names() -> None:
    import scoping.report.html as page
    import scoping.report.page as reporting

    assert set(reporting.__all__) == {"REPORT_FILE", "build_report", "gather"}
    assert all(hasattr(page, name) for name in page.__all__)


@pytest.fixture
def demo(demo_build: DemoResult) -> DemoResult:
    """The demo (real exports, simulated reviewers, topics fitted) as a whole review: one
    build per test session (the conftest's ``demo_build``)."""
    return demo_build


def test_the_demo_review_shows_topics_the_evidence_map_and_included_sources(demo: DemoResult) -> None:
    from scoping.report.page import build_report

    path = build_report(demo.review)
    assert path == demo.review.outputs_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    page = parse(path)
    topics = html[html.index('<section id="topics">') : html.index('<section id="included">')]
    assert "Topics have not been fitted" not in topics
    assert topics.count('<img src="data:image/png;base64,') == 2  # year heatmap, network
    for ref, label, n in demo.topics:
        assert f"<td>{ref}</td><td>{label}</td><td class=num>{n:,}</td>" in topics
    included = html[html.index('<section id="included">') :]
    studies = demo.prisma.counts.included.studies.n
    assert f"{studies:,} sources included at full-text." in included
    assert included.count("<tr>") == studies + 1  # the head and one row per source
    assert page.rows["included.studies"][1] == f"{studies:,}"
    assert "https://doi.org/10." in included


def test_title_abstract_inclusions_are_not_called_final_while_full_text_is_to_come(tmp_path: Path) -> None:
    """A protocol with a full-text stage, nothing decided there yet (library calls only)."""
    from scoping import screen
    from scoping.report.page import build_report
    from test_screen_support import LEAD, cached_review

    review = cached_review(tmp_path / "rv")
    protocol = screen.load_protocol(review.protocol_path)
    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD, [screen.TITLE_ABSTRACT])
        works = screen.eligible_works(store, screen.TITLE_ABSTRACT)[:3]
        for name in ("alice", "bob"):
            for work in works:
                screen.record_decision(store, protocol, name, screen.TITLE_ABSTRACT, work, "include")
    html = build_report(review, reviewer=LEAD).read_text(encoding="utf-8")
    included = html[html.index('<section id="included">') :]
    assert "3 sources included at title-abstract." in included
    assert "full-text screening has not included any source yet, so none is final" in included
    assert "<td>title-abstract</td><td>alice / bob</td><td class=num>3</td>" in html


def _cells(row_html: str) -> list[str]:
    return [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html)]


def test_the_evidence_map_has_document_types_the_network_and_representative_works(demo: DemoResult) -> None:
    """The same numbers and works as the files the topics stage wrote into outputs/topics/."""
    from PIL import Image

    assert demo.report is not None
    html = demo.report.read_text(encoding="utf-8")
    topics = _section(html, "topics")
    folder = demo.review.outputs_dir / "topics"

    # topic x document type: the table of topic_doctype.csv
    with open(folder / "topic_doctype.csv", encoding="utf-8", newline="") as stream:
        expected = list(csv.reader(stream))
    table = topics[topics.index('<table class="doctypes">') :]
    table = table[: table.index("</table>")]
    head = [unescape(h) for h in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", table)]
    assert head == ["Topic", "Label", *expected[0][2:]]
    assert expected[0][2:] == ["Journal article"]  # every work of the demo is one
    rows = [_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>") :])]
    assert rows == [[r[0], r[1], *(f"{int(n):,}" for n in r[2:])] for r in expected[1:]]
    assert len(rows) == len(demo.topics)

    # the co-occurrence network, inline
    figure = re.search(
        r'<figure class="network"><img src="data:image/png;base64,([^"]+)" '
        r'alt="Topic co-occurrence network[^"]*">',
        topics,
    )
    assert figure is not None
    png = base64.b64decode(figure.group(1))
    with Image.open(io.BytesIO(png)) as drawn, Image.open(folder / "topic_network.png") as written:
        assert drawn.format == "PNG" and drawn.size == written.size
        assert len(drawn.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50  # not blank

    # each topic's five most representative works, in the order of topic_works.csv
    with open(folder / "topic_works.csv", encoding="utf-8", newline="") as stream:
        ranked = [r for r in csv.DictReader(stream) if int(r["rank"]) <= 5]
    blocks = re.findall(r'<div class="topic-works"><h4>(.*?)</h4><ol>(.*?)</ol></div>', topics)
    assert [unescape(h) for h, _ in blocks] == [f"{r[0]} {r[1]}" for r in expected[1:]]  # largest first
    for ref, label, n in demo.topics:
        items = next(ol for h, ol in blocks if unescape(h) == f"{ref} {label}")
        shown = [unescape(t) for t in re.findall(r"<li>(.*?) <span", items)]
        years = re.findall(r'<span class="muted">\((.*?); share \d+ %\)</span>', items)
        shares = [int(p) for p in re.findall(r"; share (\d+) %\)</span>", items)]
        mine = [r for r in ranked if r["topic"] == ref]
        assert len(shown) == min(5, n) == len(mine)
        assert shown == [r["title"] or "(no title)" for r in mine]
        assert years == [r["year"] or "n.d." for r in mine]
        assert shares == sorted(shares, reverse=True) == [int(f"{100 * float(r['share']):.0f}") for r in mine]


def test_the_renderer_draws_the_new_evidence_map_parts_from_plain_data() -> None:
    from scoping.report.html import CrossTab, Figure, RepresentativeWork, TopicRow, TopicsData, TopicWorks

    png = b"\x89PNG\r\n\x1a\nnot drawn"
    data = ReportData(
        title="t",
        generated_at="now",
        topics=TopicsData(
            fit=1,
            source="s",
            n_works=3,
            topics=[TopicRow("T1", "Peer <roles>", 3, 3, ["peer"])],
            doc_types=CrossTab(["journal article", "(unknown)"], [("T1", "Peer <roles>", [2, 1])]),
            network=Figure("Topic co-occurrence network", png),
            representative=[
                TopicWorks(
                    "T1", "Peer <roles>", [RepresentativeWork("A & B", 2001), RepresentativeWork(None, None)]
                )
            ],
        ),
    )
    page = render_report(data)
    assert "<td>T1</td><td>Peer &lt;roles&gt;</td><td class=num>2</td><td class=num>1</td>" in page
    assert '<figure class="network"><img src="data:image/png;base64,' in page
    assert '<li>A &amp; B <span class="muted">(2001)</span></li>' in page
    assert '<li>(no title) <span class="muted">(n.d.)</span></li>' in page
    empty = render_report(
        ReportData(title="t", generated_at="now", topics=TopicsData(fit=1, source="s", n_works=0, topics=[]))
    )
    assert "No included work has a document type" in empty and "There are no topics to draw" in empty


def test_the_gap_map_cannot_be_broken_out_of_by_a_title() -> None:
    from scoping.report.html import GapMapData, RepresentativeWork, TopicRow, TopicsData

    evil = "</script><script>alert(1)</script> & <!-- x"
    data = ReportData(
        title="t",
        generated_at="now",
        topics=TopicsData(
            fit=1,
            source="s",
            n_works=2,
            topics=[TopicRow("T1", "Peer <roles>", 2, 2, ["peer"])],
            gap_maps=[
                GapMapData("Design <x>", [("T1", "Peer <roles>")], ["RCT & co", "other"], [[[0, 1], []]])
            ],
            gap_works=[RepresentativeWork(evil, 2001, "10.1/a<b>"), RepresentativeWork(None, None)],
        ),
    )
    page = render_report(data)
    assert set(re.findall(r"<script[^>]*>", page)) == OUR_SCRIPTS
    assert page.count("</script>") == 2  # the title did not close the data's element
    raw = re.search(r'<script type="application/json" id="gap-data">(.*?)</script>', page)
    assert raw is not None and "<" not in raw.group(1) and "&" not in raw.group(1)
    payload = json.loads(raw.group(1))
    assert payload["works"] == [[evil, 2001, "10.1/a<b>"], ["(no title)", None, None]]
    assert payload["maps"][0]["cells"] == {"0,0": [0, 1]}  # the empty cell is a gap: no bubble
    assert page.count('<g class="bubble"') == 1
    assert "T1 Peer &lt;roles&gt; × RCT &amp; co: 2 works" in page
    assert "Topics against" not in page  # one dimension: nothing to choose


# -- simulated reviewers ---------------------------------------------------------------------


def test_the_demo_says_its_decisions_are_simulated_at_the_top_and_in_screening(demo: DemoResult) -> None:
    """The demo finishes screening: its page is whole without a name, and says who screened."""
    assert demo.report is not None and demo.screening is not None
    html = demo.report.read_text(encoding="utf-8")
    made = sum(demo.screening.decisions.values())
    settled = sum(demo.screening.conflicts.values())
    assert made > 1000 and settled > 0
    sentence = (
        f"{made:,} of {made:,} screening decisions were made by simulated reviewers "
        "(scoping demo), not by people."
    )
    top = html[: html.index('<nav class="toc"')]
    assert '<div class="notice simulated" role="note">' in top and sentence in top
    assert f"{settled:,} of {settled:,} conflicts were settled by a simulated lead." in top
    screening = _section(html, "screening")
    assert sentence in screening
    # finished screening: everything is shown to anyone
    assert BLINDED not in html
    assert "<td>title-abstract</td><td>ana / ben</td>" in screening
    assert "<td>full-text</td><td>ana / ben</td>" in screening
    assert "<td>ana</td><td class=num>" in screening and "Kappa" in screening


def test_only_the_simulated_share_is_counted_and_withheld_from_reviewers(tmp_path: Path) -> None:
    """People's decisions next to a few a simulated reviewer made (marked as the demo marks them)."""
    from scoping import screen
    from scoping.report.page import build_report
    from test_screen_support import LEAD, cached_review

    review = cached_review(tmp_path / "rv")
    protocol = screen.load_protocol(review.protocol_path)
    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD, [screen.TITLE_ABSTRACT])
        works = screen.eligible_works(store, screen.TITLE_ABSTRACT)[:3]
        for work in works:
            screen.record_decision(store, protocol, "alice", screen.TITLE_ABSTRACT, work, "include")
        screen.record_decision(store, protocol, "alice", screen.TITLE_ABSTRACT, works[0], "exclude")
        screen.withdraw_decision(store, protocol, "alice", screen.TITLE_ABSTRACT, works[0])
        for work in works[:2]:
            screen.record_decision(
                store,
                protocol,
                "bob",
                screen.TITLE_ABSTRACT,
                work,
                "include",
                note=screen.SIMULATED_NOTE,
                via=screen.SIMULATED_VIA,
            )
    html = build_report(review, reviewer=LEAD).read_text(encoding="utf-8")
    sentence = "2 of 6 screening decisions were made by simulated reviewers (scoping demo), not by people."
    assert sentence in html[: html.index('<nav class="toc"')] and sentence in _section(html, "screening")
    assert "conflicts were settled" not in html
    # mid-screening, the page for anyone says so without the numbers, which would tell a
    # reviewer how far the others are
    html = build_report(review).read_text(encoding="utf-8")
    assert BLINDED in html
    assert "of 6" not in html and "2 of" not in html
    withheld = (
        "Screening decisions in this review include decisions made by simulated reviewers "
        "(scoping demo), not by people."
    )
    assert withheld in html[: html.index('<nav class="toc"')] and withheld in _section(html, "screening")


def test_a_review_screened_by_people_says_nothing_of_simulation(lead_report: Path, report: Path) -> None:
    for path in (lead_report, report):
        body = path.read_text(encoding="utf-8").split("</style>", 1)[1]
        assert "simulated" not in body.lower()
