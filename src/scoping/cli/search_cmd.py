"""Commands of the search stage: search plan, run, log, counts, check, appendix, import-query."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import Progress
from rich.table import Table

from scoping.app import Review
from scoping.errors import UsageError
from scoping.spawn import parse_workers

from .console import console
from .console import progress as progress_bar
from .main import cli, review_options

if TYPE_CHECKING:
    from scoping.search import (
        Database,
        LogEntry,
        ProgressEvent,
        Query,
        RunResult,
        Strategy,
        TermCount,
        UpdateArms,
    )
    from scoping.search.check import SeedResult

out = console()
err = console(stderr=True)

_DATABASE_HELP = (
    "A database of the strategy (e.g. MEDLINE, PsycINFO) or a platform: pubmed, "
    "europepmc, openalex, crossref, ovid, wos, ebsco, scopus."
)


@cli.group("search")
def search_group() -> None:
    """Search strategies: translate them for each database, run them, log them (PRISMA-S).

    The strategy is searches/strategy.toml: concept blocks of terms (combined with AND),
    limits (years, languages, document types) and the databases with their platforms.
    Databases with an open API (PubMed, Europe PMC, OpenAlex, Crossref) are searched by
    'scoping search run'; for the others 'scoping search plan' gives copy-paste syntax and
    their exports are imported with 'scoping import FILE --source NAME'.

    \b
    Example:
      scoping search plan                      # every database's query
      scoping search run --database MEDLINE    # search PubMed, store the records
      scoping search log                       # what was searched where, for PRISMA-S
    """


def _note_line(note: str) -> str:
    return f"Warning: {note.removeprefix('WARNING: ')}" if note.startswith("WARNING: ") else f"Note: {note}"


@search_group.command("plan")
@click.option("--database", "-d", metavar="NAME", default=None, help=_DATABASE_HELP)
@click.option("--all", "every", is_flag=True, help="Also the platforms the strategy does not list.")
@review_options
def plan_cmd(database: str | None, every: bool, review: Callable[[], Review]) -> None:
    """Print the exact query for every database of the strategy (or only for --database NAME).

    PubMed gets E-utilities syntax with field tags, truncation and limits (a database called
    MEDLINE is PubMed's MEDLINE subset, medline[sb]); Europe PMC its REST query; OpenAlex a
    title_and_abstract.search filter with limit filters; Crossref a ranked bibliographic
    query. Ovid, Web of Science (TS=), EBSCOhost and Scopus (TITLE-ABS-KEY) get syntax to
    paste into their advanced search. Where a platform cannot express the strategy exactly
    (truncation, a missing field or limit) a note says so and how the query approximates it;
    a warning marks a query that finds clearly less than the strategy says (a truncated term
    without its forms under [variants]) or breaks a platform's limit (Web of Science's 49
    operators, OpenAlex's 4,000-character URL). Subject headings of a block ([[block.heading]]:
    MeSH, APA Thesaurus, Emtree, CINAHL) are ORed with its terms in the databases indexed
    with them; proximity terms ('peer ~3 work*') become [tiab:~3], adj4, NEAR/3, W/3 or N3.
    Terms that another term of their block already finds, and terms whose other spelling
    (British or American: behaviour/behavior, paediatric/pediatric) no term of their block
    finds, are named first. With --database
    only the query is printed (notes and warnings go to standard error).

    \b
    Examples:
      scoping search plan
      scoping search plan --all                # also platforms the strategy does not list
      scoping search plan --database pubmed
      scoping search plan --database PsycINFO > psycinfo-ovid.txt
    """
    from scoping.search import plan, translate
    from scoping.search.strategy import redundant_terms, spelling_variants

    strategy = review().strategy()
    redundant = redundant_terms(strategy) + spelling_variants(strategy)
    if database is not None:
        query = translate(strategy, database)
        click.echo(query.text)
        for note in (*redundant, *query.notes):
            err.print(_note_line(note))
        return
    for note in redundant:
        click.echo(_note_line(note))
    if redundant:
        click.echo("")
    _echo_plan(plan(strategy, every_platform=every), {db.name for db in strategy.databases})


def _echo_plan(queries: list[Query], listed: set[str]) -> None:
    """Every query of the plan under a heading (database, platform, how it is run), then the
    platforms it left out."""
    from scoping.search import PLATFORMS

    for n, query in enumerate(queries):
        platform = PLATFORMS[query.platform]
        how = (
            "searched by 'scoping search run'"
            if platform.api
            else "no open API: run it there, then 'scoping import FILE --source NAME'"
        )
        names = query.database.split(", ")
        mark = "" if any(name in listed for name in names) else " (not in the strategy)"
        if n:
            click.echo("")
        click.echo(f"== {query.database}{mark} | {platform.label} | {how}")
        click.echo(query.text)
        for note in query.notes:
            line = _note_line(note)
            click.echo(f"  {line[0].lower()}{line[1:]}")
    others = [key for key in PLATFORMS if key not in {q.platform for q in queries}]
    if others:
        click.echo("")
        click.echo(
            f"Other platforms (not in the strategy): {', '.join(others)}; "
            "'scoping search plan --all' or '--database NAME' shows their queries"
        )


def _progress() -> Progress:
    return progress_bar("{task.fields[count]}")


@search_group.command("run")
@click.option(
    "--database",
    "-d",
    metavar="NAME",
    default=None,
    help="Search only this database (default: every API database of the strategy). " + _DATABASE_HELP,
)
@click.option(
    "--new", is_flag=True, help="Start a new run even if an unfinished run of the same query exists."
)
@click.option(
    "--resume", metavar="RUN", default=None, help="Continue this run (an id from 'scoping search log')."
)
@click.option(
    "--update",
    is_flag=True,
    help="An update search: the earlier search's query as it was run, limited to records the "
    "database added since its last complete run (PubMed [edat], Europe PMC FIRST_IDATE, OpenAlex "
    "from_created_date, Crossref from-created-date).",
)
@review_options
def run_cmd(
    database: str | None, new: bool, resume: str | None, update: bool, review: Callable[[], Review]
) -> None:
    """Search the API databases and store their records, with a log for PRISMA-S.

    PubMed is searched through NCBI's E-utilities, Europe PMC, OpenAlex and
    Crossref through their REST APIs, within each service's rate limit, retrying
    throttled and failed requests. Result sets larger than one PubMed query can page
    through are split by publication date. Every raw response page is kept under
    searches/runs/RUN/ and the records are stored tagged with the database and the run.
    An interrupted run continues where it stopped when the command is run again (or with
    --resume RUN), without storing any record twice. A search run again (--new), or an
    update search (--update: the records each database added since its last complete run),
    stores only records the database had not given before, so PRISMA counts each record
    once. After an update search the records are split into PRISMA 2020's previous and new
    arms (also shown by 'scoping search log').

    Needs an e-mail address for PubMed (SCOPING_EMAIL or [search] email); API keys come
    from NCBI_API_KEY and OPENALEX_API_KEY.

    \b
    Examples:
      SCOPING_EMAIL=you@example.org scoping search run
      scoping search run --database MEDLINE
      scoping search run --resume pubmed-20260301-101500
      scoping search run --database MEDLINE --update
    """
    if new and resume:
        raise UsageError("--new and --resume exclude each other; choose one")
    if update and resume:
        raise UsageError("--update and --resume exclude each other; choose one")
    target = review()
    targets = target.search_targets(database, resume=resume)
    for db in targets:
        with _search_bar(db if isinstance(db, str) else db.name) as show:
            result = target.search_run(
                db, new=new, resume=resume, update=update, progress=show, workers=parse_workers()
            )
        _print_run(result)
    if update:
        names = {(db if isinstance(db, str) else db.name).casefold() for db in targets}
        _, arms = target.update_arms()
        shown = [
            f"{a.database} {a.previous:,} previous, {a.new:,} new"
            for a in arms
            if a.database.casefold() in names
        ]
        if shown:
            out.print("previous/new (PRISMA 2020, updated review): " + "; ".join(shown))
    if database is None and resume is None:
        _print_no_api(target.strategy())


@contextmanager
def _search_bar(name: str) -> Iterator[Callable[[ProgressEvent], None]]:
    """A progress bar for searching one database, and the function that moves it."""
    with _progress() as bar:
        task = bar.add_task(f"Searching {name}", total=None, count="")

        def show(event: ProgressEvent) -> None:
            what = "Searching" if event.stage == "searching" else "Fetching"
            total = f"{event.total:,}" if event.total is not None else "?"
            bar.update(
                task,
                description=f"{what} {event.database}",
                total=event.total,
                completed=event.done,
                count=f"{event.done:,}/{total} records",
            )

        yield show


def _print_run(result: RunResult) -> None:
    """One search run: its hits, records retrieved and stored, and what it learnt."""
    from scoping.search import PLATFORMS

    run = result.run
    details = result.details or {}
    again = " (resumed)" if result.resumed else ""
    if run.platform == "crossref":
        matches = details.get("ranked_matches")
        hits = f"{matches:,} ranked matches (not a Boolean hit count)" if matches is not None else "?"
    else:
        hits = f"{run.hit_count:,} hits" if run.hit_count is not None else "? hits"
    out.print(
        f"{run.database} ({PLATFORMS[run.platform].label}): {hits}, "
        f"{run.retrieved:,} records retrieved, {result.stored:,} stored now{again} "
        f"[run {run.id}, {run.folder}]"
    )
    for line in _run_lines(run.platform, run.message, details):
        out.print(f"  {line}")


def _print_no_api(strategy: Strategy) -> None:
    """How to search the strategy's databases that have no open API."""
    from scoping.search import PLATFORMS

    for db in strategy.databases:
        if not PLATFORMS[db.platform].api:
            out.print(
                f"{db.name} ({PLATFORMS[db.platform].label}): no open API; run "
                f"'scoping search plan --database \"{db.name}\"' there and import "
                f"the export with 'scoping import FILE --source \"{db.name}\"'"
            )


