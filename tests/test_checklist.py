"""``scoping checklist``: PRISMA-ScR filled from a real review's data, and the automation
statement read from the audit trail of a review whose title-abstract screening was prioritised
and ended by the stopping rule. The page is rendered in headless Chromium when installed."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoping import screen
from scoping.app import Review
from scoping.cli import cli
from scoping.report.checklist import TO_FILL
from scoping.screen.outcomes import automation_excluded
from scoping.store import dedupe_tables, screen_tables
from test_screen_stopping import HEART, STOPPING
from test_screen_support import LEAD, MANY, cached_review

CHROMIUM = Path("/usr/bin/chromium")
PEOPLE_ONLY = (3, 19, 20, 21, 22)
"""Items no store can answer: rationale, the discussion, funding."""


def run(root: Path, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _both(store: screen_tables.Store, protocol: screen.Protocol, work: int, include: bool) -> None:
    for name in ("alice", "bob"):
        screen.record_decision(
            store, protocol, name, screen.TITLE_ABSTRACT, work, "include" if include else "exclude"
        )


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """Title-abstract screening prioritised, then ended by the stopping rule (a lead's stop)."""
    review = Review.of(
        cached_review(tmp_path_factory.mktemp("checklist") / "rv", files=MANY, protocol=STOPPING)
    )
    protocol = review.protocol()
    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD)
        truth = {
            card.work_id: bool(HEART.search(f"{card.title} {card.abstract}"))
            for card in screen.load_cards(store, screen_tables.work_ids(store))
        }
        includes = [w for w, v in truth.items() if v]
        excludes = [w for w, v in truth.items() if not v]
        for work in includes[:-6]:
            _both(store, protocol, work, True)
        for work in excludes[:60]:
            _both(store, protocol, work, False)
        screen.start_sampling(store, protocol, LEAD)
        sample = screen_tables.stop_sample(store, screen_tables.stop_events(store)[-1].id)
        state = screen.stopping_status(store, protocol, LEAD)
        done = 0
        while state.test is None or not state.test.met:
            _both(store, protocol, sample[done], truth[sample[done]])
            done += 1
            state = screen.stopping_status(store, protocol, LEAD)
        screen.apply_stop(store, protocol, LEAD)
    # full text has not begun: screening is under way, so the checklist is the lead's
    code, out, err = run(review.root, "checklist")
    assert (code, out) == (1, "") and err.count("\n") == 1 and "a lead gets them with --reviewer" in err
    assert not (review.outputs_dir / "prisma-scr-checklist.md").exists()
    code, out, err = run(review.root, "checklist", "--reviewer", LEAD)
    assert code == 0, err
    assert out.count("Wrote ") == 2
    return review


def _rows(markdown: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(0) for m in re.finditer(r"^\| (\d+) \|.*$", markdown, flags=re.M)}


def test_every_item_is_there_and_the_blanks_are_marked(stopped: Review) -> None:
    md = (stopped.outputs_dir / "prisma-scr-checklist.md").read_text(encoding="utf-8")
    rows = _rows(md)
    assert sorted(rows) == list(range(1, 23))
    assert sum("(optional)" in row for row in rows.values()) == 2
    for number in PEOPLE_ONLY:
        assert TO_FILL in rows[number], number
    for number in (6, 7, 9, 14):  # the data answers these
        assert TO_FILL not in rows[number], number


def test_the_items_say_what_the_data_says(stopped: Review) -> None:
    md = (stopped.outputs_dir / "prisma-scr-checklist.md").read_text(encoding="utf-8")
    rows = _rows(md)
    counts = stopped.prisma_counts(reviewer=LEAD)
    assert f"Records screened: {counts.screening.records_screened.n:,}" in rows[14]
    assert f"removed by automation tools: {counts.identification.automation_removed.n:,}" in rows[14]
    protocol = stopped.protocol()
    assert " ".join(protocol.stages["title-abstract"].criteria.split()) in rows[6]
    assert protocol.stopping is not None and protocol.stopping.describe() in rows[9]
    assert "(report.html#prisma)" in rows[14] and "(report.html#search)" in rows[7]


