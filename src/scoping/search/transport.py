"""Talking to the APIs: rate limits, retries with backoff, and the one HTTP client.

Every request goes through :func:`fetch`, which waits for its turn at the service's
:class:`RateLimiter`, sends, and retries what is worth retrying (HTTP 429 and 5xx, timeouts,
refused or dropped connections, a truncated body) with exponential backoff, honouring
``Retry-After`` in full (not capped by ``max_delay``). Anything else (a 400 for a bad query,
say) fails at once, and so does a server that asks to wait longer than ``max_retry_after``
(five minutes; ``Retry-After: 3600``) or an answer the
caller's ``quota`` check recognises as a used-up quota (OpenAlex's daily credits): waiting a
minute and asking again cannot help, so the error says how long to wait instead. When the
attempts run out the error is a :class:`~scoping.errors.NetworkError` that says what failed and
how often.

All four APIs go through :class:`HttpTransport` (``requests``); PubMed's E-utilities through
:class:`EUtils`, which adds NCBI's ``tool``/``email``/``api_key`` parameters and sends long
requests as POST, at the configured base URL (``SCOPING_PUBMED_URL``, e.g. a local test
server). Nothing here changes process-wide state.

Settings from the environment (all optional): ``SCOPING_HTTP_RETRIES`` (attempts per request,
default 6), ``SCOPING_HTTP_BACKOFF`` (first wait in seconds, default 1, doubling up to
``SCOPING_HTTP_MAX_DELAY``, default 60), ``SCOPING_HTTP_MAX_RETRY_AFTER`` (the longest
``Retry-After`` waited for, default 300), ``SCOPING_HTTP_TIMEOUT`` (seconds, default 120).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import requests

from scoping.errors import ConfigError, NetworkError
from scoping.search.redact import scrub

__all__ = [
    "POST_IDS",
    "POST_LENGTH",
    "EUtils",
    "HTTPStatusError",
    "HttpTransport",
    "QuotaExceeded",
    "RateLimiter",
    "RetryPolicy",
    "Stats",
    "Transient",
    "eutils_method",
    "fetch",
]


class QuotaExceeded(NetworkError):
    """The service refuses further requests for longer than a retry should wait (a daily quota
    used up, ``Retry-After`` beyond ``max_delay``): not retried."""


class Transient(Exception):
    """A failure worth retrying (HTTP 429/5xx, timeout, dropped connection, truncated body)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _env_number(name: str, default: float, *, minimum: float = 0.0) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={text!r} must be at least {minimum:g}")
    return value


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry one request."""

    attempts: int = 6
    backoff: float = 1.0
    """Wait before the second attempt, in seconds; doubled for each further attempt."""
    max_delay: float = 60.0
    timeout: float = 120.0
    """Seconds to wait for a connection or for data before giving up on an attempt."""
    jitter: float = 0.1
    """Each wait is stretched by up to this fraction at random, so clients do not retry in step."""
    max_retry_after: float = 300.0
    """The longest ``Retry-After`` waited for; a server asking for more stops the request."""

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            attempts=int(_env_number("SCOPING_HTTP_RETRIES", 6, minimum=1)),
            backoff=_env_number("SCOPING_HTTP_BACKOFF", 1.0),
            max_delay=_env_number("SCOPING_HTTP_MAX_DELAY", 60.0),
            timeout=_env_number("SCOPING_HTTP_TIMEOUT", 120.0, minimum=0.001),
            max_retry_after=_env_number("SCOPING_HTTP_MAX_RETRY_AFTER", 300.0),
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        wait = min(self.max_delay, self.backoff * (2 ** (attempt - 1)))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        if self.jitter and wait:
            wait *= 1 + random.random() * self.jitter
        return wait


class RateLimiter:
    """At most ``per_second`` request starts per second, evenly spaced, shared by threads.

    Each start is spaced from the moment the previous one actually went (a thread that woke
    late, waiting for the interpreter, moves the next start back rather than squeezing the gap
    after it), and the interval carries a small ``margin`` so that a server counting requests
    in any one-second window does not see one too many when a request reaches it late.
    """

    def __init__(self, per_second: float, *, margin: float = 0.03) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self.interval = (1.0 / per_second) * (1.0 + margin)
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may start (one thread at a time)."""
        with self._lock:
            while True:
                now = time.monotonic()
                if now >= self._next:
                    self._next = now + self.interval
                    return
                time.sleep(self._next - now)

    def slow_to(self, per_second: float) -> None:
        """Lower the rate to ``per_second`` (a server announced its limit); never raise it."""
        if 0 < per_second < self.per_second:
            with self._lock:
                self.interval *= self.per_second / per_second
                self.per_second = per_second

    def hold(self, seconds: float) -> None:
        """No request starts for ``seconds`` (after a 429 with Retry-After)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


@dataclass(slots=True)
class Stats:
    """What the requests of a run cost."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    """Responses with HTTP 429."""
    failures: dict[str, int] = field(default_factory=dict)

    def failed(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


def fetch(
    what: str,
    send: Callable[[], bytes],
    *,
    limiter: RateLimiter,
    policy: RetryPolicy,
    stats: Stats | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Call ``send`` under the rate limit, retrying :class:`Transient` failures.

    ``what`` names the request in the error raised when every attempt failed.
    """
    stats = stats if stats is not None else Stats()
    started = time.monotonic()
    last: Transient | None = None
    for attempt in range(1, policy.attempts + 1):
        limiter.wait()
        stats.requests += 1
        try:
            return send()
        except Transient as exc:
            last = exc
            stats.failed(exc.reason)
            if exc.reason.startswith("HTTP 429"):
                stats.throttled += 1
            if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
                raise QuotaExceeded(
                    f"{what}: the server answered {exc.reason} and asks to wait "
                    f"{_duration(exc.retry_after)} (Retry-After), longer than scoping waits "
                    f"({_duration(policy.max_retry_after)}); run the search again after that"
                ) from None
            if attempt == policy.attempts:
                break
            wait = policy.delay(attempt, exc.retry_after)
            if exc.retry_after is not None:
                limiter.hold(wait)
            stats.retries += 1
            sleep(wait)
    assert last is not None
    elapsed = time.monotonic() - started
    raise NetworkError(f"{what} failed {policy.attempts} times over {elapsed:.1f} s, last with {last.reason}")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    text = scrub(" ".join(text.split()))  # a connection error names the URL, keys and all
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


