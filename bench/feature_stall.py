"""How long building the ranking model's features in a thread stalls the screen.

`scoping screen` builds the TF-IDF features of a review's works in the background. In this
process, scikit-learn holds the GIL for stretches that grow with the review, so the screen's
own thread waits; a child process avoids that but costs 3-4 s of CPU to start. This bench
builds the features of the first N titles and abstracts of the SYNERGY sets in
../shared/data in a thread while the main thread wakes every 10 ms, and prints, per N, the
build time and the longest and 95th-percentile lateness of those wake-ups. It is what
`scoping.screen.rank_order.FEATURES_IN_CHILD_FROM` was chosen by (the longest stall about
100 ms).

    .venv/bin/python bench/feature_stall.py                 # 250, 500, 750, 1000, 2000 works
    .venv/bin/python bench/feature_stall.py --sizes 500 5000 --reps 3
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from scoping.screen.rank_model import TextFeatures, work_text  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "synergy-dataset" / "derived_flat"


def texts_from(folder: Path) -> list[str]:
    texts: list[str] = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                text = work_text(row.get("title"), row.get("abstract"))
                if len(text) > 40:
                    texts.append(text)
    return texts


def stall(texts: list[str]) -> tuple[float, float, float]:
    """Build time (s), longest and 95th-percentile lateness (ms) of 10 ms wake-ups."""
    done = threading.Event()

    def build() -> None:
        TextFeatures().fit_transform(texts)
        done.set()

    late: list[float] = []
    worker = threading.Thread(target=build)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        before = time.perf_counter()
        time.sleep(0.01)
        late.append(time.perf_counter() - before - 0.01)
    worker.join()
    late.sort()
    return time.perf_counter() - start, late[-1] * 1000, late[int(len(late) * 0.95)] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 750, 1000, 2000])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"../shared/data is absent ({args.data} not found): nothing to measure")
        return 1
    texts = texts_from(args.data)
    TextFeatures().fit_transform(texts[:50])  # scikit-learn imported before timing
    print(f"{len(texts)} texts; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'works':>6} {'build s':>8} {'max stall ms':>13} {'p95 ms':>7}")
    for size in args.sizes:
        for _ in range(args.reps):
            built, longest, p95 = stall(texts[:size])
            print(f"{size:>6} {built:>8.2f} {longest:>13.0f} {p95:>7.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
