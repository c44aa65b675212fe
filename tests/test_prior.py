"""The protocol as a prior: criteria text scored against works, blended with the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.screen.prior import (
    NO_EVIDENCE_WEIGHT,
    blend,
    blend_weight,
    match_seed_studies,
    prior_scores,
    standardised,
)
from scoping.screen.rank_model import BackgroundRanker, TextFeatures, work_text
from scoping.screen.simulate import simulate

SEP = Path(__file__).parent / "data" / "labelled" / "Sep_2021.csv"


@pytest.fixture(scope="module")
def sep() -> pd.DataFrame:
    return pd.read_csv(SEP).fillna("")


def texts_of(frame: pd.DataFrame) -> list[str]:
    return [work_text(t, a) for t, a in zip(frame["title"], frame["abstract"], strict=True)]


def test_prior_puts_the_record_matching_the_criteria_first(sep: pd.DataFrame) -> None:
    texts = texts_of(sep)
    features = TextFeatures()
    matrix = features.fit_transform(texts)
    target = 0  # a real record: noradrenergic activation of the amygdala and memory
    query = "Include studies of noradrenergic activation of the basolateral amygdala"
    words = {w for w in query.lower().split() if len(w) > 3}
    unrelated = next(i for i, t in enumerate(texts) if t and not words & set(t.lower().split()))
    scores = prior_scores(features, matrix, query)
    assert scores.shape == (len(texts),)
    assert scores[target] > scores[unrelated]
    order = np.argsort(-scores, kind="stable").tolist()
    assert order.index(target) < order.index(unrelated)
    assert order.index(target) < len(texts) // 20  # near the top, not just above one record


def informative(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels that follow a signal, and a score that is that signal plus noise."""
    signal = rng.normal(size=n)
    labels = (signal > np.quantile(signal, 0.8)).astype(np.int8)
    return signal + noise * rng.normal(size=n), labels


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(40, 300), noise=st.floats(0.0, 0.5))
def test_blend_weight_moves_toward_the_ranker_that_finds_the_includes(
    seed: int, n: int, noise: float
) -> None:
    rng = np.random.default_rng(seed)
    good, labels = informative(rng, n, noise)
    useless = rng.normal(size=n)
    toward_prior = blend_weight(useless, good, labels)
    toward_model = blend_weight(good, useless, labels)
    assert 0.0 <= toward_model < NO_EVIDENCE_WEIGHT < toward_prior <= 1.0


def test_blend_weight_without_evidence_and_blend_ends() -> None:
    assert blend_weight([1.0, 2.0], [3.0, 1.0], [1, 1]) == NO_EVIDENCE_WEIGHT
    assert blend_weight([], [], []) == NO_EVIDENCE_WEIGHT
    with pytest.raises(ValueError, match="labels"):
        blend_weight([1.0], [1.0, 2.0], [1, 0])
    model, prior = np.array([3.0, 1.0, 2.0]), np.array([0.0, 5.0, 1.0])
    assert np.allclose(blend(model, prior, 0.0), standardised(model))
    assert np.allclose(blend(model, prior, 1.0), standardised(prior))
    with pytest.raises(ValueError, match="between 0 and 1"):
        blend(model, prior, 1.5)


def test_seed_studies_match_by_doi_and_title(sep: pd.DataFrame) -> None:
    dois, titles = sep["doi"].tolist(), sep["title"].tolist()
    lines = [
        dois[3].upper(),  # DOIs match whatever their case and resolver prefix
        "  " + titles[7].upper() + ".  ",  # titles match as normalised keys
        "# a comment",
        "",
        "Propranolol and the reconsolidation of fear in people",  # not in the dataset
        "10.9999/not-in-the-dataset",  # an unknown DOI says nothing about the topic
        dois[3],  # named twice: screened once
    ]
    found = match_seed_studies(lines, dois, titles)
    assert found.rows == [3, 7]
    assert found.unmatched == ["Propranolol and the reconsolidation of fear in people"]


def test_simulate_with_criteria_and_seed_studies(sep: pd.DataFrame) -> None:
    texts, labels = texts_of(sep), sep["label_included"].to_numpy()
    seed_row = int(np.flatnonzero(labels == 1)[5])
    criteria = "simulation studies of memory reconsolidation in rodents"
    # what is checked here is what a run records, not how well it ranks: the model is refitted
    # after every tenth of the works instead of every fiftieth (a tenth of the CPU)
    result = simulate(
        texts, labels, seeds=(0,), criteria=criteria, seed_rows=[seed_row], retrain_fraction=0.1
    )
    run = result.runs[0]
    assert run.seed_rows == (seed_row,) and run.n_priors == 3
    assert run.prior_weight is not None and 0.0 <= run.prior_weight <= 1.0
    assert result.settings["prior_text"]["characters"] == len(criteria)
    # every include is found once: the priors' and the ranked ones
    assert int(labels[[*run.priors, seed_row]].sum()) + int(run.ranked_labels.sum()) == labels.sum()
    plain = simulate(texts, labels, seeds=(0,), retrain_fraction=0.25)
    assert plain.runs[0].prior_weight is None and plain.settings["prior_text"] is None
    with pytest.raises(ValueError, match="seed rows out of range"):
        simulate(texts, labels, seeds=(0,), seed_rows=[len(texts)])


def test_background_ranker_cold_start_follows_the_prior(sep: pd.DataFrame) -> None:
    texts = texts_of(sep)
    features = TextFeatures()
    matrix = features.fit_transform(texts)
    scores = prior_scores(features, matrix, "noradrenergic activation of the basolateral amygdala")
    with BackgroundRanker(matrix, random_state=3, prior=lambda: scores) as ranker:
        version = ranker.update({5: 0})
        assert ranker.wait(version, timeout=30)
        cold = ranker.current()
    assert cold.prior and not cold.trained
    assert 5 not in cold.order.tolist() and len(cold.order) == len(texts) - 1
    assert np.all(np.diff(scores[cold.order]) <= 0)  # best first
    assert cold.order[0] == int(np.argmax(scores))