class HTTPStatusError(NetworkError):
    """The server refused a request with an HTTP status that retrying cannot change (4xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _status_error(what: str, status: int, body: bytes) -> HTTPStatusError:
    # scrubbed before it is cut short, so that no part of a key is left at the cut
    detail = scrub(" ".join(body[: 1 << 16].decode("utf-8", "replace").split()))[:300]
    return HTTPStatusError(
        f"{what}: the server answered HTTP {status}"
        + (f": {detail}" if detail else "")
        + "; check the query with 'scoping search plan'",
        status,
    )


# -- requests ----------------------------------------------------------------------------------


class HttpTransport:
    """Requests with ``requests`` for every API (PubMed's E-utilities through :class:`EUtils`)."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        limiter: RateLimiter,
        stats: Stats | None = None,
        headers: Mapping[str, str] | None = None,
        quota: Callable[[int, Mapping[str, str], bytes], str | None] | None = None,
    ) -> None:
        """``quota(status, headers, body)`` may recognise an answer as a used-up quota and
        return what to tell the user; the request then fails at once with
        :class:`QuotaExceeded` instead of being retried."""
        self.policy = policy
        self.limiter = limiter
        self.stats = stats if stats is not None else Stats()
        self.headers = dict(headers or {})
        self.quota = quota
        # One requests.Session per thread: a run's fetch-ahead thread (runner._Prefetcher) and
        # the thread that stores both send requests through this transport, and requests does
        # not document a Session as safe to share between threads (its cookie jar, and the
        # redirect and auth handling that reads and writes the session's state). A session per
        # thread still reuses its own connections; a lock around one shared session would make
        # the fetch-ahead thread wait for the other's requests, which is what it is there to avoid.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """This thread's session (made on its first request)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's session."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, what: str, url: str, params: Mapping[str, Any]) -> bytes:
        """The body of a successful GET of ``url`` with ``params``, retried as needed."""
        return self._send("GET", what, url, params)

    def post(self, what: str, url: str, params: Mapping[str, Any]) -> bytes:
        """The body of a successful POST of ``params`` (form-encoded) to ``url``, retried as needed."""
        return self._send("POST", what, url, params)

    def _send(self, method: str, what: str, url: str, params: Mapping[str, Any]) -> bytes:
        query, form = (dict(params), None) if method == "GET" else (None, dict(params))

        def send() -> bytes:
            try:
                with self.session.request(
                    method, url, params=query, data=form, timeout=self.policy.timeout
                ) as resp:
                    status = resp.status_code
                    body = resp.content
                    headers = resp.headers
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                raise Transient(_describe(exc)) from exc
            if status >= 400 and self.quota is not None:
                explained = self.quota(status, headers, body)
                if explained is not None:
                    self.stats.failed(f"HTTP {status}")
                    raise QuotaExceeded(scrub(f"{what}: {explained}"))
            if status == 429 or status >= 500:
                raise Transient(f"HTTP {status}", _retry_after(headers.get("Retry-After")))
            if status >= 400:
                raise _status_error(what, status, body)
            self._follow_announced_limit(headers)
            return body

        return fetch(what, send, limiter=self.limiter, policy=self.policy, stats=self.stats)

    def _follow_announced_limit(self, headers: Mapping[str, str]) -> None:
        """Crossref announces its limit (``X-Rate-Limit-Limit: 50``, ``X-Rate-Limit-Interval: 1s``)."""
        limit, interval = headers.get("X-Rate-Limit-Limit"), headers.get("X-Rate-Limit-Interval")
        if not limit or not interval:
            return
        try:
            seconds = float(interval.strip().rstrip("s"))
            per_second = float(limit) / seconds
        except (ValueError, ZeroDivisionError):
            return
        self.limiter.slow_to(per_second)


