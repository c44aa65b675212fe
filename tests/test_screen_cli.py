"""The screening commands as a team uses them: assign, screen --plain, conflicts, resolve,
agreement, status; and blinding across every command a reviewer can run."""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from scipy import stats

import scoping.cli.screen_cmd  # noqa: F401  (registers the screening commands)
from scoping.cli import cli
from scoping.review import find_review
from scoping.screen import TITLE_ABSTRACT, load_protocol, outcomes, record_decision
from scoping.store import screen_tables
from test_screen_support import LEAD, cached_review

COMMANDS = ("assign", "screen", "conflicts", "resolve", "agreement", "status", "stop")


def run(review: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    with contextlib.chdir(review):
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _no_ambient_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SCOPING_REVIEWER set in the developer's shell must not leak into tests."""
    monkeypatch.delenv("SCOPING_REVIEWER", raising=False)


@pytest.fixture
def review(tmp_path: Path) -> Path:
    return cached_review(tmp_path / "rv").root


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_an_example(name: str) -> None:
    command = cli.commands[name]
    assert isinstance(command, click.Command)
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout and f"scoping {name} --reviewer" in result.stdout


def _first_work(output: str) -> list[int]:
    return [int(w) for w in re.findall(r"^--- work (\d+) ·", output, flags=re.M)]


def test_a_team_screens_and_a_lead_settles(review: Path) -> None:
    code, out, err = run(review, "assign", "--reviewer", LEAD)
    assert code == 0, err
    assert out == (
        "title-abstract: allocated 135 new works (135 to two reviewers, 0 to one); 135 of 135 works "
        "are allocated\n"
        "  alice  135 works\n"
        "  bob    135 works\n"
        "full-text: nothing to allocate (no work is included at title-abstract yet)\n"
    )
    code, out, _ = run(review, "assign", "--reviewer", LEAD, "--stage", "title-abstract")
    assert out.startswith("title-abstract: nothing new to allocate; 135 of 135 works are allocated")

    # alice: include, exclude with a reason, maybe with a note, skip, undo, then quit
    code, out, err = run(
        review,
        "screen",
        "--reviewer",
        "alice",
        "--plain",
        input="i\ne\n2\nn\nchecked the methods\nm\ns\nu\nx\nq\n",
    )
    assert code == 0, err
    shown = _first_work(out)
    assert "Screening title-abstract as alice." in out
    assert "Criteria: Include: studies of ischaemic conditioning" in out
    assert f"Saved: include for work {shown[0]}." in out
    assert f"Saved: exclude (wrong intervention) for work {shown[1]}." in out
    assert f"Saved: maybe for work {shown[2]}." in out
    assert f"Skipped work {shown[3]}; it comes back at the end." in out
    assert f"Undone: maybe for work {shown[2]}; decide it again." in out
    assert "Note: checked the methods" in out  # the note comes back with the undone work
    assert "Unknown key 'x'." in out
    assert out.endswith(
        "Saved 3 decisions in this session (1 undone); 2 of 135 works done at title-abstract.\n"
    )

    # coming back: the next unscreened work, in the same order as before
    code, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", input="i\ni\ni\n")
    again = _first_work(out)
    # (the work skipped last time comes in its place again: skipping lasts one session)
    assert again[:3] == [shown[2], shown[3], shown[4]]
    assert f"--- work {shown[2]} · 2 / 135 done ---" in out
    assert out.endswith("Saved 3 decisions in this session; 5 of 135 works done at title-abstract.\n")

    # bob screens four of them differently, from a file
    decided = [shown[0], shown[1], shown[2], shown[3]]
    sheet = review / "bob.csv"
    sheet.write_text(
        "work_id,decision,reason,note\n"
        f"{decided[0]},include,,\n{decided[1]},include,,\n"
        f"{decided[2]},exclude,wrong design,a rat model\n{decided[3]},maybe,,\n",
        encoding="utf-8",
    )
    code, out, err = run(review, "screen", "--reviewer", "bob", "--from-csv", str(sheet))
    assert (code, err) == (0, "")
    assert out == (
        f"Stored 4 decisions from {sheet} at title-abstract (0 rows repeated a decision already stored)\n"
    )

    code, out, _ = run(review, "conflicts", "--reviewer", LEAD)
    assert out.startswith("3 conflicts at title-abstract:\n")
    assert f"work {decided[1]} (exclude vs include): " in out
    assert "  alice: exclude (wrong intervention)\n  bob: include\n" in out
    assert "  bob: exclude (wrong design) note: a rat model\n" in out
    assert f"work {decided[3]} (maybe): " in out

    # the lead: include the first, exclude the second with a reason and a note, quit
    code, out, err = run(review, "resolve", "--reviewer", LEAD, input="i\n\ne\nb\ne\n3\nanimal study\nq\n")
    assert code == 0, err
    assert "--- 1 of 3:" in out and "decision" in out and "wrong intervention" in out
    assert re.search(r"Resolved work \d+: include\.", out)
    assert re.search(r"Resolved work \d+: exclude \(wrong design\)\.", out)
    assert out.endswith("Settled 2 works.\n")
    code, out, _ = run(review, "conflicts", "--reviewer", LEAD)
    assert out.startswith("1 conflict at title-abstract:\n")

    code, out, _ = run(review, "agreement", "--reviewer", LEAD)
    assert code == 0 and "alice / bob" in out and "Landis-Koch" in out
    assert re.search(r"alice / bob\s*│\s*4\s*│\s*25\.0%", out)

    code, out, _ = run(review, "status", "--reviewer", LEAD, "--stage", "title-abstract")
    assert "alice" in out and "bob" in out
    assert out.endswith(
        "  works: 135 to screen, 135 allocated; include 2 · exclude 1 · conflict 1 · "
        "pending 1 · not started 130\n"
    )

    # full text: the works included at title-abstract
    code, out, _ = run(review, "assign", "--reviewer", LEAD, "--stage", "full-text")
    assert out.startswith(
        "full-text: allocated 2 new works (2 to two reviewers, 0 to one); 2 of 2 works are allocated"
    )
    code, out, err = run(
        review,
        "screen",
        "--reviewer",
        "alice",
        "--stage",
        "full-text",
        "--plain",
        input="f\nhttps://example.org/paper.pdf\ne\n\n4\nr\n",
    )
    assert code == 0, err
    assert re.search(r"Saved: exclude \(no outcome data\) for work \d+\.", out)
    assert re.search(r"Saved: not-retrieved for work \d+\.", out)
    with find_review(review).open_store() as store:
        rows = screen_tables.decision_history(store, "full-text", reviewer="alice")
    assert rows[0].fulltext == "https://example.org/paper.pdf" and rows[1].fulltext is None
    # bob sees the full text alice attached (never her decision), and a bad link is refused
    code, out, err = run(
        review, "screen", "--reviewer", "bob", "--stage", "full-text", "--plain", input="f\nnot a link\nq\n"
    )
    assert code == 0, err
    assert "Full text (attached by the team; f to attach another): https://example.org/paper.pdf" in out
    assert "Not kept: not a link: no such file, and not an http(s) URL" in out
    assert "exclude" not in out.split("Criteria:")[-1].split("Decision:")[0]


def test_mistakes_are_one_line(review: Path) -> None:
    code, _, err = run(review, "status", "--reviewer", "mallory")
    assert (code, err) == (
        1,
        "Error: 'mallory' is not a reviewer in "
        f"{review / 'screening' / 'protocol.toml'}; check the spelling (names "
        "are case-sensitive) or ask the lead to add you\n",
    )
    code, _, err = run(review, "status")
    assert (code, err) == (1, "Error: say who you are with --reviewer NAME (or set SCOPING_REVIEWER)\n")
    code, _, err = run(review, "screen", "--reviewer", "alice", "--plain")
    assert code == 1 and "no works are assigned to 'alice' at title-abstract yet" in err
    run(review, "assign", "--reviewer", LEAD)
    code, _, err = run(review, "screen", "--reviewer", "alice")
    assert (code, err) == (
        1,
        "Error: the full-screen view needs a terminal; use --plain for screen readers and scripts\n",
    )
    bad = review / "bad.csv"
    bad.write_text("work_id,decision\n1,include\nx,include\n", encoding="utf-8")
    code, out, err = run(review, "screen", "--reviewer", "alice", "--from-csv", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{bad}: line 3: work_id 'x' is not a number",
        f"Error: {bad}: nothing was stored; correct the rows above and load the file again",
    ]
    code, out, err = run(review, "screen", "--reviewer", "alice", "--from-csv", str(bad), "--plain")
    assert code == 2


def test_excluding_at_full_text_needs_a_reason_in_plain_mode(review: Path) -> None:
    run(review, "assign", "--reviewer", LEAD)
    with find_review(review).open_store() as store:
        protocol = load_protocol(review / "screening" / "protocol.toml")
        for work in screen_tables.assigned_works(store, TITLE_ABSTRACT, "alice")[:1]:
            for name in ("alice", "bob"):
                record_decision(store, protocol, name, TITLE_ABSTRACT, work, "include")
    run(review, "assign", "--reviewer", LEAD)
    _, out, _ = run(
        review, "screen", "--reviewer", "bob", "--stage", "full-text", "--plain", input="e\n\n9\nb\ni\n"
    )
    # Enter alone and a number out of range store nothing: the question is asked again
    assert out.count("Pick a reason: 1 to 4 (or b to go back).") == 2
    assert "Exclude cancelled; nothing saved." in out
    assert re.search(r"Saved: include for work \d+\.", out)


def test_enter_alone_never_stores_a_reason_at_title_abstract(review: Path) -> None:
    run(review, "assign", "--reviewer", LEAD)
    _, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", input="e\n\n0\ne\n\n2\nq\n")
    assert "Reasons: 0. no reason; 1." in out
    assert out.count("Pick a reason: 0 to ") == 2
    saved = re.findall(r"Saved: exclude(?: \(([^)]*)\))? for work \d+\.", out)
    assert len(saved) == 2 and saved[0] == "" and saved[1] != "", saved


def test_blinding_every_command_a_reviewer_can_run(review: Path) -> None:
    """Nothing alice can run shows bob's name, decisions, notes or counts, or the lead's name."""
    run(review, "assign", "--reviewer", LEAD)
    # bob screens 7 works with a note, alice 3 of the same works; the lead settles one
    code, _, _ = run(
        review, "screen", "--reviewer", "bob", "--plain", input="n\nsecret remark\ne\n1\n" + "i\n" * 6 + "q\n"
    )
    assert code == 0
    code, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", input="i\ni\ni\nq\n")
    run(review, "resolve", "--reviewer", LEAD, input="i\n\nq\n")

    outputs = [out]
    sheet = review / "alice.csv"
    sheet.write_text("work_id,decision\n999999,include\n", encoding="utf-8")
    for args, stdin in [
        (("screen", "--reviewer", "alice", "--plain"), "?\nc\nq\n"),
        (("screen", "--reviewer", "alice", "--plain", "--stage", "full-text"), "q\n"),
        (("screen", "--reviewer", "alice", "--from-csv", str(sheet)), None),
        (("status", "--reviewer", "alice"), None),
        (("status", "--reviewer", "alice", "--stage", "full-text"), None),
        (("conflicts", "--reviewer", "alice"), None),
        (("resolve", "--reviewer", "alice"), "i\n"),
        (("resolve", "--reviewer", "alice", "--work", "1"), "i\n"),
        (("agreement", "--reviewer", "alice"), None),
        (("assign", "--reviewer", "alice"), None),
        (("screen", "--reviewer", "alice", "--to-csv", str(review / "sheet.csv")), None),
        (("stop", "--reviewer", "alice"), None),
    ]:
        _, stdout, stderr = run(review, *args, input=stdin)
        outputs.append(stdout + stderr)
    text = "\n".join(outputs) + (review / "sheet.csv").read_text(encoding="utf-8")
    for leak in ("bob", "lena", "secret remark", "not started", "conflict", "Resolved", "agreement:"):
        assert not re.search(rf"\b{re.escape(leak)}\b", text, flags=re.I), leak
    status_out = outputs[4]
    assert re.search(r"alice\s*│\s*135\s*│\s*3\s*│\s*132", status_out)
    assert len(re.findall(r"│\s*135\s*│", status_out)) == 1  # one row: alice's own
    assert outputs[6].startswith("Error: only a lead may do this, and 'alice' is a reviewer")


@pytest.mark.slow
def test_killing_the_screen_loses_nothing_shown_as_saved(review: Path) -> None:
    """SIGKILL in the middle of screening: every "Saved" line printed is in the store."""
    run(review, "assign", "--reviewer", LEAD)
    program = "import scoping.cli.screen_cmd; from scoping.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", program, "screen", "--reviewer", "alice", "--plain"],
        cwd=review,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    saved: list[int] = []
    for _ in range(60):  # keys for 60 works; the process is killed after 25 were reported saved
        proc.stdin.write("i\n" if len(saved) % 2 else "e\n1\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    buffer = ""
    while len(saved) < 25 and time.monotonic() < deadline:
        buffer += os.read(proc.stdout.fileno(), 65536).decode()
        saved = [int(w) for w in re.findall(r"Saved: \w+(?: \([^)]*\))? for work (\d+)\.", buffer)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdin.close()
    proc.stdout.close()
    assert proc.stderr is not None
    proc.stderr.close()
    with find_review(review).open_store() as store:
        stored = [r.work_id for r in screen_tables.decision_history(store, TITLE_ABSTRACT)]
    assert len(saved) >= 25
    assert stored[: len(saved)] == saved  # everything shown as saved was stored, in order
    assert len(stored) <= 60  # and nothing but the decisions of the keys sent


def test_the_plain_screen_loads_neither_textual_nor_the_matching_engine(review: Path) -> None:
    """``scoping screen --plain`` (run by scripts and by every test that screens through the
    real command line) shows and decides works without importing Textual or the de-duplication
    engine (numpy, networkx): about 0.9 s of CPU per session that nothing on its screen used."""
    run(review, "assign", "--reviewer", LEAD)
    heavy = ("textual", "scoping.dedupe.engine", "networkx")
    program = (
        "import sys; from scoping.cli import cli\n"
        "cli.main(sys.argv[1:], prog_name='scoping', standalone_mode=False)\n"
        f"print('loaded:', sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, "screen", "--reviewer", "alice", "--plain"],
        cwd=review,
        input="i\ne\n1\nq\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(re.findall(r"Saved: \w+(?: \([^)]*\))? for work \d+\.", done.stdout)) == 2, done.stdout
    assert done.stdout.rstrip().endswith("loaded: []"), done.stdout[-500:]


def test_screening_elsewhere_with_a_worksheet(review: Path) -> None:
    run(review, "assign", "--reviewer", LEAD)
    run(review, "screen", "--reviewer", "bob", "--plain", input="i\ni\nq\n")
    run(review, "screen", "--reviewer", "alice", "--plain", input="e\n1\nq\n")
    sheet = review / "alice.csv"
    code, out, err = run(review, "screen", "--reviewer", "alice", "--to-csv", str(sheet))
    assert code == 0, err
    assert out.startswith(f"Wrote your 134 works still to screen at title-abstract to {sheet}.\n")
    assert "--from-csv" in out
    import csv

    with sheet.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 134 and rows[0]["decision"] == "" and rows[0]["title"]
    assert list(rows[0]) == [
        "work_id",
        "title",
        "authors",
        "year",
        "journal",
        "doi",
        "abstract",
        "keywords",
        "decision",
        "reason",
        "note",
    ]
    # the reviewer fills in some rows elsewhere and loads the file back
    for n, row in enumerate(rows[:10]):
        row["decision"] = "include" if n % 2 else "exclude"
    with sheet.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, out, err = run(review, "screen", "--reviewer", "alice", "--from-csv", str(sheet))
    assert code == 0, err
    assert out == (
        f"Stored 10 decisions from {sheet} at title-abstract (0 rows repeated a decision "
        "already stored; 124 rows without a decision were left for later)\n"
    )
    code, out, _ = run(review, "screen", "--reviewer", "alice", "--to-csv", str(sheet))
    assert "Wrote your 124 works" in out
    code, _, err = run(review, "screen", "--reviewer", "alice", "--to-csv", str(sheet), "--plain")
    assert code == 2 and "use one of --plain, --from-csv and --to-csv" in err


def test_the_stopping_rule_through_the_cli(review: Path) -> None:
    import json

    protocol_path = review / "screening" / "protocol.toml"
    with protocol_path.open("a", encoding="utf-8") as stream:
        stream.write("\n[stopping]\nrecall_target = 0.8\nconfidence = 0.9\n")
    run(review, "assign", "--reviewer", LEAD)
    protocol = load_protocol(protocol_path)
    target = find_review(review)
    with target.open_store() as store:
        works = screen_tables.work_ids(store)
        for i, work in enumerate(works[:70]):  # 20 includes, then a run of 50 excludes
            for who in ("alice", "bob"):
                record_decision(
                    store, protocol, who, TITLE_ABSTRACT, work, "include" if i < 20 else "exclude"
                )
    code, out, _ = run(review, "stop", "--reviewer", LEAD)
    assert code == 0
    assert "Ranked phase: 70 of 135 works decided, 20 included; the latest 50 final decisions" in out
    assert "start the random sample with 'scoping stop --reviewer lena --start-sampling'" in out
    assert "This review has 135 works: under 1,000, no rule with a guarantee saves much here" in out
    assert "With a guarantee, what it needs next: a random sample of the 65 works not decided yet." in out
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--json")
    default = json.loads(out)["default_rule"]
    assert default["guarantee"] is False and default["test"]["met"] is False
    more = default["test"]["excludes_needed"]
    words = " ".join(run(review, "stop", "--reviewer", LEAD)[1].split())
    assert (
        "Without a random sample (the default rule; NO statistical guarantee): not met: recall is "
        f"at least {default['test']['recall_bound']:.1%} under its bound, the target is 80%. What it "
        f"needs next: {more:,} more excludes in a row (then {65 - more:,} works"
    ) in words
    assert "It assumes the ranking served includes no later than a random order would" in words
    needed = json.loads(out)["excludes_needed"]
    ranked = json.loads(out)["ranked_test"]
    # the ranked test's p-value for the window it names, recomputed with scipy: the latest
    # `window` of the 70 decisions (20 includes, then 50 excludes) as a sample of themselves
    # and the 65 works left
    window = ranked["window"]
    labels = [1] * 20 + [0] * 50
    k = sum(labels[70 - window :])
    before = 20 - k
    k_target = math.floor(Fraction(20) / Fraction(8, 10) - before + 1)
    assert ranked["p_value"] == pytest.approx(stats.hypergeom.cdf(k, 65 + window, k_target, window))
    assert ranked["met"] == (ranked["p_value"] < 0.1)
    assert f"the rule is met only after {needed:,} of them" in " ".join(
        run(review, "stop", "--reviewer", LEAD)[1].split()
    )
    code, _, err = run(review, "stop", "--reviewer", LEAD, "--apply")
    assert code == 1 and err.count("\n") == 1 and "the default stopping rule is not met yet" in err
    assert f"{more:,} more excludes in a row would meet it" in err and "--start-sampling" in err
    code, out, err = run(review, "stop", "--reviewer", LEAD, "--start-sampling", input="\n")
    assert code == 1 and "Start the random sample now? [y/N]" in out
    assert "Starting the random sample puts the 65 works nobody has decided" in out
    assert err == "Error: cancelled: random sampling has not begun, nothing changed\n"
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--start-sampling", input="y\n")
    assert code == 0 and "Random sampling has begun: 65 works in a random order." in out
    code, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", input="q\n")
    assert code == 0 and "Order: random sample for the stopping rule." in out
    with target.open_store() as store:
        sample = screen_tables.stop_sample(store, screen_tables.stop_events(store)[-1].id)
    assert _first_work(out) == sample[:1]
    with target.open_store() as store:
        n = 0
        for work in sample:
            n += 1
            for who in ("alice", "bob"):
                record_decision(store, protocol, who, TITLE_ABSTRACT, work, "exclude")
            code, out, _ = run(review, "stop", "--reviewer", LEAD, "--json")
            state = json.loads(out)
            if state["test"]["met"]:
                break
    assert state["phase"] == "sampling" and state["sampled"] == n and n < len(sample)
    assert n == needed  # all excludes: met exactly when the ranked phase said it would be
    assert state["test"]["p_value"] < 0.1
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--apply")
    assert code == 0 and f"Stopped: {len(sample) - n} works of the sample were excluded" in out
    code, out, _ = run(review, "status", "--reviewer", LEAD, "--stage", TITLE_ABSTRACT)
    assert f"excluded by the stopping rule {len(sample) - n}" in out
    assert "p = " in out
    code, out, _ = run(review, "prisma", "--format", "json", "--out", "-", "--reviewer", LEAD)
    counts = json.loads(out)
    assert counts["identification"]["automation_removed"]["n"] == len(sample) - n
    assert "Callaghan & Müller-Hansen 2020" in counts["stopping_rule"]


def test_the_lead_can_call_off_a_random_sample(review: Path) -> None:
    import json

    protocol_path = review / "screening" / "protocol.toml"
    with protocol_path.open("a", encoding="utf-8") as stream:
        stream.write("\n[stopping]\nrecall_target = 0.8\nconfidence = 0.9\n")
    run(review, "assign", "--reviewer", LEAD)
    protocol = load_protocol(protocol_path)
    target = find_review(review)
    code, _, err = run(review, "stop", "--reviewer", LEAD, "--cancel-sampling", "--yes")
    assert code == 1 and err == "Error: random sampling has not begun; there is no sample to cancel\n"
    code, _, _ = run(review, "stop", "--reviewer", LEAD, "--start-sampling", "--yes")
    assert code == 0
    with target.open_store() as store:
        first = screen_tables.stop_sample(store, screen_tables.stop_events(store)[-1].id)
        for work in first[:3]:  # three works of the sample screened by both
            for who in ("alice", "bob"):
                record_decision(store, protocol, who, TITLE_ABSTRACT, work, "exclude")
    code, out, err = run(review, "stop", "--reviewer", LEAD, "--cancel-sampling", input="\n")
    assert code == 1 and "The sample has 3 of 135 works screened" in out
    assert err == "Error: nothing changed: the random sample goes on\n"
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--json")
    assert json.loads(out)["phase"] == "sampling"
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--cancel-sampling", input="y\n")
    assert code == 0 and "The random sample was called off" in out
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--json")
    state = json.loads(out)
    assert state["phase"] == "ranked" and state["decided"] == 3  # the decisions are kept
    code, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", input="q\n")
    assert "random sample" not in out
    # a new sample: a new random order of the works nobody has decided by then
    code, _, _ = run(review, "stop", "--reviewer", LEAD, "--start-sampling", "--yes")
    with target.open_store() as store:
        second = screen_tables.stop_sample(store, screen_tables.stop_events(store)[-1].id)
    assert sorted(second) == sorted(first[3:]) and second != first[3:]


def test_a_reviewer_revisits_and_changes_past_decisions(review: Path) -> None:
    """My decisions, filtered; go back to one and change it (both rows stay); undo across
    sessions; and never a colleague's decision."""
    run(review, "assign", "--reviewer", LEAD)
    code, out, err = run(
        review, "screen", "--reviewer", "alice", "--plain", input="i\nm\nn\nrecheck\ne\n2\nq\n"
    )
    assert code == 0, err
    first, maybe, excluded = _first_work(out)[:3]
    code, out, _ = run(review, "screen", "--reviewer", "bob", "--plain", input="e\n1\nq\n")
    bob_work = _first_work(out)[0]

    code, out, _ = run(review, "decisions", "--reviewer", "alice", "--decision", "maybe")
    assert code == 0 and re.search(rf"\b{maybe}\b.*maybe", out), out
    assert "Decisions of alice: 1 work" in out and "bob" not in out
    _, out, _ = run(review, "decisions", "--reviewer", "alice", "--with-note")
    assert "recheck" in out and "1 work" in out
    _, out, _ = run(review, "decisions", "--reviewer", "alice")
    assert "3 works" in out and "bob" not in out
    if bob_work not in (first, maybe, excluded):  # blinded: bob's decision is nowhere in alice's list
        assert f" {bob_work} " not in out

    # change the maybe into an include, through --work
    code, out, err = run(
        review, "screen", "--reviewer", "alice", "--plain", "--work", str(maybe), input="i\nq\n"
    )
    assert code == 0, err
    assert f"Work {maybe}: you decided maybe" in out and f"Saved: include for work {maybe}." in out
    with find_review(review).open_store() as store:
        rows = screen_tables.decision_history(store, TITLE_ABSTRACT, work_id=maybe, reviewer="alice")
    assert [r.decision for r in rows] == ["maybe", "include"]
    assert (
        "No decisions of yours match."
        in run(review, "decisions", "--reviewer", "alice", "--decision", "maybe")[1]
    )

    # g in the screen goes to a work by number ("work:N" works too); a work not yours is refused
    _, out, _ = run(
        review, "screen", "--reviewer", "alice", "--plain", input=f"g\nwork:{first}\ne\n1\ng\n999999\nq\n"
    )
    assert f"Saved: exclude (wrong population) for work {first}." in out
    assert "Not there: work 999999 is not one of your works" in out

    # undo in a new session withdraws the latest decision of an earlier one
    _, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", input="u\nq\n")
    assert f"Undone: exclude for work {first}" in out
    with find_review(review).open_store() as store:
        assert screen_tables.current_decision(store, TITLE_ABSTRACT, first, "alice") is None
        rows = screen_tables.decision_history(store, TITLE_ABSTRACT, work_id=first, reviewer="alice")
    assert [r.decision for r in rows] == ["include", "exclude", "undone"]  # nothing is lost


def test_work_ids_are_written_one_way_everywhere() -> None:
    from scoping.cli.screen_cmd import _work_number
    from scoping.errors import UsageError

    assert [_work_number(t) for t in ("42", "work 42", "work:42", "#42", " Work:42 ")] == [42] * 5
    with pytest.raises(UsageError, match="not a work number"):
        _work_number("forty-two")


def test_search_within_my_queue(review: Path) -> None:
    run(review, "assign", "--reviewer", LEAD)
    code, out, err = run(
        review, "screen", "--reviewer", "alice", "--plain", input="/rabbit cardiomyocytes\ni\n/zzzqqq\nq\n"
    )
    assert code == 0, err
    found = re.search(r"Found: work (\d+)\.", out)
    assert found, out[-2000:]
    work = int(found.group(1))
    assert f"Saved: include for work {work}." in out
    assert "No work left in your queue has 'zzzqqq'." in out
    with find_review(review).open_store() as store:
        from scoping.screen import load_card

        card = load_card(store, work)
    assert card is not None
    assert "rabbit" in f"{card.title} {card.abstract}".casefold()


def test_a_reviewer_labels_works_and_finds_them_again(review: Path) -> None:
    run(review, "assign", "--reviewer", LEAD)
    code, out, err = run(
        review,
        "screen",
        "--reviewer",
        "alice",
        "--plain",
        input="t\nrct, check methods\ni\nt\nrct\nt\n-rct\nt\n" + "x" * 61 + "\ne\n0\nq\n",
    )
    assert code == 0, err
    first = _first_work(out)[0]
    assert "Labels: check methods, rct." in out
    assert "Not kept: the label 'xxxxxxxxxxxxxxxxxxxx'... is longer than 60 characters" in out
    code, out, _ = run(review, "decisions", "--reviewer", "alice", "--label", "Check Methods")
    assert code == 0 and "Decisions of alice: 1 work" in out and str(first) in out
    code, out, _ = run(review, "decisions", "--reviewer", "alice", "--label", "rct")
    # the second work's rct was added, then removed
    assert [int(w) for w in re.findall(r"^│ (\d+) ", out, flags=re.M)] == [first]
    code, out, _ = run(review, "screen", "--reviewer", "alice", "--plain", "--work", str(first), input="q\n")
    assert "Labels: check methods, rct\n" in out  # on the card when the work is shown again
    code, out, _ = run(review, "screen", "--reviewer", "bob", "--plain", input="q\n")
    assert "Labels:" not in out  # alice's labels are hers
    code, out, _ = run(review, "decisions", "--reviewer", "bob", "--label", "check methods")
    assert out == "No decisions of yours match.\n"


def test_the_default_stopping_rule_through_the_cli(review: Path) -> None:
    """The default rule stops a live review from its ranked decisions, where it said it would,
    and says plainly that it has no guarantee."""
    import json

    protocol_path = review / "screening" / "protocol.toml"
    with protocol_path.open("a", encoding="utf-8") as stream:
        stream.write("\n[stopping]\nrecall_target = 0.8\nconfidence = 0.9\n")
    run(review, "assign", "--reviewer", LEAD)
    protocol = load_protocol(protocol_path)
    target = find_review(review)

    def decide(works: list[int], decision: str) -> None:
        with target.open_store() as store:
            for work in works:
                for who in ("alice", "bob"):
                    record_decision(store, protocol, who, TITLE_ABSTRACT, work, decision)

    with target.open_store() as store:
        works = screen_tables.work_ids(store)
    decide(works[:20], "include")
    decide(works[20:30], "exclude")
    state = json.loads(run(review, "stop", "--reviewer", LEAD, "--json")[1])
    more = state["default_rule"]["test"]["excludes_needed"]
    assert more is not None and 30 + more < len(works)
    decide(works[30 : 30 + more - 1], "exclude")  # one short of what it said it needs
    code, _, err = run(review, "stop", "--reviewer", LEAD, "--apply")
    assert code == 1 and "1 more excludes in a row would meet it" in err
    decide(works[30 + more - 1 : 30 + more], "exclude")
    words = " ".join(run(review, "stop", "--reviewer", LEAD)[1].split())
    assert "NO statistical guarantee" in words and "screening may stop" in words
    assert "Record it with 'scoping stop --reviewer lena --apply'" in words
    code, out, err = run(review, "stop", "--reviewer", LEAD, "--apply")
    left = len(works) - 30 - more
    assert code == 0, err
    assert (
        f"Stopped by the default rule (no statistical guarantee): {left:,} works nobody had decided "
        "were excluded by automation"
    ) in " ".join(out.split())
    with target.open_store() as store:
        assert sorted(outcomes.automation_excluded(store)) == sorted(works[30 + more :])
        note = outcomes.stopping_rule_note(store)
    assert note is not None and "NO statistical guarantee" in note
    code, _, err = run(review, "stop", "--reviewer", LEAD, "--start-sampling", "--yes")
    assert code == 1 and "stopped by the default rule; take the stop back first" in err
    code, out, _ = run(review, "stop", "--reviewer", LEAD, "--resume")
    assert code == 0
    with target.open_store() as store:
        assert outcomes.automation_excluded(store) == []
