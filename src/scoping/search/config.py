"""Settings of searches: e-mail, API keys, API base URLs, page sizes, rate limits, retries.

Values come from the environment first, then the strategy's ``[search]`` table, then defaults:

==========================  ==========================  =====================================
environment                 ``[search]`` key            meaning
==========================  ==========================  =====================================
``SCOPING_EMAIL``           ``email``                   sent to NCBI (required) and Crossref
``NCBI_API_KEY``            --                          PubMed: 10 instead of 3 requests/s
``OPENALEX_API_KEY``        --                          OpenAlex API key (required since
                                                        13 February 2026; free)
``SCOPING_PUBMED_URL``      --                          E-utilities base URL
``SCOPING_EUROPEPMC_URL``   --                          Europe PMC REST base URL
``SCOPING_OPENALEX_URL``    --                          OpenAlex base URL
``SCOPING_CROSSREF_URL``    --                          Crossref base URL
``SCOPING_PUBMED_BATCH``    ``pubmed_batch``            PubMed records per efetch (500)
``SCOPING_PUBMED_CAP``      ``pubmed_cap``              PMIDs one PubMed esearch lists
                                                        (9,999, the E-utilities limit):
                                                        larger result sets are split by
                                                        publication date
``SCOPING_PAGE_SIZE``       ``page_size``               records per page of the JSON APIs
==========================  ==========================  =====================================

``SCOPING_PARSE_WORKERS`` (processes parsing PubMed pages of a long run, one per core up to 4)
is read by the ``scoping`` command, not here: the library parses in the calling process
unless its caller sets :attr:`SearchConfig.parse_workers` (see :mod:`scoping.spawn`).

API keys (and the e-mail address) can also be kept in a configuration file of the user,
outside every review folder: ``$SCOPING_CONFIG``, else ``$XDG_CONFIG_HOME/scoping/config.toml``,
else ``~/.config/scoping/config.toml``::

    email = "you@example.org"
    [keys]
    ncbi = "..."
    openalex = "..."

The environment wins over the file. Keys are refused in ``strategy.toml`` (it is shared with the
review) and in a configuration file inside the review folder; they are sent with the requests
and never written to a run folder, the store or a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoping.errors import ConfigError
from scoping.files import read_toml
from scoping.search.redact import register
from scoping.search.strategy import Strategy
from scoping.search.translate import DEFAULT_URLS
from scoping.search.transport import RetryPolicy

__all__ = ["PAGE_SIZES", "PUBMED_CAP", "RATES", "SearchConfig", "user_config_path"]

PUBMED_CAP = 9_999
"""PMIDs one esearch lists at most: PubMed returns 9,999 even for ``retmax=10000`` (Biopython
issue 4353), so a query (or date slice) with 10,000 hits must be split."""

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
    ncbi_api_key: str | None = field(default=None, repr=False)
    openalex_api_key: str | None = field(default=None, repr=False)
    urls: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_URLS))
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pubmed_batch: int = 500
    pubmed_cap: int = PUBMED_CAP
    page_size: int | None = None
    """Records per page for Europe PMC, OpenAlex and Crossref (``None``: each API's largest)."""
    rates: Mapping[str, float] = field(default_factory=lambda: dict(RATES))
    parse_workers: int = 0
    """Worker processes that parse PubMed pages of long runs beside the process that stores
    them (0: parse in the storing process). A script that sets it must keep its work under
    ``if __name__ == "__main__":`` (see :mod:`scoping.spawn`)."""

    def __post_init__(self) -> None:
        # hidden from every message from here on (an error answer may repeat them)
        register(self.email, self.ncbi_api_key, self.openalex_api_key)

    @classmethod
    def load(cls, strategy: Strategy | None = None, environ: Mapping[str, str] | None = None) -> SearchConfig:
        env = os.environ if environ is None else environ
        settings: Mapping[str, Any] = strategy.settings if strategy is not None else {}
        user = _read_user_config(env, strategy)

        def pick(env_name: str, key: str | None, user_key: str | None = None) -> Any:
            value = env.get(env_name)
            if value is not None and value.strip():
                return value.strip()
            if key and settings.get(key) is not None:
                return settings.get(key)
            return user.get(user_key) if user_key else None

        urls = dict(DEFAULT_URLS)
        for platform in urls:
            override = env.get(f"SCOPING_{platform.upper()}_URL")
            if override:
                urls[platform] = override if override.endswith("/") else override + "/"
        email = pick("SCOPING_EMAIL", "email", "email")
        if email is not None and "@" not in str(email):
            raise ConfigError(f"SCOPING_EMAIL={email!r} is not an e-mail address")
        ncbi_key = pick("NCBI_API_KEY", None, "ncbi")
        rates = dict(RATES)
        if ncbi_key:
            rates["pubmed"] = 10.0
        batch = pick("SCOPING_PUBMED_BATCH", "pubmed_batch")
        cap = pick("SCOPING_PUBMED_CAP", "pubmed_cap")
        if cap is not None and _int("pubmed_cap", cap) > PUBMED_CAP:
            raise ConfigError(
                f"pubmed_cap {cap} is more than the {PUBMED_CAP:,} PMIDs one PubMed search lists; "
                "leave it out"
            )
        page_size = pick("SCOPING_PAGE_SIZE", "page_size")
        openalex_key = pick("OPENALEX_API_KEY", None, "openalex")
        return cls(
            email=str(email) if email else None,
            ncbi_api_key=str(ncbi_key) if ncbi_key else None,
            openalex_api_key=str(openalex_key) if openalex_key else None,
            urls=urls,
            policy=RetryPolicy.from_env(),
            pubmed_batch=_int("pubmed_batch", batch) if batch is not None else 500,
            pubmed_cap=_int("pubmed_cap", cap) if cap is not None else PUBMED_CAP,
            page_size=_int("page_size", page_size) if page_size is not None else None,
            rates=rates,
        )


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user's configuration file (e-mail, API keys) is looked for."""
    env = os.environ if environ is None else environ
    if env.get("SCOPING_CONFIG"):
        return Path(env["SCOPING_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "scoping" / "config.toml"


def _read_user_config(env: Mapping[str, str], strategy: Strategy | None) -> dict[str, str]:
    """``email`` and ``[keys]`` of the user's configuration file (``{}`` when there is none)."""
    path = user_config_path(env)
    if not path.is_file():
        if env.get("SCOPING_CONFIG"):
            raise ConfigError(f"SCOPING_CONFIG names {path}, which does not exist")
        return {}
    if strategy is not None and strategy.path:
        review = Path(strategy.path).resolve().parent.parent
        if path.resolve().is_relative_to(review):
            raise ConfigError(
                f"{path} holds API keys but is inside the review folder {review}, which is shared; "
                "move it to ~/.config/scoping/config.toml"
            )
    data = read_toml(path, what="your scoping configuration")
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or set(keys) - {"ncbi", "openalex"} or set(data) - {"email", "keys"}:
        raise ConfigError(f'{path}: write email = "..." and a [keys] table with ncbi and/or openalex')
    out = {name: str(value).strip() for name, value in keys.items() if str(value).strip()}
    if data.get("email"):
        out["email"] = str(data["email"]).strip()
    return out
