"""Settings of searches: e-mail, API keys, API base URLs, page sizes, rate limits, retries.

Values come from the environment first, then the strategy's ``[search]`` table, then defaults:

==========================  ==========================  =====================================
environment                 ``[search]`` key            meaning
==========================  ==========================  =====================================
``SCOPING_EMAIL``           ``email``                   sent to NCBI (required) and Crossref
``NCBI_API_KEY``            ``ncbi_api_key``            PubMed: 10 instead of 3 requests/s
``OPENALEX_API_KEY``        ``openalex_api_key``        OpenAlex API key
``SCOPING_PUBMED_URL``      --                          E-utilities base URL
``SCOPING_EUROPEPMC_URL``   --                          Europe PMC REST base URL
``SCOPING_OPENALEX_URL``    --                          OpenAlex base URL
``SCOPING_CROSSREF_URL``    --                          Crossref base URL
``SCOPING_PUBMED_BATCH``    ``pubmed_batch``            PubMed records per efetch (500)
``SCOPING_PUBMED_CAP``      ``pubmed_cap``              records one PubMed query can page
                                                        through (10,000): larger result sets
                                                        are split by publication date
``SCOPING_PAGE_SIZE``       ``page_size``               records per page of the JSON APIs
``SCOPING_PARSE_WORKERS``   --                          processes parsing PubMed pages (one per core, up to 4)
==========================  ==========================  =====================================

Keys in the file are allowed but belong in the environment: strategy files are shared.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scoping.errors import ConfigError
from scoping.search.strategy import Strategy
from scoping.search.translate import DEFAULT_URLS
from scoping.search.transport import RetryPolicy
from scoping.spawn import parse_workers

__all__ = ["PAGE_SIZES", "RATES", "SearchConfig"]

RATES: dict[str, float] = {"pubmed": 3.0, "europepmc": 10.0, "openalex": 10.0, "crossref": 5.0}
"""Requests per second each API allows (PubMed: 10 with an API key)."""

PAGE_SIZES: dict[str, int] = {"europepmc": 1000, "openalex": 200, "crossref": 1000}
"""The largest page each JSON API serves."""


def _int(name: str, value: object, minimum: int = 1) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {number}")
    return number


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """Everything a search run needs besides the strategy."""

    email: str | None = None
    ncbi_api_key: str | None = None
    openalex_api_key: str | None = None
    urls: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_URLS))
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pubmed_batch: int = 500
    pubmed_cap: int = 10_000
    page_size: int | None = None
    """Records per page for Europe PMC, OpenAlex and Crossref (``None``: each API's largest)."""
    rates: Mapping[str, float] = field(default_factory=lambda: dict(RATES))
    parse_workers: int = field(default_factory=parse_workers)
    """Worker processes that parse PubMed pages of long runs beside the process that stores
    them (0: parse in the storing process)."""

    @classmethod
    def load(cls, strategy: Strategy | None = None, environ: Mapping[str, str] | None = None) -> SearchConfig:
        env = os.environ if environ is None else environ
        settings: Mapping[str, Any] = strategy.settings if strategy is not None else {}

        def pick(env_name: str, key: str | None) -> Any:
            value = env.get(env_name)
            if value is not None and value.strip():
                return value.strip()
            return settings.get(key) if key else None

        urls = dict(DEFAULT_URLS)
        for platform in urls:
            override = env.get(f"SCOPING_{platform.upper()}_URL")
            if override:
                urls[platform] = override if override.endswith("/") else override + "/"
        email = pick("SCOPING_EMAIL", "email")
        if email is not None and "@" not in str(email):
            raise ConfigError(f"SCOPING_EMAIL={email!r} is not an e-mail address")
        ncbi_key = pick("NCBI_API_KEY", "ncbi_api_key")
        rates = dict(RATES)
        if ncbi_key:
            rates["pubmed"] = 10.0
        batch = pick("SCOPING_PUBMED_BATCH", "pubmed_batch")
        cap = pick("SCOPING_PUBMED_CAP", "pubmed_cap")
        page_size = pick("SCOPING_PAGE_SIZE", "page_size")
        return cls(
            email=str(email) if email else None,
            ncbi_api_key=str(ncbi_key) if ncbi_key else None,
            openalex_api_key=(str(k) if (k := pick("OPENALEX_API_KEY", "openalex_api_key")) else None),
            urls=urls,
            policy=RetryPolicy.from_env(),
            pubmed_batch=_int("pubmed_batch", batch) if batch is not None else 500,
            pubmed_cap=_int("pubmed_cap", cap) if cap is not None else 10_000,
            page_size=_int("page_size", page_size) if page_size is not None else None,
            rates=rates,
            parse_workers=parse_workers(env),
        )
