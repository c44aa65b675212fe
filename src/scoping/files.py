"""Writing output files safely: whole or not at all, and never over a device.

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
import shutil
import stat
from pathlib import Path

__all__ = ["replace_into"]


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


def _umask() -> int:
    """The process's umask (Python 3.11 can only read it by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
