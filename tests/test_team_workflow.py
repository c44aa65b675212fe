"""The worked example's protocol run as a team runs it, through the real command line.

Two reviewers screen every work independently in plain mode with ranking on (the worked
example's ``screening/protocol.toml``: reviewer1, reviewer2, a lead, ``prioritise = true``), on
a real labelled review (tests/data/labelled: SYNERGY Sep_2021, CC0) found in two databases.
Each reviewer is a script that reads what ``scoping screen --plain`` shows and answers by the
review's published label, wrong now and then (seeded), so conflicts arise while screening goes
on. The lead checks agreement after a pilot, resolves, allocates full text; both screen it; then
topics, PRISMA and the report. Every count is checked against a recomputation from the decision
history in the store.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scoping.review import find_review
from scoping.store import screen_tables

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
CSV_FILE = DATA / "labelled" / "Sep_2021.csv"
RIS_FILE = DATA / "labelled" / "Sep_2021_first60.ris"
DOUBTFUL = DATA / "labelled" / "Sep_2021_doubtful.ris"  # a doubtful duplicate of one include
TA, FT = "title-abstract", "full-text"
R1, R2, LEAD = "reviewer1", "reviewer2", "lead"

pytestmark = pytest.mark.slow


def scoping(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One command, as a user types it (``python -m scoping`` in the review folder)."""
    return subprocess.run(
        [sys.executable, "-m", "scoping", *args],
        cwd=root,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"},
        timeout=300,
    )


def ok(root: Path, *args: str, stdin: str | None = None) -> str:
    done = scoping(root, *args, stdin=stdin)
    assert done.returncode == 0, f"scoping {' '.join(args)}: {done.stderr}{done.stdout[-2000:]}"
    return done.stdout


