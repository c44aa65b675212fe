"""Live searches against the real APIs (marked ``network``; deselected by default).

Run with ``pytest -m network tests/test_search_live.py``. PubMed tests need ``SCOPING_EMAIL``
(NCBI asks for an address with every request); ``NCBI_API_KEY`` and ``OPENALEX_API_KEY`` are
used when set. Nothing here is checked against fixed numbers: the databases grow.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from scoping.review import init_review
from scoping.search import SearchConfig, load_strategy, parse_strategy, run_search, term_counts

pytestmark = pytest.mark.network

REPO = Path(__file__).resolve().parent.parent

SMALL = """
[[block]]
name = "Peer support"
terms = ["peer support worker*"]
fields = ["title"]

[[block]]
name = "Mental health"
terms = ["mental health"]
fields = ["title"]

[limits]
from_year = 2020
to_year = 2020
languages = ["English"]
"""


HOSTS = {
    "pubmed": "eutils.ncbi.nlm.nih.gov",
    "europepmc": "www.ebi.ac.uk",
    "openalex": "api.openalex.org",
    "crossref": "api.crossref.org",
}


def reachable(database: str) -> None:
    """Skip when offline (the host does not resolve or refuses)."""
    try:
        with socket.create_connection((HOSTS[database], 443), timeout=5):
            pass
    except OSError as exc:
        pytest.skip(f"{HOSTS[database]} is unreachable ({exc}); offline?")


def live_config() -> SearchConfig:
    for name in (
        "SCOPING_PUBMED_URL",
        "SCOPING_EUROPEPMC_URL",
        "SCOPING_OPENALEX_URL",
        "SCOPING_CROSSREF_URL",
    ):
        if os.environ.get(name):
            pytest.skip(f"{name} points somewhere else than the real API")
    return SearchConfig.load(parse_strategy(SMALL))


def needs_email(config: SearchConfig) -> None:
    if not config.email:
        pytest.skip("set SCOPING_EMAIL to search PubMed (NCBI's usage policy)")


@pytest.mark.parametrize("database", ["pubmed", "europepmc", "openalex"])
def test_counts_of_the_worked_example(database: str) -> None:
    config = live_config()
    if database == "pubmed":
        needs_email(config)
    reachable(database)
    strategy = load_strategy(REPO / "searches" / "strategy.toml")
    counts = term_counts(strategy, database, config=config)
    full = counts[-1]
    assert full.block is None and full.alone > 100
    for c in counts[:-1]:
        assert c.alone >= 0
        if c.combined is not None:
            assert c.combined <= c.alone
    blocks = {c.block: c.alone for c in counts if c.block and c.term is None}
    assert all(n >= full.alone for n in blocks.values())


@pytest.mark.parametrize("database", ["pubmed", "europepmc", "openalex", "crossref"])
def test_small_run(tmp_path: Path, database: str) -> None:
    config = live_config()
    if database == "pubmed":
        needs_email(config)
    reachable(database)
    review = init_review(tmp_path / "review")
    text = (
        SMALL + '\n[databases]\nCrossref = { platform = "crossref", max_records = 40, '
        'ignore_limits = ["languages"] }\n'
    )
    review.strategy_path.write_text(text, encoding="utf-8")
    strategy = load_strategy(review.strategy_path)
    with review.open_store() as store:
        result = run_search(review, strategy, database, store=store, config=config)
        run = result.run
        assert run.status == "complete"
        assert run.hit_count is not None and run.hit_count > 0
        if database != "crossref":
            assert run.retrieved == run.hit_count
        ids = [s.record.source_id for s in store.iter_records()]
        assert len(ids) == len(set(ids)) == run.retrieved
    assert any((review.root / run.folder / "pages").iterdir())
    shutil.rmtree(tmp_path, ignore_errors=True)
