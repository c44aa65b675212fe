"""Agreement figures against published worked examples and scikit-learn."""

from __future__ import annotations

import math
import random
from itertools import combinations
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from scoping.errors import UsageError
from scoping.screen import (
    TITLE_ABSTRACT,
    agreement,
    agreement_from_table,
    assign_works,
    landis_koch,
    load_protocol,
    record_decision,
    team_agreement,
)
from scoping.store import screen_tables as tables
from test_screen_support import LEAD, cached_review, team_protocol

# Gwet, K.L. (2014) Handbook of Inter-Rater Reliability, 4th ed.: 100 pregnant women classified
# by two abstractors (rows: abstractor 1; columns: abstractor 2) into ectopic, abnormal
# intrauterine and normal intrauterine pregnancy. Published: kappa 0.796 (95% CI 0.680 to
# 0.913), AC1 0.849 (0.764 to 0.935); the figures as given by Gwet's irrCAC package.
ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]
# 223 psychiatric patients, clinical against research diagnosis (same sources): kappa 0.432
# (se 0.046, 95% CI 0.341 to 0.522), AC1 0.456 (se 0.043, 0.371 to 0.542).
DIAGNOSIS = [[40, 4, 4, 17], [6, 25, 2, 13], [4, 1, 21, 12], [15, 5, 9, 45]]


def r3(value: float | None) -> float:
    assert value is not None
    return round(value, 3)


def test_gwet_handbook_abstractors() -> None:
    f = agreement_from_table(ABSTRACTORS)
    assert f.n == 100 and f.percent == pytest.approx(89.0)
    assert r3(f.kappa) == 0.796
    assert f.kappa_ci is not None and tuple(map(r3, f.kappa_ci)) == (0.680, 0.913)
    assert r3(f.ac1) == 0.849
    assert f.ac1_ci is not None and tuple(map(r3, f.ac1_ci)) == (0.764, 0.935)
    assert f.pabak == pytest.approx((3 * 0.89 - 1) / 2)
    assert f.label == "substantial"


def test_gwet_handbook_diagnosis() -> None:
    f = agreement_from_table(DIAGNOSIS)
    assert r3(f.kappa) == 0.432 and r3(f.kappa_se) == 0.046
    assert f.kappa_ci is not None and tuple(map(r3, f.kappa_ci)) == (0.341, 0.522)
    assert r3(f.ac1) == 0.456 and r3(f.ac1_se) == 0.043
    assert f.ac1_ci is not None and tuple(map(r3, f.ac1_ci)) == (0.371, 0.542)
    assert f.label == "moderate"


@pytest.mark.parametrize("seed", range(8))
def test_kappa_matches_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    labels = ["include", "exclude", "maybe"][: 2 + seed % 2]
    first = [rng.choice(labels) for _ in range(60 + seed * 7)]
    second = [a if rng.random() < 0.7 else rng.choice(labels) for a in first]
    f = agreement(first, second)
    assert f.kappa == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
    po = sum(a == b for a, b in zip(first, second, strict=True)) / len(first)
    assert f.percent == pytest.approx(100 * po)
    q = len(set(first) | set(second))
    assert f.pabak == pytest.approx((q * po - 1) / (q - 1))


def test_two_categories_pabak_is_two_po_minus_one() -> None:
    first = ["include"] * 5 + ["exclude"] * 45
    second = ["include"] * 3 + ["exclude"] * 2 + ["include"] * 1 + ["exclude"] * 44
    f = agreement(first, second)
    assert f.categories == ("include", "exclude")
    assert f.pabak == pytest.approx(2 * (47 / 50) - 1)
    # high agreement on a rare category: kappa is pulled down, AC1 and PABAK are not
    assert f.kappa is not None and f.ac1 is not None and f.kappa < f.ac1


def test_degenerate_cases() -> None:
    same = agreement(["exclude"] * 10, ["exclude"] * 10)
    assert same.kappa is None and same.label == "n/a" and same.pabak == 1 and same.ac1 == 1
    one = agreement(["include"], ["exclude"])
    assert one.n == 1 and one.kappa_ci is None and one.ac1_ci is None
    with pytest.raises(ValueError, match="same works"):
        agreement(["include"], [])
    assert agreement_from_table([[0, 0], [0, 0]]).n == 0


@pytest.mark.parametrize(
    ("kappa", "label"),
    [
        (-0.1, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.41, "moderate"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_landis_koch(kappa: float | None, label: str) -> None:
    assert landis_koch(kappa) == label


def test_team_agreement_on_partly_overlapping_subsets(tmp_path: Path) -> None:
    """Four reviewers, half the works dual-screened: each pair is compared on what it shares."""
    names = ["alice", "bob", "carol", "dave"]
    review = cached_review(tmp_path / "rv", protocol=team_protocol(names, dual_fraction=0.5))
    protocol = load_protocol(review.protocol_path)
    rng = random.Random(5)
    with review.open_store() as store:
        assign_works(store, protocol, LEAD, [TITLE_ABSTRACT])
        truth = {w: rng.random() < 0.3 for w in tables.work_ids(store)}
        given: dict[str, dict[int, str]] = {name: {} for name in names}
        skill = {"alice": 0.95, "bob": 0.85, "carol": 0.75, "dave": 0.9}
        for work, name in tables.assignments(store, TITLE_ABSTRACT):
            right = rng.random() < skill[name]
            value = "include" if truth[work] == right else "exclude"
            if rng.random() < 0.05:
                value = "maybe"
            # a first thought, then the decision that counts (only the latest may be used)
            record_decision(
                store, protocol, name, TITLE_ABSTRACT, work, "exclude" if value != "exclude" else "include"
            )
            record_decision(store, protocol, name, TITLE_ABSTRACT, work, value)
            given[name][work] = value
        with pytest.raises(UsageError, match="only a lead"):
            team_agreement(store, protocol, "alice")
        pairs = team_agreement(store, protocol, LEAD)
    assert [(p.first, p.second) for p in pairs] == [
        p for p in combinations(names, 2) if given[p[0]].keys() & given[p[1]].keys()
    ]
    assert len(pairs) == 6
    for pair in pairs:
        shared = sorted(given[pair.first].keys() & given[pair.second].keys())
        first = [given[pair.first][w] for w in shared]
        second = [given[pair.second][w] for w in shared]
        assert pair.figures.n == len(shared) > 5
        assert pair.figures.kappa == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
        agree = sum(a == b for a, b in zip(first, second, strict=True))
        assert pair.figures.percent == pytest.approx(100 * agree / len(shared))
