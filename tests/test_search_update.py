"""Update searches end to end, against the replay server: each API database searched again by the
date its records entered it (PubMed [edat], Europe PMC FIRST_IDATE, OpenAlex from_created_date,
Crossref from-created-date), only new records stored, and every record in exactly one of PRISMA
2020's arms (previous: what the earlier searches found; new: what the update searches added)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay_server import Replay, serving
from scoping.cli import cli
from scoping.review import Review, init_review
from scoping.search import RetryPolicy, SearchConfig, load_strategy, run_search, search_log, update_arms
from scoping.store import search_tables as tables

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    return rv


def config(replay: Replay) -> SearchConfig:
    return SearchConfig(
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


def cli_run(review: Review, replay: Replay, *args: str) -> tuple[int, str, str]:
    environ = {
        **replay.env(),
        "SCOPING_EMAIL": "tests@example.org",
        "OPENALEX_API_KEY": "test-key",
        "SCOPING_HTTP_RETRIES": "3",
        "SCOPING_HTTP_BACKOFF": "0.01",
        "SCOPING_PARSE_WORKERS": "0",
        "SCOPING_CONFIG": "",
    }
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


RECORDS = {"europepmc": "europepmc_records", "openalex": "openalex_records", "crossref": "crossref_records"}
PATHS = {"europepmc": "search", "openalex": "works", "crossref": "works"}


def _sent(replay: Replay, platform: str) -> dict[str, list[str]]:
    return replay.requests_to(PATHS[platform])[0].params


@pytest.mark.parametrize("platform", ["europepmc", "openalex", "crossref"])
def test_an_update_search_asks_for_records_entered_since_the_last_run(review: Review, platform: str) -> None:
    strategy = load_strategy(review.strategy_path)
    with serving(**{RECORDS[platform]: 40}) as replay, review.open_store() as store:
        first = run_search(review, strategy, platform, store=store, config=config(replay)).run
        assert first.retrieved == 40
    since = first.started_at[:10]
    # 60 records now: 0-34 entered in 2000, 35-59 today; the earlier run stored 0-39
    with (
        serving(**{RECORDS[platform]: 60}, entered={platform: 35}) as replay,
        review.open_store() as store,
    ):
        update = run_search(review, strategy, platform, store=store, config=config(replay), update=True)
        params = _sent(replay, platform)
        arms_since, arms = update_arms(store)
    if platform == "europepmc":
        assert params["query"][0] == f"({first.params['query']}) AND FIRST_IDATE:[{since} TO 3000-12-31]"
        assert update.run.query == params["query"][0]
    elif platform == "openalex":
        assert params["filter"][0] == f"{first.params['filter']},from_created_date:{since}"
    else:
        assert params["filter"][0] == f"{first.params['filter']},from-created-date:{since}"
        assert params["query.bibliographic"] == [first.params["query.bibliographic"]]
    assert update.details is not None and update.details["update_of"] == first.id
    # the server lists the 25 records entered today; 5 of them the earlier run had stored
    assert (update.run.retrieved, update.stored, update.details["already_stored"]) == (25, 20, 5)
    assert arms_since == update.run.started_at
    [arm] = arms
    assert (arm.previous, arm.new, arm.found_again) == (40, 20, 5)
    assert (arm.previous_searches, arm.new_searches) == ((first.id,), (update.run.id,))


def test_an_update_of_an_update_searches_the_original_query_again(review: Review) -> None:
    strategy = load_strategy(review.strategy_path)
    with serving(europepmc_records=10) as replay, review.open_store() as store:
        first = run_search(review, strategy, "europepmc", store=store, config=config(replay)).run
        second = run_search(review, strategy, "europepmc", store=store, config=config(replay), update=True)
        third = run_search(review, strategy, "europepmc", store=store, config=config(replay), update=True)
        queries = [r.params["query"][0] for r in replay.requests_to("search")]
    assert third.details is not None and third.details["update_of"] == second.run.id
    since = second.run.started_at[:10]
    # one date limit, on the first run's query: not a date limit on a date limit
    assert third.run.query == f"({first.query}) AND FIRST_IDATE:[{since} TO 3000-12-31]"
    assert queries[-1] == third.run.query and third.run.query.count("FIRST_IDATE") == 1


def test_the_update_is_shown_by_search_run_and_search_log(review: Review) -> None:
    with serving(openalex_records=30) as replay:
        code, out, err = cli_run(review, replay, "search", "run", "--database", "openalex")
        assert code == 0, err
    with serving(openalex_records=42, entered={"openalex": 30}) as replay:
        code, out, err = cli_run(review, replay, "search", "run", "--database", "openalex", "--update")
        assert code == 0, err
        assert "12 records retrieved, 12 stored now" in out
        assert "update search: entered since" in out
        assert "previous/new (PRISMA 2020, updated review): OpenAlex 30 previous, 12 new" in out
        code, log, err = cli_run(review, replay, "search", "log")
        assert code == 0, err
    assert "Update searches (PRISMA 2020's previous and new arms), from" in log
    assert "  OpenAlex  previous 30  new 12  (found again 0)" in log


def test_arms_without_an_update_hold_everything_in_previous(review: Review) -> None:
    strategy = load_strategy(review.strategy_path)
    with serving(crossref_records=15) as replay, review.open_store() as store:
        run_search(review, strategy, "crossref", store=store, config=config(replay))
        since, arms = update_arms(store)
    assert since is None
    assert [(a.database, a.previous, a.new) for a in arms] == [("Crossref", 15, 0)]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.integers(min_value=0, max_value=30),
    growth=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 30)), min_size=1, max_size=3),
)
def test_every_record_is_in_exactly_one_arm(
    tmp_path_factory: pytest.TempPathFactory, first: int, growth: list[tuple[int, int]]
) -> None:
    """Whatever the earlier search found and however many updates follow (each adding records,
    and listing some the earlier searches had already stored): previous + new = the records
    stored, none twice, and the records the update searches stored are exactly the new arm."""
    rv = init_review(tmp_path_factory.mktemp("arms") / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    strategy = load_strategy(rv.strategy_path)
    size = first
    with serving(europepmc_records=size) as replay, rv.open_store() as store:
        run_search(rv, strategy, "europepmc", store=store, config=config(replay))
    stored_by_updates = 0
    for added, overlap in growth:
        entered = max(0, size - overlap)  # the update lists `overlap` records already stored
        size += added
        with (
            serving(europepmc_records=size, entered={"europepmc": entered}) as replay,
            rv.open_store() as store,
        ):
            result = run_search(rv, strategy, "europepmc", store=store, config=config(replay), update=True)
            stored_by_updates += result.stored
            assert result.stored == added
    with rv.open_store() as store:
        _, arms = update_arms(store)
        count = store.count_records(source="Europe PMC")
        ids = [s.record.source_id for s in store.iter_records()]
        log = search_log(store, strategy)
        runs = tables.list_runs(store)
    [arm] = arms
    assert arm.previous + arm.new == count == size == len(set(ids)) == len(ids)
    assert (arm.previous, arm.new) == (first, stored_by_updates)
    assert arm.new == sum(e.extra["new_records"] for e in log if e.extra.get("update_of"))
    assert len(arm.new_searches) == len(growth) and len(runs) == len(growth) + 1


def test_the_appendix_names_the_entry_date_and_the_new_records(review: Review) -> None:
    from scoping.search.appendix import prisma_s

    strategy = load_strategy(review.strategy_path)
    with serving(crossref_records=10) as replay, review.open_store() as store:
        first = run_search(review, strategy, "crossref", store=store, config=config(replay)).run
    with serving(crossref_records=14, entered={"crossref": 10}) as replay, review.open_store() as store:
        update = run_search(review, strategy, "crossref", store=store, config=config(replay), update=True).run
        appendix = prisma_s(store, strategy)
    [item] = [i for i in appendix.items if i.number.startswith("12.")]
    assert item.text == (
        f"Crossref: run {update.id} on {update.started_at[:10]} updated run {first.id}, limited to "
        f"records added from {first.started_at[:10]} on by from-created-date (when the DOI's "
        "metadata was first deposited); 4 new records"
    )


def test_an_update_the_database_refuses_says_what_to_do(review: Review) -> None:
    """OpenAlex long kept from_created_date for premium keys: a refused entry-date filter fails
    the update run with what to do instead, not with a --resume that would fail again."""
    from scoping.errors import ConfigError

    strategy = load_strategy(review.strategy_path)
    with serving(openalex_records=10) as replay, review.open_store() as store:
        run_search(review, strategy, "openalex", store=store, config=config(replay))
        body = b'{"error": "from_created_date needs a premium API key"}'
        replay.fault("works", "status", status=403, times=-1, body=body)
        with pytest.raises(
            ConfigError, match=r"refused the update search's entry-date limit \(from_created_date\)"
        ):
            run_search(review, strategy, "openalex", store=store, config=config(replay), update=True)
        failed = tables.list_runs(store)[-1]
        assert failed.status == "failed" and "HTTP 403" in (failed.message or "")
        assert store.count_records() == 10
        replay.clear_faults()
        again = run_search(review, strategy, "openalex", store=store, config=config(replay), new=True)
        assert (again.run.status, again.stored) == ("complete", 0)
