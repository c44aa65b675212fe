"""Team mode: four reviewers screening at once on one PostgreSQL database, from separate
processes, while the lead resolves conflicts; every decision is stored exactly once.

Two reviewers use the line-based screen (``scoping screen --plain`` with their keys on standard
input), two use the library the full-screen view uses; each makes 200 decisions (a first
decision on each of their ~160 works, then second thoughts). The lead settles conflicts as
they appear. Run as a script, this file is the worker.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import scoping.store.screen_tables as screen_tables
from scoping.screen import TITLE_ABSTRACT, assign_works, conflicts, final_outcomes, load_protocol
from scoping.store import Store
from test_screen_support import LEAD, MANY, build_review, team_protocol

REVIEWERS = ["alice", "bob", "carol", "dave"]
PLAIN = {"alice", "carol"}
DECISIONS = 200
FILES = MANY[:3]  # cardiac, digital work and a WoS file: about 330 works, 160 per reviewer


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def plain_keys(n_works: int, seed: int) -> str:
    """Keys for the line-based screen: every work decided once, some decided, undone and
    decided again, so that exactly DECISIONS decisions are saved."""
    rng = random.Random(seed)
    twice = DECISIONS - n_works
    keys = []
    for i in range(n_works):
        first = rng.choice(["i\n", "e\n1\n", "m\n", "i\n", "e\n0\n"])
        keys.append(first)
        if i < twice:
            keys.append("u\n" + rng.choice(["i\n", "e\n2\n", "e\n3\n"]))
    keys.append("\n")  # nothing left: Enter quits
    return "".join(keys)


def worker_plain(url: str, review: str, reviewer: str, start: str) -> None:
    import scoping.cli.screen_cmd  # noqa: F401
    from scoping.cli import cli

    _wait_for(Path(start))
    cli.main(
        ["--review", review, "--db", url, "screen", "--reviewer", reviewer, "--plain"],
        prog_name="scoping",
        standalone_mode=True,
    )


def worker_library(url: str, review: str, reviewer: str, start: str) -> None:
    from scoping.screen import ScreeningSession, record_decision

    protocol = load_protocol(Path(review) / "screening" / "protocol.toml")
    rng = random.Random(reviewer)
    made: list[tuple[str, int, str]] = []
    with Store.open(url) as store:
        session = ScreeningSession(store, protocol, reviewer, via="team")
        _wait_for(Path(start))
        while session.current() is not None:
            row = session.decide(rng.choice(["include", "exclude", "maybe"]))
            made.append((row.uid, row.work_id, row.decision))
        works = [work for _, work, _ in made]
        for work in works[: DECISIONS - len(made)]:
            row = record_decision(
                store,
                protocol,
                reviewer,
                TITLE_ABSTRACT,
                work,
                rng.choice(["include", "exclude"]),
                note="second thoughts",
            )
            made.append((row.uid, row.work_id, row.decision))
    print(json.dumps(made))


def worker_lead(url: str, review: str, stop: str, start: str) -> None:
    from scoping.screen import resolve

    protocol = load_protocol(Path(review) / "screening" / "protocol.toml")
    settled: list[str] = []
    rng = random.Random(1)
    with Store.open(url) as store:
        _wait_for(Path(start))
        while not Path(stop).exists():
            for conflict in conflicts(store, protocol, LEAD, TITLE_ABSTRACT)[:20]:
                row = resolve(
                    store,
                    protocol,
                    LEAD,
                    TITLE_ABSTRACT,
                    conflict.work_id,
                    rng.choice(["include", "exclude"]),
                )
                settled.append(row.uid)
            time.sleep(0.5)  # a lead settling twice a second: still while the others screen
    print(json.dumps(settled))


@pytest.mark.postgres
@pytest.mark.slow
def test_four_reviewers_and_a_lead_at_once(tmp_path: Path, pg_url: str) -> None:
    review = build_review(tmp_path / "rv", db=pg_url, files=FILES, protocol=team_protocol(REVIEWERS))
    protocol = load_protocol(review.protocol_path)
    with Store.open(pg_url) as store:
        (ta,) = assign_works(store, protocol, LEAD, [TITLE_ABSTRACT])
        n_works = len(screen_tables.work_ids(store))
    loads = ta.loads
    assert sum(loads.values()) == 2 * n_works  # every work to two reviewers
    assert max(loads.values()) - min(loads.values()) <= 1
    assert min(loads.values()) > 100 and max(loads.values()) < DECISIONS  # room for second thoughts

    start, stop = tmp_path / "start", tmp_path / "stop"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
    }
    here = str(Path(__file__).resolve())
    procs: dict[str, subprocess.Popen[str]] = {}
    for n, name in enumerate(REVIEWERS):
        mode = "plain" if name in PLAIN else "library"
        keys = tmp_path / f"{name}.keys"
        keys.write_text(plain_keys(loads[name], seed=n) if mode == "plain" else "", encoding="utf-8")
        with keys.open(encoding="utf-8") as stdin:
            procs[name] = subprocess.Popen(
                [sys.executable, here, mode, pg_url, str(review.root), name, str(start)],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
    lead = subprocess.Popen(
        [sys.executable, here, "lead", pg_url, str(review.root), str(stop), str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(0.5)
    start.touch()
    results: dict[str, tuple[int, str, str]] = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[name] = (proc.returncode, out, err)
    stop.touch()
    lead_out, lead_err = lead.communicate(timeout=60)
    assert lead.returncode == 0, lead_err
    for name, (code, _, err) in results.items():
        assert code == 0, f"{name}: {err}"

    with Store.open(pg_url) as store:
        rows = screen_tables.decision_history(store, TITLE_ABSTRACT)
        assigned = set(screen_tables.assignments(store, TITLE_ABSTRACT))
        resolutions = screen_tables.resolution_history(store, TITLE_ABSTRACT)

        decided = [r for r in rows if r.decision != "undone"]
        assert Counter(r.reviewer for r in decided) == dict.fromkeys(REVIEWERS, DECISIONS)
        assert len({r.uid for r in rows}) == len(rows)
        assert all((r.work_id, r.reviewer) in assigned for r in rows)  # allocation respected
        for name, (_, out, _) in results.items():
            mine = [(r.work_id, r.decision) for r in decided if r.reviewer == name]
            if name in PLAIN:
                saved = [
                    (int(w), d)
                    for d, w in re.findall(r"Saved: ([a-z-]+)(?: \([^)]*\))? for work (\d+)\.", out)
                ]
                assert saved == mine  # what the screen said was saved, in order, and nothing else
                undone = [r for r in rows if r.reviewer == name and r.decision == "undone"]
                n = loads[name]
                assert len(undone) == DECISIONS - n
                assert (
                    f"Saved {DECISIONS} decisions in this session ({DECISIONS - n} undone); "
                    f"{n} of {n} works done" in out
                )
            else:
                made = json.loads(out)
                assert [(w, d) for _, w, d in made] == mine
                assert {u for u, _, _ in made} == {r.uid for r in decided if r.reviewer == name}
            assert {w for w, _ in mine} == {w for w, r in assigned if r == name}

        settled = json.loads(lead_out)
        assert sorted(settled) == sorted(r.uid for r in resolutions) and settled
        # the lead settles what is left; then every work has a final decision
        for conflict in conflicts(store, protocol, LEAD, TITLE_ABSTRACT):
            from scoping.screen import resolve

            resolve(store, protocol, LEAD, TITLE_ABSTRACT, conflict.work_id, "exclude")
        outcome = final_outcomes(store, TITLE_ABSTRACT)
        assert len(outcome) == n_works
        assert {o.outcome for o in outcome.values()} <= {"include", "exclude"}


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"plain": worker_plain, "library": worker_library, "lead": worker_lead}[mode](*args)
