"""De-duplication accuracy: scoping and bib-dedupe side by side on the benchmark sets.

The sets with manual ground truth are in ../shared/data/bib-dedupe-0.7.2 (cardiac, diabetes,
cytology_screening, haematology, respiratory, stroke, digital_work; ``merged_record_ids.csv``
lists each true duplicate group). For every set, in one run:

- scoping: a fresh review folder, ``scoping import records_pre_merged.csv --source SET``
  and ``scoping dedupe`` (in a child process that reports its wall time and peak memory),
  then ``scoping dedupe groups``;
- bib-dedupe: the same CSV through prep -> block -> match -> cluster in its own virtual
  environment (created with ``python -m venv`` and ``pip install bib-dedupe`` on first use;
  it is not a dependency of scoping), in a child process that reports the same figures.

Both are scored with the same count the published benchmarks use
(:func:`scoping.dedupe.evaluate.removal_counts`: one record kept per predicted group, the
lowest id; a removed record that is not a true duplicate is a false positive; a true group
with every record removed is one false positive). Doubtful pairs (scoping's review queue,
bib-dedupe's "maybe") are not merged by either tool and are counted separately.

    python bench/dedupe_accuracy.py                    # all sets, both tools
    python bench/dedupe_accuracy.py --sets stroke,haematology
    python bench/dedupe_accuracy.py --no-bib-dedupe    # scoping only
    python bench/dedupe_accuracy.py --json results.json

Goal (issue 4): 0 false positives on every set and a higher sensitivity than bib-dedupe on
each set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SETS = ("cardiac", "diabetes", "cytology_screening", "haematology", "respiratory", "stroke", "digital_work")
VENV = Path(os.environ.get("BIB_DEDUPE_VENV", "/tmp/bench-venvs/bib-dedupe"))

SCOPING_RUNNER = r"""
import json, resource, sys, time
from scoping.dedupe import api
from scoping.review import find_review
review = find_review(sys.argv[1])
with review.open_store() as store:
    start = time.perf_counter()
    result = api.run_dedupe(store)
    seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak,
                  "uncertain": result.report.n_uncertain_pairs}))
"""

BIB_DEDUPE_RUNNER = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
import bib_dedupe.bib_dedupe as bd
source, target = sys.argv[1], sys.argv[2]
records = pd.read_csv(source)
start = time.perf_counter()
prepared = bd.prep(records, verbosity_level=0)
blocked = bd.block(prepared, verbosity_level=0)
matched = bd.match(blocked, verbosity_level=0)
groups = bd.cluster(matched, verbosity_level=0)
seconds = time.perf_counter() - start
maybe = int((matched["duplicate_label"] == "maybe").sum()) if len(matched) else 0
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
with open(target, "w", encoding="utf-8") as out:
    json.dump({"groups": [[str(x) for x in g] for g in groups], "seconds": seconds,
               "peak_bytes": peak, "uncertain": maybe}, out)
"""


def data_dir() -> Path | None:
    env = os.environ.get("SCOPING_SHARED_DATA")
    for base in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        path = base / "bib-dedupe-0.7.2" / "bib_dedupe" / "data"
        if path.is_dir():
            return path
    return None


