"""Search histories exported from Ovid and EBSCOhost (or typed as numbered lines with counts):
read line by line with the records each line found, frozen at import, and shown in the search
log and the PRISMA-S appendix. The histories below are written for these tests in each
platform's export layout."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.review import Review, init_review
from scoping.search.history import HistoryLine, parse_history

REPO = Path(__file__).resolve().parent.parent
RIS = Path(__file__).resolve().parent / "data" / "asreview" / "ovid_psycinfo.ris"  # 6 records

OVID = """Database: APA PsycInfo <1806 to November Week 4 2026>
Search Strategy:
--------------------------------------------------------------------------------
1     peer support.ti,ab,id. (2114)
2     (peer adj3 work*).ti,ab,id. (3250)
3     or/1-2 (4890)
4     mental health.ti,ab,id. (190310)
5     3 and 4 (812)
6     limit 5 to (english language and yr="1990 -Current") (790)

***************************
"""

EBSCO = (
    'S1\tTI "peer support" OR AB "peer support"\t\tSearch modes - Boolean/Phrase\tView Results (2,114)\n'
    'S2\t(MH "Mental Health+")\t\tSearch modes - Boolean/Phrase\tView Results (40,001)\n'
    "S3\tS1 AND S2\tLimiters - Published Date: 19900101-20261231\tSearch modes - Boolean/Phrase\t"
    "View Results (312)\n"
)


def test_an_ovid_history_is_read_with_its_counts_and_database() -> None:
    history = parse_history(OVID)
    assert history is not None and history.platform == "ovid"
    assert history.database == "APA PsycInfo <1806 to November Week 4 2026>"
    assert [(x.number, x.hits) for x in history.lines] == [
        ("1", 2114),
        ("2", 3250),
        ("3", 4890),
        ("4", 190310),
        ("5", 812),
        ("6", 790),
    ]
    assert history.lines[5].query == 'limit 5 to (english language and yr="1990 -Current")'
    assert history.final_hits == 790


def test_an_ebsco_history_is_read_without_its_limiter_and_mode_columns() -> None:
    history = parse_history(EBSCO)
    assert history is not None and history.platform == "ebsco"
    assert history.lines == (
        HistoryLine("S1", 'TI "peer support" OR AB "peer support"', 2114),
        HistoryLine("S2", '(MH "Mental Health+")', 40001),
        HistoryLine("S3", "S1 AND S2", 312),
    )


@pytest.mark.parametrize(
    "text",
    [
        '("peer support" OR "peer worker*") AND "mental health"',
        # numbered lines without counts: "1 and 2" must not lose its 2 to a guessed count
        "1 peer support.ti,ab,id.\n2 mental health.ti,ab,id.\n3 1 and 2\n",
    ],
)
def test_a_query_or_a_history_without_counts_is_not_read_as_one(text: str) -> None:
    assert parse_history(text) is None


def test_a_wrapped_line_continues_the_search_before_it() -> None:
    history = parse_history(
        "1     peer support.ti,ab. (10)\n"
        "2     (peer adj3 (worker* or mentor* or\n"
        "      specialist*)).ti,ab. (25)\n"
        "3     1 or 2 (30)\n"
    )
    assert history is not None
    assert history.lines == (
        HistoryLine("1", "peer support.ti,ab.", 10),
        HistoryLine("2", "(peer adj3 (worker* or mentor* or specialist*)).ti,ab.", 25),
        HistoryLine("3", "1 or 2", 30),
    )


def run(review: Review, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    return rv


def test_an_imported_history_gives_the_hits_and_shows_per_line_counts(review: Review, tmp_path: Path) -> None:
    history = tmp_path / "psycinfo-history.txt"
    history.write_text(OVID, encoding="utf-8")
    code, _, err = run(
        review,
        "import",
        str(RIS),
        "--source",
        "PsycINFO",
        "--date-searched",
        "2026-11-30",
        "--query-file",
        str(history),
    )
    assert code == 0, err
    # no --hits: the history's last line (790) is what the database reported
    assert err.startswith("Warning: the file holds 6 records but PsycINFO reported 790 hits")
    code, log, _ = run(review, "search", "log", "--format", "json")
    [entry] = json.loads(log)
    assert entry["hit_count"] == 790
    assert [(x["number"], x["hits"]) for x in entry["extra"]["history_lines"]][-2:] == [
        ("5", 812),
        ("6", 790),
    ]
    code, text, _ = run(review, "search", "log")
    assert "  history    (APA PsycInfo <1806 to November Week 4 2026>)\n" in text
    assert '             6  limit 5 to (english language and yr="1990 -Current")  [790]\n' in text
    code, _, err = run(review, "search", "appendix")
    assert code == 0, err
    markdown = (review.root / "outputs" / "prisma-s.md").read_text(encoding="utf-8")
    assert "- Database and coverage: APA PsycInfo <1806 to November Week 4 2026>" in markdown
    assert "| 5 | 3 and 4 | 812 |" in markdown
    page = (review.root / "outputs" / "prisma-s.html").read_text(encoding="utf-8")
    assert "<tr><td>2</td><td>(peer adj3 work*).ti,ab,id.</td><td>3,250</td></tr>" in page


def test_hits_that_disagree_with_the_history_are_pointed_out(review: Review, tmp_path: Path) -> None:
    history = tmp_path / "cinahl-history.txt"
    history.write_text(EBSCO, encoding="utf-8")
    code, _, err = run(
        review, "import", str(RIS), "--source", "CINAHL", "--hits", "300", "--query-file", str(history)
    )
    assert code == 0
    assert "Warning: --hits 300 but the search history's last line (S3) found 312" in err
