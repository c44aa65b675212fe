"""Hit counts of every term and block, live, so a reviewer can see which terms contribute.

For each term (and each block as a whole) two counts: the term alone with the limits, and the
term in place of its block in the full strategy (what it adds to the final result set); and
for each term of a block with several, the records of the full strategy only it finds (the
full count minus the count without it: 0 means the other terms find all it finds). The last
row is the full strategy. Counting needs one request per number, under the service's rate
limit; only APIs with Boolean search can count (PubMed, Europe PMC, OpenAlex).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from scoping.errors import UsageError
from scoping.search import responses
from scoping.search.config import SearchConfig
from scoping.search.platforms import PLATFORMS
from scoping.search.strategy import Database, Strategy
from scoping.search.translate import Query, term_queries, translate
from scoping.search.transport import EUtils, HttpTransport, RateLimiter, Stats

__all__ = ["COUNTABLE", "TermCount", "term_counts"]

COUNTABLE = ("pubmed", "europepmc", "openalex")


@dataclass(frozen=True, slots=True)
class TermCount:
    database: str
    block: str | None
    """``None`` for the full strategy."""
    term: str | None
    """``None`` for a whole block (or the full strategy)."""
    alone: int
    combined: int | None
    """The term in place of its block in the full strategy; ``None`` with a single block."""
    only: int | None = None
    """Records of the full strategy that only this term finds (the full count minus the count
    without it); ``None`` for a block, or a block's only term."""


class _Counter:
    def __init__(self, db: Database, config: SearchConfig) -> None:
        self.db = db
        self.config = config
        self.stats = Stats()
        limiter = RateLimiter(config.rates[db.platform])
        self.http: HttpTransport | None = None
        self.eutils: EUtils | None = None
        if db.platform == "pubmed":
            self.eutils = EUtils(
                base_url=config.urls["pubmed"],
                policy=config.policy,
                limiter=limiter,
                stats=self.stats,
                email=config.email,
                api_key=config.ncbi_api_key,
            )
        else:
            from scoping.search.runner import openalex_quota

            quota = openalex_quota(bool(config.openalex_api_key)) if db.platform == "openalex" else None
            self.http = HttpTransport(policy=config.policy, limiter=limiter, stats=self.stats, quota=quota)

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.eutils is not None:
            self.eutils.close()

    def count(self, query: Query) -> int:
        what = f"{PLATFORMS[self.db.platform].label} count"
        if self.eutils is not None:
            data = self.eutils.call(what, "esearch", db="pubmed", term=query.params["term"], retmax=0)
            return self._parse(lambda: responses.parse_esearch(data, what).count)
        assert self.http is not None
        base = self.config.urls[self.db.platform]
        if self.db.platform == "europepmc":
            data = self.http.get(
                what,
                base + "search",
                {**query.params, "format": "json", "resultType": "idlist", "pageSize": 1, "synonym": "false"},
            )
            return self._parse(lambda: responses.parse_europepmc(data, what).hit_count)
        extra: dict[str, Any] = {"per-page": 1, "select": "id"}
        if self.config.openalex_api_key:
            extra["api_key"] = self.config.openalex_api_key
        data = self.http.get(what, base + "works", {**query.params, **extra})
        return self._parse(lambda: responses.parse_openalex(data, what).hit_count)

    @staticmethod
    def _parse(read: Callable[[], int]) -> int:
        from scoping.errors import NetworkError

        try:
            return read()
        except responses.MalformedResponse as exc:
            raise NetworkError(str(exc)) from None


def term_counts(
    strategy: Strategy,
    database: str | Database,
    *,
    config: SearchConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[TermCount]:
    """Count every term and block of ``strategy`` in one API database (live requests)."""
    config = config or SearchConfig.load(strategy)
    db = strategy.database(database) if isinstance(database, str) else database
    if db.platform not in COUNTABLE:
        raise UsageError(
            f"{db.name} ({PLATFORMS[db.platform].label}) cannot count terms: counts "
            f"need a Boolean search API ({', '.join(COUNTABLE)})"
        )
    if db.platform == "pubmed" and not config.email:
        from scoping.errors import ConfigError

        raise ConfigError(
            "PubMed needs an e-mail address (NCBI's usage policy): set SCOPING_EMAIL "
            "or email in the [search] table of searches/strategy.toml"
        )
    if db.platform == "openalex" and not config.openalex_api_key:
        from scoping.errors import ConfigError
        from scoping.search.runner import NO_OPENALEX_KEY

        raise ConfigError(NO_OPENALEX_KEY)
    queries = term_queries(strategy, db)
    total = sum(1 + (q.combined is not None) + (q.without is not None) for q in queries) + 1
    done = 0
    counter = _Counter(db, config)
    out: list[TermCount] = []
    withouts: list[int | None] = []
    try:
        for tq in queries:
            alone = counter.count(tq.alone)
            done += 1
            combined = None
            if tq.combined is not None:
                combined = counter.count(tq.combined)
                done += 1
            without = None
            if tq.without is not None:
                without = counter.count(tq.without)
                done += 1
            withouts.append(without)
            if progress is not None:
                progress(done, total)
            out.append(TermCount(db.name, tq.block, tq.term, alone, combined))
        full = counter.count(translate(strategy, db))
        out = [
            replace(c, only=None if w is None else max(full - w, 0))
            for c, w in zip(out, withouts, strict=True)
        ]
        out.append(TermCount(db.name, None, None, full, full))
        if progress is not None:
            progress(total, total)
    finally:
        counter.close()
    return out