def _run_lines(platform: str, message: str | None, details: dict[str, Any]) -> list[str]:
    """What a run learnt, as the end of 'search run' and the log show it."""
    lines: list[str] = []
    name = "PubMed" if platform == "pubmed" else "the database"
    if details.get("update_of"):
        lines.append(f"update search: entered since {details['update_since']} (run {details['update_of']})")
    if details.get("query_translation"):
        lines.append(f"PubMed's translation: {details['query_translation']}")
    for error in details.get("errors", []):
        lines.append(f"error from {name}: {error}")
    for warning in details.get("warnings", []):
        lines.append(f"warning from {name}: {warning}")
    if platform == "pubmed" and (details.get("errors") or details.get("warnings")):
        lines.append(
            "note: PubMed searched the query without what it reports above; for a phrase it did "
            "not find, list the phrase's forms under [variants] and set use_variants = true"
        )
    if details.get("shortfall"):
        lines.append(f"warning: {details['shortfall']}")
    elif message:
        lines.append(f"note: {message}")
    if details.get("already_stored"):
        lines.append(
            f"note: {details['already_stored']:,} of the records retrieved were stored before by an "
            "earlier search of this database: not stored or counted again"
        )
    if platform == "crossref":
        lines.append(
            "note: Crossref ranks works by how well they match the words; its number of matches "
            "is reported apart and never added to the hits of Boolean searches"
        )
    return lines


