"""Commands of the screening stage: assign, screen, conflicts, resolve, agreement, status, stop.

Who is asking comes from ``--reviewer`` (or ``SCOPING_REVIEWER``) and is checked against
``screening/protocol.toml``. Reviewers see only their own work and counts; conflicts, other
people's decisions, agreement and the team's progress are for leads.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.table import Table

from scoping import screen
from scoping.app import Review
from scoping.errors import DecidedElsewhereError, UsageError
from scoping.screen import FULL_TEXT, STAGES, TITLE_ABSTRACT, Card, Protocol, ScreeningSession
from scoping.spawn import parse_workers
from scoping.store import Store
from scoping.store.screen_tables import DecisionRow

from .console import console
from .main import cli, review_options, team_identity
from .prompts import read_key, read_line
from .screen_progress import progress_text

out = console()
err = console(stderr=True)

REVIEWER_ENV = "SCOPING_REVIEWER"


def _print_table(table: Table) -> None:
    """A table at the terminal's width, or unsqueezed (160 columns) into a pipe or file."""
    if out.is_terminal:
        out.print(table)
    else:
        console(width=160, soft_wrap=False).print(table)


def _reviewer_option(metavar: str = "NAME") -> Callable[[Any], Any]:
    return click.option(
        "--reviewer",
        envvar=REVIEWER_ENV,
        default=None,
        metavar=metavar,
        help="Who you are, as named in screening/protocol.toml [env SCOPING_REVIEWER].",
    )


def _stage_option(default: str | None = TITLE_ABSTRACT) -> Callable[[Any], Any]:
    shown = f" [default: {default}]" if default else " [default: every stage in the protocol]"
    return click.option(
        "--stage", type=click.Choice(STAGES), default=default, help=f"The screening stage{shown}."
    )


def _open(review: Callable[[], Review], reviewer: str | None) -> tuple[Review, Protocol, str | None]:
    """The review, its protocol, and who is asking: in team mode (PostgreSQL roles made by
    'scoping team setup') the connection's role says who you are; ``--reviewer`` may be left
    out and must match it."""
    target = review()
    protocol = screen.load_protocol(target.protocol_path)
    reviewer = team_identity(target, reviewer)
    return target, protocol, reviewer


# -- assign ----------------------------------------------------------------------------------


@cli.command("assign")
@_reviewer_option("LEAD")
@_stage_option(default=None)
@review_options
def assign_cmd(reviewer: str | None, stage: str | None, review: Callable[[], Review]) -> None:
    """Allocate works to the screeners of the protocol (leads only).

    Every work goes to two reviewers, or, with allocation.dual_fraction below 1, that share
    goes to two and the rest to one. Loads are even and the split is reproducible from
    allocation.seed. Running it again allocates only works that have no reviewer yet: new
    records after 'scoping dedupe', works newly included at title-abstract for the full-text
    stage; reviewers added to the protocol get new work first. Nothing already allocated is
    moved.

    \b
    Examples:
      scoping assign --reviewer lead
      scoping assign --reviewer lead --stage full-text
    """
    target, protocol, reviewer = _open(review, reviewer)
    with target.open_store() as store:
        results = screen.assign_works(store, protocol, reviewer or "", [stage] if stage else None)
        waiting = screen.doubtful_pairs(store)
    for result in results:
        if result.eligible == 0 and result.stage == FULL_TEXT:
            out.print(f"{result.stage}: nothing to allocate (no work is included at title-abstract yet)")
            continue
        single = result.added_works - result.added_dual
        if result.added_works:
            out.print(
                f"{result.stage}: allocated {result.added_works:,} new works "
                f"({result.added_dual:,} to two reviewers, {single:,} to one); "
                f"{result.assigned_works:,} of {result.eligible:,} works are allocated"
            )
        else:
            out.print(
                f"{result.stage}: nothing new to allocate; {result.assigned_works:,} of "
                f"{result.eligible:,} works are allocated"
            )
        width = max(len(name) for name in result.loads)
        for name, n in result.loads.items():
            out.print(f"  {name:<{width}}  {n:,} works")
    _tell_doubtful(waiting)


def _tell_doubtful(n: int) -> None:
    """One line when doubtful duplicate pairs still wait for a person."""
    if n:
        pairs = f"{n:,} doubtful duplicate pair{'' if n == 1 else 's'}"
        out.print(
            f"{pairs} still wait{'s' if n == 1 else ''}: decide them with 'scoping dedupe review' "
            "(works found to be one carry their decisions over)"
        )


# -- screen ----------------------------------------------------------------------------------


