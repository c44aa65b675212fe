"""Commands of the topics stage: ``scoping topics ...`` and ``scoping chart ...``."""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from scoping.app import Review
from scoping.cli._lazy import LazyModule as _LazyModule
from scoping.errors import UsageError
from scoping.ingest import FORMATS
from scoping.store import topics_tables
from scoping.topics.charting import read_chart_fields

if TYPE_CHECKING:
    from scoping.store.topics_tables import FitRow
    from scoping.topics import api as topics_api
    from scoping.topics.api import FitResult
else:
    topics_api = _LazyModule("scoping.topics.api")  # scikit-learn loads when a command needs it

from .console import console
from .main import cli, review_options

out = console()


def _who(by: str | None, target: Review, *, lead: bool = True) -> str:
    """The person making a change. In a review with a protocol, topic edits are a lead's and
    charting a team member's (named as in screening/protocol.toml); without one (topics of a
    works file in a bare folder) the name is free, and defaults to the user name."""
    name = by.strip() if by and by.strip() else None
    if target.protocol_path.is_file():
        from scoping.screen import load_protocol

        protocol = load_protocol(target.protocol_path)
        if name is None:
            role = "a lead" if lead else "a member of the team"
            raise UsageError(
                f"say who you are with --by NAME ({role} in "
                f"{target.protocol_path.name}; or set SCOPING_REVIEWER)"
            )
        return (protocol.lead(name) if lead else protocol.reviewer(name)).name
    if name is not None:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


_by_option = click.option(
    "--reviewer",
    "--by",
    "by",
    envvar="SCOPING_REVIEWER",
    default=None,
    metavar="NAME",
    help="Who makes the change, as named in screening/protocol.toml: a "
    "lead for topic edits, anyone of the team for charting "
    "[env SCOPING_REVIEWER].",
)


def _n_topics(value: str) -> int | str:
    text = value.strip().lower()
    if text == "auto":
        return "auto"
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UsageError(f"--n-topics takes a number of topics (1 or more) or 'auto', not {value!r}")