def _limits_text(limits: dict[str, Any]) -> str:
    parts: list[str] = []
    if limits.get("from_year") or limits.get("to_year"):
        parts.append(
            f"{limits.get('from_year') or '...'}-{limits.get('to_year') or ''}".rstrip("-")
            if limits.get("to_year")
            else f"from {limits['from_year']}"
        )
    if limits.get("languages"):
        parts.append(", ".join(limits["languages"]))
    if limits.get("document_types"):
        parts.append(", ".join(limits["document_types"]))
    return "; ".join(parts) or "none"


def _when(stamp: str | None) -> str:
    return stamp[:19].replace("T", " ") + " UTC" if stamp else ""


@search_group.command("log")
@click.option("--database", "-d", metavar="NAME", default=None, help="Only this database.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "table", "json"]),
    default="text",
    help="text: every search with its query (default); table: one line each; json.",
)
@review_options
def log_cmd(database: str | None, fmt: str, review: Callable[[], Review]) -> None:
    """The search log for PRISMA-S: each database, platform, query, date, hits, records.

    Lists every API run as it was run: the exact query sent, the database's own translation
    (PubMed), its errors and warnings, limits, date and time, hit count, and records
    retrieved (and how many were new). Then every imported export with the search recorded
    when it was imported (scoping import --query, --date-searched, --hits, --platform): the
    query as pasted, or else the one 'scoping search plan' gave at that moment, marked with *.
    Nothing is re-derived from today's strategy. Imports from other sources are listed last.
    Once the review has an update search (search run --update), the text log ends with each
    database's records in PRISMA 2020's previous arm (found by the searches before the
    update) and new arm (added by the update searches), each record counted once.

    \b
    Examples:
      scoping search log
      scoping search log --format table
      scoping search log --format json > outputs/search-log.json
    """
    target = review()
    entries = target.search_log(database=database)
    arms = target.update_arms()
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
    elif not entries:
        out.print(
            "No searches yet: run 'scoping search run' or import exports with "
            "'scoping import FILE --source NAME'."
        )
    elif fmt == "table":
        out.print(_log_table(entries))
    else:
        for n, e in enumerate(entries):
            if n:
                click.echo("")
            for label, value in _log_rows(e):
                click.echo(f"  {label:<10} {value}" if label else value)
        if database is None:
            _echo_arms(*arms)
        if any(e.query_origin == "plan" for e in entries):
            click.echo("")
            click.echo(
                "* the query 'scoping search plan' gave when the export was imported (the query as run "
                "was not given with --query)"
            )


