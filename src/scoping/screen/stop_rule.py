"""When screening can stop: the hypergeometric test of Callaghan & Müller-Hansen (2020).

Callaghan, M.W. & Müller-Hansen, F. (2020). Statistical stopping criteria for automated
screening in systematic reviews. *Systematic Reviews* 9, 273. doi:10.1186/s13643-020-01521-4

A review screens in two phases. First the works the model ranks highest (the *ranked phase*);
its order is chosen, so it says nothing about what is left. Then, when a heuristic suggests the
ranking has run dry (:class:`SwitchHeuristic`), the reviewers screen the remaining works in a
random order (the *sampling phase*). The random sample is what the test uses.

Notation (the paper's): ``N`` works were unscreened when sampling began, ``r_AL`` includes were
found before it, ``n`` works have been sampled since and ``k`` of them were includes, so
``r_seen = r_AL + k`` includes are known. If ``K`` of the ``N`` works are includes, recall is
``r_seen / (r_AL + K)``. The null hypothesis is that recall is below the target ``τ``; the
smallest ``K`` for which that is so is

    ``K_tar = ⌊ r_seen / τ − r_AL + 1 ⌋``

and the p-value is the chance of drawing ``k`` or fewer includes in ``n`` random draws without
replacement from ``N`` works of which ``K_tar`` are includes (a larger ``K`` only makes so few
less likely), the hypergeometric distribution function::

    p = Σ_{i=0..k} C(K_tar, i) · C(N − K_tar, n − i) / C(N, n)

Screening may stop once ``p < 1 − confidence``: then, at that confidence, recall is at least
``τ``. The test is run after every sampled work (:class:`StoppingTracker`). Works left
unscreened when it passes are excluded by automation; :meth:`StoppingRule.describe` and
:meth:`StopTest.to_dict` give what PRISMA needs to say so.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from scoping.errors import UsageError

__all__ = [
    "STOPPING_METHODS",
    "StopTest",
    "StoppingRule",
    "StoppingTracker",
    "SwitchHeuristic",
    "hypergeom_cdf",
]


STOPPING_METHODS = (
    "heuristic",
    "hypergeom-sample",
    "hypergeom-ranked",
    "rate-bound",
    "qbcb",
    "capture",
    "knee",
)
"""The keys of the methods in :mod:`scoping.screen.stop_methods` (named here, where importing
costs nothing, for the command line's choices)."""


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_cdf(k: int, population: int, successes: int, draws: int) -> float:
    """P(X ≤ k) for X the number of successes in ``draws`` draws without replacement.

    ``population`` items hold ``successes`` successes. Summed term by term in log space
    (exact enough for populations in the millions); 0 and 1 at the ends of the support.
    """
    if min(k, population, successes, draws) < 0 or successes > population or draws > population:
        raise ValueError(
            f"invalid hypergeometric parameters: k={k}, N={population}, K={successes}, n={draws}"
        )
    lowest = max(0, draws - (population - successes))  # fewest successes a draw can hold
    highest = min(draws, successes)
    if k < lowest:
        return 0.0
    if k >= highest:
        return 1.0
    log_total = _log_comb(population, draws)
    terms = [
        _log_comb(successes, i) + _log_comb(population - successes, draws - i) - log_total
        for i in range(lowest, k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


@functools.lru_cache(maxsize=64)
def _fraction(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1_000_000)


@dataclass(frozen=True, slots=True)
class StopTest:
    """The outcome of one test, after ``n_sampled`` random draws."""

    p_value: float
    """Chance of a sample this poor in includes if recall were below the target."""
    met: bool
    """``p_value < 1 − confidence``: screening can stop."""
    k_target: int
    """``K_tar``: the fewest includes among the sampled population that would miss the target."""
    population: int
    """``N``: works unscreened when random sampling began."""
    n_sampled: int
    includes_in_sample: int
    includes_before: int
    """``r_AL``: includes found before random sampling began."""
    recall_estimate: float
    """Point estimate of recall so far (the sample's include rate applied to the unsampled rest)."""
    recall_lower_bound: float
    """Recall is at least this at the rule's confidence (0 before any evidence)."""
    recall_target: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """The hypergeometric stopping rule for a recall target, at a confidence level."""

    recall_target: float = 0.95
    confidence: float = 0.95

    name = "hypergeometric stopping rule (Callaghan & Müller-Hansen 2020)"

    def __post_init__(self) -> None:
        for label, value in (("recall target", self.recall_target), ("confidence", self.confidence)):
            if not 0 < value < 1:
                raise UsageError(
                    f"the stopping rule's {label} must be between 0 and 1 (exclusive), not {value}; e.g. 0.95"
                )

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence

    def k_target(self, includes_before: int, includes_in_sample: int) -> int:
        """``K_tar = ⌊ r_seen / τ − r_AL + 1 ⌋``, computed exactly: with τ = p/q in lowest
        terms it is ``r_seen · q // p − r_AL + 1`` in integers (the test runs after every
        sampled work, and the same in :class:`fractions.Fraction` arithmetic cost about 0.1 ms
        a call)."""
        seen = includes_before + includes_in_sample
        target = _fraction(self.recall_target)
        return seen * target.denominator // target.numerator - includes_before + 1

    def p_value(
        self, *, population: int, n_sampled: int, includes_in_sample: int, includes_before: int
    ) -> float:
        """The p-value of "recall is below the target" after ``n_sampled`` random draws."""
        _check_counts(population, n_sampled, includes_in_sample, includes_before)
        k_tar = self.k_target(includes_before, includes_in_sample)
        if k_tar > population:
            return 0.0  # even if every unscreened work were an include, recall would reach the target
        return hypergeom_cdf(includes_in_sample, population, k_tar, n_sampled)

    def test(
        self,
        *,
        population: int,
        n_sampled: int,
        includes_in_sample: int,
        includes_before: int,
        detailed: bool = True,
    ) -> StopTest:
        """Run the test; see the module docstring for the notation.

        ``detailed=False`` skips the recall estimate and bound (NaN), for speed.
        """
        p = self.p_value(
            population=population,
            n_sampled=n_sampled,
            includes_in_sample=includes_in_sample,
            includes_before=includes_before,
        )
        seen = includes_before + includes_in_sample
        unsampled = population - n_sampled
        if not detailed:
            estimate = bound = float("nan")
        elif n_sampled:
            remaining = includes_in_sample / n_sampled * unsampled
            estimate = seen / (seen + remaining) if seen + remaining > 0 else 1.0
        else:
            estimate = float("nan")
        if detailed:
            bound = self.recall_lower_bound(
                population=population,
                n_sampled=n_sampled,
                includes_in_sample=includes_in_sample,
                includes_before=includes_before,
            )
        return StopTest(
            p_value=p,
            met=p < self.alpha,
            k_target=self.k_target(includes_before, includes_in_sample),
            population=population,
            n_sampled=n_sampled,
            includes_in_sample=includes_in_sample,
            includes_before=includes_before,
            recall_estimate=estimate,
            recall_lower_bound=bound,
            recall_target=self.recall_target,
            confidence=self.confidence,
        )

    def recall_lower_bound(
        self, *, population: int, n_sampled: int, includes_in_sample: int, includes_before: int
    ) -> float:
        """The lowest recall not rejected at the rule's confidence.

        The largest number ``K`` of includes among the ``N`` sampled-from works for which
        ``P(X ≤ k) ≥ 1 − confidence`` bounds the includes there; recall is at least
        ``r_seen / (r_AL + K)``. 0 when nothing is known yet.
        """
        _check_counts(population, n_sampled, includes_in_sample, includes_before)
        seen = includes_before + includes_in_sample
        if seen == 0:
            return 0.0
        low = includes_in_sample  # P(X <= k | K = k) = 1: never rejected
        high = includes_in_sample + (population - n_sampled)  # the most K can be
        if hypergeom_cdf(includes_in_sample, population, high, n_sampled) >= self.alpha:
            low = high
        else:  # largest K with cdf >= alpha, by bisection (the cdf falls as K grows)
            while high - low > 1:
                mid = (low + high) // 2
                if hypergeom_cdf(includes_in_sample, population, mid, n_sampled) >= self.alpha:
                    low = mid
                else:
                    high = mid
        return seen / (includes_before + low)

    def excludes_needed(
        self, *, population: int, includes_before: int, n_sampled: int = 0, includes_in_sample: int = 0
    ) -> int:
        """How many more sampled works, all excludes, would meet the rule (0: met already).

        The p-value falls as excludes are added to the sample (``K_tar`` stays, the draws
        grow), so the fewest is found by bisection; sampling the whole population always
        meets it (every include left would then have been seen).
        """
        _check_counts(population, n_sampled, includes_in_sample, includes_before)

        def met(extra: int) -> bool:
            return (
                self.p_value(
                    population=population,
                    n_sampled=n_sampled + extra,
                    includes_in_sample=includes_in_sample,
                    includes_before=includes_before,
                )
                < self.alpha
            )

        low, high = 0, population - n_sampled
        if met(low):
            return 0
        while high - low > 1:  # met(high) holds, met(low) does not
            mid = (low + high) // 2
            if met(mid):
                high = mid
            else:
                low = mid
        return high

    def describe(self) -> str:
        """One line for PRISMA notes and logs."""
        return f"{self.name}: target recall {self.recall_target:.0%}, confidence {self.confidence:.0%}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": "callaghan-mueller-hansen-2020",
            "description": self.describe(),
            "recall_target": self.recall_target,
            "confidence": self.confidence,
        }

    def automation_exclusion(self, test: StopTest, n_unscreened: int) -> dict[str, Any]:
        """What PRISMA records for the works left unscreened once ``test`` met the rule.

        PRISMA 2020 counts them as "excluded by automation tools"; the note names the rule,
        its parameters and the evidence (sample size, includes in it, p-value).
        """
        if not test.met:
            raise ValueError("the stopping rule is not met: no work may be excluded by it")
        return {
            "count": n_unscreened,
            "category": "excluded by automation tools",
            "note": (
                f"{self.describe()}; random sample of {test.n_sampled:,} of "
                f"{test.population:,} works, {test.includes_in_sample} include(s) in it, "
                f"p = {test.p_value:.4f}"
            ),
            **self.to_dict(),
            "test": test.to_dict(),
        }


def _check_counts(population: int, n_sampled: int, includes_in_sample: int, includes_before: int) -> None:
    if (
        population < 0
        or includes_before < 0
        or not 0 <= n_sampled <= population
        or not 0 <= includes_in_sample <= n_sampled
    ):
        raise ValueError(
            f"inconsistent counts: population={population}, sampled={n_sampled}, "
            f"includes in sample={includes_in_sample}, before={includes_before}"
        )


@dataclass(frozen=True, slots=True)
class SwitchHeuristic:
    """When to stop screening by rank and start the random sample the test needs.

    Switch once the last ``max(min_run, run_fraction × N)`` works screened in ranked order were
    all excludes (``N``: works in the review), at least one include has been found, and at
    least ``min_screened_fraction`` of the review has been screened. A run of excludes means
    the ranking has little left to find, so a random sample of the rest is likely to contain
    few includes, which is what lets the test pass early.

    The heuristic only decides when sampling starts; the recall guarantee comes from the test
    alone, whatever the heuristic says.
    """

    min_run: int = 50
    run_fraction: float = 0.05
    min_screened_fraction: float = 0.0

    def run_needed(self, n_total: int) -> int:
        return max(self.min_run, math.ceil(self.run_fraction * n_total))

    def should_switch(
        self, *, n_total: int, n_screened: int, includes_found: int, excludes_in_a_row: int
    ) -> bool:
        if includes_found == 0 or n_screened >= n_total:
            return False
        if n_screened < self.min_screened_fraction * n_total:
            return False
        return excludes_in_a_row >= self.run_needed(n_total)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class StoppingTracker:
    """Follows one review's screening decisions in order and says when the rule is met.

    Feed every decision as it is made: :meth:`add_ranked` in the ranked phase, then, after
    :meth:`start_sampling` (when :attr:`switch_suggested` or whenever the team decides),
    :meth:`add_sampled` for each work screened from the random sample; each returns the test.
    The tracker only counts; the caller keeps the random order (draw it from the works
    unscreened at :meth:`start_sampling`, uniformly, e.g. ``numpy.random.Generator.permutation``).
    """

    n_total: int
    rule: StoppingRule = field(default_factory=StoppingRule)
    heuristic: SwitchHeuristic = field(default_factory=SwitchHeuristic)
    detailed: bool = True
    """Compute the recall estimate and bound with every test (off: p-values only, faster)."""
    n_screened: int = 0
    includes_found: int = 0
    excludes_in_a_row: int = 0
    population: int | None = None
    """Works unscreened when sampling started (``None`` during the ranked phase)."""
    includes_before: int = 0
    n_sampled: int = 0
    includes_in_sample: int = 0
    last_test: StopTest | None = None
    stopped_at: int | None = None
    """Works screened when the rule was first met."""

    @property
    def phase(self) -> str:
        if self.stopped_at is not None:
            return "stopped"
        return "ranked" if self.population is None else "sampling"

    @property
    def switch_suggested(self) -> bool:
        return self.population is None and self.heuristic.should_switch(
            n_total=self.n_total,
            n_screened=self.n_screened,
            includes_found=self.includes_found,
            excludes_in_a_row=self.excludes_in_a_row,
        )

    def add_ranked(self, include: bool) -> None:
        if self.population is not None:
            raise ValueError("random sampling has started: record decisions with add_sampled")
        self._count(include)

    def start_sampling(self) -> None:
        if self.population is not None:
            raise ValueError("random sampling has already started")
        self.population = self.n_total - self.n_screened
        self.includes_before = self.includes_found

    def add_sampled(self, include: bool) -> StopTest:
        if self.population is None:
            raise ValueError("call start_sampling() before recording sampled decisions")
        if self.n_sampled >= self.population:
            raise ValueError("every work of the random sample has been screened already")
        self._count(include)
        self.n_sampled += 1
        self.includes_in_sample += int(include)
        test = self.rule.test(
            population=self.population,
            n_sampled=self.n_sampled,
            includes_in_sample=self.includes_in_sample,
            includes_before=self.includes_before,
            detailed=self.detailed,
        )
        self.last_test = test
        if test.met and self.stopped_at is None:
            self.stopped_at = self.n_screened
        return test

    def _count(self, include: bool) -> None:
        self.n_screened += 1
        if include:
            self.includes_found += 1
            self.excludes_in_a_row = 0
        else:
            self.excludes_in_a_row += 1
