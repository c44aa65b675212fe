"""De-duplication at scale: 100,000 and 1,000,000 records, time and peak memory.

The inputs are built from the real benchmark sets (../shared/data/bib-dedupe-0.7.2, all
seven sets with their true duplicates) plus perturbed copies: each copy of a real record
becomes a *new* publication (some title words replaced by words of other titles, other
authors, another year, volume, pages and DOI), and about a third of the new publications get
a second record formatted as another database would (capitals, initials, abbreviated
journal, compressed pages, no DOI, a typo, HTML markup). So the input has realistic field
values, realistic near-misses, and a known truth at every size.

Each size runs the real commands in a fresh process: ``scoping import FILE.csv --source S``
(timed separately) and then ``scoping dedupe`` (the figure that counts), each process
reporting its own wall time, CPU time and peak resident memory. On a machine shared with
other jobs the wall time grows with their load, so the CPU seconds are printed beside it,
``us/rec`` is CPU microseconds per record (the figure that shows whether the time grows
linearly), and ``load`` is the 1-minute load average when the size finished. The groups are
scored against the truth with the benchmarks' counting (:mod:`scoping.dedupe.evaluate`).

    python bench/dedupe_scale.py                       # 10k, 30k, 100k, 300k, 1M
    python bench/dedupe_scale.py --sizes 100000        # one size
    python bench/dedupe_scale.py --keep /tmp/scale     # keep inputs and stores
    python bench/dedupe_scale.py --sizes 100000 --model   # the rules, then the pair model

Goals (issue 4): 100,000 records in under 60 s and 1,000,000 in under 15 minutes on 2 cores,
peak memory under 6 GB, time growing close to linearly.

Measured (issue 17, rules, 2 cores shared with other jobs; load = 1-minute load average):

=========  ========  ========  =====  ======  =======  ==============  ====
records    import s  dedupe s  CPU s  us/rec  peak MB  FP / FN         load
=========  ========  ========  =====  ======  =======  ==============  ====
10,000          1.9       6.0    3.8     381      124  0 / 10           3.6
30,000          6.1      16.6    8.7     289      185  2 / 42           4.1
100,000        15.8      55.6   28.4     284      377  2 / 47           3.8
300,000        27.7     112.3   86.1     287      954  2 / 61           4.9
1,000,000     117.3     611.7  304.9     305    2,705  2 / 119          3.8
=========  ========  ========  =====  ======  =======  ==============  ====

CPU per record is flat from 30,000 to 1,000,000 (the first 24,503 records are the real sets,
denser in duplicates and longer than the generated ones, hence the higher figure at 10,000).
The same runs before issue 17's changes (commit 45016dd): 10,000: 7.5 CPU s; 30,000: 18.1;
100,000: 54.7 CPU s (112.7 s wall, load 4.0); the groups written by ``scoping dedupe groups``
are byte-identical before and after at these three sizes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SETS = ("cardiac", "diabetes", "cytology_screening", "haematology", "respiratory", "stroke", "digital_work")

RUNNER = r"""
import json, resource, sys, time
from scoping.cli import cli
start, cpu = time.perf_counter(), time.process_time()
try:
    cli(args=sys.argv[1:], prog_name="scoping", standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_bytes": peak}), file=sys.stderr)
"""

MODEL_RUNNER = r"""
import json, resource, sys, time
from scoping.dedupe import api
from scoping.review import find_review
with find_review(sys.argv[1]).open_store() as store:
    start = time.perf_counter()
    api.run_dedupe(store, rebuild=True, model="default")
    elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_bytes": peak}), file=sys.stderr)
"""

COLUMNS = ("ID", "title", "author", "year", "journal", "volume", "number", "pages", "doi")


def data_dir() -> Path | None:
    env = os.environ.get("SCOPING_SHARED_DATA")
    for base in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        path = base / "bib-dedupe-0.7.2" / "bib_dedupe" / "data"
        if path.is_dir():
            return path
    return None


def load_base(data: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """All records of the seven sets (ids made unique per set) and their true work."""
    rows: list[dict[str, str]] = []
    truth: dict[str, str] = {}
    csv.field_size_limit(2**31 - 1)
    for name in SETS:
        with (data / name / "records_pre_merged.csv").open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                rid = f"{name}:{row['ID']}"
                rows.append(
                    {
                        "ID": rid,
                        "title": row.get("title") or "",
                        "author": row.get("author") or "",
                        "year": row.get("year") or "",
                        "journal": row.get("journal") or row.get("booktitle") or "",
                        "volume": row.get("volume") or "",
                        "number": row.get("number") or "",
                        "pages": row.get("pages") or "",
                        "doi": row.get("doi") or "",
                    }
                )
                truth[rid] = rid
        with (data / name / "merged_record_ids.csv").open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                ids = [f"{name}:{x}" for x in row["merged_ids"].split(";")]
                for x in ids:
                    truth[x] = ids[0]
    return rows, truth


_WORD = re.compile(r"[A-Za-z]{4,}")


def _new_work(
    rnd: random.Random, base: dict[str, str], vocab: list[str], surnames: list[str], serial: int
) -> dict[str, str]:
    """A different publication shaped like ``base``."""
    words = base["title"].split()
    if len(words) < 3:
        words = [*words, *rnd.sample(vocab, 4)]
    positions = [i for i, w in enumerate(words) if _WORD.fullmatch(w.strip(".,:;()"))]
    positions = positions or list(range(len(words)))
    for i in {*rnd.sample(positions, min(len(positions), rnd.randint(2, 4))), positions[0]}:
        words[i] = rnd.choice(vocab)
    title = " ".join(words)
    n_auth = max(1, min(8, len(base["author"].split(" and ")) if base["author"] else rnd.randint(1, 6)))
    authors = " and ".join(
        f"{rnd.choice(surnames)}, {rnd.choice('ABCDEFGHJKLMNPRSTW')}." for _ in range(n_auth)
    )
    year = str(rnd.randint(1975, 2024))
    first = rnd.randint(1, 3000)
    return {
        "title": title,
        "author": authors,
        "year": year,
        "journal": base["journal"],
        "volume": str(rnd.randint(1, 400)),
        "number": str(rnd.randint(1, 12)),
        "pages": f"{first}-{first + rnd.randint(2, 20)}",
        "doi": f"10.9999/bench.{serial}" if rnd.random() < 0.6 else "",
    }


def _abbreviate(journal: str) -> str:
    words = [w for w in re.split(r"\s+", journal) if w.lower() not in ("of", "the", "and", "&", "in")]
    return " ".join(w[:4] if len(w) > 5 else w for w in words)


def _other_database(rnd: random.Random, rec: dict[str, str]) -> dict[str, str]:
    """The same publication as another database exports it."""
    out = dict(rec)
    title = rec["title"]
    style = rnd.random()
    if style < 0.25:
        title = title.upper()
    elif style < 0.5:
        title = title.rstrip(".") + "."
    elif style < 0.6:
        title = f"<i>{title}</i>"
    elif style < 0.75:
        words = title.split()
        long_words = [i for i, w in enumerate(words) if len(w) > 6]
        if long_words:
            i = rnd.choice(long_words)
            w = words[i]
            j = rnd.randint(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # a transposition typo
        title = " ".join(words)
    out["title"] = title
    authors = []
    for name in rec["author"].split(" and "):
        family, _, given = name.partition(", ")
        authors.append(f"{family} {given.replace('.', '').replace(' ', '')}".strip())
    out["author"] = "; ".join(authors)
    out["journal"] = _abbreviate(rec["journal"]) if rnd.random() < 0.5 else rec["journal"]
    first, _, last = rec["pages"].partition("-")
    if last and len(last) == len(first) and rnd.random() < 0.5:
        keep = next((i for i, (x, y) in enumerate(zip(first, last, strict=True)) if x != y), len(last) - 1)
        out["pages"] = f"{first}-{last[keep:]}"
    if rnd.random() < 0.5:
        out["doi"] = ""
    return out


def build(target: Path, n: int, data: Path, seed: int = 7) -> dict[str, str]:
    """Write an n-record CSV; return record id -> true work id."""
    rnd = random.Random(seed)
    base, truth = load_base(data)
    vocab = sorted(
        {
            w.strip(".,:;()").lower()
            for r in base
            for w in r["title"].split()
            if _WORD.fullmatch(w.strip(".,:;()"))
        }
    )
    surnames = sorted(
        {
            name.split(",")[0].strip()
            for r in base
            for name in r["author"].split(" and ")
            if "," in name and 2 < len(name.split(",")[0].strip()) < 20
        }
    )
    out_truth: dict[str, str] = {}

    def records() -> Iterator[dict[str, str]]:
        count = 0
        for rec in base:
            if count >= n:
                return
            out_truth[rec["ID"]] = truth[rec["ID"]]
            count += 1
            yield rec
        serial = 0
        while count < n:
            template = base[serial % len(base)]
            serial += 1
            work = _new_work(rnd, template, vocab, surnames, serial)
            wid = f"s{serial}"
            work["ID"] = f"{wid}a"
            out_truth[work["ID"]] = wid
            count += 1
            yield work
            if count < n and rnd.random() < 0.35:
                dup = _other_database(rnd, work)
                dup["ID"] = f"{wid}b"
                out_truth[dup["ID"]] = wid
                count += 1
                yield dup

    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for rec in records():
            writer.writerow(rec)
    return out_truth


def run_scoping(review: Path, *args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "--review", str(review), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"scoping {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    stats: dict[str, float] = json.loads(proc.stderr.strip().splitlines()[-1])
    return stats


def score(groups_csv: Path, truth: dict[str, str]) -> dict[str, float | int]:
    from scoping.dedupe.evaluate import removal_counts

    by_work: dict[str, list[str]] = {}
    ids: list[str] = []
    with groups_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_work.setdefault(row["work_id"], []).append(row["source_id"])
            ids.append(row["source_id"])
    true_groups: dict[str, list[str]] = {}
    for rid in ids:
        true_groups.setdefault(truth[rid], []).append(rid)
    return removal_counts(ids, true_groups.values(), by_work.values()).as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="10000,30000,100000,300000,1000000", help="comma-separated record counts"
    )
    parser.add_argument("--keep", default=None, help="keep inputs and stores in this folder")
    parser.add_argument(
        "--model", action="store_true", help="also de-duplicate again with the shipped pair model"
    )
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    data = data_dir()
    if data is None:
        raise SystemExit(
            "The benchmark data is absent: ../shared/data/bib-dedupe-0.7.2 was not found "
            "(set SCOPING_SHARED_DATA to the folder that holds it)."
        )
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="scoping-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; data {data}")
    header = (
        f"{'records':>9} {'import s':>9} {'dedupe s':>9} {'cpu s':>7} {'us/rec':>7} {'peak MB':>8} "
        f"{'works':>9} {'TP':>7} {'FP':>4} {'FN':>6} {'sens':>7} {'load':>5}"
    )
    print(header)
    results = []
    for n in sizes:
        folder = work / f"n{n}"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        folder.mkdir()
        source = folder / "records.csv"
        truth = build(source, n, data)
        review = folder / "review"
        subprocess.run(
            [sys.executable, "-m", "scoping", "init", str(review)], check=True, capture_output=True
        )
        imp = run_scoping(review, "import", str(source), "--source", "bench")
        start = time.perf_counter()
        ded = run_scoping(review, "dedupe")
        wall = time.perf_counter() - start
        groups = folder / "groups.csv"
        run_scoping(review, "dedupe", "groups", "--out", str(groups))
        counts = score(groups, truth)
        with groups.open(encoding="utf-8") as f:
            n_works = len({line.split(",")[1] for line in list(f)[1:]})
        result = {
            "records": n,
            "import_seconds": round(imp["seconds"], 2),
            "dedupe_seconds": round(ded["seconds"], 2),
            "dedupe_process_seconds": round(wall, 2),
            "dedupe_cpu_seconds": round(ded["cpu_seconds"], 2),
            "load_average": os.getloadavg()[0],
            "peak_mb": round(ded["peak_bytes"] / 2**20),
            "works": n_works,
            **counts,
        }
        results.append(result)
        print(
            f"{n:>9,} {imp['seconds']:>9.1f} {ded['seconds']:>9.1f} {ded['cpu_seconds']:>7.1f} "
            f"{ded['cpu_seconds'] / n * 1e6:>7.0f} "
            f"{ded['peak_bytes'] / 2**20:>8,.0f} {n_works:>9,} {counts['TP']:>7} {counts['FP']:>4} "
            f"{counts['FN']:>6} {counts['sensitivity']:>7.4f} {result['load_average']:>5.1f}",
            flush=True,
        )
        if args.model:
            proc = subprocess.run(
                [sys.executable, "-c", MODEL_RUNNER, str(review)], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise SystemExit(f"the model run failed:\n{proc.stderr}")
            mod = json.loads(proc.stderr.strip().splitlines()[-1])
            run_scoping(review, "dedupe", "groups", "--out", str(groups))
            mc = score(groups, truth)
            result["model"] = {"dedupe_seconds": round(mod["seconds"], 2), **mc}
            print(
                f"{'  model':>9} {'':>9} {mod['seconds']:>9.1f} {'':>7} {mod['seconds'] / n * 1e6:>7.0f} "
                f"{mod['peak_bytes'] / 2**20:>8,.0f} {'':>9} {mc['TP']:>7} {mc['FP']:>4} "
                f"{mc['FN']:>6} {mc['sensitivity']:>7.4f}",
                flush=True,
            )
        if not args.keep:
            import shutil

            shutil.rmtree(folder)
    if len(results) > 1:
        a, b = results[0], results[-1]
        growth = (b["dedupe_cpu_seconds"] / a["dedupe_cpu_seconds"]) / (b["records"] / a["records"])
        print(
            f"CPU time per record at {b['records']:,} is {growth:.2f}x that at {a['records']:,} "
            "(1.00 = linear)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
