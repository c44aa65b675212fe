"""Commands of the dedupe stage: run, show, review, undo, groups, overlap."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import TaskID
from rich.table import Table

from scoping.app import Review
from scoping.files import write_whole
from scoping.records import Record, doc_type_label

from .console import console
from .console import progress as progress_bar
from .main import State, cli, review_options
from .prompts import read_key

if TYPE_CHECKING:
    from scoping.app import PairReview
    from scoping.dedupe import DedupeReport, api
    from scoping.dedupe.merge import MergedWork
    from scoping.screen.carry import Impact, StageView
    from scoping.store.dedupe_tables import Applied, PairRow
else:
    from scoping.cli._lazy import LazyModule

    api = LazyModule("scoping.dedupe.api")  # numpy, networkx: loaded when a command needs them

out = console()

REVIEWER_ENV = "SCOPING_REVIEWER"

_PHASES = {
    "reading": "Reading records",
    "preparing": "Preparing keys",
    "comparing": "Comparing pairs",
    "grouping": "Grouping into works",
    "saving": "Saving works",
}


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    progress = progress_bar()
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        task = tasks.get(phase)
        if task is None:
            task = tasks[phase] = progress.add_task(_PHASES.get(phase, phase), total=max(total, 1))
        progress.update(task, completed=done, total=max(total, done, 1))

    with progress:
        yield update


@cli.group("dedupe", invoke_without_command=True)
@click.option(
    "--rebuild", is_flag=True, help="Compute every automatic link afresh (people's decisions still hold)."
)
@click.option(
    "--method",
    type=click.Choice(["rules", "model"]),
    default=None,
    help="What decides a compared pair: 'rules' (the default: the explicit rules, which still "
    "lead leave-one-set-out) or 'model' (the calibrated pair model shipped with scoping).",
)
@click.option(
    "--review",
    "review_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The review folder (default: the current folder or its nearest parent).",
)
@click.option(
    "--db",
    default=None,
    metavar="URL",
    help="Database URL or SQLite file [env SCOPING_DB; default screening/review.db].",
)
@click.pass_context
def dedupe_group(
    ctx: click.Context, rebuild: bool, method: str | None, review_dir: str | None, db: str | None
) -> None:
    """Link the records of each publication into one work (run without a subcommand).

    Records are compared on title, authors, year, journal, volume, pages, DOI and PMID after
    normalisation; a link needs strong evidence, and records that conflict (two DOIs, years
    far apart, other pages of the same volume, an erratum beside its article) are never
    joined. Doubtful pairs wait for 'scoping dedupe review'. Records are never changed or
    deleted. Running it again after new imports only links the new records; decisions made
    by people always hold.

    \b
    Examples:
      scoping dedupe                    # link records into works
      scoping dedupe --rebuild --method model   # decide pairs by the pair model
      scoping dedupe review             # decide the doubtful pairs
      scoping dedupe show 42            # why work 42's records were linked
      scoping dedupe groups --out outputs/works.csv
    """
    state = ctx.find_object(State)
    if state is not None:
        state.review_dir = review_dir or state.review_dir
        state.db = db or state.db
    if ctx.invoked_subcommand is not None:
        if rebuild or method:
            flag = "--rebuild" if rebuild else "--method"
            raise click.UsageError(f"{flag} applies to 'scoping dedupe' itself, not to a subcommand")
        return
    from scoping.app import Review
    from scoping.review import find_review

    target = Review.of(find_review(state.review_dir if state else review_dir, db=state.db if state else db))
    viewer = _default_reviewer()
    with _progress() as update:
        run = target.dedupe_run(
            rebuild=rebuild,
            method=method or "rules",
            viewer=viewer,
            sees_all=_is_lead(target, viewer),
            progress=update,
        )
    for keep, old, impact in run.joins:
        for line in _join_lines(impact, keep, old, action="joins"):
            out.print(line)
    _print_report(run.result.report, rebuild)
    if run.pending:
        out.print(f"Next: 'scoping dedupe review' to decide the {run.pending:,} doubtful pairs waiting")


def _print_report(report: DedupeReport, rebuild: bool) -> None:
    """What a run of 'scoping dedupe' found: records, works, links, and the records it could
    not compare well."""
    seconds = sum(report.seconds.values())
    done = "Rebuilt the works of" if rebuild else "De-duplicated"
    out.print(f"{done} {report.n_records:,} records ({report.n_new:,} new) in {seconds:.1f} s")
    out.print(
        f"  works: {report.n_works:,} ({report.n_linked_records:,} records share a work with another record)"
    )
    out.print(
        f"  links: {report.n_duplicate_pairs:,} duplicate pairs; "
        f"{report.n_uncertain_pairs:,} doubtful pairs kept for review"
    )
    if report.n_refused:
        out.print(
            f"  {report.n_refused:,} links refused because they would chain conflicting records "
            "(kept for review)"
        )
    for name, ids in sorted(report.problems.items()):
        what = _PROBLEMS.get(name, "not compared by title")
        out.print(
            f"  {_plural(len(ids), 'record')} with {name}: {what} (e.g. record"
            f"{'s' if len(ids) > 1 else ''} {', '.join(str(i) for i in ids[:5])})"
        )
    if report.large_blocks:
        shown = ", ".join(f"{kind} {key!r} ({size:,} records)" for kind, key, size in report.large_blocks[:3])
        more = len(report.large_blocks) - 3
        out.print(
            f"  {_plural(len(report.large_blocks), 'large block')} compared with near neighbours only: "
            f"{shown}{f' and {more:,} more' if more > 0 else ''}"
        )


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


_PROBLEMS = {
    "no title": "never linked automatically; a shared DOI/PMID puts them in the review queue",
    "one-word title": "linked only through the same DOI/PMID",
}


# -- show ------------------------------------------------------------------------------------

_SHOWN = (
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "source_id",
    "doc_type",
    "abstract",
)
_ABSTRACT_SHOWN = 600
"""Characters of each abstract shown beside the other (enough to tell two papers apart)."""
_FIELD_NAMES = {
    "title": "title",
    "authors": "authors",
    "first_author": "first author",
    "year": "year",
    "journal": "journal",
    "volume": "volume",
    "issue": "issue",
    "pages": "first page",
    "page_range": "page range",
    "doi": "DOI",
    "pmid": "PMID",
    "abstract": "abstract",
}


def _cell(record: Record, name: str) -> str:
    value = getattr(record, name)
    if value is None or value == []:
        return ""
    if name == "authors":
        names = list(value)
        text = "; ".join(names[:6])
        return text + (f"; … ({len(names)} authors)" if len(names) > 6 else "")
    if name == "doc_type":
        return doc_type_label(value) or ""
    if name == "abstract":
        text = " ".join(str(value).split())
        return text[:_ABSTRACT_SHOWN] + ("…" if len(text) > _ABSTRACT_SHOWN else "")
    return str(value)


def explain(pair: PairRow) -> str:
    """One line: what matched and what did not, with the rule and the score."""
    fields = pair.fields
    agreed: list[str] = []
    differed: list[str] = []
    for name in (
        "title",
        "authors",
        "first_author",
        "year",
        "journal",
        "volume",
        "issue",
        "pages",
        "page_range",
        "doi",
        "pmid",
        "abstract",
    ):
        if name not in fields:
            continue
        value = fields[name]
        label = _FIELD_NAMES[name]
        if name == "year":
            (agreed if value == 0 else differed).append("year" if value == 0 else f"year (±{value})")
        elif isinstance(value, bool):
            (agreed if value else differed).append(label)
        elif isinstance(value, (int, float)):
            text = f"{label} {float(value):.2f}"
            (agreed if value >= 0.9 else differed).append(text)
    parts = [f"matched: {', '.join(agreed) or 'nothing'}"]
    if differed:
        parts.append(f"differ: {', '.join(differed)}")
    conflicts = fields.get("conflicts")
    if conflicts:
        parts.append(f"conflicts: {', '.join(conflicts)}")
    return f"{pair.label} by rule '{pair.rule}', score {pair.score:.2f}; " + "; ".join(parts)


def _side_by_side(records: list[tuple[int, str, Record]]) -> Table:
    table = Table(show_lines=True)
    table.add_column("field", no_wrap=True)
    for rid, source, _ in records:
        table.add_column(f"record {rid} ({source})", overflow="fold")
    for name in _SHOWN:
        cells = [_cell(rec, name) for _, _, rec in records]
        if any(cells):
            table.add_row(name, *cells)
    return table


def _merged_table(merged: MergedWork) -> Table:
    table = Table(title=f"Merged view of work {merged.work_id}", title_justify="left")
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", no_wrap=True)
    for name, chosen in merged.fields.items():
        if name in ("abstract", "keywords"):
            value = chosen.value if isinstance(chosen.value, str) else "; ".join(chosen.value)
            value = value[:160] + ("…" if len(value) > 160 else "")
        elif name == "authors":
            value = "; ".join(chosen.value)
        else:
            value = str(chosen.value)
        table.add_row(name, value, f"record {chosen.record_id} ({chosen.source})")
    return table


@dedupe_group.command("show")
@click.argument("work", type=int)
@review_options
def show_cmd(work: int, review: Callable[[], Review]) -> None:
    """Show WORK's records side by side, why they were linked, and the merged view.

    WORK is a work id (the id of its first record), as in 'scoping dedupe groups'; a record
    id shows the work that record belongs to. Each link names the rule that made it, the
    score, and which fields matched.

    \b
    Example:
      scoping dedupe show 42
    """
    with review().open_store() as store:
        view = api.show_work(store, work)
    if view.asked_for != view.work_id:
        out.print(f"Record {view.asked_for} belongs to work {view.work_id}.")
    n = len(view.records)
    sources = sorted({source for _, source, _ in view.records})
    out.print(f"Work {view.work_id}: {n} record{'s' if n != 1 else ''} from {', '.join(sources)}")
    out.print(_side_by_side(view.records))
    if n > 1:
        out.print("Links:")
        linked = [p for p in view.pairs if p.label == "duplicate"]
        if not linked:
            out.print("  (joined by a person's decision)")
        for pair in view.pairs:
            out.print(f"  {pair.record_a} - {pair.record_b}: {explain(pair)}")
    for pair in view.doubtful:
        out.print(f"Doubtful: {pair.record_a} - {pair.record_b} (another work): {explain(pair)}")
    out.print(_merged_table(view.merged))


# -- review ----------------------------------------------------------------------------------


def _default_reviewer() -> str:
    name = os.environ.get(REVIEWER_ENV)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in this environment
        return "reviewer"


_KEYS = {"s": "same", "d": "different", "k": "skip", "u": "undo", "q": "quit"}


def _ask_pair() -> str:
    """The reviewer's answer for one pair: one key on a terminal, one line from a pipe.

    Enter alone and unknown keys ask again; the end of input is "quit".
    """
    while True:
        answer = read_key("Same work? [s same, d different, k skip, u undo, q quit]: ")
        if answer is None:
            return "quit"
        key = answer.strip().casefold()
        if key in _KEYS:
            return _KEYS[key]
        if key:
            out.print(f"Unknown key {answer.strip()!r}: s, d, k, u or q.")


def _is_lead(review: Review, name: str) -> bool:
    """Whether ``name`` is a lead of the review's protocol (and may see everyone's decisions)."""
    from scoping.errors import ScopingError
    from scoping.screen.protocol import load_protocol

    if not review.protocol_path.exists():
        return False
    try:
        protocol = load_protocol(review.protocol_path)
        return protocol.reviewer(name).is_lead
    except ScopingError:
        return False


def _stages(views: list[StageView], blinded: bool) -> str:
    parts = []
    for v in views:
        if blinded:
            mine = next(iter(v.decisions.values()), None)
            parts.append(f"{v.stage}: {'yours ' + mine if mine else 'no decision of yours'}")
            continue
        who = ", ".join(f"{name} {decision}" for name, decision in v.decisions.items())
        outcome = v.outcome or "not decided"
        if v.reason:
            outcome += f" ({v.reason})"
        if v.resolved_by:
            outcome += f", resolved by {v.resolved_by}"
        parts.append(f"{v.stage}: {outcome}" + (f" - {who}" if who else ""))
    if not parts:
        return "no decision of yours" if blinded else "not screened"
    return "; ".join(parts)


def _join_lines(impact: Impact, keep: int, gone: int, *, action: str) -> list[str]:
    """What joining ``gone`` into ``keep`` means for screening, in plain words (none when
    neither work has screening decisions)."""
    if not impact.screened:
        return []
    first = (
        f"Screening: work {gone} ({_stages(impact.works.get(gone, []), impact.blinded)}) {action} "
        f"work {keep} ({_stages(impact.works.get(keep, []), impact.blinded)})."
    )
    if impact.blinded:
        rest = "Every decision carries over to the joined work; the lead settles any difference."
    elif impact.differ:
        rest = (
            f"Their outcomes differ at {', '.join(impact.differ)}: the joined work goes to the lead "
            "as a conflict ('scoping conflicts'). Every decision carries over; the latest of a "
            "reviewer's two counts."
        )
    else:
        rest = "Every decision carries over to the joined work; the latest of a reviewer's two counts."
    return [first, "  " + rest]


def _split_lines(impact: Impact, work: int, n_parts: int) -> list[str]:
    if not impact.screened:
        return []
    return [
        f"Screening: work {work} ({_stages(impact.works.get(work, []), impact.blinded)}).",
        f"  Each of its {n_parts} parts keeps the decisions made on it; decisions made on the joined "
        "work apply to every part, unless the part has a later decision of its own.",
    ]


@dedupe_group.command("review")
@click.option(
    "--reviewer",
    default=None,
    metavar="NAME",
    help=f"Who decides [env {REVIEWER_ENV}; default: the login name].",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Stop after N pairs.")
@review_options
def review_cmd(reviewer: str | None, limit: int | None, review: Callable[[], Review]) -> None:
    """Decide the doubtful pairs one by one in the terminal.

    Each pair is shown side by side with the fields that matched. Answer with one key (at a
    terminal no Enter is needed, and Enter alone does nothing): s = same work (the two works
    are joined), d = different (kept apart, also by later runs), k = skip (ask again next
    time), u = undo the previous answer, q = quit. Every answer is stored at once, with your
    name and the time. Piped input is read one line per answer, so it can be scripted
    (printf 's\\nd\\n' | scoping dedupe review).

    Once screening has begun, each pair also says what 'same' would mean for screening: the
    decisions on both works carry over to the joined work (a reviewer's latest counts), and
    works with different outcomes go to the lead as a conflict. A lead sees everyone's
    decisions; anyone else sees only their own.

    \b
    Example:
      scoping dedupe review --reviewer anna
    """
    who = reviewer or _default_reviewer()
    target = review()
    with target.pair_review(who, sees_all=_is_lead(target, who), limit=limit) as session:
        if not session.queue:
            out.print("No doubtful pairs wait for review.")
            return
        n = len(session.queue)
        out.print(
            f"{n:,} doubtful pair{'s' if n != 1 else ''} to review "
            f"as {who} (s = same work, d = different, k = skip, u = undo, q = quit)"
        )
        counts = _review_pairs(session)
    out.print()
    out.print(f"Stored {counts['same']} same, {counts['different']} different, {counts['skip']} skipped.")


def _review_pairs(session: PairReview) -> dict[str, int]:
    """Ask about each pair of the queue in turn; the answers stored, by kind."""
    queue = session.queue
    history: list[tuple[int, Applied]] = []
    position = 0
    counts = {"same": 0, "different": 0, "skip": 0}
    while position < len(queue):
        item = queue[position]
        if not session.pending(item):
            position += 1  # joined meanwhile through another decision
            continue
        out.print()
        out.print(
            f"Pair {position + 1} of {len(queue)}: record {item.pair.record_a} - record {item.pair.record_b}"
        )
        out.print(_side_by_side([item.a, item.b]))
        out.print(f"  {explain(item.pair)}")
        join = session.join_impact(item)
        if join is not None:
            keep, gone, impact = join
            for line in _join_lines(impact, keep, gone, action="would join"):
                out.print(line)
        action = _ask_pair()
        if action == "quit":
            break
        if action == "undo":
            if not history:
                out.print("Nothing to undo in this session.")
                continue
            position, last = history.pop()
            split = session.undo(last)
            if split is not None:
                for line in _split_lines(split[2], split[0], split[1]):
                    out.print(line)
            counts[last.decision] -= 1
            out.print(f"Undid '{last.decision}' for records {last.record_a} - {last.record_b}.")
            continue
        history.append((position, session.decide(item, action)))
        counts[action] += 1
        position += 1
    return counts


# -- undo ------------------------------------------------------------------------------------


@dedupe_group.command("undo")
@click.argument("work", type=int)
@click.option(
    "--reviewer",
    "--by",
    "by",
    default=None,
    metavar="NAME",
    help=f"Who splits it [env {REVIEWER_ENV}; default: the login name].",
)
@click.option("--yes", is_flag=True, help="Split without asking, even when the work has screening decisions.")
@review_options
def undo_cmd(work: int, by: str | None, yes: bool, review: Callable[[], Review]) -> None:
    """Split WORK back into its records, and keep them apart in later runs.

    Each record becomes a work of its own (its id is the record's id, so the first record
    keeps WORK's id). The split is stored as decisions of yours, which later runs respect;
    nothing is deleted. When WORK has screening decisions, it first says what the split means
    for them and asks to go on (y + Enter; --yes does not ask): each part keeps the decisions
    made on it, and decisions made on the joined work apply to every part.

    \b
    Example:
      scoping dedupe undo 42
    """
    who = by or _default_reviewer()
    target = review()
    impact, members = target.split_impact(work, viewer=who, sees_all=_is_lead(target, who))
    lines = _split_lines(impact, work, len(members)) if len(members) > 1 else []
    for line in lines:
        out.print(line)
    if lines and not yes and not click.confirm("Split it?", default=False):
        out.print("Nothing changed.")
        return
    members = target.undo_work(work, by=who)
    if len(members) == 1:
        out.print(f"Work {work} has a single record ({members[0]}); nothing to split.")
        return
    out.print(
        f"Split work {work} into {len(members)} works: records "
        f"{', '.join(str(m) for m in members)}; later runs keep them apart."
    )


# -- groups and overlap ----------------------------------------------------------------------


@dedupe_group.command("groups")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="The CSV file to write (written whole or not at all).",
)
@review_options
def groups_cmd(out_path: str, review: Callable[[], Review]) -> None:
    """Write one row per record with its work: source_id, work_id, record_id, source.

    source_id is the record's identifier in the file it came from (the CSV ID column, RIS
    ID, PMID...); records of one publication share a work_id.

    \b
    Example:
      scoping dedupe groups --out outputs/works.csv
    """
    target = Path(out_path)
    with review().open_store() as store:
        works: set[int] = set()

        def rows() -> Iterator[tuple[str, int, int, str]]:
            for row in api.iter_groups(store):
                works.add(row[1])
                yield row

        n = write_whole(target, lambda stream: api.write_groups_csv(rows(), stream))
    out.print(
        f"Wrote {n:,} record{'' if n == 1 else 's'} in {len(works):,} "
        f"work{'' if len(works) == 1 else 's'} to {target}"
    )


@dedupe_group.command("overlap")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The CSV file to write [default: outputs/dedupe-overlap.csv].",
)
@review_options
def overlap_cmd(out_path: str | None, review: Callable[[], Review]) -> None:
    """How many works each database contributed, and how many only it found.

    Prints a table and writes it as CSV, with the works each pair of databases both found.
    'internal duplicates' are records that repeat a record of the same database.

    \b
    Example:
      scoping dedupe overlap            # table, and outputs/dedupe-overlap.csv
    """
    target_review = review()
    target = Path(out_path) if out_path else target_review.outputs_dir / "dedupe-overlap.csv"
    with target_review.open_store() as store:
        table = api.overlap(store)
    write_whole(target, lambda stream: api.write_overlap_csv(table, stream))
    view = Table(title="Works by database", title_justify="left")
    for column in ("database", "records", "works", "only here", "share only here", "internal duplicates"):
        view.add_column(column, justify="left" if column == "database" else "right")
    for s in table.sources:
        view.add_row(
            s.source,
            f"{s.records:,}",
            f"{s.works:,}",
            f"{s.unique_works:,}",
            f"{s.unique_share:.0%}",
            f"{s.internal_duplicates:,}",
        )
    view.add_row(
        "all",
        f"{table.total_records:,}",
        f"{table.total_works:,}",
        f"{sum(s.unique_works for s in table.sources):,}",
        "",
        f"{sum(s.internal_duplicates for s in table.sources):,}",
        style="bold",
    )
    out.print(view)
    out.print(f"{table.works_in_several_sources:,} works were found in more than one database.")
    out.print(f"Wrote {target}")
