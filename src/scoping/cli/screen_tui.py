"""The full-screen screening window (Textual) of ``scoping screen``.

One work at a time: title, authors, year, journal, abstract and keywords with the protocol's
highlight terms coloured (include-ish green and underlined, exclude-ish red), the criteria of
the stage beside it, a progress line above and the keys below. Every decision is stored by
:class:`~scoping.screen.ScreeningSession` (committed) before the next work is drawn; the
message line says "Saved" only after that. If storing fails, the work stays on screen and the
message says it was not saved.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from scoping.errors import DecidedElsewhereError, ScopingError
from scoping.screen import FULL_TEXT, Card, Highlight, ScreeningSession, find_terms

from .screen_progress import progress_text

__all__ = ["ScreeningApp", "card_text", "progress_text"]

INCLUDE_STYLE = "bold green underline"
EXCLUDE_STYLE = "bold red"
_MAX_AUTHORS = 12

HELP = """Keys
  i   include
  e   exclude (then pick a reason: its number, or arrows and Enter; 0 = no reason where
      reasons are optional; nothing is preselected, so Enter alone stores nothing)
  m   maybe (the lead will look at it)
  r   full text not retrieved (full-text stage)
  f   attach the full text: a file path or URL (full-text stage)
  n   write a note (stored with the decision)
  t   labels: your own tags on the work ("rct, follow-up"; -rct removes one); find them
      later with 'scoping decisions --label'
  s   skip for now (comes back at the end)
  u   undo your last decision (this session's, else your latest one; history is kept)
  g   go to a work by its number: look at your decision again or change it
  /   search your queue (title, abstract, keywords, authors): the next match comes up
  ?   this help
  q   quit (every decision shown as saved is already stored)

Highlight terms: include-ish terms are green and underlined, exclude-ish terms red."""


def _highlighted(text: str, highlight: Highlight) -> Text:
    out = Text(text)
    for span in find_terms(text, highlight):
        out.stylize(INCLUDE_STYLE if span.kind == "include" else EXCLUDE_STYLE, span.start, span.end)
    return out


def card_text(
    card: Card,
    highlight: Highlight,
    *,
    note: str | None = None,
    fulltext: str | None = None,
    labels: Sequence[str] = (),
) -> Text:
    """The work as rich text (no markup is parsed from the record)."""
    out = Text()
    title = _highlighted(card.title or "(no title)", highlight)
    title.stylize("bold")
    out.append_text(title)
    out.append("\n\n")
    if card.authors:
        names = "; ".join(card.authors[:_MAX_AUTHORS])
        more = len(card.authors) - _MAX_AUTHORS
        out.append(names + (f"; and {more} more" if more > 0 else ""), style="italic")
        out.append("\n")
    where = " · ".join(p for p in (str(card.year) if card.year else "", card.journal or "") if p)
    if where:
        out.append(where + "\n")
    if card.doi:
        out.append(f"doi: {card.doi}\n", style="dim")
    out.append("\n")
    if card.abstract:
        out.append_text(_highlighted(card.abstract, highlight))
    else:
        out.append("(no abstract)", style="dim")
    out.append("\n")
    if card.keywords:
        out.append("\nKeywords: ", style="bold")
        out.append_text(_highlighted("; ".join(card.keywords), highlight))
        out.append("\n")
    if note:
        out.append("\nNote: ", style="bold")
        out.append(note + "\n")
    if labels:
        out.append("\nLabels: ", style="bold")
        out.append(", ".join(labels) + "\n")
    if fulltext:
        out.append("\nFull text: ", style="bold")
        out.append(fulltext + "\n")
    ids = ", ".join(str(r) for r in card.record_ids[:8])
    out.append(
        f"\nwork {card.work_id} · records {ids}"
        f"{' …' if len(card.record_ids) > 8 else ''} · {', '.join(card.sources)}",
        style="dim",
    )
    return out


class ReasonScreen(ModalScreen[tuple[bool, str | None]]):
    """Pick an exclusion reason; returns ``(chosen, reason)`` (``(False, None)``: cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, reasons: tuple[str, ...], required: bool) -> None:
        super().__init__()
        self.reasons = reasons
        self.required = required

    def compose(self) -> ComposeResult:
        options = [] if self.required else [Option("0. (no reason)", id="none")]
        options += [Option(f"{i}. {r}", id=f"r{i}") for i, r in enumerate(self.reasons, start=1)]
        first = "1" if self.required else "0"
        with Vertical(id="dialog"):
            yield Static(
                f"Exclude: why? ({first}-{len(self.reasons)}, or arrows + Enter; Esc cancels)",
                id="dialog-title",
            )
            yield OptionList(*options, id="reasons", markup=False)

    def on_mount(self) -> None:
        # nothing preselected: Enter alone must never store a reason
        self.query_one("#reasons", OptionList).highlighted = None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or "none"
        self.dismiss((True, None if option_id == "none" else self.reasons[int(option_id[1:]) - 1]))

    def on_key(self, event: Any) -> None:
        if self.choose(getattr(event, "character", None)):
            event.stop()

    def choose(self, key: str | None) -> bool:
        """The reason numbered ``key`` (0: none, when a reason is optional): ``True`` when
        that is a choice, which closes the dialog."""
        if not key or not key.isdigit():
            return False
        if 1 <= int(key) <= len(self.reasons):
            self.dismiss((True, self.reasons[int(key) - 1]))
            return True
        if key == "0" and not self.required:
            self.dismiss((True, None))
            return True
        return False

    def action_cancel(self) -> None:
        self.dismiss((False, None))


class _Line(Input):
    """The dialog's line of text, answered by Enter (or cancelled by Esc) as the key arrives,
    in the order typed: a key binding would act only after the keys typed behind it (Enter
    then "i" kept "i" in the note). Keys still on their way to the line once it is answered
    (typed right after Enter, before the dialog has closed) are the window's: they are passed
    on to it instead of being typed into a line nobody reads."""

    answered = False

    async def _on_key(self, event: events.Key) -> None:
        if self.answered:
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("enter", "escape"):
            event.stop()
            event.prevent_default()
            self.answered = True
            if event.key == "enter":
                await self.action_submit()
            else:
                self.post_message(LineCancelled())
            return
        await super()._on_key(event)


class LineCancelled(Message):
    """Esc in a dialog's line of text."""


class TextScreen(ModalScreen[str | None]):
    """Ask for one line of text (a note, a full-text link); ``None`` when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, value: str | None) -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value or ""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.prompt, id="dialog-title")
            yield _Line(value=self.value, id="text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#text", _Line).answered = True
        self.dismiss(event.value)

    def type(self, text: str) -> None:
        """Add ``text`` at the cursor, as if typed into the line."""
        self.query_one("#text", _Line).insert_text_at_cursor(text)

    def on_line_cancelled(self, _message: LineCancelled) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.query_one("#text", _Line).answered = True
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; ``True`` only for y (n, Esc: no)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"{self.question} (y/n)"), id="dialog-title")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text(self.text))

    def action_close(self) -> None:
        self.dismiss(None)


class ScreeningApp(App[None]):
    """The screening window over one :class:`ScreeningSession`."""

    TITLE = "scoping screen"
    CSS = """
    #top { height: 1; background: $boost; padding: 0 1; }
    #order { height: 1; background: $boost; padding: 0 1; color: $text-muted; }
    #main { height: 1fr; }
    #card { width: 2fr; padding: 0 1; }
    #side { width: 1fr; padding: 0 1; border-left: solid $primary; }
    #message { height: 1; padding: 0 1; background: $boost; }
    ReasonScreen, TextScreen, HelpScreen { align: center middle; }
    #dialog { width: 80%; max-width: 100; height: auto; max-height: 80%;
              border: thick $primary; background: $surface; padding: 1 2; }
    #dialog-title { margin-bottom: 1; }
    #reasons { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "decide('include')", "Include"),
        Binding("e", "exclude", "Exclude"),
        Binding("m", "decide('maybe')", "Maybe"),
        Binding("r", "decide('not-retrieved')", "Not retrieved"),
        Binding("f", "link", "Full text"),
        Binding("n", "note", "Note"),
        Binding("t", "label", "Labels"),
        Binding("s", "skip", "Skip"),
        Binding("u", "undo", "Undo"),
        Binding("g", "goto", "Go to"),
        Binding("slash", "search", "Search"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self, session: ScreeningSession, *, title: str = "", order: Callable[[], str] | None = None
    ) -> None:
        super().__init__()
        self.session = session
        self.order = order
        """Describes the queue's order now ("ranked: model of ..." / "random: ..."), shown
        under the progress line and refreshed every few seconds."""
        self.highlight = session.protocol.highlight
        self.review_title = title
        self.shown_work: int | None = None
        """The work on screen (tests and the latency benchmark read it)."""
        self.saved = 0
        self.on_shown: Callable[[float], None] | None = None
        """Called with the seconds from a key press to the next work being painted (for the
        latency benchmark and tests)."""

    def on_key(self, event: Any) -> None:
        """Keys typed in one burst with the key that opens a dialog ("e" then "2"; "n" then a
        note) are handed to the card before the dialog has opened, and come back here with
        the dialog on top: they are given to the dialog, in the order typed, instead of being
        lost. Keys typed into a dialog never reach this point: it takes the digits it offers
        and every printable character. (Textual calls this handler before the window's key
        bindings, so the key that opens a dialog passes here while the card is still on top.)
        """
        dialog = self.screen
        character = getattr(event, "character", None)
        if isinstance(dialog, ReasonScreen):
            if dialog.choose(character):
                event.stop()
        elif isinstance(dialog, TextScreen) and character and getattr(event, "is_printable", False):
            dialog.type(character)
            event.stop()

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="top")
        yield Static(id="order")
        with Horizontal(id="main"):
            with VerticalScroll(id="card"):
                yield Static(id="work")
            with VerticalScroll(id="side"):
                yield Static(id="criteria")
        yield Static(id="message")
        yield Footer()

    def on_mount(self) -> None:
        rules = self.session.rules
        side = Text()
        side.append(f"Criteria ({rules.name})\n", style="bold")
        side.append((rules.criteria or "(none in the protocol)") + "\n")
        if rules.exclusion_reasons:
            needed = "required" if rules.reason_required else "optional"
            side.append(f"\nExclusion reasons ({needed})\n", style="bold")
            for i, reason in enumerate(rules.exclusion_reasons, start=1):
                side.append(f"{i}. {reason}\n")
        self.query_one("#criteria", Static).update(side)
        self.say("? shows every key. Each decision is saved before the next work appears.")
        self.show_current()
        self.set_interval(2.0, self.show_order)
        # Everything built so far (the queue, the store's objects, the widgets) lives as long as
        # the window: keep the garbage collector from walking it in full every few dozen keys
        # (a full collection took 150 ms at 50,000 works and fell on a key press).
        gc.freeze()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "link" or (action == "decide" and parameters == ("not-retrieved",)):
            return self.session.stage == FULL_TEXT
        return True

    def show_current(self) -> None:
        """Draw the current work (or the end) and the progress line."""
        card = self.session.current()
        who = f"{self.session.reviewer.name} · {self.session.stage}"
        on_screen = f" · work {card.work_id}" if card is not None else ""
        self.query_one("#top", Static).update(Text(f"{who} · {progress_text(self.session)}{on_screen}"))
        self.show_order()
        work = self.query_one("#work", Static)
        if card is None:
            self.shown_work = None
            work.update(
                Text(
                    "Nothing left to screen at this stage. Press q to quit (u undoes your last decision).",
                    style="bold",
                )
            )
        else:
            self.shown_work = card.work_id
            fulltext = self.session.fulltext
            if fulltext is None and self.session.stage == FULL_TEXT:
                shared = self.session.team_fulltext(card.work_id)
                fulltext = f"{shared} (attached by the team)" if shared else None
            labels = self.session.labels(card.work_id)
            work.update(
                card_text(card, self.highlight, note=self.session.note, fulltext=fulltext, labels=labels)
            )
            self.query_one("#card", VerticalScroll).scroll_home(animate=False)

    def show_order(self) -> None:
        """The queue's order, in words: never a silent fallback to random."""
        if self.order is not None:
            self.query_one("#order", Static).update(Text(f"order: {self.order()}"))

    def say(self, message: str, *, error: bool = False) -> None:
        self.query_one("#message", Static).update(Text(message, style="bold red" if error else ""))

    # -- actions -----------------------------------------------------------------------------

    def _store(self, decision: str, reason: str | None = None) -> None:
        started = time.perf_counter()
        card = self.session.current()
        if card is None:
            self.say("Nothing left to screen.")
            return
        try:
            row = self.session.decide(decision, reason=reason)
        except DecidedElsewhereError as exc:
            self._ask_replace(exc, decision, reason)
            return
        except ScopingError as exc:
            self.say(f"Not saved: {exc}", error=True)
            return
        except Exception as exc:  # the database went away: keep the work on screen
            self.say(
                f"NOT SAVED (work {card.work_id}): {type(exc).__name__}: {exc}; press the key again to retry",
                error=True,
            )
            return
        self.saved += 1
        detail = f" ({row.reason})" if row.reason else ""
        self.say(f"Saved: {row.decision}{detail} for work {row.work_id}")
        self.show_current()
        probe = self.on_shown
        if probe is not None:
            self.call_after_refresh(lambda: probe(time.perf_counter() - started))

    def _ask_replace(self, exc: DecidedElsewhereError, decision: str, reason: str | None) -> None:
        """Another window of this reviewer changed the work since it was shown: ask before
        replacing that decision; no keeps it and moves on."""
        now = exc.current if exc.current is not None else "no decision (withdrawn)"
        mine = f"{decision} ({reason})" if reason else decision

        def answered(yes: bool | None) -> None:
            if yes:
                self._store(decision, reason)
                return
            self.session.leave_decided()
            self.say(f"Kept: {now} for work {exc.work_id}; nothing saved.")
            self.show_current()

        self.push_screen(
            ConfirmScreen(
                f"Work {exc.work_id} was decided in another window of yours meanwhile: it is now "
                f"{now}. Replace it with {mine}?"
            ),
            answered,
        )

    def action_decide(self, decision: str) -> None:
        self._store(decision)

    def action_exclude(self) -> None:
        if self.session.current() is None:
            return
        rules = self.session.rules
        if not rules.exclusion_reasons:
            self._store("exclude")
            return

        def chosen(result: tuple[bool, str | None] | None) -> None:
            if result is None or not result[0]:
                self.say("Exclude cancelled; nothing saved.")
                return
            self._store("exclude", result[1])

        self.push_screen(ReasonScreen(rules.exclusion_reasons, rules.reason_required), chosen)

    def action_note(self) -> None:
        if self.session.current() is None:
            return

        def done(text: str | None) -> None:
            if text is not None:
                self.session.note = text.strip() or None
                self.say("Note kept; it is stored with your decision on this work.")
                self.show_current()

        self.push_screen(TextScreen("Note (Enter keeps it, Esc cancels):", self.session.note), done)

    def action_label(self) -> None:
        card = self.session.current()
        if card is None:
            return

        def done(text: str | None) -> None:
            if text is None or not text.strip():
                return
            try:
                now = self.session.label(text)
            except ScopingError as exc:
                self.say(f"Not kept: {exc}", error=True)
                return
            self.say(f"Labels: {', '.join(now) if now else '(none)'} (yours only; stored at once).")
            self.show_current()

        self.push_screen(TextScreen("Labels (comma-separated; -label removes one; Esc cancels):", None), done)

    def action_link(self) -> None:
        if self.session.current() is None:
            return

        def done(text: str | None) -> None:
            if text is not None:
                try:
                    self.session.attach_fulltext(text)
                except ScopingError as exc:
                    self.say(f"Not kept: {exc}", error=True)
                    return
                self.say("Full-text link kept; it is stored with your decision on this work.")
                self.show_current()

        self.push_screen(
            TextScreen("Full text: a file path or URL (Enter keeps it, Esc cancels):", self.session.fulltext),
            done,
        )

    def action_skip(self) -> None:
        card = self.session.current()
        if card is None:
            return
        self.session.skip()
        self.say(f"Skipped work {card.work_id}; it comes back at the end.")
        self.show_current()

    def action_undo(self) -> None:
        try:
            row = self.session.undo()
        except DecidedElsewhereError as exc:
            self.say(f"Not undone: {exc}", error=True)
            return
        except Exception as exc:
            self.say(f"Undo failed, nothing changed: {type(exc).__name__}: {exc}", error=True)
            return
        if row is None:
            self.say("Nothing to undo in this session.")
            return
        self.say(f"Undone: {row.decision} for work {row.work_id}; decide it again.")
        self.show_current()

    def action_goto(self) -> None:
        def done(text: str | None) -> None:
            if not text or not text.strip():
                return
            number = text.strip().casefold().removeprefix("work").strip(" :#")
            if not number.isdigit():
                self.say(f"{text.strip()!r} is not a work number", error=True)
                return
            try:
                self.session.goto(int(number))
            except ScopingError as exc:
                self.say(f"Not there: {exc}", error=True)
                return
            before = self.session.previous(int(number))
            if before is None:
                self.say(f"Work {number}: not decided yet")
            else:
                why = f" ({before.reason})" if before.reason else ""
                self.say(
                    f"Work {number}: you decided {before.decision}{why}; "
                    "a new decision replaces it (the history keeps both)"
                )
            self.show_current()

        self.push_screen(TextScreen("Go to work (its number; Esc cancels):", None), done)

    def action_search(self) -> None:
        def done(text: str | None) -> None:
            if not text or not text.strip():
                return
            card = self.session.search(text)
            self.say(
                f"Found: work {card.work_id}" if card else f"No work left in your queue has {text.strip()!r}"
            )
            self.show_current()

        self.push_screen(TextScreen("Search your queue (Esc cancels):", None), done)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(HELP))
