"""The evidence map's tables: year bins, the evidence-gap map's cells, the VOSviewer network."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.topics import evidence
from scoping.topics.refine import RawTopic, TopicState, base_state
from vosviewer_format import check_vosviewer, check_vosviewer_files

TERMS = ["peer support", "recovery", "training", "role", "stigma", "workers", "peer workers", "outcomes"]


@st.composite
def states(draw: st.DrawFn) -> tuple[TopicState, dict[str, int]]:
    """Topics over 1-40 works, each work with a share in 1-4 topics and a year in 1950-2025."""
    n_works = draw(st.integers(min_value=1, max_value=40))
    works = [f"w{i}" for i in range(n_works)]
    n_topics = draw(st.integers(min_value=1, max_value=4))
    shares: list[dict[str, float]] = [{} for _ in range(n_topics)]
    for work in works:
        topics = draw(st.sets(st.integers(0, n_topics - 1), min_size=1, max_size=n_topics))
        for t in topics:
            shares[t][work] = draw(st.floats(min_value=0.05, max_value=1.0))
    raw = [
        RawTopic(
            t + 1,
            f"topic {t + 1}",
            {term: float(len(TERMS) - i) for i, term in enumerate(draw(st.permutations(TERMS)))},
            shares[t],
            {w: s / 2 for w, s in shares[t].items()},
        )
        for t in range(n_topics)
    ]
    low = draw(st.integers(min_value=1950, max_value=2025))
    years = {w: draw(st.integers(min_value=low, max_value=2025)) for w in works}
    return base_state(raw, works, threshold=0.2), years


@given(states(), st.integers(min_value=2, max_value=14))
@settings(max_examples=80, deadline=None)
def test_year_bins_keep_every_count_in_at_most_the_columns_asked(
    drawn: tuple[TopicState, dict[str, int]], max_columns: int
) -> None:
    state, years = drawn
    binned, columns = evidence.year_bins({w: [str(y)] for w, y in years.items()}, max_columns)
    distinct = sorted(set(years.values()))
    assert 1 <= len(columns) <= max_columns
    if len(distinct) <= max_columns:
        assert columns == [str(y) for y in distinct]  # one column per year that has works
    table = evidence.cross_table(state, binned, columns=columns)
    assert table.columns == columns  # every work has a year: no (unknown)
    assert all(table.counts[:, j].any() for j in range(len(columns)))  # no empty column
    for i, tid in enumerate(table.topics):  # each work counted once in each of its topics
        assert table.counts[i].sum() == len(state.topics[tid].members)
    for work, year in years.items():  # each year is in its bin, and bins do not overlap
        (name,) = binned[work]
        start, _, end = name.partition("\u2013")
        assert int(start) <= year <= int(end or start)
    bounds = [(int(c.partition("\u2013")[0]), int(c.partition("\u2013")[2] or c)) for c in columns]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(bounds))  # oldest first


def test_a_long_spread_of_years_is_binned_by_five() -> None:
    years = {f"w{y}": [str(y)] for y in range(1982, 2017)}  # 35 years, as in the issue
    binned, columns = evidence.year_bins(years)
    assert columns == [
        "1980\u20131984",
        *[f"{y}\u2013{y + 4}" for y in range(1985, 2015, 5)],
        "2015\u20132019",
    ]
    assert binned["w1982"] == ["1980\u20131984"] and binned["w2016"] == ["2015\u20132019"]
    sparse = {"a": ["1990"], "b": ["2003"], "c": ["2021"]}  # few years far apart: no empty years
    assert evidence.year_bins(sparse)[1] == ["1990", "2003", "2021"]


@given(states(), st.lists(st.sampled_from(["Journal article", "Review", "Thesis"]), max_size=40))
@settings(max_examples=60, deadline=None)
def test_gap_map_cells_hold_the_works_the_cross_table_counts(
    drawn: tuple[TopicState, dict[str, int]], types: list[str]
) -> None:
    state, _ = drawn
    categories = {f"w{i}": [t] for i, t in enumerate(types)}  # the other works have no type
    gap = evidence.gap_map(state, categories, dimension="Document type")
    table = evidence.cross_table(state, categories)
    assert gap.columns == table.columns and gap.topics == table.topics
    assert (gap.counts == table.counts).all()
    for i, tid in enumerate(gap.topics):
        topic = state.topics[tid]
        for j, column in enumerate(gap.columns):
            cell = gap.cells[i][j]
            assert all((categories.get(w) or [evidence.UNKNOWN]) == [column] for w in cell)
            shares = [topic.members[w] for w in cell]
            assert shares == sorted(shares, reverse=True)  # largest share first


# -- VOSviewer -----------------------------------------------------------------------------


@given(states())
@settings(max_examples=60, deadline=None)
def test_vosviewer_network_follows_the_format_and_counts_shared_works(
    drawn: tuple[TopicState, dict[str, int]],
) -> None:
    state, _ = drawn
    texts = {w: f"{w} peer support by peer workers, and their role" for w in state.works[::2]}
    document = evidence.vosviewer_network(state, texts, n_terms=3)
    check_vosviewer(document)
    check_vosviewer_files(*evidence.vosviewer_files(document), document)  # the same, as map + network
    items = {item["id"]: item for item in document["network"]["items"]}
    topics = {item["label"].split()[0]: item for item in items.values() if item["label"].startswith("T")}
    assert {f"T{t}" for t in state.topics} == set(topics)
    for tid, topic in state.topics.items():
        assert topics[f"T{tid}"]["weights"] == {"Works": len(topic.members)}
    strength = {
        frozenset((items[link["source_id"]]["label"], items[link["target_id"]]["label"])): link["strength"]
        for link in document["network"]["links"]
    }
    for a in state.topics.values():
        for b in state.topics.values():
            if a.id < b.id:
                shared = len(set(a.members) & set(b.members))
                key = frozenset((f"{a.ref} {a.label}", f"{b.ref} {b.label}"))
                assert strength.get(key, 0) == shared
    for item in items.values():
        if item["label"] in ("peer support", "role", "peer workers"):  # found in the texts
            assert item["weights"] == {"Works": len(texts)}
        elif item["label"] in ("recovery", "training", "stigma", "outcomes"):
            assert item["weights"] == {"Works": 0}
