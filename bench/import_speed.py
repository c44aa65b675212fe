"""Import speed and memory: 100,000-record RIS and PubMed XML files into SQLite.

The input files are built by repeating real records (tests/data) with changed identifiers
(PMID, DOI, RIS ID), so every record is distinct. Each import runs the real command,
`scoping import FILE --source NAME`, in a fresh process (inspect + hash + parse + store, one
transaction), and that process reports its own wall time and peak resident memory, and the
peak of the largest of the parser processes it started (the whole import's peak is at most
its own plus one such peak per parser process: one per core).

    python bench/import_speed.py [--records 100000] [--keep DIR] [--ceilings]

Goal (issue 2): at least 20,000 records/second end to end, peak memory under 1 GB.

With ``--ceilings`` it also measures, for each file, the highest rate that parts of the work
allow on their own, whatever the rest costs:
- storing: the records, parsed and encoded beforehand, stored through ``Store.add_import``
  into a fresh SQLite store (one transaction, as an import does; SQLite has one writer);
- parsing: CPU time per record of the reader in one process, spread over every core;
- lxml (PubMed XML): CPU time per article of lxml building the tree alone, over every core.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"

RUNNER = r"""
import json, resource, sys, time
from scoping.cli import cli
start = time.perf_counter()
try:
    cli(args=sys.argv[1:], prog_name="scoping", standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
elapsed = time.perf_counter() - start
import multiprocessing
for child in multiprocessing.active_children():  # the parser processes, waited for
    child.join()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_bytes": peak, "worker_peak_bytes": worker}),
      file=sys.stderr)
