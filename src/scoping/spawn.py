"""Whether this process can start ``spawn`` children (the parsers and the model's features)."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Mapping

from scoping.errors import ConfigError

__all__ = ["can_spawn", "parse_workers"]

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
