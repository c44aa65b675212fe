"""Commands of the search stage (filled in by the search issue)."""

from __future__ import annotations
