"""Stopping methods side by side, Repke-style, on recorded ranking runs.

Step 1 (slow, cached): for every labelled review under ../shared/data (the 26 found by
bench/simulate_vs_asreview.py) and every seed, `scoping.screen.simulate` ranks the review once
with scoping's default model, and the screening order's labels are written to
--work-dir/rankings/<review>-s<seed>.npy (priors first).

Step 2 (cheap): every method of `scoping.screen.stop_methods` is replayed on each recorded
order (methods with a random phase draw it from the records left, with a fixed seed), at the
95 % and 99 % recall targets (confidence 95 %), and the table prints, per method:
share of runs that stopped short of the target, mean share of records left unscreened, and
the same for the hold-out reviews.

Development / hold-out split (fixed before any result was seen): a review is held out when
the first byte of sha1(name) is below 64 (about a quarter of them). The default method is
chosen on development reviews only: the one leaving most unscreened at the 95 % target with
no more than 5 % of runs short at both targets, with a margin of one run (one more short run
would still be within 5 %), so that a method at the edge of the 5 % is not chosen by chance.

    nice -n 10 .venv/bin/python bench/stopping_methods.py --seeds 3          # everything
    nice -n 10 .venv/bin/python bench/stopping_methods.py --rank-only        # step 1 only
    .venv/bin/python bench/stopping_methods.py --datasets Sep_2021 Nelson_2002
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from simulate_vs_asreview import DEFAULT_DATA, find_datasets, prepare  # noqa: E402

DEFAULT_WORK = Path("/tmp/scoping-stopping")


def held_out(name: str) -> bool:
    """The fixed hold-out split: first byte of sha1(name) below 64."""
    return hashlib.sha1(name.encode()).digest()[0] < 64


def record_rankings(data: Path, work: Path, seeds: int, only: list[str] | None) -> list[str]:
    """Rank every review once per seed (cached); seed 0 of every review first, then seed 1...
    Returns the review names."""
    from scoping.ingest import inspect_file, iter_records
    from scoping.screen.simulate import labelled_from_records, simulate

    datasets = [d for d in find_datasets(data) if not only or d.name in only]
    for seed in range(seeds):
        for dataset in datasets:
            target = work / "rankings" / f"{dataset.name}-s{seed}.npy"
            if target.is_file():
                continue
            csv, n, inc = prepare(dataset, work)
            labelled = labelled_from_records(
                iter_records(inspect_file(csv)), "label_included", source=str(csv)
            )
            started = time.perf_counter()
            result = simulate(labelled.texts, labelled.labels, seeds=[seed])
            run = result.runs[0]
            inc_row, exc_row = run.priors
            order = np.zeros(result.n_records, dtype=np.int8)
            head = np.concatenate([[labelled.labels[inc_row], labelled.labels[exc_row]], run.ranked_labels])
            order[: head.size] = head
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, order)
            print(
                f"ranked {dataset.name} seed {seed}: {n:,} records, {inc} includes, "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return [d.name for d in datasets]


RANDOM_PHASE = {"hypergeom-sample", "qbcb", "capture"}
TARGETS = (0.95, 0.99)
WIDTH = 86
SMALL = 1000


def evaluate(work: Path, names: list[str], seeds: int, reps: int) -> list[dict[str, object]]:
    """Every method on every recorded order (cached in --work-dir/stops.json)."""
    from scoping.screen.stop_methods import all_methods

    cache = work / "stops.json"
    done: dict[str, dict[str, object]] = json.loads(cache.read_text()) if cache.is_file() else {}
    rows: list[dict[str, object]] = []
    for name in names:
        for seed in range(seeds):
            path = work / "rankings" / f"{name}-s{seed}.npy"
            if not path.is_file():
                continue
            order = np.load(path)
            for target in TARGETS:
                for index, method in enumerate(all_methods(target)):
                    for rep in range(reps if method.key in RANDOM_PHASE else 1):
                        key = f"{name}|{seed}|{target}|{method.describe()}|{rep}"
                        if key not in done:
                            stop = method.replay(order, np.random.default_rng([seed, rep, index]))
                            done[key] = {
                                "review": name,
                                "seed": seed,
                                "target": target,
                                "method": method.describe(),
                                "rep": rep,
                                "guarantee": method.guarantee,
                                "n": stop.n_total,
                                "recall": stop.recall,
                                "unscreened": stop.share_unscreened,
                                "ideal": ideal_unscreened(order, target),
                            }
                        rows.append(done[key])
    cache.write_text(json.dumps(done))
    return rows


def ideal_unscreened(order: np.ndarray, target: float) -> float:
    """Share left unscreened at the first point of the ranked order with recall >= target."""
    need = int(np.ceil(target * order.sum() - 1e-9))
    at = int(np.searchsorted(np.cumsum(order), need)) + 1
    return 1 - at / order.size


def summarise(rows: list[dict[str, object]]) -> tuple[int, float, float]:
    """(runs, share of runs short of the target, mean share unscreened)."""
    if not rows:
        return 0, float("nan"), float("nan")
    short = [float(r["recall"]) < float(r["target"]) - 1e-9 for r in rows]  # type: ignore[arg-type]
    left = [float(r["unscreened"]) for r in rows]  # type: ignore[arg-type]
    return len(rows), float(np.mean(short)), float(np.mean(left))


def report(rows: list[dict[str, object]]) -> None:
    reviews = sorted({str(r["review"]) for r in rows})
    dev = [r for r in reviews if not held_out(r)]
    hold = [r for r in reviews if held_out(r)]
    print(f"\nDevelopment reviews ({len(dev)}): {', '.join(dev)}")
    print(f"Hold-out reviews ({len(hold)}): {', '.join(hold)}")
    seeds = sorted({int(r["seed"]) for r in rows})  # type: ignore[call-overload]
    reps = len({r.get("rep") for r in rows})
    print(f"Seeds: {seeds}; methods with a random phase replayed {reps}x per recorded ranking")
    chosen: dict[float, str] = {}
    eligible = _eligible(rows, dev)
    for target in TARGETS:
        at = [r for r in rows if r["target"] == target]
        ideal = np.mean([float(r["ideal"]) for r in at if r["review"] in dev])  # type: ignore[arg-type]
        print(f"\nTarget recall {target:.0%} (confidence 95 %); ideal share unscreened (dev) {ideal:.1%}")
        head = f"{'dev runs':>8} {'short':>6} {'unscr.':>7} | {'hold runs':>9} {'short':>6} {'unscr.':>7}"
        print(f"{'method':<{WIDTH}} {head}")
        best: tuple[float, str] | None = None
        for method in dict.fromkeys(str(r["method"]) for r in at):
            mine = [r for r in at if r["method"] == method]
            n_d, short_d, left_d = summarise([r for r in mine if r["review"] in dev])
            n_h, short_h, left_h = summarise([r for r in mine if r["review"] in hold])
            dev_part = f"{n_d:>8} {short_d:>6.1%} {left_d:>7.1%}"
            print(f"{method:<{WIDTH}} {dev_part} | {n_h:>9} {short_h:>6.1%} {left_h:>7.1%}")
            if method in eligible and (best is None or left_d > best[0]):
                best = (left_d, method)
        if best is not None:
            chosen[target] = best[1]
            print(
                "-> most saved with <= 5 % of development runs short at both targets "
                f"(margin of one run): {best[1]}"
            )
        guaranteed = "hypergeometric test on a random sample after 50/5.0% excludes in a row"
        for method in dict.fromkeys([chosen.get(target, ""), guaranteed]):
            mine = [r for r in at if r["method"] == method]
            for label, small in (("under 1,000 records", True), ("1,000 or more", False)):
                part = [r for r in mine if (int(str(r["n"])) < SMALL) == small]
                n_p, short_p, left_p = summarise(part)
                ideal_p = float(np.mean([float(str(r["ideal"])) for r in part])) if part else float("nan")
                print(
                    f"   {method[:60]}, reviews {label} (dev + hold-out): {n_p} runs, "
                    f"{short_p:.1%} short, {left_p:.1%} unscreened (ideal {ideal_p:.1%})"
                )


def _eligible(rows: list[dict[str, object]], dev: list[str]) -> set[str]:
    """Methods with no more than 5 % of development runs short at every target, even with one
    more short run."""
    out = set()
    for method in dict.fromkeys(str(r["method"]) for r in rows if r["target"] == TARGETS[0]):
        ok = True
        for target in TARGETS:
            mine = [r for r in rows if r["target"] == target and r["review"] in dev]
            # the method at this target: same position in all_methods, matched by name prefix
            same = [r for r in mine if _family(str(r["method"])) == _family(method)]
            same = [r for r in same if r["method"] == method] or same
            runs, short, _ = summarise(same)
            ok = ok and runs > 0 and (short * runs + 1) / runs <= 0.05
        if ok:
            out.add(method)
    return out


def _family(method: str) -> str:
    """A method's description without the numbers that change with the target."""
    return "".join(c for c in method if not c.isdigit())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--rank-only", action="store_true")
    parser.add_argument("--reps", type=int, default=5, help="random draws per recorded ranking")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"{args.data} is absent: the labelled reviews are not here, nothing to measure.")
        return 1
    names = record_rankings(args.data, args.work_dir, args.seeds, args.datasets)
    if args.rank_only:
        return 0
    rows = evaluate(args.work_dir, names, args.seeds, args.reps)
    report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