class PlainScreen:
    """A reviewer at ``scoping screen --plain``: reads the work shown, answers at the prompt."""

    PROMPTS = ("Decision: ", "Enter to quit: ", "): ")

    def __init__(self, root: Path, reviewer: str, stage: str = TA, command: tuple[str, ...] = ()) -> None:
        args = command or ("screen", "--reviewer", reviewer, "--stage", stage, "--plain")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scoping", *args],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"},
        )
        self.shown = ""
        self.transcript = ""
        self._at_prompt = False  # a prompt was read and not answered yet

    def _read_prompt(self, timeout: float = 120) -> str:
        assert self.proc.stdout is not None
        buffer = b""
        deadline = time.monotonic() + timeout
        while not any(buffer.decode("utf-8", "replace").endswith(p) for p in self.PROMPTS):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no prompt within {timeout} s; the screen:\n{buffer.decode()[-3000:]}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk and self.proc.wait(timeout=60) == 0:
                    break  # the command finished
                if not chunk:
                    raise AssertionError(
                        f"screen ended: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                    )
                buffer += chunk
        text = buffer.decode("utf-8")
        self.transcript += text
        return text

    def next_work(self) -> int | None:
        """The work on screen, or ``None`` when nothing is left."""
        if not self._at_prompt:
            self.shown = self._read_prompt()
        self._at_prompt = False
        if self.shown.endswith("Enter to quit: "):
            return None
        found = re.findall(r"--- work (\d+) ·", self.transcript)
        assert found, self.transcript[-2000:]
        return int(found[-1])

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def wait_for_ranking(self, timeout: float = 120) -> str:
        """Ask for the queue's order (``o``) until the model has fitted: scripted reviewers are
        far faster than people, who give the feature process its few seconds to start."""
        deadline = time.monotonic() + timeout
        while True:
            self.send("o")
            shown = self._read_prompt()
            said = re.findall(r"Order: ([^\n]*)", shown)
            if said and said[-1].startswith("ranked: model of"):
                self._at_prompt = True
                return said[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"the queue was never ranked: {said}")
            time.sleep(0.5)

    def exclude(self, reason: str) -> None:
        self.send("e")
        self._read_prompt()
        self.send(reason)

    def quit(self) -> str:
        self.send("q")
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err.decode()
        self.transcript += out.decode()
        return self.transcript


def labels_of_works(root: Path) -> dict[int, int]:
    """Each work's published label (an include when any of its records is)."""
    with CSV_FILE.open(encoding="utf-8") as handle:
        by_doi = {row["doi"].lower(): int(row["label_included"]) for row in csv.DictReader(handle)}
    review = find_review(root)
    truth: dict[int, int] = {}
    from scoping.dedupe import api as dedupe_api

    with review.open_store() as store:
        work_of = {record: work for _s, work, record, _src in dedupe_api.iter_groups(store)}
        for stored in store.iter_records():
            doi = (stored.record.doi or "").lower()
            label = by_doi.get(doi) or by_doi.get(f"https://doi.org/{doi}", 0)
            work = work_of[stored.id]
            truth[work] = max(truth.get(work, 0), label)
    return truth


def resolve_all(root: Path, stage: str, truth: dict[int, int]) -> int:
    """The lead settles every conflict in one ``scoping resolve`` session, by the label."""
    lead = PlainScreen(root, LEAD, command=("resolve", "--reviewer", LEAD, "--stage", stage))
    settled = 0
    while True:
        shown = lead._read_prompt()
        if lead.proc.poll() is not None or "Your decision (" not in shown.rsplit("\n", 1)[-1]:
            if shown.endswith("none): "):  # the note: none
                lead.send("")
                continue
            if shown.endswith("go back): "):  # the reason
                lead.send("1")
                continue
            break
        work = int(re.findall(r"--- \d+ of \d+: work (\d+)", lead.transcript)[-1])
        lead.send("i" if truth.get(work) else "e")
        settled += 1
    lead.proc.communicate(timeout=60)
    assert lead.proc.returncode == 0, lead.transcript[-2000:]
    return settled


def outcomes_from_history(root: Path, stage: str) -> dict[int, str]:
    """Final outcome per current work, recomputed here from the raw decision and resolution
    rows: the lead's latest resolution if any (a "conflict" row sends it back: pending), else
    both reviewers' latest agreeing decisions, else pending."""
    from scoping.dedupe import api as dedupe_api

    with find_review(root).open_store() as store:
        rows = screen_tables.decision_history(store, stage)
        resolutions = screen_tables.resolution_history(store, stage)
        works = {work for _s, work, _r, _src in dedupe_api.iter_groups(store)}
    latest: dict[tuple[int, str], str] = {}
    for row in rows:  # in id order: the latest row per (work, reviewer) counts
        latest[(row.work_id, row.reviewer)] = row.decision
    by_work: dict[int, dict[str, str]] = {}
    for (work, who), decision in latest.items():
        if decision != "undone" and work in works:
            by_work.setdefault(work, {})[who] = decision
    settled = {r.work_id: r.decision for r in resolutions}
    out: dict[int, str] = {}
    for work, made in by_work.items():
        if work in settled and settled[work] != "conflict":
            out[work] = settled[work]
        elif (
            work not in settled
            and len(made) == 2
            and len(set(made.values())) == 1
            and "maybe" not in made.values()
        ):
            out[work] = next(iter(made.values()))
        else:
            out[work] = "pending"
    return out


def screen_all(
    root: Path,
    stage: str,
    truth: dict[int, int],
    seeds: dict[str, int],
    limit: int,
    *,
    wait_for_ranking: bool = False,
) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Both reviewers screen in turns, ``limit`` decisions each at most; returns the works each
    decided and what each saw."""
    sessions = {name: PlainScreen(root, name, stage) for name in (R1, R2)}
    if wait_for_ranking:
        for session in sessions.values():
            session.shown = session._read_prompt()
            session.wait_for_ranking()
    rngs = {name: random.Random(seed) for name, seed in seeds.items()}
    done: dict[str, list[int]] = {R1: [], R2: []}
    active = {R1, R2}
    while active:
        for name in (R1, R2):
            if name not in active:
                continue
            if len(done[name]) >= limit:
                active.discard(name)
                continue
            work = sessions[name].next_work()
            if work is None:
                active.discard(name)
                continue
            label = truth.get(work, 0)
            if rngs[name].random() < 0.1:  # a reviewer is wrong now and then
                label = 1 - label
            if label:
                sessions[name].send("i")
            else:
                sessions[name].exclude("1" if stage == FT else rngs[name].choice(["0", "1", "2"]))
            done[name].append(work)
    for session in sessions.values():
        if session.proc.poll() is None:
            if session.shown.endswith("Enter to quit: "):
                session.send("")
                out, _ = session.proc.communicate(timeout=60)
                session.transcript += out.decode()
            else:
                session.quit()
    return done, {name: session.transcript for name, session in sessions.items()}


def test_the_worked_example_protocol_as_a_team(tmp_path: Path) -> None:
    root = tmp_path / "peer-review"
    ok(tmp_path, "init", str(root))
    (root / "screening" / "protocol.toml").write_text(
        (REPO / "screening" / "protocol.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    ok(root, "import", str(CSV_FILE), "--source", "PsycINFO")
    ok(root, "import", str(RIS_FILE), "--source", "MEDLINE")
    ok(root, "import", str(DOUBTFUL), "--source", "Embase")
    # the copy is doubtful against the original's two records (one work): two pairs wait
    assert "2 doubtful pairs kept for review" in ok(root, "dedupe")
    truth = labels_of_works(root)
    assert len(truth) == 272 and sum(truth.values()) == 40
    allocated = ok(root, "assign", "--reviewer", LEAD)
    assert "allocated 272 new works (272 to two reviewers" in allocated
    assert "2 doubtful duplicate pairs still wait" in allocated, allocated

    # pilot: 30 decisions each; with one shared ranked order the pairs meet at once
    pilot, seen = screen_all(root, TA, truth, {R1: 1, R2: 2}, limit=30)
    assert "Order: random (seeded) until the model has an include and an exclude" in seen[R1]
    both = set(pilot[R1]) & set(pilot[R2])
    assert len(both) >= 27, (len(both), pilot)
    agreement = ok(root, "agreement", "--reviewer", LEAD)
    assert re.search(r"reviewer1\s*[-–x×&vs.]*\s*reviewer2|reviewer1.*reviewer2", agreement), agreement
    assert "kappa" in agreement.lower(), agreement
    # conflicts arise while screening goes on, and the list is what the history says
    conflicts = ok(root, "conflicts", "--reviewer", LEAD)
    pending = {w for w, o in outcomes_from_history(root, TA).items() if o == "pending" and w in both}
    listed = {int(w) for w in re.findall(r"work (\d+)", conflicts)}
    assert pending and pending <= listed, (pending, listed, conflicts)

    # the rest of title-abstract; ranking puts the includes early
    rest, seen = screen_all(root, TA, truth, {R1: 3, R2: 4}, limit=1000, wait_for_ranking=True)
    order = pilot[R1] + rest[R1]
    assert len(order) == 272
    assert "Order: ranked: model of 30 screened works" in seen[R1], seen[R1][:3000]
    assert "unavailable" not in seen[R1] + seen[R2]
    # 40 includes in 271: a random order puts 20 in the first half (sd 2.9); ranked, more
    first_half = sum(truth[w] for w in order[:135])
    assert first_half >= 23, first_half
    # the lead settles every conflict in one session: include when the label says so
    assert resolve_all(root, TA, truth) >= len(pending)
    assert "No conflicts at title-abstract" in ok(root, "conflicts", "--reviewer", LEAD)
    ta = outcomes_from_history(root, TA)
    assert "pending" not in ta.values() and len(ta) == 272

    # full text, both reviewers again
    ok(root, "assign", "--reviewer", LEAD, "--stage", FT)
    screen_all(root, FT, truth, {R1: 5, R2: 6}, limit=1000)
    resolve_all(root, FT, truth)
    assert "No conflicts at full-text" in ok(root, "conflicts", "--reviewer", LEAD, "--stage", FT)
    ft = outcomes_from_history(root, FT)
    assert "pending" not in ft.values()
    included_before = {w for w, o in ft.items() if o == "include"}

    # the doubtful pair, decided late by the lead: the two works are one; nothing is lost
    from scoping.dedupe import api as dedupe_api

    with find_review(root).open_store() as store:
        groups = list(dedupe_api.iter_groups(store))
    copy_work = next(w for _s, w, _r, source in groups if source == "Embase")
    ta_before = outcomes_from_history(root, TA)
    late = ok(root, "dedupe", "review", "--reviewer", LEAD, stdin="s\ns\n")
    assert f"Screening: work {copy_work}" in late and "would join work" in late, late
    kept = int(re.findall(r"would join work (\d+)", late)[0])
    if ta_before[copy_work] != ta_before[kept]:  # both outcomes meet at the lead as a conflict
        assert "Their outcomes differ at title-abstract" in late, late
        assert f"work {kept} (joined works differ)" in ok(root, "conflicts", "--reviewer", LEAD)
    resolve_all(root, TA, truth)  # a joined work whose outcomes differed comes back to the lead
    ok(root, "assign", "--reviewer", LEAD, "--stage", FT)
    screen_all(root, FT, truth, {R1: 7, R2: 8}, limit=1000)
    resolve_all(root, FT, truth)
    ta = outcomes_from_history(root, TA)
    ft = outcomes_from_history(root, FT)
    assert "pending" not in ta.values() and len(ta) == 271
    assert "pending" not in ft.values()
    assert included_before <= {w for w, o in ft.items() if o == "include"}  # no included study lost

    # topics, PRISMA and the report agree with the history
    ok(root, "topics", "fit", "--by", LEAD)
    ok(root, "prisma", "--format", "json", "--out", "outputs/prisma.json")
    prisma = json.loads((root / "outputs" / "prisma.json").read_text(encoding="utf-8"))
    ta_included = sum(o == "include" for o in ta.values())
    ft_included = sum(o == "include" for o in ft.values())
    screening = prisma["screening"]
    assert prisma["identification"]["records_identified"]["n"] == 332
    assert prisma["identification"]["duplicates_removed"]["n"] == 61
    assert screening["records_screened"]["n"] == 271
    assert screening["records_excluded"]["n"] == 271 - ta_included
    assert screening["reports_sought"]["n"] == ta_included
    assert screening["reports_assessed"]["n"] == len(ft)
    assert prisma["included"]["reports"]["n"] == ft_included
    assert prisma["complete"] is True, prisma["notes"]
    status = ok(root, "status", "--reviewer", LEAD)
    assert f"{ft_included}" in status
    ok(root, "report")
    page = (root / "outputs" / "report.html").read_text(encoding="utf-8")
    assert f"{ft_included}" in page