def _emit_csv(rows: Sequence[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "; ".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()})
    click.echo(buffer.getvalue(), nl=False)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _topics_table(loaded: topics_api.LoadedFit, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("topic", "works", "main", "label", "top terms"):
        table.add_column(column, justify="right" if column in ("works", "main") else "left", overflow="fold")
    for row in topics_api.evidence.topic_rows(loaded.state):
        label = row["label"] + ("" if row["named"] else " (provisional)")
        table.add_row(
            row["topic"], str(row["works"]), str(row["main_topic_of"]), label, ", ".join(row["top_terms"][:6])
        )
    return table


def _print_skipped(loaded: topics_api.LoadedFit) -> None:
    for line in loaded.state.skipped:
        out.print(f"  not applied: {line}")


@cli.group("topics")
def topics_group() -> None:
    """Group the included works into named, overlapping topics, and map the evidence.

    'topics fit' fits a topic model (TF-IDF and NMF over titles, abstracts and keywords) and
    gives each topic a provisional label; the lead then renames, merges, splits and moves
    works. Edits are stored and replayed on every refit: a refit maps its topics onto the
    numbered and named ones (T1, T2...) instead of starting over.

    \b
    Example:
      scoping topics fit --by lead
      scoping topics show
      scoping topics rename T3 "Peer worker role" --by lead
      scoping topics map
    """


@topics_group.command("fit")
@click.option(
    "--works",
    "works_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Read the included works from this file (CSV, RIS, or any format 'scoping import' "
    "reads) instead of from screening.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="Format of --works (default: detected from the content).",
)
@click.option("--encoding", default=None, metavar="NAME", help="Text encoding of --works.")
@click.option(
    "--stage",
    type=click.Choice(("title-abstract", "full-text")),
    default="full-text",
    show_default=True,
    help="Take the works included at this screening stage (when not using --works).",
)
@click.option(
    "--n-topics",
    "n_topics",
    default="auto",
    show_default=True,
    metavar="K|auto",
    help="The number of topics, or 'auto' to choose it by stability and coherence.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed: the same works and seed give the same topics.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.01, 1.0),
    default=0.2,
    show_default=True,
    help="A work belongs to every topic with at least this share of it (and always to its strongest).",
)
@_by_option
@review_options
def fit_cmd(
    works_file: str | None,
    fmt: str | None,
    encoding: str | None,
    stage: str,
    n_topics: str,
    seed: int,
    threshold: float,
    by: str | None,
    review: Callable[[], Review],
) -> None:
    """Fit topics to the included works and store them (a refit keeps the lead's edits).

    The works are those screening included at --stage (default full-text), or the
    records listed in --works FILE (a CSV or RIS of included works, e.g. screened in
    another tool). A work belongs to every topic holding at least --threshold of it, so
    topics overlap. Topics matching earlier ones keep their numbers and names, and the
    lead's edits are replayed.

    \b
    Examples:
      scoping topics fit --by lead
      scoping topics fit --stage title-abstract --n-topics 8 --seed 1 --by lead
      scoping topics fit --works included.ris --by lead
    """
    k = _n_topics(n_topics)
    target = review()
    result = target.fit_topics(
        _who(by, target),
        stage=stage,
        n_topics=k,
        seed=seed,
        threshold=threshold,
        works_file=works_file,
        fmt=fmt,
        encoding=encoding,
    )
    loaded = result.loaded
    fit = loaded.fit
    out.print(
        f"Fitted {len(loaded.state.topics)} topics to {fit.n_works:,} works from {fit.source} [fit {fit.id}]"
    )
    if result.duplicates:
        out.print(
            f"  {result.duplicates} records repeat an earlier work (same DOI, PMID or title) "
            "and were counted once"
        )
    _print_k_choice(fit)
    for note in fit.notes:
        out.print(f"  note: {note}")
    out.print(_topics_table(loaded, "Topics"))
    _print_carried(result)
    _print_skipped(loaded)
    out.print("Next: 'scoping topics show T1', rename/merge/split/move, then 'scoping topics map'")


def _print_k_choice(fit: FitRow) -> None:
    """How the number of topics was chosen, when it was chosen (--topics auto)."""
    if not fit.k_scores:
        return
    chosen = fit.params.get("n_topics_fitted")
    best_k, best = max(fit.k_scores.items(), key=lambda kv: kv[1]["score"])
    tolerance = float(fit.params.get("model", {}).get("k_tolerance", 0.05))
    out.print(
        f"  {chosen} topics: the fewest whose stability x coherence is within "
        f"{tolerance:.0%} of the best (K={best_k}: {best['score']:.3f}); "
        "see 'scoping topics show --k-scores'"
    )


def _print_carried(result: FitResult) -> None:
    """How the new fit's topics match the earlier fits' (a refit keeps the lead's edits)."""
    if result.carried:
        carried = ", ".join(f"T{t} ({s:.2f})" for t, s in sorted(result.carried.items()))
        out.print(f"Carried over from earlier fits (similarity): {carried}")
        if result.new:
            out.print("New topics: " + ", ".join(f"T{t}" for t in result.new))
    for tid, name in result.lost_named:
        out.print(
            f"  no counterpart in this fit: T{tid} {name!r}; its edits are kept and apply "
            "again if it comes back"
        )


@topics_group.command("show")
@click.argument("topic", required=False)
@click.option("--csv", "as_csv", is_flag=True, help="Print the table as CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option(
    "--works",
    "n_works",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the topic's works to list, the largest share of the topic first (0: all).",
)
@click.option("--fits", "show_fits", is_flag=True, help="List every fit instead.")
@click.option(
    "--k-scores",
    "show_k",
    is_flag=True,
    help="Show how the number of topics was chosen (stability, coherence per K).",
)
@click.option("--edits", "show_edits", is_flag=True, help="List the lead's edits (who, when, what).")
@review_options
def show_cmd(
    topic: str | None,
    as_csv: bool,
    as_json: bool,
    n_works: int,
    show_fits: bool,
    show_k: bool,
    show_edits: bool,
    review: Callable[[], Review],
) -> None:
    """Show the topics (counts, labels, top terms) or one TOPIC with its works.

    TOPIC is a number (T3 or 3) or a topic's name. Counts overlap: 'works' is every work
    in the topic, 'main' the works for which it is the strongest topic.

    \b
    Examples:
      scoping topics show
      scoping topics show T3 --works 20
      scoping topics show --csv > topics.csv
      scoping topics show T3 --json
    """
    if as_csv and as_json:
        raise UsageError("choose one of --csv and --json")
    if show_fits:
        _show_fits(review().topic_fits(), as_csv, as_json)
        return
    loaded = review().topic_fit()
    if show_k:
        _show_k(loaded, as_csv, as_json)
    elif show_edits:
        _show_edits(loaded, as_csv, as_json)
    elif topic is None:
        _show_topics(loaded, as_csv, as_json)
    else:
        _show_topic(loaded, topic, n_works, as_csv, as_json)


def _show_topics(loaded: topics_api.LoadedFit, as_csv: bool, as_json: bool) -> None:
    """The topics of the fit, as a table, CSV or JSON."""
    rows = topics_api.evidence.topic_rows(loaded.state)
    if as_csv:
        _emit_csv(rows)
    elif as_json:
        fit = loaded.fit
        _emit_json(
            {"fit": fit.id, "works": fit.n_works, "topics": rows, "skipped_edits": loaded.state.skipped}
        )
    else:
        title = f"Topics of fit {loaded.fit.id} ({loaded.fit.n_works:,} works, {loaded.fit.created_at[:10]})"
        out.print(_topics_table(loaded, title))
        _print_skipped(loaded)


def _show_topic(loaded: topics_api.LoadedFit, ref: str, n_works: int, as_csv: bool, as_json: bool) -> None:
    t = loaded.state.topic(ref)
    works = loaded.works_by_key
    ranked = t.ranked()
    shown = ranked if n_works == 0 else ranked[:n_works]
    rows: list[dict[str, Any]] = [
        {
            "rank": i,
            "work": key,
            "year": works[key].year if key in works else None,
            "share": round(t.members[key], 3),
            "representativeness": round(t.scores.get(key, 0.0), 3),
            "moved_in": key in t.moved_in,
            "title": works[key].title if key in works else None,
        }
        for i, key in enumerate(shown, start=1)
    ]
    if as_csv:
        _emit_csv(rows)
        return
    if as_json:
        _emit_json(
            {
                "topic": t.ref,
                "label": t.label,
                "provisional_label": t.auto_label,
                "named": t.name is not None,
                "origin": t.origin,
                "works": len(t.members),
                "top_terms": t.top_terms(20),
                "ranked_works": rows,
                "moved_out": sorted(t.moved_out),
            }
        )
        return
    out.print(f"{t.ref}  {t.label}" + ("" if t.name else "  (provisional label)"))
    if t.name:
        out.print(f"  provisional label: {t.auto_label}")
    out.print(f"  works: {len(t.members)}   origin: {t.origin}")
    out.print(f"  top terms: {', '.join(t.top_terms(15))}")
    if t.moved_out:
        out.print(f"  moved out by hand: {', '.join(sorted(t.moved_out))}")
    table = Table(title="Most representative works (largest share of the topic first)", title_justify="left")
    for column in ("#", "work", "year", "share", "title"):
        table.add_column(column, overflow="fold", justify="right" if column in ("#", "share") else "left")
    for row in rows:
        flag = " (moved in)" if row["moved_in"] else ""
        table.add_row(
            str(row["rank"]),
            str(row["work"]),
            str(row["year"] or ""),
            f"{row['share']:.2f}",
            str(row["title"] or "(no title)") + flag,
        )
    out.print(table)
    if len(shown) < len(ranked):
        out.print(f"  ... and {len(ranked) - len(shown)} more (--works 0 lists all)")


def _show_fits(fits: list[topics_tables.FitRow], as_csv: bool, as_json: bool) -> None:
    rows: list[dict[str, Any]] = [
        {
            "fit": f.id,
            "created_at": f.created_at,
            "by": f.created_by,
            "works": f.n_works,
            "topics": f.n_topics,
            "seed": f.params.get("random_state"),
            "n_topics": f.params.get("n_topics"),
            "source": f.source,
        }
        for f in fits
    ]
    if as_csv:
        _emit_csv(rows)
    elif as_json:
        _emit_json(rows)
    elif not rows:
        out.print("No topic fits yet; run 'scoping topics fit'")
    else:
        table = Table(title="Topic fits", title_justify="left")
        for column in ("fit", "created (UTC)", "by", "works", "topics", "asked", "seed", "source"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                str(r["fit"]),
                str(r["created_at"])[:19].replace("T", " "),
                str(r["by"]),
                str(r["works"]),
                str(r["topics"]),
                str(r["n_topics"]),
                str(r["seed"]),
                str(r["source"]),
            )
        out.print(table)


def _show_k(loaded: topics_api.LoadedFit, as_csv: bool, as_json: bool) -> None:
    rows = [{"k": int(k), **v} for k, v in sorted(loaded.fit.k_scores.items(), key=lambda kv: int(kv[0]))]
    if as_csv:
        _emit_csv(rows)
    elif as_json:
        _emit_json(rows)
    elif not rows:
        out.print(
            f"Fit {loaded.fit.id} was asked for {loaded.fit.params.get('n_topics')} topics; "
            "no other numbers were compared"
        )
    else:
        chosen = loaded.fit.params.get("n_topics_fitted")
        table = Table(title=f"Choosing the number of topics (fit {loaded.fit.id})", title_justify="left")
        for column in ("K", "stability", "coherence", "score", ""):
            table.add_column(column, justify="right")
        for r in rows:
            table.add_row(
                str(r["k"]),
                f"{r['stability']:.3f}",
                f"{r['coherence']:.3f}",
                f"{r['score']:.3f}",
                "chosen" if r["k"] == chosen else "",
            )
        out.print(table)
        out.print(
            "stability: agreement of topics fitted on different sub-samples; coherence: "
            "how often each topic's top terms occur together (NPMI)"
        )


def _show_edits(loaded: topics_api.LoadedFit, as_csv: bool, as_json: bool) -> None:
    rows: list[dict[str, Any]] = [
        {
            "edit": e.id,
            "made_at": e.made_at,
            "by": e.made_by,
            "what": e.describe(),
            "applied": e.id not in loaded.state.skipped_ids,
        }
        for e in loaded.edits
    ]
    if as_csv:
        _emit_csv(rows)
    elif as_json:
        _emit_json(rows)
    elif not rows:
        out.print("No edits yet")
    else:
        table = Table(title="The lead's edits, in order", title_justify="left")
        for column in ("edit", "made (UTC)", "by", "what", "applied to this fit"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                str(r["edit"]),
                str(r["made_at"])[:19].replace("T", " "),
                str(r["by"]),
                str(r["what"]),
                "yes" if r["applied"] else "no",
            )
        out.print(table)
        _print_skipped(loaded)


@topics_group.command("rename")
@click.argument("topic")
@click.argument("name")
@_by_option
@review_options
def rename_cmd(topic: str, name: str, by: str | None, review: Callable[[], Review]) -> None:
    """Give TOPIC a NAME that stays with it through refits.

    \b
    Example:
      scoping topics rename T3 "Peer worker role" --by lead
    """
    target = review()
    who = _who(by, target)
    with target.open_store() as store:
        loaded = topics_api.rename_topic(store, topic, name, made_by=who)
    t = loaded.state.topics[int(loaded.edits[-1].payload["topic"])]
    out.print(f"{t.ref} is now called {t.label!r} ({len(t.members)} works)")


@topics_group.command("merge")
@click.argument("topics", nargs=-1, required=True)
@click.option("--name", default=None, help="A name for the merged topic.")
@_by_option
@review_options
def merge_cmd(
    topics: tuple[str, ...], name: str | None, by: str | None, review: Callable[[], Review]
) -> None:
    """Merge TOPICS into the first one given (its number and name stay).

    \b
    Example:
      scoping topics merge T3 T7 --name "Implementation" --by lead
    """
    target = review()
    who = _who(by, target)
    with target.open_store() as store:
        loaded = topics_api.merge_topics(store, topics, name=name, made_by=who)
    t = loaded.state.topic(loaded.edits[-1].payload["topics"][0])
    out.print(f"Merged {', '.join(topics)} into {t.ref} {t.label!r}: {len(t.members)} works")


@topics_group.command("split")
@click.argument("topic")
@click.option(
    "--into",
    "parts",
    type=click.IntRange(min=2),
    default=2,
    show_default=True,
    help="How many topics to split it into.",
)
@_by_option
@review_options
def split_cmd(topic: str, parts: int, by: str | None, review: Callable[[], Review]) -> None:
    """Split TOPIC into new topics by fitting a small topic model to its works.

    The new topics get new numbers and provisional labels; rename them as needed. On a
    refit the split is made again and the parts matched to these ones.

    \b
    Example:
      scoping topics split T4 --into 3 --by lead
    """
    target = review()
    who = _who(by, target)
    with target.open_store() as store:
        loaded, new_ids = topics_api.split_topic(store, topic, parts=parts, made_by=who)
    out.print(f"Split {topic} into {len(new_ids)} topics:")
    for tid in new_ids:
        if tid in loaded.state.topics:
            t = loaded.state.topics[tid]
            out.print(f"  {t.ref}  {len(t.members):>5} works  {t.label}  [{', '.join(t.top_terms(6))}]")


@topics_group.command("move")
@click.argument("work")
@click.option("--into", "into_topic", default=None, metavar="TOPIC", help="Put WORK into this topic.")
@click.option("--out-of", "out_of_topic", default=None, metavar="TOPIC", help="Take WORK out of this topic.")
@_by_option
@review_options
def move_cmd(
    work: str, into_topic: str | None, out_of_topic: str | None, by: str | None, review: Callable[[], Review]
) -> None:
    """Put a WORK into a topic, or take it out of one (the edit survives refits).

    WORK is a work key as 'scoping topics show TOPIC' lists it (doi:..., pmid:...,
    title:...), a DOI, or #N (the N-th work of the fit).

    \b
    Examples:
      scoping topics move doi:10.1176/appi.ps.201100349 --into T2 --by lead
      scoping topics move 10.1176/appi.ps.201100349 --out-of T5 --by lead
    """
    if (into_topic is None) == (out_of_topic is None):
        raise UsageError("give exactly one of --into TOPIC and --out-of TOPIC")
    topic = into_topic if into_topic is not None else out_of_topic
    assert topic is not None
    target = review()
    who = _who(by, target)
    with target.open_store() as store:
        loaded = topics_api.move_work(store, work, topic, into=into_topic is not None, made_by=who)
    edit = loaded.edits[-1]
    t = loaded.state.topics[int(edit.payload["topic"])]
    where = "into" if into_topic is not None else "out of"
    out.print(f"Moved {edit.payload['work']} {where} {t.ref} {t.label!r} ({len(t.members)} works)")


@topics_group.command("map")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder to write to (default: outputs/topics in the review folder).",
)
@review_options
def map_cmd(out_dir: str | None, review: Callable[[], Review]) -> None:
    """Write the evidence map of the current topics.

    Files: topics.csv/.json; topic x publication year (CSV by year + heatmap PNG, years
    without works left out and a long spread binned); topic x document type (CSV + PNG);
    topic x each charted field (CSV + PNG); the topic co-occurrence network (GraphML +
    PNG; and for VOSviewer, topics, their top terms and the works they share, as
    topic_network_vosviewer.json and as its map and network files
    topic_network_vosviewer_map.txt / _network.txt); and topic_works.csv, every topic's
    works, the largest share of the topic first.

    \b
    Example:
      scoping topics map && ls outputs/topics
    """
    target = review()
    folder = Path(out_dir) if out_dir else target.outputs_dir / "topics"
    fields = read_chart_fields(target.protocol_path) if target.protocol_path.is_file() else []
    with target.open_store() as store:
        result = topics_api.write_evidence_map(store, folder, fields=fields)
    out.print(f"Wrote {len(result.files)} files to {result.folder}:")
    for path in result.files:
        out.print(f"  {path.name}")