@cli.command("screen")
@_reviewer_option()
@_stage_option()
@click.option(
    "--plain", is_flag=True, help="Line by line instead of full screen: for screen readers and scripts."
)
@click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Store decisions made elsewhere, from a CSV file with "
    "work_id (or record_id), decision, and optional reason, note, "
    "fulltext columns; checked row by row, stored all or none.",
)
@click.option(
    "--to-csv",
    "to_csv",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write your works still to screen to a CSV worksheet (title, "
    "authors, abstract... and empty decision, reason, note "
    "columns) to fill in elsewhere and load with --from-csv.",
)
@click.option(
    "--work",
    "work_id",
    type=int,
    default=None,
    metavar="ID",
    help="Start at this work of yours, decided or not: to look at or change a past decision "
    "(a new decision is added; the history keeps both). See 'scoping decisions'.",
)
@review_options
def screen_cmd(
    reviewer: str | None,
    stage: str,
    plain: bool,
    from_csv: str | None,
    to_csv: str | None,
    work_id: int | None,
    review: Callable[[], Review],
) -> None:
    """Screen the works assigned to you, one at a time.

    Shows the title, authors, year, journal, abstract (highlight terms coloured) and
    keywords, with the stage's criteria. Keys: i include, e exclude (then a reason), m maybe,
    n note, t labels (your own tags), s skip, u undo (also your latest decision of an earlier
    session), g go to a work, ? help, q quit; at full text also r (not retrieved) and f
    (attach the full text's path or URL). Each decision is stored before the next work is
    shown, so quitting or a crash loses nothing shown as saved; come back any time to
    continue where you left off. You never see other reviewers' decisions (nor their labels).
    The queue's order is shown (ranked by the model, or the team's seeded order); works a
    colleague has screened come first, so pairs complete early.

    With --plain, one key per answer at a terminal (no Enter needed; Enter alone does
    nothing), or one line per answer when standard input is piped (scriptable): i, m, s, u,
    q; e then a reason's number (0 = no reason where reasons are optional); g then a work
    number; / then words brings the next work of your queue with those words up; o shows the
    queue's order. resolve and dedupe review answer the same way.

    \b
    Examples:
      scoping screen --reviewer alice
      scoping screen --reviewer alice --stage full-text
      scoping screen --reviewer alice --plain            # screen readers, scripts
      scoping screen --reviewer alice --work 42          # look at (or change) work 42 again
      scoping screen --reviewer alice --to-csv alice.csv     # screen elsewhere, then:
      scoping screen --reviewer alice --from-csv alice.csv
    """
    if sum(bool(x) for x in (plain, from_csv, to_csv)) > 1:
        raise click.UsageError("use one of --plain, --from-csv and --to-csv")
    target, protocol, reviewer = _open(review, reviewer)
    if to_csv is not None:
        n = target.write_worksheet(reviewer or "", to_csv, stage=stage)
        out.print(f"Wrote your {n:,} works still to screen at {stage} to {to_csv}.")
        out.print(
            f"Fill in decision ({', '.join(screen.choices(stage))}), reason and note, then load it with: "
            f"scoping screen --reviewer {reviewer} --stage {stage} --from-csv {to_csv}"
        )
    elif from_csv is not None:
        _print_loaded(target.load_decisions(reviewer or "", from_csv, stage=stage), from_csv, stage)
    elif not plain and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the full-screen view needs a terminal; use --plain for screen readers and scripts")
    else:
        _screen_here(target, protocol, reviewer or "", stage, plain, work_id)


def _screen_here(
    target: Review, protocol: Protocol, reviewer: str, stage: str, plain: bool, work_id: int | None
) -> None:
    """The screening session at this terminal: full-screen, or ``--plain``."""
    protocol.reviewer(reviewer)
    _tell_doubtful(target.doubtful_pairs())
    via = "plain" if plain else "tui"
    # the command's entry point is guarded: the ranking model's features may be built in a child
    with (
        _review_log(target),
        target.screening(reviewer, stage=stage, via=via, workers=parse_workers()) as (
            session,
            order,
        ),
    ):
        if work_id is not None:
            _goto(session, work_id)
        if plain:
            out.print(f"Order: {order.describe()}.")
            _plain(session, protocol, order)
        else:
            from .screen_tui import ScreeningApp

            ScreeningApp(session, title=protocol.title, order=order.describe).run()
        _print_saved(session, stage)


def _print_saved(session: ScreeningSession, stage: str) -> None:
    """The end of a screening session: what it saved, and how far the reviewer is."""
    p = session.progress()
    undone = f" ({p.session_undone:,} undone)" if p.session_undone else ""
    out.print(
        f"Saved {_n(p.session_saved, 'decision')} in this session{undone}; {p.done:,} of "
        f"{p.assigned:,} works done at {stage}."
    )


def _print_loaded(report: screen.CsvReport, from_csv: str, stage: str) -> None:
    """What --from-csv stored, or the rows that stopped it (then nothing was stored)."""
    if report.errors:
        for problem in report.errors:
            err.print(f"{from_csv}: {problem}")
        raise UsageError(f"{from_csv}: nothing was stored; correct the rows above and load the file again")
    later = f"; {report.undecided:,} rows without a decision were left for later" if report.undecided else ""
    plural = "" if report.added == 1 else "s"
    out.print(
        f"Stored {report.added:,} decision{plural} from {from_csv} at {stage} "
        f"({report.unchanged:,} rows repeated a decision already stored{later})"
    )


_PLAIN_KEYS = {
    "i": "include",
    "include": "include",
    "e": "exclude",
    "exclude": "exclude",
    "m": "maybe",
    "maybe": "maybe",
    "r": "not-retrieved",
    "not-retrieved": "not-retrieved",
}


_read = read_line  # free text: a note, a search, a work number (a line, ended by Enter)


def _wrap(label: str, text: str) -> str:
    width = max(40, min(100, shutil.get_terminal_size((100, 24)).columns))
    return textwrap.fill(
        text,
        width=width,
        initial_indent=label,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _plain_card(card: Card, session: ScreeningSession) -> None:
    # one print per card: each rich print asks the terminal and the environment again
    lines = ["", f"--- work {card.work_id} · {progress_text(session)} ---"]
    lines.append(_wrap("Title: ", card.title or "(no title)"))
    if card.authors:
        lines.append(_wrap("Authors: ", "; ".join(card.authors)))
    where = " · ".join(
        p
        for p in (
            f"Year: {card.year}" if card.year else "",
            f"Journal: {card.journal}" if card.journal else "",
        )
        if p
    )
    if where:
        lines.append(where)
    lines.append(_wrap("Abstract: ", card.abstract or "(no abstract)"))
    if card.keywords:
        lines.append(_wrap("Keywords: ", "; ".join(card.keywords)))
    counts = screen.term_counts(card, session.protocol.highlight)
    found = [
        f"{kind}-ish: " + ", ".join(f"{term} x{n}" for term, n in terms.most_common())
        for kind, terms in counts.items()
        if terms
    ]
    if found:
        lines.append("Terms: " + "; ".join(found))
    if session.note:
        lines.append(f"Note: {session.note}")
    if labels := session.labels(card.work_id):
        lines.append(f"Labels: {', '.join(labels)}")
    if session.fulltext:
        lines.append(f"Full text: {session.fulltext}")
    elif session.stage == FULL_TEXT and (shared := session.team_fulltext(card.work_id)):
        lines.append(f"Full text (attached by the team; f to attach another): {shared}")
    out.print("\n".join(lines))


def _plain_help(session: ScreeningSession) -> str:
    keys = "i include, e exclude, m maybe"
    if session.stage == FULL_TEXT:
        keys += ", r not retrieved, f full-text link"
    return keys + (
        ", n note, t labels, s skip, u undo, g go to a work, / search your queue, c criteria, o queue order, "
        "? help, q quit"
    )


def _plain_criteria(session: ScreeningSession) -> None:
    rules = session.rules
    out.print(_wrap("Criteria: ", rules.criteria or "(none in the protocol)"))
    if rules.exclusion_reasons:
        needed = "required" if rules.reason_required else "optional"
        out.print(
            f"Exclusion reasons ({needed}): "
            + "; ".join(f"{i}. {r}" for i, r in enumerate(rules.exclusion_reasons, start=1))
        )


def _ask_reason(rules: screen.StageRules) -> tuple[bool, str | None]:
    """``(chosen, reason)``; ``(False, None)`` when the reviewer backs out or input ends.

    Enter alone never stores anything: a reason is a number (or its text), "no reason" is 0
    where reasons are optional.
    """
    if not rules.exclusion_reasons:
        return True, None
    listed = "; ".join(f"{i}. {r}" for i, r in enumerate(rules.exclusion_reasons, start=1))
    if not rules.reason_required:
        listed = "0. no reason; " + listed
    out.print(f"Reasons: {listed}")
    while True:
        hint = "number, or b to go back" if rules.reason_required else "number, 0 for none, or b to go back"
        ask = read_key if len(rules.exclusion_reasons) <= 9 else _read
        answer = ask(f"Reason ({hint}): ")
        if answer is None:
            return False, None
        answer = answer.strip()
        if answer.casefold() == "b":
            return False, None
        if answer == "0" and not rules.reason_required:
            return True, None
        if answer.isdigit() and 1 <= int(answer) <= len(rules.exclusion_reasons):
            return True, rules.exclusion_reasons[int(answer) - 1]
        match = [r for r in rules.exclusion_reasons if answer and r.casefold() == answer.casefold()]
        if match:
            return True, match[0]
        first = 1 if rules.reason_required else 0
        out.print(f"Pick a reason: {first} to {len(rules.exclusion_reasons)} (or b to go back).")


def _plain(session: ScreeningSession, protocol: Protocol, order: screen.QueueOrder | None = None) -> None:
    """The line-based screen: one work, one prompt, one line per answer."""
    who = session.reviewer.name
    order_said = _order_state(order.describe()) if order is not None else ""
    gc.freeze()  # the long-lived queue is not walked by full collections (see screen_tui)
    out.print(f"Screening {session.stage} as {who}. Keys: {_plain_help(session)}.")
    _plain_criteria(session)
    shown: int | None = None
    while True:
        card = session.current()
        if card is None:
            out.print("Nothing left to screen at this stage.")
            answer = read_key("u to undo your last decision, Enter to quit: ")
            if answer is not None and answer.strip().casefold() == "u":
                _plain_undo(session)
                continue
            return
        if card.work_id != shown:
            _plain_card(card, session)
            shown = card.work_id
        answer = read_key("Decision: ")
        step = _QUIT if answer is None else _plain_answer(session, card, answer, order)
        if step == _QUIT:
            return
        if step == _SHOW:
            shown = None
        if step == _SAVED and order is not None:
            now = order.describe()
            if _order_state(now) != order_said:
                order_said = _order_state(now)
                out.print(f"Order: {now}.")


# what an answer of the line-based screen leads to: stop, show the current work again, ask
# again, or a decision was saved
_QUIT, _SHOW, _STAY, _SAVED = "quit", "show", "stay", "saved"


def _plain_answer(session: ScreeningSession, card: Card, answer: str, order: screen.QueueOrder | None) -> str:
    """Act on one answer of the line-based screen (a key, or a key and what it asks for)."""
    key = answer.strip().casefold()
    if not key:  # Enter alone never decides anything
        out.print(f"Enter alone does nothing. Keys: {_plain_help(session)}.")
        return _STAY
    if key in ("q", "quit"):
        return _QUIT
    if key in ("?", "h", "help"):
        out.print(f"Keys: {_plain_help(session)}.")
        return _STAY
    if key in ("c", "criteria"):
        _plain_criteria(session)
        return _STAY
    if key in ("o", "order"):
        out.print(f"Order: {order.describe() if order is not None else 'as given'}.")
        return _STAY
    if key in ("s", "skip"):
        session.skip()
        out.print(f"Skipped work {card.work_id}; it comes back at the end.")
        return _STAY
    if key in ("u", "undo"):
        _plain_undo(session)
        return _SHOW
    if key.startswith("/"):
        text = key[1:].strip() or (_read("Search your queue for: ") or "")
        found = session.search(text)
        out.print(f"Found: work {found.work_id}." if found else f"No work left in your queue has {text!r}.")
        return _SHOW
    if key in _PLAIN_TEXT_KEYS and (key not in ("f", "link") or session.stage == FULL_TEXT):
        return _plain_text(session, card, _PLAIN_TEXT_KEYS[key])
    return _plain_decide(session, card, key, answer)


_PLAIN_TEXT_KEYS = {
    "g": "goto",
    "goto": "goto",
    "n": "note",
    "note": "note",
    "t": "label",
    "label": "label",
    "f": "link",
    "link": "link",
}
"""The keys of the line-based screen that ask for a line of text (f and link at full text only)."""

_PLAIN_PROMPTS = {
    "goto": "Go to work (its number; Enter to stay): ",
    "note": "Note (Enter to clear): ",
    "label": "Labels (comma-separated; -label removes one; Enter keeps them): ",
    "link": "Full text, a file path or URL (Enter to clear): ",
}


def _plain_text(session: ScreeningSession, card: Card, what: str) -> str:
    """Go to a work, or keep a note, labels or a full-text link, from a line of text."""
    text = _read(_PLAIN_PROMPTS[what])
    if text is None:
        return _QUIT
    try:
        if what == "goto":
            if text.strip():
                _goto(session, _work_number(text))
        elif what == "note":
            session.note = text.strip() or None
            out.print("Note kept; it is stored with your decision on this work.")
        elif what == "label":
            kept = session.label(text) if text.strip() else session.labels(card.work_id)
            out.print(f"Labels: {', '.join(kept) if kept else '(none)'}.")
        else:
            session.attach_fulltext(text)
            out.print("Full-text link kept; it is stored with your decision on this work.")
    except UsageError as exc:
        out.print(f"{'Not there' if what == 'goto' else 'Not kept'}: {exc}")
    return _SHOW if what == "goto" and text.strip() else _STAY


def _plain_decide(session: ScreeningSession, card: Card, key: str, answer: str) -> str:
    """Store a decision (include, exclude and its reason, maybe, not retrieved)."""
    decision = _PLAIN_KEYS.get(key)
    if decision is None or (decision == "not-retrieved" and session.stage != FULL_TEXT):
        out.print(f"Unknown key {answer.strip()!r}. Keys: {_plain_help(session)}.")
        return _STAY
    reason = None
    if decision == "exclude":
        chosen, reason = _ask_reason(session.rules)
        if not chosen:
            out.print("Exclude cancelled; nothing saved.")
            return _STAY
    try:
        row = session.decide(decision, reason=reason)
    except DecidedElsewhereError as exc:
        replaced = _decided_elsewhere(session, exc, decision, reason)
        if replaced is None:
            return _STAY
        row = replaced
    except UsageError as exc:
        out.print(f"Not saved: {exc}")
        return _STAY
    except Exception as exc:  # the database went away: say so, keep the work, allow a retry
        out.print(
            f"NOT SAVED (work {card.work_id}): {type(exc).__name__}: {exc}; give the decision again to retry"
        )
        return _STAY
    detail = f" ({row.reason})" if row.reason else ""
    out.print(f"Saved: {row.decision}{detail} for work {row.work_id}.")
    return _SAVED


def _decided_elsewhere(
    session: ScreeningSession, exc: DecidedElsewhereError, decision: str, reason: str | None
) -> DecisionRow | None:
    """Another session of this reviewer changed the work since it was shown: say what it is
    now and ask before replacing it (anything but yes keeps it and moves on)."""
    now = exc.current if exc.current is not None else "no decision (withdrawn)"
    out.print(f"Work {exc.work_id} was decided in another session of yours meanwhile: it is now {now}.")
    mine = f"{decision} ({reason})" if reason else decision
    answer = _read(f"Replace it with {mine}? (y/N): ")
    if answer is not None and answer.strip().casefold() in ("y", "yes"):
        try:
            return session.decide(decision, reason=reason)
        except UsageError as again:  # changed yet again: show the work once more
            out.print(f"Not saved: {again}")
            return None
    session.leave_decided()
    out.print(f"Kept: {now} for work {exc.work_id}; nothing saved.")
    return None


@contextlib.contextmanager
def _review_log(target: Review) -> Iterator[None]:
    """Warnings of the library (a ranking model that failed, and why) go to
    ``screening/scoping.log`` while a screening session runs: the screen says it, the log keeps
    the cause."""
    path = target.root / "screening" / "scoping.log"
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("scoping")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


def _work_number(text: str) -> int:
    """A work as people write it: ``42``, ``work 42``, ``work:42`` or ``#42``."""
    cleaned = text.strip().casefold().removeprefix("work").strip(" :#")
    if not cleaned.isdigit():
        raise UsageError(f"{text.strip()!r} is not a work number; write it as 42 (or work:42)")
    return int(cleaned)


def _goto(session: ScreeningSession, work_id: int) -> None:
    """Show ``work_id`` next, and say what this reviewer decided on it before (their own)."""
    session.goto(work_id)
    before = session.previous(work_id)
    if before is not None:
        why = f" ({before.reason})" if before.reason else ""
        out.print(
            f"Work {work_id}: you decided {before.decision}{why} on {before.decided_at[:10]}; "
            "a new decision replaces it (the history keeps both)."
        )


def _n(count: int, noun: str) -> str:
    """``"1 decision"``, ``"3 decisions"``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _order_state(text: str) -> str:
    return text.split(":")[0].split(" (")[0]


def _plain_undo(session: ScreeningSession) -> None:
    try:
        row = session.undo()
    except DecidedElsewhereError as exc:
        out.print(f"Not undone: {exc}.")
        return
    if row is None:
        out.print("Nothing to undo in this session.")
    else:
        out.print(f"Undone: {row.decision} for work {row.work_id}; decide it again.")


# -- a reviewer's own decisions --------------------------------------------------------------


@cli.group("decisions", invoke_without_command=True)
@_reviewer_option()
@_stage_option(default=None)
@click.option(
    "--decision",
    type=click.Choice(["include", "exclude", "maybe", "not-retrieved"]),
    default=None,
    help="Only this decision (e.g. your maybe pile).",
)
@click.option("--with-note", is_flag=True, help="Only decisions with a note.")
@click.option("--reason", default=None, metavar="TEXT", help="Only excludes with this reason.")
@click.option(
    "--label", default=None, metavar="TEXT", help="Only works you gave this label (t in the screen)."
)
@review_options
@click.pass_context
def decisions_cmd(
    ctx: click.Context,
    reviewer: str | None,
    stage: str | None,
    decision: str | None,
    with_note: bool,
    reason: str | None,
    label: str | None,
    review: Callable[[], Review],
) -> None:
    """List your own decisions, newest first, to look at them again or change one.

    Shows only your decisions (never another reviewer's). Open one again with
    'scoping screen --work ID' (or g in the screen): a new decision is added and the
    history keeps both; u in the screen also undoes your latest decision from an earlier
    session.

    \b
    Examples:
      scoping decisions --reviewer alice --decision maybe     # my maybe pile
      scoping decisions --reviewer alice --with-note
      scoping decisions --reviewer alice --stage full-text --reason "wrong population"
      scoping decisions --reviewer alice --label "check methods"
      scoping screen --reviewer alice --work 42               # then change it
      scoping decisions export --reviewer lead --out decisions.csv  # everyone's (leads only)
    """
    if ctx.invoked_subcommand is not None:
        return
    target, protocol, reviewer = _open(review, reviewer)
    person = protocol.reviewer(reviewer or "")
    with target.open_store() as store:
        rows = screen.my_decisions(
            store, person.name, stage, decision=decision, with_note=with_note, reason=reason, label=label
        )
        labels = screen.my_labels(store, person.name)
        if not rows:
            out.print("No decisions of yours match.")
            return
        table = Table(title=f"Decisions of {person.name}: {_n(len(rows), 'work')}", title_justify="left")
        for column in ("work", "stage", "decision", "reason", "note", "labels", "when", "title"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                str(row.work_id),
                row.stage,
                row.decision,
                row.reason or "",
                row.note or "",
                ", ".join(labels.get(row.work_id, [])),
                row.decided_at[:16].replace("T", " "),
                _title(store, row.work_id)[:80],
            )
    _print_table(table)


@decisions_cmd.command("export")
@_reviewer_option("LEAD")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    required=True,
    metavar="FILE.csv",
    help="The CSV file to write (written whole or not at all).",
)
@review_options
def decisions_export_cmd(reviewer: str | None, out_path: str, review: Callable[[], Review]) -> None:
    """Write every decision of every reviewer to a CSV file (leads only).

    One row per stored decision, oldest first, the history included: reviewer, stage, work,
    decision, reason, note, full-text link, how it was made (via), when, whether it is the
    reviewer's current decision, the lead's resolution of the work at that stage (decision,
    reason, note, who and when) and the work's outcome there now. For an appendix, or for
    checking agreement elsewhere.

    \b
    Example:
      scoping decisions export --reviewer lead --out outputs/decisions.csv
    """
    from scoping.app import Review as FrontDoor

    folder, _, reviewer = _open(review, reviewer)
    target = FrontDoor.of(folder)
    n = target.export_decisions(reviewer or "", out_path)
    out.print(f"Wrote {_n(n, 'decision')} to {out_path}")


# -- conflicts and resolve -------------------------------------------------------------------


def _title(store: Store, work_id: int) -> str:
    card = screen.load_card(store, work_id)
    return (card.title if card else None) or "(no title)"


def _decision_line(row: Any) -> str:
    parts = [f"{row.reviewer}: {row.decision}"]
    if row.reason:
        parts.append(f"({row.reason})")
    if row.note:
        parts.append(f"note: {row.note}")
    if row.fulltext:
        parts.append(f"full text: {row.fulltext}")
    return " ".join(parts)


@cli.command("conflicts")
@_reviewer_option("LEAD")
@_stage_option()
@review_options
def conflicts_cmd(reviewer: str | None, stage: str, review: Callable[[], Review]) -> None:
    """List the works the reviewers disagree on (leads only).

    A conflict is include against exclude, any "maybe" (also from a single reviewer), "not
    retrieved" against a decision, or at full text two different exclusion reasons. Settle
    them with 'scoping resolve'.

    \b
    Examples:
      scoping conflicts --reviewer lead
      scoping conflicts --reviewer lead --stage full-text
    """
    target, protocol, reviewer = _open(review, reviewer)
    with target.open_store() as store:
        found = screen.conflicts(store, protocol, reviewer or "", stage)
        if not found:
            out.print(f"No conflicts at {stage}.")
            return
        out.print(f"{len(found):,} conflict{'' if len(found) == 1 else 's'} at {stage}:")
        for item in found:
            out.print(f"work {item.work_id} ({item.kind}): {_title(store, item.work_id)}")
            if item.note:
                out.print(f"  {item.note}")
            for row in item.decisions:
                out.print(f"  {_decision_line(row)}")
    out.print(f"Next: scoping resolve --reviewer {reviewer} --stage {stage}")


def _side_by_side(item: screen.Conflict) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("")
    for row in item.decisions:
        table.add_column(row.reviewer, overflow="fold")
    for label, field in (
        ("decision", "decision"),
        ("reason", "reason"),
        ("note", "note"),
        ("full text", "fulltext"),
        ("decided (UTC)", "decided_at"),
    ):
        values = [getattr(row, field) or "" for row in item.decisions]
        if field == "decided_at":
            values = [v[:16].replace("T", " ") for v in values]
        if any(values):
            table.add_row(label, *values)
    return table


@cli.command("resolve")
@_reviewer_option("LEAD")
@_stage_option()
@click.option(
    "--work",
    "work_id",
    type=int,
    default=None,
    metavar="ID",
    help="Settle this work (any work allocated at the stage), not the conflict list.",
)
@review_options
def resolve_cmd(reviewer: str | None, stage: str, work_id: int | None, review: Callable[[], Review]) -> None:
    """Settle conflicts one by one (leads only).

    Shows each work with the reviewers' decisions, reasons and notes side by side and asks
    for yours, one key at a terminal (one line per answer when piped): i include, e exclude
    (then a reason; required at full text), r not retrieved (full text), s skip, q quit.
    Your decision is stored before the next work is shown; the final decision of the work
    follows from it. With --work you can settle (or change your decision on) one work.

    \b
    Examples:
      scoping resolve --reviewer lead
      scoping resolve --reviewer lead --stage full-text
      scoping resolve --reviewer lead --work 1234
    """
    target, protocol, reviewer = _open(review, reviewer)
    items = target.to_resolve(reviewer or "", stage=stage, work_id=work_id)
    if not items:
        out.print(f"No conflicts at {stage}.")
        return
    rules = protocol.stage(stage)
    settled = 0
    for n, (item, card) in enumerate(items, start=1):
        out.print("")
        out.print(f"--- {n} of {len(items)}: work {item.work_id} ({item.kind}) ---")
        if item.note:
            out.print(item.note)
        if card is not None:
            out.print(_wrap("Title: ", card.title or "(no title)"))
            where = " · ".join(p for p in (str(card.year or ""), card.journal or "") if p)
            if where:
                out.print(where)
            out.print(_wrap("Abstract: ", card.abstract or "(no abstract)"))
        if item.decisions:
            _print_table(_side_by_side(item))
        answer = _settle(target, reviewer or "", rules, item)
        if answer == "quit":
            break
        settled += answer == "resolved"
    out.print(f"Settled {settled:,} work{'' if settled == 1 else 's'}.")


def _settle(target: Review, lead: str, rules: screen.StageRules, item: screen.Conflict) -> str:
    """Ask the lead for a decision on one work until one is stored ("resolved"), or the lead
    skips the work ("skip") or stops ("quit")."""
    stage = item.stage
    allowed = (
        "i include, e exclude" + (", r not retrieved" if stage == FULL_TEXT else "") + ", s skip, q quit"
    )
    while True:
        answer = read_key(f"Your decision ({allowed}): ")
        if answer is None or answer.strip().casefold() in ("q", "quit"):
            return "quit"
        key = answer.strip().casefold()
        if not key:  # Enter alone never decides anything
            continue
        if key in ("s", "skip"):
            return "skip"
        decision = _PLAIN_KEYS.get(key)
        if decision is None or decision == "maybe" or (decision == "not-retrieved" and stage != FULL_TEXT):
            out.print(f"Unknown answer {answer.strip()!r}; {allowed}.")
            continue
        reason = None
        if decision == "exclude" and rules.exclusion_reasons:
            chosen, reason = _ask_reason(rules)
            if not chosen:
                continue
        note = _read("Note (Enter for none): ")
        try:
            row = target.resolve(lead, item.work_id, decision, stage=stage, reason=reason, note=note)
        except UsageError as exc:
            out.print(f"Not saved: {exc}")
            continue
        detail = f" ({row.reason})" if row.reason else ""
        out.print(f"Resolved work {row.work_id}: {row.decision}{detail}.")
        return "resolved"


# -- agreement and status --------------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{ci[0]:.2f} to {ci[1]:.2f}"


@cli.command("agreement")
@_reviewer_option("LEAD")
@_stage_option()
@review_options
def agreement_cmd(reviewer: str | None, stage: str, review: Callable[[], Review]) -> None:
    """Agreement between each pair of reviewers on the works both screened (leads only).

    For every pair: the number of works both screened, percent agreement, Cohen's kappa with
    its 95 % confidence interval, PABAK (prevalence- and bias-adjusted kappa), Gwet's AC1
    with its 95 % interval, and the Landis-Koch label of kappa. Pairs are compared only on
    the works they share, so partly overlapping allocations are handled.

    \b
    Examples:
      scoping agreement --reviewer lead
      scoping agreement --reviewer lead --stage full-text
    """
    target, protocol, reviewer = _open(review, reviewer)
    with target.open_store() as store:
        pairs = screen.team_agreement(store, protocol, reviewer or "", stage)
    if not pairs:
        out.print(f"No two reviewers have screened the same work at {stage} yet.")
        return
    table = Table(title=f"Agreement at {stage} (on the works both reviewers screened)", title_justify="left")
    for column in (
        "reviewers",
        "works",
        "agreement",
        "kappa",
        "kappa 95% CI",
        "PABAK",
        "AC1",
        "AC1 95% CI",
        "Landis-Koch",
    ):
        table.add_column(
            column, no_wrap=True, justify="left" if column in ("reviewers", "Landis-Koch") else "right"
        )
    for pair in pairs:
        f = pair.figures
        table.add_row(
            f"{pair.first} / {pair.second}",
            f"{f.n:,}",
            f"{f.percent:.1f}%",
            _num(f.kappa),
            _ci(f.kappa_ci),
            _num(f.pabak),
            _num(f.ac1),
            _ci(f.ac1_ci),
            f.label,
        )
    _print_table(table)


@cli.command("status")
@_reviewer_option()
@_stage_option(default=None)
@review_options
def status_cmd(reviewer: str | None, stage: str | None, review: Callable[[], Review]) -> None:
    """Progress by stage and reviewer: counts only.

    A reviewer sees their own counts (assigned, done, left, and their decisions); a lead
    sees everyone's, and the works by outcome (included, excluded, in conflict, waiting for
    a second reviewer, not started).

    \b
    Examples:
      scoping status --reviewer alice
      scoping status --reviewer lead --stage title-abstract
    """
    target, protocol, reviewer = _open(review, reviewer)
    with target.open_store() as store:
        stages = screen.status(store, protocol, reviewer or "", [stage] if stage else None)
    for item in stages:
        table = Table(title=f"{item.stage}", title_justify="left")
        table.add_column("reviewer", no_wrap=True)
        keys = list(item.reviewers[0].decisions) if item.reviewers else []
        for column in ("assigned", "done", "left", *keys):
            table.add_column(column.replace("-", " "), justify="right", no_wrap=True)
        for row in item.reviewers:
            table.add_row(
                row.reviewer,
                f"{row.assigned:,}",
                f"{row.done:,}",
                f"{row.remaining:,}",
                *(f"{row.decisions[k]:,}" for k in keys),
            )
        _print_table(table)
        if item.outcomes is not None:
            shown = " · ".join(f"{name} {n:,}" for name, n in item.outcomes.items())
            out.print(f"  works: {item.works:,} to screen, {item.allocated:,} allocated; {shown}")
            if item.stage == TITLE_ABSTRACT and protocol.stopping is not None:
                with target.open_store() as store:
                    state = screen.stopping_status(store, protocol, reviewer or "")
                for line in _stopping_lines(state, reviewer or ""):
                    out.print(f"  {line}")
            if item.vanished:
                one = item.vanished == 1
                out.print(
                    f"  {item.vanished:,} allocated work{'' if one else 's'} later joined "
                    f"{'another work' if one else 'other works'} in de-duplication; "
                    f"{'its' if one else 'their'} decisions and assignments went with "
                    f"{'it' if one else 'them'} (the history keeps them)"
                )


# -- the stopping rule -----------------------------------------------------------------------


def _stopping_lines(state: screen.StoppingStatus, lead: str) -> list[str]:
    rule = state.rule
    if state.phase == "ranked" or state.stopped_by == "default":
        lines = [
            f"Stopping, target recall {rule.recall_target:.0%}: by default, "
            f"{screen.default_rule(rule).describe()}, applied to every work not decided "
            "(no statistical guarantee); with a guarantee, the "
            f"{rule.name} on a random sample, confidence {rule.confidence:.0%}."
        ]
    else:
        lines = [f"Stopping rule: {rule.describe()}."]
    if state.small_review and state.phase != "stopped":
        lines.append(
            f"This review has {state.works:,} works: under {screen.SMALL_REVIEW:,}, no rule "
            "with a guarantee saves much here, because the random sample it needs is most of "
            "what is left. Screening every work is the honest choice."
        )
    if state.stopped_by == "default":
        lines.append(
            f"Stopped by the default rule (no statistical guarantee): {state.automation:,} works "
            "nobody had decided were excluded by automation (take it back with "
            f"'scoping stop --reviewer {lead} --resume')."
        )
        return lines
    if state.phase == "ranked":
        lines.append(
            f"Ranked phase: {state.decided:,} of {state.works:,} works decided, "
            f"{state.includes:,} included; the latest {state.excludes_in_a_row:,} "
            "final decisions were excludes."
        )
        if state.default_test is not None:
            lines.append(_default_words(state, lead))
        if state.switch_suggested:
            lines.append(
                "The run of excludes suggests the ranking has little left to find: for the rule "
                f"with a guarantee, start the random sample with 'scoping stop --reviewer {lead} "
                "--start-sampling'."
            )
        else:
            lines.append("Random sampling has not begun: the rule with a guarantee cannot be tested yet.")
        lines.append(_needs_next_ranked(state))
        return lines
    test = state.test
    assert test is not None
    lines.append(
        f"Random sample: {state.sampled:,} of {state.population:,} works screened in "
        f"order, {state.includes_in_sample:,} included among them; "
        f"{state.includes_before:,} included before sampling."
    )
    estimate = "n/a" if test.recall_estimate != test.recall_estimate else f"{test.recall_estimate:.1%}"
    lines.append(
        f"What it has shown: p = {test.p_value:.4f} (stop when below {rule.alpha:.2f}); estimated "
        f"recall {estimate}; recall is at least {test.recall_lower_bound:.1%} at "
        f"{rule.confidence:.0%} confidence."
    )
    if state.phase == "stopped":
        lines.append(
            f"Stopped: {state.automation:,} works of the sample were excluded by the "
            f"stopping rule (take it back with 'scoping stop --reviewer {lead} --resume')."
        )
    elif test.met:
        lines.append(
            f"The rule is met: screening may stop. Record it with 'scoping stop --reviewer {lead} --apply'."
        )
    else:
        needed = state.excludes_needed or 0
        assert state.population is not None and state.sampled is not None
        left = state.population - state.sampled - needed
        lines.append(
            f"The rule is not met yet: keep screening the sample. What it needs next: "
            f"{needed:,} more works of the sample, if they are all excludes (then {left:,} "
            f"works, {left / state.works:.0%} of the review, would be left unscreened); "
            "each include found in the sample makes it need more."
        )
    if state.outside_sample:
        lines.append(
            f"{state.outside_sample:,} works were added after sampling began; the test "
            "does not cover them, so they must all be screened."
        )
    return lines


def _default_words(state: screen.StoppingStatus, lead: str) -> str:
    """What the default rule (no random sample, no guarantee) says of the decisions so far."""
    test = state.default_test
    assert test is not None
    target = state.rule.recall_target
    head = "Without a random sample (the default rule; NO statistical guarantee): "
    assumption = (
        "It assumes the ranking served includes no later than a random order would, which is not tested."
    )
    left = state.works - state.decided
    if test.met:
        return (
            f"{head}the latest {test.window:,} decisions hold so few includes that at most "
            f"{test.missed_bound:.1f} includes are expected among the {left:,} works not decided, "
            f"so recall is at least {test.recall_bound:.1%}, at the target of {target:.0%}: "
            f"screening may stop. Record it with 'scoping stop --reviewer {lead} --apply' (the "
            f"works not decided are then excluded by automation). {assumption}"
        )
    if test.excludes_needed is None:
        more = (
            "an include first"
            if not test.includes
            else "more works than the review has: no run of excludes would meet it"
        )
        return f"{head}not met; what it needs next: {more}. {assumption}"
    unscreened = left - test.excludes_needed
    return (
        f"{head}not met: recall is at least {test.recall_bound:.1%} under its bound, the target is "
        f"{target:.0%}. What it needs next: {test.excludes_needed:,} more excludes in a row (then "
        f"{unscreened:,} works, {unscreened / state.works:.0%} of the review, would be left "
        f"unscreened); each include found makes it need more. {assumption}"
    )


def _needs_next_ranked(state: screen.StoppingStatus) -> str:
    """What the rule needs next, before the random sample."""
    left = state.works - state.decided
    if state.excludes_needed is None:
        if not left:
            return "Every work has a decision: there is nothing left to stop early."
        return "What it needs next: an include; the rule measures recall against the includes found."
    unscreened = left - state.excludes_needed
    return (
        f"With a guarantee, what it needs next: a random sample of the {left:,} works not "
        "decided yet. Even if it "
        f"holds no include, the rule is met only after {state.excludes_needed:,} of them "
        f"(then {unscreened:,} works, {unscreened / state.works:.0%} of the review, would be left "
        "unscreened); each include found in the sample makes it need more."
    )


def _confirm_sampling(state: screen.StoppingStatus, lead: str) -> None:
    """Say what the rule's signal shows, then ask; anything but yes cancels (nothing changes)."""
    for line in _stopping_lines(state, lead):
        out.print(line)
    if state.phase == "ranked":
        left = state.works - state.decided
        out.print(
            f"Starting the random sample puts the {left:,} works nobody has decided in a random "
            "order that every queue then follows; the ranking no longer orders them."
        )
        if not state.switch_suggested:
            out.print(
                "The signal says NOT YET: the latest final decisions are not a long run of "
                "excludes, so the ranking probably still has includes to find."
            )
    if not click.confirm("Start the random sample now?", default=False):
        raise UsageError("cancelled: random sampling has not begun, nothing changed")


def _confirm_cancel(before: screen.StoppingStatus) -> None:
    """Ask before calling off a random sample under way (nothing changes on no)."""
    if before.phase != "sampling":
        return
    out.print(
        f"The sample has {before.sampled or 0:,} of {before.population or 0:,} works "
        "screened; their decisions are kept, and the rest go back to the ranked order."
    )
    if not click.confirm("Cancel the random sample?", default=False):
        raise UsageError("nothing changed: the random sample goes on")


@cli.command("stop")
@_reviewer_option("LEAD")
@click.option(
    "--start-sampling",
    "start",
    is_flag=True,
    help="Put the works nobody has screened yet in a random order; reviewers then "
    "screen them in that order, which is what the test needs.",
)
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Stop screening (only when the rule is met): before a random sample, by the default "
    "rule (no statistical guarantee), the works nobody has decided; during one, the sample's "
    "unscreened works; they are excluded by automation, as PRISMA reports them.",
)
@click.option("--resume", is_flag=True, help="Take back a stop: those works return to the queues.")
@click.option(
    "--cancel-sampling",
    "cancel",
    is_flag=True,
    help="Call off the random sample (before any stop): queues follow the ranked order again; "
    "decisions made on sampled works are kept.",
)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Start sampling without asking (for scripts); otherwise the rule's signal is shown "
    "and you confirm or cancel.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the state as one JSON object.")
