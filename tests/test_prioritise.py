"""The ranking model and the background re-ranker."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.screen.rank_model import (
    BackgroundRanker,
    Ranker,
    Ranking,
    SignalChooser,
    TextFeatures,
    retrain_batch,
    signal_scores,
    work_text,
)

DATA = Path(__file__).parent / "data" / "labelled"


@pytest.fixture(scope="module")
def sep() -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(DATA / "Sep_2021.csv")
    texts = [
        work_text(t if isinstance(t, str) else None, a if isinstance(a, str) else None)
        for t, a in zip(frame["title"], frame["abstract"], strict=True)
    ]
    return texts, frame["label_included"].to_numpy()


def test_work_text() -> None:
    assert work_text("A title", "An abstract.") == "A title An abstract."
    assert work_text("A title", None) == "A title"
    assert work_text(None, None) == ""


def test_text_features_words_and_bigrams() -> None:
    texts = ["peer support in mental health", "mental health services", "peer workers"]
    features = TextFeatures(max_df=1.0)
    assert not hasattr(features, "vectorizer_")
    X = features.fit_transform(texts)
    vocabulary = features.vectorizer_.vocabulary_
    assert "mental health" in vocabulary and "peer" in vocabulary
    assert X.shape == (3, features.n_features_)
    assert np.allclose(sp.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    with pytest.raises(RuntimeError, match="fit"):
        TextFeatures().transform(texts)


def test_text_features_survive_texts_without_words() -> None:
    X = TextFeatures().fit_transform(["", "", "a"])
    assert X.shape[0] == 3


def test_ranker_follows_estimator_habits() -> None:
    ranker = Ranker(C=0.5, include_weight=2.0, nb_weight=0.0, random_state=3)
    assert vars(ranker) == {
        "C": 0.5,
        "include_weight": 2.0,
        "nb_weight": 0.0,
        "nb_alpha": 3.822,
        "nb_include_weight": 1.2,
        "random_state": 3,
    }
    assert ranker.clone().get_params() == ranker.get_params()
    with pytest.raises(RuntimeError, match="fit"):
        ranker.decision_function(sp.csr_matrix((1, 3)))
    X = sp.csr_matrix(np.eye(4))
    ranker.fit(X, [1, 0, 0, 1])
    fitted = {name for name in vars(ranker) if name.endswith("_")}
    assert {"model_", "nb_model_", "n_includes_", "n_excludes_"} <= fitted
    assert ranker.n_includes_ == 2 and ranker.n_excludes_ == 2
    assert ranker.nb_model_ is None  # nb_weight 0: the SVM alone


def test_naive_bayes_votes_when_weighted() -> None:
    X = sp.csr_matrix(np.array([[3.0, 0, 1], [0, 2.0, 1], [2.0, 1.0, 0], [0, 0, 1.0]]))
    y = [1, 0, 1, 0]
    alone = Ranker(nb_weight=0.0, random_state=0).fit(X, y)
    both = Ranker(nb_weight=0.5, random_state=0).fit(X, y)
    assert both.nb_model_ is not None
    svm = alone.decision_function(X)
    joint = both.nb_model_.predict_joint_log_proba(X)
    nb = joint[:, 1] - joint[:, 0]
    expected = (svm - svm.mean()) / svm.std() + 0.5 * (nb - nb.mean()) / nb.std()
    assert np.allclose(both.decision_function(X), expected)


def test_ranker_needs_both_classes_and_binary_labels() -> None:
    X = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="one include and one exclude"):
        Ranker().fit(X, [0, 0, 0])
    with pytest.raises(ValueError, match=r"0 .exclude. or 1"):
        Ranker().fit(X, [0, 1, 2])
    with pytest.raises(ValueError, match="rows"):
        Ranker().fit(X, [0, 1])


def test_ranker_on_texts_puts_the_similar_work_first() -> None:
    train = [
        "peer support workers in mental health services",
        "hip fracture surgery outcomes",
        "knee replacement rehabilitation",
        "peer support for people with psychosis",
    ]
    ranker = Ranker(random_state=0).fit(train, [1, 0, 0, 1])
    assert isinstance(ranker.features_, TextFeatures)
    candidates = ["ankle fracture surgery", "mental health peer workers and recovery", "shoulder replacement"]
    assert ranker.rank(candidates)[0] == 1
    scores = ranker.decision_function(candidates)
    assert scores.shape == (3,) and scores[1] == scores.max()
    with pytest.raises(TypeError, match="matrix"):
        Ranker().fit(sp.csr_matrix(np.eye(2)), [0, 1]).rank(["text"])


def test_rank_breaks_ties_by_position() -> None:
    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]]))
    ranker = Ranker(random_state=0).fit(X, [1, 0])
    order = ranker.rank(sp.csr_matrix(np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])))
    assert order.tolist() == [2, 0, 1]


def test_ranker_learns_a_real_review(sep: tuple[list[str], np.ndarray]) -> None:
    """Trained on 60 random screened works of Sep 2021, the includes rank high among the rest."""
    from sklearn.metrics import roc_auc_score

    texts, labels = sep
    X = TextFeatures().fit_transform(texts)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(texts))
    train, test = order[:60], order[60:]
    assert labels[train].sum() > 0
    ranker = Ranker(random_state=0).fit(X[train], labels[train])
    auc = roc_auc_score(labels[test], ranker.decision_function(X[test]))
    assert auc > 0.7, auc  # chance is 0.5
    # the same seed gives the same ranking
    again = Ranker(random_state=0).fit(X[train], labels[train])
    assert np.array_equal(ranker.rank(X[test]), again.rank(X[test]))


def test_ranking_first_and_top() -> None:
    ranking = Ranking(order=np.array([5, 3, 9, 1]), version=2, n_labelled=4, trained=True)
    assert ranking.first() == 5
    assert ranking.first({5, 3}) == 9
    assert ranking.first({5, 3, 9, 1}) is None
    assert ranking.top(2, {3}) == [5, 9]


def test_retrain_batch() -> None:
    assert retrain_batch(10, 0.02) == 1
    assert retrain_batch(50, 0.02) == 1
    assert retrain_batch(1000, 0.02) == 20
    assert retrain_batch(1000, 0) == 1


def test_background_ranker_cold_start_then_trained(sep: tuple[list[str], np.ndarray]) -> None:
    texts, labels = sep
    X = TextFeatures().fit_transform(texts)
    with BackgroundRanker(X, random_state=4) as ranker:
        cold = ranker.current()
        assert not cold.trained and cold.version == 0
        assert sorted(cold.order.tolist()) == list(range(len(texts)))
        # the cold start is a seeded random order: the same seed gives the same order
        assert np.array_equal(cold.order, BackgroundRanker(X, random_state=4).current().order)
        assert not np.array_equal(cold.order, BackgroundRanker(X, random_state=5).current().order)
        first_include = int(np.flatnonzero(labels == 1)[0])
        version = ranker.update({first_include: 1})
        assert ranker.wait(version, timeout=10)
        still_cold = ranker.current()
        assert not still_cold.trained and first_include not in still_cold.order.tolist()
        # one include and one exclude: the model takes over
        first_exclude = int(np.flatnonzero(labels == 0)[0])
        decisions = {first_include: 1, first_exclude: 0}
        version = ranker.update(decisions)
        assert ranker.wait(version, timeout=10)
        trained = ranker.current()
        assert trained.trained and trained.n_labelled == 2 and ranker.error is None
        assert set(trained.order.tolist()) == set(range(len(texts))) - set(decisions)
        # better than chance: includes are over-represented at the top of the order
        top = trained.order[:50]
        assert labels[top].mean() > 1.3 * labels.mean()
        assert ranker.fits == 1


def test_background_ranker_builds_features_in_the_background(sep: tuple[list[str], np.ndarray]) -> None:
    texts, labels = sep
    with pytest.raises(ValueError, match="n_works"):
        BackgroundRanker(lambda: TextFeatures().fit_transform(texts))
    ranker = BackgroundRanker(
        lambda: TextFeatures().fit_transform(texts), n_works=len(texts), random_state=0
    ).start()
    try:
        assert not ranker.current().trained  # served at once, before any features exist
        version = ranker.update(
            {int(np.flatnonzero(labels == 1)[0]): 1, int(np.flatnonzero(labels == 0)[0]): 0}
        )
        assert ranker.wait(version, timeout=20)
        assert ranker.current().trained
    finally:
        ranker.close()
    with pytest.raises(ValueError, match="out of range"):
        ranker.update({len(texts): 1})


class _Broken(Ranker):
    def fit(self, X: object, y: object) -> Ranker:
        raise RuntimeError("model exploded")


def test_background_ranker_keeps_serving_after_an_error() -> None:
    X = sp.csr_matrix(np.eye(6))
    with BackgroundRanker(X, ranker=_Broken(), random_state=1) as ranker:
        before = ranker.current()
        version = ranker.update({0: 1, 1: 0})
        assert ranker.wait(version, timeout=10)
        assert isinstance(ranker.error, RuntimeError)
        assert ranker.current() is before  # the last good ranking stays in service


def test_next_work_keeps_coming_while_the_model_refits() -> None:
    """Works are served from the last good ranking while refits run in the background.

    How long serving takes at 50,000 works (goal: under 100 ms) is measured by
    bench/unit_timings.py: tests check behaviour, benches time.
    """
    rng = np.random.default_rng(0)
    n_works, n_features = 5_000, 2_000
    per_row = 40
    X = sp.csr_matrix(
        (
            rng.random(n_works * per_row, dtype=np.float32),
            rng.integers(0, n_features, n_works * per_row),
            np.arange(0, n_works * per_row + 1, per_row),
        ),
        shape=(n_works, n_features),
    )
    X.sum_duplicates()
    truth = rng.random(n_works) < 0.05
    order = rng.permutation(n_works)
    screened = {int(w): int(truth[w]) for w in order[:1_000]}
    served: list[int] = []
    step = 0
    with BackgroundRanker(X, random_state=0) as ranker:
        ranker.update(screened)
        while ranker.fits < 3 and step < 3_000:
            work = ranker.current().first(screened)
            assert work is not None and work not in screened
            served.append(work)
            screened[work] = int(truth[work])
            if step % 50 == 0:
                ranker.update(screened)
            step += 1
            time.sleep(0.001)
        assert ranker.fits >= 3 and ranker.error is None
        assert ranker.current().trained
    assert len(served) == len(set(served))  # no work is served twice


# -- the adaptive choice of signals ---------------------------------------------------------


def _observed_chooser(good: str, n_works: int, n_inc: int, seed: int) -> SignalChooser:
    """A chooser over svm/nb/centroid that saw decisions only ``good`` ranked well."""
    rng = np.random.default_rng(seed)
    chooser = SignalChooser({"svm": 2 / 3, "nb": 1 / 3, "centroid": 0.0})
    labels = np.zeros(n_works, dtype=np.int8)
    labels[rng.choice(n_works, n_inc, replace=False)] = 1
    rows = np.arange(n_works, dtype=np.intp)
    scores = {name: rng.normal(size=n_works) for name in chooser.names}
    scores[good] = scores[good] + 3.0 * labels  # this one puts the includes first
    chooser.remember(rows, scores)
    assert chooser.weights() == chooser.defaults  # no decisions yet: the default mix
    served = rng.permutation(n_works)[: n_works // 2]
    assert chooser.observe(served.tolist(), labels[served].tolist()) == served.size
    return chooser


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    good=st.sampled_from(["svm", "nb", "centroid"]),
    n_inc=st.integers(min_value=30, max_value=80),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_signal_chooser_moves_to_the_signal_that_ranked_the_includes_first(
    good: str, n_inc: int, seed: int
) -> None:
    chooser = _observed_chooser(good, 400, n_inc, seed)
    weights = chooser.weights()
    assert sum(weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in weights.values())
    assert weights[good] > chooser.defaults[good]
    assert weights[good] == max(weights.values())
    learned = chooser.learned()
    assert learned is not None and learned[good] > 0.6


def test_signal_chooser_counts_only_works_it_had_scored() -> None:
    chooser = SignalChooser({"svm": 1.0, "nb": 1.0})
    chooser.remember(np.array([5, 2, 9]), {"svm": np.array([1.0, 2.0, 3.0]), "nb": np.zeros(3)})
    assert chooser.observe([9, 4, 2], [1, 1, 0]) == 2  # work 4 was not in the pool scored
    assert chooser.n_includes == 1
    assert chooser.learned() is not None and chooser.learned() == {"svm": 1.0, "nb": 0.0}
    with pytest.raises(ValueError, match="default weights"):
        SignalChooser({"svm": 0.0})


def test_adaptive_start_is_the_default_rankers_order(sep: tuple[list[str], np.ndarray]) -> None:
    texts, labels = sep
    matrix = TextFeatures().fit_transform(texts)
    train = np.r_[np.flatnonzero(labels == 1)[:5], np.flatnonzero(labels == 0)[:40]]
    pool = np.setdiff1d(np.arange(len(texts)), train)
    model = Ranker(random_state=0).fit(matrix[train], labels[train])
    signals = signal_scores(model, matrix, pool, np.flatnonzero(labels[train] == 1).tolist())
    assert set(signals) == {"svm", "nb", "centroid"}
    chooser = SignalChooser({"svm": 2 / 3, "nb": 1 / 3, "centroid": 0.0})
    combined = chooser.combine(signals)
    expected = model.decision_function(matrix[pool])
    assert np.corrcoef(combined, expected)[0, 1] == pytest.approx(1.0)
    assert np.array_equal(np.argsort(-combined, kind="stable"), model.rank(matrix[pool]))


def test_background_ranker_adaptive_learns_in_the_refit(sep: tuple[list[str], np.ndarray]) -> None:
    texts, labels = sep
    X = TextFeatures().fit_transform(texts)
    inc, exc = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    first = {int(inc[0]): 1, int(exc[0]): 0}
    with BackgroundRanker(X, random_state=0, adaptive=True) as ranker:
        assert ranker.wait(ranker.update(first), timeout=30) and ranker.error is None
        assert ranker.chooser is not None and ranker.chooser.weights() == ranker.chooser.defaults
        # the first adaptive order is the default ranker's
        plain = Ranker(random_state=0).fit(X[list(first)], list(first.values()))
        pool = np.setdiff1d(np.arange(len(texts)), list(first))
        assert np.array_equal(ranker.current().order, pool[plain.rank(X[pool])])
        # the reviewer screens the top 60 works; the refit scores them as they were ranked
        top = ranker.current().order[:60].tolist()
        more = {**first, **{row: int(labels[row]) for row in top}}
        assert ranker.wait(ranker.update(more), timeout=30) and ranker.error is None
        trained = ranker.current()
        assert trained.trained and set(trained.order.tolist()) == set(range(len(texts))) - set(more)
        assert ranker.chooser.n_includes == int(labels[top].sum()) > 0
        assert ranker.chooser.weights() != ranker.chooser.defaults