def _log_table(entries: list[LogEntry]) -> Table:
    """The log, one line a search."""
    table = Table(title="Search log", title_justify="left")
    for column in (
        "database",
        "interface",
        "method",
        "date (UTC)",
        "hits",
        "records",
        "status",
        "run / file",
    ):
        table.add_column(column, justify="right" if column in ("hits", "records") else "left")
    for e in entries:
        table.add_row(
            e.database,
            e.interface,
            e.method,
            _when(e.date).removesuffix(" UTC"),
            f"{e.hit_count:,}" if e.hit_count is not None else "",
            f"{e.retrieved:,}",
            e.status,
            e.reference,
        )
    return table


def _log_rows(e: LogEntry) -> list[tuple[str, str]]:
    """One search of the text log: a heading (an empty label), then its labelled rows."""
    what = f"API run {e.reference}" if e.method == "api" else f"export {e.reference}"
    rows = [("", f"{e.database} | {e.interface or 'source not in the strategy'} | {what}")]
    if e.method == "api":
        date = _when(e.date) + (f" (finished {_when(e.finished)})" if e.finished else "")
    elif e.date_known:
        date = f"{e.date[:10]} (searched; imported {_when(e.imported)})"
    else:
        date = f"not recorded (imported {_when(e.imported)})"
    rows.append(("date", date))
    lines = e.extra.get("history_lines")
    if e.query and not (lines and e.query == e.extra.get("history")):
        label = {"plan": "query*", "given": "query"}.get(e.query_origin, "query")
        rows.append((label, e.query.replace("\n", "\n" + " " * 13)))
    if lines:
        rows.append(("history", _history_text(lines, e.extra.get("history_database"))))
    if e.extra.get("params", {}).get("synonym"):
        rows.append(("sent with", f"synonym={e.extra['params']['synonym']}"))
    if e.extra.get("update_of"):
        rows.append(("update of", f"run {e.extra['update_of']} (records entered since its day)"))
    if e.translation:
        rows.append(("translation", e.translation))
    if e.limits:
        rows.append(("limits", _limits_text(e.limits)))
    if e.hit_count is not None:
        rows.append(("hits", f"{e.hit_count:,}"))
    if e.extra.get("ranked_matches") is not None:
        rows.append(("matches", f"{e.extra['ranked_matches']:,} (Crossref's ranked matches, not hits)"))
    records = f"{e.retrieved:,}"
    if e.method == "api" and e.extra.get("new_records") is not None and e.extra["new_records"] != e.retrieved:
        records += f" ({e.extra['new_records']:,} new; the others were stored by an earlier search)"
    rows.append(("records", records))
    rows.append(("status", e.status))
    rows.extend(("error", text) for text in e.errors)
    rows.extend(("warning", text) for text in e.warnings)
    if e.note:
        rows.append(("note", e.note))
    if e.extra.get("history") and not lines:
        rows.append(("history", str(e.extra["history"]).replace("\n", "\n" + " " * 13)))
    return rows


