"""What a specialist needs to trust a run: PubMed's 9,999 limit, PubMed's own messages kept and
shown, query errors not fetched again, shortfalls said, OpenAlex's key and daily quota, Crossref
reported apart, and records never stored (or counted) twice when a search is run again."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from replay_server import Replay, serving
from scoping.cli import cli
from scoping.errors import ConfigError, NetworkError
from scoping.review import Review, init_review
from scoping.search import RetryPolicy, SearchConfig, load_strategy, run_search, search_log
from scoping.store import search_tables as tables

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    return rv


def config(replay: Replay, **overrides: Any) -> SearchConfig:
    values: dict[str, Any] = dict(
        email="tests@example.org",
        ncbi_api_key="test-key",
        openalex_api_key="test-key",
        urls={s: replay.url(s) for s in ("pubmed", "europepmc", "openalex", "crossref")},
        policy=RetryPolicy(attempts=3, backoff=0.01, max_delay=0.05, timeout=5.0, jitter=0),
        pubmed_batch=25,
        page_size=20,
        rates={"pubmed": 100.0, "europepmc": 100.0, "openalex": 100.0, "crossref": 100.0},
        parse_workers=0,
    )
    values.update(overrides)
    return SearchConfig(**values)


def cli_run(
    review: Review, replay: Replay, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    environ = {
        **replay.env(),
        "SCOPING_EMAIL": "tests@example.org",
        "NCBI_API_KEY": "test-key",
        "OPENALEX_API_KEY": "test-key",
        "SCOPING_HTTP_RETRIES": "3",
        "SCOPING_HTTP_BACKOFF": "0.01",
        "SCOPING_HTTP_TIMEOUT": "5",
        "SCOPING_PUBMED_BATCH": "500",
        "SCOPING_PARSE_WORKERS": "0",
        "SCOPING_CONFIG": "",
        **(env or {}),
    }
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- PubMed ------------------------------------------------------------------------------------


def test_a_query_with_exactly_10000_hits_is_split(review: Review) -> None:
    """PubMed lists at most 9,999 PMIDs of one query (Biopython issue 4353): 10,000 hits must be
    cut into date ranges, not fail with 'reported 10000 records but listed 9999'. Slim articles:
    reading 10,000 full ones cost about 12 s of CPU, and what is tested is how many move."""
    strategy = load_strategy(review.strategy_path)
    with serving(pubmed_records=10_000, pubmed_slim=True) as replay, review.open_store() as store:
        result = run_search(review, strategy, "pubmed", store=store, config=config(replay, pubmed_batch=500))
        run = result.run
        assert (run.status, run.hit_count, run.retrieved, result.stored) == (
            "complete",
            10_000,
            10_000,
            10_000,
        )
        searches = replay.requests_to("esearch")
        assert len(searches) >= 3 and all(int(r.params["retmax"][0]) == 9_999 for r in searches)
        assert store.count_records() == 10_000


def test_pubmed_messages_are_kept_logged_and_shown(review: Review) -> None:
    # ErrorList and WarningList as PubMed writes them (esearch8.xml, tests/data/api, holds the
    # first two); the quoted-phrase and 600-variation warnings are worded as PubMed words them
    notices = (
        "<ErrorList><PhraseNotFound>peer led support</PhraseNotFound></ErrorList>"
        '<WarningList><QuotedPhraseNotFound>"forensic psych*"</QuotedPhraseNotFound>'
        "<OutputMessage>Wildcard search for 'psych*' used only the first 600 variations. "
        "Lengthen the root word to search for all endings.</OutputMessage></WarningList>"
    )
    translation = '"peer support"[Title/Abstract] AND "mental health"[Title/Abstract]'
    with serving(pubmed_records=30, pubmed_notices=notices, pubmed_translation=translation) as replay:
        code, out, err = cli_run(review, replay, "search", "run", "--database", "MEDLINE")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].startswith("MEDLINE (PubMed (NCBI E-utilities)): 30 hits, 30 records retrieved")
        assert lines[1:5] == [
            f"  PubMed's translation: {translation}",
            "  error from PubMed: PhraseNotFound: peer led support",
            '  warning from PubMed: QuotedPhraseNotFound: "forensic psych*"',
            "  warning from PubMed: OutputMessage: Wildcard search for 'psych*' used only the first 600 "
            "variations. Lengthen the root word to search for all endings.",
        ]
        assert "list the phrase's forms under [variants]" in lines[5]
        code, log, _ = cli_run(review, replay, "search", "log", "--database", "MEDLINE")
    assert code == 0
    assert f"  translation {translation}" in log
    assert "  error      PhraseNotFound: peer led support" in log
    assert '  warning    QuotedPhraseNotFound: "forensic psych*"' in log
    with review.open_store() as store:
        run = tables.list_runs(store)[0]
        details = tables.get_details(store, run.id)
    saved = json.loads((review.root / run.folder / "pubmed.json").read_text())
    assert saved == {k: details[k] for k in ("query_translation", "errors", "warnings")}
    assert saved["errors"] == ["PhraseNotFound: peer led support"] and len(saved["warnings"]) == 2


def test_a_query_pubmed_rejects_is_asked_once(review: Review) -> None:
    strategy = load_strategy(review.strategy_path)
    body = (
        b'<?xml version="1.0" ?><eSearchResult><ERROR>Invalid query: unbalanced parentheses'
        b"</ERROR></eSearchResult>"
    )
    with serving(pubmed_records=10) as replay, review.open_store() as store:
        replay.fault("esearch", "replace", body=body, times=-1)
        with pytest.raises(ConfigError) as info:
            run_search(review, strategy, "pubmed", store=store, config=config(replay))
        assert len(replay.requests_to("esearch")) == 1  # not fetched again as if corrupt
        run = tables.list_runs(store)[0]
        assert run.status == "failed"
    assert str(info.value).startswith(
        f"PubMed page esearch-all of run {run.id}: PubMed rejected the query: Invalid query: "
        f"unbalanced parentheses; run {run.id} is marked failed: check the query with "
        "'scoping search plan --database \"MEDLINE\"'"
    )


# -- fewer records than reported ----------------------------------------------------------------


def test_a_shortfall_is_said_at_the_end_and_in_the_log(review: Review) -> None:
    with serving(europepmc_records=100, reported={"europepmc": 105}) as replay:
        code, out, err = cli_run(review, replay, "search", "run", "--database", "europepmc")
        assert code == 0, err
        assert out.splitlines()[0].startswith(
            "Europe PMC (Europe PMC (REST API)): 105 hits, 100 records retrieved"
        )
        assert (
            "  warning: retrieved 100 of the 105 records it reported: Europe PMC ended the list 5 short"
            in out.splitlines()
        )
        code, log, _ = cli_run(review, replay, "search", "log")
    assert "  warning    retrieved 100 of the 105 records it reported" in log
    assert "  sent with  synonym=false" in log


# -- OpenAlex -------------------------------------------------------------------------------------


def test_openalex_needs_a_key(review: Review) -> None:
    strategy = load_strategy(review.strategy_path)
    with serving(openalex_records=5) as replay, review.open_store() as store:
        with pytest.raises(
            ConfigError, match=r"OpenAlex needs an API key since 13 February 2026.*OPENALEX_API_KEY"
        ):
            run_search(
                review, strategy, "openalex", store=store, config=config(replay, openalex_api_key=None)
            )
        assert replay.log == [] and tables.list_runs(store) == []


def test_openalex_daily_quota_is_explained_not_retried(review: Review) -> None:
    body = json.dumps({"error": "Rate limit exceeded", "message": "Daily limit exceeded"}).encode()
    with serving(openalex_records=60) as replay:
        replay.fault(
            "works", "status", status=429, after=1, times=-1, body=body, headers={"X-RateLimit-Reset": "5400"}
        )
        code, _, err = cli_run(
            review,
            replay,
            "search",
            "run",
            "--database",
            "openalex",
            env={"OPENALEX_API_KEY": "k-123", "SCOPING_PAGE_SIZE": "20"},
        )
        assert code == 1
        assert [r.status for r in replay.log] == [200, 429]  # asked once, not six times
        assert err.startswith("Error: OpenAlex page page-00002 of run openalex-") and err.count("\n") == 1
        assert (
            "OpenAlex answered HTTP 429 (Rate limit exceeded Daily limit exceeded): the daily allowance of "
            "your API key is used up; it renews at " in err
        )
        assert "(in 1 h 30 min). Asking again before then cannot help" in err
        assert "20 records are stored; run 'scoping search run --resume openalex-" in err
        assert "k-123" not in err
        run_json = next((review.root / "searches" / "runs").glob("openalex-*/run.json")).read_text()
        assert "k-123" not in run_json


def test_openalex_key_from_the_users_config_file(tmp_path: Path, review: Review) -> None:
    outside = tmp_path / "home" / "config.toml"
    outside.parent.mkdir()
    outside.write_text('email = "me@example.org"\n[keys]\nopenalex = "from-file"\n', encoding="utf-8")
    strategy = load_strategy(review.strategy_path)
    loaded = SearchConfig.load(strategy, environ={"SCOPING_CONFIG": str(outside)})
    assert (loaded.openalex_api_key, loaded.email) == ("from-file", "me@example.org")
    assert "from-file" not in repr(loaded)
    env_wins = SearchConfig.load(
        strategy, environ={"SCOPING_CONFIG": str(outside), "OPENALEX_API_KEY": "env"}
    )
    assert env_wins.openalex_api_key == "env"
    inside = review.root / "keys.toml"
    inside.write_text('[keys]\nopenalex = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="holds API keys but is inside the review folder"):
        SearchConfig.load(strategy, environ={"SCOPING_CONFIG": str(inside)})


# -- Crossref ------------------------------------------------------------------------------------


def test_crossref_matches_are_reported_apart(review: Review) -> None:
    with serving(crossref_records=30, pubmed_records=20) as replay:
        assert cli_run(review, replay, "search", "run", "--database", "pubmed")[0] == 0
        code, out, err = cli_run(review, replay, "search", "run", "--database", "crossref")
        assert code == 0, err
        assert out.splitlines()[0].startswith(
            "Crossref (Crossref (REST API)): 30 ranked matches (not a Boolean hit count), "
            "30 records retrieved"
        )
        code, log, _ = cli_run(review, replay, "search", "log", "--format", "json")
    entries = {e["database"]: e for e in json.loads(log)}
    assert entries["MEDLINE"]["hit_count"] == 20
    assert entries["Crossref"]["hit_count"] is None and entries["Crossref"]["extra"]["ranked_matches"] == 30


# -- running a search again ------------------------------------------------------------------------


def test_running_a_search_again_never_counts_a_record_twice(review: Review) -> None:
    from scoping.report.api import prisma_counts

    strategy = load_strategy(review.strategy_path)
    with serving(pubmed_records=300) as replay:
        with review.open_store() as store:
            first = run_search(
                review, strategy, "pubmed", store=store, config=config(replay, pubmed_batch=100)
            )
            again = run_search(
                review, strategy, "pubmed", store=store, config=config(replay, pubmed_batch=100), new=True
            )
            assert again.run.id != first.run.id and (again.run.retrieved, again.stored) == (300, 0)
            assert again.details is not None and again.details["already_stored"] == 300
            assert store.count_by_source() == [("MEDLINE", 300)]
        counts = prisma_counts(review)
        assert [(line.name, line.n) for line in counts.identification.databases] == [("MEDLINE", 300)]
        assert not [c for c in counts.checks if c.id == "repeated-import"]  # no false alarm either
        code, out, err = cli_run(review, replay, "search", "run", "--database", "MEDLINE", "--new")
        assert code == 0, err
    assert "300 records retrieved, 0 stored now" in out
    assert (
        "note: 300 of the records retrieved were stored before by an earlier search of this database" in out
    )


def test_an_update_search_adds_only_the_new_records(review: Review) -> None:
    strategy = load_strategy(review.strategy_path)
    with serving(pubmed_records=120) as replay, review.open_store() as store:
        run_search(review, strategy, "pubmed", store=store, config=config(replay))
    with serving(pubmed_records=150) as replay, review.open_store() as store:  # 30 new records since
        first = tables.list_runs(store)[0]
        update = run_search(review, strategy, "pubmed", store=store, config=config(replay), update=True)
        since = first.started_at[:10].replace("-", "/")
        term = replay.requests_to("esearch")[0].params["term"][0]
        assert term == f'({first.query}) AND ("{since}"[edat] : "3000"[edat])'
        assert update.run.query == term and update.details is not None
        assert update.details["update_of"] == first.id
        # the replay server ignores [edat]: it lists all 150, of which 30 are new
        assert (update.run.retrieved, update.stored) == (150, 30)
        assert store.count_by_source() == [("MEDLINE", 150)]
        ids = [s.record.source_id for s in store.iter_records()]
        assert len(ids) == len(set(ids)) == 150
        log = search_log(store, strategy)
    assert [(e.retrieved, e.extra.get("new_records")) for e in log] == [(120, 120), (150, 30)]
    with serving(pubmed_records=150) as replay:
        code, out, _ = cli_run(review, replay, "search", "log", "--database", "MEDLINE")
    assert code == 0
    assert f"  update of  run {first.id} (records entered since its day)" in out


def test_update_searches_need_an_earlier_run(review: Review) -> None:
    from scoping.errors import UsageError

    strategy = load_strategy(review.strategy_path)
    with serving(pubmed_records=5, europepmc_records=5) as replay, review.open_store() as store:
        with pytest.raises(UsageError, match=r"needs a complete earlier run of MEDLINE"):
            run_search(review, strategy, "pubmed", store=store, config=config(replay), update=True)
        with pytest.raises(UsageError, match=r"needs a complete earlier run of Europe PMC"):
            run_search(review, strategy, "europepmc", store=store, config=config(replay), update=True)
        assert replay.log == []


def test_a_network_error_is_still_resumable(review: Review) -> None:
    strategy = load_strategy(review.strategy_path)
    with serving(openalex_records=50) as replay, review.open_store() as store:
        replay.fault("works", "status", status=503, after=1, times=-1)
        with pytest.raises(NetworkError, match="--resume openalex-"):
            run_search(review, strategy, "openalex", store=store, config=config(replay))
