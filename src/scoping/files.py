"""Reading the review's TOML files, and writing output files safely.

**Reading TOML.** :func:`read_toml` (a file) and :func:`parse_toml` (text already read) are the
one way the library reads ``protocol.toml``, ``strategy.toml``, ``prisma-manual.toml``, the
user's ``config.toml`` and the demo's manifest. Whatever goes wrong becomes one
:class:`~scoping.errors.ConfigError` in one wording that names the file and says what to do:
the file is missing (and how to create it), cannot be read, is not UTF-8 text, or is not valid
TOML (with the line and column).

**Writing outputs: whole or not at all, and never over a device.**

Outputs are written to a temporary file beside the target and then moved over it
(:func:`os.replace`), so a reader never sees half a file and a failure leaves the old one.
Moving over a target that is not a regular file would destroy it: ``--out /dev/null`` would
replace the null device with an ordinary file. :func:`replace_into` moves over regular files
(or a missing target) and copies into anything else (a device, a named pipe), leaving it in place.

A temporary file is made readable by its owner only (``mkstemp``); the moved file gets the
mode any other program's new file would get (``0o666`` less the user's umask, typically
``-rw-r--r--``), or keeps the mode of the file it replaces, so the team can read the outputs.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from scoping.errors import ConfigError, UsageError

T = TypeVar("T")

__all__ = ["parse_toml", "read_toml", "replace_into", "write_whole"]

_AGAIN = "run the command again"
_WHERE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


def read_toml(path: str | os.PathLike[str], *, what: str, create: str = "") -> dict[str, Any]:
    """The tables of the TOML file at ``path``.

    ``what`` names the file for a reader ("the protocol"); ``create`` says how to make it
    when it is missing ("run 'scoping init' or write it ..."). Raises :class:`ConfigError`
    with a one-line message when the file is missing, unreadable, not UTF-8 or not TOML.
    """
    where = Path(path)
    try:
        raw = where.read_bytes()
    except FileNotFoundError:
        hint = create or f"create {what} there and {_AGAIN}"
        raise ConfigError(f"{where} does not exist; {hint}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{where}: cannot read {what} ({reason}); make it readable and {_AGAIN}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: {what} is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8 and {_AGAIN}"
        ) from None
    return parse_toml(text, what=what, source=str(where))


def parse_toml(text: str, *, what: str, source: str) -> dict[str, Any]:
    """The tables of TOML ``text`` read from ``source`` (a file name, for the message).

    Raises :class:`ConfigError` naming ``what``, ``source``, the line and the column when the
    text is not valid TOML.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = str(exc)
        found = _WHERE.search(problem)
        if found is not None and found.group(1):
            line, column = int(found.group(1)), int(found.group(2))
        else:  # "at end of document": the position after the last character
            lines = text.split("\n")
            line, column = len(lines), len(lines[-1]) + 1
        problem = _WHERE.sub("", problem)
        raise ConfigError(
            f"{source}: {what} is not valid TOML at line {line}, column {column} ({problem}); "
            f"fix it and {_AGAIN}"
        ) from None


def replace_into(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Put the finished temporary file ``tmp`` at ``target`` (``tmp`` is gone afterwards)."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is None or stat.S_ISREG(mode):
        os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
        return
    if stat.S_ISDIR(mode):
        Path(tmp).unlink(missing_ok=True)
        raise IsADirectoryError(f"{target} is a folder")
    try:
        with open(tmp, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_whole(target: Path, write: Callable[[TextIO], T]) -> T:
    """Run ``write`` on a temporary text file beside ``target`` (UTF-8, newlines as written),
    then move it into place: the file is written whole or not at all. Returns what ``write``
    returns."""
    if not target.parent.exists():
        raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            result = write(stream)
        replace_into(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return result


def _umask() -> int:
    """The process's umask (Python 3.11 can only read it by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
