"""The one way the commands make a rich Console, and the one way they make a progress bar.

What a command prints is the data as it is: rich's markup (``[bold]``), emoji codes
(``:thumbs_up:``) and highlighting (numbers, URLs) are all off, so a title that holds any of
them is shown exactly as it was imported.

A progress bar (:func:`progress`) goes to standard error, so what a command writes to standard
output stays clean for a pipe, and is shown only when standard error is a terminal: a run in
CI or with ``2> log`` gets no bar and no escape codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["console", "progress"]

COUNTS = "{task.completed:,}/{task.total:,}"
"""The default counts column of :func:`progress`: done/total, with thousands separators."""


def console(*, stderr: bool = False, soft_wrap: bool = True, width: int | None = None) -> Console:
    """A Console on stdout (or ``stderr``) that prints text exactly as given.

    ``soft_wrap`` lets long lines run on (the terminal wraps them) rather than rich breaking
    them; progress bars use ``soft_wrap=False``.
    """
    return Console(
        stderr=stderr, soft_wrap=soft_wrap, width=width, highlight=False, markup=False, emoji=False
    )


def progress(counts: str = COUNTS) -> Progress:
    """A rich Progress with the project's columns, on standard error.

    The columns are a spinner, the task's description, the bar, ``counts`` (a format string
    over the task, e.g. ``"{task.completed:,} records"`` or ``"{task.fields[count]}"``) and
    the elapsed time. The bar disappears when it is done (``transient``), is drawn without
    soft wrapping, and is off when standard error is not a terminal.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = console(stderr=True, soft_wrap=False)
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(counts),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
