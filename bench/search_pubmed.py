"""PubMed retrieval speed under NCBI's rate limit, against the local replay server.

The replay server (tests/replay_server.py) runs in its own process and serves N PubMed records
(the real articles of tests/data/api/pubmed*.xml repeated with changed PMIDs, answering like
E-utilities, including the 9,999 PMIDs one esearch lists). It enforces NCBI's limit for
clients without an API key: more than 3 requests in any one second is answered with HTTP 429.
The real command, ``scoping search run --database pubmed``, then runs in a fresh process
(E-utilities through requests, no API key) and retrieves, saves and stores every record.

Reported: requests the server received (and how many it throttled), wall time of the command,
where that time went (start-up to the first request, the span of the requests and their mean
spacing, and the tail after the last one, from the server's arrival times on the same
monotonic clock), and the ratio of the wall time to the minimum the rate limit allows for
those requests (requests / 3 per second).

    python bench/search_pubmed.py [--records 20000] [--batch 500] [--keep DIR]

Goal (issue 3): ratio at most 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVER = REPO / "tests" / "replay_server.py"
RATE = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500, help="PMIDs per efetch request")
    parser.add_argument("--keep", metavar="DIR", help="keep the review folder here")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="scoping-search-bench-"))
    review = work / "review"
    if review.exists():
        shutil.rmtree(review)
    subprocess.run([sys.executable, "-m", "scoping", "init", str(review)], check=True, capture_output=True)
    shutil.copy(REPO / "searches" / "strategy.toml", review / "searches" / "strategy.toml")

    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--pubmed", str(args.records), "--rate", str(RATE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        ready = server.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise SystemExit(f"the replay server did not start: {ready}")
        port = int(ready[1])
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NCBI_API_KEY", "SCOPING_PUBMED_BATCH", "SCOPING_DB")
        }
        env.update(
            {
                "SCOPING_PUBMED_URL": f"http://127.0.0.1:{port}/entrez/eutils/",
                "SCOPING_EMAIL": "bench@example.org",
                "SCOPING_PUBMED_BATCH": str(args.batch),
            }
        )
        load_before = os.getloadavg()[0]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        started = time.monotonic()  # the server logs requests on the same (system-wide) clock
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "scoping",
                "--review",
                str(review),
                "search",
                "run",
                "--database",
                "pubmed",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        ended = time.monotonic()
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()[0]
        if run.returncode:
            raise SystemExit(f"scoping search run failed:\n{run.stderr}")
        server.stdin.write("STATS\n")
        server.stdin.flush()
        stats = json.loads(server.stdout.readline())
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()

    count = subprocess.run(
        [sys.executable, "-m", "scoping", "--review", str(review), "records", "--count"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    requests = stats["requests"]
    minimum = requests / RATE
    esearch = sum(n for p, n in stats["by_path"].items() if p.endswith("esearch.fcgi"))
    efetch = sum(n for p, n in stats["by_path"].items() if p.endswith("efetch.fcgi"))
    pages = sum(1 for _ in (review / "searches" / "runs").glob("*/pages/*.xml"))
    size = sum(f.stat().st_size for f in (review / "searches" / "runs").glob("*/pages/*.xml"))
    print(run.stdout.strip())
    print(f"records requested      {args.records:,} (efetch batches of {args.batch})")
    print(f"records stored         {int(count):,}")
    print(
        f"requests               {requests} ({esearch} esearch, {efetch} efetch; "
        f"{stats['throttled']} answered 429)"
    )
    print(f"raw pages saved        {pages} ({size / 1e6:.0f} MB)")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    print(f"wall time              {wall:.1f} s (the whole command, from process start)")
    print(
        f"CPU time               {cpu:.1f} s scoping (command and its parser processes), "
        f"{stats['cpu_seconds']:.1f} s replay server; {os.cpu_count()} cores, load average "
        f"{load_before:.1f} before, {load_after:.1f} after"
    )
    times = sorted(stats["times"])
    if times:
        span = times[-1] - times[0]
        print(
            f"where the time went    {times[0] - started:.2f} s start-up to the first request, "
            f"{span:.2f} s of requests ({span / max(1, len(times) - 1):.3f} s apart), "
            f"{ended - times[-1]:.2f} s after the last request"
        )
    print(f"minimum at {RATE:g} req/s    {minimum:.1f} s ({requests} requests / {RATE:g})")
    print(f"ratio                  {wall / minimum:.2f}  (goal <= 1.2)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"review kept in {review}")
    if int(count) != args.records:
        raise SystemExit("not every record was stored")


if __name__ == "__main__":
    main()