# -- charting -----------------------------------------------------------------------------


@cli.group("chart")
def chart_group() -> None:
    """Chart works by hand: the fields the protocol defines (country, design, population...).

    Fields are tables under [charting] in screening/protocol.toml; values are stored per
    work (who, when; the latest counts) and cross-tabulated against topics.

    \b
    Example:
      scoping chart fields
      scoping chart set doi:10.1000/xyz design RCT --by reviewer1
      scoping chart show design
    """


def _fields(review: Review) -> list[topics_tables.ChartField]:
    return read_chart_fields(review.protocol_path)


@chart_group.command("fields")
@review_options
def chart_fields_cmd(review: Callable[[], Review]) -> None:
    """List the charting fields the protocol defines.

    Define a field in screening/protocol.toml like this:

    \b
      [charting.design]
      description = "Study design"
      values = ["RCT", "qualitative", "mixed methods", "survey", "other"]
      [charting.population]
      multiple = true      # several values, separated by ";"

    \b
    Example:
      scoping chart fields
    """
    fields = _fields(review())
    if not fields:
        out.print(
            "The protocol defines no charting fields; add [charting.<name>] tables to "
            "screening/protocol.toml (see 'scoping chart fields --help')"
        )
        return
    table = Table(title="Charting fields", title_justify="left")
    for column in ("field", "values", "several", "description"):
        table.add_column(column, overflow="fold")
    for f in fields:
        table.add_row(
            f.name, ", ".join(f.choices) or "(free text)", "yes" if f.multiple else "no", f.description
        )
    out.print(table)


