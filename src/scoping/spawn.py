"""Whether this process can start ``spawn`` children (the parsers and the model's features),
and what every such child does first (:func:`child_start`): die with the command, and let go
of its output."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import threading
from collections.abc import Mapping

from scoping.errors import ConfigError

__all__ = ["can_spawn", "child_start", "parse_workers"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_GUARD = re.compile(r"""^\s*if\s+__name__\s*==\s*(["'])__main__\1\s*:""", re.M)


def can_spawn() -> bool:
    """Whether a ``spawn`` child can start here without running the caller's program again.

    A spawned child imports ``__main__`` again from its file. That is harmless for ``python -m
    scoping``, for ``python -c`` and for a script whose work sits under ``if __name__ ==
    "__main__":`` (the ``scoping`` command, pytest); a script without that guard would run again
    in the child (and the child would fail), and a script read from standard input (``python
    -``) has no file: such callers do the work in their own process instead.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name.endswith("__main__"):  # python -m package
        return True
    return _guarded(os.path.abspath(path))


def parse_workers(environ: Mapping[str, str] | None = None) -> int:
    """Processes that parse large inputs (imports, PubMed pages): ``SCOPING_PARSE_WORKERS``,
    else one per core up to 4."""
    value = (os.environ if environ is None else environ).get("SCOPING_PARSE_WORKERS")
    if not value:
        return min(4, os.cpu_count() or 1)
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"SCOPING_PARSE_WORKERS must be a whole number, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"SCOPING_PARSE_WORKERS must be at least 0, not {number}")
    return number


@functools.lru_cache(maxsize=8)
def _guarded(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return _GUARD.search(stream.read(1 << 20)) is not None
    except OSError:
        return False


def child_start(parent: int) -> None:
    """Run first in every child process a command starts (``parent`` is the command's process id).

    The child dies with the command however the command ends, ``kill -9`` included: on Linux
    the kernel sends it SIGKILL when the thread that started it ends (``PR_SET_PDEATHSIG``;
    the children are started by the thread that reads their results, which outlives them);
    everywhere, a thread watches multiprocessing's pipe from the parent, which the system
    closes when the parent ends, and ends the child then. It also lets go of the command's
    standard output and error (pointed at the null device), so that a script capturing the
    command's output sees it end with the command. The children report through their queues
    and results, never by printing.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    if os.getppid() != parent:  # the command ended before the line above
        os._exit(1)
    watched = multiprocessing.parent_process()
    sentinel = getattr(watched, "sentinel", None)
    if sentinel is not None:
        threading.Thread(target=_end_with, args=(sentinel,), name="scoping-parent-watch", daemon=True).start()
    _release_output()


def _end_with(sentinel: int) -> None:
    """Wait for the parent's pipe to close (the parent ended), then end this process."""
    with contextlib.suppress(OSError):  # a pipe already gone: so is the parent
        multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _release_output() -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover - no null device
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        for fd in (1, 2):
            os.dup2(null, fd)
    except OSError:  # pragma: no cover - no such descriptors
        pass
    finally:
        os.close(null)
