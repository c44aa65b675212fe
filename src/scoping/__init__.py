"""scoping: scoping reviews and evidence maps in one auditable workflow.

The library never prints and never imports click; the ``scoping`` command (``scoping.cli``) is
a thin layer over it.
"""

from __future__ import annotations

from scoping.errors import ScopingError
from scoping.records import Record, make_record

__all__ = ["Record", "ScopingError", "__version__", "make_record"]

__version__ = "0.1.0"