@review_options
def stop_cmd(
    reviewer: str | None,
    start: bool,
    apply_: bool,
    resume: bool,
    cancel: bool,
    yes: bool,
    as_json: bool,
    review: Callable[[], Review],
) -> None:
    """The stopping rules of title-abstract screening (leads only).

    The protocol's [stopping] section sets the recall target and the confidence. Screen in
    prioritised order. The default rule (the one 'scoping simulate' uses by default) bounds
    the include rate of the latest decisions and applies it to every work not decided; once
    recall is at the target under that bound, --apply stops screening. It has NO statistical
    guarantee: it assumes the ranking served includes first, which is not tested. For a
    guarantee, start the random sample instead (the hypergeometric test of Callaghan &
    Müller-Hansen 2020): after each sampled work the test says whether recall is at the target
    with that confidence, and --apply then stops. Either way the works left count as excluded
    by automation tools in the PRISMA flow, with the rule in its notes.

    \b
    Examples:
      scoping stop --reviewer lead                    # where the rules stand
      scoping stop --reviewer lead --apply            # by the default rule, once it is met
      scoping stop --reviewer lead --start-sampling   # shows the signal, asks to confirm
      scoping stop --reviewer lead --apply            # by the test, once the sample meets it
      scoping stop --reviewer lead --resume
      scoping stop --reviewer lead --cancel-sampling  # asks to confirm
    """
    if sum((start, apply_, resume, cancel)) > 1:
        raise click.UsageError("use one of --start-sampling, --apply, --resume and --cancel-sampling")
    target, _, reviewer = _open(review, reviewer)
    lead = reviewer or ""
    if start and not yes:
        _confirm_sampling(target.stopping(lead), lead)
    if cancel and not yes:
        _confirm_cancel(target.stopping(lead))
    chosen = {"start": start, "apply": apply_, "resume": resume, "cancel": cancel}
    action = next((name for name, on in chosen.items() if on), None)
    state = target.stopping(lead, action)
    if as_json:
        import json

        out.print(json.dumps(_no_nan(state.to_dict()), allow_nan=False))
        return
    if start:
        out.print(
            f"Random sampling has begun: {state.population:,} works in a random order. "
            "Reviewers now screen them in that order."
        )
    elif resume:
        out.print("The stop was taken back: the sample's unscreened works are in the queues again.")
    elif cancel:
        out.print("The random sample was called off: the queues follow the ranked order again.")
    for line in _stopping_lines(state, reviewer or ""):
        out.print(line)


def _no_nan(value: Any) -> Any:
    """``value`` with NaN (an estimate not made yet) as None, for strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value
