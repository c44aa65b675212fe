"""The one convention for answering prompts, shared by ``screen --plain``, ``resolve``,
``dedupe review`` and ``topics``.

- On a terminal a choice is **one key press** (no Enter), as in the full-screen window.
- With piped input (scripts, tests) a choice is **one line**, so the commands stay scriptable
  from standard input: ``printf 'i\\ne\\n1\\n' | scoping screen --plain``.
- **Enter alone never chooses anything**: it gives back ``""``, which every caller treats as
  "ask again". Free text (a note, a search, a work number) is always a line ended by Enter.
- The end of input (Ctrl-D, or the end of a pipe) gives back ``None``: the caller stops cleanly,
  having saved everything answered so far.
"""

from __future__ import annotations

import os
import select
import sys

import click

__all__ = ["interactive", "read_key", "read_line"]


def interactive() -> bool:
    """Whether a person is at a terminal (both standard input and output are one)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def read_line(prompt: str) -> str | None:
    """One line of free text (``None`` at the end of input); the line ending is removed."""
    click.echo(prompt, nl=False)
    line = sys.stdin.readline()
    if not line:
        click.echo("")
        return None
    return line.rstrip("\r\n")


def read_key(prompt: str) -> str | None:
    """One choice: a single key press on a terminal, one line when input is piped.

    On a terminal the key is echoed and taken at once; Enter alone gives ``""``; Ctrl-D gives
    ``None``; Ctrl-C raises ``KeyboardInterrupt`` as usual (the commands end cleanly on it).
    """
    if not interactive():
        return read_line(prompt)
    click.echo(prompt, nl=False)
    key = _one_key()
    if key is None:
        click.echo("")
        return None
    if key in ("\r", "\n"):
        click.echo("")
        return ""
    click.echo(key if key.isprintable() else "")
    return key


def _one_key() -> str | None:
    """One key from the terminal on standard input, keeping keys typed ahead.

    Not ``click.getchar``: it switches the terminal with ``TCSAFLUSH``, which throws away
    whatever the reviewer typed while the next work was being loaded (a decision typed fast
    was lost). Here the terminal goes to cbreak mode with ``TCSANOW`` (typed-ahead keys stay,
    Ctrl-C still interrupts) and back afterwards. An escape sequence (an arrow key) is read
    whole and given back as ``"\x1b"`` so its tail is not taken for keys.
    """
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal: click's own reader
        try:
            return click.getchar()
        except EOFError:
            return None
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        first = os.read(fd, 1)
        # end of input, or Ctrl-D (read as NUL when it was typed ahead in line mode)
        if first in (b"", b"\x04", b"\x00"):
            return None
        if first == b"\x1b":
            while select.select([fd], [], [], 0.05)[0]:
                if not os.read(fd, 16):
                    break
            return "\x1b"
        data = first
        need = 1 if first[0] < 0x80 else 2 if first[0] < 0xE0 else 3 if first[0] < 0xF0 else 4
        while len(data) < need:
            more = os.read(fd, 1)
            if not more:
                break
            data += more
        return data.decode("utf-8", "replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
