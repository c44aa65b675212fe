"""Does the published inclusion criteria text, as a prior, help prioritised screening?

For every SYNERGY review with titles/abstracts in ../shared/data (synergy-dataset/derived_flat)
and eligibility criteria in synergy-dataset/master/datasets.toml, simulate screening with
``scoping.screen.simulate.simulate`` twice per seed: the current ranker alone, and the
ranker blended with the criteria prior (``criteria=``). Prints WSS@95, RRF@10 and loss per
review, then means over the development and the hold-out reviews (the split of
bench/stopping_methods.py: sha1 of the review name, fixed before any result was seen).
Each run is cached as JSON under --work-dir, so a rerun only prints.

    nice -n 10 python bench/prior_criteria.py [--seeds 2] [--only Sep_2021 ...]

ASReview ELAS u4 is not run here (see bench/simulate_vs_asreview.py for that comparison).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import tomllib
from pathlib import Path

DATA = Path("/work/shared/data/synergy-dataset")
KEYS = ("wss95", "rrf10", "loss")


def held_out(name: str) -> bool:
    """The fixed hold-out split of bench/stopping_methods.py: first byte of sha1(name) < 64."""
    return hashlib.sha1(name.encode()).digest()[0] < 64


def criteria_by_review(data: Path) -> dict[str, str]:
    meta = tomllib.loads((data / "master" / "datasets.toml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for entry in meta.get("datasets", []):
        text = (entry.get("publication") or {}).get("eligibility_criteria") or ""
        if text.strip():
            out[entry["key"]] = text.strip()
    return out


def run_one(csv: Path, criteria: str | None, seed: int) -> dict[str, float]:
    from scoping.ingest import inspect_file, iter_records
    from scoping.screen.simulate import labelled_from_records, simulate

    labelled = labelled_from_records(iter_records(inspect_file(csv)), "label_included", source=csv.name)
    result = simulate(labelled.texts, labelled.labels, seeds=[seed], criteria=criteria)
    run = result.runs[0]
    return {
        "wss95": run.wss95,
        "rrf10": run.rrf10,
        "loss": run.loss,
        "n": result.n_records,
        "prior_weight": run.prior_weight if run.prior_weight is not None else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/scoping-prior"))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    flat = args.data / "derived_flat"
    if not flat.is_dir():
        print(f"{flat} is absent: no labelled reviews to measure on (/work/shared/data missing?)")
        return 1
    criteria = criteria_by_review(args.data)
    reviews = sorted(p.stem for p in flat.glob("*.csv") if p.stem in criteria)
    if args.only:
        reviews = [r for r in reviews if r in args.only]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    for seed in range(args.seeds):
        for review in reviews:
            for mode in ("plain", "criteria"):
                cache = args.work_dir / f"{review}-{mode}-s{seed}.json"
                if not cache.is_file():
                    started = time.perf_counter()
                    text = criteria[review] if mode == "criteria" else None
                    cache.write_text(json.dumps(run_one(flat / f"{review}.csv", text, seed)))
                    print(
                        f"ran {review} {mode} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True
                    )
                rows.setdefault((review, mode), []).append(json.loads(cache.read_text()))
    print(f"\nSeeds 0..{args.seeds - 1}; figures are means over seeds; 'w' = prior weight at last refit")
    print(
        f"{'review':<20} {'set':<5} {'n':>5} | {'WSS95':>6} {'RRF10':>6} {'loss':>6} | "
        f"{'+crit':>6} {'+crit':>6} {'+crit':>6} {'w':>5}"
    )
    totals: dict[tuple[str, str], list[list[float]]] = {}
    for review in reviews:
        split = "hold" if held_out(review) else "dev"
        line = f"{review:<20} {split:<5} {int(rows[(review, 'plain')][0]['n']):>5} |"
        for mode in ("plain", "criteria"):
            runs = rows[(review, mode)]
            means = [sum(r[k] for r in runs) / len(runs) for k in KEYS]
            totals.setdefault((split, mode), []).append(means)
            line += "".join(
                f" {m:>6.3f}" if k == "loss" else f" {m:>6.1f}" for k, m in zip(KEYS, means, strict=True)
            )
            line += " |" if mode == "plain" else ""
        weight = sum(r["prior_weight"] for r in rows[(review, "criteria")]) / args.seeds
        print(f"{line} {weight:>5.2f}")
    for split in ("dev", "hold"):
        if (split, "plain") not in totals:
            continue
        names = [r for r in reviews if (split == "hold") == held_out(r)]
        parts = []
        for mode in ("plain", "criteria"):
            cols = list(zip(*totals[(split, mode)], strict=True))
            parts.append(" ".join(f"{k}={sum(c) / len(c):.3f}" for k, c in zip(KEYS, cols, strict=True)))
        print(f"{split} mean over {len(names)} ({', '.join(names)}): plain {parts[0]}; +criteria {parts[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