def bib_dedupe_python(install: bool) -> Path | None:
    """The bib-dedupe virtual environment's python, created on first use."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    if not install:
        return None
    print(f"creating {VENV} and installing bib-dedupe from PyPI ...", flush=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "bib-dedupe"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(f"bib-dedupe could not be installed: {done.stderr.strip()[-400:]}")
        return None
    return python


def bib_dedupe_version(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('bib-dedupe'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def truth_of(folder: Path) -> tuple[list[str], list[list[str]]]:
    csv.field_size_limit(2**31 - 1)
    with (folder / "records_pre_merged.csv").open(encoding="utf-8", newline="") as f:
        ids = [row["ID"] for row in csv.DictReader(f)]
    with (folder / "merged_record_ids.csv").open(encoding="utf-8", newline="") as f:
        groups = [row["merged_ids"].split(";") for row in csv.DictReader(f)]
    return ids, groups


def run_scoping(name: str, source: Path, work: Path) -> dict[str, Any]:
    review = work / f"scoping-{name}"
    subprocess.run([sys.executable, "-m", "scoping", "init", str(review)], check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "-m", "scoping", "--review", str(review), "import", str(source), "--source", name],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", SCOPING_RUNNER, str(review)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"scoping failed on {name}:\n{done.stderr}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    groups_csv = work / f"scoping-{name}.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scoping",
            "--review",
            str(review),
            "dedupe",
            "groups",
            "--out",
            str(groups_csv),
        ],
        check=True,
        capture_output=True,
    )
    by_work: dict[str, list[str]] = {}
    with groups_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_work.setdefault(row["work_id"], []).append(row["source_id"])
    stats["groups"] = [g for g in by_work.values() if len(g) > 1]
    return stats


def run_bib_dedupe(python: Path, name: str, source: Path, work: Path) -> dict[str, Any] | None:
    target = work / f"bib-dedupe-{name}.json"
    done = subprocess.run(
        [str(python), "-c", BIB_DEDUPE_RUNNER, str(source), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"bib-dedupe failed on {name}: {done.stderr.strip()[-400:]}")
        return None
    result: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return result


def main() -> None:
    from scoping.dedupe.evaluate import Counts, removal_counts

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    parser.add_argument("--no-bib-dedupe", action="store_true", help="run scoping only")
    parser.add_argument("--no-install", action="store_true", help=f"do not create {VENV} when it is missing")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    data = data_dir()
    if data is None:
        raise SystemExit(
            "The benchmark data is absent: ../shared/data/bib-dedupe-0.7.2 was not found "
            "next to the repository (set SCOPING_SHARED_DATA to the folder holding it). "
            "Nothing was measured."
        )
    python = None if args.no_bib_dedupe else bib_dedupe_python(install=not args.no_install)
    if python is None and not args.no_bib_dedupe:
        print(f"bib-dedupe is absent ({VENV} missing and not installed): scoping runs alone.")
    version = bib_dedupe_version(python) if python else None
    print(
        f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; data {data}"
        + (f"; bib-dedupe {version} in {VENV}" if version else "")
    )
    tools = ["scoping"] + (["bib-dedupe"] if python else [])
    totals: dict[str, Counts] = {tool: Counts(0, 0, 0, 0) for tool in tools}
    seconds = dict.fromkeys(tools, 0.0)
    peaks = dict.fromkeys(tools, 0)
    results: list[dict[str, Any]] = []
    print(
        f"{'set':<19} {'tool':<11} {'TP':>5} {'FP':>3} {'FN':>4} {'TN':>5} {'sens':>7} {'spec':>7} "
        f"{'prec':>7} {'F1':>7} {'doubt':>6} {'time s':>7} {'peak MB':>8}"
    )
    with tempfile.TemporaryDirectory(prefix="scoping-accuracy-") as tmp:
        work = Path(tmp)
        for name in [s for s in args.sets.split(",") if s]:
            folder = data / name
            if not folder.is_dir():
                print(f"{name}: no such set in {data}")
                continue
            ids, truth = truth_of(folder)
            source = folder / "records_pre_merged.csv"
            runs: dict[str, dict[str, Any] | None] = {"scoping": run_scoping(name, source, work)}
            if python:
                runs["bib-dedupe"] = run_bib_dedupe(python, name, source, work)
            for tool, run in runs.items():
                if run is None:
                    continue
                counts = removal_counts(ids, truth, run["groups"])
                totals[tool] = totals[tool] + counts
                seconds[tool] += run["seconds"]
                peaks[tool] = max(peaks[tool], run["peak_bytes"])
                row = {
                    "set": name,
                    "tool": tool,
                    **counts.as_dict(),
                    "uncertain": run["uncertain"],
                    "seconds": round(run["seconds"], 2),
                    "peak_mb": round(run["peak_bytes"] / 2**20),
                }
                results.append(row)
                print(
                    f"{name:<19} {tool:<11} {counts.tp:>5} {counts.fp:>3} {counts.fn:>4} {counts.tn:>5} "
                    f"{counts.sensitivity:>7.4f} {counts.specificity:>7.4f} {counts.precision:>7.4f} "
                    f"{counts.f1:>7.4f} {run['uncertain']:>6} {run['seconds']:>7.1f} "
                    f"{run['peak_bytes'] / 2**20:>8.0f}",
                    flush=True,
                )
    for tool in tools:
        c = totals[tool]
        results.append(
            {
                "set": "combined",
                "tool": tool,
                **c.as_dict(),
                "seconds": round(seconds[tool], 2),
                "peak_mb": round(peaks[tool] / 2**20),
            }
        )
        print(
            f"{'combined':<19} {tool:<11} {c.tp:>5} {c.fp:>3} {c.fn:>4} {c.tn:>5} {c.sensitivity:>7.4f} "
            f"{c.specificity:>7.4f} {c.precision:>7.4f} {c.f1:>7.4f} {'':>6} {seconds[tool]:>7.1f} "
            f"{peaks[tool] / 2**20:>8.0f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
