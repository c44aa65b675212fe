"""Import speed and memory: 100,000-record RIS and PubMed XML files into SQLite.

The input files are built by repeating real records (tests/data) with changed identifiers
(PMID, DOI, RIS ID), so every record is distinct. Each import runs the real command,
`scoping import FILE --source NAME`, in a fresh process (inspect + hash + parse + store, one
transaction), and that process reports its own wall time and peak resident memory.

    python bench/import_speed.py [--records 100000] [--keep DIR]

Goal (issue 2): at least 20,000 records/second end to end, peak memory under 1 GB.
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
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_bytes": peak}), file=sys.stderr)
"""


RIS_POOL = ["ovid_psycinfo.ris", "scopus.ris", "embase.ris", "pubmed_endnote.txt",
            "pubmed_zotero.ris", "web_of_science.txt", "proquest.ris"]


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
            article = re.sub(r"<PMID( [^>]*)?>\d+</PMID>", rf"<PMID\1>{40000000 + i}</PMID>",
                             article, count=1)
            article = re.sub(r'(<ArticleId IdType="doi">)([^<]+)', rf"\g<1>\g<2>.bench{i}", article)
            out.write(article + "\n")
        out.write("</PubmedArticleSet>\n")
    return n


def run_import(review: Path, path: Path, source: str) -> dict[str, float]:
    cmd = [sys.executable, "-c", RUNNER, "--review", str(review), "import", str(path),
           "--source", source]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {proc.stderr.strip()[-2000:]}")
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    report["process_seconds"] = wall
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    args = parser.parse_args()

    from scoping.review import init_review

    work = args.keep or Path(tempfile.mkdtemp(prefix="scoping-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cases = [
        ("RIS, 7 dialects mixed", "bench.ris", build_ris),
        ("RIS, Zotero PubMed records", "bench-small.ris",
         lambda path, n: build_ris(path, n, ["pubmed_zotero.ris"])),
    ]
    cases.append(("PubMed XML", "bench.xml", build_pubmed_xml))
    print(f"Import benchmark: {args.records:,} records per file, SQLite store, in {work}")
    print(f"{'file':28} {'MB':>7} {'KB/rec':>6} {'records':>9} {'seconds':>8} {'records/s':>10} "
          f"{'MB/s':>6} {'peak MB':>8}")
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
        print(f"{label:28} {size / 1e6:7.1f} {size / n / 1e3:6.1f} {n:9,} {report['seconds']:8.2f} "
              f"{rate:10,.0f} {size / 1e6 / report['seconds']:6.0f} {report['peak_bytes'] / 1e6:8.0f}")
    print("Goal: >= 20,000 records/s end to end and peak memory < 1,000 MB.")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
