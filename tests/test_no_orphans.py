"""Issue 20 (5): no process outlives its command. ``scoping import`` of a large file parses it
in worker processes; the command is killed with SIGKILL while they work, and every process it
started must be gone soon after, none holding its standard output or error open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scoping.review import init_review

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads the process table in /proc"
)

REPO = Path(__file__).resolve().parent.parent
RECORD = (
    "TY  - JOUR\nAU  - Author, A.\nAU  - Other, B.\nTI  - A generated title number {n} about peer support\n"
    "T2  - Journal of Tests\nPY  - 2020\nVL  - 1\nSP  - 1\nEP  - 9\nDO  - 10.1234/test.{n}\n"
    "AB  - "
    + "An abstract of some length that makes the file large enough to be parsed in parts. " * 5
    + "\nER  - \n\n"
)


_PF_EXITING = 0x4  # <linux/sched.h>


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # a zombie, or a process the kernel is tearing down (PF_EXITING: its memory is already gone)
    return None if fields[0] in "ZX" or int(fields[6]) & _PF_EXITING else int(fields[1])  # a zombie is dead


def descendants(root: int) -> set[int]:
    parents = {int(p.name): _ppid(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if _ppid(pid) is not None}


def test_killed_import_leaves_no_child(tmp_path: Path) -> None:
    review = init_review(tmp_path / "rv")
    big = tmp_path / "big.ris"
    with big.open("w") as out:
        for n in range(0, 60_000, 500):
            out.write("".join(RECORD.format(n=i) for i in range(n, n + 500)))
    assert big.stat().st_size > 24 * 1024 * 1024  # read in parts (16 MB and more)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SCOPING_PARSE_WORKERS": "2"}
    command = subprocess.Popen(
        [sys.executable, "-m", "scoping", "--review", str(review.root), "import", str(big), "--source", "X"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and command.poll() is None:
            children = descendants(command.pid)
            if len(children) >= 3:  # two parsers (and multiprocessing's resource tracker)
                break
            time.sleep(0.05)
        assert command.poll() is None and len(children) >= 2, "the import ended before its parsers started"
        time.sleep(0.5)  # let them work
        children |= descendants(command.pid)
        command.send_signal(signal.SIGKILL)
        # the pipes reach their end only when no process holds them any more
        command.communicate(timeout=20)
        deadline = time.monotonic() + 10
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(children) == set(), (
            f"{len(alive(children))} of {len(children)} children outlived the command"
        )
    finally:
        if command.poll() is None:
            command.kill()
        for pid in alive(children):  # what outlived it (and so failed the test) goes too
            os.kill(pid, signal.SIGKILL)
    with review.open_store() as store:
        assert store.count_records() == 0  # and the killed import stored nothing
