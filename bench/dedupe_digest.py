"""A digest of what de-duplication decides on each labelled set: diff two trees' digests to show
that a change (a refactoring, say) left every decision as it was.

    python bench/dedupe_digest.py > after.txt                     # this tree's src/
    python bench/dedupe_digest.py --src ../main/src > before.txt  # another tree's
    diff before.txt after.txt                                     # nothing: the same decisions

The sets are the seven of ../shared/data/bib-dedupe-0.7.2 (``--sets`` picks some). Each set is
de-duplicated three times: by the rules, by the shipped pair model (``model="default"``), and by
the rules incrementally (the first half of the records already in works of their own, and a
person's word on 20 pairs of the first run, alternately same and different). A line per run:
set, run, records, works, pairs kept (duplicate and doubtful), duplicate pairs, and the first 16
hex digits of a SHA-256 of the works, the works changed, every kept pair (ids, label, rule,
score, fields), the report (its timings left out) and the merges.

Python's string hashing is seeded per process unless ``PYTHONHASHSEED`` is set, and some
digests (digital_work's) differ between two runs of the same tree without it; the script runs
itself again with ``PYTHONHASHSEED=0`` so that two trees are compared on the same seed. The
records of each set are read once and kept in bench/out/dedupe-digest/ (a pickle per set).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / "out" / "dedupe-digest"


def digest(result: Any) -> str:
    report = {f.name: getattr(result.report, f.name) for f in dataclasses.fields(result.report)}
    report.pop("seconds", None)
    body = json.dumps(
        [
            sorted(result.works.items()),
            sorted(result.changed.items()),
            [(p.a, p.b, p.label, p.rule, p.score, repr(p.fields)) for p in result.pairs],
            report,
            result.merges,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def rows_of(data: Path, name: str) -> list[Any]:
    cached = CACHE / f"{name}.pkl"
    if cached.exists():
        rows: list[Any] = pickle.loads(cached.read_bytes())
        return rows
    from dedupe_train import load_set

    rows = load_set(data, name).rows
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pickle.dumps(rows))
    return rows


def main() -> None:
    from dedupe_train import SETS, data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--src", default=str(HERE.parent / "src"), help="the src/ folder to import scoping from"
    )
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    data = data_dir()
    if data is None:
        raise SystemExit(
            "The labelled sets are absent: ../shared/data/bib-dedupe-0.7.2 was not found (set "
            "SCOPING_SHARED_DATA to the folder holding it). Nothing was measured."
        )
    sys.path.insert(0, args.src)
    from scoping.dedupe import engine
    from scoping.dedupe.engine import deduplicate

    print(f"# scoping from {Path(engine.__file__).resolve().parents[1]}")
    for name in args.sets.split(","):
        rows = rows_of(data, name)
        half = {r.id: r.id for r in rows[: len(rows) // 2]}
        decisions: dict[tuple[int, int], str] = {}
        for run, model, existing in (
            ("rules", None, None),
            ("model", "default", None),
            ("incremental", None, half),
        ):
            result = deduplicate(
                iter(rows), total=len(rows), model=model, existing=existing, decisions=decisions
            )
            n_duplicate = sum(1 for p in result.pairs if p.label == "duplicate")
            n_works = len(set(result.works.values()))
            print(
                f"{name} {run} records={len(rows)} works={n_works} pairs={len(result.pairs)} "
                f"duplicate={n_duplicate} digest={digest(result)}",
                flush=True,
            )
            if not decisions:
                decisions = {
                    (p.a, p.b): ("different" if k % 2 else "same") for k, p in enumerate(result.pairs[:20])
                }


if __name__ == "__main__":
    main()
