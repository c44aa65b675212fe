"""Processes left behind when a command is killed with SIGKILL (issue 20).

Two commands start parser processes: ``scoping import`` of a large RIS file (read in parts by
``SCOPING_PARSE_WORKERS=2`` processes) and ``scoping search run --database pubmed`` against
the local replay server (tests/replay_server.py; PubMed pages parsed by 2 processes). Each is
started, killed with SIGKILL once its parser processes are running (after a further random
0-1 s, seeded), and then every process it had started is looked for 5 s and 30 s later (a
child killed while still starting Python cannot have been told to die with the command yet:
it ends by itself once it starts, which takes seconds on a loaded machine). Also counted: kills
after which the command's standard output was still held open 5 s later (a script capturing
the output would hang).

    python bench/orphans.py [--kills 30] [--src DIR]

``--src`` is the source tree to run (default: this checkout's src/): run it once with the old
tree (e.g. ``--src /work/main/src``) for the "before" figures. Linux only (reads /proc). The
large file is generated once and cached in the system's temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "replay_server.py"
CACHE = Path(tempfile.gettempdir()) / "scoping-bench-orphans"
RECORD = (
    "TY  - JOUR\nAU  - Author, A.\nAU  - Other, B.\nTI  - A generated title number {n} about peer support\n"
    "T2  - Journal of Tests\nPY  - 2020\nVL  - 1\nSP  - 1\nEP  - 9\nDO  - 10.1234/test.{n}\n"
    "AB  - "
    + "An abstract of some length that makes the file large enough to be parsed in parts. " * 5
    + "\nER  - \n\n"
)
GRACE = 5.0
LATE = 30.0


_PF_EXITING = 0x4  # <linux/sched.h>


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # a zombie, or a process the kernel is tearing down (PF_EXITING: its memory is already gone)
    return None if fields[0] in "ZX" or int(fields[6]) & _PF_EXITING else int(fields[1])


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


def big_file() -> Path:
    path = CACHE / "big.ris"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        with part.open("w") as out:
            for n in range(0, 60_000, 500):
                out.write("".join(RECORD.format(n=i) for i in range(n, n + 500)))
        part.rename(path)
    return path


def output_closed(command: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether the command's standard output reaches its end within ``timeout`` seconds."""
    assert command.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(command.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(left) and not os.read(command.stdout.fileno(), 65536):
                return True
        return False
    finally:
        selector.close()


def trial(args: list[str], env: dict[str, str], rng: random.Random) -> tuple[int, int, int, bool] | None:
    """Run, kill, look: (children seen, alive after GRACE s, alive after LATE s, output held
    open after GRACE s); None when the command ended before its parsers started."""
    command = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and command.poll() is None:
            children = descendants(command.pid)
            if len(children) >= 3:  # two parsers and multiprocessing's resource tracker
                break
            time.sleep(0.02)
        if command.poll() is not None or len(children) < 2:
            return None
        time.sleep(rng.uniform(0.0, 1.0))
        children |= descendants(command.pid)
        command.send_signal(signal.SIGKILL)
        command.wait()
        held = not output_closed(command, GRACE)
        left = len(alive(children))
        deadline = time.monotonic() + LATE - GRACE
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(children), left, len(alive(children)), held
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        for pid in alive(children):
            os.kill(pid, signal.SIGKILL)
        if command.stdout is not None:
            command.stdout.close()


def run_kills(name: str, args: list[str], env: dict[str, str], kills: int, rng: random.Random) -> None:
    seen = orphans = late = held = done = skipped = 0
    while done < kills:
        result = trial(args, env, rng)
        if result is None:
            skipped += 1
            if skipped > kills:
                raise SystemExit(f"{name}: the command keeps ending before its parsers start")
            continue
        done += 1
        seen += result[0]
        orphans += result[1]
        late += result[2]
        held += result[3]
    print(
        f"{name}: {kills} kills; {seen} child processes seen; still alive {GRACE:.0f} s after the "
        f"kill: {orphans}, {LATE:.0f} s after: {late}; output held open {GRACE:.0f} s after {held} kills"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--src", default=str(REPO / "src"), help="the scoping source tree to run")
    parser.add_argument("--seed", type=int, default=20)
    options = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        raise SystemExit("bench/orphans.py reads the process table in /proc (Linux only)")
    rng = random.Random(options.seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCOPING_", "NCBI_"))}
    env.update({"PYTHONPATH": options.src, "SCOPING_PARSE_WORKERS": "2"})
    print(f"source tree: {options.src}")

    work = Path(tempfile.mkdtemp(prefix="scoping-bench-orphans-"))
    try:
        review = work / "review"
        subprocess.run(
            [sys.executable, "-m", "scoping", "init", str(review)], check=True, capture_output=True, env=env
        )
        shutil.copy(REPO / "searches" / "strategy.toml", review / "searches" / "strategy.toml")
        scoping = [sys.executable, "-m", "scoping", "--review", str(review)]
        run_kills("import", [*scoping, "import", str(big_file()), "--source", "X"], env, options.kills, rng)

        server = subprocess.Popen(
            [sys.executable, str(SERVER), "--pubmed", "6000"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            ready = server.stdout.readline().split()
            if not ready or ready[0] != "READY":
                raise SystemExit(f"the replay server did not start: {ready}")
            search_env = {
                **env,
                "SCOPING_PUBMED_URL": f"http://127.0.0.1:{ready[1]}/entrez/eutils/",
                "SCOPING_EMAIL": "bench@example.org",
                "NCBI_API_KEY": "bench-key",
            }
            args = [*scoping, "search", "run", "--database", "pubmed", "--new"]
            run_kills("search run (PubMed)", args, search_env, options.kills, rng)
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
