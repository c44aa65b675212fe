"""``scoping demo``: the whole workflow on bundled real data, offline."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from .console import console

if TYPE_CHECKING:
    from scoping.demo import DemoResult
from .main import cli

out = console()


@cli.command("demo")
@click.argument("directory", type=click.Path(file_okay=False), default="demo-review")
@click.option(
    "--replace",
    is_flag=True,
    help="Delete an earlier demo review in DIRECTORY first (never any other folder).",
)
def demo_cmd(directory: str, replace: bool) -> None:
    """Build a demo review in DIRECTORY (default: demo-review) from bundled real data.

    Runs offline. The data is one real labelled review (SYNERGY van_der_Valk_2021, CC0: hair
    glucocorticoids and obesity), as three overlapping exports: MEDLINE text, Ovid RIS
    (PsycINFO) and a Scopus CSV. The demo creates the review folder, imports the exports and
    runs every stage that exists on them.

    \b
    Example:
      scoping demo /tmp/demo && cd /tmp/demo && scoping records
    """
    from scoping.demo import build_demo  # the whole pipeline: imported when the demo runs

    result = build_demo(directory, replace=replace, step=lambda msg: out.print(f"- {msg}"))
    _print_pipeline(result)
    root = result.review.root
    if result.prisma is not None:
        for _kind, path in result.prisma.files:
            out.print(f"Wrote {path.relative_to(root)}")
    for path in (*result.exports, *result.checklist):
        out.print(f"Wrote {path.relative_to(root)}")
    if result.report is not None:
        out.print(f"Wrote {result.report.relative_to(root)}")
    out.print(f"The demo review is in {root}")
    out.print(f"  look at: {result.review.outputs_dir / 'report.html'}")
    out.print(f"           {result.review.outputs_dir / 'prisma.png'}")
    out.print(f"           {result.review.outputs_dir / 'prisma-scr-checklist.html'}")
    command = f"{_command_name()} --review {shlex.quote(str(root))}"
    out.print(f"  try:     {command} status --reviewer lead")
    out.print(f"           {command} agreement --reviewer lead")


def _print_pipeline(result: DemoResult) -> None:
    """What each step of the demo made: records by database, works, screening, topics."""
    table = Table(title="Records by database", title_justify="left")
    table.add_column("database")
    table.add_column("records", justify="right")
    for name, n in result.by_source:
        table.add_row(name, f"{n:,}")
    table.add_row("total", f"{result.total_records:,}", style="bold")
    out.print(table)
    out.print(
        f"De-duplicated into {result.works:,} works "
        f"({result.total_records - result.works:,} duplicate records linked, none deleted)"
    )
    if result.screening is not None:
        for stage, made in result.screening.decisions.items():
            out.print(
                f"Screened {stage}: {made:,} simulated decisions, "
                f"{result.screening.conflicts.get(stage, 0):,} conflicts settled by the lead"
            )
    if result.topics:
        out.print(
            f"Topics over the included works ({len(result.topics)}, provisional labels; "
            "works may belong to several):"
        )
        for ref, label, n in result.topics:
            out.print(f"  {ref:>4}  {n:>4}  {label}")


def _command_name() -> str:
    """How to call this very program from a new shell: ``scoping`` when that is what the
    shell finds, else the full path of the script that is running (a virtual environment that
    is not activated)."""
    running = Path(sys.argv[0])
    if running.name != "scoping" or not running.exists():
        return "scoping"
    found = shutil.which("scoping")
    if found and os.path.realpath(found) == os.path.realpath(running):
        return "scoping"
    return shlex.quote(str(running.resolve().parent / running.name))
