"""Agreement between two reviewers: percent agreement, Cohen's kappa with a 95 % confidence
interval, PABAK, Gwet's AC1, and the Landis-Koch label.

For two raters who rated the same ``n`` works into ``q`` categories, with ``p[k][l]`` the share
of works the first put in ``k`` and the second in ``l``, ``r`` and ``c`` the row and column
shares and ``pi = (r + c) / 2``:

- percent agreement ``po = sum p[k][k]``;
- Cohen's kappa ``(po - pe) / (1 - pe)`` with ``pe = sum r[k] c[k]`` (Cohen 1960). Its standard
  error is the large-sample one of Fleiss, Cohen and Everitt (1969), which does not assume
  kappa is zero; the interval is ``kappa ± t(0.975, n - 1) · se``, as in Gwet's *Handbook of
  Inter-Rater Reliability* (4th ed., 2014), whose worked examples the tests reproduce;
- PABAK, the prevalence- and bias-adjusted kappa ``(q · po - 1) / (q - 1)`` (Byrt, Bishop and
  Carlin 1993; ``2 po - 1`` for two categories);
- Gwet's AC1 ``(po - pe) / (1 - pe)`` with ``pe = sum pi[k] (1 - pi[k]) / (q - 1)`` (Gwet 2008),
  with Gwet's variance and the same kind of interval;
- the Landis and Koch (1977) label of kappa: poor (< 0), slight (0-0.20), fair (0.21-0.40),
  moderate (0.41-0.60), substantial (0.61-0.80), almost perfect (0.81-1).

The categories ``q`` are those either reviewer of the pair used (at least two), so two
reviewers who only ever said include or exclude get the usual two-category figures even if
others used "maybe". Undefined figures (kappa when both reviewers put every work in the same
single category; an interval from fewer than two works) are ``None``.

:func:`team_agreement` computes the figures for every pair of reviewers at a stage, each on the
works both of them screened, so reviewers who screened different, partly overlapping subsets
are compared only where they overlap. Leads only: the figures describe other people's
decisions.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations

from scoping.screen.protocol import TITLE_ABSTRACT, Protocol
from scoping.store import Store
from scoping.store import screen_tables as tables

__all__ = ["Agreement", "PairAgreement", "agreement", "agreement_from_table", "landis_koch", "team_agreement"]


@dataclass(frozen=True, slots=True)
class Agreement:
    n: int
    categories: tuple[Hashable, ...]
    percent: float
    """Percent agreement, 0-100."""
    kappa: float | None
    kappa_se: float | None
    kappa_ci: tuple[float, float] | None
    pabak: float | None
    ac1: float | None
    ac1_se: float | None
    ac1_ci: tuple[float, float] | None
    label: str
    """Landis-Koch label of kappa ("n/a" when kappa is undefined)."""


def landis_koch(kappa: float | None) -> str:
    """Landis and Koch's (1977) words for a kappa value."""
    if kappa is None or math.isnan(kappa):
        return "n/a"
    if kappa < 0:
        return "poor"
    for limit, word in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if kappa <= limit + 1e-12:
            return word
    return "almost perfect"


def _t975(df: int) -> float:
    from scipy.special import stdtrit  # comes with scikit-learn

    return float(stdtrit(df, 0.975))


def _interval(value: float, se: float, n: int) -> tuple[float, float] | None:
    if n < 2 or math.isnan(se):
        return None
    half = _t975(n - 1) * se
    return (value - half, value + half)


