"""scoping search appendix: PRISMA-S items 1-16 from the search log and [prisma_s]."""

from __future__ import annotations

import contextlib
import html
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from replay_server import Replay
from scoping.cli import cli
from scoping.report.html import PRISMA_S_IN_REPORT
from scoping.review import Review, init_review

REPO = Path(__file__).resolve().parent.parent
RIS = Path(__file__).resolve().parent / "data" / "asreview" / "ovid_psycinfo.ris"


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    return rv


def run(review: Review, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(
            cli, list(args), env={"SCOPING_CONFIG": "", **(env or {})}, catch_exceptions=False
        )
    return result.exit_code, result.stdout, result.stderr


def test_appendix_from_the_log_and_prisma_s(review: Review) -> None:
    text = review.strategy_path.read_text(encoding="utf-8").replace(
        "[search]",
        '[prisma_s]\npeer_review = "PRESS 2015, by a second information specialist."\n'
        'deduplication = "scoping dedupe, then pairs checked by hand."\n\n[search]',
    )
    review.strategy_path.write_text(text, encoding="utf-8")
    replay = Replay(pubmed_records=40).start()
    try:
        env = {**replay.env(), "SCOPING_EMAIL": "t@example.org", "SCOPING_PARSE_WORKERS": "0"}
        assert run(review, "search", "run", "--database", "MEDLINE", env=env)[0] == 0
    finally:
        replay.stop()
    code, _, err = run(
        review, "import", str(RIS), "--source", "PsycINFO", "--date-searched", "2026-11-02", "--hits", "6"
    )
    assert code == 0, err
    code, out, err = run(review, "search", "appendix")
    assert code == 0, err
    assert out.splitlines()[0] == "Wrote outputs/prisma-s.md and outputs/prisma-s.html"
    assert out.splitlines()[1] == (
        "Not reported yet: 2. Multi-database searching; 3. Study registries; 4. Online resources and "
        "browsing; 5. Citation searching; 6. Contacts; 7. Other methods; 10. Search filters; "
        "11. Prior work"
    )
    md = (review.root / "outputs" / "prisma-s.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| PRISMA")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [
        "1. Database name",
        "2. Multi-database searching",
        "3. Study registries",
        "4. Online resources and browsing",
        "5. Citation searching",
        "6. Contacts",
        "7. Other methods",
        "8. Full search strategies",
        "9. Limits and restrictions",
        "10. Search filters",
        "11. Prior work",
        "12. Updates",
        "13. Dates of searches",
        "14. Peer review",
        "15. Total records",
        "16. Deduplication",
    ]
    assert "| 1. Database name | PsycINFO (Ovid); MEDLINE (PubMed (NCBI E-utilities)) |" in md
    assert '| 3. Study registries | Not reported: write registers = "..." under [prisma_s]' in md
    assert "| 14. Peer review | PRESS 2015, by a second information specialist. |" in md
    assert "| 16. Deduplication | scoping dedupe, then pairs checked by hand. (scoping " in md
    assert "PsycINFO: 2026-11-02" in md
    assert "In total 46 records" in md
    assert "### MEDLINE" in md and "medline[sb]" in md and "- Hits: 40" in md
    page = (review.root / "outputs" / "prisma-s.html").read_text(encoding="utf-8")
    assert (
        page.startswith("<!DOCTYPE html>") and "<tr class=missing><th scope=row>3. Study registries" in page
    )
    assert "&quot;peer support&quot;[tiab]" in page


def test_prisma_s_keys_are_checked() -> None:
    from scoping.errors import ConfigError
    from scoping.search import parse_strategy

    with pytest.raises(
        ConfigError, match=r"\[prisma_s\] has an unknown key 'peer_reviewed'; keys are multi_database"
    ):
        parse_strategy('[[block]]\nname = "A"\nterms = ["a"]\n[prisma_s]\npeer_reviewed = "yes"\n')


def test_every_prisma_s_item_says_where_it_comes_from_and_the_report_claims_no_more(
    review: Review,
) -> None:
    """Items 1-16 each say whether the search log covers them, [prisma_s] answers them, or they
    were asked for in strategy.toml and not answered; the report's search log names only the
    items its table shows, and the appendix for the rest."""
    text = review.strategy_path.read_text(encoding="utf-8").replace(
        "[search]", '[prisma_s]\npeer_review = "PRESS 2015."\n\n[search]'
    )
    review.strategy_path.write_text(text, encoding="utf-8")
    query = "exp peer group/ AND (mental adj2 illness).ti,ab."
    code, _, err = run(
        review, "import", str(RIS), "--source", "PsycINFO", "--date-searched", "2026-11-02", "--query", query
    )
    assert code == 0, err
    code, _, err = run(review, "search", "appendix")
    assert code == 0, err
    md = (review.root / "outputs" / "prisma-s.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| PRISMA")]
    where = {
        int(row.split(".")[0].removeprefix("| ")): row.rsplit(" | ", 1)[1].removesuffix(" |") for row in rows
    }
    assert sorted(where) == list(range(1, 17))
    from_log = {1, 8, 9, 12, 13, 15}  # PRISMA-S items a search log can answer
    for number, status in where.items():
        if number in from_log:
            assert status.startswith("covered: search log"), (number, status)
        elif number == 14:
            assert status == "covered: [prisma_s] peer_review in strategy.toml"
        else:
            assert status.startswith("asked for in strategy.toml ([prisma_s] ") and status.endswith(
                "): not answered"
            ), (number, status)
    html_page = (review.root / "outputs" / "prisma-s.html").read_text(encoding="utf-8")
    assert "<th>Where from</th>" in html_page and "covered: [prisma_s] peer_review" in html_page
    # the report: the items its search table shows, which the log covers; not 15 (its total
    # counts a record retrieved twice twice), and the appendix named for the others
    assert set(PRISMA_S_IN_REPORT) <= from_log and 15 not in PRISMA_S_IN_REPORT
    code, _, err = run(review, "report")
    assert code == 0, err
    page = (review.root / "outputs" / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="search">') :]
    section = section[: section.index("</section>")]
    assert "PRISMA-S items 1, 8, 9 and 13)" in section
    assert "PRISMA-S items 2-7, 10-12 and 14-16 (" in section and "'scoping search appendix'" in section
    assert "and 15" not in section and "13 and 15" not in page
    # and the table shows them: database and platform (1), the query (8), limits (9), date (13)
    assert "PsycINFO" in section and html.escape(query) in section
    assert "2026-11-02" in section and "Limits" in section
