"""PRISMA 2020's previous and new arms from the store's update searches: searches run against the
replay server (as in test_search_update.py), de-duplicated by the dedupe stage, and the counts
derived from the store; every record is counted in exactly one arm, never twice."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay_server import Replay, serving
from scoping import open_review
from scoping.errors import ConfigError
from scoping.report.facts import prisma_facts
from scoping.report.prisma import (
    derive_counts,
    from_dict,
    parse_manual,
    to_dict,
    to_json,
    to_prisma2020_csv,
)
from scoping.review import Review, init_review
from scoping.search import RetryPolicy, SearchConfig, load_strategy, run_search, update_arms
from scoping.store import Store

REPO = Path(__file__).resolve().parent.parent
RECORDS = {"europepmc": "europepmc_records", "crossref": "crossref_records", "openalex": "openalex_records"}
NAMES = {"europepmc": "Europe PMC", "crossref": "Crossref", "openalex": "OpenAlex"}


def new_review(root: Path) -> Review:
    rv = init_review(root / "review")
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


def search(rv: Review, platform: str, size: int, *, update: bool = False, entered: int = 0) -> int:
    """One search of ``platform`` whose database holds ``size`` records; an update search lists
    those entered after the first ``entered``. Returns the records it stored."""
    strategy = load_strategy(rv.strategy_path)
    options: dict[str, Any] = {RECORDS[platform]: size}
    if update:
        options["entered"] = {platform: entered}
    with serving(**options) as replay, rv.open_store() as store:
        result = run_search(
            rv, strategy, platform, store=store, config=config(replay), update=update, new=not update
        )
    return result.stored


def none(_store: Store) -> None:
    return None


def counts_of(rv: Review, **providers: Any) -> Any:
    with rv.open_store() as store:
        facts = prisma_facts(store, topics=none, **({"screening": none} | providers))
    return derive_counts(facts)


@pytest.fixture
def updated(tmp_path: Path) -> Review:
    """Europe PMC (12 records) and Crossref (10) searched; then both searched for an update:
    Europe PMC lists 5 records it already gave and 6 new, Crossref 4 new."""
    rv = new_review(tmp_path)
    search(rv, "europepmc", 12)
    search(rv, "crossref", 10)
    assert search(rv, "europepmc", 18, update=True, entered=7) == 6
    assert search(rv, "crossref", 14, update=True, entered=10) == 4
    return rv


def test_identification_counts_the_new_arm_and_the_previous_arm_is_derived(
    updated: Review, tmp_path: Path
) -> None:
    # a database searched by hand for the update, whose export holds the Europe PMC records
    # the previous search found: all of them duplicates of the previous searches
    review = open_review(updated.root)
    export = tmp_path / "hand.ris"
    assert review.export(export, "ris", source="Europe PMC") == 18
    review.import_files([export], source="Hand DB")
    review.dedupe()
    counts = counts_of(updated)
    lines = {line.name: line.n for line in counts.identification.databases}
    assert lines == {"Europe PMC": 6, "Crossref": 4, "Hand DB": 18}
    assert counts.update is not None
    assert {line.name: line.n for line in counts.update.previous_databases} == {
        "Europe PMC": 12,
        "Crossref": 10,
    }
    assert counts.update.previous_records.n == 22
    assert counts.update.found_again.n == 5
    with updated.open_store() as store:
        stored = store.count_records()
        _, arms = update_arms(store)
    assert counts.identification.records_identified.n + counts.update.previous_records.n == stored == 50
    assert {a.database: (a.previous, a.new) for a in arms} == {
        "Europe PMC": (12, 6),
        "Crossref": (10, 4),
        "Hand DB": (0, 18),
    }
    # the export's 12 records of works the previous search found are removed as duplicates of
    # the previous searches; its 6 copies of new records as duplicates among the new ones
    assert counts.update.duplicates_of_previous.n == 12
    assert counts.identification.duplicates_removed.n == 6
    # the new records are either duplicates (of the previous searches, or among themselves)
    # or new works to screen
    works = open_review(updated.root).works()
    new = counts.identification.records_identified.n
    removed = counts.identification.duplicates_removed.n + counts.update.duplicates_of_previous.n
    assert removed >= 0 and counts.identification.duplicates_removed.n >= 0
    with updated.open_store() as store:
        facts = prisma_facts(store, topics=none, screening=none)
    assert facts.update is not None
    assert new - removed == facts.update.new_works
    assert facts.update.new_works + len(facts.update.previous_works) == len(works)
    # the previous version was not screened here: its studies are not known, and said so
    assert counts.previous is not None and counts.previous.studies.n is None
    assert "prisma-manual.toml" in (counts.previous.studies.note or "")


def test_previous_studies_come_from_the_store_when_screened_here_or_from_the_manual_file(
    updated: Review,
) -> None:
    open_review(updated.root).dedupe()
    with updated.open_store() as store:
        facts = prisma_facts(store, topics=none, screening=none)
    assert facts.update is not None
    previous = sorted(facts.update.previous_works)
    works = sorted(set(open_review(updated.root).works()["work_id"]))
    new = [w for w in works if w not in facts.update.previous_works]
    # the previous works all screened, 3 included; the new works all excluded at title-abstract
    rows = [(w, "title-abstract", "include" if k < 3 else "exclude", None) for k, w in enumerate(previous)]
    rows += [(w, "full-text", "include", None) for w in previous[:3]]
    rows += [(w, "title-abstract", "exclude", None) for w in new]
    counts = counts_of(updated, screening=lambda _s: rows)
    assert counts.previous is not None
    assert (counts.previous.studies.n, counts.previous.studies.source) == (3, "store")
    assert counts.screening.records_screened.n == len(new)
    assert counts.included.studies.n == 0
    assert counts.previous.total_studies.n == 3
    failed = [c.message for c in counts.checks if not c.ok]
    assert failed == []
    ident = next(c for c in counts.checks if c.id == "identification")
    assert "update.duplicates_of_previous" in ident.keys
    # the manual file's previous counts win over the store's
    with updated.open_store() as store:
        facts = prisma_facts(store, topics=none, screening=lambda _s: rows)
    manual = derive_counts(facts, parse_manual("[previous]\nstudies = 40\nreports = 44\n"))
    assert manual.previous is not None
    assert (manual.previous.studies.n, manual.previous.studies.source) == (40, "manual")
    assert manual.previous.total_reports.n == 44


def test_the_json_holds_the_arms_and_reads_back(updated: Review, tmp_path: Path) -> None:
    review = open_review(updated.root)
    review.export(tmp_path / "hand.ris", "ris", source="Europe PMC")
    review.import_files([tmp_path / "hand.ris"], source="Hand DB")
    review.dedupe()
    counts = counts_of(updated)
    data = json.loads(to_json(counts))
    assert data["update"]["since"] and data["update"]["previous_records"]["n"] == 22
    assert [d["name"] for d in data["update"]["previous_databases"]] == ["Crossref", "Europe PMC"]
    assert to_json(from_dict(to_dict(counts))) == to_json(counts)
    # the PRISMA2020 R package's CSV has one box of duplicates: both kinds are in it
    rows = {row[0]: row[-1] for row in csv.reader(io.StringIO(to_prisma2020_csv(counts)))}
    assert counts.update is not None and counts.update.duplicates_of_previous.n == 12
    assert rows["duplicates"] == str(
        counts.identification.duplicates_removed.n + counts.update.duplicates_of_previous.n
    )
    assert rows["database_results"] == str(counts.identification.records_identified.n)
    with pytest.raises(ConfigError, match=r"\[update\] is derived from the search log"):
        parse_manual("[update]\nfound_again = 3\n")


def test_without_an_update_search_nothing_changes(tmp_path: Path) -> None:
    rv = new_review(tmp_path)
    search(rv, "europepmc", 12)
    search(rv, "crossref", 10)
    open_review(rv.root).dedupe()
    counts = counts_of(rv)
    assert counts.update is None and counts.previous is None
    assert {line.name: line.n for line in counts.identification.databases} == {
        "Europe PMC": 12,
        "Crossref": 10,
    }


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["europepmc", "crossref"]),
            st.booleans(),  # an update search (else a plain search of the whole database)
            st.integers(0, 8),  # records the database gained since its last search
            st.integers(0, 6),  # records an update lists that the store already holds
        ),
        min_size=1,
        max_size=5,
    )
)
def test_records_identified_are_the_previous_plus_the_new_arm(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, bool, int, int]]
) -> None:
    """Over any sequence of searches and update searches: the records identified (new arm) and
    the previous arm add up to the records stored, per database; no record is counted twice;
    the new arm holds exactly what the searches from the first update on stored."""
    rv = new_review(tmp_path_factory.mktemp("arms"))
    size = {"europepmc": 0, "crossref": 0}
    searched: set[str] = set()
    updating = False
    stored_new = {"europepmc": 0, "crossref": 0}
    for platform, update, added, overlap in steps:
        update = update and platform in searched  # an update needs an earlier search
        before = size[platform]
        size[platform] += added
        if update:
            updating = True
        stored = search(rv, platform, size[platform], update=update, entered=max(0, before - overlap))
        searched.add(platform)
        if updating:
            stored_new[platform] += stored
    counts = counts_of(rv)
    with rv.open_store() as store:
        per_source = {NAMES[p]: store.count_records(source=NAMES[p]) for p in searched}
        ids = [(s.source, s.record.source_id) for s in store.iter_records()]
    assert len(ids) == len(set(ids)) == sum(per_source.values()) == sum(size[p] for p in searched)
    new = {line.name: line.n for line in counts.identification.databases}
    if not updating:
        assert counts.update is None
        assert new == per_source
        return
    assert counts.update is not None
    previous = {line.name: line.n for line in counts.update.previous_databases}
    for name, n in per_source.items():
        assert new.get(name, 0) + previous.get(name, 0) == n
    assert new == {NAMES[p]: stored_new[p] for p in searched}
    assert counts.identification.records_identified.n + counts.update.previous_records.n == len(ids)


def test_blinded_counts_say_why_the_previous_studies_are_left_out(updated: Review) -> None:
    open_review(updated.root).dedupe()
    with updated.open_store() as store:
        facts = prisma_facts(store, topics=none, blinded=True)
    counts = derive_counts(facts)
    assert counts.previous is not None and counts.previous.studies.n is None
    assert "blinding" in (counts.previous.studies.note or "")
    assert counts.update is not None and counts.update.previous_records.n == 22