def _history_text(lines: list[dict[str, Any]], database: str | None) -> str:
    """A search history's lines, one a row: number, search, the records it found."""
    width = max(len(str(line["number"])) for line in lines)
    rows = [f"({database})"] if database else []
    for line in lines:
        hits = f"{line['hits']:,}" if line["hits"] is not None else "-"
        rows.append(f"{line['number']:>{width}}  {line['query']}  [{hits}]")
    return ("\n" + " " * 13).join(rows)


def _echo_arms(since: str | None, arms: list[UpdateArms]) -> None:
    """After the log: each database's records in PRISMA 2020's previous and new arms, once the
    review has an update search."""
    if since is None:
        return
    click.echo("")
    click.echo(f"Update searches (PRISMA 2020's previous and new arms), from {_when(since)}:")
    width = max(len(a.database) for a in arms)
    for a in arms:
        again = f"(found again {a.found_again:,})"
        click.echo(f"  {a.database:<{width}}  previous {a.previous:,}  new {a.new:,}  {again}")


@search_group.command("check")
@review_options
def check_cmd(review: Callable[[], Review]) -> None:
    """Check the searches against known relevant studies ([seeds] in strategy.toml).

    For each seed study (DOI or PMID): the databases whose stored records include it and
    those that missed it. For a missed study whose record is in the store (found by another
    database), its title, abstract and keywords are matched against each block, as the terms
    read them: the blocks that match nothing lost it. When every block matches, the database
    probably does not index the study. Subject headings are not part of that match. The terms
    of each block that match it follow (a block with one matching term loses the study
    without it; a NOT block's matching terms are those that exclude it). Then
    the terms written without truncation whose plural ('experts by experience') is in the
    stored records but found by no term of the block, with how many records hold it.

    \b
    Example ([seeds] in searches/strategy.toml):
      [seeds]
      dois = ["10.1176/appi.ps.201100126"]
      pmids = ["22552677"]
    \b
      scoping search check
    """
    check = review().check_searches()
    everywhere = sum(1 for r in check.seeds if r.found_in and not r.missed_by)
    out.print(
        f"Seed studies: {len(check.seeds)}; found by every database searched: {everywhere}; "
        f"missed by at least one: {len(check.seeds) - everywhere}"
    )
    for r in check.seeds:
        out.print(f"{r.seed}  {r.title or '(no record of it in the store)'}")
        if r.found_in:
            out.print(f"  found in   {', '.join(r.found_in)}")
        if r.missed_by:
            out.print(f"  missed by  {', '.join(r.missed_by)}")
            out.print(f"  lost by    {_lost_by(r, check.strategy)}")
            for line in _terms_lines(r, check.strategy):
                out.print(line)
    if check.plurals:
        out.print(
            "Plurals no term finds (PubMed's quoted phrases, Ovid, Scopus and Europe PMC search a "
            "phrase as written; Web of Science and EBSCOhost add plurals of unquoted words):"
        )
        for gap in check.plurals:
            n = f"{gap.records:,} stored record{'' if gap.records == 1 else 's'}"
            verb = "holds" if gap.records == 1 else "hold"
            out.print(f"  block {gap.block!r}: {gap.term!r} misses {gap.form!r} ({n} {verb} it)")


