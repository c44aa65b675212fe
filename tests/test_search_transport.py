"""Rate limiting, backoff and error handling of the HTTP layer, against the local replay server."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from replay_server import Replay
from scoping.errors import NetworkError
from scoping.search.transport import (
    EUtils,
    HTTPStatusError,
    HttpTransport,
    QuotaExceeded,
    RateLimiter,
    RetryPolicy,
    Stats,
    eutils_method,
)


@pytest.fixture
def replay():
    server = Replay(europepmc_records=3, pubmed_records=3).start()
    yield server
    server.stop()


def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(20, margin=0)
    start = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - start >= 5 / 20 - 0.01
    limiter.slow_to(40)  # never faster than configured
    assert limiter.per_second == 20
    limiter.slow_to(10)
    assert limiter.per_second == 10 and limiter.interval == pytest.approx(0.1)


def test_a_late_wake_moves_the_next_start_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread that wakes late (the interpreter busy elsewhere) does not squeeze the gap after
    its request: a server counting requests in any one second would answer 429."""
    real_sleep = time.sleep
    late = [0.08]  # the first sleep overruns by 80 ms

    def sleep(seconds: float) -> None:
        real_sleep(seconds + (late.pop() if late else 0.0))

    limiter = RateLimiter(10, margin=0)
    monkeypatch.setattr(time, "sleep", sleep)
    starts = []
    for _ in range(3):
        limiter.wait()
        starts.append(time.monotonic())
    monkeypatch.undo()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[0] >= 0.1 + 0.07  # the late start
    assert gaps[1] >= 0.1 - 0.002, gaps  # and a full interval after it


def test_backoff_doubles_up_to_the_maximum_and_honours_retry_after() -> None:
    policy = RetryPolicy(backoff=0.5, max_delay=3, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 3, 3]
    assert policy.delay(1, retry_after=2.5) == 2.5
    # Retry-After is honoured in full (not cut to max_delay), up to max_retry_after
    assert policy.delay(1, retry_after=100) == 100
    assert RetryPolicy(max_retry_after=50, jitter=0).delay(1, retry_after=100) == 50


def test_a_long_retry_after_stops_at_once(replay: Replay) -> None:
    """A server that asks for an hour is not asked again six times a minute apart."""
    replay.fault("search", "status", status=429, retry_after=3600, times=-1)
    stats = Stats()
    with (
        HttpTransport(
            policy=RetryPolicy(attempts=6, backoff=0.01), limiter=RateLimiter(100), stats=stats
        ) as http,
        pytest.raises(QuotaExceeded) as info,
    ):
        http.get("Europe PMC page 1", replay.url("europepmc") + "search", {"query": "x"})
    assert str(info.value) == (
        "Europe PMC page 1: the server answered HTTP 429 and asks to wait 1 h 0 min (Retry-After), "
        "longer than scoping waits (5 min); run the search again after that"
    )
    assert stats.requests == 1 and len(replay.log) == 1


def test_retry_after_is_waited_for(replay: Replay) -> None:
    replay.fault("search", "status", status=429, retry_after=0.3, times=1)
    stats = Stats()
    with HttpTransport(
        policy=RetryPolicy(attempts=2, backoff=0.01, jitter=0), limiter=RateLimiter(100), stats=stats
    ) as http:
        start = time.monotonic()
        body = http.get("a page", replay.url("europepmc") + "search", {"query": "x"})
        assert time.monotonic() - start >= 0.3
    assert b'"hitCount": 3' in body
    assert (stats.requests, stats.retries, stats.throttled) == (2, 1, 1)


def test_client_errors_are_not_retried(replay: Replay) -> None:
    stats = Stats()
    with (
        HttpTransport(
            policy=RetryPolicy(attempts=5, backoff=0.01), limiter=RateLimiter(100), stats=stats
        ) as http,
        pytest.raises(HTTPStatusError) as info,
    ):
        http.get("the page", replay.url("europepmc") + "nowhere", {})
    assert info.value.status == 404 and stats.requests == 1
    assert str(info.value).startswith("the page: the server answered HTTP 404: not found")


def test_giving_up_says_what_failed_and_how_often(replay: Replay) -> None:
    replay.fault("search", "status", status=502, times=-1)
    with (
        HttpTransport(
            policy=RetryPolicy(attempts=3, backoff=0.01, jitter=0), limiter=RateLimiter(100)
        ) as http,
        pytest.raises(NetworkError) as info,
    ):
        http.get("Europe PMC page 1", replay.url("europepmc") + "search", {"query": "x"})
    assert str(info.value).startswith("Europe PMC page 1 failed 3 times over ")
    assert str(info.value).endswith("last with HTTP 502")


