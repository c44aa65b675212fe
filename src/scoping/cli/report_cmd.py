"""``scoping report``: the review report, one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable

import click
from rich.console import Console

from scoping.review import Review

from .main import cli, review_options

out = Console(highlight=False, soft_wrap=True, markup=False)


@cli.command("report")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the page to FILE instead of outputs/report.html.")
@review_options
def report_cmd(out_path: str | None, review: Callable[[], Review]) -> None:
    """Write the review report: one self-contained HTML page for screen and print.

    Sections: the search log (PRISMA-S: database, platform, exact query, limits, date, hits,
    records retrieved; imported exports count as their database), the PRISMA 2020 flow
    diagram (the same counts as 'scoping prisma'), de-duplication overlap by source, screening
    progress by stage and agreement between reviewers, the topics and evidence map, and the
    table of included sources. A section whose stage has not run yet says so.

    The page loads nothing from the network (styles and pictures are inside it), so it can be
    mailed, archived or opened offline; print it from the browser for a PDF.

    \b
    Examples:
      scoping report                          # outputs/report.html
      scoping report --out ~/review-report.html
    """
    from scoping.reporting import build_report

    path = build_report(review(), out_path)
    out.print(f"Wrote {path}")
