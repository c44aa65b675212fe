"""The pair model's held-out errors grouped by the kind of evidence, not by record.

Leave-one-set-out over the seven labelled sets in ../shared/data/bib-dedupe-0.7.2, exactly as
``bench/dedupe_methods.py`` measures a method (features cached there; the link threshold
chosen inside the six training sets). For each held-out set, the pairs are chained into works
and every *pair* of records is classed:

- a false link: two records of different true groups put in one work (by a direct link, or
  through a chain, which is then said);
- a missed pair: two records of one true group left in two works, although the pair was
  compared (blocking recall is 100 % on the seven sets).

Each pair is described by what its fields do (title level, authors, year, journal, volume,
issue, pages, DOI, abstract) and why it was not linked (a veto, or a score below the link
threshold); the pairs are counted per description, so the output says which kinds of
evidence the model gets wrong, not which records.

    python bench/dedupe_errors.py                       # the shipped family (logistic levels)
    python bench/dedupe_errors.py --method "boosting monotone" --budget 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))


def _level(value: float | None, cuts: tuple[tuple[float, str], ...], missing: str = "?") -> str:
    if value is None:
        return missing
    for cut, name in cuts:
        if value >= cut:
            return name
    return "low"


def _flag(value: bool | None) -> str:
    return "?" if value is None else "=" if value else "≠"


def kind(a: Any, b: Any, c: Any) -> str:
    """A short description of what the fields of a compared pair do."""
    if c.title is None:
        title = "?"
    elif c.title_exact:
        title = "exact"
    else:
        title = _level(c.title, ((0.97, ">=.97"), (0.9, ">=.9"), (0.8, ">=.8"), (0.6, ">=.6")))
    if c.title_prefix:
        title += "+prefix"
    if a.generic or b.generic:
        title += "+generic"
    if title != "?" and min(a.title_words, b.title_words) <= 3:
        title += "+short"
    authors = _level(c.authors, ((0.99, "all"), (0.75, "most"), (0.3, "some")), "?")
    authors += "" if c.first_author is None else "/1st=" if c.first_author else "/1st≠"
    year = "?" if c.year is None else f"Δ{c.year}"
    journal = _level(c.journal, ((0.9, "="), (0.6, "~")), "?")
    journal = "≠" if journal == "low" else journal
    doi = "weak≠" if c.doi is False and c.doi_weak else _flag(c.doi)
    if c.doi is None and bool(a.doi) != bool(b.doi):
        doi = "one"
    abstract = _level(c.abstract, ((0.95, "="), (0.8, "~")), "?")
    abstract = "≠" if abstract == "low" else abstract
    return (
        f"title {title}; authors {authors}; year {year}; journal {journal}; vol {_flag(c.volume)} "
        f"iss {_flag(c.issue)} page {_flag(c.pages)} range {_flag(c.page_range)}; doi {doi}; "
        f"pmid {_flag(c.pmid)}; abstract {abstract}" + ("; shifted" if c.shifted else "")
    )


def loso_links(dm: Any, tables: Any, make: Any, numeric: bool, ensemble: bool, budget: float) -> list[Any]:
    """The held-out links of each set, as ``dedupe_methods.loso`` makes them (same threshold)."""
    out: list[Any] = []
    original = dm.removal
    try:
        dm.removal = lambda table, linked: out.append(linked)
        dm.loso(tables, make, numeric, ensemble, budget)
    finally:
        dm.removal = original
    return out


def coarse(c: Any) -> str:
    """The disagreements of a pair the model scored below its link threshold, in a few words."""
    tags = []
    if c.title is not None and c.title < 0.9:
        tags.append("title weak (<0.9)")
    if c.title_prefix:
        tags.append("title is the other's prefix")
    if c.journal is not None and c.journal < 0.9:
        tags.append("journal names differ")
    for value, name in ((c.volume, "volume"), (c.issue, "issue"), (c.pages, "first page")):
        if value is False:
            tags.append(f"{name} differs")
    if c.authors is None or c.authors < 0.75 or c.first_author is False:
        tags.append("authors weak or first differs")
    if c.year == 1:
        tags.append("year one apart")
    if c.journal is None and c.volume is None and c.pages is None:
        tags.append("no venue fields")
    if c.doi is True:
        tags.append("SAME DOI")
    return ", ".join(tags) or "nothing disagrees"


def main() -> None:
    import dedupe_methods as dm
    from dedupe_train import SETS, data_dir

    from scoping.dedupe.cluster import Link, form_works
    from scoping.dedupe.compare import compare
    from scoping.dedupe.engine import model_vetoes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="logistic levels")
    parser.add_argument("--budget", type=float, default=1.0)
    args = parser.parse_args()
    data = data_dir()
    if data is None:
        raise SystemExit("The labelled sets are absent (../shared/data/bib-dedupe-0.7.2); nothing measured.")
    start = time.perf_counter()
    tables = [dm.set_table(data, name) for name in SETS]
    make, numeric, ensemble = dm._methods()[args.method]
    linked_by_set = loso_links(dm, tables, make, numeric, ensemble, args.budget)
    false_kinds: Counter[str] = Counter()
    missed_kinds: Counter[str] = Counter()
    missed_coarse: Counter[str] = Counter()
    for table, linked in zip(tables, linked_by_set, strict=True):
        keys = table["keys"]
        truth = {sid: g for g, members in enumerate(table["groups"]) for sid in members}
        ids = table["ids"]
        links = [Link(int(i), int(j), 1.0) for i, j in table["pairs"][linked]]
        roots, _ = form_works(len(keys), links, conflict=dm.conflict_of(keys), existing={})
        direct = {(int(i), int(j)) for i, j in table["pairs"][linked]}
        for (i, j), vetoed in zip(table["pairs"].tolist(), table["vetoed"].tolist(), strict=True):
            same_truth = ids[i] in truth and truth.get(ids[i]) == truth.get(ids[j])
            same_work = roots.get(i, i) == roots.get(j, j)
            if same_truth == same_work:
                continue
            c = compare(keys[i], keys[j])
            vetoes = model_vetoes(c)
            if same_work:
                why = "linked" if (i, j) in direct else "chained"
                false_kinds[f"[{table['name']}] {why}: {kind(keys[i], keys[j], c)}"] += 1
            else:
                why = f"veto {vetoes[0]}" if vetoes else "soft/untitled" if vetoed else "score below link"
                missed_kinds[f"{why} | {kind(keys[i], keys[j], c)}"] += 1
                missed_coarse[why if vetoes else f"{why}: {coarse(c)}"] += 1
    print(f"{args.method}, budget {args.budget}, held out; {time.perf_counter() - start:.0f} s")
    print(f"\nfalse links (pairs): {sum(false_kinds.values())}")
    for text, n in false_kinds.most_common():
        print(f"  {n:3d}  {text}")
    print(f"\nmissed pairs (true pairs compared but in two works): {sum(missed_kinds.values())}, by kind")
    for text, n in missed_coarse.most_common():
        print(f"  {n:3d}  {text}")
    print("\nmissed pairs, field by field:")
    for text, n in missed_kinds.most_common():
        print(f"  {n:3d}  {text}")


if __name__ == "__main__":
    main()