def test_eutils_reach_the_configured_server_with_ncbis_identity(replay: Replay) -> None:
    with EUtils(
        base_url=replay.url("pubmed"),
        policy=RetryPolicy(attempts=1),
        limiter=RateLimiter(100),
        email="tests@example.org",
        api_key="k",
    ) as eutils:
        data = eutils.call("esearch", "esearch", db="pubmed", term="x", retmax=5, mindate=None)
    assert b"<Count>3</Count>" in data
    (logged,) = replay.log
    assert (logged.method, logged.path) == ("GET", "/entrez/eutils/esearch.fcgi")
    assert logged.params == {
        "db": ["pubmed"],
        "term": ["x"],
        "retmax": ["5"],
        "tool": ["scoping"],
        "email": ["tests@example.org"],
        "api_key": ["k"],
    }


def test_eutils_post_200_pmids_or_more(replay: Replay) -> None:
    """Like Bio.Entrez, a request naming 200 PMIDs or more is a POST (NCBI's advice): the PMIDs
    and the key travel in the body."""
    pmids = replay.pmids
    with EUtils(
        base_url=replay.url("pubmed"), policy=RetryPolicy(attempts=1), limiter=RateLimiter(100), api_key="k"
    ) as eutils:
        few = eutils.call("efetch", "efetch", db="pubmed", id=",".join(pmids[:2]), retmode="xml")
        many = eutils.call("efetch", "efetch", db="pubmed", id=",".join([pmids[0]] * 250), retmode="xml")
    assert [r.method for r in replay.log] == ["GET", "POST"]
    assert len(replay.log[1].params["id"][0].split(",")) == 250
    assert replay.log[1].params["api_key"] == ["k"]
    assert few.count(b"<PubmedArticle>") == 2 and many.count(b"<PubmedArticle>") >= 1


@settings(max_examples=200, deadline=None)
@example(ids=[7] * 199, term="", key=None)
@example(ids=[7] * 200, term="", key=None)
@example(ids=[12_345_678] * 86, term="", key=None)
@example(ids=[12_345_678] * 90, term="", key=None)
@given(
    ids=st.lists(
        st.integers(min_value=1, max_value=9) | st.integers(min_value=1, max_value=99_999_999),
        min_size=1,
        max_size=260,
    ),
    term=st.text(max_size=400),
    key=st.none() | st.text(alphabet="0123456789abcdef", min_size=36, max_size=36),
)
def test_get_or_post_as_bio_entrez_chooses(ids: list[int], term: str, key: str | None) -> None:
    """The choice between GET and POST is Bio.Entrez's (its request builder as the oracle): POST
    from 200 ids on, or when the parameters are over 1,000 characters URL-encoded."""
    from Bio import Entrez

    params = {"db": "pubmed", "term": term, "id": ",".join(map(str, ids)), "tool": "scoping"}
    params["email"] = "a@example.org"
    if key:
        params["api_key"] = key
    expected = Entrez._build_request("https://example.org/efetch.fcgi", dict(params)).method
    assert eutils_method(params) == expected


def test_each_thread_sends_through_its_own_session(replay: Replay) -> None:
    """A run's fetch-ahead thread and the storing thread share one transport, never one
    ``requests.Session`` (not documented as thread-safe): each thread gets its own, with the
    transport's headers, and closing the transport closes them all."""
    from concurrent.futures import ThreadPoolExecutor

    url = replay.url("europepmc") + "search"
    with HttpTransport(
        policy=RetryPolicy(attempts=1), limiter=RateLimiter(100), headers={"User-Agent": "scoping-test"}
    ) as http:
        here = http.get("a page", url, {"query": "x"})
        with ThreadPoolExecutor(max_workers=1) as pool:
            there, other = pool.submit(
                lambda: (http.get("a page", url, {"query": "x"}), http.session)
            ).result()
        assert here == there and b'"hitCount": 3' in here
        assert other is not http.session and http.session is http.session
        assert {s.headers["User-Agent"] for s in (other, http.session)} == {"scoping-test"}
        sessions = [other, http.session]
        assert _open_pools(http.session) > 0  # open until the transport is closed
    assert [_open_pools(s) for s in sessions] == [0, 0]


def _open_pools(session: Any) -> int:
    from requests.adapters import HTTPAdapter

    return sum(len(a.poolmanager.pools) for a in session.adapters.values() if isinstance(a, HTTPAdapter))
