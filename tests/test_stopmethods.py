"""Stopping methods replayed on screening orders: counts, definitions and the guarantees."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoping.errors import UsageError
from scoping.screen.stop_methods import (
    METHODS,
    CaptureRecapture,
    ConsecutiveExcludes,
    HypergeometricRanked,
    HypergeometricSample,
    Knee,
    QuantileBinomialBound,
    RateBound,
    _k_targets,
    all_methods,
    calibrated_level,
    check_order,
    default_method,
    method_by_key,
    qbcb_targets,
)
from scoping.screen.stop_rule import StoppingRule, StoppingTracker, SwitchHeuristic

orders = st.lists(st.integers(0, 1), min_size=1, max_size=300).filter(lambda o: sum(o) > 0)


@settings(max_examples=40, deadline=None)
@given(order=orders, seed=st.integers(0, 2**16), target=st.sampled_from([0.9, 0.95, 0.99]))
def test_every_method_keeps_its_counts_consistent(order: list[int], seed: int, target: float) -> None:
    array = np.asarray(order, dtype=np.int8)
    for method in all_methods(target):
        stop = method.replay(array, np.random.default_rng(seed))
        assert stop.n_total == array.size
        assert stop.n_includes == int(array.sum())
        assert 1 <= stop.stop_at <= array.size
        assert 0 <= stop.found <= min(stop.stop_at, stop.n_includes)
        assert stop.stopped == (stop.stop_at < array.size)
        if not stop.stopped:
            assert stop.found == stop.n_includes
        if method.key in {"heuristic", "hypergeom-ranked", "rate-bound"}:  # ranked prefix only
            assert stop.found == int(array[: stop.stop_at].sum())
        assert 0.0 <= stop.share_unscreened < 1.0
        assert 0.0 <= stop.recall <= 1.0


def test_heuristic_stops_at_the_first_long_enough_run_of_excludes() -> None:
    method = ConsecutiveExcludes(run=50, fraction=0.0)
    order = np.array([0] * 70 + [1] + [0] * 49 + [1] + [0] * 200, dtype=np.int8)
    stop = method.replay(order, np.random.default_rng(0))
    # the 70 excludes before the first include do not count; the run after the second
    # include is the first with 50 excludes
    second = 70 + 1 + 49 + 1
    assert stop.stop_at == second + 50
    assert stop.found == 2


def test_sampling_replay_agrees_with_the_live_tracker() -> None:
    """The vectorised replay and the tracker a live review uses give the same stop."""
    rng = np.random.default_rng(5)
    order = np.zeros(3000, dtype=np.int8)
    order[rng.choice(400, size=40, replace=False)] = 1  # ranked: includes early
    order[400 + rng.choice(2600, size=3, replace=False)] = 1  # a few left for the sample
    switch = SwitchHeuristic(min_run=50, run_fraction=0.05)
    rule = StoppingRule(recall_target=0.95, confidence=0.95)
    stops = []
    for seed in range(5):
        replay = HypergeometricSample(rule=rule, switch=switch).replay(order, np.random.default_rng(seed))
        tracker = StoppingTracker(n_total=order.size, rule=rule, heuristic=switch, detailed=False)
        position = 0
        while not tracker.switch_suggested:
            tracker.add_ranked(bool(order[position]))
            position += 1
        tracker.start_sampling()
        for label in np.random.default_rng(seed).permutation(order[position:]):
            if tracker.add_sampled(bool(label)).met:
                break
        assert tracker.stopped_at == replay.stop_at
        assert tracker.includes_found == replay.found
        stops.append(replay.stop_at)
    assert len(set(stops)) > 1  # the random phase differs between seeds


def _short_share(method: object, order: np.ndarray, runs: int, target: float) -> float:
    short = 0
    for seed in range(runs):
        stop = method.replay(order, np.random.default_rng(seed))  # type: ignore[attr-defined]
        short += stop.recall < target
    return short / runs


def test_hypergeometric_sample_keeps_its_guarantee_when_the_ranking_is_no_better_than_random() -> None:
    rng = np.random.default_rng(11)
    order = np.zeros(1500, dtype=np.int8)
    order[rng.choice(1500, size=60, replace=False)] = 1
    method = HypergeometricSample(rule=StoppingRule(0.95, 0.95), switch=SwitchHeuristic(25, 0.0))
    share = _short_share(method, order, 200, 0.95)
    # at most 5 % short by the rule; 200 runs: allow the binomial noise of 5 % (99.9 % quantile)
    assert share <= stats.binom.ppf(0.999, 200, 0.05) / 200


def test_qbcb_keeps_its_guarantee_on_a_random_ranking() -> None:
    rng = np.random.default_rng(3)
    order = np.zeros(2000, dtype=np.int8)
    order[rng.choice(2000, size=300, replace=False)] = 1
    method = QuantileBinomialBound(recall_target=0.9, confidence=0.95)
    share = _short_share(method, order, 200, 0.9)
    assert share <= stats.binom.ppf(0.999, 200, 0.05) / 200


@pytest.mark.parametrize(("target", "confidence"), [(0.95, 0.95), (0.9, 0.95), (0.99, 0.9), (0.8, 0.99)])
def test_qbcb_targets_follow_the_binomial_definition(target: float, confidence: float) -> None:
    r, j = qbcb_targets(target, confidence)
    alpha = 1 - confidence
    assert stats.binom.sf(j - 1, r, target) <= alpha + 1e-12  # P(X >= j) <= alpha
    assert stats.binom.sf(j - 2, r, target) > alpha  # j is the smallest such count
    assert target ** (r - 1) > alpha  # fewer targets could not certify anything
    with pytest.raises(ValueError):
        qbcb_targets(target, confidence, r=r - 1)


def test_methods_without_a_random_phase_stop_early_on_a_perfect_ranking() -> None:
    order = np.array([1] * 300 + [0] * 3000, dtype=np.int8)  # with few includes no test is sure
    for method in (HypergeometricRanked(), RateBound()):
        stop = method.replay(order, np.random.default_rng(0))
        assert stop.recall == 1.0
        assert stop.share_unscreened > 0.5


def test_capture_recapture_stops_once_the_ranking_has_met_every_sampled_include() -> None:
    order = np.array([1] * 100 + [0] * 3900, dtype=np.int8)
    for seed in range(5):
        # the random capture, drawn as the method draws it: a permutation until 10 includes
        perm = np.random.default_rng(seed).permutation(order.size)
        sample = perm[: int(np.searchsorted(np.cumsum(order[perm]), 10)) + 1]
        met_all = int(sample[order[sample] == 1].max()) + 1  # ranked works to meet them all
        stop = CaptureRecapture(recall_target=0.95).replay(order, np.random.default_rng(seed))
        # then n1 = met_all, m = n2 = 10: Chapman's estimate is n1 itself, so it must stop
        assert stop.stopped
        assert stop.stop_at <= len(set(sample.tolist()) | set(range(met_all)))
        assert stop.found >= 10


def test_knee_stops_when_the_slope_ratio_reaches_its_threshold() -> None:
    order = np.array([1] * 200 + [0] * 3000, dtype=np.int8)
    stop = Knee().replay(order, np.random.default_rng(0))
    # knee at 200; slope before 1, after 1 / (s - 200): the ratio s - 200 reaches
    # 156 - min(200, 150) = 6 at s = 206; tests run every 3200 // 500 = 6 works
    assert stop.recall == 1.0
    assert 206 <= stop.stop_at < 206 + 6


def test_check_order_refuses_what_is_not_labels() -> None:
    for bad in ([], [0, 2], [[0, 1], [1, 3]]):
        with pytest.raises(ValueError):
            check_order(bad)


@pytest.mark.parametrize(("target", "confidence"), [(0.95, 0.95), (0.8, 0.9), (0.99, 0.99)])
def test_default_is_a_listed_method_at_the_asked_target(target: float, confidence: float) -> None:
    method = default_method(target, confidence)
    assert method.key in METHODS
    assert method == RateBound(target, calibrated_level(confidence))
    assert method_by_key("default", target, confidence) == method
    with pytest.raises(UsageError, match="no stopping method 'nope'; use one of: default, heuristic"):
        method_by_key("nope")


def _bound_met_by_definition(order: np.ndarray, screened: int, target: float, level: float) -> bool:
    """The default rule's definition, written out: the tightest one-sided Clopper-Pearson bound
    of the include rate over the latest 100, 200, 400... works (no more than screened), times
    the works left, is what may be missed."""
    found = int(order[:screened].sum())
    upper, width = 1.0, 100
    while width <= screened:
        k = int(order[screened - width : screened].sum())
        upper = min(upper, float(stats.beta.ppf(level, k + 1, width - k)))
        width *= 2
    return found > 0 and found >= target * (found + upper * (order.size - screened))


def test_default_rule_stops_where_its_bound_is_first_met_on_a_constructed_ranking() -> None:
    # 80 includes thinning out over the first 600 works, then 4,400 excludes and 4 late includes
    rng = np.random.default_rng(7)
    head = (rng.random(600) < np.linspace(0.4, 0.02, 600)).astype(np.int8)
    order = np.concatenate([head, np.zeros(4400, dtype=np.int8)])
    order[[2500, 3100, 3900, 4700]] = 1
    method = default_method(0.95, 0.95)
    assert method.confidence == pytest.approx(0.90)
    expected = next(
        (s for s in range(100, order.size) if _bound_met_by_definition(order, s, 0.95, 0.90)), order.size
    )
    stop = method.replay(order, np.random.default_rng(0))
    assert stop.stopped and stop.stop_at == expected
    assert stop.found == int(order[:expected].sum())
    # live, on the decisions so far: met exactly there, never before
    assert method.test(order[:expected], order.size).met
    for s in range(0, expected, 37):
        assert not method.test(order[:s], order.size).met
    assert not method.test(order[: expected - 1], order.size).met
    # what it needs next, from a point in the run of excludes before the stop
    before = method.test(order[: expected - 25], order.size)
    if not order[expected - 25 : expected].any():
        assert before.excludes_needed == 25
    assert 0 < before.recall_bound < 0.95 <= method.test(order[:expected], order.size).recall_bound


def test_default_rule_never_stops_before_its_window_is_screened() -> None:
    order = np.array([1] * 60 + [0] * 39 + [1] + [0] * 5000, dtype=np.int8)
    method = default_method()
    for s in (0, 1, 59, 60, 61, 99):
        result = method.test(order[:s], order.size)
        assert not result.met and result.window is None and result.rate_bound == 1.0
    assert method.replay(order, np.random.default_rng(0)).stop_at >= 100
    nothing = method.test(np.zeros(500, dtype=np.int8), 1000)
    assert not nothing.met and nothing.excludes_needed is None and nothing.recall_bound == 0.0


@settings(max_examples=30, deadline=None)
@given(
    order=st.lists(st.integers(0, 1), min_size=120, max_size=700).filter(lambda o: sum(o) > 0),
    target=st.sampled_from([0.8, 0.95, 0.99]),
    confidence=st.sampled_from([0.9, 0.95]),
)
def test_default_rule_live_and_replayed_agree(order: list[int], target: float, confidence: float) -> None:
    array = np.asarray(order, dtype=np.int8)
    method = RateBound(target, confidence, window=20)
    stop = method.replay(array, np.random.default_rng(0))
    # live, on the decisions up to the replayed stop: met there, not one work earlier
    if stop.stopped:
        assert method.test(array[: stop.stop_at], array.size).met
    assert not method.test(array[: stop.stop_at - 1], array.size).met
    assert stop.found == int(array[: stop.stop_at].sum())
    # the excludes it says it needs are exactly what meets it
    at = max(20, stop.stop_at // 2)
    now = method.test(array[:at], array.size)
    assert now.screened == at and now.includes == int(array[:at].sum())
    if now.excludes_needed:
        padded = np.concatenate([array[:at], np.zeros(now.excludes_needed, dtype=np.int8)])
        assert method.test(padded, array.size).met
        assert not method.test(padded[:-1], array.size).met


@settings(max_examples=200, deadline=None)
@given(
    millionths=st.integers(1, 999_999),
    pairs=st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 5_000)), min_size=1, max_size=30),
)
def test_k_targets_of_many_tests_are_the_rules_own(millionths: int, pairs: list[tuple[int, int]]) -> None:
    """The replayed tests' K_tar, all at once, is the live rule's for each (r_AL, r_seen);
    also where r_seen / target is a whole number, the case a float division gets wrong."""
    rule = StoppingRule(recall_target=millionths / 1_000_000)
    numerator = Fraction(millionths, 1_000_000).numerator
    pairs = [*pairs, *((m * numerator // 2, m * numerator - m * numerator // 2) for m in range(1, 40))]
    before = np.array([b for b, _ in pairs], dtype=np.int64)
    seen = np.array([b + k for b, k in pairs], dtype=np.int64)
    assert _k_targets(rule, before, seen).tolist() == [rule.k_target(b, k) for b, k in pairs]
