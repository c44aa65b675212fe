"""The lead's edits replayed on fits, and topic numbers carried across refits (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.errors import UsageError
from scoping.topics.refine import (
    Edit,
    RawTopic,
    SplitPart,
    apply_edits,
    base_state,
    carry_ids,
    distinct_terms,
    merge_profiles,
    topic_ref,
)

WORKS = ["w1", "w2", "w3", "w4", "w5", "w6"]


def raw() -> list[RawTopic]:
    return [
        RawTopic(
            1,
            "peer, role",
            {"peer": 1.0, "role": 0.5},
            {"w1": 0.9, "w2": 0.7, "w3": 0.25, "w4": 0.1},
            {"w1": 0.8, "w2": 0.5},
        ),
        RawTopic(
            2,
            "training, course",
            {"training": 1.0, "course": 0.4},
            {"w3": 0.75, "w4": 0.9, "w2": 0.3},
            {"w4": 0.7},
        ),
        RawTopic(3, "recovery, outcomes", {"recovery": 1.0}, {"w5": 1.0, "w6": 1.0, "w1": 0.1}, {}),
    ]


def edit(i: int, action: str, **payload: object) -> Edit:
    return Edit(id=i, action=action, payload=payload, made_by="lead", made_at="2026-01-01T00:00:00Z")


def test_base_state_overlaps_and_keeps_every_work_somewhere() -> None:
    state = base_state(raw(), WORKS, threshold=0.2)
    assert set(state.topics[1].members) == {"w1", "w2", "w3"}  # w4 (0.1) is below 0.2
    assert set(state.topics[2].members) == {"w2", "w3", "w4"}
    assert set(state.topics[3].members) == {"w5", "w6"}
    assert state.memberships()["w2"] == [1, 2]
    assert state.main_topics() == {"w1": 1, "w2": 1, "w3": 2, "w4": 2, "w5": 3, "w6": 3}
    low = base_state([RawTopic(9, "x", {"x": 1.0}, {"w1": 0.1})], ["w1"], threshold=0.5)
    assert low.topics[9].members == {"w1": 0.1}  # its strongest topic, even below threshold


def test_rename_merge_move_are_replayed_in_order() -> None:
    state = base_state(raw(), WORKS, threshold=0.2)
    apply_edits(
        state,
        [
            edit(1, "rename", topic=1, name="Role of peer workers"),
            edit(2, "merge", topics=[2, 3], name="Training and recovery"),
            edit(3, "move", work="w6", topic=1, direction="in"),
            edit(4, "move", work="w1", topic=1, direction="out"),
        ],
    )
    assert sorted(state.topics) == [1, 2]
    assert state.topics[1].label == "Role of peer workers"
    merged = state.topics[2]
    assert merged.label == "Training and recovery"
    assert set(merged.members) == {"w2", "w3", "w4", "w5", "w6"}
    assert merged.origin == "merge of T2, T3"
    assert {"training", "recovery"} <= set(merged.terms)
    assert "w6" in state.topics[1].members and "w6" in state.topics[1].moved_in
    assert "w1" not in state.topics[1].members and "w1" in state.topics[1].moved_out
    assert state.topics[1].ranked()[-1] == "w6"  # moved in by hand: last
    assert not state.skipped


def test_edits_whose_topic_is_gone_are_skipped_and_said_so() -> None:
    state = base_state(raw()[:2], WORKS, threshold=0.2)
    apply_edits(
        state,
        [
            edit(1, "rename", topic=3, name="Recovery"),
            edit(2, "move", work="w9", topic=1, direction="in"),
            edit(3, "merge", topics=[3, 2]),
            edit(4, "split", topic=1, into=[7, 8], seed=0, profiles={}),
        ],
    )
    assert state.skipped_ids == {1, 2, 4}
    assert "T3 has no counterpart" in state.skipped[0]
    assert "not among this fit's works" in state.skipped[1]
    assert "splits need the works' texts" in state.skipped[-1]
    assert 2 in state.topics  # the merge had only T2 left: nothing to merge, T2 stays


def test_split_is_replayed_and_matched_to_the_recorded_parts() -> None:
    def splitter(members: Mapping[str, float], parts: int, seed: int) -> list[SplitPart]:
        assert parts == 2 and seed == 5
        keys = sorted(members)
        # parts come back in the opposite order to the recorded ones
        return [
            SplitPart({"course": 1.0}, {k: 0.5 for k in keys[1:]}, {}, "course"),
            SplitPart({"training": 1.0}, {keys[0]: 0.6}, {}, "training"),
        ]

    state = base_state(raw(), WORKS, threshold=0.2)
    apply_edits(
        state,
        [
            edit(
                1,
                "split",
                topic=2,
                into=[7, 8],
                seed=5,
                profiles={"7": {"training": 1.0}, "8": {"course": 1.0}},
            ),
            edit(2, "rename", topic=8, name="Courses"),
        ],
        splitter,
    )
    assert 2 not in state.topics
    assert state.topics[7].auto_label == "training" and state.topics[7].origin == "split of T2"
    assert state.topics[8].label == "Courses"
    assert set(state.topics[8].members) == {"w3", "w4"}


def test_carry_ids_maps_a_refit_onto_known_topics() -> None:
    known = {1: {"peer": 1.0, "role": 0.5}, 2: {"training": 1.0}, 5: {"recovery": 1.0}}
    new = [{"training": 0.9, "course": 0.2}, {"stigma": 1.0}, {"role": 0.6, "peer": 0.8}]
    ids, similarity = carry_ids(known, new, next_id=9)
    assert ids == [2, 9, 1]
    assert set(similarity) == {1, 2} and similarity[2] > 0.9


def test_topic_refs_and_names_resolve() -> None:
    assert [topic_ref(r) for r in ("T3", "t3", "3", 3, "role")] == [3, 3, 3, 3, None]
    state = base_state(raw(), WORKS, threshold=0.2)
    apply_edits(state, [edit(1, "rename", topic=2, name="Training")])
    assert state.resolve("training") == 2
    assert state.resolve("T1") == 1
    with pytest.raises(UsageError, match="no topic T9"):
        state.resolve("T9")
    with pytest.raises(UsageError, match="no topic is called"):
        state.resolve("Stigma")


def test_merge_profiles_weights_by_size() -> None:
    profile = merge_profiles([({"a": 1.0}, 10), ({"b": 1.0}, 1)])
    assert profile["a"] > profile["b"] > 0


# -- the terms a topic shows ---------------------------------------------------------------

_WORDS = ["functional", "impairment", "symptoms", "peer", "support", "workers", "worker", "course", "role"]


def _stems(term: str) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in term.split()]


@given(
    terms=st.lists(
        st.lists(st.sampled_from(_WORDS), min_size=1, max_size=2).map(" ".join), unique=True, max_size=30
    ),
    n=st.integers(min_value=1, max_value=12),
)
@settings(max_examples=300, deadline=None)
def test_shown_terms_repeat_no_word_of_a_chosen_phrase(terms: list[str], n: int) -> None:
    weighted = [(t, float(len(terms) - i)) for i, t in enumerate(terms)]  # heaviest first
    shown = distinct_terms(weighted, n)
    assert len(shown) <= n and len(set(shown)) == len(shown)
    assert [t for t in terms if t in shown] == shown  # a subset, in the order of weight
    phrases = [_stems(t) for t in shown if " " in t]
    for term in shown:
        if " " not in term:  # no unigram sits inside a chosen bigram (plural or not)
            assert not any(_stems(term)[0] in p for p in phrases), (term, shown)
    for i, a in enumerate(phrases):  # no two phrases say the same or run on from each other
        for b in phrases[i + 1 :]:
            assert set(a) != set(b) and a[-1] != b[0] and b[-1] != a[0], (a, b, shown)
    if terms:
        assert shown  # something is always shown
        heaviest = _stems(terms[0])  # shown, or inside a phrase that is shown
        assert terms[0] in shown or any(set(heaviest) <= set(p) for p in phrases), shown


def test_shown_terms_of_a_topic_from_the_issue() -> None:
    weights = [
        "course posttraumatic",
        "functional impairment",
        "symptoms functional",
        "impairment",
        "functional",
    ]
    view = base_state(
        [RawTopic(1, "x", {t: 5.0 - i for i, t in enumerate(weights)}, {"w1": 1.0}, {})], ["w1"], 0.2
    )
    assert view.topics[1].top_terms(5) == ["course posttraumatic", "functional impairment"]


def test_works_are_ranked_by_their_share_of_the_topic() -> None:
    # b is the less representative work but the topic weighs more in it: it comes first
    topic = RawTopic(1, "x", {"peer": 1.0}, {"a": 0.3, "b": 0.9, "c": 0.6}, {"a": 0.9, "b": 0.1, "c": 0.5})
    state = base_state([topic], ["a", "b", "c"], threshold=0.2)
    ranked = state.topics[1].ranked()
    assert ranked == sorted(ranked, key=lambda w: -state.topics[1].members[w]) == ["b", "c", "a"]