"""


RIS_POOL = [
    "ovid_psycinfo.ris",
    "scopus.ris",
    "embase.ris",
    "pubmed_endnote.txt",
    "pubmed_zotero.ris",
    "web_of_science.txt",
    "proquest.ris",
]


def build_ris(target: Path, n: int, pool: list[str] = RIS_POOL) -> int:
    """Real records from seven RIS exports (Ovid, Scopus, Embase, EndNote, Zotero, WoS, ProQuest)."""
    blocks: list[str] = []
    for name in pool:
        text = (DATA / "asreview" / name).read_text(encoding="utf-8-sig")
        blocks += re.findall(r"^TY  - .*?^ER  -.*?$", text, flags=re.M | re.S)
    with target.open("w", encoding="utf-8") as out:
        for i in range(n):
            block = blocks[i % len(blocks)]
            block = re.sub(r"^AN  - \d+", f"AN  - {30000000 + i}", block, flags=re.M)
            block = re.sub(r"^DO  - (\S+)", rf"DO  - \1.bench{i}", block, flags=re.M)
            block = re.sub(r"^ID  - .*$", f"ID  - bench-{i}", block, flags=re.M)
            out.write(block + "\n\n")
    return n


def build_pubmed_xml(target: Path, n: int) -> int | None:
    candidates = sorted(DATA.glob("**/*.xml"))
    articles: list[str] = []
    for path in candidates:
        text = path.read_text(encoding="utf-8", errors="replace")
        if "<PubmedArticle>" in text or "<PubmedArticle " in text:
            articles += re.findall(r"<PubmedArticle[ >].*?</PubmedArticle>", text, flags=re.S)
    if not articles:
        return None
    with target.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n')
        for i in range(n):
            article = articles[i % len(articles)]
            article = re.sub(
                r"<PMID( [^>]*)?>\d+</PMID>", rf"<PMID\1>{40000000 + i}</PMID>", article, count=1
            )
            article = re.sub(r'(<ArticleId IdType="doi">)([^<]+)', rf"\g<1>\g<2>.bench{i}", article)
            out.write(article + "\n")
        out.write("</PubmedArticleSet>\n")
    return n


def run_import(review: Path, path: Path, source: str) -> dict[str, float]:
    cmd = [sys.executable, "-c", RUNNER, "--review", str(review), "import", str(path), "--source", source]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {proc.stderr.strip()[-2000:]}")
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    report["process_seconds"] = wall
    return report


def ceilings(path: Path, work: Path) -> dict[str, float]:
    """Records/second that storing alone, and parsing alone on every core, would allow."""
    import os

    from scoping.ingest import inspect_file, iter_records
    from scoping.review import init_review
    from scoping.store import Store, record_values

    info = inspect_file(path)
    cores = os.cpu_count() or 1
    start = time.process_time()
    rows = list(iter_records(info, encode=record_values))
    parse_cpu = time.process_time() - start
    n = len(rows)
    review = work / "review-ceiling"
    if review.exists():
        shutil.rmtree(review)
    init_review(review)
    store = Store.open(review / "screening" / "review.db")
    start = time.perf_counter()
    store.add_import(
        source="Bench",
        file_path=str(path),
        sha256=info.sha256,
        size=info.size,
        format=info.format,
        encoding=info.encoding,
        records=rows,
    )
    store.close()
    stored = time.perf_counter() - start
    del rows
    shutil.rmtree(review)
    result = {"store": n / stored, "parse": n / parse_cpu * cores}
    if info.format == "pubmed-xml":
        from lxml import etree

        cpu = 0.0
        with path.open("rb") as stream:
            parser = etree.XMLPullParser(events=("end",), tag="PubmedArticle", huge_tree=True)
            while block := stream.read(1 << 24):
                start = time.process_time()
                parser.feed(block)
                for _event, element in parser.read_events():
                    element.clear()
                    while element.getprevious() is not None:
                        del element.getparent()[0]
                cpu += time.process_time() - start
        result["lxml"] = n / cpu * cores
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    parser.add_argument(
        "--ceilings",
        action="store_true",
        help="also measure the rate storing alone and parsing alone would allow",
    )
    args = parser.parse_args()

    from scoping.review import init_review

    work = args.keep or Path(tempfile.mkdtemp(prefix="scoping-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cases = [
        ("RIS, 7 dialects mixed", "bench.ris", build_ris),
        (
            "RIS, Zotero PubMed records",
            "bench-small.ris",
            lambda path, n: build_ris(path, n, ["pubmed_zotero.ris"]),
        ),
    ]
    cases.append(("PubMed XML", "bench.xml", build_pubmed_xml))
    built: dict[str, Path] = {}
    print(f"Import benchmark: {args.records:,} records per file, SQLite store, in {work}")
    print(
        f"{'file':28} {'MB':>7} {'KB/rec':>6} {'records':>9} {'seconds':>8} {'records/s':>10} "
        f"{'MB/s':>6} {'peak MB':>8} {'parser MB':>9}"
    )
    for label, name, builder in cases:
        path = work / name
        n = builder(path, args.records)
        if n is None:
            print(f"{label:28} skipped: no PubMed XML sample under tests/data yet")
            continue
        review = work / f"review-{path.stem}"
        if review.exists():
            shutil.rmtree(review)
        init_review(review)
        report = run_import(review, path, "Bench")
        rate = n / report["seconds"]
        size = path.stat().st_size
        print(
            f"{label:28} {size / 1e6:7.1f} {size / n / 1e3:6.1f} {n:9,} {report['seconds']:8.2f} "
            f"{rate:10,.0f} {size / 1e6 / report['seconds']:6.0f} {report['peak_bytes'] / 1e6:8.0f} "
            f"{report['worker_peak_bytes'] / 1e6:9.0f}"
        )
        built[label] = path
    print("peak MB: the importing process; parser MB: the largest of its parser processes.")
    print("Goal: >= 20,000 records/s end to end and peak memory < 1,000 MB.")
    if args.ceilings:  # after the imports: this process grows, and a child's peak counts it
        found = {label: ceilings(path, work) for label, path in built.items()}
        import os

        print(f"\nCeilings (records/s; parsing spread over {os.cpu_count()} cores, no other work):")
        print(f"{'file':28} {'storing alone':>14} {'parsing alone':>14} {'lxml alone':>11}")
        for label, ceiling in found.items():
            lxml = f"{ceiling['lxml']:11,.0f}" if "lxml" in ceiling else f"{'-':>11}"
            print(f"{label:28} {ceiling['store']:14,.0f} {ceiling['parse']:14,.0f} {lxml}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