# -- NCBI E-utilities ------------------------------------------------------------------------

POST_IDS = 200
"""From this many PMIDs in ``id`` on, a request is sent as a POST (NCBI's advice, Bio.Entrez's rule)."""
POST_LENGTH = 1000
"""Parameters longer than this, URL-encoded, are sent as a POST (E-utilities' advice)."""


def eutils_method(params: Mapping[str, Any]) -> str:
    """``"POST"`` for a long request (many PMIDs or a long query), else ``"GET"``."""
    if len(urlencode(params, doseq=True)) > POST_LENGTH:
        return "POST"
    ids = params.get("id")
    if isinstance(ids, str) and ids.count(",") + 1 >= POST_IDS:
        return "POST"
    return "GET"


class EUtils:
    """NCBI's E-utilities (``esearch.fcgi``, ``efetch.fcgi``) over :class:`HttpTransport`.

    Every request carries ``tool``, ``email`` and ``api_key`` (when set), as NCBI's usage
    policy asks; a request with 200 PMIDs or more, or parameters longer than 1,000 characters
    URL-encoded, is a POST (the key then travels in the body, never in a URL). Spacing follows
    the ``limiter`` (NCBI allows 3 requests a second, 10 with a key); retries, ``Retry-After``
    and the errors are those of :func:`fetch`, as for the other APIs.
    """

    def __init__(
        self,
        *,
        base_url: str,
        policy: RetryPolicy,
        limiter: RateLimiter,
        stats: Stats | None = None,
        email: str | None = None,
        api_key: str | None = None,
        tool: str = "scoping",
    ) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self.base_url = base_url
        self.identity: dict[str, str] = {"tool": tool}
        if email:
            self.identity["email"] = email
        if api_key:
            self.identity["api_key"] = api_key
        self.http = HttpTransport(
            policy=policy,
            limiter=limiter,
            stats=stats,
            headers={"User-Agent": "scoping (literature scoping reviews)"},
        )
        self.stats = self.http.stats

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EUtils:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, what: str, utility: str, **params: Any) -> bytes:
        """The body of ``utility`` (``"esearch"``, ``"efetch"``) called with ``params``."""
        values = {k: v for k, v in params.items() if v is not None} | self.identity
        url = f"{self.base_url}{utility}.fcgi"
        if eutils_method(values) == "POST":
            return self.http.post(what, url, values)
        return self.http.get(what, url, values)
