"""Whether this process can start ``spawn`` children (the parsers and the model's features)."""

from __future__ import annotations

import os
import sys

__all__ = ["can_spawn"]


def can_spawn() -> bool:
    """A spawned child re-imports ``__main__`` from its file; a script read from standard input
    (``python -``) has none, so such callers do the work in-process instead."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)
