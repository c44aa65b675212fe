"""Tables and queries of the dedupe stage (filled in by the dedupe issue)."""

from __future__ import annotations
