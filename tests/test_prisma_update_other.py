"""Other methods (citation searching, websites...) in an updated review: their records are split
into the previous and the new arm like the databases' records, each record in exactly one arm,
in prisma.json, prisma.csv and the diagram. Searches run against the replay server (as in
test_prisma_update.py); other-methods records are imported from small RIS files."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoping.cli.prisma_cmd  # noqa: F401  (registers the command)
from scoping import open_review
from scoping.cli import cli
from scoping.report.facts import prisma_facts
from scoping.report.prisma import Line, PrismaCounts, derive_counts, parse_manual, to_prisma2020_csv
from scoping.review import Review
from test_prisma_update import NAMES, new_review, none, search

MANUAL = '[sources]\ncitation_searching = ["Citation searching"]\nwebsites = ["WHO IRIS"]\n'
OTHERS = ("Citation searching", "WHO IRIS")
_serial = itertools.count()


def import_other(rv: Review, source: str, n: int) -> None:
    """Import ``n`` records found by an other method (each one a record no search gives)."""
    if n == 0:
        return
    lines = []
    for _ in range(n):
        k = next(_serial)
        lines += [
            "TY  - JOUR",
            f"TI  - A study found by hand number {k} on peer support {k * 7919 % 104729}",
            f"AU  - Hand{k}, A",
            "PY  - 2021",
            "ER  - ",
            "",
        ]
    path = rv.root / f"other-{next(_serial)}.ris"
    path.write_text("\n".join(lines), encoding="utf-8")
    open_review(rv.root).import_files([path], source=source)


def counts_of(rv: Review) -> PrismaCounts:
    with rv.open_store() as store:
        facts = prisma_facts(store, topics=none, screening=none, other_sources=OTHERS)
    return derive_counts(facts, parse_manual(MANUAL))


def lines(items: list[Line]) -> dict[str, int]:
    return {line.name: line.n for line in items}


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(["europepmc", "crossref"]),
                st.booleans(),  # an update search (else a plain search of the whole database)
                st.integers(0, 6),  # records the database gained since its last search
                st.integers(0, 4),  # records an update lists that the store already holds
            ),
            st.tuples(st.sampled_from(OTHERS), st.integers(0, 4)),  # an other method's import
        ),
        min_size=1,
        max_size=6,
    )
)
def test_other_methods_are_split_into_arms_and_counted_once(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[Any, ...]],
) -> None:
    """Over any sequence of searches, update searches and other-methods imports: per source, the
    new arm (identification or other methods) plus the previous arm (update) is what the store
    holds; the new arm holds exactly what was stored from the first update search on; the
    arms of all sources add up to the records stored, so nothing is counted twice."""
    rv = new_review(tmp_path_factory.mktemp("other-arms"))
    size = {"europepmc": 0, "crossref": 0}
    searched: set[str] = set()
    updating = False
    stored_new: dict[str, int] = {}
    for step in steps:
        if len(step) == 2:
            source, n = step
            import_other(rv, source, n)
            name, stored = source, n
        else:
            platform, update, added, overlap = step
            update = update and platform in searched  # an update needs an earlier search
            before = size[platform]
            size[platform] += added
            updating = updating or update
            stored = search(rv, platform, size[platform], update=update, entered=max(0, before - overlap))
            searched.add(platform)
            name = NAMES[platform]
        if updating:
            stored_new[name] = stored_new.get(name, 0) + stored
    counts = counts_of(rv)
    with rv.open_store() as store:
        total = store.count_records()
        names = {s.source for s in store.iter_records()}
        per_source = {name: store.count_records(source=name) for name in names}
    new_db = lines(counts.identification.databases)
    om = counts.other_methods
    new_other = lines(om.sources) if om is not None else {}
    assert not set(new_db) & set(new_other)  # a source is in one column
    assert not set(new_other) - set(OTHERS) and not set(new_db) & set(OTHERS)
    if not updating:
        assert counts.update is None
        for name in {*new_db, *new_other, *per_source}:
            assert new_db.get(name, 0) + new_other.get(name, 0) == per_source.get(name, 0), name
        return
    assert counts.update is not None
    prev_db = lines(counts.update.previous_databases)
    prev_other = lines(counts.update.previous_other_methods)
    assert not set(prev_db) & set(OTHERS) and not set(prev_other) - set(OTHERS)
    for name in {*new_db, *new_other, *prev_db, *prev_other, *per_source}:
        n = per_source.get(name, 0)
        assert (
            new_db.get(name, 0) + new_other.get(name, 0) + prev_db.get(name, 0) + prev_other.get(name, 0) == n
        ), name
        assert new_db.get(name, 0) + new_other.get(name, 0) == stored_new.get(name, 0), name
    arms = [
        counts.identification.records_identified.n,
        om.records_identified.n if om is not None else 0,
        counts.update.previous_records.n,
        counts.update.previous_other_records.n,
    ]
    assert sum(n or 0 for n in arms) == total and None not in arms
    # prisma.csv (the PRISMA2020 template's "new studies via other methods") holds the new arm
    rows = {row[0]: row[-1] for row in csv.reader(io.StringIO(to_prisma2020_csv(counts)))}
    assert rows["citations_results"] == str(new_other.get("Citation searching", 0))
    assert rows["website_results"] == str(new_other.get("WHO IRIS", 0))


@pytest.fixture
def updated_with_other_methods(tmp_path: Path) -> Review:
    """Europe PMC (12 records) and 3 records from citation searching; then an update search of
    Europe PMC (6 new records) and 2 records from citation searching and 1 from a website."""
    rv = new_review(tmp_path)
    search(rv, "europepmc", 12)
    import_other(rv, "Citation searching", 3)
    assert search(rv, "europepmc", 18, update=True, entered=7) == 6
    import_other(rv, "Citation searching", 2)
    import_other(rv, "WHO IRIS", 1)
    (rv.root / "screening" / "prisma-manual.toml").write_text(MANUAL, encoding="utf-8")
    open_review(rv.root).dedupe()
    return rv


def test_prisma_json_on_the_command_line_splits_other_methods_into_arms(
    updated_with_other_methods: Review,
) -> None:
    runner = CliRunner()
    with contextlib.chdir(updated_with_other_methods.root):
        result = runner.invoke(cli, ["prisma", "--format", "json", "--out", "-"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    other = {s["name"]: (s["n"], s.get("kind")) for s in data["other_methods"]["sources"]}
    assert other == {"Citation searching": (2, "citation_searching"), "WHO IRIS": (1, "websites")}
    assert data["other_methods"]["records_identified"]["n"] == 3
    update = data["update"]
    previous = {s["name"]: (s["n"], s.get("kind")) for s in update["previous_other_methods"]}
    assert previous == {"Citation searching": (3, "citation_searching")}
    assert update["previous_other_records"]["n"] == 3
    assert {s["name"]: s["n"] for s in update["previous_databases"]} == {"Europe PMC": 12}
    assert {s["name"]: s["n"] for s in data["identification"]["databases"]} == {"Europe PMC": 6}
    # every stored record is in one arm of one column
    identified = (
        data["identification"]["records_identified"]["n"]
        + data["other_methods"]["records_identified"]["n"]
        + update["previous_records"]["n"]
        + update["previous_other_records"]["n"]
    )
    assert identified == len(open_review(updated_with_other_methods.root).records()) == 24
    # the previous version's work found by citation searching is not screened again as new
    with updated_with_other_methods.open_store() as store:
        facts = prisma_facts(store, topics=none, screening=none, other_sources=OTHERS)
    assert facts.update is not None
    assert len(facts.update.previous_works) == 12 + 3
    assert data["screening"]["records_screened"]["note"]  # nothing screened yet, and said so


def test_new_other_methods_records_of_previous_works_are_said_not_screened_again(
    updated_with_other_methods: Review,
) -> None:
    # a website searched for the update lists every Europe PMC record: 12 of works the previous
    # searches found, 6 of the update's new works
    review = open_review(updated_with_other_methods.root)
    export = updated_with_other_methods.root / "who.ris"
    assert review.export(export, "ris", source="Europe PMC") == 18
    review.import_files([export], source="WHO IRIS")
    review.dedupe()
    counts = counts_of(updated_with_other_methods)
    assert counts.other_methods is not None
    assert lines(counts.other_methods.sources) == {"Citation searching": 2, "WHO IRIS": 19}
    assert counts.update is not None and lines(counts.update.previous_other_methods) == {
        "Citation searching": 3
    }
    said = [a for a in counts.assumptions if "from other methods in the update" in a]
    assert said == [
        "12 records from other methods in the update are of works the previous version had found; "
        "they are not screened again"
    ]
    # the databases' duplicates of the previous searches are the databases' only
    assert counts.update.duplicates_of_previous.n == 0