def test_the_automation_statement_comes_from_the_audit_trail(stopped: Review) -> None:
    md = (stopped.outputs_dir / "prisma-scr-checklist.md").read_text(encoding="utf-8")
    statement = md[md.index("## Automation statement") :]
    with stopped.open_store() as store:
        excluded = len(automation_excluded(store))
        run_row = dedupe_tables.last_run(store)
    assert excluded > 0 and run_row is not None
    stop = statement[statement.index("### Stopping rule: used") :]
    stop = stop[: stop.index("\n### ")]
    assert f"Works excluded by the stopping rule now: {excluded:,}" in stop
    assert "Recall bound: at least 80% of includes found, at 90% confidence (p = " in stop
    dedupe = statement[statement.index("### De-duplication: used") :]
    assert f"{run_row.n_duplicate_pairs:,} duplicate links made automatically" in dedupe
    ranking = statement[statement.index("### Screening prioritisation: used") :]
    decisions = stopped.decisions(stage="title-abstract")
    queued = int(decisions["via"].isin(["tui", "plain"]).sum())
    assert f"title-abstract: {queued:,} of {len(decisions):,} decisions made in the model-ordered" in ranking
    assert "Ranker: C=" in ranking


def test_the_report_links_the_checklist_once_it_is_written(stopped: Review, tmp_path: Path) -> None:
    code, _, err = run(stopped.root, "report")
    assert code == 0, err
    page = (stopped.outputs_dir / "report.html").read_text(encoding="utf-8")
    assert '<a href="prisma-scr-checklist.html">' in page
    fresh = cached_review(tmp_path / "fresh")
    assert run(fresh.root, "report")[0] == 0
    assert "prisma-scr-checklist" not in (fresh.outputs_dir / "report.html").read_text(encoding="utf-8")


def test_a_review_with_no_screening_gets_a_checklist_of_blanks(tmp_path: Path) -> None:
    fresh = cached_review(tmp_path / "fresh")
    code, _, err = run(fresh.root, "checklist")
    assert code == 0, err
    md = (fresh.outputs_dir / "prisma-scr-checklist.md").read_text(encoding="utf-8")
    rows = _rows(md)
    assert sorted(rows) == list(range(1, 23))
    assert "prisma-s.html" not in rows[8]
    # once the PRISMA-S appendix is written, the search items point to it
    code, _, err = run(fresh.root, "search", "appendix")
    assert code == 0, err
    assert run(fresh.root, "checklist")[0] == 0
    rows = _rows((fresh.outputs_dir / "prisma-scr-checklist.md").read_text(encoding="utf-8"))
    assert "(prisma-s.html)" in rows[7] and "(prisma-s.html)" in rows[8]
    assert "Nothing recorded" in rows[15]  # nothing included yet
    assert "### Stopping rule: not used" in md and "### Topic model: not used" in md


# -- a real browser --------------------------------------------------------------------------


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (/usr/bin/chromium)")
def test_chromium_renders_the_checklist(stopped: Review, tmp_path: Path) -> None:
    from PIL import Image

    page = stopped.outputs_dir / "prisma-scr-checklist.html"
    shot = tmp_path / "checklist.png"
    # one Chromium process dumps the DOM and takes the screenshot (each start costs about 1 s)
    done = _chromium(
        tmp_path / "profile", "--dump-dom", f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    dom = done.stdout
    assert len(re.findall(r'<tr id="item-\d+"', dom)) == 22
    assert '<section id="automation-statement">' in dom
    assert dom.count(f'<span class="blank">{TO_FILL}</span>') >= len(PEOPLE_ONLY)
    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 100  # text, rules and the marked blanks: not a blank page
    keep = os.environ.get("SCOPING_CHECKLIST_SHOT")  # a path, to look at the screenshot by hand
    if keep:
        shutil.copy(shot, keep)


@pytest.mark.postgres
def test_the_checklist_of_a_team_store_in_postgresql(pg_server: object, tmp_path: Path) -> None:
    review = cached_review(tmp_path / "rv", server=pg_server)
    code, _, err = run(review.root, "checklist", "--db", str(review.db))
    assert code == 0, err
    md = (review.outputs_dir / "prisma-scr-checklist.md").read_text(encoding="utf-8")
    assert sorted(_rows(md)) == list(range(1, 23))
    with review.open_store() as store:
        run_row = dedupe_tables.last_run(store)
    assert run_row is not None
    assert f"{run_row.n_duplicate_pairs:,} duplicate links made automatically" in md
