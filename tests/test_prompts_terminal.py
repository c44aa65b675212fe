"""One convention for answers, at a real terminal: a choice is one key press (no Enter), Enter
alone never decides anything. Run through a pseudo-terminal, the way a person's shell runs it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_screen_support import LEAD, cached_review


class Terminal:
    """A command on a pseudo-terminal: type keys into it and wait for what it prints."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm"}
        env.pop("SCOPING_REVIEWER", None)
        self.process = subprocess.Popen(
            args, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.seen = ""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        end = time.monotonic() + timeout
        while text not in self.seen:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.seen[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the command ended and closed the terminal
                    chunk = b""
                if not chunk and self.process.poll() is not None:
                    raise AssertionError(f"the command ended before {text!r}:\n{self.seen[-2000:]}")
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return self.seen

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            os.close(self.master)


@pytest.fixture
def review(tmp_path: Path) -> Path:
    root = cached_review(tmp_path / "rv").root
    done = subprocess.run(
        [sys.executable, "-m", "scoping", "assign", "--reviewer", LEAD],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return root


def test_plain_screening_takes_single_keys_and_ignores_enter(review: Path) -> None:
    term = Terminal([sys.executable, "-m", "scoping", "screen", "--reviewer", "alice", "--plain"], review)
    term.wait_for("Decision: ")
    term.type("i")  # no Enter: the key alone decides
    term.wait_for("Saved: include for work")
    term.type("\r")  # Enter alone: nothing is stored, the prompt comes again
    term.wait_for("Enter alone does nothing.")
    term.type("e")
    term.wait_for("Reason (")
    term.type("\r")  # Enter alone picks no reason (it used to mean reason 1 at full text)
    term.type("2")
    term.wait_for("Saved: exclude (wrong intervention) for work")
    term.type("q")
    seen = term.wait_for("Saved 2 decisions in this session")
    assert term.close() == 0
    assert seen.count("Saved: ") == 2


def test_a_terminal_answer_of_the_wrong_key_asks_again(review: Path) -> None:
    term = Terminal([sys.executable, "-m", "scoping", "screen", "--reviewer", "bob", "--plain"], review)
    term.wait_for("Decision: ")
    term.type("x")
    term.wait_for("Unknown key 'x'.")
    term.type("m")
    term.wait_for("Saved: maybe for work")
    term.type("\x04")  # Ctrl-D ends the session cleanly, everything answered is kept
    seen = term.wait_for("Saved 1 decision in this session")
    assert term.close() == 0
    assert "Traceback" not in seen
