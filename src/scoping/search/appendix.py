"""The PRISMA-S search appendix (Rethlefsen et al. 2021, items 1-16), as Markdown and HTML.

Items the search log knows are written from it, as the searches were run: 1 (databases and
platforms), 8 (each full strategy, exactly as run or as recorded at import), 9 (limits), 12
(update searches run with ``--update``), 13 (dates), 15 (records per search and in total;
Crossref's ranked matches apart). What the log cannot know comes from ``[prisma_s]`` in
``strategy.toml`` (multi-database searching, registries, online resources, citation searching,
contacts, other methods, filters, prior work, updates, peer review of the strategy, the
deduplication method and its software); an item without an answer says so and names the key
to write, rather than being left out or guessed. Every item says where its answer comes from
(:data:`SOURCES`, :func:`status`): the search log, ``[prisma_s]``, or both; none of the 16 is
left uncovered, but an item asked for in ``strategy.toml`` is only as complete as its answer.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version

from scoping.search.log import LogEntry, search_log
from scoping.search.platforms import ENTRY_DATE_FIELDS, PLATFORMS
from scoping.search.strategy import PRISMA_S_KEYS, Strategy
from scoping.store import Store

__all__ = ["SOURCES", "Appendix", "Item", "prisma_s", "status", "to_html", "to_markdown"]

SOURCES: dict[int, tuple[bool, str | None]] = {
    1: (True, None),
    2: (False, "multi_database"),
    3: (False, "registers"),
    4: (False, "online_resources"),
    5: (False, "citation_searching"),
    6: (False, "contacts"),
    7: (False, "other_methods"),
    8: (True, None),
    9: (True, None),
    10: (False, "filters"),
    11: (False, "prior_work"),
    12: (True, "updates"),
    13: (True, None),
    14: (False, "peer_review"),
    15: (True, None),
    16: (False, "deduplication"),
}
"""PRISMA-S items 1-16 -> (answered from the search log, the ``[prisma_s]`` key that answers or
adds to it): where the appendix takes each item from."""


@dataclass(frozen=True, slots=True)
class Item:
    number: str
    """``"1. Database name"``."""
    text: str
    known: bool
    """False when neither the log nor ``[prisma_s]`` answers it."""
    status: str = ""
    """Where the answer comes from (:func:`status`), for the reader of the appendix."""


@dataclass(frozen=True, slots=True)
class Appendix:
    title: str
    generated: str
    items: list[Item]
    searches: list[LogEntry] = field(default_factory=list)
    """Item 8: every search, with its full strategy."""


def status(number: int, strategy: Strategy, *, logged: bool = True) -> str:
    """Where item ``number``'s answer comes from, in words: ``covered: search log``,
    ``covered: [prisma_s] KEY in strategy.toml``, ``asked for in strategy.toml ([prisma_s] KEY):
    not answered``, or ``covered: search log (nothing logged yet)``."""
    from_log, key = SOURCES[number]
    given = key is not None and key in strategy.reporting
    if from_log:
        where = "covered: search log" + ("" if logged else " (nothing logged yet)")
        return where + (f" and [prisma_s] {key}" if given else "")
    assert key is not None
    if given:
        return f"covered: [prisma_s] {key} in strategy.toml"
    return f"asked for in strategy.toml ([prisma_s] {key}): not answered"


def _missing(key: str) -> str:
    return f'Not reported: write {key} = "..." under [prisma_s] in searches/strategy.toml.'


def _scoping_version() -> str:
    try:
        return version("scoping")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _limits(e: LogEntry) -> str:
    limits = e.limits
    parts = []
    if limits.get("from_year") or limits.get("to_year"):
        parts.append(f"years {limits.get('from_year') or '...'}-{limits.get('to_year') or ''}".rstrip("-"))
    if limits.get("languages"):
        parts.append("languages " + ", ".join(limits["languages"]))
    if limits.get("document_types"):
        parts.append("document types " + ", ".join(limits["document_types"]))
    return "; ".join(parts) or "none"


def prisma_s(store: Store, strategy: Strategy, *, title: str | None = None) -> Appendix:
    """The appendix from the search log and ``[prisma_s]``."""
    entries = search_log(store, strategy)
    searches = [e for e in entries if e.platform]  # the strategy's databases
    given = strategy.reporting
    items: list[Item] = []
    names = []
    for e in searches:
        label = f"{e.database} ({e.interface or PLATFORMS.get(e.platform, e.platform)})"
        if label not in names:
            names.append(label)
    items.append(
        Item("1. Database name", "; ".join(names) if names else "No search logged yet.", bool(names))
    )
    for key in (
        "multi_database",
        "registers",
        "online_resources",
        "citation_searching",
        "contacts",
        "other_methods",
    ):
        items.append(Item(PRISMA_S_KEYS[key], given.get(key) or _missing(key), key in given))
    items.append(
        Item(
            "8. Full search strategies",
            "Below, for every search: the query exactly as run (API searches) or as recorded when "
            "its export was imported.",
            bool(searches),
        )
    )
    limits = sorted({f"{e.database}: {_limits(e)}" for e in searches})
    items.append(
        Item("9. Limits and restrictions", "; ".join(limits) or "No search logged yet.", bool(limits))
    )
    items.append(
        Item(PRISMA_S_KEYS["filters"], given.get("filters") or _missing("filters"), "filters" in given)
    )
    items.append(
        Item(
            PRISMA_S_KEYS["prior_work"],
            given.get("prior_work") or _missing("prior_work"),
            "prior_work" in given,
        )
    )
    updates = [
        f"{e.database}: run {e.reference} on {e.date[:10]} updated run {e.extra['update_of']}, "
        f"limited to records added from {e.extra.get('update_since') or e.date[:10]} on by "
        f"{ENTRY_DATE_FIELDS.get(e.platform, 'entry date')}; "
        f"{e.extra.get('new_records') or 0:,} new records"
        for e in searches
        if e.extra.get("update_of")
    ]
    if given.get("updates"):
        updates.append(given["updates"])
    items.append(
        Item(
            PRISMA_S_KEYS["updates"],
            "; ".join(updates) or "No update search logged (scoping search run --update).",
            True,
        )
    )
    dates = []
    for e in searches:
        if e.method == "api" or e.date_known:
            dates.append(f"{e.database}: {e.date[:10]}")
        else:
            dates.append(
                f"{e.database}: not recorded (imported {e.date[:10]}; scoping import --date-searched)"
            )
    items.append(
        Item(
            "13. Dates of searches",
            "; ".join(dates) or "No search logged yet.",
            all(e.date_known for e in searches),
        )
    )
    items.append(
        Item(
            PRISMA_S_KEYS["peer_review"],
            given.get("peer_review") or _missing("peer_review"),
            "peer_review" in given,
        )
    )
    totals = []
    total = 0
    for e in searches:
        hits = f"{e.hit_count:,} hits, " if e.hit_count is not None else ""
        matches = e.extra.get("ranked_matches")
        ranked = f"{matches:,} ranked matches (not hits), " if matches is not None else ""
        totals.append(f"{e.database} ({e.reference}): {hits}{ranked}{e.retrieved:,} records")
        total += int(e.extra.get("new_records", e.retrieved) if e.method == "api" else e.retrieved)
    text = (
        "; ".join(totals) + f". In total {total:,} records, each counted once."
        if totals
        else "No search logged yet."
    )
    items.append(Item("15. Total records", text, bool(totals)))
    dedupe = given.get("deduplication")
    items.append(
        Item(
            PRISMA_S_KEYS["deduplication"],
            (dedupe + f" (scoping {_scoping_version()})") if dedupe else _missing("deduplication"),
            dedupe is not None,
        )
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    items = [
        replace(item, status=status(int(item.number.split(".")[0]), strategy, logged=bool(searches)))
        for item in items
    ]
    return Appendix(
        title=title or strategy.title or "Search appendix", generated=stamp, items=items, searches=searches
    )


def _hits(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def _search_lines(e: LogEntry) -> list[tuple[str, str]]:
    how = "API search" if e.method == "api" else "export, imported"
    when = e.date[:10] if (e.method == "api" or e.date_known) else f"not recorded (imported {e.date[:10]})"
    rows = [
        ("Platform", e.interface or e.platform),
        *(
            [("Database and coverage", str(e.extra["history_database"]))]
            if e.extra.get("history_database")
            else []
        ),
        ("Method", f"{how} ({e.reference})"),
        ("Date searched", when),
    ]
    if e.query_origin == "plan":
        rows.append(
            ("Query", "as 'scoping search plan' gave it when the export was imported (not confirmed as run)")
        )
    if e.translation:
        rows.append(("Database's translation", e.translation))
    rows.append(("Limits", _limits(e)))
    if e.hit_count is not None:
        rows.append(("Hits", f"{e.hit_count:,}"))
    rows.append(("Records", f"{e.retrieved:,}"))
    rows.extend(("Database error", x) for x in e.errors)
    rows.extend(("Warning", x) for x in e.warnings)
    return rows


def to_markdown(appendix: Appendix) -> str:
    out = [
        f"# {appendix.title}: search appendix (PRISMA-S)",
        "",
        f"Generated {appendix.generated} from the search log.",
        "",
    ]
    out += ["| PRISMA-S item | Reported | Where from |", "|---|---|---|"]
    for item in appendix.items:
        out.append(f"| {item.number} | {item.text.replace('|', '/')} | {item.status} |")
    out += ["", "## Full search strategies (item 8)", ""]
    for e in appendix.searches:
        out += [f"### {e.database}", ""]
        out += [f"- {label}: {value}" for label, value in _search_lines(e)]
        lines = e.extra.get("history_lines")
        if lines:  # the platform's search history, with the records each line found
            out += ["", "| # | Search | Records |", "|---|---|---:|"]
            out += [
                f"| {line['number']} | {str(line['query']).replace('|', '/')} | {_hits(line['hits'])} |"
                for line in lines
            ]
            out.append("")
        else:
            out += ["", "```", e.query or "(no query recorded)", "```", ""]
    return "\n".join(out).rstrip() + "\n"


def to_html(appendix: Appendix) -> str:
    e = html.escape
    rows = "".join(
        f"<tr{'' if item.known else ' class=missing'}><th scope=row>{e(item.number)}</th>"
        f"<td>{e(item.text)}</td><td>{e(item.status)}</td></tr>"
        for item in appendix.items
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(appendix.title)}: search appendix (PRISMA-S)</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .5rem;"
        "text-align:left;vertical-align:top}tr.missing td{color:#a33}"
        "pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}</style></head><body>",
        f"<h1>{e(appendix.title)}: search appendix (PRISMA-S)</h1>",
        f"<p>Generated {e(appendix.generated)} from the search log.</p>",
        "<table><thead><tr><th>PRISMA-S item</th><th>Reported</th><th>Where from</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
        "<h2>Full search strategies (item 8)</h2>",
    ]
    for entry in appendix.searches:
        items = "".join(f"<li>{e(label)}: {e(value)}</li>" for label, value in _search_lines(entry))
        lines = entry.extra.get("history_lines")
        if lines:
            body = "".join(
                f"<tr><td>{e(str(line['number']))}</td><td>{e(str(line['query']))}</td>"
                f"<td>{e(_hits(line['hits']))}</td></tr>"
                for line in lines
            )
            head = "<thead><tr><th>#</th><th>Search</th><th>Records</th></tr></thead>"
            shown = f"<table>{head}<tbody>{body}</tbody></table>"
        else:
            shown = f"<pre>{e(entry.query or '(no query recorded)')}</pre>"
        parts.append(f"<h3>{e(entry.database)}</h3><ul>{items}</ul>{shown}")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
