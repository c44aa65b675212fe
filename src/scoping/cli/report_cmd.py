"""``scoping report``: the review report, one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable

import click

from scoping import app

from .console import console
from .main import cli, review_options, team_identity

out = console()

REVIEWER_ENV = "SCOPING_REVIEWER"


@cli.command("report")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write the page to FILE instead of outputs/report.html.",
)
@click.option(
    "--reviewer",
    envvar=REVIEWER_ENV,
    default=None,
    metavar="LEAD",
    help="Who you are, as named in screening/protocol.toml: a lead sees each reviewer's "
    "progress and the agreement while screening is under way "
    "[env SCOPING_REVIEWER].",
)
@click.option("--no-topics", is_flag=True, help="Draw the page's PRISMA diagram without the topic box.")
@review_options
def report_cmd(
    out_path: str | None, reviewer: str | None, no_topics: bool, review: Callable[[], app.Review]
) -> None:
    """Write the review report: one self-contained HTML page for screen and print.

    Sections: the search log (PRISMA-S: database, platform, exact query, limits, date, hits,
    records retrieved; imported exports count as their database), the PRISMA 2020 flow
    diagram (the same counts as 'scoping prisma'), de-duplication overlap by source, screening
    progress by stage and agreement between reviewers, the topics and evidence map (topics by
    year and by document type, the topic co-occurrence network, each topic's five most
    representative works), and the table of included sources. A section whose stage has not
    run yet says so. Decisions made by simulated reviewers (scoping demo) are counted and
    flagged at the top of the page.

    Reviewers are blinded: while screening is under way, each reviewer's progress and the
    agreement between reviewers are on the page only when a lead of the protocol asks for it
    with --reviewer; for anyone else the page says they are left out (the PRISMA counts are
    always there). A reviewer's name is refused. Once every work has a final outcome at every
    stage, the page shows them to anyone.

    The page loads nothing from the network (styles and pictures are inside it), so it can be
    mailed, archived or opened offline; print it from the browser for a PDF.

    \b
    Examples:
      scoping report                          # outputs/report.html
      scoping report --out ~/review-report.html
      scoping report --reviewer lena          # a lead, while screening is under way
      scoping report --no-topics              # the PRISMA diagram without the topic box
    """
    target = review()
    path = target.report(out_path, reviewer=team_identity(target, reviewer), topics=not no_topics)
    out.print(f"Wrote {path}")


@cli.command("checklist")
@click.option(
    "--reviewer",
    default=None,
    metavar="LEAD",
    help="A lead: while screening is under way only a lead may write the checklist.",
)
@review_options
def checklist_cmd(reviewer: str | None, review: Callable[[], app.Review]) -> None:
    """Fill the PRISMA-ScR checklist and the automation statement from the review's data.

    Writes outputs/prisma-scr-checklist.html and outputs/prisma-scr-checklist.md. For each of
    the 22 items of PRISMA-ScR (20 essential, 2 optional): what it asks, what the review's data
    says (protocol, search log, screening, PRISMA counts, included sources, topics) and where
    the report shows it. Items only the authors can answer (rationale, objectives,
    discussion, funding...) are marked "To be completed by the authors".

    The automation statement (after RAISE) is read from the audit trail: de-duplication (links
    made automatically, pairs decided by people), screening prioritisation (its model and
    settings, and which decisions were made in the model-ordered queue), the stopping rule (its
    events, the works it excluded and the recall bound) and the topic model (settings, edits).
    The report page links to the checklist once it is written. While screening is under way
    it has screening's counts, so only a lead writes it then (--reviewer LEAD).

    \b
    Example:
      scoping checklist && scoping report
      scoping checklist --reviewer lena       # a lead, while screening is under way
    """
    target = review()
    for path in target.checklist(reviewer=team_identity(target, reviewer)):
        out.print(f"Wrote {path}")