@chart_group.command("set")
@click.argument("work")
@click.argument("field")
@click.argument("value")
@_by_option
@review_options
def chart_set_cmd(work: str, field: str, value: str, by: str | None, review: Callable[[], Review]) -> None:
    """Chart VALUE for FIELD of WORK (an empty VALUE clears it).

    WORK is a work key (see 'scoping topics show TOPIC'), a DOI, or #N.

    \b
    Example:
      scoping chart set doi:10.1176/appi.ps.201100349 country "United Kingdom" --by reviewer1
    """
    target = review()
    who = _who(by, target, lead=False)
    fields = _fields(target)
    with target.open_store() as store:
        key, stored = topics_api.chart_set(store, fields, work, field, value, made_by=who)
    if stored is None:
        out.print(f"Cleared {field} of {key}")
    else:
        out.print(f"{key}: {field} = {stored}")


@chart_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@_by_option
@review_options
def chart_import_cmd(file: str, by: str | None, review: Callable[[], Review]) -> None:
    """Chart many works from a CSV: a 'work' column and one column per field.

    Every row is checked before anything is stored; empty cells are left as they were.

    \b
    Example:
      scoping chart import charting.csv --by reviewer1     # work,country,design
    """
    target = review()
    who = _who(by, target, lead=False)
    fields = _fields(target)
    with target.open_store() as store:
        n = topics_api.chart_import(store, fields, file, made_by=who)
    out.print(f"Charted {n:,} values from {Path(file).name}")


