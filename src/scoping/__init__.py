"""scoping: scoping reviews and evidence maps in one auditable workflow.

The library never prints and never imports click; the ``scoping`` command (``scoping.cli``) is
a thin layer over it. The front door is :func:`open_review`, which returns a :class:`Review`
with one method per command (:mod:`scoping.app`)::

    import scoping

    review = scoping.open_review("peer-review")
    review.records()        # a pandas DataFrame, one row per stored record

:mod:`scoping.app` is imported when one of its names is first used, so ``import scoping``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scoping.errors import ScopingError
from scoping.records import Record, make_record

if TYPE_CHECKING:
    from scoping.app import Review, init_review, open_review

__all__ = ["Record", "Review", "ScopingError", "__version__", "init_review", "make_record", "open_review"]

__version__ = "0.1.0"

_APP = frozenset({"Review", "init_review", "open_review"})


def __getattr__(name: str) -> Any:
    if name in _APP:
        from scoping import app

        return getattr(app, name)
    raise AttributeError(f"module 'scoping' has no attribute {name!r}")
