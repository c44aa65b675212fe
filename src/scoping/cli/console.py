"""The one way the commands make a rich Console.

What a command prints is the data as it is: rich's markup (``[bold]``), emoji codes
(``:thumbs_up:``) and highlighting (numbers, URLs) are all off, so a title that holds any of
them is shown exactly as it was imported.
"""

from __future__ import annotations

from rich.console import Console

__all__ = ["console"]


def console(*, stderr: bool = False, soft_wrap: bool = True, width: int | None = None) -> Console:
    """A Console on stdout (or ``stderr``) that prints text exactly as given.

    ``soft_wrap`` lets long lines run on (the terminal wraps them) rather than rich breaking
    them; progress bars use ``soft_wrap=False``.
    """
    return Console(
        stderr=stderr, soft_wrap=soft_wrap, width=width, highlight=False, markup=False, emoji=False
    )
