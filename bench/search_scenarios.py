"""What a user sees in the search stage, against the local replay server (issue 15's figures).

Prints, for the worked example (searches/strategy.toml), the length and the number of Boolean
operators of each database's query with the number of notes and warnings, then runs the real
command line (``python -m scoping``, a fresh process per command) against the replay server
(tests/replay_server.py, real recorded responses) in these scenarios, printing each command and
what it printed:

1. a PubMed query with exactly 10,000 hits (one esearch lists at most 9,999 PMIDs);
2. PubMed's ErrorList, WarningList and QueryTranslation;
3. the same search run again (``--new``), and the PRISMA identification count after it;
4. OpenAlex's answer to a used-up daily allowance (HTTP 429 without a short Retry-After);
5. a run interrupted by a 500 storm, then resumed;
6. update searches (``--update``) on Europe PMC, OpenAlex and Crossref: records entered since
   the first run, the query each database was sent, and the previous/new arms in the log.

    python bench/search_scenarios.py [--only N ...] [--plan-only]

Run from the repository root (the worked example). Retries are shortened
(SCOPING_HTTP_RETRIES=6, SCOPING_HTTP_BACKOFF=0.01, SCOPING_HTTP_MAX_DELAY=1) so that a client
which retries blindly finishes in seconds rather than minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from replay_server import Replay  # noqa: E402

_OP = re.compile(r"\b(AND|OR|NOT|NEAR(?:/\d+)?|SAME|ADJ\d*|W/\d+|PRE/\d+|N\d+|W\d+)\b", re.I)
_QUOTED = re.compile(r'"[^"]*"')


def plan_figures(strategy_path: Path) -> None:
    from scoping.search import load_strategy, plan

    strategy = load_strategy(strategy_path)
    try:
        queries = plan(strategy, every_platform=True)  # type: ignore[call-arg]
    except TypeError:  # a version whose plan lists every platform
        queries = plan(strategy)
    print(f"{'database':30} {'platform':10} {'chars':>6} {'operators':>9} {'notes':>5} {'warnings':>8}")
    for q in queries:
        ops = len(_OP.findall(_QUOTED.sub(" ", q.text)))
        warnings = sum(1 for n in q.notes if n.startswith("WARNING:"))
        print(f"{q.database:30} {q.platform:10} {len(q.text):>6} {ops:>9} {len(q.notes):>5} {warnings:>8}")


def scoping(review: Path, replay: Replay, *args: str, **env: str) -> None:
    environ = {
        **os.environ,
        **replay.env(),
        "SCOPING_EMAIL": "demo@example.org",
        "SCOPING_HTTP_RETRIES": "6",
        "SCOPING_HTTP_BACKOFF": "0.01",
        "SCOPING_HTTP_MAX_DELAY": "1",
        "SCOPING_PUBMED_BATCH": "500",
        "SCOPING_PARSE_WORKERS": "0",
        "COLUMNS": "200",
        **env,
    }
    shown = " ".join(f"{k}={v}" for k, v in env.items())
    print(f"$ {shown + ' ' if shown else ''}scoping {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "scoping", *args], cwd=review, env=environ, capture_output=True, text=True
    )
    text = (done.stdout + done.stderr).rstrip()
    print(text if text else "(nothing)")
    print(f"[exit {done.returncode}]")
    print()


def new_review(work: Path, name: str, strategy: Path) -> Path:
    review = work / name
    subprocess.run([sys.executable, "-m", "scoping", "init", str(review)], check=True, capture_output=True)
    shutil.copy(strategy, review / "searches" / "strategy.toml")
    return review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=int, nargs="*", default=None, help="scenario numbers to run")
    parser.add_argument("--plan-only", action="store_true")
    args = parser.parse_args()
    strategy = Path("searches/strategy.toml").resolve()
    print("== the worked example's plan")
    plan_figures(strategy)
    print()
    if args.plan_only:
        return
    wanted = set(args.only or [1, 2, 3, 4, 5, 6])
    work = Path(tempfile.mkdtemp(prefix="scoping-search-scenarios-"))
    try:
        if 1 in wanted:
            print("== 1. a PubMed query with exactly 10,000 hits")
            review = new_review(work, "r1", strategy)
            replay = Replay(pubmed_records=10_000).start()
            try:
                scoping(review, replay, "search", "run", "--database", "MEDLINE")
                print(
                    f"(the server received {len(replay.requests_to('esearch'))} esearch and "
                    f"{len(replay.requests_to('efetch'))} efetch requests)\n"
                )
            finally:
                replay.stop()
        if 2 in wanted:
            print("== 2. PubMed's ErrorList, WarningList and QueryTranslation")
            review = new_review(work, "r2", strategy)
            notices = (
                "<ErrorList><PhraseNotFound>peer led support</PhraseNotFound></ErrorList>"
                '<WarningList><QuotedPhraseNotFound>"forensic psych*"</QuotedPhraseNotFound>'
                "<OutputMessage>Wildcard search for 'psych*' used only the first 600 variations. "
                "Lengthen the root word to search for all endings.</OutputMessage></WarningList>"
            )
            translation = '"peer support"[Title/Abstract] AND "mental health"[Title/Abstract]'
            replay = Replay(pubmed_records=30, pubmed_notices=notices, pubmed_translation=translation).start()
            try:
                scoping(review, replay, "search", "run", "--database", "MEDLINE")
                scoping(review, replay, "search", "log", "--database", "MEDLINE")
                for folder in sorted((review / "searches" / "runs").iterdir()):
                    print(f"$ ls {folder.relative_to(review)}")
                    print(" ".join(sorted(p.name for p in folder.iterdir())))
                    print()
            finally:
                replay.stop()
        if 3 in wanted:
            print("== 3. the same search run twice")
            review = new_review(work, "r3", strategy)
            replay = Replay(pubmed_records=300).start()
            try:
                scoping(review, replay, "search", "run", "--database", "MEDLINE")
                scoping(review, replay, "search", "run", "--database", "MEDLINE", "--new")
                scoping(review, replay, "search", "log", "--format", "table")
                scoping(review, replay, "prisma", "--format", "json", "--out", "outputs/prisma.json")
                counts = json.loads((review / "outputs" / "prisma.json").read_text())
                ident = counts["identification"]
                print(f"prisma.json identification.databases: {json.dumps(ident['databases'])}\n")
            finally:
                replay.stop()
        if 4 in wanted:
            print("== 4. OpenAlex: the daily allowance used up")
            review = new_review(work, "r4", strategy)
            replay = Replay(openalex_records=60).start()
            body = json.dumps({"error": "Rate limit exceeded", "message": "Daily limit exceeded"}).encode()
            replay.fault(
                "works",
                "status",
                status=429,
                after=1,
                times=-1,
                body=body,
                headers={"X-RateLimit-Reset": "5400"},
            )
            try:
                scoping(
                    review,
                    replay,
                    "search",
                    "run",
                    "--database",
                    "openalex",
                    OPENALEX_API_KEY="demo-key",
                    SCOPING_PAGE_SIZE="20",
                )
                print(f"(the server received {len(replay.log)} requests: {[r.status for r in replay.log]})\n")
            finally:
                replay.stop()
        if 5 in wanted:
            print("== 5. an interrupted run, resumed")
            review = new_review(work, "r5", strategy)
            replay = Replay(pubmed_records=1_200).start()
            replay.fault("efetch", "status", status=500, after=1, times=-1)
            try:
                scoping(review, replay, "search", "run", "--database", "MEDLINE")
                replay.clear_faults()
                scoping(review, replay, "search", "run", "--database", "MEDLINE")
            finally:
                replay.stop()
        if 6 in wanted:
            print("== 6. update searches: Europe PMC, OpenAlex, Crossref")
            review = new_review(work, "r6", strategy)
            first = Replay(europepmc_records=120, openalex_records=80, crossref_records=60).start()
            try:
                for name in ("europepmc", "openalex", "crossref"):
                    scoping(review, first, "search", "run", "--database", name, OPENALEX_API_KEY="demo-key")
            finally:
                first.stop()
            # later: 30, 20 and 15 records more, entered today; each database lists 5 it gave before
            later = Replay(
                europepmc_records=150,
                openalex_records=100,
                crossref_records=75,
                entered={"europepmc": 115, "openalex": 75, "crossref": 55},
            ).start()
            try:
                for name in ("europepmc", "openalex", "crossref"):
                    scoping(
                        review,
                        later,
                        "search",
                        "run",
                        "--database",
                        name,
                        "--update",
                        OPENALEX_API_KEY="demo-key",
                    )
                for service, path in (
                    ("europepmc", "/search"),
                    ("openalex", "/openalex/works"),
                    ("crossref", "/crossref/works"),
                ):
                    sent = later.requests_to(path)[0].params
                    shown = sent.get("query", sent.get("filter", [""]))[0]
                    print(f"{service} was sent: ...{shown[-60:]}")
                print()
                scoping(review, later, "search", "log", "--format", "table")
                scoping(review, later, "search", "log", "--database", "openalex")
                done = subprocess.run(
                    [sys.executable, "-m", "scoping", "search", "log"],
                    cwd=review,
                    env={**os.environ, "COLUMNS": "200"},
                    capture_output=True,
                    text=True,
                )
                tail = (
                    done.stdout[done.stdout.index("Update searches") :]
                    if "Update searches" in done.stdout
                    else ""
                )
                print("$ scoping search log   (its end)")
                print(tail.rstrip() or "(no update section)")
                print()
            finally:
                later.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
