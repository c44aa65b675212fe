"""Screening latency on a 50,000-work review: from a decision to the next work being ready.

The review is built from real records (the exports in tests/data: ASySD cardiac and digital
work benchmark slices, Web of Science, PubMed XML, RIS from seven databases, BibTeX, CSV...)
repeated with changed identifiers (source id, DOI, PMID) until there are 50,000 records. Each
record is made its own work directly in the store (the copies share titles, so running the
de-duplication stage would join them again). Two reviewers, every work dual-screened, so each
reviewer has 50,000 works in their queue; ``--done`` decisions are stored beforehand so the
review is mid-way, as in real use.

Two paths are timed, each decision in its own transaction as in real use:

- library: ``ScreeningSession.decide()`` (the INSERT, committed) followed by
  ``ScreeningSession.current()`` and the card's rich text (what the window draws), i.e. the
  code the full-screen window runs between a key press and the next work;
- window: the Textual window itself, driven by its test pilot (headless, 120 x 40): from the
  key's action starting until the next work has been painted (``ScreeningApp.on_shown``);
- pilot: the same presses timed from outside, including the pilot's own waits for the app to
  go idle; "(idle)" is that overhead alone, for a key bound to nothing;
- prioritised: the library path again (alice, continuing) with her queue ranked by the
  prioritisation model (``prioritise = true``), with the workers the ``scoping`` command
  passes: the model's texts are read and vectorised, and the team's decisions read and the
  model fitted and scored, in a child process (at 50,000 works) while the reviewer screens;
  this process sends it a refresh number and takes back the order, and the queue is
  re-ranked every 10 decisions; it reports when the first trained ranking arrived and how
  many fits ran;
- team: the same queue as ``scoping screen`` opens it (``queue_order`` with the reviewer): the
  works a colleague (bob, who has decided as many works as alice, others than hers) decided
  come first, which is asked after every decision, and the model's order every 10; then again
  with bob deciding a work every ``--colleague-every`` seconds (default 0.5) meanwhile.
  With ``--team-roles`` (only with ``--postgres``) the review is first put in team mode as
  ``scoping team setup`` does (``setup_team``: a role per person, row-level security), and
  alice's queue and bob's decisions go through connections as their own roles, so the part
  times what a reviewer's ``scoping screen`` does in team mode (without it, both use the
  owner's connection, which reads every row).

    python bench/screen_latency.py [--works 50000] [--decisions 300] [--done 10000]
                                   [--db URL | --postgres [--team-roles]] [--load N]
                                   [--parts library window prioritised team stopping]

``--load N`` starts N busy processes (pure-Python spin loops, as other users of a shared
machine would be) before the review is built and kills them at the end, so the figures show
the screen on a busy machine; ``--parts`` times only the parts named (default: all).

Every timing line ends with the machine's 1-minute load average when it was printed (the
figures are only comparable at a similar load; the CPU count and the 1/5/15-minute load are
printed at the start and the end).

Goal (issues 5 and 18): the next record is shown within 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import multiprocessing
import multiprocessing.process
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import scoping.store.screen_tables  # noqa: E402, F401
from scoping.cli.screen_tui import ScreeningApp, card_text  # noqa: E402
from scoping.ingest import inspect_file, iter_records  # noqa: E402
from scoping.records import Record  # noqa: E402
from scoping.review import init_review  # noqa: E402
from scoping.screen import (  # noqa: E402
    TITLE_ABSTRACT,
    Highlight,
    ModelRank,
    ScreeningSession,
    assign_works,
    load_protocol,
    new_uid,
)
from scoping.screen.rank_order import decided_by_others, others_mark, prior_query, queue_order  # noqa: E402
from scoping.spawn import parse_workers  # noqa: E402
from scoping.store import Store, screen_tables  # noqa: E402
from scoping.store.dedupe_tables import record_work  # noqa: E402
from scoping.store.schema import records as records_table  # noqa: E402
from scoping.store.team import TeamMember, connection_reviewer, role_name, setup_team  # noqa: E402
from test_screen_support import MANY, PROTOCOL  # noqa: E402


def real_records() -> list[Record]:
    out: list[Record] = []
    for path in MANY:
        out.extend(iter_records(inspect_file(path)))
    return out


def copies(pool: list[Record], n: int) -> Iterator[Record]:
    for i in range(n):
        record = pool[i % len(pool)]
        yield dataclasses.replace(
            record,
            source_id=f"bench-{i}",
            doi=f"{record.doi}.bench{i}" if record.doi else None,
            pmid=str(40_000_000 + i) if record.pmid else None,
            authors=list(record.authors),
            keywords=list(record.keywords),
            extra=dict(record.extra),
        )


def store_excludes(store: Store, reviewer: str, works: list[int]) -> None:
    """Earlier decisions, stored in one go: ``reviewer`` excluded ``works`` at title-abstract."""
    rows = (
        {"uid": new_uid(), "stage": TITLE_ABSTRACT, "work_id": w, "reviewer": reviewer, "decision": "exclude"}
        for w in works
    )
    screen_tables.add_decisions(store, rows, via="bench")


def build(root: Path, db: str | None, n: int, done: int) -> tuple[Store, Path]:
    review = init_review(root, db=db)
    review.protocol_path.write_text(PROTOCOL, encoding="utf-8")
    store = review.open_store()
    started = time.perf_counter()
    pool = real_records()
    store.add_import(
        source="bench",
        file_path="bench/screen_latency.py",
        sha256="0" * 64,
        size=0,
        format="csv",
        encoding="utf-8",
        records=copies(pool, n),
    )
    # every record its own work (de-duplication would join the copies again)
    with store.engine.begin() as conn:
        ids = [int(r) for (r,) in conn.execute(sa.select(records_table.c.id))]
        conn.execute(
            record_work.insert(),
            [
                {
                    "record_id": rid,
                    "work_id": rid,
                    "run_id": None,
                    "linked_by": "rule",
                    "updated_at": "2026-01-01T00:00:00Z",
                }
                for rid in ids
            ],
        )
    print(f"built {n:,} works from {len(pool):,} real records in {time.perf_counter() - started:.1f} s")
    protocol = load_protocol(review.protocol_path)
    started = time.perf_counter()
    assign_works(store, protocol, "lena", [TITLE_ABSTRACT])
    print(f"allocated them to two reviewers (dual) in {time.perf_counter() - started:.1f} s")
    if done:
        works = screen_tables.assigned_works(store, TITLE_ABSTRACT, "alice")[:done]
        store_excludes(store, "alice", works)
        print(f"stored {done:,} earlier decisions of alice")
    return store, review.protocol_path


def _spin() -> None:
    """A busy process: a pure-Python loop until it is killed."""
    n = 0
    while True:
        n = (n + 1) % 1_000_003


def start_load(n: int) -> list[multiprocessing.process.BaseProcess]:
    """``n`` busy processes (killed by :func:`stop_load`, or with this one: daemons)."""
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, name=f"bench-load-{i}", daemon=True) for i in range(n)]
    for process in spinners:
        process.start()
    if spinners:
        print(f"started {n} busy processes: {', '.join(str(p.pid) for p in spinners)}")
    return spinners


def stop_load(spinners: list[multiprocessing.process.BaseProcess]) -> None:
    for process in spinners:
        process.kill()
    for process in spinners:
        process.join(5)
    if spinners:
        print(f"stopped the {len(spinners)} busy processes")


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    worst = max(range(len(seconds)), key=seconds.__getitem__)
    print(
        f"{name:<11} n={len(ms):<5} p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   "
        f"max {ms[-1]:6.1f} ms (decision {worst + 1})   load {os.getloadavg()[0]:.2f}"
    )


def time_library(store: Store, protocol_path: Path, decisions: int) -> None:
    protocol = load_protocol(protocol_path)
    started = time.perf_counter()
    session = ScreeningSession(store, protocol, "alice", via="bench")
    session.current()  # the first card is part of opening the queue
    gc.freeze()  # as 'scoping screen' does once the queue is open
    print(
        f"opening the queue ({session.progress().remaining:,} works left): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )
    report("library", screen(session, protocol.highlight, decisions))


def screen(session: ScreeningSession, highlight: Highlight, n: int, pause: float = 0.0) -> list[float]:
    """Make ``n`` decisions; the seconds from each key press until the next card's text is ready.
    ``pause`` (untimed) stands for the reviewer reading, while background work goes on."""
    times = []
    for i in range(n):
        assert session.current() is not None
        t0 = time.perf_counter()
        session.decide("include" if i % 4 else "exclude")
        card = session.current()
        assert card is not None
        card_text(card, highlight)
        times.append(time.perf_counter() - t0)
        time.sleep(pause)
    return times


def time_prioritised(store: Store, protocol_path: Path, decisions: int) -> None:
    protocol = load_protocol(protocol_path)
    started = time.perf_counter()
    # as the live queue does: the protocol's criteria and include terms order the cold start
    # and with the workers the scoping command passes: the features are built in a child process
    model = ModelRank(
        store,
        TITLE_ABSTRACT,
        random_state=7,
        query=prior_query(protocol, TITLE_ABSTRACT),
        workers=parse_workers(),
    )
    print(f"  model (features, fits) in a child process: {model.in_child}")
    session = ScreeningSession(store, protocol, "alice", via="bench", rank=model, rerank_every=10)
    session.current()  # the first card is part of opening the queue
    gc.freeze()  # as 'scoping screen' does once the queue is open
    print(
        f"opening the prioritised queue ({session.progress().remaining:,} works left): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )

    try:
        # while the model's texts are read and vectorised in the background (the worst time)
        cpu = time.process_time()
        report("prior.cold", screen(session, protocol.highlight, decisions))
        print(f"  CPU of this process (all its threads) during those decisions: {cpu_since(cpu)}")
        model.sync()
        print(f"  first trained ranking {time.perf_counter() - started:.1f} s after opening")
        # with the model refitting in the background every 10 decisions
        fits = model.ranker.fits
        cpu = time.process_time()
        report("prior.warm", screen(session, protocol.highlight, decisions, pause=0.05))
        print(f"  CPU of this process (all its threads) during those decisions: {cpu_since(cpu)}")
        print(f"  {model.ranker.fits - fits} refits in the background during those decisions")
        reads = getattr(model, "reads_here", "?")  # '?': a version before the child read them
        print(f"  the team's decisions read by this process {reads} times (else by the child)")
    finally:
        model.close()


def team_stores(store: Store, protocol_path: Path) -> tuple[Store, Store]:
    """Team mode as ``scoping team setup`` makes it (the library call the command makes, on the
    owner's connection), then alice's and bob's stores, each connected as their own role (the
    throw-away server trusts 127.0.0.1, as in the tests)."""
    protocol = load_protocol(protocol_path)
    started = time.perf_counter()
    done = setup_team(store, [TeamMember(p.name, p.is_lead) for p in protocol.reviewers])
    print(
        f"  team mode set up (roles {done.prefix}_*, row-level security) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    opened = []
    for person in ("alice", "bob"):
        url = re.sub(r"//[^@/]+@", f"//{role_name(done.prefix, person)}@", store.url, count=1)
        member = Store.open(url)  # as 'scoping screen --db URL' opens it
        assert connection_reviewer(member) == person, "the role's connection is not in team mode"
        opened.append(member)
    print("  alice and bob connect as their own roles (row-level security: each reads only their rows)")
    return opened[0], opened[1]


def time_team(
    store: Store,
    protocol_path: Path,
    decisions: int,
    done: int,
    colleague_every: float,
    team_roles: bool = False,
) -> None:
    """The prioritised queue as ``scoping screen`` opens it (``queue_order`` with the reviewer,
    as ``Review.screening`` calls it): the works a colleague decided come first, asked after
    every decision, and the model's order every 10. Bob has decided as many works as alice,
    others than hers, so her queue has a colleague's works to put first. With ``team_roles``
    alice's queue and bob's decisions use their own roles' connections (team mode)."""
    with contextlib.ExitStack() as stack:
        alices, bobs_store = store, store
        if team_roles:
            alices, bobs_store = team_stores(store, protocol_path)
            stack.callback(alices.close)
            stack.callback(bobs_store.close)
        _time_team(store, alices, bobs_store, protocol_path, decisions, done, colleague_every)


