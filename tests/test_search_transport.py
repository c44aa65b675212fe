"""Rate limiting, backoff and error handling of the HTTP layer, against the local replay server."""

from __future__ import annotations

import itertools
import time
import urllib.request

import pytest

from replay_server import Replay
from scoping.errors import NetworkError
from scoping.search.transport import (
    ENTREZ_URL,
    EntrezTransport,
    HTTPStatusError,
    HttpTransport,
    QuotaExceeded,
    RateLimiter,
    RetryPolicy,
    Stats,
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


def test_bio_entrez_is_routed_to_the_configured_server(replay: Replay) -> None:
    from Bio import Entrez

    transport = EntrezTransport(
        base_url=replay.url("pubmed"), policy=RetryPolicy(attempts=1), limiter=RateLimiter(100)
    )
    data = transport.call(
        "esearch",
        Entrez.esearch,
        db="pubmed",
        term="x",
        retmax=5,
        email="tests@example.org",
        api_key="k",
        tool="scoping",
    )
    assert b"<Count>3</Count>" in data
    assert replay.log[0].path == "/entrez/eutils/esearch.fcgi"
    assert replay.log[0].params["tool"] == ["scoping"]
    assert Entrez.max_tries == 3  # Bio.Entrez's own setting is left as it was
    # other URLs go where they were sent
    request = urllib.request.Request(replay.url("europepmc") + "search?query=x")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    assert ENTREZ_URL.startswith("https://eutils.ncbi.nlm.nih.gov/")
