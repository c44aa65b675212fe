"""The one progress-bar factory: the bar goes to standard error, and only to a terminal."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from scoping.cli.console import progress

DATA = Path(__file__).parent / "data"
ESC = "\x1b["


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, standing in for a tty on standard error."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable that would make rich treat a pipe as a terminal, or a terminal as dumb."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")


def _run_bar() -> None:
    with progress() as bar:
        task = bar.add_task("Working", total=10)
        bar.update(task, completed=3)
        bar.refresh()


def test_the_bar_is_drawn_on_stderr_of_a_terminal(
    plain_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _run_bar()
    drawn = terminal.getvalue()
    assert ESC in drawn
    for column in ("Working", "3/10", "0:00:0"):
        assert column in drawn, (column, drawn)
    assert capsys.readouterr().out == ""


def test_no_bar_and_no_escape_codes_when_stderr_is_not_a_terminal(
    plain_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    _run_bar()
    assert pipe.getvalue() == ""
    assert capsys.readouterr().out == ""


def _scoping(*args: str, cwd: Path, stderr: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    env["TERM"] = "xterm"
    env["PYTHONPATH"] = str(Path(__file__).parent.parent / "src")
    return subprocess.Popen(
        [sys.executable, "-m", "scoping", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr
    )


@pytest.fixture
def review(tmp_path: Path) -> Path:
    root = tmp_path / "r"
    made = _scoping("init", str(root), cwd=tmp_path, stderr=subprocess.PIPE)
    _, err = made.communicate(timeout=120)
    assert made.returncode == 0, err
    return root


IMPORT = ("import", str(DATA / "asreview/embase.ris"), "--source", "Embase")


def test_import_piped_writes_no_escape_codes(review: Path) -> None:
    run = _scoping(*IMPORT, cwd=review, stderr=subprocess.PIPE)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert b"Embase" in out
    assert ESC.encode() not in out
    assert ESC.encode() not in err


def test_import_on_a_terminal_draws_its_bar_on_stderr_only(review: Path) -> None:
    main, secondary = pty.openpty()
    run = _scoping(*IMPORT, cwd=review, stderr=secondary)
    os.close(secondary)
    drawn = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal is closed once the command exits
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    out, _ = run.communicate(timeout=300)
    reader.join(timeout=60)
    os.close(main)
    assert run.returncode == 0, bytes(drawn)
    assert ESC.encode() in drawn
    assert b"Importing embase.ris" in drawn
    assert b"Embase" in out
    assert ESC.encode() not in out