@chart_group.command("show")
@click.argument("field", required=False)
@click.option("--csv", "as_csv", is_flag=True, help="Print the table as CSV.")
@review_options
def chart_show_cmd(field: str | None, as_csv: bool, review: Callable[[], Review]) -> None:
    """Show charted values: per work, or FIELD cross-tabulated against topics.

    \b
    Examples:
      scoping chart show
      scoping chart show design --csv
    """
    target = review()
    fields = _fields(target)
    with target.open_store() as store:
        if field is not None:
            table = topics_api.chart_table(store, fields, field)
            rows = table.rows()
            if as_csv:
                _emit_csv(rows)
                return
            view = Table(title=f"Works by topic and {field}", title_justify="left")
            view.add_column("topic")
            view.add_column("label", overflow="fold")
            for col in table.columns:
                view.add_column(col, justify="right")
            for row in rows:
                view.add_row(row["topic"], row["label"], *(str(row[c]) for c in table.columns))
            out.print(view)
            return
        values = topics_tables.current_chart_values(store)
    names = [f.name for f in fields]
    by_work: dict[str, dict[str, str]] = {}
    for (work, name), value in values.items():
        by_work.setdefault(work, {})[name] = value
    rows = [{"work": w, **{n: by_work[w].get(n, "") for n in names}} for w in sorted(by_work)]
    if as_csv:
        _emit_csv(rows)
    elif not rows:
        out.print("Nothing charted yet; see 'scoping chart set --help'")
    else:
        view = Table(title="Charted works", title_justify="left")
        for column in ("work", *names):
            view.add_column(column, overflow="fold")
        for row in rows:
            view.add_row(*(str(row[c]) for c in ("work", *names)))
        out.print(view)
