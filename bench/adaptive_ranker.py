"""The adaptive ranker (`scoping simulate --ranker adaptive`) against today's default ranker.

For every labelled review under ../shared/data (the 26 found by bench/simulate_vs_asreview.py)
and each seed, `scoping.screen.simulate` runs with ``ranker_kind="adaptive"``; the default
ranker's screening order is read from bench/stopping_methods.py's cache of recorded rankings
(--baseline-dir/rankings/<review>-s<seed>.npy, priors first) when it is there, else simulated
here. WSS@95, RRF@10 and loss come from scoping.screen.metrics on the ranked order after the
two priors (ASReview's definitions). Each adaptive run is cached as
--work-dir/adaptive/<review>-s<seed>.json, so a rerun only computes what is missing.

Development / hold-out split: bench/stopping_methods.py's (first byte of sha1(name) < 64 is
held out), fixed before any result was seen. Seed 0 of every development review runs first,
then the hold-out ones, then seed 1 and so on.

    nice -n 10 .venv/bin/python bench/adaptive_ranker.py --seeds 2
    nice -n 10 .venv/bin/python bench/adaptive_ranker.py --refit    # refit cost at 50,000 works

--refit times one background refit (BackgroundRanker, as the live queue runs it) at 50,000
works (the reviews' texts repeated) with 10,000 decided, without and with ``adaptive=True``:
the adaptive weighing runs in the refit thread, so this is the only place it costs time.
    .venv/bin/python bench/adaptive_ranker.py --datasets Sep_2021 Nelson_2002 --seeds 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from simulate_vs_asreview import DEFAULT_DATA, find_datasets, prepare  # noqa: E402
from stopping_methods import held_out  # noqa: E402

from scoping.screen import metrics  # noqa: E402

DEFAULT_WORK = Path("/tmp/scoping-adaptive")
DEFAULT_BASELINE = Path("/tmp/scoping-stopping")


def figures(ranked: np.ndarray) -> dict[str, float]:
    """WSS@95 and RRF@10 (percent) and loss of a ranked order (priors left out)."""
    return {
        "wss95": 100 * metrics.wss(ranked, 0.95),
        "rrf10": 100 * metrics.rrf(ranked, 0.10),
        "loss": metrics.loss(ranked),
    }


def one_run(
    name: str, csv: Path, seed: int, kind: str, work: Path, baseline: Path, signals: list[str] | None = None
) -> dict[str, Any]:
    cache = work / (kind + "".join(f"-{s}" for s in signals or [])) / f"{name}-s{seed}.json"
    if cache.is_file():
        return dict(json.loads(cache.read_text()))
    recorded = baseline / "rankings" / f"{name}-s{seed}.npy"
    if kind == "default" and recorded.is_file():
        order = np.load(recorded)
        result = {**figures(order[2:]), "weights": None, "seconds": None, "from": str(recorded)}
    else:
        from scoping.ingest import inspect_file, iter_records
        from scoping.screen.simulate import labelled_from_records, simulate

        labelled = labelled_from_records(iter_records(inspect_file(csv)), "label_included", source=str(csv))
        started = time.perf_counter()
        run = simulate(labelled.texts, labelled.labels, seeds=[seed], ranker_kind=kind, signals=signals).runs[
            0
        ]
        padded = np.zeros(labelled.labels.size - run.n_priors, dtype=np.int8)
        padded[: run.ranked_labels.size] = run.ranked_labels
        result = {
            **figures(padded),
            "weights": run.signal_weights,
            "seconds": round(time.perf_counter() - started, 1),
        }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result


def table(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    print(
        f"{'review':34} {'records':>7} {'inc':>4}  {'WSS@95 def':>10} {'adapt':>6} {'diff':>6}  "
        f"{'RRF@10 def':>10} {'adapt':>6}  {'loss def':>8} {'adapt':>6}  weights at the end (svm/nb/centroid)"
    )
    for row in rows:
        d, a = row["default"], row["adaptive"]
        print(
            f"{row['name']:34} {row['n']:>7,} {row['inc']:>4}  {d['wss95']:>10.1f} {a['wss95']:>6.1f} "
            f"{a['wss95'] - d['wss95']:>+6.1f}  {d['rrf10']:>10.1f} {a['rrf10']:>6.1f}  "
            f"{d['loss']:>8.3f} {a['loss']:>6.3f}  {row['weights']}"
        )
    if not rows:
        return
    mean = {
        k: {m: float(np.mean([r[k][m] for r in rows])) for m in ("wss95", "rrf10", "loss")}
        for k in ("default", "adaptive")
    }
    worst = min(rows, key=lambda r: r["adaptive"]["wss95"] - r["default"]["wss95"])
    losing = sum(r["adaptive"]["wss95"] - r["default"]["wss95"] < -2 for r in rows)
    print(
        f"{'mean (' + str(len(rows)) + ' reviews)':34} {'':>7} {'':>4}  {mean['default']['wss95']:>10.2f} "
        f"{mean['adaptive']['wss95']:>6.2f} {mean['adaptive']['wss95'] - mean['default']['wss95']:>+6.2f}  "
        f"{mean['default']['rrf10']:>10.2f} {mean['adaptive']['rrf10']:>6.2f}  "
        f"{mean['default']['loss']:>8.4f} {mean['adaptive']['loss']:>6.4f}"
    )
    print(
        f"reviews more than 2 WSS points below the default: {losing}; worst "
        f"{worst['name']} {worst['adaptive']['wss95'] - worst['default']['wss95']:+.1f}"
    )


def refit_cost(data: Path, work: Path, n_works: int = 50_000, n_done: int = 10_000) -> None:
    """Seconds per background refit at ``n_works`` works, default and adaptive."""
    import pandas as pd

    from scoping.screen.rank_model import BackgroundRanker, TextFeatures, work_text

    frames = [pd.read_csv(prepare(d, work)[0]) for d in find_datasets(data)]
    frame = pd.concat(frames, ignore_index=True).fillna("")
    reps = -(-n_works // len(frame))
    texts = [work_text(t, a) for t, a in zip(frame["title"], frame["abstract"], strict=True)] * reps
    labels = np.tile(frame["label_included"].to_numpy(dtype=np.int8), reps)[:n_works]
    started = time.perf_counter()
    matrix = TextFeatures().fit_transform(texts[:n_works])
    print(f"{n_works:,} works, TF-IDF in {time.perf_counter() - started:.1f} s; {n_done:,} decided")
    rng = np.random.default_rng(0)
    done = rng.permutation(n_works)[: n_done + 500].tolist()
    for adaptive in (False, True):
        with BackgroundRanker(matrix, random_state=0, adaptive=adaptive) as ranker:
            times = []
            for upto in (n_done, n_done + 250, n_done + 500):  # the 2nd and 3rd refits observe
                decided = {row: int(labels[row]) for row in done[:upto]}
                started = time.perf_counter()
                ranker.wait(ranker.update(decided), timeout=600)
                times.append(time.perf_counter() - started)
            print(
                f"{'adaptive' if adaptive else 'default '} refit: "
                + ", ".join(f"{t:.2f} s" for t in times)
                + (f"; weights {ranker.chooser.weights()}" if ranker.chooser else "")
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=2, help="seeds per review (default 2)")
    parser.add_argument("--datasets", nargs="*", default=None, help="only these reviews")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--baseline-dir", type=Path, default=DEFAULT_BASELINE)
    parser.add_argument("--table-only", action="store_true", help="print what is cached, run nothing")
    parser.add_argument("--refit", action="store_true", help="only time a refit at 50,000 works")
    parser.add_argument(
        "--signals", nargs="*", default=None, help="the adaptive ranker with only these signals (e.g. svm nb)"
    )
    parser.add_argument("--development-only", action="store_true", help="skip the hold-out reviews")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(
            f"The shared data folder {args.data} is missing: nothing to benchmark. Put the labelled "
            "datasets there (see its SOURCES.md) or pass --data.",
            file=sys.stderr,
        )
        return 2
    if args.refit:
        refit_cost(args.data, args.work_dir)
        return 0
    datasets = [d for d in find_datasets(args.data) if not args.datasets or d.name in args.datasets]
    ordered = [d for d in datasets if not held_out(d.name)]
    if not args.development_only:
        ordered += [d for d in datasets if held_out(d.name)]
    per: dict[str, dict[str, Any]] = {}
    for seed in range(args.seeds):
        for dataset in ordered:
            csv, n, inc = prepare(dataset, args.work_dir)
            runs = {}
            for kind in ("default", "adaptive"):
                signals = args.signals if kind == "adaptive" else None
                folder = kind + "".join(f"-{s}" for s in signals or [])
                cache = args.work_dir / folder / f"{dataset.name}-s{seed}.json"
                if args.table_only and not cache.is_file():
                    break
                runs[kind] = one_run(dataset.name, csv, seed, kind, args.work_dir, args.baseline_dir, signals)
            else:
                entry = per.setdefault(dataset.name, {"name": dataset.name, "n": n, "inc": inc, "runs": []})
                entry["runs"].append(runs)
                if not args.table_only:
                    d, a = runs["default"], runs["adaptive"]
                    print(
                        f"seed {seed} {dataset.name}: WSS@95 {d['wss95']:.1f} -> {a['wss95']:.1f}, "
                        f"{a['seconds']} s, weights {a['weights']}",
                        flush=True,
                    )
    rows: list[dict[str, Any]] = []
    for entry in per.values():
        runs = entry["runs"]
        row = {**entry, "seeds": len(runs)}
        for kind in ("default", "adaptive"):
            row[kind] = {m: float(np.mean([r[kind][m] for r in runs])) for m in ("wss95", "rrf10", "loss")}
        last = runs[-1]["adaptive"]["weights"] or {}
        row["weights"] = "/".join(f"{last.get(k, 0):.2f}" for k in ("svm", "nb", "centroid"))
        rows.append(row)
    seeds = sorted({len(r["runs"]) for r in rows})
    print(f"\nseeds per review: {seeds}; figures are the mean over seeds; default = today's ranker")
    table([r for r in rows if not held_out(r["name"])], "Development reviews")
    table([r for r in rows if held_out(r["name"])], "Hold-out reviews")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
