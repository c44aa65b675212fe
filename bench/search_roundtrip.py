"""How many real search strategies the strategy file holds without loss (issue 15's figure).

Reads the published PubMed and Web of Science queries in tests/data/search-strategies/queries.toml
(their origin and licence are in SOURCE.md there; ../shared/data holds no search strategies),
and for each one: parses it (scoping.search.parse), fits it into the strategy file's shape,
translates that strategy back into the same database's syntax and parses the translation. A
query round-trips without loss when both parses give the same Boolean tree (ANDs and ORs
unordered, NOT as AND NOT, case ignored). Prints the totals, per database and kind of query,
and the reasons for the rest (one query can show several).

    python bench/search_roundtrip.py [--file queries.toml] [--show]

``--show`` also prints each query's outcome and what did not fit.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from scoping.search.parse import LOSS_KINDS, RoundTrip, round_trip, summarise  # noqa: E402

DEFAULT = HERE.parent / "tests" / "data" / "search-strategies" / "queries.toml"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--show", action="store_true", help="print each query's outcome")
    args = parser.parse_args()
    if not args.file.exists():
        print(f"{args.file} is missing: no strategies to measure")
        return 1
    queries = tomllib.loads(args.file.read_text(encoding="utf-8"))["query"]
    results: list[tuple[dict[str, str], RoundTrip]] = [
        (q, round_trip(q["text"], q["database"])) for q in queries
    ]
    shown = args.file.relative_to(HERE.parent) if args.file.is_relative_to(HERE.parent) else args.file
    print(f"strategies from {shown}")
    print()
    print(f"{'set':<28} {'total':>5} {'parsed':>6} {'no loss':>7}")
    groups: dict[str, list[RoundTrip]] = {"all": [r for _, r in results]}
    for q, r in results:
        groups.setdefault(f"{q['database']} {q['kind']}", []).append(r)
    for name, rs in groups.items():
        c = summarise(rs)
        print(f"{name:<28} {c['total']:>5} {c['parsed']:>6} {c['round-tripped']:>7}")
    print()
    print("why the others are not held without loss (queries showing each; one query can show several)")
    reasons: Counter[str] = Counter()
    for _, r in results:
        if not r.parsed:
            reasons["not parsed"] += 1
        reasons.update(r.losses)
    for kind, n in reasons.most_common():
        print(f"  {n:>3}  {kind:<17} {LOSS_KINDS.get(kind, 'the translation parses to a different tree')}")
    if args.show:
        print()
        for q, r in results:
            outcome = "no loss" if r.same else (r.error or ", ".join(r.losses))
            print(f"{q['database']:<6} {q['source']}: {outcome}")
            for line in r.fit.details if r.fit is not None else ():
                print(f"         {line[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