def _time_team(
    store: Store,
    alices: Store,
    bobs_store: Store,
    protocol_path: Path,
    decisions: int,
    done: int,
    colleague_every: float,
) -> None:
    protocol_path.write_text(
        PROTOCOL.replace(
            'exclusion_reasons = ["wrong population"',
            'prioritise = true\nexclusion_reasons = ["wrong population"',
        ),
        encoding="utf-8",
    )
    protocol = load_protocol(protocol_path)
    assert protocol.stage(TITLE_ABSTRACT).prioritise
    bobs = screen_tables.assigned_works(store, TITLE_ABSTRACT, "bob")[-done:] if done else []
    store_excludes(bobs_store, "bob", bobs)
    print(f"  stored {len(bobs):,} decisions of bob on works alice has not decided")
    started = time.perf_counter()
    with queue_order(alices, protocol, TITLE_ABSTRACT, reviewer="alice", workers=parse_workers()) as order:
        session = ScreeningSession(
            alices, protocol, "alice", via="bench", rank=order.rank, rerank_every=order.rerank_every
        )
        session.current()
        gc.freeze()
        print(
            f"opening alice's queue as 'scoping screen' does: {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        cpu = time.process_time()
        report("team.cold", screen(session, protocol.highlight, decisions))
        print(f"  CPU of this process (all its threads) during those decisions: {cpu_since(cpu)}")
        if order.model is not None:
            order.model.sync()
        cpu = time.process_time()
        report("team.warm", screen(session, protocol.highlight, decisions, pause=0.05))
        print(f"  CPU of this process (all its threads) during those decisions: {cpu_since(cpu)}")
        # and with bob screening at the same time, one decision every `colleague_every` seconds
        # (a person takes several): each of his decisions changes what her queue puts first
        stop = threading.Event()
        his = screen_tables.assigned_works(store, TITLE_ABSTRACT, "bob")
        middle = his[len(his) // 2 :]  # neither his earlier works nor the ones alice decided
        made: list[int] = []

        def bob_screens() -> None:
            for work in middle:
                if stop.wait(colleague_every):
                    return
                store_excludes(bobs_store, "bob", [work])
                made.append(work)

        bob = threading.Thread(target=bob_screens, name="bob", daemon=True)
        bob.start()
        cpu = time.process_time()
        try:
            report("team.busy", screen(session, protocol.highlight, decisions, pause=0.05))
        finally:
            stop.set()
            bob.join()
        print(f"  CPU of this process (all its threads, bob's too) during those decisions: {cpu_since(cpu)}")
        print(f"  bob decided {len(made):,} works meanwhile (one every {colleague_every:g} s)")
        print(f"  order line: {order.describe()}")
    reads(alices)


def reads(store: Store, n: int = 20) -> None:
    """What the shared queue's background reader asks the store after each decision: the mark
    of the colleagues' rows, and (when it changed, or when there is no mark) which works they
    decided; median wall time of ``n`` calls each, and this process's CPU per call."""
    for name, call in (
        ("mark", lambda: others_mark(store, TITLE_ABSTRACT, "alice")),
        ("decided", lambda: decided_by_others(store, TITLE_ABSTRACT, "alice")),
    ):
        got = call()
        walls = []
        cpu = time.process_time()
        for _ in range(n):
            t0 = time.perf_counter()
            call()
            walls.append(time.perf_counter() - t0)
        size = "no mark" if got is None else f"{len(got):,} values" if isinstance(got, dict) else "3 numbers"
        print(
            f"  read '{name}' ({size}): median {statistics.median(walls) * 1000:.1f} ms, "
            f"CPU here {(time.process_time() - cpu) / n * 1000:.1f} ms per call   "
            f"load {os.getloadavg()[0]:.2f}"
        )


def cpu_since(start: float) -> str:
    """CPU seconds this process used since ``start`` (``time.process_time``), in words."""
    return f"{time.process_time() - start:.2f} s"


def time_stopping(works: int, decided: int) -> None:
    """The default stopping rule as a lead's 'scoping stop' and 'scoping status' compute it:
    the bound and how many excludes it needs, after ``decided`` of ``works`` decisions."""
    import numpy as np

    from scoping.screen.stop_methods import default_method

    rng = np.random.default_rng(0)
    labels = (rng.random(decided) < np.linspace(0.3, 0.002, decided)).astype(np.int8)
    method = default_method()
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        method.test(labels, works)
        times.append(time.perf_counter() - t0)
    report("stop rule", times)


def time_window(store: Store, protocol_path: Path, decisions: int) -> None:
    session = ScreeningSession(store, load_protocol(protocol_path), "bob", via="bench")
    app = ScreeningApp(session)
    painted: list[float] = []
    presses: list[float] = []
    idle: list[float] = []
    app.on_shown = painted.append

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            for _ in range(20):  # the pilot's own cost: a key bound to nothing
                t0 = time.perf_counter()
                await pilot.press("z")
                idle.append(time.perf_counter() - t0)
            for i in range(decisions):
                before = app.shown_work
                t0 = time.perf_counter()
                await pilot.press("i" if i % 4 else "m")
                assert app.shown_work != before
                presses.append(time.perf_counter() - t0)
            await pilot.press("q")

    asyncio.run(drive())
    report("window", painted)
    report("pilot", presses)
    report("(idle)", idle)


PARTS = ("library", "window", "prioritised", "team", "stopping")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--works", type=int, default=50_000)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--done", type=int, default=10_000, help="decisions stored beforehand")
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throw-away PostgreSQL server (as the tests do) and use it",
    )
    parser.add_argument(
        "--team-roles",
        action="store_true",
        help="with --postgres: part 'team' in team mode (as 'scoping team setup' makes it), alice "
        "and bob connected as their own roles",
    )
    parser.add_argument("--load", type=int, default=0, help="busy processes to run meanwhile")
    parser.add_argument(
        "--colleague-every",
        type=float,
        default=0.5,
        help="part 'team': seconds between bob's decisions while alice screens (default 0.5)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="what to time (default: all)",
    )
    args = parser.parse_args()
    if args.load < 0:
        parser.error("--load must be 0 or more")
    if args.team_roles and not args.postgres:
        parser.error(
            "--team-roles needs --postgres (a throw-away server whose roles log in without a password)"
        )
    server = None
    if args.postgres:
        from conftest import _start_pg

        started = _start_pg()
        if isinstance(started, str):
            raise SystemExit(started)
        server = started
        args.db = server.create_database()
    spinners = start_load(args.load)
    try:
        with tempfile.TemporaryDirectory(prefix="scoping-bench-") as tmp:
            run(Path(tmp), args)
    finally:
        stop_load(spinners)
        if server is not None:
            server.stop()


def run(tmp: Path, args: argparse.Namespace) -> None:
    print(f"start: {machine_load()}")
    store, protocol_path = build(tmp / "review", args.db, args.works, args.done)
    print(f"store: {store.engine.dialect.name}; decision -> next work ready:")
    try:
        if "library" in args.parts:
            time_library(store, protocol_path, args.decisions)
        if "window" in args.parts:
            time_window(store, protocol_path, max(20, args.decisions // 3))
        if "prioritised" in args.parts:
            time_prioritised(store, protocol_path, args.decisions)
        if "team" in args.parts:
            time_team(store, protocol_path, args.decisions, args.done, args.colleague_every, args.team_roles)
        if "stopping" in args.parts:
            time_stopping(args.works, args.done)
    finally:
        store.close()
    print(f"end: {machine_load()}")


if __name__ == "__main__":
    main()
