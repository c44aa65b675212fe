"""The topic model on real records: recovered structure, reproducibility, overlap, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

import scoping.topics
from scoping.errors import UsageError
from scoping.ingest import inspect_file, iter_records
from scoping.topics import TopicModel, WorkText, match_topics, work_text
from scoping.topics.model import make_label

DATA = Path(__file__).parent / "data" / "topics"
REVIEWS = ("Jeyaraman_2020", "Sep_2021", "van_der_Valk_2021")  # cartilage, memory, hair cortisol


@pytest.fixture(scope="module")
def pool() -> tuple[list[WorkText], list[str]]:
    """60 real records from each of three unrelated SYNERGY reviews, and the review of each."""
    texts: list[WorkText] = []
    labels: list[str] = []
    for name in REVIEWS:
        for record in iter_records(inspect_file(DATA / f"{name}.csv")):
            texts.append(work_text(record))
            labels.append(name)
    return texts, labels


@pytest.fixture(scope="module")
def fitted(pool: tuple[list[WorkText], list[str]]) -> TopicModel:
    return TopicModel(n_topics=3, random_state=0).fit(pool[0])


def test_public_api() -> None:
    assert scoping.topics.__all__ == ["Assignment", "TopicModel", "WorkText", "match_topics", "work_text"]


def test_the_pool_has_works_without_abstracts(pool: tuple[list[WorkText], list[str]]) -> None:
    texts, _ = pool
    assert len(texts) == 180
    assert sum(1 for t in texts if not t.abstract) >= 2  # titles only: still placed


def test_recovers_which_review_a_record_came_from(
    pool: tuple[list[WorkText], list[str]], fitted: TopicModel
) -> None:
    _, labels = pool
    hard = fitted.assign().hard
    # measured: NMI 0.923, ARI 0.950 (seeds 0-3 alike); floors leave a margin
    assert normalized_mutual_info_score(labels, hard) > 0.8
    assert adjusted_rand_score(labels, hard) > 0.8
    # every work, also those with a title only, has a topic
    assert (hard >= 0).all()


def test_labels_and_top_terms_name_the_subjects(fitted: TopicModel) -> None:
    text = " | ".join(fitted.labels_)
    assert "cartilage" in text or "chondrocyte" in text
    assert "cortisol" in text
    assert "memory" in text or "recognition" in text
    for label, terms in zip(fitted.labels_, fitted.top_terms_, strict=True):
        words = [w for part in label.split(", ") for w in part.split()]
        assert len(words) == len(set(words)), f"a word is repeated in {label!r}"
        assert len(terms) == fitted.n_top_terms


def test_fitted_state_follows_sklearn_conventions(fitted: TopicModel) -> None:
    n, k = fitted.membership_.shape
    assert (n, k) == (180, 3)
    assert fitted.components_.shape == (3, len(fitted.terms_))
    np.testing.assert_allclose(fitted.membership_.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(fitted.components_, axis=1), 1.0)
    assert (fitted.components_ >= 0).all() and (fitted.membership_ >= 0).all()
    assert len(fitted.representative_) == 3
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params()
    assert not hasattr(fresh, "components_")  # __init__ stores parameters only


def test_representative_works_belong_to_their_topic_and_are_ranked(fitted: TopicModel) -> None:
    overlap = fitted.assign().overlap
    for topic, ranked in enumerate(fitted.representative_):
        assert len(ranked) == fitted.n_representative
        assert overlap[ranked, topic].all()
        scores = fitted.representativeness_[ranked, topic]
        assert (np.diff(scores) <= 1e-12).all()


def test_same_seed_same_topics(pool: tuple[list[WorkText], list[str]], fitted: TopicModel) -> None:
    again = TopicModel(n_topics=3, random_state=0).fit(pool[0])
    np.testing.assert_array_equal(again.membership_, fitted.membership_)
    assert again.labels_ == fitted.labels_


def test_membership_overlaps_above_the_threshold(fitted: TopicModel) -> None:
    low = fitted.assign(threshold=0.1)
    high = fitted.assign(threshold=0.5)
    assert (low.overlap >= high.overlap).all()
    assert (low.overlap.sum(axis=1) > 1).sum() > (high.overlap.sum(axis=1) > 1).sum()
    default = fitted.assign()
    assert (default.overlap.sum(axis=1) > 1).any(), "some works should belong to two topics"
    rows = np.arange(len(default.hard))
    assert default.overlap[rows, default.hard].all()  # the main topic is always a member


def test_auto_chooses_a_sensible_number(pool: tuple[list[WorkText], list[str]]) -> None:
    texts, labels = pool
    model = TopicModel(random_state=0).fit(texts)
    # measured: K = 4 (the cartilage works split in two), NMI 0.84
    assert 3 <= model.n_topics_ <= 6
    assert set(model.k_scores_) >= {2, 3, 4}
    assert all(set(v) == {"stability", "coherence", "score"} for v in model.k_scores_.values())
    assert normalized_mutual_info_score(labels, model.assign().hard) > 0.7


def test_transform_places_new_works(fitted: TopicModel, pool: tuple[list[WorkText], list[str]]) -> None:
    texts, _ = pool
    shares = fitted.transform([*texts[:5], WorkText(title="zzzz qqqq")])
    np.testing.assert_allclose(shares[:5].sum(axis=1), 1.0)
    assert shares[5].sum() == 0  # no known word: no topic
    np.testing.assert_allclose(shares[:5], fitted.membership_[:5], atol=1e-6)


# -- bad input ----------------------------------------------------------------------------


def test_more_topics_than_works_is_a_clear_error() -> None:
    works = [WorkText(title=t) for t in ("peer support workers", "peer worker roles", "training peers")]
    with pytest.raises(UsageError, match="5 topics were asked for but only 3 works"):
        TopicModel(n_topics=5).fit(works)


def test_works_without_any_text_get_no_topic(pool: tuple[list[WorkText], list[str]]) -> None:
    texts = [*pool[0][:60], WorkText(), WorkText(title=None, abstract=None)]
    model = TopicModel(n_topics=2).fit(texts)
    assert list(model.assign().hard[-2:]) == [-1, -1]
    assert not model.has_text_[-1]
    assert model.membership_[-1].sum() == 0
    assert any("2 of 62 works have no title" in note for note in model.notes_)


def test_no_text_at_all_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="no words to build topics from"):
        TopicModel(n_topics=2).fit([WorkText(), WorkText()])
    with pytest.raises(UsageError, match="no works"):
        TopicModel().fit([])


def test_a_single_subject_corpus_falls_back(pool: tuple[list[WorkText], list[str]]) -> None:
    same = [
        WorkText(
            title="Peer support in mental health services",
            abstract="Peer support workers in mental health services.",
        )
    ] * 30
    model = TopicModel().fit(same)
    assert model.n_topics_ == 1
    assert any("too few distinct works" in note for note in model.notes_)
    capped = TopicModel(n_topics=4).fit(same)
    assert capped.n_topics_ == 1
    assert any("fitted 1 instead of the 4" in note for note in capped.notes_)
    assert (capped.assign().hard == 0).all()


def test_bad_parameters_are_usage_errors() -> None:
    for params in ({"n_topics": "many"}, {"n_topics": 0}, {"threshold": 0.0}, {"k_min": 5, "k_max": 2}):
        with pytest.raises(UsageError):
            TopicModel(**params).fit([WorkText(title="a b c")])


def test_non_convergence_is_a_note_not_a_warning(pool: tuple[list[WorkText], list[str]]) -> None:
    # pytest turns warnings into errors here: NMF's ConvergenceWarning must not escape
    model = TopicModel(n_topics=3, max_iter=2).fit(pool[0])
    assert not model.converged_
    assert any("max_iter=2" in note for note in model.notes_)


def test_copyright_lines_are_not_topic_words() -> None:
    abstract = "Peer support helps. (PsycINFO Database Record (c) 2019 APA, all rights reserved)"
    texts = [WorkText(title=f"Study {i} of peer support", abstract=abstract) for i in range(12)]
    model = TopicModel(n_topics=1).fit(texts)
    assert "psycinfo" not in " ".join(model.terms_)


# -- helpers ------------------------------------------------------------------------------


def test_match_topics_pairs_one_to_one() -> None:
    old = [{"cortisol": 1.0, "hair": 0.5}, {"cartilage": 1.0, "knee": 0.4}, {"memory": 1.0}]
    new = [{"knee": 0.5, "cartilage": 0.9}, {"zebra": 1.0}, {"hair": 0.6, "cortisol": 0.8}]
    assert match_topics(old, new) == [1, None, 0]
    assert match_topics([], new) == [None, None, None]


def test_make_label_prefers_bigrams_and_repeats_no_word() -> None:
    terms = [("cortisol", 1.0), ("hair", 0.8), ("hair cortisol", 0.7), ("stress", 0.5), ("levels", 0.2)]
    assert make_label(terms, []) == "hair cortisol, stress, levels"
    assert make_label([], []) == "(no terms)"


def test_a_topic_of_non_english_works_is_labelled_by_its_language() -> None:
    terms = [("der", 1.0), ("die", 0.9), ("und", 0.8), ("mit", 0.7), ("behandlung", 0.6), ("therapie", 0.5)]
    assert make_label(terms, []) == "German-language works: behandlung, therapie"
    english = [("peer", 1.0), ("support", 0.9), ("la", 0.1)]
    assert make_label(english, []) == "peer, support, la"
