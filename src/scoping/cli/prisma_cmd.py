"""``scoping prisma``: the PRISMA 2020 flow diagram and its counts, from the store."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from scoping import app
from scoping.errors import UsageError
from scoping.report.api import BLINDED_NOTE, OUTPUT_FORMATS, PrismaResult, render_prisma, screening_blinded
from scoping.report.prisma import MANUAL_FILE, PrismaCounts, unkinded_other_sources

from .console import console
from .main import cli, review_options, team_identity

out = console()
err = console(stderr=True)


def _summary(counts: PrismaCounts) -> list[str]:
    ident, inc = counts.identification, counts.included

    def n(value: int | None) -> str:
        return "not known" if value is None else f"{value:,}"

    lines = [
        f"Records identified: {n(ident.records_identified.n)}"
        + (
            f" (+ {n(counts.other_methods.records_identified.n)} from other methods)"
            if counts.other_methods is not None
            else ""
        ),
        f"Records screened: {n(counts.screening.records_screened.n)}",
        f"Studies included: {n(inc.studies.n)} (reports: {n(inc.reports.n)})",
    ]
    if inc.topics:
        lines.append("Topics: " + ", ".join(f"{t.name} {t.n:,}" for t in inc.topics))
    return lines


@cli.command("prisma")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="Write only this format (default: all of svg, png, pdf, json and csv).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    metavar="FILE",
    help="Write to FILE instead of outputs/prisma.<format> ('-': json or csv to the "
    "terminal). The format comes from --format or FILE's suffix.",
)
@click.option(
    "--dpi",
    type=click.IntRange(50, 1200),
    default=300,
    show_default=True,
    help="Resolution of the PNG (300 or more for print).",
)
@click.option(
    "--screening-reasons",
    is_flag=True,
    help="List the reasons of records excluded at title-abstract in the diagram too "
    "(the template shows only their number; the JSON always has them).",
)
@click.option(
    "--no-topics",
    is_flag=True,
    help="Leave out the box of included sources by topic (diagram, JSON and CSV).",
)
@click.option(
    "--reviewer",
    default=None,
    metavar="LEAD",
    help="A lead of screening/protocol.toml: while screening is under way, only a lead gets "
    "screening's counts (screened, excluded, conflicts, included); anyone else gets the "
    "counts up to de-duplication.",
)
@review_options
def prisma_cmd(
    fmt: str | None,
    out_path: str | None,
    dpi: int,
    screening_reasons: bool,
    no_topics: bool,
    reviewer: str | None,
    review: Callable[[], app.Review],
) -> None:
    """Make the PRISMA 2020 flow diagram and its counts from the store.

    Every number is derived from the store: records identified per database (and per other
    method), duplicates removed, records removed by the stopping rule, records screened and
    excluded, reports sought, not retrieved, assessed and excluded with reasons, studies
    included, and the included sources per topic. Boxes that must add up are checked; a count
    that is not final (e.g. works not yet screened) is shown as "so far" with the reason, and
    one that is not known says so, instead of a wrong number. While screening is under way,
    its counts would tell a reviewer how the others decided: they are left out (and a note
    says so) unless a lead asks with --reviewer.

    Counts the store cannot know (records from a method used outside scoping, screening done
    elsewhere, the studies of a previous version of an updated review) go in
    screening/prisma-manual.toml, which has the shape of prisma.json; they are marked
    "source": "manual" in the JSON and with a dagger in the diagram. Its [sources] table says
    which imported sources are registers or other methods, and gives other methods PRISMA
    2020's kinds (websites, organisations, citation_searching); a [previous] table (studies,
    reports) draws the template for updated reviews, with the totals.

    prisma.csv is in the layout of the PRISMA2020 R package's CSV template, for
    PRISMA_flowdiagram() in R or the PRISMA2020 Shiny app.

    \b
    Examples:
      scoping prisma                      # outputs/prisma.svg, .png, .pdf, .json and .csv
      scoping prisma --format png --dpi 600
      scoping prisma --format pdf --out report/figure-1.pdf
      scoping prisma --format json --out -
      scoping prisma --no-topics          # the flow alone, without the topic box
      scoping prisma --reviewer lena      # a lead, while screening is under way
    """
    target = review()
    reviewer = team_identity(target, reviewer)
    if out_path == "-":
        _to_stdout(target, fmt, topics=not no_topics, reviewer=reviewer)
        return
    if out_path is not None:
        _check_out(out_path, fmt)
    result = target.prisma(
        fmt=fmt,
        out=out_path,
        dpi=dpi,
        screening_reasons=screening_reasons,
        topics=not no_topics,
        reviewer=reviewer,
    )
    _print_result(result, fmt, dpi)


def _to_stdout(target: app.Review, fmt: str | None, *, topics: bool, reviewer: str | None) -> None:
    """--out -: the counts as JSON or CSV on standard output."""
    kind = fmt or ""
    if kind not in ("json", "csv"):
        raise UsageError("--out - writes text; use it with --format json or --format csv")
    blinded = screening_blinded(target, reviewer)
    data = render_prisma(target.prisma_counts(topics=topics, reviewer=reviewer), kind)
    sys.stdout.write(data.decode("utf-8"))
    if blinded:
        err.print(f"Note: {BLINDED_NOTE}")


def _check_out(out_path: str, fmt: str | None) -> None:
    """--out agrees with --format, and its folder exists (made if need be)."""
    suffix = Path(out_path).suffix.lstrip(".").lower()
    if fmt is not None and suffix in OUTPUT_FORMATS and suffix != fmt:
        raise UsageError(
            f"--out {out_path} ends in .{suffix} but --format is {fmt}; make "
            f"them agree (e.g. --out {Path(out_path).with_suffix('.' + fmt)})"
        )
    folder = Path(out_path).parent
    if not folder.exists():  # e.g. --out report/figure-1.pdf in a fresh review folder
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"cannot make the folder {folder} for --out: {exc.strerror}") from None


def _print_result(result: PrismaResult, fmt: str | None, dpi: int) -> None:
    """The counts, their notes, what was entered by hand, and the files written."""
    if result.blinded:
        err.print(f"Note: {BLINDED_NOTE}")
    for line in _summary(result.counts):
        out.print(line)
    for note in result.counts.notes:
        err.print(f"Note: {note}")
    unkinded = unkinded_other_sources(result.counts)
    if unkinded and (fmt is None or fmt == "csv"):
        err.print(
            f"Note: prisma.csv (the PRISMA2020 template) has no place for {', '.join(map(repr, unkinded))}; "
            f"list them under websites, organisations or citation_searching in [sources] of {MANUAL_FILE}"
        )
    manual = result.counts.manual_keys()
    if manual:
        out.print(f"Hand-entered ({MANUAL_FILE}): {', '.join(manual)}")
    for kind, path in result.files:
        shown = _shown(path)
        extra = f" ({dpi} dpi)" if kind == "png" else ""
        out.print(f"Wrote {shown}{extra}")


def _shown(path: Path) -> str:
    """The path relative to the current folder when it is inside it, else in full."""
    full = path.resolve()
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(full)
