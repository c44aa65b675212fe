"""Timings that used to sit inside tests as wall-clock bounds: tests check behaviour, this times.

- dedupe: the verdict on a pair of consortium papers (5,000 authors against a truncated copy
  of 3,000), the worst case of the author comparison; goal under 0.5 s.
- ranking: the next work served by ``BackgroundRanker`` at 50,000 works (TF-IDF-like rows of
  80 terms) while the model refits in the background 4 times; goal under 100 ms for the
  slowest.

    python bench/unit_timings.py [--repeat 5]

The figures depend on the machine and on what else it is doing; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp

from scoping.dedupe import MatchRow, compare, decide, prepare
from scoping.screen.rank_model import BackgroundRanker

ARTICLE = {
    "title": "Ischaemic preconditioning protects the rat heart against reperfusion arrhythmias",
    "year": 2001,
    "journal": "Journal of Molecular and Cellular Cardiology",
    "volume": "33",
    "issue": "4",
    "pages": "711-720",
    "doi": "10.1006/jmcc.2001.1330",
}


def consortium_pair() -> float:
    authors = [f"Author{i}, A." for i in range(5000)]
    a = MatchRow(id=1, authors=authors, **ARTICLE)
    b = MatchRow(id=2, authors=authors[:3000], **ARTICLE)
    start = time.perf_counter()
    ka, kb = prepare(a, 0), prepare(b, 1)
    label = decide(ka, kb, compare(ka, kb)).label
    seconds = time.perf_counter() - start
    assert label == "duplicate", label
    return seconds


def ranker_latency() -> tuple[float, int, int]:
    rng = np.random.default_rng(0)
    n_works, n_features, per_row = 50_000, 20_000, 80
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
    screened = {int(w): int(truth[w]) for w in order[:10_000]}
    slowest, step = 0.0, 0
    with BackgroundRanker(X, random_state=0) as ranker:
        ranker.update(screened)
        while ranker.fits < 4 and step < 20_000:
            start = time.perf_counter()
            work = ranker.current().first(screened)
            slowest = max(slowest, time.perf_counter() - start)
            assert work is not None
            screened[work] = int(truth[work])
            if step % 100 == 0:
                screened[int(order[-1 - step])] = 1
                ranker.update(screened)
            step += 1
            time.sleep(0.0005)
        fits = ranker.fits
    return slowest, step, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pairs = [consortium_pair() for _ in range(args.repeat)]
    print(
        f"dedupe  consortium pair (5,000 vs 3,000 authors): median {statistics.median(pairs) * 1000:.0f} ms,"
        f" max {max(pairs) * 1000:.0f} ms (goal < 500 ms)"
    )
    slowest, served, fits = ranker_latency()
    print(
        f"ranking next work at 50,000 works: slowest {slowest * 1000:.1f} ms over {served} works"
        f" served during {fits} refits (goal < 100 ms)"
    )


if __name__ == "__main__":
    main()