def _terms_lines(r: SeedResult, strategy: Strategy) -> list[str]:
    """The terms of each block that match a missed seed study (a block with one loses it
    without that term; a NOT block's terms are those that exclude it)."""
    lines = []
    for name, terms in r.terms:
        block = next(b for b in strategy.blocks if b.name == name)
        words = ", ".join(repr(t) for t in terms)
        if block.exclude:
            lines.append(f"  terms      NOT block {name!r}: {words} match it")
        else:
            only = " (the only one: without it the block loses the study)" if len(terms) == 1 else ""
            lines.append(f"  terms      block {name!r}: {words}{only}")
    return lines


def _lost_by(r: SeedResult, strategy: Strategy) -> str:
    """Which blocks lost a seed study that a database missed (one line each), or why none."""
    if not r.matched_text:
        return "not known: no search found it, so there is no text of it to check"
    if not r.lost_by:
        return (
            "no block: every block matches its title, abstract and keywords; "
            "the database may not index it, or indexes other text"
        )
    lines = []
    for name in r.lost_by:
        block = next(b for b in strategy.blocks if b.name == name)
        why = (
            "its NOT terms match it"
            if block.exclude
            else f"none of its terms is in the {'/'.join(block.fields)}"
        )
        heads = " (its subject headings were not checked)" if name in r.headings_unchecked else ""
        lines.append(f"block {name!r}: {why}{heads}")
    return "\n  lost by    ".join(lines)


@search_group.command("appendix")
@review_options
def appendix_cmd(review: Callable[[], Review]) -> None:
    """Write the PRISMA-S search appendix: outputs/prisma-s.md and outputs/prisma-s.html.

    Items 1-16 of PRISMA-S, ready for a journal's supplement: from the search log what it
    knows (databases and platforms, each full strategy as run, limits, update searches,
    dates, records), and from [prisma_s] in searches/strategy.toml what it cannot know
    (multi_database, registers, online_resources, citation_searching, contacts,
    other_methods, filters, prior_work, updates, peer_review, deduplication). Each item
    says where its answer comes from ("covered: search log", "covered: [prisma_s] KEY in
    strategy.toml", or "asked for in strategy.toml ([prisma_s] KEY): not answered"); an item
    without an answer names the key to write. The report's search log covers items 1, 8, 9
    and 13 only.

    \b
    Example ([prisma_s] in searches/strategy.toml):
      [prisma_s]
      peer_review = "Peer reviewed with PRESS 2015 by a second librarian."
    \b
      scoping search appendix
    """
    import tempfile
    from pathlib import Path

    from scoping.files import replace_into
    from scoping.search.appendix import prisma_s, to_html, to_markdown

    target = review()
    with target.open_store() as store:
        appendix = prisma_s(store, target.strategy())
    folder = target.outputs_dir
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("md", to_markdown(appendix)), ("html", to_html(appendix))):
        path = folder / f"prisma-s.{suffix}"
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, delete=False, suffix=".part"
        ) as tmp:
            tmp.write(text)
        replace_into(tmp.name, path)
        written.append(str(Path(path).relative_to(target.root)))
    out.print(f"Wrote {' and '.join(written)}")
    missing = [item.number for item in appendix.items if not item.known]
    if missing:
        out.print("Not reported yet: " + "; ".join(missing))


