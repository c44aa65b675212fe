"""The hypergeometric stopping rule, checked against the paper's formulas and independent maths."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoping.errors import UsageError
from scoping.screen.stop_rule import (
    StoppingRule,
    StoppingTracker,
    SwitchHeuristic,
    hypergeom_cdf,
)


def exact_cdf(k: int, population: int, successes: int, draws: int) -> Fraction:
    """P(X <= k), in exact rational arithmetic from binomial coefficients."""
    total = math.comb(population, draws)
    return sum(
        (
            Fraction(math.comb(successes, i) * math.comb(population - successes, draws - i), total)
            for i in range(k + 1)
        ),
        Fraction(0),
    )


@pytest.mark.parametrize(
    ("k", "population", "successes", "draws"),
    [
        (0, 10, 3, 4),
        (1, 10, 3, 4),
        (2, 50, 10, 20),
        (0, 1000, 3, 600),
        (3, 1000, 12, 400),
        (5, 2000, 40, 900),
        (0, 5, 5, 1),
        (1, 7, 0, 3),
        (4, 300, 60, 299),
        (0, 100, 1, 100),
        (10, 40_000, 150, 9_000),
    ],
)
def test_cdf_agrees_with_exact_fractions_and_scipy(
    k: int, population: int, successes: int, draws: int
) -> None:
    ours = hypergeom_cdf(k, population, successes, draws)
    assert ours == pytest.approx(float(exact_cdf(k, population, successes, draws)), rel=1e-9, abs=1e-300)
    # scipy's argument order: (k, M = population, n = successes, N = draws)
    assert ours == pytest.approx(stats.hypergeom.cdf(k, population, successes, draws), rel=1e-9, abs=1e-12)


def test_cdf_rejects_impossible_parameters() -> None:
    with pytest.raises(ValueError):
        hypergeom_cdf(0, 10, 11, 3)
    with pytest.raises(ValueError):
        hypergeom_cdf(0, 10, 3, 11)


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 0.99])
def test_k_target_is_the_fewest_remaining_includes_that_miss_the_target(target: float) -> None:
    rule = StoppingRule(recall_target=target)
    for before in range(0, 120, 7):
        for in_sample in range(0, 9):
            seen = before + in_sample
            k_tar = rule.k_target(before, in_sample)
            # the paper's formula: K_tar = floor(r_seen / tau - r_AL + 1)
            assert k_tar == math.floor(Fraction(seen) / Fraction(str(target)) - before + 1)
            # its meaning: with K_tar includes in the sampled population recall < target, with
            # one fewer it is not (K counts the includes found in the sample too)
            assert Fraction(seen, before + k_tar) < Fraction(str(target))
            if before + k_tar - 1 > 0:
                assert Fraction(seen, before + k_tar - 1) >= Fraction(str(target))


@settings(max_examples=300, deadline=None)
@given(
    millionths=st.integers(1, 999_999),
    before=st.integers(0, 100_000),
    in_sample=st.integers(0, 5_000),
)
def test_k_target_is_the_papers_formula_for_any_target(millionths: int, before: int, in_sample: int) -> None:
    target = millionths / 1_000_000
    expected = math.floor(Fraction(before + in_sample) / Fraction(str(target)) - before + 1)
    assert StoppingRule(recall_target=target).k_target(before, in_sample) == expected


def test_k_target_is_exact_at_the_boundary() -> None:
    # 19 seen / 0.95 = 20 exactly: a float division would give 20.000000000000004
    assert StoppingRule(0.95).k_target(19, 0) == 2
    assert StoppingRule(0.95).k_target(40, 0) == 3
    assert StoppingRule(0.95).k_target(0, 0) == 1


def test_p_value_is_the_papers_hypergeometric_tail() -> None:
    rule = StoppingRule(0.95, 0.95)
    # 100 includes found by rank, 2,000 works left; 800 sampled, 1 include among them
    p = rule.p_value(population=2000, n_sampled=800, includes_in_sample=1, includes_before=100)
    k_tar = math.floor(Fraction(101) / Fraction(19, 20) - 100 + 1)
    assert k_tar == 7
    independent = sum(math.comb(k_tar, i) * math.comb(2000 - k_tar, 800 - i) for i in range(2)) / math.comb(
        2000, 800
    )
    assert p == pytest.approx(independent, rel=1e-9)
    assert p == pytest.approx(stats.hypergeom.cdf(1, 2000, k_tar, 800), rel=1e-9)


def test_p_value_falls_as_the_sample_grows_and_rises_with_each_include() -> None:
    rule = StoppingRule()
    ps = [
        rule.p_value(population=1000, n_sampled=n, includes_in_sample=0, includes_before=60)
        for n in range(0, 1001, 50)
    ]
    assert ps[0] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(ps))
    assert ps[-1] == 0.0  # everything screened: recall is known exactly
    assert rule.p_value(
        population=1000, n_sampled=500, includes_in_sample=1, includes_before=60
    ) > rule.p_value(population=1000, n_sampled=500, includes_in_sample=0, includes_before=60)


def test_rule_passes_once_all_is_sampled_whatever_was_found() -> None:
    rule = StoppingRule()
    for found in (0, 1, 5, 30):
        test = rule.test(population=200, n_sampled=200, includes_in_sample=found, includes_before=10)
        assert test.met and test.p_value == 0.0
        assert test.recall_lower_bound == 1.0


def test_recall_bound_and_decision_agree() -> None:
    rule = StoppingRule(0.95, 0.95)
    for n in range(0, 1001, 25):
        for k in (0, 1, 3):
            test = rule.test(population=1000, n_sampled=max(n, k), includes_in_sample=k, includes_before=80)
            # the rule is met exactly when the bound clears the target
            assert test.met == (test.recall_lower_bound >= 0.95), (n, k, test)
            assert 0 <= test.recall_lower_bound <= 1


def test_recall_estimate() -> None:
    test = StoppingRule().test(population=1000, n_sampled=500, includes_in_sample=2, includes_before=98)
    # 2 of 500 sampled -> about 2 more among the 500 unsampled: recall 100 / 102
    assert test.recall_estimate == pytest.approx(100 / 102)
    assert test.to_dict()["p_value"] == test.p_value


def test_rule_parameters_are_checked() -> None:
    with pytest.raises(UsageError, match="recall target"):
        StoppingRule(recall_target=95)
    with pytest.raises(UsageError, match="confidence"):
        StoppingRule(confidence=1.0)
    assert "95%" in StoppingRule().describe()
    assert StoppingRule(0.9, 0.99).to_dict()["confidence"] == 0.99


def test_rule_keeps_its_promise_when_recall_is_below_target() -> None:
    """Monte Carlo: a review whose ranked phase missed 10 % of the includes.

    The rule must (at 95 % confidence) rarely stop before recall reaches 95 %.
    """
    rule = StoppingRule(0.95, 0.95)
    rng = np.random.default_rng(7)
    population, remaining_includes, before = 600, 6, 54  # recall 54/60 = 0.9 at the switch
    urn = np.zeros(population, dtype=bool)
    urn[:remaining_includes] = True
    failures = 0
    runs = 200
    for _ in range(runs):
        tracker = StoppingTracker(n_total=before * 10 + population, rule=rule, detailed=False)
        tracker.n_screened = tracker.n_total - population
        tracker.includes_found = before
        tracker.start_sampling()
        for include in rng.permutation(urn):
            if tracker.add_sampled(bool(include)).met:
                break
        recall = tracker.includes_found / (before + remaining_includes)
        failures += recall < 0.95
    assert failures / runs <= 0.08, failures  # 5 % nominal, plus Monte Carlo slack


def test_rule_stops_early_when_little_is_left() -> None:
    """The other side: with everything found by rank, it should stop well before the end."""
    rule = StoppingRule(0.95, 0.95)
    tracker = StoppingTracker(n_total=5000, rule=rule)
    for _ in range(300):
        tracker.add_ranked(True)
    for _ in range(700):
        tracker.add_ranked(False)
    tracker.start_sampling()
    while tracker.stopped_at is None:
        tracker.add_sampled(False)
    # K_tar = floor(300/0.95 - 300 + 1) = 16: about 1 - 0.05**(1/16) = 17 % of the 4,000
    assert tracker.population == 4000
    assert 500 < tracker.n_sampled < 900
    assert tracker.stopped_at == 1000 + tracker.n_sampled
    assert tracker.phase == "stopped"


def test_tracker_phases_and_misuse() -> None:
    tracker = StoppingTracker(n_total=100, heuristic=SwitchHeuristic(min_run=10, run_fraction=0))
    assert tracker.phase == "ranked" and not tracker.switch_suggested
    with pytest.raises(ValueError, match="start_sampling"):
        tracker.add_sampled(False)
    for _ in range(10):
        tracker.add_ranked(False)
    assert not tracker.switch_suggested  # no include found yet: the ranking has not started
    tracker.add_ranked(True)
    for _ in range(9):
        tracker.add_ranked(False)
    assert not tracker.switch_suggested
    tracker.add_ranked(False)
    assert tracker.switch_suggested
    tracker.start_sampling()
    assert tracker.phase == "sampling" and tracker.population == 79
    assert tracker.includes_before == 1
    with pytest.raises(ValueError, match="add_sampled"):
        tracker.add_ranked(False)
    with pytest.raises(ValueError, match="already"):
        tracker.start_sampling()
    test = tracker.add_sampled(False)
    assert not test.met and tracker.last_test is test
    assert 0 < test.p_value <= 1


def test_switch_heuristic() -> None:
    heuristic = SwitchHeuristic(min_run=50, run_fraction=0.05)
    assert heuristic.run_needed(400) == 50
    assert heuristic.run_needed(10_000) == 500
    assert heuristic.should_switch(n_total=400, n_screened=100, includes_found=3, excludes_in_a_row=50)
    assert not heuristic.should_switch(n_total=400, n_screened=100, includes_found=3, excludes_in_a_row=49)
    assert not SwitchHeuristic(min_screened_fraction=0.5).should_switch(
        n_total=400, n_screened=100, includes_found=3, excludes_in_a_row=100
    )


def test_automation_exclusion_for_prisma() -> None:
    rule = StoppingRule(0.95, 0.95)
    test = rule.test(population=4000, n_sampled=900, includes_in_sample=0, includes_before=300)
    assert test.met
    record = rule.automation_exclusion(test, 3100)
    assert record["count"] == 3100 and record["category"] == "excluded by automation tools"
    assert record["recall_target"] == 0.95 and record["confidence"] == 0.95
    assert "900 of 4,000 works, 0 include(s)" in record["note"]
    assert "Callaghan & Müller-Hansen 2020" in record["note"]
    not_met = rule.test(population=4000, n_sampled=10, includes_in_sample=0, includes_before=300)
    with pytest.raises(ValueError, match="not met"):
        rule.automation_exclusion(not_met, 3990)


@settings(max_examples=150, deadline=None)
@given(
    population=st.integers(1, 3000),
    before=st.integers(0, 200),
    drawn=st.floats(0, 1),
    share=st.floats(0, 0.2),
    target=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    confidence=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_excludes_needed_is_the_fewest_that_meet_the_rule(
    population: int, before: int, drawn: float, share: float, target: float, confidence: float
) -> None:
    rule = StoppingRule(recall_target=target, confidence=confidence)
    n = int(drawn * population)
    k = int(share * n)
    needed = rule.excludes_needed(
        population=population, includes_before=before, n_sampled=n, includes_in_sample=k
    )
    assert 0 <= needed <= population - n

    def met(extra: int) -> bool:
        return rule.test(
            population=population, n_sampled=n + extra, includes_in_sample=k, includes_before=before
        ).met

    assert met(needed)
    if needed:
        assert not met(needed - 1)
