"""Prioritisation and stopping, side by side: `scoping simulate` against ASReview LAB's default.

For every labelled review found under ../shared/data (the SYNERGY sets in
synergy-dataset/derived_flat, the Cohen 2006 drug reviews, Bannach-Brown 2019, Nagtegaal 2019,
Appenzeller-Herzog (wilson) and Kwok (virus)), and for each seed:

1. the dataset is written once as a plain CSV (title, abstract, label_included; rows without a
   label dropped) that both tools read, so both see the same rows in the same order;
2. `scoping simulate FILE --label-column label_included --seeds N --json` runs, and reports for
   each seed the prior include and exclude it drew;
3. `asreview simulate FILE --prior-idx I E --seed S` runs with the same priors in a separate
   virtual environment (ASReview LAB's default model, ELAS u4: TF-IDF + linear SVM, nothing
   downloaded); its screening order is read from the project file's results table;
4. WSS@95, RRF@10, loss and records-to-95 % are computed for both tools by the same code
   (scoping.screen.metrics, ASReview's definitions, priors left out).

It prints a table per dataset, a summary across datasets with the mean, and the goals of issue 18
(prioritisation: mean WSS@95 at least 3 points above ASReview's, with a 95 % t-interval of the
mean difference over datasets; mean loss at least 10 % lower; no dataset more than 2 WSS points
below; mean RRF@10 higher; stopping: recall at the stop at least the target in at least 95 % of
runs, with the share of records left unscreened). Results are cached in --work-dir, so a rerun
only computes what is missing; --fresh recomputes.

    .venv/bin/python bench/simulate_vs_asreview.py                 # everything, 3 seeds
    .venv/bin/python bench/simulate_vs_asreview.py --quick         # 4 small datasets, 3 seeds
    .venv/bin/python bench/simulate_vs_asreview.py --timing        # + a 10,000-record review

The ASReview environment is made on first use (python -m venv + pip install asreview==3.0.8,
from PyPI; the version of the issue 18 comparison, December 2026, pinned so that reruns
compare the same thing); pass --asreview-venv to use another one (its version is printed, with
a warning when it is not the pinned one), or --no-asreview to run scoping alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from scoping.screen import metrics  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_VENV = Path("/tmp/bench-venvs/asreview")
ASREVIEW_PIN = "3.0.8"

DEFAULT_WORK = Path(tempfile.gettempdir()) / "scoping-bench"
QUICK = ("Sep_2021", "Donners_2021", "Cohen_Antihistamines", "Nelson_2002")
TARGET_RECALL = 0.95
# `python -m scoping`, with the simulate command registered even where the CLI package does
# not import it yet
SCOPING = [
    sys.executable,
    "-c",
    "import sys, scoping.cli.simulate_cmd; from scoping.cli import main; sys.argv[0] = 'scoping'; main()",
]


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    label: str
    title: str = "title"
    abstract: str = "abstract"


def find_datasets(data: Path) -> list[Dataset]:
    """The labelled reviews with titles and abstracts under ``data`` (see SOURCES.md there)."""
    found: list[Dataset] = []
    for path in sorted((data / "synergy-dataset" / "derived_flat").glob("*.csv")):
        found.append(Dataset(path.stem, path, "label_included"))
    srd = data / "systematic-review-datasets" / "datasets"
    for path in sorted((srd / "Cohen_2006" / "output" / "online").glob("*.csv")):
        found.append(Dataset(f"Cohen_{path.stem}", path, "label_included"))
    for name in ("Bannach-Brown_2019", "Nagtegaal_2019"):
        path = srd / name / "output" / f"{name}.csv"
        if path.is_file():
            found.append(Dataset(name, path, "label_included"))
    sims = data / "paper-evaluating-models-across-research-areas" / "datasets" / "sim_datasets"
    for stem, name in (("wilson", "Appenzeller-Herzog_wilson"), ("virus", "Kwok_virus")):
        if (sims / f"{stem}.csv").is_file():
            found.append(Dataset(name, sims / f"{stem}.csv", "included"))
    return found


def prepare(dataset: Dataset, work: Path) -> tuple[Path, int, int]:
    """The dataset as the plain CSV both tools read; returns (path, records, includes)."""
    import pandas as pd

    target = work / "data" / f"{dataset.name}.csv"
    frame = pd.read_csv(dataset.path)
    frame = frame[frame[dataset.label].notna()]
    out = pd.DataFrame(
        {
            "title": frame[dataset.title].fillna("").astype(str),
            "abstract": frame[dataset.abstract].fillna("").astype(str),
            "label_included": frame[dataset.label].astype(int),
        }
    )
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(target, index=False)
    return target, len(out), int(out["label_included"].sum())


# -- scoping --------------------------------------------------------------------------------


def run_scoping(csv: Path, name: str, seeds: int, work: Path, fresh: bool) -> dict[str, Any]:
    cache = work / "scoping" / f"{name}-{seeds}.json"
    if cache.is_file() and not fresh:
        return dict(json.loads(cache.read_text()))
    started = time.perf_counter()
    command = [
        *SCOPING,
        "simulate",
        str(csv),
        "--label-column",
        "label_included",
        "--seeds",
        str(seeds),
        "--json",
        "--out-dir",
        str(work / "outputs"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work)
    if done.returncode != 0:
        raise RuntimeError(f"scoping simulate failed on {name}: {done.stderr.strip()}")
    result = dict(json.loads(done.stdout))
    result["wall_seconds"] = time.perf_counter() - started
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result


# -- ASReview --------------------------------------------------------------------------------


def ensure_asreview(venv: Path) -> Path | None:
    """The asreview executable of ``venv``, creating the environment if needed."""
    exe = venv / "bin" / "asreview"
    if exe.is_file():
        return exe
    pin = f"asreview=={ASREVIEW_PIN}"
    print(f"Creating a virtual environment for ASReview in {venv} (pip install {pin})...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", pin], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"ASReview could not be installed ({exc}); comparing nothing.", file=sys.stderr)
        return None
    return exe if exe.is_file() else None


def asreview_version(exe: Path) -> str:
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or done.stderr.strip()


def read_asreview_order(project: Path) -> tuple[list[int], list[int]]:
    """(prior record ids, labels in screening order after the priors) of a simulation file."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(project) as archive:
            name = next(n for n in archive.namelist() if n.endswith("results.db"))
            archive.extract(name, tmp)
        with sqlite3.connect(Path(tmp) / name) as conn:
            rows = conn.execute(
                "SELECT record_id, label, training_set FROM results ORDER BY rowid"
            ).fetchall()
    priors = [int(r[0]) for r in rows if r[2] is None]
    labels = [int(r[1]) for r in rows if r[2] is not None]
    return priors, labels


