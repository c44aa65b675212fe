"""One reviewer, one current decision per work, however many windows: a session that shows a
work another session of the same reviewer decides meanwhile stores nothing unseen; it says
what the decision is now and asks before replacing it."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoping
import scoping.cli.screen_cmd  # (registers the screening commands)
from scoping.cli import cli
from scoping.errors import DecidedElsewhereError
from scoping.screen import TITLE_ABSTRACT, ScreeningSession, load_protocol
from scoping.store import screen_tables
from test_screen_support import LEAD, cached_review

_TEMPLATE: dict[str, Path] = {}


def fresh_review(base: Path) -> Path:
    """A review folder with the works allocated (made once, copied for each example)."""
    template = _TEMPLATE.get("assigned")
    if template is None:
        template = cached_review(base / uuid.uuid4().hex).root
        with contextlib.chdir(template):
            result = CliRunner().invoke(cli, ["assign", "--reviewer", LEAD], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        _TEMPLATE["assigned"] = template
    root = base / uuid.uuid4().hex
    shutil.copytree(template, root)
    return root


def test_a_second_window_is_told_and_asked(tmp_path: Path) -> None:
    root = fresh_review(tmp_path)
    protocol = load_protocol(root / "screening" / "protocol.toml")
    from scoping.review import Review

    with Review(root=root).open_store() as store:
        one = ScreeningSession(store, protocol, "alice")
        two = ScreeningSession(store, protocol, "alice")
        first, second = one.current(), two.current()
        assert first is not None and second is not None and first.work_id == second.work_id
        saved = one.decide("include")
        with pytest.raises(DecidedElsewhereError, match=r"it is now include\); nothing was saved") as info:
            two.decide("exclude")
        assert info.value.current_id == saved.id
        assert two.current() == second  # the work stays on screen
        replaced = two.decide("exclude")  # asked, and yes: replaces the decision it was shown
        # the first window undoes its decision: it is no longer the current one, so nothing changes
        with pytest.raises(DecidedElsewhereError, match=r"it is now exclude"):
            one.undo()
        rows = screen_tables.decision_history(store, TITLE_ABSTRACT, work_id=first.work_id)
    assert [(r.id, r.decision) for r in rows] == [(saved.id, "include"), (replaced.id, "exclude")]


ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 1),  # which window
        st.sampled_from(["include", "exclude", "maybe", "undo", "skip"]),
        st.booleans(),  # on "decided meanwhile": replace (yes) or keep it (no)
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ACTIONS)
def test_two_windows_interleaved_never_double_or_silently_replace(
    tmp_path: Path, steps: list[tuple[int, str, bool]]
) -> None:
    from scoping.review import Review

    root = fresh_review(tmp_path)
    protocol = load_protocol(root / "screening" / "protocol.toml")
    with Review(root=root).open_store() as store:
        windows = [ScreeningSession(store, protocol, "alice") for _ in range(2)]
        known: list[set[int]] = [set(), set()]  # rows each window was shown or wrote
        known_when_written: dict[int, set[int]] = {}  # row -> what its window knew then
        withdrawn: set[int] = set()  # rows taken back by an undo (the undo returns them)
        for window in windows:
            window.current()  # each window shows its first work
        for which, action, replace in steps:
            window = windows[which]
            if action == "skip":
                window.skip()
            elif action == "undo":
                try:
                    row = window.undo()
                except DecidedElsewhereError as exc:
                    if exc.current_id is not None:
                        known[which].add(exc.current_id)
                    row = None
                if row is not None:  # (a window with no decision of its own undoes the
                    # reviewer's latest, and shows what it undid: the reviewer sees it)
                    withdrawn.add(row.id)
                    known[which].add(row.id)
            elif window.current() is not None:
                try:
                    row = window.decide(action)
                except DecidedElsewhereError as exc:
                    if exc.current_id is not None:
                        known[which].add(exc.current_id)  # shown to the reviewer
                    if not replace:
                        window.leave_decided()
                        window.current()
                        continue
                    row = window.decide(action)
                known_when_written[row.id] = set(known[which])
                known[which].add(row.id)
            window.current()  # the window shows its next work
        history = screen_tables.decision_history(store, TITLE_ABSTRACT, reviewer="alice")
    previous: dict[int, screen_tables.DecisionRow] = {}
    for row in history:
        before = previous.get(row.work_id)
        standing = before is not None and before.decision != "undone"
        if row.decision == "undone":
            assert standing and before is not None and before.id in withdrawn, (row, before)
        elif standing:
            assert before is not None
            # a decision replaced only by a window that had been shown it: never doubled
            # (two windows deciding one work unseen) nor silently replaced
            assert before.id in known_when_written[row.id], (row, before)
        previous[row.work_id] = row
    assert set(known_when_written) == {r.id for r in history if r.decision != "undone"}


def _read_until(proc: subprocess.Popen[str], buffer: list[str], pattern: str, timeout: float = 120) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = "".join(buffer)
        if re.search(pattern, text):
            return text
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 65536).decode()
        if not chunk:
            break
        buffer.append(chunk)
    raise AssertionError(f"{pattern!r} not seen in: {''.join(buffer)[-3000:]!r}")


def test_two_plain_sessions_of_one_reviewer(tmp_path: Path) -> None:
    root = fresh_review(tmp_path)
    program = "import scoping.cli.screen_cmd; from scoping.cli import main; main()"
    # the scoping these tests import, also in the child processes
    here = str(Path(scoping.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": here}
    env.pop("SCOPING_REVIEWER", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", program, "screen", "--reviewer", "alice", "--plain"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outs: list[list[str]] = [[], []]
    try:
        for proc, out in zip(procs, outs, strict=True):
            _read_until(proc, out, r"Decision: $")
        first = int(re.findall(r"--- work (\d+) ·", "".join(outs[0]))[0])
        assert f"--- work {first} ·" in "".join(outs[1])  # both windows show the same work

        def send(i: int, text: str, pattern: str) -> str:
            proc = procs[i]
            assert proc.stdin is not None
            proc.stdin.write(text)
            proc.stdin.flush()
            return _read_until(proc, outs[i], pattern)

        send(0, "i\n", rf"Saved: include for work {first}\.(?s:.*)Decision: $")
        shown = send(1, "e\n1\n", r"Replace it with exclude \(wrong population\)\? \(y/N\): $")
        assert f"Work {first} was decided in another session of yours meanwhile: it is now include." in shown
        send(1, "n\n", rf"Kept: include for work {first}; nothing saved\.\n(?s:.*)Decision: $")
        # the next work: the second window decides it, the first is asked and replaces it
        second = int(re.findall(r"--- work (\d+) ·", "".join(outs[0]))[-1])
        send(1, "m\n", rf"Saved: maybe for work {second}\.")
        send(0, "e\n1\n", r"it is now maybe\.\nReplace it with exclude \(wrong population\)\? \(y/N\): $")
        send(0, "y\n", rf"Saved: exclude \(wrong population\) for work {second}\.")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("q\n")
            proc.stdin.close()
            assert proc.wait(timeout=60) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    from scoping.review import Review

    with Review(root=root).open_store() as store:
        rows = screen_tables.decision_history(store, TITLE_ABSTRACT, reviewer="alice")
    assert [(r.work_id, r.decision, r.reason) for r in rows] == [
        (first, "include", None),
        (second, "maybe", None),
        (second, "exclude", "wrong population"),
    ]


def test_the_window_asks_before_replacing_another_windows_decision(tmp_path: Path) -> None:
    import asyncio

    from scoping.cli.screen_tui import ScreeningApp
    from scoping.review import Review

    root = fresh_review(tmp_path)
    protocol = load_protocol(root / "screening" / "protocol.toml")
    with Review(root=root).open_store() as store:
        other = ScreeningSession(store, protocol, "alice", via="plain")
        session = ScreeningSession(store, protocol, "alice", via="tui")
        app = ScreeningApp(session)
        works: list[int | None] = []

        def message() -> str:
            return str(app.query_one("#message").render())

        async def drive() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                works.append(app.shown_work)
                other.current()
                other.decide("include")  # the other window decides the work on screen
                await pilot.press("e")
                await pilot.pause()
                await pilot.press("1")  # a reason: the save finds the other window's decision
                await pilot.pause()
                assert app.screen.__class__.__name__ == "ConfirmScreen"
                await pilot.press("n")  # keep it
                await pilot.pause()
                assert message() == f"Kept: include for work {works[0]}; nothing saved."
                works.append(app.shown_work)
                assert works[1] != works[0]
                other.current()
                other.decide("maybe")  # and the next one too
                await pilot.press("i")
                await pilot.pause()
                await pilot.press("y")  # replace it
                await pilot.pause()
                assert message() == f"Saved: include for work {works[1]}"
                await pilot.press("q")

        asyncio.run(drive())
        rows = screen_tables.decision_history(store, TITLE_ABSTRACT, reviewer="alice")
    assert [(r.work_id, r.decision, r.via) for r in rows] == [
        (works[0], "include", "plain"),
        (works[1], "maybe", "plain"),
        (works[1], "include", "tui"),
    ]
