"""Commands of the foundation: init, import, records, export."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import Progress, TaskID
from rich.table import Table

from scoping import app
from scoping.app import Imported, Review
from scoping.errors import UsageError
from scoping.ingest import EXPORT_FORMATS, FORMATS
from scoping.ingest.sniff import FORMAT_LABELS
from scoping.review import init_review
from scoping.screen import STAGES
from scoping.spawn import parse_workers
from scoping.store import Store, redact_url

from .console import console
from .console import progress as progress_bar
from .main import cli, review_options, team_identity

if TYPE_CHECKING:
    pass

out = console()


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--db",
    default=None,
    metavar="URL",
    help="Use this database instead of screening/review.db (a PostgreSQL URL for teams).",
)
def init_cmd(directory: str, db: str | None) -> None:
    """Create a review folder in DIRECTORY.

    Makes searches/ (strategy.toml, exports/, runs/), screening/ (protocol.toml and the
    store), and outputs/. Both .toml files are commented templates to fill in. An existing
    review is never overwritten.

    \b
    Example:
      scoping init peer-support-review
    """
    review = init_review(directory, db=db)
    out.print(f"Created the review folder {review.root}")
    out.print(f"  edit   {review.strategy_path.relative_to(review.root)}  (term sets, limits, databases)")
    out.print(f"  edit   {review.protocol_path.relative_to(review.root)}  (reviewers, criteria, reasons)")
    if db:
        out.print(f"  store  {redact_url(review.database)}")
        out.print("         (pass --db or set SCOPING_DB to this URL for every later command)")
    else:
        out.print(f"  store  {review.database}")
    out.print(
        f"Next: export records from each database and run 'scoping import FILE --source NAME' in {directory}"
    )


def _progress() -> Progress:
    return progress_bar("{task.completed:,} records")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--source",
    required=True,
    metavar="NAME",
    help='The database the files were exported from, e.g. "PsycINFO" or "MEDLINE".',
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="The file format (default: detected from the content).",
)
@click.option(
    "--encoding",
    default=None,
    metavar="NAME",
    help="Text encoding, for files not in UTF-8/UTF-16 with BOM (e.g. cp1252, latin-1).",
)
@click.option("--again", is_flag=True, help="Import a file even if the same content was imported before.")
@click.option(
    "--skip-incomplete",
    is_flag=True,
    help="Import the complete records of a file cut short (a truncated export); the import's "
    "note (scoping search log) says what was skipped.",
)
@click.option(
    "--query", default=None, metavar="TEXT", help="The query as it was run, pasted (for the search log)."
)
@click.option(
    "--query-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A text file with the query as run, or the platform's search history with its counts "
    "(Ovid's Search Strategy export, EBSCOhost's search history): each line's count is logged, "
    "and the last line's count is the hits unless --hits is given.",
)
@click.option("--date-searched", default=None, metavar="YYYY-MM-DD", help="The day the search was run.")
@click.option("--hits", type=int, default=None, metavar="N", help="The number of hits the database reported.")
@click.option(
    "--platform", default=None, metavar="NAME", help='Where it was searched, e.g. "Ovid", "EBSCOhost".'
)
@review_options
def import_cmd(
    files: tuple[str, ...],
    source: str,
    fmt: str | None,
    encoding: str | None,
    again: bool,
    skip_incomplete: bool,
    query: str | None,
    query_file: str | None,
    date_searched: str | None,
    hits: int | None,
    platform: str | None,
    review: Callable[[], Review],
) -> None:
    """Import exported records from FILES, tagged with the database they came from.

    Formats are detected from the content: RIS (all common dialects), PubMed/MEDLINE text
    (.nbib), PubMed XML, Web of Science plain text and tab-delimited, BibTeX, CSV/TSV and
    EndNote XML. The original text of every record is kept. The format and encoding of
    every file are checked before any is stored (a single large RIS or PubMed XML file has
    its encoding checked while it is read); then the files are imported in one transaction:
    all of them, or none when any fails.

    The search behind the files is frozen with them for the search log (PRISMA-S): the query
    as run (--query, or --query-file with the query or the platform's search history, read
    line by line with each line's count), the day it was run (--date-searched), the hits the
    database reported (--hits, else the history's last count; a warning follows when the
    files hold fewer records) and the platform (--platform). Without
    --query, a database of searches/strategy.toml is logged with the query 'scoping search
    plan' gives for it now, marked as the plan's.

    \b
    Examples:
      scoping import searches/exports/psycinfo-2026-11-01.ris --source PsycINFO
      scoping import psycinfo.ris --source PsycINFO --platform Ovid --date-searched 2026-11-01 \\
          --hits 1234 --query-file searches/exports/psycinfo-history.txt
      scoping import savedrecs*.txt --source "Web of Science"
      scoping import legacy.csv --source CINAHL --encoding cp1252
      scoping import cut-short.ris --source PsycINFO --skip-incomplete
    """
    from scoping.search import ExportInfo

    if not source.strip():
        raise UsageError("--source is empty; name the database the files were exported from")
    query = _query(query, query_file)
    search = ExportInfo(query=query, platform=platform, date_searched=date_searched, hit_count=hits)
    with _import_bar() as tell:
        imported = review().import_exports(
            files,
            source=source,
            fmt=fmt,
            encoding=encoding,
            again=again,
            skip_incomplete=skip_incomplete,
            search=search,
            progress=tell,
            workers=parse_workers(),
        )
    _print_imported(imported, source.strip(), skip_incomplete)


def _print_imported(imported: Imported, source: str, skip_incomplete: bool) -> None:
    """A line for each file imported (and its note on skipped records), then the warnings."""
    for result in imported.files:
        n = result.row.n_records
        out.print(
            f"Imported {n:,} record{'' if n == 1 else 's'} from {result.info.path.name} "
            f"({FORMAT_LABELS[result.info.format]}, {result.info.encoding}) as {source!r} "
            f"[import {result.row.id}]"
        )
        if skip_incomplete and result.row.note:
            out.print(f"  {result.row.note}")
    for warning in imported.warnings:
        click.echo(f"Warning: {warning}", err=True)


def _query(query: str | None, query_file: str | None) -> str | None:
    """The search's query: --query, or the text of --query-file."""
    if query is not None and query_file is not None:
        raise UsageError("--query and --query-file exclude each other; give one")
    if query_file is None:
        return query
    try:
        return Path(query_file).read_text(encoding="utf-8-sig").strip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --query-file {query_file}: {exc}") from None


@contextmanager
def _import_bar() -> Iterator[Callable[[str, int], None]]:
    """A progress bar for an import, and the function that moves it: one bar a file."""
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def advance(name: str, n: int) -> None:
            if name not in tasks:
                for done in tasks.values():
                    progress.remove_task(done)
                tasks.clear()
                tasks[name] = progress.add_task(f"Importing {name}", total=None)
            progress.update(tasks[name], completed=n)

        yield advance


@cli.command("records")
@click.option("--count", "count_only", is_flag=True, help="Print only the number of stored records.")
@click.option("--source", default=None, metavar="NAME", help="Only records from this database.")
@click.option("--imports", "show_imports", is_flag=True, help="List every imported file.")
@click.option(
    "--list",
    "list_n",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Show the first N records (id, source, year, first author, title).",
)
@review_options
def records_cmd(
    count_only: bool, source: str | None, show_imports: bool, list_n: int | None, review: Callable[[], Review]
) -> None:
    """Count and list the stored records, by database and by import.

    \b
    Examples:
      scoping records                   # counts by database
      scoping records --count           # just the number
      scoping records --imports         # every imported file, with its hash and date
      scoping records --source PsycINFO --list 20
    """
    with review().open_store() as store:
        if count_only:
            out.print(str(store.count_records(source=source)))
            return
        if list_n is not None:
            _list_records(store, source, list_n)
            return
        if show_imports:
            _list_imports(store)
            return
        table = Table(title="Records by database", title_justify="left")
        table.add_column("database")
        table.add_column("records", justify="right")
        table.add_column("imports", justify="right")
        imports = store.list_imports()
        total = 0
        for name, n in store.count_by_source():
            if source is not None and name != source:
                continue
            total += n
            table.add_row(name, f"{n:,}", str(sum(1 for i in imports if i.source == name)))
        table.add_row("total", f"{total:,}", "", style="bold")
        out.print(table)


def _list_imports(store: Store) -> None:
    table = Table(title="Imported files", title_justify="left")
    for column in ("id", "database", "file", "format", "records", "imported (UTC)", "sha256"):
        table.add_column(column, justify="right" if column in ("id", "records") else "left")
    for row in store.list_imports():
        table.add_row(
            str(row.id),
            row.source,
            row.file_name,
            row.format,
            f"{row.n_records:,}",
            row.imported_at[:19].replace("T", " "),
            row.sha256[:12],
        )
    out.print(table)


def _list_records(store: Store, source: str | None, limit: int) -> None:
    table = Table(show_lines=False)
    for column in ("id", "database", "year", "first author", "title"):
        table.add_column(
            column,
            overflow="fold" if column == "title" else "ellipsis",
            justify="right" if column == "id" else "left",
        )
    for shown, stored in enumerate(store.iter_records(source=source, batch=max(limit, 1))):
        if shown >= limit:
            break
        rec = stored.record
        table.add_row(
            str(stored.id),
            stored.source,
            str(rec.year or ""),
            rec.authors[0] if rec.authors else "",
            rec.title or "(no title)",
        )
    out.print(table)


@cli.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*sorted(EXPORT_FORMATS), app.ASREVIEW]),
    required=True,
    help="Output format (asreview: ASReview's labelled CSV of the screened works).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="The file to write (written whole or not at all).",
)
@click.option("--source", default=None, metavar="NAME", help="Only records from this database.")
@click.option(
    "--included",
    is_flag=True,
    help="One record per included work (its merged view), with its work id and final decision.",
)
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default=None,
    help="With --included or asreview: the screening stage [default: the last with final decisions].",
)
@click.option(
    "--reviewer",
    default=None,
    metavar="LEAD",
    help="A lead: while screening is under way only a lead gets --included and asreview.",
)
@review_options
def export_cmd(
    fmt: str,
    out_path: str,
    source: str | None,
    included: bool,
    stage: str | None,
    reviewer: str | None,
    review: Callable[[], app.Review],
) -> None:
    """Write the stored records, or the included works, to a RIS, CSV or BibTeX file.

    Without --included: every stored record as imported (optionally of one database).

    With --included: one record per work included at the stage (by default the last stage
    with final decisions), the fullest value of each field among the work's records, with
    its work id, stage, decision, reason and the lead who resolved it: CSV columns, BibTeX
    fields, RIS notes (N1). For a reference manager (full texts) or an appendix.

    --format asreview writes ASReview's labelled CSV: every screened work with
    label_included (1 included, 0 excluded at this or an earlier stage, empty while not
    final), which 'scoping simulate FILE --label-column label_included' reads.

    The file is written to a temporary name and moved into place at the end, so an
    interrupted export never leaves half a file. While screening is under way, --included
    and asreview are for a lead only (--reviewer LEAD): they tell how the reviewers decided.

    \b
    Examples:
      scoping export --format ris --out outputs/all-records.ris
      scoping export --format csv --out psycinfo.csv --source PsycINFO
      scoping export --included --format ris --out outputs/included.ris
      scoping export --included --stage title-abstract --format csv --out ta-included.csv
      scoping export --format asreview --out outputs/labelled.csv
    """
    target = Path(out_path)
    found = review()
    who = team_identity(found, reviewer) if included or fmt == app.ASREVIEW else reviewer
    n = found.export(target, fmt, source=source, included=included, stage=stage, reviewer=who)
    noun = "work" if included or fmt == app.ASREVIEW else "record"
    out.print(f"Wrote {n:,} {noun}{'' if n == 1 else 's'} to {target}")
