"""Dual screening as a team runs it: two simulated reviewers, ranking on, one real review.

Two reviewers (alice, bob) screen every work of a labelled SYNERGY review independently
(``dual_fraction = 1``, ``prioritise = true``), taking turns one decision each, through the
library the screening commands use (``queue_order`` + ``ScreeningSession``). Each follows the
review's published label, wrong with probability ``--error`` (seeded per reviewer), so real
conflicts arise. The model is brought up to date every 10 team decisions (``sync``), so the run
is repeatable; in the window it refits in the background.

Reported, for the code on the import path (run it again with ``PYTHONPATH`` pointing at an older
checkout's ``src`` to compare, e.g. the commit before the team order, a054612):

- pairs: the share of decided works that have both reviewers' decisions, after 50, 100 and 200
  decisions each (goal: at least 90 %);
- conflicts found and Cohen's kappa (scikit-learn) over the works both decided, after the pilot
  (50 decisions each) and after 200 each;
- WSS@95 of the team: 1 - (works screened by anyone when 95 % of the includes had been seen by
  at least one reviewer) / N - 0.05.

    python bench/dual_screening.py [--dataset Jeyaraman_2020] [--error 0.05] [--max 1200]

Needs ../shared/data (SYNERGY ``derived_flat`` CSVs); says so and stops when it is absent.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score

import scoping
from scoping.dedupe import api as dedupe_api
from scoping.ingest.api import import_file, inspect_files
from scoping.review import init_review
from scoping.screen import ScreeningSession, assign_works, load_protocol, queue_order
from scoping.store import screen_tables  # noqa: F401  (registers the screening tables)

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "synergy-dataset" / "derived_flat"

PROTOCOL = """
[review]
title = "Dual screening benchmark"

[[reviewer]]
name = "alice"
role = "reviewer"

[[reviewer]]
name = "bob"
role = "reviewer"

[[reviewer]]
name = "lead"
role = "lead"

[allocation]
dual_fraction = 1.0
seed = 11

[stages.title-abstract]
criteria = "As the review's published criteria."
exclusion_reasons = ["not relevant"]
prioritise = true
"""


def labels_by_work(store: Any, csv_path: Path) -> dict[int, int]:
    """The published label of each work (a work is an include when any of its records is).

    A record's ``position`` is its row in the imported file; the title is checked too."""
    import csv

    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    record_work = {record: work for _s, work, record, _src in dedupe_api.iter_groups(store)}
    truth: dict[int, int] = {}
    for stored in store.iter_records():
        row = rows[stored.position - 1] if stored.position >= 1 else rows[stored.position]
        if (row.get("title") or "")[:20].casefold() != (stored.record.title or "")[:20].casefold():
            row = rows[stored.position]
        work = record_work.get(stored.id, stored.id)
        truth[work] = max(truth.get(work, 0), int(row.get("label_included") == "1"))
    return truth


