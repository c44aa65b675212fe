"""Writing output files safely: whole or not at all, and never over a device.

Outputs are written to a temporary file beside the target and then moved over it
(:func:`os.replace`), so a reader never sees half a file and a failure leaves the old one.
Moving over a target that is not a regular file would destroy it: ``--out /dev/null`` would
replace the null device with an ordinary file. :func:`replace_into` moves over regular files
(or a missing target) and copies into anything else (a device, a named pipe), leaving it in place.
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
