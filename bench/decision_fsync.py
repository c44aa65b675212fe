"""What durability costs on the decision path: SQLite ``synchronous=FULL`` against ``NORMAL``.

A review is built from a real export in the shared data folder (ASySD's Zotero export of
1,000 records: imported, de-duplicated, allocated to two reviewers with the repository's
worked-example protocol). Then screening decisions are stored one by one as ``scoping
screen`` stores them (``record_decision``, each committed before it returns), in alternating
blocks with ``synchronous=NORMAL`` and ``FULL`` (WAL mode in both), on the disk of the review
folder (``--dir``, default the system's temporary folder: check it is a disk, not tmpfs).

Reported per setting: decisions per second, and the median and 95th percentile time of one
decision.

    python bench/decision_fsync.py [--blocks 8] [--per-block 100] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scoping.app import init_review
from scoping.screen import record_decision
from scoping.store import Store, screen_tables
from scoping.store import core as store_core

REPO = Path(__file__).resolve().parent.parent
SHARED = Path("/work/shared/data")
EXPORT = SHARED / "ASySD" / "tests" / "testthat" / "zotero_export.ris"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=8, help="blocks, alternating NORMAL and FULL")
    parser.add_argument("--per-block", type=int, default=100, help="decisions per block")
    parser.add_argument("--dir", default=None, help="where the review folder is made")
    options = parser.parse_args()
    if not EXPORT.exists():
        raise SystemExit(f"the shared data folder is absent ({EXPORT} not found): nothing measured")

    work = Path(tempfile.mkdtemp(prefix="scoping-bench-fsync-", dir=options.dir))
    try:
        review = init_review(work / "review")
        shutil.copy(REPO / "screening" / "protocol.toml", review.root / "screening" / "protocol.toml")
        review.import_files([EXPORT], source="Zotero")
        review.dedupe()
        review.assign("lead")
        protocol = review.protocol()
        url = f"sqlite:///{review.root / 'screening' / 'review.db'}"
        with Store.open(url) as store:
            queues = {
                name: screen_tables.assigned_works(store, "title-abstract", name)
                for name in ("reviewer1", "reviewer2")
            }
        todo = [(name, work_id) for name, works in queues.items() for work_id in works]
        needed = options.blocks * options.per_block
        if len(todo) < needed:
            raise SystemExit(f"only {len(todo)} decisions to make; ask for fewer (--blocks, --per-block)")
        times: dict[str, list[float]] = {"NORMAL": [], "FULL": []}
        for block in range(options.blocks):
            mode = "NORMAL" if block % 2 == 0 else "FULL"
            store_core.SQLITE_SYNCHRONOUS = mode  # read when a connection opens
            with Store.open(url) as store:
                with store.engine.connect() as conn:  # check the setting took (2: FULL, 1: NORMAL)
                    assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == (
                        2 if mode == "FULL" else 1
                    )
                for name, work_id in todo[block * options.per_block : (block + 1) * options.per_block]:
                    start = time.perf_counter()
                    record_decision(store, protocol, name, "title-abstract", work_id, "include")
                    times[mode].append(time.perf_counter() - start)
        print(
            f"{len(todo)} decisions possible; {needed} stored in {options.blocks} alternating blocks ({work})"
        )
        for mode, spent in times.items():
            spent.sort()
            median, p95 = statistics.median(spent) * 1000, spent[int(0.95 * (len(spent) - 1))] * 1000
            print(
                f"synchronous={mode:6}: {len(spent) / sum(spent):7.1f} decisions/s; one decision: "
                f"median {median:.2f} ms, p95 {p95:.2f} ms"
            )
        ratio = statistics.median(times["FULL"]) / statistics.median(times["NORMAL"])
        print(f"FULL / NORMAL, median time of one decision: {ratio:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
