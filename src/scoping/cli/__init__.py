"""The command-line interface: the only package that imports click, rich or textual."""

from __future__ import annotations

from scoping.cli import (  # noqa: F401  (each module registers its commands)
    dedupe_cmd,
    demo_cmd,
    prisma_cmd,
    records_cmd,
    report_cmd,
    screen_cmd,
    search_cmd,
    simulate_cmd,
    team_cmd,
    topics_cmd,
)
from scoping.cli.main import cli, main

__all__ = ["cli", "main"]