def run(dataset: str, error: float, limit: int) -> dict[str, Any]:
    csv_path = SHARED / f"{dataset}.csv"
    with tempfile.TemporaryDirectory() as tmp:
        review = init_review(Path(tmp) / "rv")
        review.protocol_path.write_text(PROTOCOL, encoding="utf-8")
        with review.open_store() as store:
            for info in inspect_files([csv_path]):
                import_file(store, info, source="SYNERGY")
            dedupe_api.run_dedupe(store)
            protocol = load_protocol(review.protocol_path)
            assign_works(store, protocol, "lead")
            truth = labels_by_work(store, csv_path)
            n_works = len(truth)
            n_includes = sum(truth.values())
            rngs = {name: random.Random(f"{name}-{error}") for name in ("alice", "bob")}
            orders, sessions = {}, {}
            for name in ("alice", "bob"):
                try:
                    orders[name] = queue_order(store, protocol, "title-abstract", reviewer=name)
                except TypeError:  # an older checkout: no team order
                    orders[name] = queue_order(store, protocol, "title-abstract")
                sessions[name] = ScreeningSession(
                    store, protocol, name, rank=orders[name].rank, rerank_every=orders[name].rerank_every
                )
            decided: dict[str, dict[int, int]] = {"alice": {}, "bob": {}}
            seen_includes: set[int] = set()
            wss_at: int | None = None
            checkpoints: dict[int, dict[str, Any]] = {}
            started = time.perf_counter()
            for step in range(1, limit + 1):
                for name in ("alice", "bob"):
                    work = _decide(sessions[name], truth, rngs[name], error, decided[name])
                    if work is not None and truth.get(work) and work not in seen_includes:
                        seen_includes.add(work)
                        if wss_at is None and len(seen_includes) >= 0.95 * n_includes:
                            wss_at = len(set(decided["alice"]) | set(decided["bob"]))
                _sync(orders, models=step % 5 == 0)  # models every 10 team decisions
                if step in (50, 100, 200):
                    checkpoints[step] = summary(decided)
                if wss_at is not None and step >= 200:
                    break
            for order in orders.values():
                order.close()
            seconds = time.perf_counter() - started
    return {
        "dataset": dataset,
        "works": n_works,
        "includes": n_includes,
        "checkpoints": checkpoints,
        "wss95": None if wss_at is None else 1 - wss_at / n_works - 0.05,
        "screened_at_95": wss_at,
        "seconds": seconds,
    }


def _decide(
    session: Any, truth: dict[int, int], rng: random.Random, error: float, made: dict[int, int]
) -> int | None:
    """One decision by a simulated reviewer: the published label, wrong with probability ``error``."""
    card = session.current()
    if card is None:
        return None
    label = truth.get(card.work_id, 0)
    if rng.random() < error:
        label = 1 - label
    session.decide("include" if label else "exclude", reason=None)
    made[card.work_id] = label
    return int(card.work_id)


def _sync(orders: dict[str, Any], *, models: bool) -> None:
    """What the background threads do in a real session: refit the model, read the team's work."""
    for order in orders.values():
        if models and order.model is not None:
            order.model.sync(timeout=120)
        sync = getattr(order.rank, "sync", None)
        if callable(sync):
            sync()


def summary(decided: dict[str, dict[int, int]]) -> dict[str, Any]:
    a, b = decided["alice"], decided["bob"]
    both = sorted(set(a) & set(b))
    anyone = set(a) | set(b)
    conflicts = sum(a[w] != b[w] for w in both)
    kappa = None
    if len(both) >= 10 and len({a[w] for w in both} | {b[w] for w in both}) > 1:
        kappa = float(cohen_kappa_score([a[w] for w in both], [b[w] for w in both]))
    return {
        "pairs_share": len(both) / len(anyone) if anyone else 0.0,
        "both": len(both),
        "anyone": len(anyone),
        "conflicts": conflicts,
        "kappa": kappa,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="Jeyaraman_2020")
    parser.add_argument("--error", type=float, default=0.05)
    parser.add_argument("--max", type=int, default=1200, help="decisions per reviewer at most")
    args = parser.parse_args()
    if not (SHARED / f"{args.dataset}.csv").exists():
        print(f"../shared/data is absent here ({SHARED / (args.dataset + '.csv')}): nothing to measure.")
        sys.exit(0)
    result = run(args.dataset, args.error, args.max)
    print(f"scoping from {Path(scoping.__file__).parent}")
    print(
        f"{result['dataset']}: {result['works']:,} works, {result['includes']} includes; "
        f"reviewer error {args.error:.0%}; {result['seconds']:.0f} s"
    )
    print("decisions each | pairs complete | both / anyone | conflicts | kappa")
    for step, c in sorted(result["checkpoints"].items()):
        kappa = "-" if c["kappa"] is None else f"{c['kappa']:.2f}"
        print(
            f"{step:>14} | {c['pairs_share']:>13.0%} | {c['both']:>4} / {c['anyone']:<6} | "
            f"{c['conflicts']:>9} | {kappa}"
        )
    wss = result["wss95"]
    print(
        "team WSS@95: "
        + (
            "not reached"
            if wss is None
            else f"{wss:.3f} ({result['screened_at_95']:,} works screened by anyone)"
        )
    )


if __name__ == "__main__":
    main()