def run_asreview(
    exe: Path,
    csv: Path,
    name: str,
    seed: int,
    priors: list[int],
    n_records: int,
    total_includes: int,
    work: Path,
    fresh: bool,
) -> dict[str, Any]:
    cache = work / "asreview" / f"{name}-s{seed}-p{priors[0]}-{priors[1]}.json"
    if cache.is_file() and not fresh:
        return dict(json.loads(cache.read_text()))
    project = cache.with_suffix(".asreview")
    project.unlink(missing_ok=True)
    started = time.perf_counter()
    command = [
        str(exe),
        "simulate",
        str(csv),
        "--prior-idx",
        *map(str, priors),
        "--seed",
        str(seed),
        "-o",
        str(project),
    ]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"asreview simulate failed on {name}: {done.stderr.strip()[-500:]}")
    seconds = time.perf_counter() - started
    got_priors, labels = read_asreview_order(project)
    if sorted(got_priors) != sorted(priors):
        raise RuntimeError(f"ASReview used priors {got_priors}, not {priors}")
    result = {"seed": seed, "priors": priors, "seconds": seconds, **scores(labels, n_records, total_includes)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    project.unlink(missing_ok=True)
    return result


def scores(labels: list[int], n_records: int, total_includes: int) -> dict[str, float]:
    """ASReview's metrics of a screening order (priors left out; unscreened padded as 0)."""
    padded = labels + [0] * (n_records - 2 - len(labels))
    with_priors = [1, 0, *labels]
    to_95 = metrics.records_to_recall(with_priors, TARGET_RECALL, total_includes=total_includes)
    return {
        "wss95": 100 * metrics.wss(padded, TARGET_RECALL),
        "rrf10": 100 * metrics.rrf(padded),
        "loss": metrics.loss(padded),
        "records_to_95": float(to_95 or n_records),
    }


# -- report --------------------------------------------------------------------------------


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def mean_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student's t interval of the mean of ``values`` (NaN for fewer than two)."""
    from scipy import stats

    if len(values) < 2:
        return float("nan"), float("nan")
    centre = statistics.fmean(values)
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return centre - float(half), centre + float(half)


def print_dataset(
    name: str, n: int, inc: int, ours: dict[str, Any], theirs: list[dict[str, Any]] | None
) -> None:
    print(
        f"\n{name}: {n:,} records, {inc:,} includes "
        f"(scoping {ours.get('wall_seconds', 0):.0f} s for {len(ours['runs'])} seeds)"
    )
    header = (
        f"  {'seed':>4} {'tool':8} {'WSS@95':>7} {'RRF@10':>7} {'loss':>6} {'to95%':>6}"
        f" {'stop_at':>8} {'recall@stop':>11} {'unscreened':>10}"
    )
    print(header)
    by_seed = {r["seed"]: r for r in theirs or []}
    for run in ours["runs"]:
        print(
            f"  {run['seed']:>4} {'scoping':8} {run['wss95']:7.2f} {run['rrf10']:7.2f} "
            f"{run['loss']:6.3f} {run['records_to_95']:6d} {run['stop_at']:8d} "
            f"{run['recall_at_stop']:11.3f} {1 - run['stop_at'] / n:10.1%}"
        )
        other = by_seed.get(run["seed"])
        if other:
            print(
                f"  {'':>4} {'asreview':8} {other['wss95']:7.2f} {other['rrf10']:7.2f} "
                f"{other['loss']:6.3f} {other['records_to_95']:6.0f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"the shared data folder (default {DEFAULT_DATA})"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per dataset (default 3)")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--datasets", nargs="*", default=None, help="only these datasets")
    parser.add_argument("--asreview-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--no-asreview", action="store_true", help="run scoping alone")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--fresh", action="store_true", help="ignore cached results")
    parser.add_argument(
        "--timing", action="store_true", help="also time a 10,000-record simulation (Cohen reviews pooled)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write all results here")
    args = parser.parse_args()

    if args.seeds < 3:
        print("note: the goals are measured with at least 3 seeds", file=sys.stderr)
    if not args.data.is_dir():
        print(
            f"The shared data folder {args.data} is missing: nothing to benchmark. Put the "
            "labelled datasets there (see its SOURCES.md) or pass --data.",
            file=sys.stderr,
        )
        return 2
    datasets = find_datasets(args.data)
    if args.quick:
        datasets = [d for d in datasets if d.name in QUICK]
    if args.datasets:
        datasets = [d for d in datasets if d.name in set(args.datasets)]
    if not datasets:
        print(f"No labelled datasets found under {args.data}.", file=sys.stderr)
        return 2
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    exe = None if args.no_asreview else ensure_asreview(args.asreview_venv)
    if exe is None and not args.no_asreview:
        print("ASReview is missing: only scoping's figures are shown.", file=sys.stderr)
    version = asreview_version(exe) if exe else "(no ASReview)"
    if exe and version.split()[-1] != ASREVIEW_PIN:
        print(f"note: {version} is not the pinned asreview {ASREVIEW_PIN}", file=sys.stderr)
    print(f"scoping simulate vs {version}; {len(datasets)} datasets, {args.seeds} seeds; work folder {work}")

    summary: list[dict[str, Any]] = []
    for dataset in datasets:
        csv, n, inc = prepare(dataset, work)
        ours = run_scoping(csv, dataset.name, args.seeds, work, args.fresh)
        if ours["n_records"] != n:
            raise RuntimeError(f"scoping read {ours['n_records']} records of {dataset.name}, not {n}")
        theirs = None
        if exe is not None:
            theirs = [
                run_asreview(exe, csv, dataset.name, run["seed"], run["priors"], n, inc, work, args.fresh)
                for run in ours["runs"]
            ]
        print_dataset(dataset.name, n, inc, ours, theirs)
        row: dict[str, Any] = {
            "dataset": dataset.name,
            "records": n,
            "includes": inc,
            "scoping": ours,
            "asreview": theirs,
        }
        summary.append(row)
    report(summary, exe is not None)
    if args.timing:
        timing(args.data, work)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


def report(summary: list[dict[str, Any]], compared: bool) -> None:
    print("\nSummary (means over seeds; Δ = scoping - ASReview; loss: lower is better)")
    print(
        f"  {'dataset':30} {'n':>6} {'incl':>5} | {'WSS@95 sc':>9} {'asr':>6} {'Δ':>6} | "
        f"{'RRF@10 sc':>9} {'asr':>6} | {'loss sc':>7} {'asr':>6} {'Δ':>7} | "
        f"{'stop_at':>7} {'recall':>6} {'unscr':>6}"
    )
    keys = ("wss95", "rrf10", "loss")
    ours_means: dict[str, list[float]] = {k: [] for k in keys}
    theirs_means: dict[str, list[float]] = {k: [] for k in keys}
    worst: list[tuple[float, str]] = []
    recalls: list[float] = []
    unscreened: list[float] = []
    for row in summary:
        runs = row["scoping"]["runs"]
        o = {k: mean([r[k] for r in runs]) for k in keys}
        recalls.extend(r["recall_at_stop"] for r in runs)
        unscreened.extend(1 - r["stop_at"] / row["records"] for r in runs)
        for k in keys:
            ours_means[k].append(o[k])
        t = {k: float("nan") for k in keys}
        if row["asreview"]:
            t = {k: mean([r[k] for r in row["asreview"]]) for k in keys}
            for k in keys:
                theirs_means[k].append(t[k])
            worst.append((o["wss95"] - t["wss95"], row["dataset"]))
        stop = mean([r["stop_at"] for r in runs])
        rec = mean([r["recall_at_stop"] for r in runs])
        unscr = mean([1 - r["stop_at"] / row["records"] for r in runs])
        print(
            f"  {row['dataset']:30} {row['records']:6d} {row['includes']:5d} | "
            f"{o['wss95']:9.2f} {t['wss95']:6.2f} {o['wss95'] - t['wss95']:+6.2f} | "
            f"{o['rrf10']:9.2f} {t['rrf10']:6.2f} | {o['loss']:7.4f} {t['loss']:6.4f} "
            f"{o['loss'] - t['loss']:+7.4f} | {stop:7.0f} {rec:6.3f} {unscr:6.1%}"
        )
    om = {k: mean(v) for k, v in ours_means.items()}
    tm = {k: mean(v) for k, v in theirs_means.items()}
    print(
        f"  {'MEAN':30} {'':6} {'':5} | {om['wss95']:9.2f} {tm['wss95']:6.2f} "
        f"{om['wss95'] - tm['wss95']:+6.2f} | {om['rrf10']:9.2f} {tm['rrf10']:6.2f} | "
        f"{om['loss']:7.4f} {tm['loss']:6.4f} {om['loss'] - tm['loss']:+7.4f} |"
    )

    print("\nGoals (issue 18)")
    if compared:
        diffs = [o - t for o, t in zip(ours_means["wss95"], theirs_means["wss95"], strict=True)]
        low, high = mean_interval(diffs)
        print(
            f"  mean WSS@95 at least 3 points above ASReview's: {om['wss95']:.2f} vs {tm['wss95']:.2f}, "
            f"{om['wss95'] - tm['wss95']:+.2f} (95 % interval {low:+.2f} to {high:+.2f}, "
            f"{len(diffs)} datasets)  {'MET' if om['wss95'] - tm['wss95'] >= 3 else 'NOT MET'}"
        )
        cut = 1 - om["loss"] / tm["loss"]
        print(
            f"  mean loss at least 10 % lower than ASReview's: {om['loss']:.4f} vs {tm['loss']:.4f}, "
            f"scoping's {abs(cut):.1%} {'lower' if cut >= 0 else 'higher'}  "
            f"{'MET' if cut >= 0.10 else 'NOT MET'}"
        )
        lowest = min(worst)
        print(
            f"  no dataset more than 2 WSS points below: worst {lowest[0]:+.2f} ({lowest[1]}); "
            f"{sum(d < -2 for d, _ in worst)} datasets below -2  {'MET' if lowest[0] >= -2 else 'NOT MET'}"
        )
        print(
            f"  mean RRF@10 higher than ASReview's: {om['rrf10']:.2f} vs {tm['rrf10']:.2f}  "
            f"{'MET' if om['rrf10'] > tm['rrf10'] else 'NOT MET'}"
        )
    reached = sum(r >= TARGET_RECALL - 1e-12 for r in recalls)
    share = reached / len(recalls)
    print(
        f"  recall at the stop >= {TARGET_RECALL:.0%} in >= 95 % of runs: {reached}/{len(recalls)} "
        f"= {share:.1%}  {'MET' if share >= 0.95 else 'NOT MET'}"
    )
    print(
        f"  records left unscreened when the rule fired: {mean(unscreened):.1%} on average "
        f"(min {min(unscreened):.1%}, max {max(unscreened):.1%})"
    )


def timing(data: Path, work: Path) -> None:
    """Time one seed of `scoping simulate` on 10,000 records (Cohen 2006 reviews pooled)."""
    import pandas as pd

    folder = data / "systematic-review-datasets" / "datasets" / "Cohen_2006" / "output" / "online"
    files = sorted(folder.glob("*.csv"))
    if not files:
        print("\nTiming skipped: the Cohen 2006 reviews are missing.")
        return
    frames = []
    for path in files:
        frame = pd.read_csv(path)
        frame = frame[["title", "abstract", "label_included"]].copy()
        if path.stem != "ACEInhibitors":  # the includes of one review; the rest are noise
            frame["label_included"] = 0
        frames.append(frame)
    pooled = pd.concat(frames).sample(n=10_000, random_state=1)
    target = work / "data" / "pooled-10000.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    pooled.to_csv(target, index=False)
    started = time.perf_counter()
    command = [
        *SCOPING,
        "simulate",
        str(target),
        "--label-column",
        "label_included",
        "--seeds",
        "1",
        "--json",
        "--out-dir",
        str(work / "outputs"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(f"\nTiming run failed: {done.stderr.strip()}")
        return
    run = json.loads(done.stdout)["runs"][0]
    print(
        f"\nTiming: 10,000 records ({int(pooled['label_included'].sum())} includes), one seed: "
        f"{seconds:.1f} s wall clock including start-up and reading "
        f"(goal: under 120 s); WSS@95 {run['wss95']:.1f}, stop_at {run['stop_at']}"
    )


if __name__ == "__main__":
    sys.exit(main())
