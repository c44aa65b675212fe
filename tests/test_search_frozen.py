"""Every search frozen as it was run: an imported export keeps the search behind it (the query
as pasted or the plan's at import, the date searched, the hits reported, the platform), and the
log never re-derives an earlier search from today's strategy.toml."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.review import Review, init_review
from scoping.search import load_strategy, translate

REPO = Path(__file__).resolve().parent.parent
RIS = Path(__file__).resolve().parent / "data" / "asreview" / "ovid_psycinfo.ris"  # 6 records


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    return rv


def run(review: Review, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(cli, list(args), env={"SCOPING_CONFIG": ""}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def log_json(review: Review) -> list[dict[str, Any]]:
    code, out, err = run(review, "search", "log", "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_the_log_keeps_the_plan_of_import_time_after_the_strategy_changes(review: Review) -> None:
    before = translate(load_strategy(review.strategy_path), "PsycINFO").text
    code, out, err = run(review, "import", str(RIS), "--source", "PsycINFO")
    assert code == 0, err
    assert out.startswith("Imported 6 records from ovid_psycinfo.ris (RIS, utf-8) as 'PsycINFO' [import 1]")
    assert err == ""
    # the strategy is edited after the import: 1990 becomes 2000 and a term appears
    text = review.strategy_path.read_text(encoding="utf-8")
    text = text.replace("from_year = 1990", "from_year = 2000").replace(
        '"peer support",', '"peer support",\n    "peer mentor*",', 1
    )
    review.strategy_path.write_text(text, encoding="utf-8")
    after = translate(load_strategy(review.strategy_path), "PsycINFO").text
    assert after != before and "peer mentor*" in after
    [entry] = log_json(review)
    assert entry["query"] == before and entry["query_origin"] == "plan"
    assert entry["limits"]["from_year"] == 1990
    assert entry["date_known"] is False and entry["hit_count"] is None
    code, out, _ = run(review, "search", "log")
    assert "  date       not recorded (imported " in out
    assert "  query*     1 peer support.ti,ab,id." in out and "peer mentor" not in out
    assert "  limits     from 1990; English" in out
    assert out.rstrip().endswith("(the query as run was not given with --query)")


def test_an_export_with_its_search_as_run(review: Review, tmp_path: Path) -> None:
    history = tmp_path / "history.txt"
    history.write_text("1 peer support.ti,ab,id. 2,114\n2 mental health.ti,ab,id. 190,310\n3 1 and 2 812\n")
    code, out, err = run(
        review,
        "import",
        str(RIS),
        "--source",
        "PsycINFO",
        "--platform",
        "Ovid",
        "--date-searched",
        "2026-11-02",
        "--hits",
        "812",
        "--query-file",
        str(history),
    )
    assert code == 0
    assert out.startswith("Imported 6 records from ovid_psycinfo.ris")
    assert err == (
        "Warning: the file holds 6 records but PsycINFO reported 812 hits: 806 are missing (an export "
        "cut at the platform's limit per file, or records left unselected?); import the rest with the "
        "same --source\n"
    )
    review.strategy_path.write_text(review.strategy_path.read_text().replace("1990", "2001"))
    [entry] = log_json(review)
    assert (entry["query"], entry["query_origin"], entry["hit_count"], entry["interface"]) == (
        history.read_text().strip("\n"),
        "given",
        812,
        "Ovid",
    )
    assert entry["date"] == "2026-11-02" and entry["date_known"] is True and entry["limits"] == {}
    code, out, _ = run(review, "search", "log")
    assert "  date       2026-11-02 (searched; imported " in out
    # the history's lines with the records each found, not the pasted text
    assert (
        "  history    1  peer support.ti,ab,id.  [2,114]\n"
        "             2  mental health.ti,ab,id.  [190,310]\n"
        "             3  1 and 2  [812]\n"
    ) in out
    assert "  query " not in out
    assert "  hits       812" in out and "  records    6" in out


def test_import_refuses_a_bad_search_date_before_storing_anything(review: Review) -> None:
    code, out, err = run(review, "import", str(RIS), "--source", "PsycINFO", "--date-searched", "2026-13-01")
    assert (code, out) == (1, "")
    assert err == "Error: --date-searched '2026-13-01' is not a date such as 2026-11-30\n"
    code, out, _ = run(review, "records", "--count")
    assert out.strip() == "0"


def test_import_works_without_a_readable_strategy(review: Review) -> None:
    review.strategy_path.write_text("not toml [[[", encoding="utf-8")
    code, out, err = run(review, "import", str(RIS), "--source", "PsycINFO", "--hits", "6")
    assert code == 0 and err == "" and "Imported 6 records" in out


def test_an_import_made_before_searches_were_recorded_says_so(review: Review) -> None:
    from scoping.ingest.api import import_file, inspect_files
    from scoping.search import search_log

    strategy = load_strategy(review.strategy_path)
    with review.open_store() as store:  # the library import, as older versions did it
        import_file(store, inspect_files([RIS])[0], source="PsycINFO")
        [entry] = search_log(store, strategy)
    assert (entry.database, entry.query, entry.query_origin, entry.date_known) == (
        "PsycINFO",
        "",
        "none",
        False,
    )
    assert entry.note is not None and "was not recorded when it was imported" in entry.note