@search_group.command("counts")
@click.option(
    "--database",
    "-d",
    metavar="NAME",
    default=None,
    help="Count in this database (default: the strategy's PubMed, Europe PMC and OpenAlex databases).",
)
@review_options
def counts_cmd(database: str | None, review: Callable[[], Review]) -> None:
    """Hit counts of each term and block, live, to see which terms contribute.

    For every term: its hits alone (with the limits), its hits in place of its block in the
    full strategy, and the records of the full strategy only it finds ("only it"; 0: the other
    terms find them all); then each block, and the full strategy. Sends one request per
    number to the database's API (PubMed, Europe PMC or OpenAlex), within its rate limit.

    \b
    Examples:
      scoping search counts
      scoping search counts --database europepmc
    """
    target = review()
    for db in target.count_targets(database):
        with _progress() as bar:
            task = bar.add_task(f"Counting in {db.name}", total=None, count="")

            def show(done: int, total: int, bar: Progress = bar, task: Any = task) -> None:
                bar.update(task, total=total, completed=done, count=f"{done}/{total} counts")

            counts = target.term_counts(db, progress=show)
        out.print(_counts_table(db, counts))


def _counts_table(db: Database, counts: list[TermCount]) -> Table:
    """One database's counts: each term alone, in the strategy, and what only it finds."""
    from scoping.search import PLATFORMS

    table = Table(title=f"{db.name} ({PLATFORMS[db.platform].label}): hits by term", title_justify="left")
    table.add_column("block")
    table.add_column("term")
    table.add_column("alone", justify="right")
    table.add_column("in the strategy", justify="right")
    table.add_column("only it", justify="right")
    for c in counts:
        if c.block is None:
            table.add_row(
                "all blocks", "(the full strategy)", f"{c.alone:,}", f"{c.alone:,}", "", style="bold"
            )
            continue
        table.add_row(
            c.block,
            c.term if c.term is not None else "(whole block)",
            f"{c.alone:,}",
            f"{c.combined:,}" if c.combined is not None else "",
            f"{c.only:,}" if c.only is not None else "",
            style=None if c.term is not None else "italic",
        )
    return table


@search_group.command("import-query")
@click.option(
    "--database",
    "-d",
    type=click.Choice(["pubmed", "wos"]),
    required=True,
    help="The syntax the query is written in: pubmed, or wos (Web of Science advanced search).",
)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def import_query_cmd(database: str, file: str) -> None:
    """Read a PubMed or Web of Science query (FILE, or - for standard input) into
    strategy.toml blocks, printed to paste into searches/strategy.toml.

    The query's concept blocks (ANDed), their terms (ORed, in the fields they are searched
    in), MeSH headings, proximity ("a b"[tiab:~3], a NEAR/3 b), NOT blocks and language and
    year limits become [[block]], [[block.heading]] and [limits] tables; blocks are named
    "Block 1", "Block 2"... for you to rename. The strategy is translated back and compared
    with the query; a query the strategy file cannot hold without loss (an AND inside a block,
    terms without a field tag, $ or ? wildcards, proximity between groups of terms...) is
    refused with what does not fit.

    \b
    Examples:
      scoping search import-query --database pubmed pubmed-query.txt
      scoping search import-query -d wos wos-query.txt >> searches/strategy.toml
    """
    from scoping.search.parse import import_query, strategy_toml

    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}; check the path") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{file} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    strategy, result = import_query(text, database)
    click.echo(strategy_toml(strategy), nl=False)
    if not result.same:
        err.print("Note: translated back, the query reads differently; check the blocks against it")
