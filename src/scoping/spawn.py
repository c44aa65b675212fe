"""Child processes: when the library starts them, how many, and what each does first.

**One switch: ``workers``.** The library starts processes only when its caller asks, with a
``workers`` argument of 1 or more (``Review.import_files``/``import_exports``,
``Review.search_run``, ``Review.screening``, and below them ``scoping.ingest.iter_records``,
``SearchConfig.parse_workers``, ``ModelRank``); the default, 0, does everything in the calling
process (and its threads). Nothing else decides: whether processes would be safe is not
guessed from the caller's program.

The ``scoping`` command asks: its entry point is guarded, and it passes
:func:`parse_workers` (``SCOPING_PARSE_WORKERS``, else one per core up to 4). A script or
notebook that passes ``workers`` must keep its work under ``if __name__ == "__main__":``:
children are started with ``spawn``, which imports the caller's ``__main__`` again, and an
unguarded script would run again in each child. (In Jupyter what a child imports again is the
kernel's own guarded entry module, not the notebook's cells.)

Every child runs :func:`child_start` first: it dies with the command, and lets go of its output.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Mapping

from scoping.errors import ConfigError

__all__ = ["child_start", "parse_workers"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def parse_workers(environ: Mapping[str, str] | None = None) -> int:
    """How many processes the ``scoping`` command lets parse large inputs (imports, PubMed
    pages) and build the ranking model's features: ``SCOPING_PARSE_WORKERS``, else one per
    core up to 4; 0 keeps everything in the command's process."""
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