def agreement_from_table(
    table: Sequence[Sequence[int]], categories: Sequence[Hashable] | None = None
) -> Agreement:
    """The figures from a square table of counts (rows: first reviewer; columns: second)."""
    q = len(table)
    if q == 0 or any(len(row) != q for row in table):
        raise ValueError("the table must be square and not empty")
    cats = tuple(categories) if categories is not None else tuple(range(q))
    n = sum(sum(row) for row in table)
    if n == 0:
        return Agreement(0, cats, math.nan, None, None, None, None, None, None, None, "n/a")
    p = [[cell / n for cell in row] for row in table]
    rows = [sum(row) for row in p]
    cols = [sum(p[k][col] for k in range(q)) for col in range(q)]
    po = sum(p[k][k] for k in range(q))

    kappa = kappa_se = None
    kappa_ci = None
    pe = sum(rows[k] * cols[k] for k in range(q))
    if pe < 1 - 1e-12:
        kappa = (po - pe) / (1 - pe)
        # Fleiss, Cohen & Everitt (1969): large-sample variance, not assuming kappa = 0
        a = sum(p[k][k] * (1 - (rows[k] + cols[k]) * (1 - kappa)) ** 2 for k in range(q))
        b = (1 - kappa) ** 2 * sum(
            p[k][m] * (cols[k] + rows[m]) ** 2 for k in range(q) for m in range(q) if k != m
        )
        c = (kappa - pe * (1 - kappa)) ** 2
        variance = max(0.0, (a + b - c) / (n * (1 - pe) ** 2))
        kappa_se = math.sqrt(variance)
        kappa_ci = _interval(kappa, kappa_se, n)

    pabak = ac1 = ac1_se = None
    ac1_ci = None
    if q >= 2:
        pabak = (q * po - 1) / (q - 1)
        pi = [(rows[k] + cols[k]) / 2 for k in range(q)]
        pe_g = sum(x * (1 - x) for x in pi) / (q - 1)
        ac1 = (po - pe_g) / (1 - pe_g)
        # Gwet (2008), two raters: variance of AC1 not assuming independence of the raters
        s1 = sum(p[k][k] * (1 - pi[k]) for k in range(q)) / (q - 1)
        s2 = sum(p[k][m] * (1 - (pi[k] + pi[m]) / 2) ** 2 for k in range(q) for m in range(q)) / (q - 1) ** 2
        variance = (
            po * (1 - po) - 4 * (1 - ac1) * (s1 - po * pe_g) + 4 * (1 - ac1) ** 2 * (s2 - pe_g**2)
        ) / (n * (1 - pe_g) ** 2)
        ac1_se = math.sqrt(max(0.0, variance))
        ac1_ci = _interval(ac1, ac1_se, n)
    return Agreement(
        n=n,
        categories=cats,
        percent=100 * po,
        kappa=kappa,
        kappa_se=kappa_se,
        kappa_ci=kappa_ci,
        pabak=pabak,
        ac1=ac1,
        ac1_se=ac1_se,
        ac1_ci=ac1_ci,
        label=landis_koch(kappa),
    )


_ORDER = {"include": 0, "exclude": 1, "maybe": 2, "not-retrieved": 3}


def agreement(
    first: Sequence[Hashable], second: Sequence[Hashable], categories: Sequence[Hashable] | None = None
) -> Agreement:
    """The figures for two reviewers' ratings of the same works (``first[i]`` and ``second[i]``
    rate work ``i``). ``categories`` defaults to those either used (at least two)."""
    if len(first) != len(second):
        raise ValueError("both reviewers must rate the same works")
    if categories is None:
        used = sorted(set(first) | set(second), key=lambda c: (_ORDER.get(str(c), 9), str(c)))
        if len(used) == 1:
            used.append("exclude" if used[0] != "exclude" else "include")
        if not used:
            used = ["include", "exclude"]
        categories = used
    index = {c: i for i, c in enumerate(categories)}
    table = [[0] * len(categories) for _ in categories]
    for a, b in zip(first, second, strict=True):
        if a not in index or b not in index:
            raise ValueError(f"a rating outside the categories: {a!r} / {b!r}")
        table[index[a]][index[b]] += 1
    return agreement_from_table(table, categories)


@dataclass(frozen=True, slots=True)
class PairAgreement:
    first: str
    second: str
    figures: Agreement


def team_agreement(
    store: Store, protocol: Protocol, viewer: str, stage: str = TITLE_ABSTRACT
) -> list[PairAgreement]:
    """Agreement of every pair of reviewers on the works both screened at ``stage``, from
    their current decisions. Pairs without a shared work are left out. Leads only."""
    protocol.lead(viewer)
    protocol.stage(stage)
    by_reviewer: dict[str, dict[int, str]] = {}
    for (work, name), row in tables.current_decisions(store, stage).items():
        by_reviewer.setdefault(name, {})[work] = row.decision
    order = {r.name: i for i, r in enumerate(protocol.reviewers)}
    names = sorted(by_reviewer, key=lambda n: (order.get(n, len(order)), n))
    out = []
    for a, b in combinations(names, 2):
        shared = sorted(by_reviewer[a].keys() & by_reviewer[b].keys())
        if not shared:
            continue
        figures = agreement([by_reviewer[a][w] for w in shared], [by_reviewer[b][w] for w in shared])
        out.append(PairAgreement(a, b, figures))
    return out
